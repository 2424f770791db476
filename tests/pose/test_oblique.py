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


def test_a_turn_up_to_60_deg_never_turns_a_rounded_back_into_a_clear_hollow():
    # the oblique limit 0.55 is a turn of 45 deg by the body's proportions, about 58 by
    # BlazePose's landmarks: up to 60 deg (c = 0.5) no back that reads rounded from the side
    # reads a hollow below the at-angle bound -(2 deg error + AT_ANGLE_DRIFT_DEG)
    from hingecoach.testing.camera_sim import CameraPose

    lowest = {c: np.inf for c in (0.85, 0.7, 0.6, 0.5)}  # turns of 32, 46, 53 and 60 deg
    for pelvis in (20, 40, 60, 75, 90):
        for lumbar in range(-20, 35, 5):
            for thoracic in (5, 15, 25):
                pose = CameraPose(pelvis, lumbar, thoracic, 20)
                side = _squeezed_bend(pose, 1.0)
                for c in lowest:
                    b = _squeezed_bend(pose, c)
                    if side > 2.0:  # rounded by the rule from the side
                        lowest[c] = min(lowest[c], b)
                    if side < -2.0:  # a hollow stays a hollow (the squeeze deepens it)
                        assert b < 0, (pelvis, lumbar, thoracic, c, side, b)
    bound = -(2.0 + J.AT_ANGLE_DRIFT_DEG)
    assert all(v > bound for v in lowest.values()), lowest
    # the drift is real: without the margin (the 2 deg error alone) a rounded back would
    # read a clear hollow at the larger turns
    assert min(lowest.values()) < -2.0


def _rv(score, threshold=0.0, error=2.0):
    judged = abs(score - threshold) >= error
    return RepBackVerdict(judged, bool(score > threshold) if judged else None, score, threshold,
                          None if judged else "too close to call", "bend_deg", score - threshold, error)


def test_at_an_angle_a_rounded_reading_is_not_a_verdict_and_only_a_clear_hollow_is():
    numbers, why = {}, {}
    assert J._at_angle(_rv(+12.0), numbers, why) is None
    assert numbers["unconfirmed"] is True and "can look alike" in why["lumbar_rounding"]
    numbers, why = {}, {}
    assert J._at_angle(_rv(-15.0), numbers, why) is False and not why and "unconfirmed" not in numbers
    # judged "not rounded" from the side, but not clear of the angle's drift: no verdict
    numbers, why = {}, {}
    assert J._at_angle(_rv(-6.0), numbers, why) is None and "no clear lumbar hollow" in why["lumbar_rounding"]
    assert numbers["hollow_below"] == pytest.approx(-(2.0 + J.AT_ANGLE_DRIFT_DEG))
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
    assert v.verdict == "cannot_judge" and any("rep 2 reads rounded at an angle" in r for r in v.reasons)
    v = J.clip_verdict(result, reps, [_judgement(view, True), _judgement(view, True)], [])
    assert v.verdict == "good"
    # a real fault elsewhere still makes the set "faults"
    v = J.clip_verdict(result, [SimpleNamespace(faults=("squatting",)), SimpleNamespace(faults=())],
                       [_judgement(view, True), _judgement(view, False, unconfirmed=True)], [])
    assert v.verdict == "faults"


def _frames(bend, n=21, bottom=10):
    """One rep's frames whose back reads ``bend`` at and around the bottom (hips at 90 deg
    there, standing at the ends), the trunk well past the shins (not a squat)."""
    from hingecoach.pose.back_shape import BackShape

    t = [i / 30 for i in range(n)]
    hip = [90.0 - 4 * abs(i - bottom) for i in range(n)]
    shape = BackShape(0.05, 0.0, bend, 1.0, 120.0, np.empty((0, 2)))
    return J.RepFrames(t, [shape] * n, hip, [h * 0.7 for h in hip], [15.0] * n, bottom)


@pytest.mark.parametrize("rule", ["shape", "bow"])
def test_the_at_angle_rule_is_the_one_the_reps_are_judged_by(rule):
    oblique = V.classify_view([0.5], turns=[0.5], nose_depths=[-0.5])
    side = V.classify_view([0.1])
    # a rounded reading at an angle: no verdict, unconfirmed, whatever the rule (the bow
    # flags it too here)
    why = {}
    rounded, squatting, numbers = J.back_verdicts(_frames(+12.0), oblique, True, None, why, rule)
    assert rounded is None and numbers["rounding"]["unconfirmed"] is True and "lumbar_rounding" in why
    assert squatting is False  # the squat rule reads both ways at an angle
    # a clear hollow at an angle: judged not rounded
    rounded, _, numbers = J.back_verdicts(_frames(-15.0), oblique, False, None, {}, rule)
    assert rounded is False
    # the same rounded reading from the side is a verdict
    rounded, _, _ = J.back_verdicts(_frames(+12.0), side, True, None, {}, rule)
    assert rounded is True
    # seen from behind: nothing is read
    behind = V.classify_view([0.5], turns=[-0.5], nose_depths=[0.5])
    why = {}
    assert J.back_verdicts(_frames(+12.0), behind, True, None, why, rule) == (None, None, {}) and not why


def test_the_gaze_must_be_held_to_count():
    from hingecoach.core.timeseries import TimeSeries

    t = np.arange(0.0, 2.0, 1 / 30)
    trunk = np.full(t.size, 60.0)

    def peak(lift_frames, gap=False):
        neck = np.full(t.size, -50.0)  # gaze 10 deg below level... (gaze = -neck - trunk)
        neck[30:30 + lift_frames] = -95.0  # ... lifted to 35 deg above level
        tt = t.copy()
        if gap:  # frames without a pose inside the lift: the times jump
            tt[33:] += 0.5
        a = TimeSeries(tt, {"neck_flexion_deg": neck, "trunk_inclination_deg": trunk})
        return J.gaze_up_deg(a, SimpleNamespace(start_i=0, end_i=t.size - 1, bottom_i=30))

    assert peak(1) == pytest.approx(-10.0)  # one frame: face-landmark jitter, not a look
    assert peak(7) == pytest.approx(35.0)  # 0.2 s: held
    assert peak(7, gap=True) == pytest.approx(-10.0)  # a gap inside: not held


def test_a_rep_not_judged_is_explained_once_and_in_short_in_the_table():
    view = V.classify_view([0.5], turns=[0.5], nose_depths=[-0.5])
    why = "the back's outline reads rounded (...): film from the side"
    j = J.RepJudgement("full", view, False, why, {"lumbar_rounding": why, "too_fast": "not timed"}, NAN,
                       {"rounding": {"unconfirmed": True}})
    frames = [SimpleNamespace(xy=np.zeros((33, 2)), hip=0.0, trunk=0.0, side_ratio=0.5, turn=0.5,
                              nose_depth=-0.5)] * 3
    result = SimpleNamespace(frames=frames, reference_source="upright frames")
    v = J.clip_verdict(result, [SimpleNamespace(faults=())], [j], [])
    assert sum(why in r for r in v.reasons) == 1 and "not possible: too_fast: not timed" in v.reasons
    assert j.short_reason() == "reads rounded at an angle, unconfirmed"
    behind = V.classify_view([0.5], turns=[-0.5], nose_depths=[0.5])
    assert J.RepJudgement("full", behind, False, "x").short_reason() == "oblique view"


def test_the_people_check_runs_every_half_second_of_video():
    pytest.importorskip("mediapipe")
    from hingecoach.pose.estimator import BlazePose

    pose = BlazePose(people_check_every=15)
    try:
        assert pose._every == 15
        pose.set_frame_rate(60.0)
        assert pose._every == 30  # not twice as often for the same movement
        pose.set_frame_rate(24.0)
        assert pose._every == 12
        pose.set_frame_rate(float("nan"))
        assert pose._every == 12
    finally:
        pose.close()
    off = BlazePose(people_check_every=0)
    try:
        off.set_frame_rate(60.0)
        assert off._every == 0  # a check that is off stays off
    finally:
        off.close()
