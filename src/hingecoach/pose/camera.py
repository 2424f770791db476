"""From video frames to the camera's angle channels (the same TimeSeries the IMU path
gives, plus camera-only channels).

Per frame (``CameraMeasurer.measure``, shared by live and offline use): BlazePose
landmarks -> keypoint angles of the side nearer the camera (``keypoints``) and the back's
outline from the segmentation mask (``back_shape``: its bow, as in ``dowel``, and its
shape). Over the recording (``video_angles``):
frames without a usable person are skipped and named; the first standing frames zero the
neck angle and the back's bow; every channel is smoothed by a One Euro filter (causal,
``filters``).

Channels (degrees): trunk_inclination_deg, hip_flexion_deg, knee_flexion_deg,
neck_flexion_deg, back_curvature_deg, lumbar_flexion_deg (see ``dowel``: the bow beyond
standing as the angle between two halves of the back; it spans the back from the hips to
the shoulders).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hingecoach.core.angle_defs import CAMERA_CHANNELS
from hingecoach.core.errors import InputError
from hingecoach.core.pose_types import HIP, SHOULDER, PoseFrame
from hingecoach.core.timeseries import ChannelInfo, FloatArray, TimeSeries
from hingecoach.pose.back_shape import BackShape, measure_back_shape
from hingecoach.pose.dowel import DowelSettings, bow_angle_deg
from hingecoach.pose.estimator import PoseModel
from hingecoach.pose.filters import OneEuroFilter, OneEuroSettings
from hingecoach.pose.keypoints import (
    Orientation,
    choose_orientation,
    facing_vote,
    keypoint_angles,
    missing_points,
    nose_depth,
    side_view_ratio,
    trunk_px,
    turn_toward_camera,
)


@dataclass(frozen=True)
class CameraSettings:
    min_visibility: float = 0.5  # BlazePose visibility below this: the point is not seen
    # left-right shoulder and hip separation over trunk length: ~0 from the side, 0.6-0.8
    # facing the camera; above 0.35 (a turn of about 25-30 deg) angles are foreshortened
    side_view_max_ratio: float = 0.35
    # standing: hips and trunk within the keypoint error range of upright (camera joint
    # angle errors are 4-17 deg, docs/references.md#camera-angle-error), for at least standing_min_s
    standing_hip_max_deg: float = 20.0
    standing_trunk_max_deg: float = 15.0
    standing_min_s: float = 0.3
    standing_search_s: float = 15.0
    orientation_frames: int = 10  # the side and facing are decided over this many frames
    reset_gap_s: float = 0.5  # a gap with no person longer than this restarts the filter
    pose_model: str = "full"  # BlazePose lite, full or heavy (pose.estimator.POSE_MODELS)
    # lumbar_rounding from the back outline's shape, the bow deciding within its error
    # ("shape"), or from the bow alone ("bow": a silhouette without a lumbar hollow, such
    # as the camera simulator's, which the shape rule cannot read)
    rounding_rule: str = "shape"
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
    bow_other_facing: float = float("nan")  # the bow measured as if facing the other way
    back: BackShape | None = None  # the back's outline shape (pose.back_shape), None without a mask
    back_other_facing: BackShape | None = None  # the same as if facing the other way (some frames)
    turn: float = float("nan")  # keypoints.turn_toward_camera: + chest toward the camera, - back
    nose_depth: float = float("nan")  # keypoints.nose_depth: - face toward the camera, + away


OTHER_FACING_EVERY = 4


class CameraMeasurer:
    """One frame's pose -> raw measures, once the body side and facing are known.
    ``both_facings``: also measure the bow as if the person faced the other way, on every
    OTHER_FACING_EVERY-th frame (offline, so a facing decided on a misleading start can
    be corrected over the whole clip; the frames between are interpolated then)."""

    def __init__(self, orientation: Orientation, settings: CameraSettings | None = None, *,
                 both_facings: bool = False) -> None:
        self.o = orientation
        self.s = settings or CameraSettings()
        self.both_facings = both_facings
        self._n = 0

    def missing(self, pose: PoseFrame) -> list[str]:
        return missing_points(pose, self.o, self.s.min_visibility)

    def measure(self, index: int, t: float, pose: PoseFrame) -> FrameMeasure:
        k = keypoint_angles(pose, self.o)
        back = other = None
        if pose.mask is not None:
            hip, sh = pose.point(HIP[self.o.side]), pose.point(SHOULDER[self.o.side])
            back = measure_back_shape(pose.mask, hip, sh, self.o.facing)
            bow, contour = back.bow, back.contour_xy
            if self.both_facings and self._n % OTHER_FACING_EVERY == 0:
                other = measure_back_shape(pose.mask, hip, sh, -self.o.facing)
            self._n += 1
        else:
            bow, contour = float("nan"), np.empty((0, 2))
        return FrameMeasure(index, t, k.trunk_inclination_deg, k.hip_flexion_deg, k.knee_flexion_deg,
                            k.neck_raw_deg, bow, side_view_ratio(pose), pose.xy, contour,
                            other.bow if other is not None else float("nan"), back, other,
                            turn_toward_camera(pose), nose_depth(pose))


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
    reference_source: str = "the standing start"  # where the upright zero came from
    unavailable: dict[str, str] = field(default_factory=dict)  # channel -> why it is not measured


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
    runs = _upright_runs(t, hip, trunk, s, within_s=s.standing_search_s)
    return runs[0] if runs else None


def _upright_runs(t: FloatArray, hip: FloatArray, trunk: FloatArray, s: CameraSettings,
                  within_s: float = np.inf) -> list[tuple[int, int]]:
    """The runs of upright frames (hips and trunk within ``standing_*_max_deg``) lasting
    ``standing_min_s``, in order, within ``within_s`` of the first frame: (first, last) indices."""
    ok = (np.abs(hip) < s.standing_hip_max_deg) & (np.abs(trunk) < s.standing_trunk_max_deg)
    ok &= t - t[0] <= within_s
    runs: list[tuple[int, int]] = []
    start = None
    for i, v in enumerate([*ok, False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if t[i - 1] - t[start] >= s.standing_min_s:
                runs.append((start, i - 1))
            start = None
    return runs


#: Points a frame needs (the back, and the knee for the hips' flexion, the rep signal) and
#: points only some verdicts need: the ankle (knee flexion: squatting) and the ear (the
#: neck: neck_craning). A head cut off at the top of the image or shins behind the plates
#: of a barbell are normal in a close side view.
REQUIRED_POINTS = ("shoulder", "hip", "knee")
OPTIONAL_POINTS = {"ankle": ("knee_flexion_deg", "squatting"), "ear": ("neck_flexion_deg", "neck_craning")}
#: An optional channel seen in fewer of the used frames than this is not available at all.
MIN_CHANNEL_COVERAGE = 0.5


@dataclass
class _Collected:
    """What one pass over the frames gathers (``video_angles``)."""

    times: dict[int, float] = field(default_factory=dict)
    no_person: list[int] = field(default_factory=list)
    partial: dict[int, list[str]] = field(default_factory=dict)
    unseen: dict[str, list[int]] = field(default_factory=dict)  # optional point -> frames
    crowd_checks: list[tuple[int, bool]] = field(default_factory=list)
    measures: list[FrameMeasure] = field(default_factory=list)
    measurer: CameraMeasurer | None = None
    total: int = 0


#: Poses waiting for the measuring thread at most (each holds its frame's mask).
MEASURE_QUEUE = 8


def _collect(frames: Iterable[tuple[int, float, np.ndarray]], model: PoseModel, s: CameraSettings,
             progress: Callable[[int], Any] | None) -> _Collected:
    """The pose model over the frames; each pose is measured (the back's outline, the
    angles) on a thread of its own, in order, while the model works on the next frames:
    MediaPipe releases the GIL and uses about one of the cores, so the measuring costs
    next to no time on a second core. The result is the same as measuring in line."""
    c = _Collected()
    pending: list[tuple[int, float, PoseFrame]] = []

    def take(i: int, t: float, pose: PoseFrame) -> None:
        assert c.measurer is not None
        miss = c.measurer.missing(pose)
        required = [p for p in miss if p in REQUIRED_POINTS]
        if required:
            c.partial[i] = required
            return
        for p in miss:
            c.unseen.setdefault(p, []).append(i)
        m = c.measurer.measure(i, t, pose)
        if "ankle" in miss:
            m = replace(m, knee=float("nan"))
        if "ear" in miss:
            m = replace(m, neck_raw=float("nan"))
        c.measures.append(m)

    def see(i: int, t: float, pose: PoseFrame) -> None:  # on the measuring thread, in frame order
        nonlocal pending
        if c.measurer is None:
            pending.append((i, t, pose))
            if len(pending) < s.orientation_frames:
                return
            c.measurer = CameraMeasurer(choose_orientation([p for _, _, p in pending]), s, both_facings=True)
            for item in pending:
                take(*item)
            pending = []
        else:
            take(i, t, pose)

    queued: deque[Future[None]] = deque()
    with ThreadPoolExecutor(1, thread_name_prefix="hingecoach-measure") as measuring:
        try:
            for i, t, rgb in frames:
                c.total += 1
                c.times[i] = t
                pose = model.process(rgb)
                if progress is not None:
                    progress(i)
                if pose is None:
                    c.no_person.append(i)
                    continue
                if pose.other_people is not None:
                    c.crowd_checks.append((i, pose.other_people > 0))
                queued.append(measuring.submit(see, i, t, pose))
                while len(queued) > MEASURE_QUEUE or (queued and queued[0].done()):
                    queued.popleft().result()  # a measuring error is raised here
            while queued:
                queued.popleft().result()
        finally:
            for f in queued:  # stopped part-way (an error, Ctrl-C): nothing more to measure
                f.cancel()
    if c.measurer is None and pending:  # a short clip: decide on what there is
        c.measurer = CameraMeasurer(choose_orientation([p for _, _, p in pending]), s, both_facings=True)
        for item in pending:
            take(*item)
    _correct_facing(c)
    return c


def _correct_facing(c: _Collected) -> None:
    """Re-decide the facing by majority over every used frame (a clip may open with a
    title shot or a cut); when it disagrees with the first frames' choice, the angles are
    recomputed from the landmarks and the bow measured the other way is used."""
    if c.measurer is None or not c.measures:
        return
    votes = float(np.sum([facing_vote(m.xy) for m in c.measures]))
    if votes == 0 or np.sign(votes) == c.measurer.o.facing:
        return
    o = Orientation(c.measurer.o.side, float(np.sign(votes)))
    c.measurer = CameraMeasurer(o, c.measurer.s, both_facings=True)
    fixed = []
    have = [k for k, m in enumerate(c.measures) if m.back_other_facing is not None]
    for k, m in enumerate(c.measures):
        if m.back_other_facing is None and have:  # measured on every few frames: the nearest
            j = have[min(int(np.searchsorted(have, k)), len(have) - 1)]
            if abs(j - k) <= OTHER_FACING_EVERY:
                m = replace(m, back_other_facing=c.measures[j].back_other_facing)
        f = PoseFrame(xy=m.xy, z=np.zeros(len(m.xy)), visibility=np.ones(len(m.xy)), mask=None, width=1, height=1)
        ka = keypoint_angles(f, o)
        fixed.append(replace(m, trunk=ka.trunk_inclination_deg, hip=ka.hip_flexion_deg,
                             knee=ka.knee_flexion_deg if np.isfinite(m.knee) else float("nan"),
                             neck_raw=ka.neck_raw_deg if np.isfinite(m.neck_raw) else float("nan"),
                             bow=m.bow_other_facing, bow_other_facing=m.bow, back=m.back_other_facing,
                             back_other_facing=m.back,
                             contour_xy=m.back_other_facing.contour_xy if m.back_other_facing is not None
                             else np.empty((0, 2))))
    c.measures = fixed


def _view_warnings(c: _Collected, name: str) -> list[str]:
    out: list[str] = []
    if c.no_person:
        out.append(f"{name}: no person found in {_fmt_ranges(_ranges(c.no_person), c.times)}; "
                   "those frames are skipped")
    if c.partial:
        what = sorted({p for v in c.partial.values() for p in v})
        out.append(f"{name}: the person is partly out of view ({', '.join(what)} not seen) in "
                   f"{_fmt_ranges(_ranges(sorted(c.partial)), c.times)}; those frames are skipped")
    crowded = _crowded_frames(c.crowd_checks, [m.index for m in c.measures])
    if crowded:
        where = _fmt_ranges(_ranges(sorted(crowded)), c.times)
        out.append(f"{name}: other people in view in {where}; the analysis follows the lifter (the largest, "
                   "most central and moving person, kept from then on): check the skeleton in --overlay is "
                   "on the lifter")
    return out


def _optional_channels(c: _Collected, raw: dict[str, FloatArray], ts: FloatArray, name: str
                       ) -> tuple[dict[str, str], list[str]]:
    """Fill short gaps of the channels that need an optional point; a channel seen in too
    few frames becomes NaN throughout. Returns {channel: why it is missing} and warnings."""
    unavailable: dict[str, str] = {}
    warnings: list[str] = []
    n = len(ts)
    for point, (channel, verdict) in OPTIONAL_POINTS.items():
        key = "knee" if point == "ankle" else "neck_raw"
        x = raw[key]
        good = np.isfinite(x)
        seen = int(np.count_nonzero(good))
        if seen == n:
            continue
        label = "the ankles" if point == "ankle" else "the head (ears)"
        if seen < max(2, MIN_CHANNEL_COVERAGE * n):
            raw[key] = np.full(n, np.nan)
            why = f"{label} out of view or hidden in {n - seen} of {n} frames"
            unavailable[channel] = why
            warnings.append(f"{name}: {why}: {channel} is not measured and {verdict} cannot be judged")
        else:
            raw[key] = np.interp(ts, ts[good], x[good])
            where = _fmt_ranges(_ranges(sorted(c.unseen.get(point, []))), c.times)
            warnings.append(f"{name}: {label} not seen in {where}; {channel} is interpolated there")
    return unavailable, warnings


#: A jump of the followed pose: its hips move more than this many trunk lengths from one
#: frame to the next (frames at most JUMP_MAX_STEP_S apart, or 1.5 frame steps of a slower
#: video): 2.5 m/s for a 0.5 m trunk at 10 frames/s, beyond what hips do in a hinge or a
#: swing (about 1 m/s at most); a cut in the video, or the pose model taking another
#: person. The trunk length is at least the clip's median (a hinge's bottom shortens it).
JUMP_TRUNKS = 0.5
JUMP_MAX_STEP_S = 0.1
#: A jump away and back within this long to where the pose left is an excursion (a
#: glitch, or someone else taken for a moment): the lifter crop checks every 15 frames, 0.5
#: s at 30 frames/s, and puts the pose back on the lifter at the next check.
EXCURSION_S = 0.5
#: With jumps, one person is followed when the frames on one track (the stretches between
#: jumps, excursions left out) hold at least this share of the frames with a pose; else the
#: clip is refused: no one lifter to analyse.
MIN_FOLLOWED_SHARE = 0.5


def _hips(m: FrameMeasure) -> FloatArray:
    return np.asarray(0.5 * (m.xy[HIP["left"]] + m.xy[HIP["right"]]), dtype=np.float64)


def _trunk_floor(measures: Sequence[FrameMeasure]) -> float:
    lengths = np.array([trunk_px(m.xy) for m in measures], dtype=np.float64)
    lengths = lengths[np.isfinite(lengths)]
    return float(np.median(lengths)) if lengths.size else 0.0


def pose_jumps(measures: Sequence[FrameMeasure]) -> list[int]:
    """Indices k into ``measures`` where the pose jumped between measures[k-1] and [k]."""
    if len(measures) < 2:
        return []
    t = np.array([m.time_s for m in measures], dtype=np.float64)
    step = max(JUMP_MAX_STEP_S, 1.5 * float(np.median(np.diff(t))))
    floor = _trunk_floor(measures)
    out = []
    for k in range(1, len(measures)):
        a, b = measures[k - 1], measures[k]
        if t[k] - t[k - 1] > step:
            continue
        trunk = max(trunk_px(a.xy), trunk_px(b.xy), floor)
        if trunk > 0 and float(np.linalg.norm(_hips(b) - _hips(a))) > JUMP_TRUNKS * trunk:
            out.append(k)
    return out


def followed_frames(measures: Sequence[FrameMeasure], jumps: Sequence[int]) -> int:
    """The most frames on one track: the stretches between ``jumps``, where a stretch of
    under EXCURSION_S after which the pose comes back to where it left is an excursion
    (left out, and the stretches on either side of it are one track)."""
    bounds = [0, *jumps, len(measures)]
    segs = [(a, b) for a, b in itertools.pairwise(bounds) if b > a]
    floor = _trunk_floor(measures)
    tracks: list[int] = []
    i = 0
    while i < len(segs):
        a, b = segs[i]
        count = b - a
        # the next stretches: excursions that return are skipped, their neighbour joins on
        while i + 2 < len(segs):
            ea, eb = segs[i + 1]
            back = float(np.linalg.norm(_hips(measures[segs[i + 2][0]]) - _hips(measures[ea - 1])))
            if measures[eb - 1].time_s - measures[ea].time_s < EXCURSION_S and back <= JUMP_TRUNKS * floor:
                count += segs[i + 2][1] - segs[i + 2][0]
                i += 2
            else:
                break
        tracks.append(count)
        i += 1
    return max(tracks) if tracks else 0


def _jump_warnings(measures: Sequence[FrameMeasure], source: str, name: str) -> list[str]:
    """A warning per clip whose pose jumped; InputError when no one track holds
    MIN_FOLLOWED_SHARE of the frames (no one person can be followed)."""
    jumps = pose_jumps(measures)
    if not jumps:
        return []
    followed = followed_frames(measures, jumps)
    at = ", ".join(f"{measures[k].time_s:.2f} s" for k in jumps[:5]) + (", ..." if len(jumps) > 5 else "")
    if followed < MIN_FOLLOWED_SHARE * len(measures):
        raise InputError(source, f"one person followed through at least {MIN_FOLLOWED_SHARE:.0%} of the clip "
                         "(the lifter)", f"the pose jumping between places {len(jumps)} times (at {at}); "
                         f"{followed} of {len(measures)} frames on one person: film one lifter, without cuts")
    return [f"{name}: the pose jumped {len(jumps)} time(s) (at {at}): a cut in the video or another person "
            "taken for the lifter; check the skeleton in --overlay is on the lifter"]


def video_angles(frames: Iterable[tuple[int, float, np.ndarray]], model: PoseModel, *,
                 source: str, settings: CameraSettings | None = None,
                 progress: Callable[[int], Any] | None = None) -> CameraResult:
    """Run the pose model over the frames and build the camera's angle channels."""
    s = settings or CameraSettings()
    name = source.rsplit("/", 1)[-1]
    c = _collect(frames, model, s, progress)
    if c.total == 0:
        raise InputError(source, "video frames", "none")
    if c.measurer is None:
        raise InputError(source, "a person in view", f"no person found in any of the {c.total} frames")
    measures = c.measures
    warnings = _view_warnings(c, name)
    warnings += _jump_warnings(measures, source, name)
    if len(measures) < 10:
        raise InputError(source, "at least 10 frames with the back and hips in view (shoulders, hips "
                         "and knees)", f"{len(measures)} of {c.total}")
    ts = np.array([m.time_s for m in measures])
    raw = {k: np.array([getattr(m, k) for m in measures]) for k in ("trunk", "hip", "knee", "neck_raw", "bow")}
    unavailable, more = _optional_channels(c, raw, ts, name)
    warnings += more
    ratio = float(np.median([m.side_ratio for m in measures]))
    if ratio > s.side_view_max_ratio:
        warnings.append(f"{name}: not a side view (left and right shoulders and hips {ratio:.2f} of the "
                        f"trunk length apart; a side view is under {s.side_view_max_ratio:g}): sagittal "
                        "angles are foreshortened and the back outline is not the spine's profile. "
                        "Film from the side, at hip height, the whole body in view")
    sel, window, ref_source, ref_warning = upright_reference(ts, raw["hip"], raw["trunk"], s)
    if ref_warning:
        warnings.append(f"{name}: {ref_warning}")
    bow = raw["bow"]
    good = np.isfinite(bow)
    if np.count_nonzero(good) < 2:
        warnings.append(f"{name}: the back's outline was not found (no person mask): lumbar flexion "
                        "and back curvature are not available")
        bow0 = float("nan")
        unavailable["lumbar_flexion_deg"] = "the back's outline was not found"
    else:
        if not good.all():
            bow = np.interp(ts, ts[good], bow[good])
        bow0 = float(np.median(bow[sel][np.isfinite(bow[sel])])) if np.isfinite(bow[sel]).any() \
            else float(np.median(bow[good]))
    neck = raw["neck_raw"]
    neck0 = float(np.median(neck[sel])) if np.isfinite(neck[sel]).any() else float("nan")
    channels = {
        "trunk_inclination_deg": raw["trunk"],
        "hip_flexion_deg": raw["hip"],
        "knee_flexion_deg": raw["knee"],
        "neck_flexion_deg": neck - neck0,
        "back_curvature_deg": bow_angle_deg(bow - bow0),
        "lumbar_flexion_deg": bow_angle_deg(bow - bow0),
    }
    smoothed = smooth_channels(ts, channels, s)
    angles = TimeSeries(ts, smoothed,
                        info={k: ChannelInfo("deg", "image sagittal plane", v) for k, v in CAMERA_CHANNELS.items()},
                        meta={"source": source, "placement": "camera", "calibration_window_s": window})
    return CameraResult(angles, measures, c.measurer.o, window, bow0, warnings, c.total, len(measures),
                        reference_source=ref_source, unavailable=unavailable)


def upright_reference(ts: FloatArray, hip: FloatArray, trunk: FloatArray, s: CameraSettings
                      ) -> tuple[NDArray[np.intp], tuple[float, float], str, str | None]:
    """The frames that zero the neck and the back: the longest upright still moment anywhere
    in the clip (standing at the start, or a lockout of a lift from the floor).

    Returns (frame indices, window (s), where it came from, a warning or None). Among the
    runs of upright frames (hips and trunk within ``standing_*_max_deg``) lasting
    ``standing_min_s`` the longest is taken; a clip with none is zeroed on its most
    upright frames, with a warning."""
    runs = _upright_runs(ts, hip, trunk, s)
    if runs:
        # the longest: a still moment is the most reliable zero (the standing start, or a
        # lockout held at the top of a lift from the floor)
        a, b = max(runs, key=lambda r: float(ts[r[1]] - ts[r[0]]))
        where = "the standing start" if a == 0 else "the longest upright still moment (standing or a lockout)"
        return np.arange(a, b + 1), (float(ts[a]), float(ts[b])), where, None
    sel = np.sort(np.argsort(np.abs(hip) + np.abs(trunk))[:max(5, len(ts) // 20)])
    warning = (f"no upright moment found (hips and trunk upright for {s.standing_min_s:g} s anywhere in "
               "the clip): the neck and back are zeroed on the most upright frames instead; stand tall, "
               "side-on, for a moment at the start or at the top")
    return sel, (float(ts[sel[0]]), float(ts[sel[-1]])), "the most upright frames", warning


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
