"""The camera path live: simulated frames through a fake pose model equal the offline
camera analysis; a real video replayed (decimated to 30 frames/s) stands in for the webcam."""

from __future__ import annotations

import numpy as np
import pytest

from hingecoach.live import LiveSession
from hingecoach.pose.camera import CameraSettings
from live_helpers import assert_same_reps, settings

# the simulator's silhouette has no lumbar hollow for the shape rule: the bow rule judges
SIM_CAMERA = CameraSettings(rounding_rule="bow")


# -- camera -------------------------------------------------------------------------------------
def _keep_camera_angles(monkeypatch):
    """The live session's CameraAngles, kept as they are made (their ``judgements``)."""
    from hingecoach.live.camera import CameraAngles

    cams: list[CameraAngles] = []
    post_init = CameraAngles.__post_init__

    def keep(self):
        post_init(self)
        cams.append(self)

    monkeypatch.setattr(CameraAngles, "__post_init__", keep)
    return cams


def test_camera_frames_live_equal_the_offline_camera_analysis(monkeypatch):
    from hingecoach.analysis import AnalysisSettings, analyze_camera
    from hingecoach.pose.camera import video_angles
    from hingecoach.testing.camera_sim import FramesModel, simulate_frames

    sim = list(simulate_frames(["good", "rounded", "good", "rounded", "squat"], fps=30.0))
    poses = [f for _, _, _, f in sim]
    frames = [(i, t, np.zeros((4, 4, 3), np.uint8)) for i, t, _, _ in sim]
    # Live and offline judge each rep with the same rule; here the dowel's bow rule, as
    # the simulator's silhouette has no lumbar hollow for the shape rule to read (the
    # shape rule live against offline: test_live_rep_verdicts_are_the_offline_ones).
    cam = SIM_CAMERA
    offline = analyze_camera(video_angles(frames, FramesModel(poses), source="sim", settings=cam),
                             AnalysisSettings(camera=cam))
    events: list[dict] = []
    cams = _keep_camera_angles(monkeypatch)
    s = LiveSession("webcam:0", settings(camera=cam), frames=frames, pose_model=FramesModel(poses),
                    on_event=events.append).run()
    # each rep judged as analyze judged it, by the same function (judgement.back_verdicts)
    live_judged = [j for _, j in cams[0].judgements]
    assert [(j.judged, j.view.view) for j in live_judged] == \
        [(j.judged, j.view.view) for j in offline.camera_verdict.reps]
    assert all(j.judged for j in live_judged)
    assert s.placement == "camera"
    assert_same_reps(offline.reps, s.reps, tol_s=1e-6)
    assert s.thresholds.lumbar_rounding_deg == pytest.approx(offline.thresholds.lumbar_rounding_deg)
    rounded = [m for m in offline.reps if "lumbar_rounding" in m.faults]
    assert len(rounded) == 2
    lumbar = [c for c in s.cues if c.fault == "lumbar_rounding"]
    assert len(lumbar) == 2 and all(any(m.start_s <= c.sample_time_s <= m.end_s for m in rounded)
                                    for c in lumbar)
    ang = next(e for e in events if e["type"] == "angles")
    assert {"hip_flexion_deg", "knee_flexion_deg", "lumbar_flexion_deg"} <= set(ang)


@pytest.mark.realdata
@pytest.mark.camera
@pytest.mark.parametrize(("clip", "expect"), [("0016r_1.mp4", "rounded"), ("0016c_1.mp4", "none"),
                                              ("0016a_1.mp4", "few"), ("0016h_1.mp4", "few")])
def test_video_replayed_stands_in_for_the_webcam(shared_data, clip, expect):
    """A 60 frames/s clip through the live camera, replayed as fast as it goes (the
    same frames on every run, however loaded the machine): every 2nd frame is decimated
    on purpose, as a 60 fps webcam's would be, none is dropped, and the reps, their
    verdicts and the cues come. Each rep is judged as ``analyze`` judges it (the back
    outline's shape), so the shared clips' numbers hold live too (r: lumbar_rounding on
    at least 8 of 10 reps; c, a, h: at most 2; tests/test_camera_realdata.py). Real time
    (30 and 60 fps handed over, drops, cue latency) is benchmarks/live_camera.py's."""
    path = shared_data / "video" / "deadlift-side-and-oblique" / clip
    s = LiveSession(f"replay:{path}", settings()).run()
    from hingecoach.sources.video import probe_video

    frames = s.stats["frames"]
    # every frame of the clip was handed over, and either processed or decimated
    assert frames["handed"] == probe_video(path).frames
    assert frames["dropped_behind"] == 0
    assert frames["frames"] + frames["decimated"] == frames["handed"]
    assert frames["decimated"] == (frames["handed"] - 4) // 2  # 60 fps -> 30 once the rate is known
    assert frames["used"] == frames["frames"] - frames["no_person"] - frames["partial"] - frames["crowded"]
    assert len(s.reps) == 10  # as analyze finds on every frame
    lumbar = [c for c in s.cues if c.fault == "lumbar_rounding"]
    rounded = [m for m in s.reps if "lumbar_rounding" in m.faults]
    cued = [m for m in s.reps if any(m.start_s <= c.sample_time_s <= m.end_s for c in lumbar)]
    assert all(sum(m.start_s <= c.sample_time_s <= m.end_s for c in lumbar) <= 1 for m in s.reps)
    if expect == "rounded":
        assert len(rounded) >= 8
        # the cue comes from the bow as the back bends, before the rep's verdict: a rep
        # barely over the line may be missed at 30 frames/s
        assert len(cued) >= 8
    elif expect == "none":
        assert lumbar == [] and rounded == []
    else:
        assert len(rounded) <= 2 and len(cued) <= 2


def test_webcam_frames_through_iter_webcam_with_a_fake_capture():
    from hingecoach.sources.video import iter_webcam
    from hingecoach.testing.camera_sim import FramesModel, simulate_frames

    sim = list(simulate_frames(["good", "rounded"], fps=30.0))

    class FakeCapture:
        def __init__(self, index):
            self.k = 0

        def isOpened(self):  # OpenCV's name
            return True

        def read(self):
            if self.k >= len(sim):
                return False, None
            self.k += 1
            return True, np.zeros((4, 4, 3), np.uint8)

        def release(self):
            pass

    ticks = iter(np.arange(0, 100, 1 / 30.0))
    frames = iter_webcam(0, opener=FakeCapture, clock=lambda: float(next(ticks)))
    s = LiveSession("webcam:0", settings(camera=SIM_CAMERA), frames=frames,
                    pose_model=FramesModel([f for *_, f in sim])).run()
    assert [m.faults for m in s.reps] == [(), ("lumbar_rounding",)]
    assert [c.fault for c in s.cues] == ["lumbar_rounding"]


class _PackedPoses:
    """A PoseModel that replays poses kept with their masks as compressed 0-255 bytes (a
    clip's full-frame masks would not fit in memory as floats)."""

    def __init__(self, packed):
        self.packed, self.i = packed, 0

    @staticmethod
    def pack(pose):
        import zlib
        from dataclasses import replace

        if pose is None or pose.mask is None:
            return pose, None
        u = np.round(np.clip(pose.mask, 0.0, 1.0) * 255).astype(np.uint8)
        return replace(pose, mask=None), (u.shape, zlib.compress(u.tobytes(), 1))

    def process(self, rgb):
        import zlib
        from dataclasses import replace

        pose, mask = self.packed[self.i]
        self.i += 1
        if mask is None:
            return pose
        return replace(pose, mask=np.frombuffer(zlib.decompress(mask[1]), np.uint8).reshape(mask[0]))

    def close(self):
        pass


@pytest.mark.realdata
@pytest.mark.camera
@pytest.mark.parametrize("clip", ["deadlift-side-and-oblique/0016r_1.mp4",  # side, rounded
                                  "deadlift-side-and-oblique/0016c_2.mp4",  # near-side, back too small
                                  "deadlift-side-and-oblique/0016k_2.mp4",  # near-side, squatting
                                  "wild/kbdeadlift_oblique_kbtrainer_2.mp4"])  # oblique, toward the camera
def test_a_replayed_clip_live_judges_each_rep_as_analyze(shared_data, monkeypatch, clip):
    """A clip through the live camera (BlazePose, decimated to 30 frames/s as a webcam
    would be), and ``analyze``'s camera path over the very poses the live path saw: every
    rep is judged or not judged alike, for the same reason, with the same lumbar_rounding
    and squatting (``judgement.back_verdicts``, one function for both; the view, its turn
    and the rule at an angle included). The live reference and views are those of the
    frames so far, offline of the whole clip: on these clips they agree. (Live, the
    lowering of a rep that the clip starts at the bottom of is still timed, and a first
    lift filmed from part-way up is counted.)"""
    from hingecoach.analysis import AnalysisSettings, analyze_camera
    from hingecoach.pose.camera import video_angles
    from hingecoach.pose.estimator import BlazePose
    from hingecoach.sources.video import VideoReader

    path = shared_data / "video" / clip
    cams = _keep_camera_angles(monkeypatch)
    handed: list[tuple[int, float]] = []
    seen: list[tuple[tuple[int, float], object]] = []
    model = BlazePose(model=settings().camera.pose_model, people_check_every=0)

    class Recorder:  # the frame being processed is the last one handed (read on this thread)
        def process(self, rgb):
            pose = model.process(rgb)
            seen.append((handed[-1], _PackedPoses.pack(pose)))
            return pose

        def close(self):
            model.close()

    def frames():
        for i, t, rgb in VideoReader(path):
            handed.append((i, t))
            yield i, t, rgb

    live = LiveSession(f"replay:{path}", settings(), frames=frames(), pose_model=Recorder()).run()
    cam = settings().camera
    kept = [(i, t, np.zeros((4, 4, 3), np.uint8)) for (i, t), _ in seen]
    offline = analyze_camera(video_angles(kept, _PackedPoses([p for _, p in seen]), source=str(path),
                                          settings=cam), AnalysisSettings(camera=cam))
    judged_live = dict(cams[0].judgements)
    # live cannot know that later lifts go deeper: a first lift filmed from part-way up is a
    # rep live, offline a partial one (starts_mid_lift), judged all the same
    v = offline.camera_verdict
    started_up = [(m, j) for m, j in zip(offline.incomplete, v.partial, strict=True) if j.kind == "starts_mid_lift"]
    pairs = sorted([*zip(offline.reps, v.reps, strict=True), *started_up], key=lambda mj: mj[0].start_s)
    assert len(live.reps) == len(pairs) >= 6
    back = ("lumbar_rounding", "squatting")
    for (m, j), n in zip(pairs, live.reps, strict=True):
        assert n.start_s == pytest.approx(m.start_s, abs=1e-6)
        lj = judged_live[n.start_s]
        assert (lj.judged, lj.not_judged_because is None) == (j.judged, j.not_judged_because is None), m.index
        assert lj.view.view == j.view.view and lj.view.turned == j.view.turned, m.index
        assert [f for f in n.faults if f in back] == [f for f in m.faults if f in back], m.index
        if j.kind == "full":  # the other rules too (a lift filmed from the bottom is not timed offline)
            assert n.faults == m.faults, m.index
        if j.judged:
            continue
        # a rep not judged keeps no side-view fault, live as offline
        assert not set(n.faults) & {"lumbar_rounding", "squatting", "neck_craning", "top_overextension"}
