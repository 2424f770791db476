"""The live camera's per-rep verdict is the offline one: the back outline's shape at the
rep's bottom (``pose.verdict.judge_rounding``), the bow when the shape is too close to
call, and no side-view fault off the side view. Made-up outlines; no camera needed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hingecoach.faults import RepMetrics
from hingecoach.live.camera import CameraAngles, KeptFrame
from hingecoach.pose.back_shape import BackShape
from hingecoach.pose.camera import CameraSettings


def _shape(bend: float, bow: float = 0.1) -> BackShape:
    return BackShape(bow=bow, hump=0.0, bend_deg=bend, seen=1.0, trunk_px=200.0, contour_xy=np.empty((0, 2)))


def _cam(rule: str = "shape") -> CameraAngles:
    return CameraAngles(model=None, on_angles=lambda t, v: None, on_calibrated=lambda m: None,
                        emit=lambda e: None, settings=CameraSettings(rounding_rule=rule))


def _rep(faults: tuple[str, ...]) -> RepMetrics:
    nan = math.nan
    return RepMetrics(0, 1.0, 2.0, 3.0, True, 30.0, 20.0, 60.0, 0.5, 0.0, 0.8, nan, nan, faults)


def _feed(cam: CameraAngles, bottom_bend: float, side_ratio: float = 0.1, standing_bend: float = -8.0,
          bottom_bow: float = 0.1, turn: float = math.nan) -> None:
    for _ in range(20):  # the standing start: the reference
        cam._upright.append(_shape(standing_bend))
    for t in np.arange(0.0, 4.0, 1 / 30):
        bottom = abs(t - 2.0) <= 0.2
        cam._backs.append(KeptFrame(float(t), _shape(bottom_bend if bottom else standing_bend,
                                                     bottom_bow if bottom else 0.1), side_ratio,
                                    math.nan, turn, -turn, math.nan, math.nan, math.nan))
        cam._views.append((side_ratio, turn, -turn))  # the view so far


@pytest.mark.parametrize(("bow_says", "bend", "rounded"), [
    ((), 12.0, True),  # the outline folded into one arc: rounded, whatever the bow said
    (("lumbar_rounding", "too_fast"), -12.0, False),  # the lumbar hollow kept: not rounded
    (("lumbar_rounding",), 0.5, True),  # too close to call: the bow decides
    ((), 0.5, False),
])
def test_the_shape_decides_and_the_bow_breaks_a_tie(bow_says, bend, rounded):
    cam = _cam()
    _feed(cam, bend)
    m = cam.judge_rep(_rep(bow_says))
    assert ("lumbar_rounding" in m.faults) is rounded
    assert [f for f in m.faults if f != "lumbar_rounding"] == [f for f in bow_says if f != "lumbar_rounding"]
    if rounded:
        assert m.faults[0] == "lumbar_rounding"


def test_a_rep_filmed_from_the_front_keeps_no_side_view_fault():
    cam = _cam()
    _feed(cam, 12.0, side_ratio=0.7)
    m = cam.judge_rep(_rep(("lumbar_rounding", "squatting", "too_fast")))
    assert m.faults == ("too_fast",)


def test_a_back_not_seen_at_the_bottom_is_not_judged():
    cam = _cam()
    _feed(cam, math.nan, bottom_bow=math.nan)
    assert cam.judge_rep(_rep(("lumbar_rounding",))).faults == ()


def test_the_bow_rule_leaves_the_threshold_verdict_alone():
    cam = _cam("bow")
    _feed(cam, -12.0)
    m = _rep(("lumbar_rounding",))
    assert cam.judge_rep(m) is m


@pytest.mark.parametrize(("bend", "turn", "judged", "faults"), [
    (-12.0, 0.5, True, ("too_fast",)),  # a clear lumbar hollow at an angle: not rounded
    (12.0, 0.5, False, ("too_fast",)),  # a rounded reading at an angle: unconfirmed, not judged
    (-1.0, 0.5, False, ("too_fast",)),  # no clear hollow: the bow does not decide at an angle
    (-12.0, -0.5, False, ("too_fast",)),  # turned away from the camera: never judged
])
def test_at_an_angle_only_a_clear_hollow_is_a_verdict(bend, turn, judged, faults):
    cam = _cam()
    _feed(cam, bend, side_ratio=0.5, turn=turn)  # oblique (0.45-0.55)
    m = cam.judge_rep(_rep(("lumbar_rounding", "too_fast")))
    assert m.faults == faults
    (start, j), = cam.judgements
    assert start == 1.0 and j.judged is judged and j.view.view == "oblique"
    assert j.view.turned == ("toward" if turn > 0 else "away")
    if bend > 0:
        assert j.numbers["rounding"]["unconfirmed"] is True
