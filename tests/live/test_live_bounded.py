"""What a live session keeps all day stays bounded."""

from __future__ import annotations

import numpy as np
import pytest

from hingecoach.live.bounded import Messages, Reservoir


def test_the_reservoir_keeps_everything_up_to_its_cap():
    r = Reservoir(cap=10)
    for x in range(7):
        r.append(float(x))
    assert list(r) == [float(x) for x in range(7)] and r.n == 7 and r.max == 6.0


def test_the_reservoir_is_a_uniform_sample_beyond_its_cap():
    r = Reservoir(cap=1000, seed=1)
    for x in range(100_000):
        r.append(float(x))
    vals = np.asarray(list(r))
    assert len(vals) == 1000 and r.n == 100_000 and r.max == 99_999.0
    # a uniform sample of 0..99999: its quartiles within a few percent of the true ones
    assert np.percentile(vals, [25, 50, 75]) == pytest.approx([25_000, 50_000, 75_000], rel=0.08)


def test_messages_keep_distinct_ones_up_to_the_cap_and_count_the_rest():
    m = Messages(cap=3)
    for s in ["a", "b", "a", "c", "d", "e", "b"]:
        m.add(s)
    assert m.as_list() == ["a", "b", "c", "... and 2 more warnings (only the first 3 are kept)"]
    assert "a" in m and "d" not in m and len(m) == 3
