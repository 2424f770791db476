"""The whole offline pipeline: recording -> angles -> reps -> faults.

This is the library's entry point for an analysis; the CLI and (later) the web app are
thin shells over it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hingecoach import __version__
from hingecoach.angles import ANGLE_NAMES, TWIST_NAME, AngleModel, AngleSettings, compute_angles
from hingecoach.core.angle_defs import CAMERA_CHANNELS
from hingecoach.core.notices import texts
from hingecoach.core.numbers import round_or_none
from hingecoach.core.recording import CameraInfo, RecordingInfo
from hingecoach.core.stills import RepStill
from hingecoach.core.timeseries import TimeSeries
from hingecoach.core.vocabulary import (
    CAMERA,
    DEFAULT_EXERCISE,
    DEFAULT_PLACEMENT,
    VIDEO_FORMAT,
    WEBCAM_FORMAT,
    InputFormat,
    fusion_name,
    normalise_placement,
)
from hingecoach.faults import (
    MAX_FLEXION_SHARE,
    MESSAGES,
    TOO_FAST_S,
    RepMetrics,
    Thresholds,
    evaluate,
    rep_metrics,
    thresholds_for,
)
from hingecoach.pose.camera import CameraResult, CameraSettings, video_angles
from hingecoach.pose.dowel import rounding_threshold_deg
from hingecoach.pose.estimator import PoseModel
from hingecoach.pose.judgement import CAMERA_TOO_FAST_S, ClipVerdict, clip_back_reference, clip_verdict, judge_reps
from hingecoach.pose.verdict import PARTIAL_START_DEG, BackReference
from hingecoach.reps import RepSettings, detect_reps, partial_first_lift
from hingecoach.sources.detect import detect_format, read_recording
from hingecoach.sources.video import VideoReader, iter_webcam, parse_webcam, read_ahead

DISCLAIMER = ("hingecoach gives exercise guidance, not a diagnosis. If back pain persists, or "
              "you notice numbness, weakness or bladder or bowel changes, see a doctor or "
              "physical therapist.")
MIN_MAX_FLEXION_TRUNK_DEG = 45.0  # a calibration bend must tip the trunk this far to count


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything an offline analysis can be told; the defaults are the documented ones."""

    placement: str | None = None  # None: what the reader recorded
    exercise: str = DEFAULT_EXERCISE  # hinge, deadlift or swing (swing: too_fast is off)
    share_of_max: float = MAX_FLEXION_SHARE
    lumbar_rounding_deg: float | None = None  # a clinician's fixed threshold
    too_fast_s: float | None = TOO_FAST_S
    angles: AngleSettings = field(default_factory=AngleSettings)
    reps: RepSettings = field(default_factory=RepSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)


@dataclass
class Analysis:
    """The result: angle channels (deg), complete and incomplete reps with their faults, the
    thresholds used, the calibrated maximum flexion (deg), warnings (text) and the
    recording's facts (``info``: ``RecordingInfo.to_json()``)."""

    angles: TimeSeries
    reps: list[RepMetrics]
    incomplete: list[RepMetrics]
    thresholds: Thresholds
    max_flexion_deg: float | None
    warnings: list[str]
    info: dict[str, Any]
    camera: CameraResult | None = None  # the per-frame measures of a video (for the overlay)
    camera_verdict: ClipVerdict | None = None  # the clip's verdict and each rep's judgement
    stills: list[RepStill] = field(default_factory=list)  # a video's rep stills (hingecoach.stills)

    def to_json(self) -> dict[str, Any]:
        """The ``hingecoach analyze --json`` document (NaN as null, times and angles to 3
        decimals)."""
        keys = ("index", "start_s", "bottom_s", "end_s", "peak_lumbar_flexion_deg",
                "peak_pelvis_tilt_deg", "peak_trunk_inclination_deg", "lumbar_share",
                "top_extension_deg", "descent_s", "knee_hip_ratio", "peak_neck_extension_deg")

        twist = self.angles.data.get(TWIST_NAME)

        def rep(m: RepMetrics) -> dict[str, Any]:
            d: dict[str, Any] = {k: round_or_none(getattr(m, k), 3) for k in keys}
            d["index"] = m.index
            if twist is not None:  # 9-axis: the largest twist during the rep, with its sign
                i0, i1 = np.searchsorted(self.angles.time_s, [m.start_s, m.end_s])
                seg = twist[i0:max(i1 + 1, i0 + 1)]
                d[f"peak_{TWIST_NAME}"] = round_or_none(float(seg[np.argmax(np.abs(seg))]) if seg.size else None, 3)
            d["faults"] = list(m.faults)
            return d

        th = self.thresholds
        out = {
            "reps": [rep(m) for m in self.reps],
            "incomplete_reps": [rep(m) for m in self.incomplete],
            "summary": {
                "reps": len(self.reps),
                "faulty_reps": sum(1 for m in self.reps if m.faults),
                "fault_counts": {f: sum(f in m.faults for m in self.reps) for f in MESSAGES
                                 if any(f in m.faults for m in self.reps)},
                "peak_lumbar_flexion_deg": round_or_none(max((m.peak_lumbar_flexion_deg for m in self.reps),
                                                             default=float("nan")), 3),
            },
            "thresholds": {
                "lumbar_rounding_deg": round(th.lumbar_rounding_deg, 2),
                "lumbar_rounding_source": th.lumbar_rounding_source,
                "top_overextension_deg": th.top_overextension_deg,
                "too_fast_s": th.too_fast_s,
                "shallow_hinge_share": th.shallow_share,
                "squat_knee_hip_ratio": th.squat_knee_hip_ratio,
                "neck_extension_deg": th.neck_extension_deg,
                "max_flexion_deg": round_or_none(self.max_flexion_deg, 3),
            },
            "messages": {f: MESSAGES[f] for m in self.reps for f in m.faults},
            "recording": self.info,
            "warnings": self.warnings,
            "disclaimer": DISCLAIMER,
            "version": __version__,
        }
        return self.camera_verdict.apply_to_json(out) if self.camera_verdict is not None else out


def max_flexion_deg(cal_angles: TimeSeries, settings: RepSettings | None = None) -> float | None:
    """The person's maximum lumbar flexion: the largest peak over the calibration's
    complete bends that tip the trunk at least 45 deg (a real forward bend)."""
    reps = [r for r in detect_reps(cal_angles, settings) if r.complete]
    lum = cal_angles["lumbar_flexion_deg"]
    tr = cal_angles["trunk_inclination_deg"]
    peaks = [float(np.max(lum[r.start_i:r.end_i + 1])) for r in reps
             if tr[r.bottom_i] >= MIN_MAX_FLEXION_TRUNK_DEG]
    return max(peaks) if peaks else None


def analyze_recording(rec: TimeSeries, calibration: TimeSeries | None = None,
                      settings: AnalysisSettings | None = None) -> Analysis:
    """A two-IMU recording -> angles, reps and faults. ``calibration`` is an optional
    separate recording (standing still, ideally with maximal forward bends) that gives
    the zero, the flexion axes and the person's maximum flexion."""
    st = settings or AnalysisSettings()
    if st.placement is not None:
        rec = rec.with_meta(placement=normalise_placement(st.placement))
        if calibration is not None:
            calibration = calibration.with_meta(placement=rec.meta["placement"])
    placement = str(rec.meta.get("placement", DEFAULT_PLACEMENT))
    warnings = list(rec.meta.get("warnings", []))
    if calibration is not None:
        warnings += list(calibration.meta.get("warnings", []))
    angles, model, cal_angles = compute_angles(rec, calibration, st.angles)
    warnings += texts(model.notices)
    maxflex = None
    if cal_angles is not None:
        maxflex = max_flexion_deg(cal_angles, st.reps)
        if maxflex is None:
            warnings.append(f"{calibration.meta.get('source') if calibration else ''}: no forward "
                            "bend in the calibration: using the default lumbar_rounding threshold")
    thresholds = thresholds_for(placement, st, max_flexion_deg=maxflex)
    reps = detect_reps(angles, st.reps)
    metrics = evaluate(rep_metrics(angles, reps, rep_channel=st.reps.for_placement(placement).channel),
                       thresholds)
    info = _imu_info(rec, placement, model, st)
    return Analysis(angles, [m for m in metrics if m.complete],
                    [m for m in metrics if not m.complete], thresholds, maxflex, warnings, info.to_json())


def _imu_info(rec: TimeSeries, placement: str, model: AngleModel, st: AnalysisSettings) -> RecordingInfo:
    """The recording's facts for an IMU analysis."""
    return RecordingInfo(
        source=str(rec.meta.get("source", "")), format=rec.meta.get("format"), placement=placement,
        samples=len(rec), duration_s=rec.duration_s, sample_rate_hz=rec.sample_rate_hz,
        calibration_window_s=model.window_s, calibration_source=model.source, exercise=st.exercise,
        fusion=fusion_name(st.angles.fusion.magnetometer), notes=tuple(rec.meta.get("notes", [])))


def camera_thresholds(th: Thresholds) -> Thresholds:
    """``th`` with the camera's own timing and neck rules (pose.judgement), as both
    ``analyze`` and the live camera apply them: no neck_extension threshold, and too_fast
    at the camera's own limit unless it was set by hand."""
    return replace(th, neck_extension_deg=None,
                   too_fast_s=CAMERA_TOO_FAST_S if th.too_fast_s == TOO_FAST_S else th.too_fast_s)


def analyze_camera(result: CameraResult, settings: AnalysisSettings | None = None,
                   info: dict[str, Any] | None = None, reference: BackReference | None = None) -> Analysis:
    """The camera's angles -> the same reps, fault table and Analysis as the IMU path, with
    each rep's judgement and the clip's verdict (``pose.judgement``). ``reference``: the
    person's standing back from a reference clip (else their upright frames in this one).

    ``info`` adds to the recording's facts: ``format`` (default ``video``) and any other
    key, which goes last (a video file's ``video`` container facts)."""
    st = settings or AnalysisSettings()
    angles = result.angles
    reference = reference or clip_back_reference(result)
    cam_round = rounding_threshold_deg(result.bow_standing) if np.isfinite(result.bow_standing) else None
    thresholds = camera_thresholds(thresholds_for(CAMERA, st, camera_rounding_deg=cam_round))
    rs = st.reps.for_placement(CAMERA)
    reps = partial_first_lift(detect_reps(angles, st.reps), angles[rs.channel], PARTIAL_START_DEG)
    metrics = evaluate(rep_metrics(angles, reps, rep_channel=rs.channel), thresholds)
    ruled, judged = judge_reps(result, reps, metrics, exercise=st.exercise, enter_deg=rs.enter_deg,
                               standing_deg=rs.standing_deg, too_fast_s=thresholds.too_fast_s,
                               rep_channel=rs.channel, rounding_rule=st.camera.rounding_rule,
                               reference=reference)
    metrics = [replace(m, faults=f, descent_s=d) for m, (f, d) in zip(metrics, ruled, strict=True)]
    full = [m for m in metrics if m.complete]
    verdict = clip_verdict(result, full, [j for m, j in zip(metrics, judged, strict=True) if m.complete],
                           [j for m, j in zip(metrics, judged, strict=True) if not m.complete],
                           too_fast_s=thresholds.too_fast_s, back_reference=reference)
    extra = dict(info or {})
    recording = RecordingInfo(
        source=str(angles.meta.get("source", "")), format=extra.pop("format", VIDEO_FORMAT),
        placement=CAMERA, samples=len(angles), duration_s=angles.duration_s,
        sample_rate_hz=angles.sample_rate_hz, calibration_window_s=result.standing_window_s,
        calibration_source=result.reference_source, exercise=st.exercise,
        camera=CameraInfo(frames=result.frames_total, frames_used=result.frames_used,
                          side_facing_camera=result.orientation.side,
                          facing="right" if result.orientation.facing > 0 else "left",
                          first_frame_s=float(angles.time_s[0]), channels=dict(CAMERA_CHANNELS)),
        extra=extra)
    return Analysis(angles, full, [m for m in metrics if not m.complete], thresholds, None,
                    list(result.warnings), recording.to_json(), camera=result, camera_verdict=verdict)


def _pose_model(model: PoseModel | None, st: AnalysisSettings) -> PoseModel:
    """``model``, else the settings' BlazePose model."""
    if model is not None:
        return model
    from hingecoach.pose.estimator import BlazePose

    pose = BlazePose(model=st.camera.pose_model)
    pose.follow_lifter = True  # a file: follow the lifter when others are in view (pose.lifter)
    return pose


def video_back_reference(source: str | Path, settings: AnalysisSettings | None = None, *,
                         model: PoseModel | None = None, progress: Any = None) -> BackReference | None:
    """The person's standing back shape from a reference clip (standing tall, side-on, a
    dowel held in the three-point position), through the same pose pipeline as a lift:
    the median over its upright frames with the back seen; None when it has fewer than 5."""
    st = settings or AnalysisSettings()
    model = _pose_model(model, st)
    try:
        with contextlib.closing(read_ahead(VideoReader(Path(source)))) as frames:
            result = video_angles(frames, model, source=str(source), settings=st.camera, progress=progress)
    finally:
        model.close()
    return clip_back_reference(result, source=f"reference clip {Path(source).name}")


def analyze_video(source: str | Path, settings: AnalysisSettings | None = None, *,
                  model: PoseModel | None = None, progress: Any = None,
                  webcam_max_s: float | None = None, reference: BackReference | None = None) -> Analysis:
    """A video file, or ``webcam:N`` (recorded until Ctrl-C or ``webcam_max_s``);
    ``reference``: the person's standing back from a reference clip (``video_back_reference``)."""
    st = settings or AnalysisSettings()
    model = _pose_model(model, st)
    try:
        index = parse_webcam(str(source))
        if index is not None:
            with _ctrl_c_stops() as stop:
                result = video_angles(iter_webcam(index, max_s=webcam_max_s, stop=stop), model,
                                      source=str(source), settings=st.camera, progress=progress)
            return analyze_camera(result, st, {"format": WEBCAM_FORMAT}, reference)
        reader = VideoReader(Path(source))
        vi = reader.info
        set_rate = getattr(model, "set_frame_rate", None)
        if set_rate is not None:  # the people check every half second of the video
            set_rate(vi.fps)
        with contextlib.closing(read_ahead(reader)) as frames:  # an error or Ctrl-C stops the decoding at once
            result = video_angles(frames, model, source=str(source), settings=st.camera, progress=progress)
        result.warnings[:0] = reader.warnings
        return analyze_camera(result, st, reference=reference, info={
            "video": {"width": vi.width, "height": vi.height, "nominal_fps": round(vi.fps, 3),
                      "declared_frames": vi.frames, "rotation_deg": vi.rotation_deg, "codec": vi.codec},
        })
    finally:
        model.close()


@contextlib.contextmanager
def _ctrl_c_stops() -> Iterator[threading.Event]:
    """While filming from a webcam, the first Ctrl-C ends the recording (what was filmed is
    analysed) instead of throwing it away; a second one interrupts as usual."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def is_camera_source(path: str | Path, fmt: str = InputFormat.auto.value) -> bool:
    """Whether ``path`` is a webcam (``webcam:N``) or, by ``fmt`` or its content, a video."""
    if parse_webcam(str(path)) is not None:
        return True
    return (fmt in (InputFormat.auto, InputFormat.video) and Path(path).exists()
            and detect_format(Path(path)) == VIDEO_FORMAT)


def analyze_file(path: str | Path | None, *, calibration: str | Path | None = None,
                 fmt: str = InputFormat.auto.value, settings: AnalysisSettings | None = None,
                 lower: str | Path | None = None, upper: str | Path | None = None) -> Analysis:
    """Read and analyse a recording or video file, or two sensors' own exports (``lower``,
    ``upper``; then ``path`` may be None). ``fmt``: an INPUT_FORMATS choice, ``auto`` detects
    it; ``calibration`` is an optional separate IMU calibration recording."""
    st = settings or AnalysisSettings()
    if path is not None and is_camera_source(path, fmt):
        return analyze_video(path, st)
    rec = read_recording(path, fmt=fmt, placement=st.placement, lower=lower, upper=upper)
    cal = read_recording(calibration, fmt=InputFormat.auto.value, placement=st.placement) if calibration else None
    return analyze_recording(rec, cal, st)


def write_angles_csv(path: str | Path, angles: TimeSeries) -> None:
    """``time_s`` and every angle channel (IMU: lumbar, pelvis, trunk, and
    ``lumbar_twist_deg`` with 9-axis; camera: its six)."""
    names = [n for n in ANGLE_NAMES if n in angles] + [n for n in angles.channels if n not in ANGLE_NAMES]
    arr = np.column_stack([angles.time_s] + [angles[n] for n in names])
    np.savetxt(path, arr, delimiter=",", fmt="%.4f", header=",".join(["time_s", *names]), comments="")
