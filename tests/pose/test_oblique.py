"""The camera at an angle (near-side and oblique views turned toward it): only the
readings that the angle cannot fake are verdicts (docs/references.md#camera-oblique-view)."""

from types import SimpleNamespace

import numpy as np
import pytest

from hingecoach.core.pose_types import HIP, SHOULDER
from hingecoach.pose import judgement as J
from hingecoach.pose import view as V
from hingecoach.pose.back_shape import measure_back_shape
from hingecoach.pose.verdict import RepBackVerdict

pytestmark = pytest.mark.camera

NAN = float("nan")


def _squeezed_bend(pose, c):
    """The back-shape bend of the simulator's silhouette squeezed along x by ``c`` (a turn
    of acos(c) about the vertical, seen from hip height)."""
    cv2 = pytest.importorskip("cv2")
    from hingecoach.testing.camera_sim import render

    f = render(pose, px_per_m=400, width=700, height=800)
    w = round(f.width * c)
    m = cv2.resize(f.mask, (w, f.height), interpolation=cv2.INTER_AREA)
    xy = f.xy * np.array([w / f.width, 1.0])
    return measure_back_shape(m, xy[HIP["left"]], xy[SHOULDER["left"]], -1.0).bend_deg


def test_a_turn_up_to_the_oblique_limit_never_turns_a_rounded_back_into_a_clear_hollow():
    from hingecoach.testing.camera_sim import CameraPose

    rounded_seen, drifts = 0, []
    for pelvis in (20, 40, 60, 75):
        for lumbar in (-20, -10, 0, 10, 20, 30):
            pose = CameraPose(pelvis, lumbar, 15, 20)
            side = _squeezed_bend(pose, 1.0)
            for c in (0.85, 0.7):  # turns of 32 and 46 deg
                b = _squeezed_bend(pose, c)
                if side > 2.0:  # rounded by the rule from the side ...
                    rounded_seen += 1
                    drifts.append(side - b)
                    # ... never a hollow clear of the error and the angle's drift at an angle
                    assert b > -(2.0 + J.AT_ANGLE_DRIFT_DEG), (pelvis, lumbar, c, side, b)
                if side < -2.0:  # a hollow stays a hollow (the squeeze only deepens it here)
                    assert b < 0, (pelvis, lumbar, c, side, b)
    assert rounded_seen >= 20
    # the drift toward a hollow that AT_ANGLE_DRIFT_DEG (plus the 2 deg error) covers
    assert 2.0 < max(drifts) < 2.0 + J.AT_ANGLE_DRIFT_DEG


def _rv(score, threshold=0.0, error=2.0):
    judged = abs(score - threshold) >= error
    return RepBackVerdict(judged, bool(score > threshold) if judged else None, score, threshold,
                          None if judged else "too close to call", "bend_deg", score - threshold, error)


def test_at_an_angle_a_rounded_reading_is_not_a_verdict_and_only_a_clear_hollow_is():
    numbers, why = {}, {}
    assert J._at_angle(_rv(+12.0), numbers, why) is None
    assert numbers["unconfirmed"] is True and "may be a neutral back" in why["lumbar_rounding"]
    numbers, why = {}, {}
    assert J._at_angle(_rv(-15.0), numbers, why) is False and not why and "unconfirmed" not in numbers
    # judged "not rounded" from the side, but not clear of the angle's drift: no verdict
    numbers, why = {}, {}
    assert J._at_angle(_rv(-4.0), numbers, why) is None and "no clear lumbar hollow" in why["lumbar_rounding"]
    # under the person's own (filled-in) standing reference is not enough: the hollow must show
    numbers, why = {}, {}
    assert J._at_angle(_rv(+1.0, threshold=6.8), numbers, why) is None and "unconfirmed" not in numbers
    numbers, why = {}, {}
    nan = RepBackVerdict(False, None, NAN, 0.0, "the back is too small", "bend_deg", NAN)
    assert J._at_angle(nan, numbers, why) is None and "too small" in why["lumbar_rounding"]


def test_oblique_views_are_judgeable_only_turned_toward_the_camera():
    toward = V.classify_view([0.5, 0.52], turns=[0.5, 0.5], nose_depths=[-0.5, -0.4])
    assert toward.view == "oblique" and toward.judgeable and toward.at_angle
    away = V.classify_view([0.5, 0.52], turns=[-0.5, -0.5], nose_depths=[0.5, 0.4])
    assert away.view == "oblique" and not away.judgeable
    unclear = V.classify_view([0.5, 0.52], turns=[0.5, 0.5], nose_depths=[0.5, 0.4])
    assert unclear.turned == "unclear" and not unclear.judgeable
    assert not V.classify_view([0.7, 0.8], turns=[0.7, 0.8], nose_depths=[-1, -1]).judgeable
    side = V.classify_view([0.1, 0.12])
    assert side.judgeable and not side.at_angle


def _frame(sep, trunk, hip_deg, trunk_deg, turn=0.5, nose=-0.5):
    """A measured frame (``camera.FrameMeasure``'s fields that the view reads): the
    shoulders and hips ``sep`` px apart, the trunk ``trunk`` px long in the image."""
    xy = np.zeros((33, 2))
    for side, dx in (("left", 0.0), ("right", sep)):
        xy[HIP[side]] = (100.0 + dx, 400.0)
        xy[SHOULDER[side]] = (100.0 + dx, 400.0 - trunk)
    return SimpleNamespace(xy=xy, hip=hip_deg, trunk=trunk_deg, side_ratio=sep / trunk, turn=turn, nose_depth=nose)


def test_the_bottom_of_a_hinge_does_not_push_a_rep_past_the_view_limits():
    standing = [_frame(48.0, 100.0, 2.0, 3.0) for _ in range(10)]
    bottom = [_frame(48.0, 60.0, 90.0, 70.0) for _ in range(10)]  # the trunk tipped toward the camera
    trunk = V.standing_trunk_px(standing + bottom)
    assert trunk == pytest.approx(100.0)
    # over each frame's own trunk the bottom reads 0.8: "front/back"
    assert V.frames_view(bottom).view == "front/back"
    rep = V.frames_view(bottom, trunk)
    assert rep.side_ratio == pytest.approx(0.48) and rep.view == "oblique" and rep.judgeable
    # no standing frames: the frames' own ratio
    assert np.isnan(V.standing_trunk_px(bottom)) and V.frames_view(bottom, V.standing_trunk_px(bottom)).view \
        == "front/back"


def test_a_rep_takes_the_view_further_from_the_side():
    clip = V.classify_view([0.5], turns=[0.5], nose_depths=[-0.5])  # oblique, toward
    side_rep = V.classify_view([0.1])
    assert V.worse_view(side_rep, clip) is clip  # one side-looking rep stays at an angle
    turned = V.classify_view([0.8], turns=[0.8], nose_depths=[-1.0])
    assert V.worse_view(turned, clip) is turned  # the lifter turned to face the camera
    behind = V.classify_view([0.38], turns=[-0.38], nose_depths=[0.4])  # oblique, away
    assert V.worse_view(behind, V.classify_view([0.4], turns=[0.4], nose_depths=[-0.4])) is behind


def _judgement(view, judged, unconfirmed=False):
    numbers = {"rounding": {"unconfirmed": True}} if unconfirmed else {}
    return J.RepJudgement("full", view, judged, None if judged else "why", {}, NAN, numbers)


def test_a_set_with_a_rep_that_reads_rounded_at_an_angle_is_not_called_good():
    view = V.classify_view([0.5], turns=[0.5], nose_depths=[-0.5])
    frames = [SimpleNamespace(xy=np.zeros((33, 2)), hip=0.0, trunk=0.0, side_ratio=0.5, turn=0.5,
                              nose_depth=-0.5)] * 3
    result = SimpleNamespace(frames=frames, reference_source="upright frames")
    reps = [SimpleNamespace(faults=()), SimpleNamespace(faults=())]
    v = J.clip_verdict(result, reps, [_judgement(view, True), _judgement(view, False, unconfirmed=True)], [])
    assert v.verdict == "cannot_judge" and any("rep 2 read(s) rounded at an angle" in r for r in v.reasons)
    v = J.clip_verdict(result, reps, [_judgement(view, True), _judgement(view, True)], [])
    assert v.verdict == "good"
    # a real fault elsewhere still makes the set "faults"
    v = J.clip_verdict(result, [SimpleNamespace(faults=("squatting",)), SimpleNamespace(faults=())],
                       [_judgement(view, True), _judgement(view, False, unconfirmed=True)], [])
    assert v.verdict == "faults"
