"""The camera path, live: frames -> pose -> the camera's angle channels, frame by frame.

The same steps as ``pose.camera.video_angles``, in order as frames come: BlazePose
(``PoseModel.process``), the body side and facing from the first 10 frames with a
person, ``CameraMeasurer.measure`` per frame, the zero of the neck and of the back's bow
from the first standing run (hips and trunk upright for 0.3 s, closed by the first frame
that is not; as offline), then the One Euro filter over all channels, restarted after
gaps. Frames before the zero is known are kept and run through once it is.

Each rep is judged by the offline rule itself (``judgement.back_verdicts``, in
``CameraAngles.judge_rep``) on the rep's frames kept as they come; the person's standing
back, their standing trunk length (the scale of the rep's view) and the view of the
clip are those of the frames so far (offline: of the whole clip).

Differences from the offline analysis, all at the edges: a frame where the periodic
people check sees someone else is skipped on its own (offline: the frames nearest such a
check; live, the check runs off the critical path, ``live.people``); with no standing
start in the first 15 s the zero comes from the most upright frames of those 15 s
(offline: of the whole video); a camera faster than 30 frames/s is decimated
(``live.frames``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from hingecoach.core.angle_defs import CAMERA_CHANNELS
from hingecoach.core.pose_types import PoseFrame
from hingecoach.faults import RepMetrics
from hingecoach.live.people import PeopleWatch
from hingecoach.pose.back_shape import BackShape
from hingecoach.pose.camera import (
    MIN_CHANNEL_COVERAGE,
    CameraMeasurer,
    CameraSettings,
    FrameMeasure,
    standing_window,
)
from hingecoach.pose.dowel import bow_angle_deg, rounding_threshold_deg
from hingecoach.pose.estimator import PoseModel
from hingecoach.pose.filters import OneEuroFilter
from hingecoach.pose.judgement import NAN_SHAPE, RepFrames, RepJudgement, back_verdicts, camera_faults
from hingecoach.pose.keypoints import choose_orientation, separation_px, trunk_px
from hingecoach.pose.verdict import UPRIGHT_HIP_DEG, UPRIGHT_TRUNK_DEG, back_reference
from hingecoach.pose.view import ViewClass, standing_length, view_of, worse_view


@dataclass
class CameraCounts:
    """Frame counters of a live camera run (stored with the session's stats)."""

    frames: int = 0
    no_person: int = 0
    partial: int = 0
    crowded: int = 0
    used: int = 0
    dropped_behind: int = 0  # frames lost because processing fell behind real time
    # frames the source gave: frames + decimated + dropped_behind, and those still waiting
    # in the queue when a session is stopped
    handed: int = 0
    decimated: int = 0  # left out on purpose by the frame-rate policy (live.frames.FrameRate)

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return dict(vars(self))


#: Frames of back outline kept for the verdicts: 30 s at 30 frames/s (a rep and the
#: second after it is judged within a few seconds of its start; longer reps are rare).
BACK_HISTORY = 900
#: Frames whose view numbers make the session's view so far (the clip's view offline):
#: 30 min at 30 frames/s, three numbers each.
VIEW_HISTORY = 54000
#: The reps' judgements kept (``CameraAngles.judgements``).
JUDGEMENT_HISTORY = 1000


class KeptFrame(NamedTuple):
    """What a rep's verdict reads of one emitted frame (``judgement.back_verdicts``)."""

    time_s: float
    back: BackShape
    side_ratio: float  # keypoints.side_view_ratio
    separation_px: float  # keypoints.separation_px: over the standing trunk length, the rep's view
    turn: float  # keypoints.turn_toward_camera
    nose_depth: float  # keypoints.nose_depth
    hip: float  # hip_flexion_deg, smoothed (the channel analyze's verdicts read)
    trunk: float  # trunk_inclination_deg, smoothed
    knee: float  # knee_flexion_deg, smoothed


@dataclass
class CameraAngles:
    """Frames in (``add``); ``on_angles(t, channels)`` out once the standing zero is known."""

    model: PoseModel
    on_angles: Callable[[float, dict[str, float]], None]
    on_calibrated: Callable[[dict[str, Any]], None]
    emit: Callable[[dict[str, Any]], None]
    settings: CameraSettings = field(default_factory=CameraSettings)
    source: str = "camera"
    people: PeopleWatch | None = None  # the people check on its own thread (else the model's, if any)

    def __post_init__(self) -> None:
        self.counts = CameraCounts()
        self._pending: list[tuple[int, float, PoseFrame]] = []
        self._measurer: CameraMeasurer | None = None
        self._measures: list[FrameMeasure] = []  # before the zero is known
        self.calibrated = False
        self.flushing = False  # the frames kept from before the zero are going through
        self.bow0 = math.nan
        self.neck0 = 0.0
        self.rate_hz: float | None = None
        self.window_s: tuple[float, float] | None = None
        self._filter = OneEuroFilter(self.settings.filter)
        self._prev_t = -math.inf
        # the recent frames (a rep's verdict reads them at its end), the upright ones'
        # backs and trunk lengths (the person's standing back, the verdict's reference, and
        # standing trunk length, the rep view's scale) and every frame's view numbers (the
        # view so far): all bounded
        self._backs: deque[KeptFrame] = deque(maxlen=BACK_HISTORY)
        self._upright: deque[BackShape] = deque(maxlen=BACK_HISTORY)
        self._upright_px: deque[float] = deque(maxlen=BACK_HISTORY)
        self._views: deque[tuple[float, float, float]] = deque(maxlen=VIEW_HISTORY)
        self._knee_seen = [0, 0]  # frames with the knee angle (the ankles seen), frames emitted
        # each rep's judgement by its start (s), as analyze's per-rep judgement (its kind
        # live is only full or partial)
        self.judgements: deque[tuple[float, RepJudgement]] = deque(maxlen=JUDGEMENT_HISTORY)

    @property
    def rounding_threshold_deg(self) -> float | None:
        """The virtual dowel's rounding threshold (deg) for this person's standing bow; None before the zero."""
        return rounding_threshold_deg(self.bow0) if math.isfinite(self.bow0) else None

    def add(self, index: int, t: float, rgb: np.ndarray) -> None:
        """One frame (index, time s, RGB image): pose, measures, and angles once the zero is known."""
        self.counts.frames += 1
        pose = self.model.process(rgb)
        if pose is None:
            self.counts.no_person += 1
            return
        if self.people is not None:
            pose = self.people.mark(rgb, pose)
        if pose.other_people:
            self.counts.crowded += 1
            return
        if self._measurer is None:
            self._pending.append((index, t, pose))
            if len(self._pending) < self.settings.orientation_frames:
                return
            self._measurer = CameraMeasurer(choose_orientation([p for _, _, p in self._pending]), self.settings)
            self.emit({"type": "status", "state": "calibrating",
                       "message": f"seen from the {self._measurer.o.side} side: stand tall, side-on, "
                                  "the whole body in view"})
            pending, self._pending = self._pending, []
            for item in pending:
                self._take(*item)
        else:
            self._take(index, t, pose)

    def _take(self, index: int, t: float, pose: PoseFrame) -> None:
        assert self._measurer is not None
        if self._measurer.missing(pose):
            self.counts.partial += 1
            return
        m = self._measurer.measure(index, t, pose)
        self.counts.used += 1
        if self.calibrated:
            self._emit(m)
            return
        self._measures.append(m)
        self._try_zero()

    def _try_zero(self) -> None:
        s = self.settings
        ms = self._measures
        ts = np.array([m.time_s for m in ms])
        hip = np.array([m.hip for m in ms])
        trunk = np.array([m.trunk for m in ms])
        win = standing_window(ts, hip, trunk, s)
        if win is not None and win[1] < len(ms) - 1:  # closed by a frame that is not standing
            sel = np.arange(win[0], win[1] + 1)
        elif ts[-1] - ts[0] > s.standing_search_s:
            sel = np.sort(np.argsort(hip)[:max(5, len(ts) // 20)])
            w = (f"{self.source}: no standing start found (hips and trunk upright for {s.standing_min_s:g} s "
                 f"in the first {s.standing_search_s:g} s): the neck and back are zeroed on the most "
                 "upright frames instead; start standing tall, side-on")
            self.emit({"type": "warning", "kind": "calibration", "message": w})
        else:
            return
        bow = np.array([m.bow for m in ms])[sel]
        bow = bow[np.isfinite(bow)]
        self.bow0 = float(np.median(bow)) if bow.size else math.nan
        self.neck0 = float(np.median([ms[i].neck_raw for i in sel]))
        self.window_s = (float(ts[sel[0]]), float(ts[sel[-1]]))
        self.rate_hz = 1.0 / float(np.median(np.diff(ts))) if len(ts) > 1 else 30.0
        self.calibrated = True
        self.on_calibrated({"window_s": [round(x, 3) for x in self.window_s], "bow_standing": self.bow0,
                            "sample_rate_hz": round(self.rate_hz, 3), "side": self._measurer.o.side
                            if self._measurer else None})
        measures, self._measures = self._measures, []
        self.flushing = True
        try:
            for m in measures:
                self._emit(m)
        finally:
            self.flushing = False

    def _emit(self, m: FrameMeasure) -> None:
        back = m.back or NAN_SHAPE
        if abs(m.hip) < UPRIGHT_HIP_DEG and abs(m.trunk) < UPRIGHT_TRUNK_DEG:
            self._upright_px.append(trunk_px(m.xy))
            if math.isfinite(back.bow):
                self._upright.append(back)
        self._views.append((m.side_ratio, m.turn, m.nose_depth))
        self._knee_seen[0] += math.isfinite(m.knee)
        self._knee_seen[1] += 1
        curve = float(bow_angle_deg(m.bow - self.bow0)) if math.isfinite(m.bow) and math.isfinite(self.bow0) \
            else math.nan
        x = np.array([m.trunk, m.hip, m.knee, m.neck_raw - self.neck0, curve, curve])
        if m.time_s - self._prev_t > self.settings.reset_gap_s:
            self._filter = OneEuroFilter(self.settings.filter)
        self._prev_t = m.time_s
        y = self._filter.update(m.time_s, x)
        self._backs.append(KeptFrame(m.time_s, back, m.side_ratio, separation_px(m.xy), m.turn, m.nose_depth,
                                     float(y[1]), float(y[0]), float(y[2])))
        self.on_angles(m.time_s, dict(zip(CAMERA_CHANNELS, (float(v) for v in y), strict=True)))

    def view_so_far(self) -> ViewClass:
        """The view over the frames seen so far (offline: over the clip's frames)."""
        r, turn, nose = zip(*self._views, strict=True) if self._views else ((), (), ())
        return view_of(r, [], turn, nose)

    def judge_rep(self, m: RepMetrics) -> RepMetrics:
        """``m`` with lumbar_rounding and squatting decided as ``analyze`` decides them on a
        video (``judgement.back_verdicts``, the same function) from the rep's frames: the
        worse of the rep's view (over the standing trunk length so far) and the view so far,
        the person's standing back so far as the reference; a rep that could not be judged
        keeps no fault that needs the side view (``judgement.SAGITTAL_FAULTS``). The
        judgement goes into ``judgements``; ``m`` itself when its faults stay."""
        frames = [k for k in self._backs if m.start_s - 1e-9 <= k.time_s <= m.end_s + 1e-9]
        if not frames:
            return m
        ts = [k.time_s for k in frames]
        rep = RepFrames(ts, [k.back for k in frames], [k.hip for k in frames], [k.trunk for k in frames],
                        [k.knee for k in frames], int(np.argmin(np.abs(np.asarray(ts) - m.bottom_s))))
        rep_view = view_of([k.side_ratio for k in frames], [k.separation_px for k in frames],
                           [k.turn for k in frames], [k.nose_depth for k in frames],
                           standing_length(list(self._upright_px)))
        view = worse_view(rep_view, self.view_so_far())
        reference = back_reference(list(self._upright), [0.0] * len(self._upright), [0.0] * len(self._upright),
                                   source="upright frames so far")
        not_possible: dict[str, str] = {}
        seen, n = self._knee_seen
        if seen < max(2, MIN_CHANNEL_COVERAGE * n):  # as offline, the knee channel is not measured
            not_possible["squatting"] = f"the ankles out of view or hidden in {n - seen} of {n} frames"
        rounded, squatting, numbers = back_verdicts(rep, view, "lumbar_rounding" in m.faults, reference,
                                                    not_possible, self.settings.rounding_rule)
        judged = view.judgeable and rounded is not None
        why = None if judged else (view.reason() if not view.judgeable else not_possible["lumbar_rounding"])
        self.judgements.append((m.start_s, RepJudgement("full" if m.complete else "partial", view, judged, why,
                                                        not_possible, math.nan, numbers)))
        faults = camera_faults(m.faults, rounded, squatting, judged)
        return m if faults == m.faults else replace(m, faults=faults)
