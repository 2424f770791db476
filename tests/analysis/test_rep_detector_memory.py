"""The live rep detector over a long day: bounded memory, the same reps as offline."""

from __future__ import annotations

import numpy as np
import pytest

from hingecoach.core.timeseries import TimeSeries
from hingecoach.reps import RepDetector, detect_reps


def _day(rate: float, hours: float, bends_at: list[float], seed: int = 0) -> TimeSeries:
    """Trunk inclination: standing sway (a few degrees), and 60 deg bends of 4 s."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, hours * 3600, 1.0 / rate)
    x = 3.0 * np.sin(2 * np.pi * 0.05 * t) + rng.normal(0, 0.5, t.size)
    for b in bends_at:
        sel = (t >= b) & (t < b + 4.0)
        x[sel] += 60.0 * np.sin(np.pi * (t[sel] - b) / 4.0) ** 2
    return TimeSeries(t, {"trunk_inclination_deg": x})


@pytest.mark.parametrize("rate", [25.0, 100.0])
def test_hours_of_standing_cost_no_memory_and_change_no_rep(rate):
    bends = [30.0, 41.0, 3000.0, 3003.0 + 5.5, 7100.0]
    ang = _day(rate, 2.0, bends)
    offline = detect_reps(ang)
    det = RepDetector(rate, "T12")
    live, longest = [], 0
    for t, x in zip(ang.time_s, ang["trunk_inclination_deg"], strict=True):
        r = det.update(float(t), float(x))
        longest = max(longest, len(det._t))
        if r is not None:
            live.append(r)
    live += det.finish()
    assert [(r.index, r.start_i, r.bottom_i, r.end_i, r.complete) for r in live] == \
        [(r.index, r.start_i, r.bottom_i, r.end_i, r.complete) for r in offline]
    assert len(offline) == len(bends)
    # the lookback (5 s), a trim batch (10 s) and the longest bend: not two hours
    assert longest < rate * 40
