"""The camera's verdicts: view classes, rep kinds, judged / not judged, the clip verdict,
and the camera's neck and timing rules, on simulated frames."""

from dataclasses import replace

import numpy as np
import pytest

from hingecoach.analysis import AnalysisSettings, analyze_camera
from hingecoach.pose.camera import video_angles
from hingecoach.pose.view import classify_view

pytestmark = pytest.mark.camera


def _analyse(frames, poses=None, settings=None):
    from hingecoach.testing.camera_sim import FramesModel

    poses = poses if poses is not None else [f for *_, f in frames]
    r = video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames), FramesModel(poses),
                     source="sim.mp4")
    # the simulator's silhouette has no lumbar hollow: the bow rule judges its backs
    st = settings or AnalysisSettings()
    return analyze_camera(r, replace(st, camera=replace(st.camera, rounding_rule="bow")))


def _sim(patterns, **kw):
    pytest.importorskip("cv2")
    from hingecoach.testing.camera_sim import simulate_frames

    return list(simulate_frames(patterns, **kw))


def test_view_classes_from_the_side_ratio():
    assert classify_view([0.1, 0.2, 0.15]).view == "side"
    assert classify_view([0.37, 0.39]).view == "near-side"
    assert classify_view([0.45, 0.5]).view == "oblique"
    assert classify_view([0.8, 0.9]).view == "front/back"
    v = classify_view([0.1, 0.2, 0.9, float("inf")])
    assert v.side_ratio == pytest.approx(0.2) and v.side_frames_share == pytest.approx(2 / 3)


def test_a_view_from_behind_is_never_near_side():
    # beyond the side limit, the turn's direction decides: toward the camera is near-side,
    # away (the back to the camera: left/right order reversed, the nose behind the ears) not
    toward = classify_view([0.38, 0.40], turns=[0.37, 0.39], nose_depths=[-0.4, -0.3])
    assert toward.view == "near-side" and toward.turned == "toward" and toward.judgeable
    away = classify_view([0.38, 0.40], turns=[-0.37, -0.39], nose_depths=[0.3, 0.4])
    assert away.view == "oblique" and away.turned == "away" and not away.judgeable
    assert "from behind" in away.reason()
    # the cues disagree: not near-side either
    assert classify_view([0.38], turns=[0.38], nose_depths=[0.3]).view == "oblique"
    # within the side limit the direction does not matter (it is noise around 0 there)
    assert classify_view([0.1, 0.12], turns=[-0.1, -0.12], nose_depths=[0.05, 0.05]).view == "side"
    j = away.to_json()
    assert j["turned"] == "away" and j["turn"] == pytest.approx(-0.38) and j["nose_depth"] == pytest.approx(0.35)


def test_looking_up_in_the_bend_is_neck_craning(monkeypatch):
    from hingecoach.testing import camera_sim

    # the head extended 100 deg against a trunk tipped 76 deg: the gaze 24 deg above level
    monkeypatch.setitem(camera_sim.PATTERNS, "looking_up",
                        camera_sim.CameraPose(65.0, 8.0, 3.0, 20.0, -100.0))
    a = _analyse(_sim(["good", "looking_up"]))
    assert [m.faults for m in a.reps] == [(), ("neck_craning",)]
    g = [j.gaze_up_deg for j in a.camera_verdict.reps]
    assert g[0] < 0 < 20 < g[1] < 30


def test_a_clip_that_starts_at_the_bottom_gives_its_lift_as_a_rep():
    frames = _sim(["good", "good"])
    start = next(i for i, (_, _, p, _) in enumerate(frames) if p.pelvis_deg > 60)  # the first bottom
    a = _analyse([(i - start, t - frames[start][1], p, f) for i, t, p, f in frames[start:]])
    assert len(a.reps) == 2 and not a.incomplete
    kinds = [j.kind for j in a.camera_verdict.reps]
    assert kinds == ["from_bottom", "full"]
    # the lift ends where the person is back up, at the same level as the next, full rep
    # (the standing level it rises to; there is no standing before it)
    rise = [r.end_s - r.bottom_s for r in a.reps]
    assert rise[0] == pytest.approx(rise[1], abs=0.1)
    # the lowering of the first lift was not filmed: not timed
    assert np.isnan(a.reps[0].descent_s) and "too_fast" in a.camera_verdict.reps[0].not_possible
    # the upright zero is the longest still upright moment, not the (bent) start
    t0, t1 = a.info["calibration_window_s"]
    assert t0 > 0.5 and t1 - t0 >= 0.3


def test_a_clip_that_ends_mid_rep_names_the_partial_rep():
    frames = _sim(["good", "good"])
    end = next(i for i, (_, t, p, _) in enumerate(frames) if t > 6.0 and p.pelvis_deg > 60)
    a = _analyse(frames[:end])
    assert len(a.reps) == 1 and len(a.incomplete) == 1
    d = a.to_json()
    assert next(iter(d)) == "verdict" and d["verdict"]["partial_reps"] == 1
    assert d["incomplete_reps"][0]["kind"] == "partial"


def test_a_front_view_is_not_judged_and_says_how_to_film():
    frames = _sim(["rounded", "squat"])
    poses = []
    for *_, f in frames:
        xy = f.xy.copy()
        xy[[12, 24]] += (150.0, 0.0)  # right shoulder and hip well apart: facing the camera
        poses.append(replace(f, xy=xy))
    a = _analyse(frames, poses)
    d = a.to_json()
    assert d["verdict"]["clip"] == "cannot_judge" and d["verdict"]["view"]["view"] in ("oblique", "front/back")
    assert all(r["judged"] is False and "film from the side, at hip height" in r["not_judged_because"]
               for r in d["reps"])
    assert not any(set(m.faults) & {"lumbar_rounding", "squatting"} for m in a.reps)
    assert any("film from the side" in x for x in d["verdict"]["reasons"])


def test_without_the_ankles_squatting_is_not_possible_but_the_back_is_judged():
    frames = _sim(["rounded", "squat", "good"])
    poses = []
    for *_, f in frames:
        xy = f.xy.copy()
        xy[[27, 28], 1] = f.height + 80  # shins behind the plates / below the image
        poses.append(replace(f, xy=xy))
    a = _analyse(frames, poses)
    d = a.to_json()
    assert [m.faults for m in a.reps] == [("lumbar_rounding",), (), ()]
    assert all(r["judged"] for r in d["reps"])
    assert all("ankles" in r["not_possible"]["squatting"] for r in d["reps"])
    assert d["verdict"]["clip"] == "faults"


def test_deadlift_lowering_is_not_timed():
    frames = _sim(["good"], down_s=0.5)
    hinge = _analyse(frames)
    assert hinge.reps[0].faults == ("too_fast",)
    dl = _analyse(frames, settings=AnalysisSettings(exercise="deadlift"))
    assert dl.reps[0].faults == () and "too_fast" in dl.camera_verdict.reps[0].not_possible


def test_an_upside_down_picture_is_not_judged():
    frames = _sim(["rounded", "good"])
    poses = []
    for *_, f in frames:
        xy = f.xy.copy()
        xy[:, 1] = f.height - xy[:, 1]  # upside down (the file's rotation lost)
        poses.append(replace(f, xy=xy, mask=None if f.mask is None else f.mask[::-1].copy()))
    d = _analyse(frames, poses).to_json()
    assert d["verdict"]["clip"] == "cannot_judge" and len(d["reps"]) == 2
    assert all(not r["judged"] and "upside down" in r["not_judged_because"] for r in d["reps"])
    assert not any(set(r["faults"]) & {"lumbar_rounding", "squatting"} for r in d["reps"])


def test_a_reference_clip_is_what_the_rounding_rule_compares_against():
    from hingecoach.pose.judgement import clip_back_reference
    from hingecoach.testing.camera_sim import CameraPose, FramesModel, render

    frames = _sim(["good", "rounded"])
    zeros = np.zeros((2, 2, 3), np.uint8)
    clip = video_angles(((i, t, zeros) for i, t, *_ in frames), FramesModel([f for *_, f in frames]),
                        source="sim.mp4")
    # the reference clip: the person standing tall with their back a little rounded
    slumped = CameraPose(0.0, 15.0, 15.0, 0.0, 0.0)
    ref_clip = video_angles(((i, i / 30, zeros) for i in range(30)), FramesModel([render(slumped)] * 30),
                            source="ref.mp4")
    ref = clip_back_reference(ref_clip, source="reference clip ref.mp4")
    own = analyze_camera(clip).to_json()
    with_ref = analyze_camera(clip, reference=ref).to_json()
    own_ref = own["verdict"]["back_reference"]
    assert own_ref["source"] == "upright frames in the clip" and own_ref["frames"] > 100
    assert with_ref["verdict"]["back_reference"] == {
        "source": "reference clip ref.mp4", "frames": 30, "bend_deg": round(ref.bend_deg, 3),
        "bow": round(ref.bow, 3), "hump": round(ref.hump, 3)}
    # the slumped standing back bends more than the clip's own upright frames: the rule's
    # threshold is the reference's bend, not the clip's
    assert ref.bend_deg > own_ref["bend_deg"] + 10
    for rep_own, rep_ref in zip(own["reps"], with_ref["reps"], strict=True):
        assert rep_own["rounding"]["threshold"] == pytest.approx(own_ref["bend_deg"], abs=1e-3)
        assert rep_ref["rounding"]["threshold"] == pytest.approx(ref.bend_deg, abs=1e-3)
        assert rep_ref["rounding"]["score"] == rep_own["rounding"]["score"]


def _shifted(f, dx):
    """The same pose ``dx`` px to the right (landmarks and mask): another person, or the
    lifter after a cut."""
    xy = f.xy.copy()
    xy[:, 0] += dx
    mask = np.roll(f.mask, int(dx), axis=1) if f.mask is not None else None
    return replace(f, xy=xy, mask=mask)


def test_a_pose_that_jumps_between_people_is_refused_with_one_line():
    from hingecoach.core.errors import InputError
    from hingecoach.testing.camera_sim import FramesModel

    frames = _sim(["good", "good"], width=900)
    # the pose model alternates between the lifter and someone 300 px away every second
    poses = [_shifted(f, 300.0 * ((i // 30) % 2)) for i, _, _, f in frames]
    with pytest.raises(InputError) as e:
        video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames), FramesModel(poses),
                     source="sim.mp4")
    msg = str(e.value)
    assert "\n" not in msg and "one person followed" in msg and "jumping between places" in msg


def test_one_cut_is_a_warning_and_the_clip_is_analysed():
    frames = _sim(["good", "good"], width=900)
    cut = len(frames) // 2
    poses = [_shifted(f, 300.0 if i >= cut else 0.0) for i, _, _, f in frames]
    a = _analyse(frames, poses)
    assert any("the pose jumped 1 time(s)" in w for w in a.warnings)
    assert len(a.reps) == 2


def test_a_clip_that_starts_part_way_up_names_its_first_lift_partial():
    frames = _sim(["good", "good", "good"])
    bottom = max(range(len(frames) // 3), key=lambda i: frames[i][2].pelvis_deg)
    # from the first bottom on, the first frame where the pelvis has risen to 45 of its 65 deg
    start = next(i for i in range(bottom, len(frames)) if frames[i][2].pelvis_deg < 45)
    a = _analyse([(i - start, t - frames[start][1], p, f) for i, t, p, f in frames[start:]])
    assert len(a.reps) == 2 and [m.index for m in a.reps] == [1, 2]
    d = a.to_json()
    assert [r["kind"] for r in d["incomplete_reps"]] == ["starts_mid_lift"]
    assert d["verdict"]["partial_reps"] == 1 and d["verdict"]["reps"] == 2
    # started at the very bottom instead: the lift is a rep (from_bottom), as before
    a = _analyse([(i - bottom, t - frames[bottom][1], p, f) for i, t, p, f in frames[bottom:]])
    assert len(a.reps) == 3 and a.camera_verdict.reps[0].kind == "from_bottom"


def test_a_pose_that_leaves_the_lifter_for_a_moment_and_comes_back_is_not_refused():
    frames = _sim(["good", "good"], width=900)
    n = len(frames)
    # two one-frame glitches to a place 300 px away, a third and two thirds into the clip
    glitch = {n // 3, 2 * n // 3}
    poses = [_shifted(f, 300.0 if i in glitch else 0.0) for i, _, _, f in frames]
    a = _analyse(frames, poses)
    assert len(a.reps) == 2
    assert any("the pose jumped 4 time(s)" in w for w in a.warnings)


def test_a_cut_in_a_slow_video_is_still_seen():
    # 8 frames/s: the frames are 0.125 s apart, more than the 0.1 s step of a fast video
    frames = _sim(["good", "good"], width=900, fps=8.0)
    cut = len(frames) // 2
    poses = [_shifted(f, 300.0 if i >= cut else 0.0) for i, _, _, f in frames]
    a = _analyse(frames, poses)
    assert any("the pose jumped 1 time(s)" in w for w in a.warnings)
