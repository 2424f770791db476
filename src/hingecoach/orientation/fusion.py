"""6-axis sensor fusion with imufusion (x-io Fusion): the "up" direction in each
sensor's frame over time.

Only the gravity direction is used downstream, so the (drifting, unrelated) headings of
two independent 6-axis filters never reach an angle. Magnetometers are ignored by
default: metal near barbells and kettlebells spoils them.

Units at the imufusion boundary: gyroscope deg/s, accelerometer g (Fusion's own); SI
everywhere else. Irregular sample instants are handled by scaling each gyroscope
sample by its actual period over the nominal one (the integrated rotation is then
exact) and each step integrates the mean of the two samples that bound it (the
trapezoidal rule: without it the angle lags by half a sample, about a degree in a fast
swing at 50 Hz); spans with no samples longer than ``reset_gap_s`` restart the filter from the
accelerometer.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import imufusion
import numpy as np

from hingecoach.core.conventions import STANDARD_GRAVITY
from hingecoach.core.parallel import ForkedCall, can_fork
from hingecoach.core.timeseries import FloatArray


@dataclass(frozen=True)
class FusionSettings:
    gain: float = 0.2
    gyroscope_range_dps: float = 2000.0  # deg/s; readings near it trigger overrange recovery
    acceleration_rejection_deg: float = 5.0
    recovery_trigger_s: float = 5.0  # then trust it again after this long
    reset_gap_s: float = 0.5  # a gap longer than this restarts the filter
    parallel_min_samples: int = 100_000  # fuse the two sensors in two processes above this


def _quat_from_up(up: FloatArray) -> FloatArray:
    """Quaternion (w, x, y, z), sensor to earth, that takes ``up`` (sensor frame) to +z."""
    u = up / np.linalg.norm(up)
    z = np.array([0.0, 0.0, 1.0])
    c = float(np.dot(u, z))
    if c < -0.999999:
        return np.array([0.0, 1.0, 0.0, 0.0])
    axis = np.cross(u, z)
    q = np.array([1.0 + c, *axis])
    return q / np.linalg.norm(q)


class SensorFusion:
    """One sensor's filter. ``update`` takes one sample; ``run`` is the same loop over a
    whole recording, so live and offline give the same numbers."""

    def __init__(self, sample_rate_hz: float, gyro_bias_rad_s: FloatArray,
                 initial_up: FloatArray, settings: FusionSettings | None = None) -> None:
        self.settings = s = settings or FusionSettings()
        self.rate = float(sample_rate_hz)
        self.period = 1.0 / self.rate
        self.bias_dps = np.rad2deg(np.asarray(gyro_bias_rad_s, dtype=np.float64))
        self._ahrs = imufusion.Ahrs()
        self._ahrs.set_settings(imufusion.AhrsSettings(
            sample_rate=self.rate, convention=imufusion.CONVENTION_NWU, gain=s.gain,
            gyroscope_range=s.gyroscope_range_dps,
            acceleration_rejection=s.acceleration_rejection_deg, magnetic_rejection=0.0,
            rejection_timeout=round(s.recovery_trigger_s * self.rate)))
        self._initial_up = np.asarray(initial_up, dtype=np.float64)
        self._prev_gyr: FloatArray | None = None
        self.restart(self._initial_up)

    def restart(self, up: FloatArray) -> None:
        self._ahrs.restart()
        self._ahrs.skip_startup()
        self._ahrs.set_quaternion(_quat_from_up(up))
        self._prev_gyr = None

    def update(self, dt_s: float, gyr_rad_s: FloatArray, acc_m_s2: FloatArray) -> FloatArray:
        """One sample -> unit "up" vector in the sensor frame."""
        acc_g = np.asarray(acc_m_s2) / STANDARD_GRAVITY
        if dt_s > self.settings.reset_gap_s:
            self.restart(acc_g)
        g = np.rad2deg(gyr_rad_s) - self.bias_dps
        mean = g if self._prev_gyr is None else 0.5 * (g + self._prev_gyr)
        self._prev_gyr = g
        self._ahrs.update_no_magnetometer(mean * (dt_s / self.period), acc_g)
        return np.asarray(self._ahrs.get_gravity())

    def run(self, time_s: FloatArray, gyr_rad_s: FloatArray, acc_m_s2: FloatArray) -> FloatArray:
        """The same maths as ``update`` over all samples, vectorised where it can be."""
        n = len(time_s)
        dt = np.empty(n)
        dt[0] = self.period
        dt[1:] = np.diff(time_s)
        acc_g = acc_m_s2 / STANDARD_GRAVITY
        g = np.rad2deg(gyr_rad_s) - self.bias_dps
        resets = np.flatnonzero(dt > self.settings.reset_gap_s)
        mean = g.copy()
        mean[1:] = 0.5 * (g[1:] + g[:-1])
        mean[resets] = g[resets]  # a restart forgets the previous sample
        if self._prev_gyr is not None and 0 not in resets:
            mean[0] = 0.5 * (g[0] + self._prev_gyr)
        # Fusion computes in single precision: handing it float32 rows is the same cast
        # it would make itself, done once for all samples instead of once per call (it
        # halves the time of the loop).
        gyr = (mean * (dt / self.period)[:, None]).astype(np.float32)
        acc32 = acc_g.astype(np.float32)
        parts: list[FloatArray] = []
        bounds = [0, *resets.tolist(), n]
        upd = self._ahrs.update_no_magnetometer
        grav = self._ahrs.get_gravity
        for a, b in itertools.pairwise(bounds):
            if a in resets:
                self.restart(acc_g[a])
            # map() drives the updates from C; the list only collects each gravity
            ups = [grav() for _ in map(upd, gyr[a:b], acc32[a:b])]
            parts.append(np.concatenate(ups).reshape(-1, 3) if ups else np.empty((0, 3)))
        self._prev_gyr = g[-1]
        return np.concatenate(parts).astype(np.float64)


Job = tuple[float, FloatArray, FloatArray, FusionSettings, FloatArray, FloatArray, FloatArray]


def _run_one(job: Job) -> FloatArray:
    rate, bias, up, settings, t, gyr, acc = job
    return SensorFusion(rate, bias, up, settings).run(t, gyr, acc)


def fuse_pair(jobs: list[Job]) -> list[FloatArray]:
    """Run several sensors' filters; the second one in a forked process when the
    recording is long (each filter is a Python loop over samples; the two sensors are
    independent). If that process fails, this one runs its filter too."""
    n = max(len(j[4]) for j in jobs)
    if len(jobs) == 2 and n >= jobs[0][3].parallel_min_samples and can_fork():
        with ForkedCall(lambda: _run_one(jobs[1]).astype(np.float32).tobytes()) as child:
            first = _run_one(jobs[0])
            raw = child.result()
        # the filter's output is single precision: the float32 round trip is exact
        second = (np.frombuffer(raw, dtype=np.float32).reshape(-1, 3).astype(np.float64)
                  if raw is not None else _run_one(jobs[1]))
        return [first, second]
    return [_run_one(j) for j in jobs]
