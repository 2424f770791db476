"""The camera runner of a live session: frames -> pose -> the camera's angle channels
-> reps, faults and cues, stored as they come.

``run_camera(session, spec)`` is ``LiveSession.run`` for the camera sources
(``webcam:N`` and ``replay:`` of a video). It is part of the session: it reads the
session's settings and uses its event, store and audio plumbing (``_emit``, ``_sink``,
``_finish``, ...), which live in ``live.session``.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hingecoach.analysis import camera_thresholds
from hingecoach.core.angle_defs import CAMERA_CHANNELS
from hingecoach.core.conventions import PLACEMENTS
from hingecoach.core.errors import InputError
from hingecoach.core.timeseries import ChannelInfo
from hingecoach.faults import default_thresholds
from hingecoach.live.camera import CameraAngles
from hingecoach.live.coach import LiveCoach
from hingecoach.live.frames import FeedCounts, FrameFeed, FrameRate, decimated_frames
from hingecoach.live.people import PeopleWatch
from hingecoach.sources.live import SourceSpec
from hingecoach.store.convert import thresholds_json

if TYPE_CHECKING:
    from hingecoach.live.session import LiveSession, LiveSummary

CAMERA_INFO = {k: ChannelInfo("deg", "image sagittal plane", v) for k, v in CAMERA_CHANNELS.items()}


def is_camera_source(spec: SourceSpec) -> bool:
    """A webcam, or a replayed file with a video's suffix."""
    if spec.kind == "webcam":
        return True
    if spec.kind == "replay":
        from hingecoach.sources.detect import VIDEO_SUFFIXES

        return Path(spec.target).suffix.lower() in VIDEO_SUFFIXES
    return False


def run_camera(session: LiveSession, spec: SourceSpec) -> LiveSummary:
    """Run ``session`` on a camera source until it ends, is stopped or times out."""
    st = session.settings
    store = session._open_store()
    a = session._analysis_settings(store, "camera")
    a = replace(a, placement=None)
    state: dict[str, Any] = {"thresholds": None, "feed_stop": threading.Event()}
    frames, name, paced = _open_frames(session, spec, state["feed_stop"])
    model, people = _pose_model(session, in_step=paced is None)
    info: dict[str, Any] = {"source": session.source, "format": f"live-{spec.kind}", "placement": "camera",
                            "placement_meaning": PLACEMENTS["camera"], "exercise": a.exercise, "notes": [],
                            "calibration_source": "first standing frames"}
    session._common_start("camera", info, a, store)

    def on_calibrated(m: dict[str, Any]) -> None:
        cam_round = cam.rounding_threshold_deg
        th = camera_thresholds(default_thresholds("camera", exercise=a.exercise, too_fast_s=a.too_fast_s,
                                                  lumbar_rounding_deg=a.lumbar_rounding_deg,
                                                  camera_rounding_deg=cam_round))
        state["thresholds"] = th
        assert cam.rate_hz is not None
        session._coach = LiveCoach("camera", cam.rate_hz, th, tuple(CAMERA_CHANNELS), session._emit,
                                   on_rep=session._on_rep, on_cue=session._on_cue, rep_settings=a.reps,
                                   cue_settings=st.cues, angles_hz=st.angles_hz, clock=session._clock,
                                   judge_rep=cam.judge_rep)
        info.update(sample_rate_hz=m["sample_rate_hz"], calibration_window_s=m["window_s"])
        session._emit({"type": "status", "state": "calibrated", "threshold_deg": round(th.lumbar_rounding_deg, 2),
                       "threshold_source": th.lumbar_rounding_source, "thresholds": thresholds_json(th),
                       "placement": "camera", "calibration_window_s": m["window_s"],
                       "sample_rate_hz": m["sample_rate_hz"],
                       "message": f"calibrated: a cue sounds when the back bows beyond "
                                  f"{th.lumbar_rounding_deg:.0f} (virtual dowel)"})
        if session._sink is not None:
            session._sink.update(thresholds=th, info=dict(info),
                                 calibration={"window_s": m["window_s"], "source": "live camera",
                                              "bow_standing": m["bow_standing"]})
        session._emit({"type": "status", "state": "running", "message": "running"})

    def on_angles(t: float, vals: dict[str, float]) -> None:
        if session._first_t is None:
            session._first_t = t
        session._last_t = t
        assert session._coach is not None
        if session._sink is not None:
            session._sink.angles(t, vals, CAMERA_INFO)
        session._coach.add(t, vals, None if cam.flushing else state.get("arrival"))

    cam = CameraAngles(model, on_angles, on_calibrated, session._emit, st.camera, source=session.source,
                       people=people)
    session._emit({"type": "status", "state": "waiting", "source": session.source,
                   "message": f"waiting for frames from {name}"})
    try:
        reason = _frame_loop(session, frames, paced, cam, state)
    finally:
        if people is not None:
            people.close()
        if session._pose_model is None:
            model.close()
    if session._coach is not None:
        session._coach.finish()
    stats = {"frames": cam.counts.as_dict(), "bad_input": dict(session._bad)}
    return session._finish(reason, "camera", state["thresholds"], stats, info)


def _pose_model(session: LiveSession, in_step: bool) -> tuple[Any, PeopleWatch | None]:
    """The session's pose model (a test's fake), or BlazePose with the live model
    (``LiveSettings.camera.pose_model``, lite by default) started on a blank frame, and its
    people check on a thread of its own (``in_step``: each answer awaited, for a replay
    as fast as it goes)."""
    if session._pose_model is not None:
        return session._pose_model, None
    from hingecoach.live.people import blazepose_people_watch
    from hingecoach.pose.estimator import BlazePose

    model = BlazePose(model=session.settings.camera.pose_model, people_check_every=0)
    # the first call starts MediaPipe's graph (~0.2 s): not on the first frame's time
    model.process(np.zeros((WARM_UP_PX, WARM_UP_PX, 3), np.uint8))
    return model, blazepose_people_watch(in_step=in_step)


WARM_UP_PX = 64


def _frame_loop(session: LiveSession, frames: Any, paced: float | None, cam: CameraAngles,
                state: dict[str, Any]) -> str:
    """Frames into ``cam`` until the run ends; returns why it ended. ``paced``: the frames
    come in real time (a webcam: 0; a video replayed at that speed), read on a thread of
    their own and dropped when processing falls behind (``live.frames``); None: read
    here, as fast as they are processed (nothing dropped). Either way the frame-rate
    policy decimates."""
    st = session.settings
    t_start = session._clock()
    rate = FrameRate(st.camera_max_fps)
    feed: FrameFeed | None = None
    counts = FeedCounts()
    if paced is not None:
        feed = FrameFeed(frames, rate, speed=paced or None, queue_size=st.frame_queue, clock=session._clock,
                         stop=state["feed_stop"]).start()
        counts = feed.counts
        direct = None
    else:
        direct = decimated_frames(frames, rate, counts, session._clock)
    try:
        while True:
            if session._stop.is_set():
                return "stopped"
            if st.max_duration_s is not None and session._clock() - t_start >= st.max_duration_s:
                return "time limit"
            try:
                item = feed.get(st.poll_s) if feed is not None else next(direct)  # type: ignore[arg-type]
            except StopIteration:
                return "source ended"
            if item is None:
                continue
            i, t, rgb, handed = item
            state["arrival"] = handed
            cam.add(i, t, rgb)
            session._row_latency.append(session._clock() - handed)
            session._drain_audio_warnings()
            session._drain_store_errors()
    finally:
        if feed is not None:
            feed.close()
        cam.counts.handed, cam.counts.decimated = counts.handed, counts.decimated
        cam.counts.dropped_behind = counts.dropped


def _open_frames(session: LiveSession, spec: SourceSpec, stop: threading.Event) -> tuple[Any, str, float | None]:
    """The frames (an iterable of (index, time s, RGB)), the source's name and how they
    are paced: 0 a webcam (its own pace), > 0 replayed at that speed (the session's
    frames too: the benchmark's stand-in camera), None as fast as they go."""
    speed = session.settings.speed
    paced = speed if speed > 0 else None
    if session._frames is not None:
        return session._frames, session.source, paced
    if spec.kind == "webcam":
        from hingecoach.sources.video import iter_webcam

        return iter_webcam(int(spec.target), stop=stop), session.source, 0.0
    from hingecoach.sources.video import VideoReader

    if not Path(spec.target).exists():
        raise InputError(spec.target, "an existing video file", "no such file")
    reader = VideoReader(Path(spec.target))
    for w in reader.warnings:
        session._emit({"type": "warning", "kind": "source", "message": w})
    return reader, session.source, paced
