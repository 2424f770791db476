"""Per-rep judgements: rounding from the back's outline bend, squat from shins against trunk,
and the reasons for not judging."""

from __future__ import annotations

import numpy as np
import pytest

from hingecoach.pose.back_shape import BackShape
from hingecoach.pose.verdict import RoundingRule, back_reference, bottom_window, judge_rounding, judge_squat


def _shape(bend: float, trunk_px: float = 150.0) -> BackShape:
    return BackShape(0.3, 0.0, bend, 1.0, trunk_px, np.empty((0, 2)))


def _rep(bottom_bends: list[float], n: int = 31, trunk_px: float = 150.0) -> tuple[list[BackShape], list[float]]:
    """A rep at 30 fps whose bottom (frame 15) and its neighbours have the given bends."""
    shapes = [_shape(-10.0, trunk_px)] * n
    k = len(bottom_bends) // 2
    for j, b in enumerate(bottom_bends):
        shapes[15 - k + j] = _shape(b, trunk_px)
    return shapes, [i / 30.0 for i in range(n)]


def test_a_back_folded_into_one_arc_is_rounded_and_a_hollow_one_is_not():
    shapes, t = _rep([12.0] * 9)
    v = judge_rounding(shapes, 15, time_s=t)
    assert v.judged and v.rounded and v.score == pytest.approx(12.0) and v.margin == pytest.approx(12.0)
    shapes, t = _rep([-8.0] * 9)
    v = judge_rounding(shapes, 15, time_s=t)
    assert v.judged and v.rounded is False and v.not_judged_because is None


def test_the_bottom_window_ignores_one_flickering_frame():
    shapes, t = _rep([-8, -8, -8, -8, 30, -8, -8, -8, -8])
    assert judge_rounding(shapes, 15, time_s=t).rounded is False


def test_a_pause_at_the_bottom_is_judged_whole_not_at_its_deepest_frame():
    # a deadlift from the floor: the reach to the bar (hips 130 deg, the back folded for a
    # moment), then a 1 s set-up at 125-128 deg with the back flat before the pull
    n = 60
    t = [i / 30.0 for i in range(n)]
    hips = [40.0 + 3 * i for i in range(30)] + [128.0] * 28 + [90.0, 60.0]
    hips[30] = 131.0  # the deepest frame, at the reach
    shapes = [_shape(-10.0)] * n
    for i in range(27, 34):
        shapes[i] = _shape(9.0)
    win = bottom_window(n, 30, t, hips)
    assert win.start <= 27 and win.stop == 58  # the whole set-up, not +-0.15 s
    assert bottom_window(n, 30, t).stop == 35
    v = judge_rounding(shapes, 30, time_s=t, depth_deg=hips)
    assert v.judged and v.rounded is False
    assert judge_rounding(shapes, 30, time_s=t).rounded is True  # the single-moment window


def test_a_bend_within_the_measuring_error_is_not_called():
    shapes, t = _rep([1.0] * 9)
    v = judge_rounding(shapes, 15, time_s=t)
    assert not v.judged and v.rounded is None and "too close to call" in (v.not_judged_because or "")


def test_not_judged_when_the_back_is_not_seen_small_or_not_from_the_side():
    shapes, t = _rep([float("nan")] * 9)
    v = judge_rounding(shapes, 15, time_s=t)
    assert not v.judged and "outline was found in 0 of" in (v.not_judged_because or "")
    shapes, t = _rep([12.0] * 9, trunk_px=40.0)
    assert "too small" in (judge_rounding(shapes, 15, time_s=t).not_judged_because or "")
    shapes, t = _rep([12.0] * 9)
    v = judge_rounding(shapes, 15, time_s=t, side_ratio=0.6)
    assert not v.judged and "turned too far from the side" in (v.not_judged_because or "")
    assert judge_rounding(shapes, 15, time_s=t, side_ratio=RoundingRule.side_view_max_ratio - 0.01).judged


def test_a_back_convex_even_standing_is_judged_against_its_own_standing_shape():
    standing = [_shape(6.0)] * 10
    ref = back_reference(standing, [5.0] * 10, [3.0] * 10)
    assert ref is not None and ref.bend_deg == pytest.approx(6.0) and ref.frames == 10
    shapes, t = _rep([5.0] * 9)
    v = judge_rounding(shapes, 15, ref, time_s=t)
    assert v.threshold == pytest.approx(6.0) and v.rounded is not True
    # a hollow standing back does not lower the bar below a straight outline
    hollow = back_reference([_shape(-15.0)] * 10, [5.0] * 10, [3.0] * 10)
    assert judge_rounding(shapes, 15, hollow, time_s=t).threshold == 0.0


def test_no_reference_without_upright_frames():
    assert back_reference([_shape(-10.0)] * 10, [60.0] * 10, [40.0] * 10) is None


def test_a_floor_deadlift_with_bent_knees_is_a_hinge_and_an_upright_trunk_is_a_squat():
    # deadlift from the floor: knees bent 90 deg, shins 25 deg forward, trunk 55 deg
    hip, trunk, knee = [115.0], [55.0], [90.0]  # shank = hip - trunk - knee = -30 (knees forward)
    v = judge_squat(trunk, hip, knee, None, 0)
    assert v.judged and v.squatting is False and v.score == pytest.approx(30.0 - 55.0)
    # squat: trunk 20 deg, knees 120 deg, shins 45 deg forward
    v = judge_squat([20.0], [95.0], [120.0], None, 0)
    assert v.judged and v.squatting is True and v.score == pytest.approx(45.0 - 20.0)
    # the shank angle when given is used as is
    assert judge_squat([20.0], [95.0], [120.0], [-10.0], 0).squatting is False


def test_squat_not_judged_near_parallel_shallow_or_unseen():
    assert "too close" in (judge_squat([40.0], [110.0], [108.0], None, 0).not_judged_because or "")
    assert "only 30 deg" in (judge_squat([10.0], [30.0], [20.0], None, 0).not_judged_because or "")
    assert not judge_squat([float("nan")], [100.0], [90.0], None, 0).judged
