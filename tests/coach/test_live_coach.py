"""The live coach (reps, faults, cues from angle samples) against the offline functions on
the same samples: long holds, back-to-back swings, a rep whose top is cut by the next."""

from __future__ import annotations

import numpy as np
import pytest

from hingecoach.core.timeseries import TimeSeries
from hingecoach.faults import default_thresholds, evaluate, rep_metrics
from hingecoach.live.coach import LiveCoach
from hingecoach.live.stream import JitterBuffer, SensorStats
from hingecoach.reps import detect_reps
from hingecoach.sources.live import Packet

RATE = 100.0
CH = ("lumbar_flexion_deg", "pelvis_tilt_deg", "trunk_inclination_deg")


def min_jerk(a: float, b: float, n: int) -> np.ndarray:
    u = np.linspace(0, 1, n)
    return a + (b - a) * u**3 * (10 - 15 * u + 6 * u**2)


def series(segments: list[tuple[float, float, float]], seed: int = 0) -> TimeSeries:
    """(trunk target deg, lumbar target deg, seconds) segments, joined smoothly."""
    trunk, lumbar = [0.0], [0.0]
    for tr, lu, dur in segments:
        n = max(2, round(dur * RATE))
        trunk += list(min_jerk(trunk[-1], tr, n))[1:]
        lumbar += list(min_jerk(lumbar[-1], lu, n))[1:]
    rng = np.random.default_rng(seed)
    tr = np.array(trunk) + rng.normal(0, 0.2, len(trunk))
    lu = np.array(lumbar) + rng.normal(0, 0.2, len(lumbar))
    t = np.arange(len(tr)) / RATE
    return TimeSeries(t, {"lumbar_flexion_deg": lu, "pelvis_tilt_deg": tr - lu, "trunk_inclination_deg": tr},
                      meta={"placement": "T12"})


def offline(ang: TimeSeries):
    th = default_thresholds("T12")
    return evaluate(rep_metrics(ang, detect_reps(ang)), th)


def live(ang: TimeSeries):
    events: list[dict] = []
    coach = LiveCoach("T12", RATE, default_thresholds("T12"), CH, events.append)
    for k, t in enumerate(ang.time_s):
        coach.add(float(t), {c: float(ang[c][k]) for c in CH})
    coach.finish()
    return [*coach.reps, *coach.incomplete], coach, events


def assert_same(a, b):
    assert len(a) == len(b)
    for m, n in zip(a, b, strict=True):
        assert (m.index, m.complete, m.faults) == (n.index, n.complete, n.faults)
        assert (m.start_s, m.bottom_s, m.end_s) == pytest.approx((n.start_s, n.bottom_s, n.end_s))
        assert m.top_extension_deg == pytest.approx(n.top_extension_deg, nan_ok=True)
        assert m.peak_lumbar_flexion_deg == pytest.approx(n.peak_lumbar_flexion_deg)


def test_a_bend_held_for_a_minute():
    ang = series([(0, 0, 3), (70, 8, 1.5), (70, 8, 60), (0, 0, 1.5), (0, 0, 3), (65, 30, 1.5), (0, 0, 1.5),
                  (0, 0, 3)])
    reps, _coach, _ = live(ang)
    assert_same(offline(ang), reps)
    assert len(reps) == 2 and reps[1].faults[:1] == ("lumbar_rounding",)


def test_back_to_back_swings_and_a_lean_back_cut_by_the_next_rep():
    segs = [(0, 0, 3)]
    for k in range(12):
        segs += [(60, 6, 0.5), (0, -12 if k % 3 == 0 else 0, 0.5), (0, 0, 0.25 + 0.05 * (k % 4))]
    segs += [(0, 0, 3)]
    ang = series(segs, seed=2)
    reps, _, events = live(ang)
    assert_same(offline(ang), reps)
    assert len([e for e in events if e["type"] == "rep"]) == len(reps) == 12


def test_an_incomplete_last_bend():
    ang = series([(0, 0, 3), (60, 5, 1.5), (0, -12, 1.2), (0, 0, 0.3), (60, 25, 1.5), (60, 25, 2)])
    reps, _, _ = live(ang)
    off = offline(ang)
    assert_same(off, reps)
    assert [m.complete for m in reps] == [True, False]


def test_the_sample_period_follows_a_rate_change():
    st = SensorStats()
    jb = JitterBuffer(st)
    t = 0.0
    for _ in range(100):
        jb.push(Packet("lower", t, [0, 0, 9.8], [0, 0, 0], t))
        t += 0.01
    for _ in range(200):
        jb.push(Packet("lower", t, [0, 0, 9.8], [0, 0, 0], t))
        t += 0.02
    assert jb.period == pytest.approx(0.02)
    # only while the median of the last 51 steps catches up (about 30), not every sample from then on
    assert st.lost <= 40
