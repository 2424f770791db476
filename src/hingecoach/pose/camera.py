"""From video frames to the camera's angle channels (the same TimeSeries the IMU path
gives, plus camera-only channels).

Per frame (``CameraMeasurer.measure``, shared by live and offline use): BlazePose
landmarks -> keypoint angles of the side nearer the camera (``keypoints``) and the bow of
the back from the segmentation mask (``dowel``). Over the recording (``video_angles``):
frames without a usable person are skipped and named; the first standing frames zero the
neck angle and the back's bow; every channel is smoothed by a One Euro filter (causal,
``filters``).

Channels (degrees): trunk_inclination_deg, hip_flexion_deg, knee_flexion_deg,
neck_flexion_deg, back_curvature_deg, lumbar_flexion_deg (see ``dowel``: the bow beyond
standing as the angle between two halves of the back; it spans the back from the hips to
the shoulders).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hingecoach.core.errors import InputError
from hingecoach.core.pose_types import HIP, SHOULDER, PoseFrame
from hingecoach.core.timeseries import ChannelInfo, FloatArray, TimeSeries
from hingecoach.pose.dowel import DowelSettings, bow_angle_deg, measure_back
from hingecoach.pose.estimator import PoseModel
from hingecoach.pose.filters import OneEuroFilter, OneEuroSettings
from hingecoach.pose.keypoints import (
    Orientation,
    choose_orientation,
    keypoint_angles,
    missing_points,
    side_view_ratio,
)

CAMERA_CHANNELS: dict[str, str] = {
    "trunk_inclination_deg": "hip->shoulder line from vertical, forward +",
    "hip_flexion_deg": "trunk against thigh, 0 standing tall",
    "knee_flexion_deg": "thigh against shank, 0 with a straight leg",
    "neck_flexion_deg": "head (shoulder->ear) against trunk, forward/down +, zero standing",
    "back_curvature_deg": "the back's bow from the hip-shoulder line beyond standing, as the angle between its halves",
    "lumbar_flexion_deg": "the camera's estimate: back_curvature_deg (virtual dowel), rounding +",
}


@dataclass(frozen=True)
class CameraSettings:
    min_visibility: float = 0.5  # BlazePose visibility below this: the point is not seen
    # left-right shoulder and hip separation over trunk length: ~0 from the side, 0.6-0.8
    # facing the camera; above 0.35 (a turn of about 25-30 deg) angles are foreshortened
    side_view_max_ratio: float = 0.35
    # standing: hips and trunk within the keypoint error range of upright (camera joint
    # angle errors are 4-17 deg, BRIEF), for at least standing_min_s
    standing_hip_max_deg: float = 20.0
    standing_trunk_max_deg: float = 15.0
    standing_min_s: float = 0.3
    standing_search_s: float = 15.0
    orientation_frames: int = 10  # the side and facing are decided over this many frames
    reset_gap_s: float = 0.5  # a gap with no person longer than this restarts the filter
    pose_model: str = "full"  # BlazePose lite, full or heavy (pose.estimator.POSE_MODELS)
    filter: OneEuroSettings = field(default_factory=OneEuroSettings)
    dowel: DowelSettings = field(default_factory=DowelSettings)


@dataclass(frozen=True)
class FrameMeasure:
    index: int
    time_s: float
    trunk: float
    hip: float
    knee: float
    neck_raw: float
    bow: float
    side_ratio: float
    xy: FloatArray  # (33, 2) landmarks, pixels
    contour_xy: FloatArray  # back outline points, pixels


class CameraMeasurer:
    """One frame's pose -> raw measures, once the body side and facing are known."""

    def __init__(self, orientation: Orientation, settings: CameraSettings | None = None) -> None:
        self.o = orientation
        self.s = settings or CameraSettings()

    def missing(self, pose: PoseFrame) -> list[str]:
        return missing_points(pose, self.o, self.s.min_visibility)

    def measure(self, index: int, t: float, pose: PoseFrame) -> FrameMeasure:
        k = keypoint_angles(pose, self.o)
        if pose.mask is not None:
            d = measure_back(pose.mask, pose.point(HIP[self.o.side]), pose.point(SHOULDER[self.o.side]),
                             self.o.facing, self.s.dowel)
            bow, contour = d.bow, d.contour_xy
        else:
            bow, contour = float("nan"), np.empty((0, 2))
        return FrameMeasure(index, t, k.trunk_inclination_deg, k.hip_flexion_deg, k.knee_flexion_deg,
                            k.neck_raw_deg, bow, side_view_ratio(pose), pose.xy, contour)


@dataclass
class CameraResult:
    angles: TimeSeries
    frames: list[FrameMeasure]  # the frames used, for the overlay
    orientation: Orientation
    standing_window_s: tuple[float, float]
    bow_standing: float
    warnings: list[str]
    frames_total: int
    frames_used: int


def _ranges(indices: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in indices:
        if out and i == out[-1][1] + 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def _fmt_ranges(r: list[tuple[int, int]], times: dict[int, float]) -> str:
    parts = [f"frames {a}-{b} ({times[a]:.2f}-{times[b]:.2f} s)" if a != b else
             f"frame {a} ({times[a]:.2f} s)" for a, b in r[:4]]
    return ", ".join(parts) + (f" and {len(r) - 4} more" if len(r) > 4 else "")


def _crowded_frames(checks: list[tuple[int, bool]], indices: list[int]) -> set[int]:
    """Frames whose nearest people check saw someone else too."""
    if not checks or not any(c for _, c in checks):
        return set()
    at = np.array([i for i, _ in checks])
    crowded = np.array([c for _, c in checks])
    out = set()
    for i in indices:
        k = int(np.searchsorted(at, i))
        near = [j for j in (k - 1, k) if 0 <= j < len(at)]
        j = min(near, key=lambda j: abs(at[j] - i))
        if crowded[j]:
            out.add(i)
    return out


def standing_window(t: FloatArray, hip: FloatArray, trunk: FloatArray, s: CameraSettings
                    ) -> tuple[int, int] | None:
    """First run of standing frames lasting standing_min_s within standing_search_s:
    (first index, last index) into the arrays."""
    ok = (np.abs(hip) < s.standing_hip_max_deg) & (np.abs(trunk) < s.standing_trunk_max_deg)
    ok &= t - t[0] <= s.standing_search_s
    start = None
    for i, v in enumerate([*ok, False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if t[i - 1] - t[start] >= s.standing_min_s:
                return start, i - 1
            start = None
    return None


def video_angles(frames: Iterable[tuple[int, float, np.ndarray]], model: PoseModel, *,
                 source: str, settings: CameraSettings | None = None,
                 progress: Callable[[int], Any] | None = None) -> CameraResult:
    """Run the pose model over the frames and build the camera's angle channels."""
    s = settings or CameraSettings()
    name = source.rsplit("/", 1)[-1]
    times: dict[int, float] = {}
    no_person: list[int] = []
    partial: dict[int, list[str]] = {}
    crowd_checks: list[tuple[int, bool]] = []  # (frame, another person in view)
    measurer: CameraMeasurer | None = None
    pending: list[tuple[int, float, PoseFrame]] = []
    measures: list[FrameMeasure] = []
    total = 0

    def take(i: int, t: float, pose: PoseFrame) -> None:
        assert measurer is not None
        miss = measurer.missing(pose)
        if miss:
            partial[i] = miss
        else:
            measures.append(measurer.measure(i, t, pose))

    for i, t, rgb in frames:
        total += 1
        times[i] = t
        pose = model.process(rgb)
        if progress is not None:
            progress(i)
        if pose is None:
            no_person.append(i)
            continue
        if pose.other_people is not None:
            crowd_checks.append((i, pose.other_people > 0))
        if measurer is None:
            pending.append((i, t, pose))
            if len(pending) < s.orientation_frames:
                continue
            measurer = CameraMeasurer(choose_orientation([p for _, _, p in pending]), s)
            for item in pending:
                take(*item)
            pending = []
        else:
            take(i, t, pose)
    if measurer is None and pending:  # a short clip: decide on what there is
        measurer = CameraMeasurer(choose_orientation([p for _, _, p in pending]), s)
        for item in pending:
            take(*item)
    if total == 0:
        raise InputError(source, "video frames", "none")
    if measurer is None:
        raise InputError(source, "a person in view", f"no person found in any of the {total} frames")
    warnings: list[str] = []
    if no_person:
        warnings.append(f"{name}: no person found in {_fmt_ranges(_ranges(no_person), times)}; "
                        "those frames are skipped")
    if partial:
        what = sorted({p for v in partial.values() for p in v})
        warnings.append(f"{name}: the person is partly out of view ({', '.join(what)} not seen) in "
                        f"{_fmt_ranges(_ranges(sorted(partial)), times)}; those frames are skipped")
    crowded = _crowded_frames(crowd_checks, [m.index for m in measures])
    if crowded:
        where = _fmt_ranges(_ranges(sorted(crowded)), times)
        measures = [m for m in measures if m.index not in crowded]
        if len(measures) < 10:
            raise InputError(source, "one person in view", f"more than one person in {where}")
        warnings.append(f"{name}: more than one person in view in {where}; those frames are skipped "
                        "(the pose model may follow either person): film one person at a time")
    if len(measures) < 10:
        raise InputError(source, "at least 10 frames with the whole person in view (head to ankles)",
                         f"{len(measures)} of {total}")
    ts = np.array([m.time_s for m in measures])
    raw = {k: np.array([getattr(m, k) for m in measures]) for k in ("trunk", "hip", "knee", "neck_raw", "bow")}
    ratio = float(np.median([m.side_ratio for m in measures]))
    if ratio > s.side_view_max_ratio:
        warnings.append(f"{name}: not a side view (left and right shoulders and hips {ratio:.2f} of the "
                        f"trunk length apart; a side view is under {s.side_view_max_ratio:g}): sagittal "
                        "angles are foreshortened and the back outline is not the spine's profile. "
                        "Film from the side, the whole body in view")
    win = standing_window(ts, raw["hip"], raw["trunk"], s)
    if win is None:
        upright = np.argsort(raw["hip"])[:max(5, len(ts) // 20)]
        sel = np.sort(upright)
        warnings.append(f"{name}: no standing start found (hips and trunk upright for "
                        f"{s.standing_min_s:g} s in the first {s.standing_search_s:g} s): the neck and "
                        "back are zeroed on the most upright frames instead; start standing tall, side-on")
        window = (float(ts[sel[0]]), float(ts[sel[-1]]))
    else:
        sel = np.arange(win[0], win[1] + 1)
        window = (float(ts[win[0]]), float(ts[win[1]]))
    bow = raw["bow"]
    good = np.isfinite(bow)
    if np.count_nonzero(good) < 2:
        warnings.append(f"{name}: the back's outline was not found (no person mask): lumbar flexion "
                        "and back curvature are not available")
        bow0 = float("nan")
    else:
        if not good.all():
            bow = np.interp(ts, ts[good], bow[good])
        bow0 = float(np.median(bow[sel][np.isfinite(bow[sel])])) if np.isfinite(bow[sel]).any() \
            else float(np.median(bow[good]))
    neck0 = float(np.median(raw["neck_raw"][sel]))
    channels = {
        "trunk_inclination_deg": raw["trunk"],
        "hip_flexion_deg": raw["hip"],
        "knee_flexion_deg": raw["knee"],
        "neck_flexion_deg": raw["neck_raw"] - neck0,
        "back_curvature_deg": bow_angle_deg(bow - bow0),
        "lumbar_flexion_deg": bow_angle_deg(bow - bow0),
    }
    smoothed = smooth_channels(ts, channels, s)
    angles = TimeSeries(ts, smoothed,
                        info={k: ChannelInfo("deg", "image sagittal plane", v) for k, v in CAMERA_CHANNELS.items()},
                        meta={"source": source, "placement": "camera", "calibration_window_s": window})
    return CameraResult(angles, measures, measurer.o, window, bow0, warnings, total, len(measures))


def smooth_channels(t: FloatArray, channels: dict[str, FloatArray], s: CameraSettings) -> dict[str, FloatArray]:
    """One Euro filter over all channels together, restarted after gaps."""
    names = list(channels)
    x = np.column_stack([channels[n] for n in names])
    out = np.empty_like(x)
    f = OneEuroFilter(s.filter)
    prev = -np.inf
    for i in range(len(t)):
        if t[i] - prev > s.reset_gap_s:
            f = OneEuroFilter(s.filter)
        out[i] = f.update(float(t[i]), x[i])
        prev = t[i]
    return {n: out[:, j] for j, n in enumerate(names)}
