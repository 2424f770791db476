"""The camera runner of a live session: frames -> pose -> the camera's angle channels
-> reps, faults and cues, stored as they come.

``run_camera(session, spec)`` is ``LiveSession.run`` for the camera sources
(``webcam:N`` and ``replay:`` of a video). It is part of the session: it reads the
session's settings and uses its event, store and audio plumbing (``_emit``, ``_sink``,
``_finish``, ...), which live in ``live.session``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hingecoach.core.angle_defs import CAMERA_CHANNELS
from hingecoach.core.conventions import PLACEMENTS
from hingecoach.core.errors import InputError
from hingecoach.core.timeseries import ChannelInfo
from hingecoach.faults import default_thresholds
from hingecoach.live.camera import CameraAngles
from hingecoach.live.coach import LiveCoach
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
    frames, name, nominal = _open_frames(session, spec)
    model = session._pose_model
    own_model = model is None
    if model is None:
        from hingecoach.pose.estimator import BlazePose

        model = BlazePose()
    info: dict[str, Any] = {"source": session.source, "format": f"live-{spec.kind}", "placement": "camera",
                            "placement_meaning": PLACEMENTS["camera"], "exercise": a.exercise, "notes": [],
                            "calibration_source": "first standing frames"}
    session._common_start("camera", info, a, store)
    state: dict[str, Any] = {"thresholds": None}

    def on_calibrated(m: dict[str, Any]) -> None:
        cam_round = cam.rounding_threshold_deg
        th = default_thresholds("camera", exercise=a.exercise, too_fast_s=a.too_fast_s,
                                lumbar_rounding_deg=a.lumbar_rounding_deg, camera_rounding_deg=cam_round)
        state["thresholds"] = th
        assert cam.rate_hz is not None
        session._coach = LiveCoach("camera", cam.rate_hz, th, tuple(CAMERA_CHANNELS), session._emit,
                                   on_rep=session._on_rep, on_cue=session._on_cue, rep_settings=a.reps,
                                   cue_settings=st.cues, angles_hz=st.angles_hz, clock=session._clock)
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

    cam = CameraAngles(model, on_angles, on_calibrated, session._emit, st.camera, source=session.source)
    session._emit({"type": "status", "state": "waiting", "source": session.source,
                   "message": f"waiting for frames from {name}"})
    try:
        reason = _frame_loop(session, spec, frames, nominal, cam, state)
    finally:
        if own_model:
            model.close()
    if session._coach is not None:
        session._coach.finish()
    stats = {"frames": cam.counts.as_dict(), "bad_input": dict(session._bad)}
    return session._finish(reason, "camera", state["thresholds"], stats, info)


def _frame_loop(session: LiveSession, spec: SourceSpec, frames: Any, nominal: float | None, cam: CameraAngles,
                state: dict[str, Any]) -> str:
    """Frames into ``cam`` until the run ends; returns why it ended. A replayed video is
    paced at ``speed`` times real time and, like a camera, drops the frames it is late for."""
    st = session.settings
    t_start = session._clock()
    it = iter(frames)
    wall0: float | None = None
    t0: float | None = None
    period = 1.0 / nominal if nominal and nominal > 0 else 0.0
    while True:
        if session._stop.is_set():
            return "stopped"
        if st.max_duration_s is not None and session._clock() - t_start >= st.max_duration_s:
            return "time limit"
        try:
            i, t, rgb = next(it)
        except StopIteration:
            return "source ended"
        now = session._clock()
        if spec.kind == "replay" and st.speed > 0:
            if wall0 is None or t0 is None:
                wall0, t0 = now, t
            due = wall0 + (t - t0) / st.speed
            if now > due + period / st.speed:  # behind real time: as a camera would, drop it
                cam.counts.dropped_behind += 1
                continue
            while due > now and not session._stop.is_set():
                time.sleep(min(due - now, st.poll_s))
                now = session._clock()
        state["arrival"] = now
        cam.add(i, t, rgb)
        session._row_latency.append(session._clock() - now)
        session._drain_audio_warnings()
        session._drain_store_errors()


def _open_frames(session: LiveSession, spec: SourceSpec) -> tuple[Any, str, float | None]:
    """The frames (an iterable of (index, time s, RGB)), the source's name and its nominal frame rate."""
    if session._frames is not None:
        return session._frames, session.source, None
    if spec.kind == "webcam":
        from hingecoach.sources.video import iter_webcam

        return iter_webcam(int(spec.target)), session.source, None
    from hingecoach.sources.video import VideoReader

    if not Path(spec.target).exists():
        raise InputError(spec.target, "an existing video file", "no such file")
    reader = VideoReader(Path(spec.target))
    for w in reader.warnings:
        session._emit({"type": "warning", "kind": "source", "message": w})
    return reader, session.source, reader.info.fps
