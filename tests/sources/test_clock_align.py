"""Two devices on two clocks: offset and drift recovered from the movements alone."""

from __future__ import annotations

import numpy as np
import pytest

from hingecoach.core.errors import InputError
from hingecoach.sources.clock_align import align_clocks
from hingecoach.sources.devices import DeviceRecording, join_devices
from hingecoach.sources.simulator import SimSettings, simulate

FINE_HZ = 400.0


def two_devices(seed: int, *, rate_lower: float = 60.0, rate_upper: float = 52.0, offset_s: float,
                drift_ppm: float, reps: int = 6, pattern: str = "mixed"
                ) -> tuple[DeviceRecording, DeviceRecording, float, float]:
    """A simulated recording split into two devices, each sampling on its own clock.

    True time t; the lower device's clock reads t, the upper's reads
    (t - offset) / scale with scale = 1 + drift: so t = offset + scale * t_upper.
    Returns both devices, the offset and the scale."""
    sim, _, _ = simulate(SimSettings(pattern=pattern, reps=reps, seed=seed, sample_rate_hz=FINE_HZ))
    t = sim.time_s
    scale = 1.0 + drift_ppm * 1e-6

    def sample(side: str, t_true: np.ndarray, t_dev: np.ndarray) -> DeviceRecording:
        acc = np.column_stack([np.interp(t_true, t, sim[f"{side}_acc"][:, j]) for j in range(3)])
        gyr = np.column_stack([np.interp(t_true, t, sim[f"{side}_gyr"][:, j]) for j in range(3)])
        return DeviceRecording(t_dev, acc, gyr, None, f"{side}.csv", "test", side)

    t_lo = np.arange(0.0, t[-1], 1.0 / rate_lower)
    lower = sample("lower", t_lo, t_lo)
    # the upper device starts later (offset > 0) and stops before the end
    t_up_dev = np.arange(0.0, (t[-1] - 0.5 - offset_s) / scale, 1.0 / rate_upper)
    t_up_true = offset_s + scale * t_up_dev
    upper = sample("upper", t_up_true, t_up_dev)
    return lower, upper, offset_s, scale


@pytest.mark.parametrize(("seed", "pattern"), [(1, "good"), (2, "good"), (3, "mixed"), (4, "mixed")])
def test_offset_and_100_ppm_drift_are_recovered_within_one_sample(seed, pattern):
    # about three minutes: 100 ppm is 17-20 ms over it, more than one sample at 60 Hz
    rng = np.random.default_rng(seed)
    offset = float(rng.uniform(0.0, 1.5))  # the upper device started up to 1.5 s after the lower
    drift = float(rng.choice([-100.0, 100.0]))
    lower, upper, off, scale = two_devices(seed, offset_s=offset, drift_ppm=drift, reps=30,
                                           pattern=pattern)
    al = align_clocks(lower.time_s, lower.gyr, upper.time_s, upper.gyr)
    err = al.to_reference(upper.time_s) - (off + scale * upper.time_s)
    one_sample = 1.0 / 60.0  # the faster device's period
    assert np.max(np.abs(err)) < one_sample / 2, (al, np.max(np.abs(err)))
    assert abs(al.drift_ppm - drift) < 40
    assert al.residual_s < one_sample
    assert al.windows >= 15


def test_a_short_recording_still_aligns_the_offset():
    lower, upper, off, scale = two_devices(7, offset_s=1.2, drift_ppm=-100.0, reps=6)
    al = align_clocks(lower.time_s, lower.gyr, upper.time_s, upper.gyr)
    err = al.to_reference(upper.time_s) - (off + scale * upper.time_s)
    assert np.max(np.abs(err)) < 1.0 / 60.0


def test_joined_devices_give_a_two_sensor_recording(tmp_path):
    lower, upper, _off, _scale = two_devices(4, offset_s=0.7, drift_ppm=100.0)
    rec = join_devices(lower, upper, placement=None, source=str(tmp_path))
    assert set(rec.channels) == {"lower_acc", "lower_gyr", "upper_acc", "upper_gyr"}
    assert rec.meta["clock_alignment"]["windows"] >= 2
    assert rec.meta["clock_alignment"]["drift_ppm"] == 0.0  # under a minute: offset alone
    assert abs(rec.meta["clock_alignment"]["offset_s"] - 0.7) < 1.0 / 60.0
    assert rec.time_s[0] == 0.0


def test_no_still_start_is_one_clear_error():
    lower, upper, _, _ = two_devices(5, offset_s=0.2, drift_ppm=0.0, reps=2)
    moving = (1.0 + 0.5 * np.sin(lower.time_s))[:, None] * np.ones(3)  # turning from the start
    with pytest.raises(InputError, match="starts standing still"):
        align_clocks(lower.time_s, moving, upper.time_s, upper.gyr, names=("a.csv", "b.csv"))
