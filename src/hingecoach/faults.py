"""Form faults: a table of rules over per-rep metrics.

Each rule names the metric it reads, the comparison, the threshold (a key into
``Thresholds``), an optional guard, the message for the person, and where its default
comes from. Thresholds depend on where the upper sensor sits (``PLACEMENT_SCALE``) and
on the person's maximum flexion when a calibration measured it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Protocol

import numpy as np

from hingecoach.core.conventions import PLACEMENT_SCALE
from hingecoach.core.errors import ParameterError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.core.vocabulary import CAMERA, DEFAULT_EXERCISE, EXERCISES, Exercise
from hingecoach.reps import Rep

__all__ = [
    "EXERCISES",
    "FAULT_IDS",
    "FAULT_RULES",
    "MAX_FLEXION_SHARE",
    "MESSAGES",
    "TOO_FAST_S",
    "FaultRule",
    "RepMetrics",
    "RepSpan",
    "ThresholdSettings",
    "Thresholds",
    "default_thresholds",
    "evaluate",
    "median_peak_hip_flexion",
    "rep_metrics",
    "rep_peak",
    "thresholds_for",
]


@dataclass(frozen=True)
class RepMetrics:
    """One repetition's times (s, recording time), peak angles (deg) and derived measures,
    with the ids of the fault rules it breaks."""

    index: int
    start_s: float
    bottom_s: float
    end_s: float
    complete: bool
    peak_lumbar_flexion_deg: float
    peak_pelvis_tilt_deg: float
    peak_trunk_inclination_deg: float
    lumbar_share: float  # lumbar flexion / trunk inclination at the bottom
    top_extension_deg: float  # lumbar extension at the top beyond standing (positive)
    descent_s: float  # 10 % to 90 % of the bend
    # camera only (NaN from IMUs): knee flexion over hip flexion at the bottom, and the
    # head's largest extension against the trunk during the rep (beyond standing)
    knee_hip_ratio: float = float("nan")
    peak_neck_extension_deg: float = float("nan")
    faults: tuple[str, ...] = ()

    # A metric that was not measured (an IMU rep has no knee/hip ratio) is NaN; two records
    # that both lack it are equal, so a stored and reloaded rep equals the original.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RepMetrics):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        return tuple(None if isinstance(v, float) and math.isnan(v) else v
                     for v in (getattr(self, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, object]:
        """Every field by name (``faults`` as a list), for JSON."""
        d = asdict(self)
        d["faults"] = list(self.faults)
        return d


@dataclass(frozen=True)
class Thresholds:
    """The limits the fault rules compare with (degrees, seconds or ratios; None: the rule
    is off), and where the lumbar_rounding limit came from (``sources`` names them all)."""

    lumbar_rounding_deg: float
    lumbar_rounding_source: str
    top_overextension_deg: float  # extension beyond this (a negative angle) at the top
    too_fast_s: float | None  # None: off (swings)
    shallow_share: float | None  # None: off (camera: the dowel's bow is not a segment tilt)
    min_bend_for_share_deg: float = 30.0
    squat_knee_hip_ratio: float | None = None  # camera only
    neck_extension_deg: float | None = None  # camera only

    @property
    def sources(self) -> dict[str, str]:
        """Each threshold's origin, by field name: the one recorded for lumbar_rounding,
        the fault rule's documented default for the others, or "off"."""
        out = {"lumbar_rounding_deg": self.lumbar_rounding_source}
        for rule in FAULT_RULES:
            if rule.threshold != "lumbar_rounding_deg":
                out[rule.threshold] = rule.source if getattr(self, rule.threshold) is not None else "off"
        return out


class ThresholdSettings(Protocol):
    """What the thresholds depend on besides the placement (``AnalysisSettings`` has it)."""

    @property
    def exercise(self) -> str:
        """One of EXERCISES."""
    @property
    def share_of_max(self) -> float:
        """lumbar_rounding as this share of the calibrated maximum flexion (0.2-1.0)."""
    @property
    def lumbar_rounding_deg(self) -> float | None:
        """A threshold set by hand (deg), or None."""
    @property
    def too_fast_s(self) -> float | None:
        """The shortest controlled 10-90 % descent (s), or None (off)."""


# Defaults at L1/T12, scaled by placement (core.conventions.PLACEMENT_SCALE):
#  - lumbar_rounding 20 deg: about half the ~40 deg lumbar forward-bending range
#    (docs/references.md#lumbopelvic-rhythm), well above the 5-12 deg of a neutral hinge.
#  - with a maximum-flexion calibration: 60 % of the person's maximum (research systems
#    beep at 60-70 %, docs/references.md#michaud-2021 use 70 %).
#  - top_overextension 8 deg of lumbar extension at the top: leaning back beyond standing
#    instead of finishing tall (docs/references.md#hinge-faults).
#  - too_fast: a controlled descent takes >= 1 s (tempo prescriptions use 2-3 s); the
#    10-90 % span of a smooth (minimum-jerk) movement is 53 % of its duration, so 0.6 s
#    of 10-90 % is about a 1.1 s descent. Off for swings, which are ballistic.
#  - shallow_hinge: lumbar share of the bend above 0.5 at L1/T12 (healthy full forward
#    bending is about 40/(40+70) = 0.36 lumbar, docs/references.md#lumbopelvic-rhythm; a
#    hinge should be far lower), 0.6 at T8, 0.7 at the neck (the whole spine's share), for
#    bends of at least 30 deg.
LUMBAR_ROUNDING_DEG = 20.0
MAX_FLEXION_SHARE = 0.60
TOP_OVEREXTENSION_DEG = 8.0
TOO_FAST_S = 0.6
SHALLOW_SHARE: dict[str, float | None] = {"L1": 0.5, "T12": 0.5, "T8": 0.6, "neck": 0.7, "camera": None}
#  - squatting (camera): knee flexion at the bottom at least equal to hip flexion. A hinge
#    moves at the hips with soft knees (knee/hip well under 1; a kettlebell deadlift from
#    the floor bends the knees more, 0.6-0.9 in the sample clips); a squat flexes knees
#    and hips together, about 1:1 or more (the knees travel forward, the hips drop).
#  - neck_craning (camera): the head extended more than 30 deg against the trunk beyond
#    standing. A neutral neck tips the head with the trunk; the usual cue "eyes on the
#    floor 1-2 m ahead" allows 20-30 deg of extension at a 45-60 deg trunk inclination,
#    and camera joint angles err by 4-17 deg (docs/references.md#camera-angle-error):
#    30 deg is clear craning.
#  - lumbar_rounding (camera): the virtual dowel's own criterion (pose.dowel,
#    docs/references.md#dowel-check): the back's bow from the hip-shoulder line beyond
#    twice its standing value, passed in as ``camera_rounding_deg``; the IMU degrees do not
#    apply to it.
SQUAT_KNEE_HIP_RATIO = 1.0
NECK_EXTENSION_DEG = 30.0


def _rounding(placement: str, max_flexion_deg: float | None, share_of_max: float,
              lumbar_rounding_deg: float | None, camera_rounding_deg: float | None) -> tuple[float, str]:
    """The lumbar_rounding threshold (deg) and its source, in order of precedence: set by
    hand, the camera's own criterion, a share of the calibrated maximum, the default."""
    if lumbar_rounding_deg is not None:
        return lumbar_rounding_deg, "set by hand"
    if placement == CAMERA and camera_rounding_deg is not None:
        return (camera_rounding_deg,
                "camera: the back bows beyond twice its standing distance from the hip-shoulder line")
    if max_flexion_deg is not None and max_flexion_deg > 10.0:
        return (share_of_max * max_flexion_deg,
                f"{share_of_max:.0%} of the calibrated maximum flexion {max_flexion_deg:.0f} deg")
    return LUMBAR_ROUNDING_DEG * PLACEMENT_SCALE[placement], f"default for the {placement} placement"


def default_thresholds(placement: str, *, max_flexion_deg: float | None = None,
                       exercise: str = DEFAULT_EXERCISE, share_of_max: float = MAX_FLEXION_SHARE,
                       too_fast_s: float | None = TOO_FAST_S,
                       lumbar_rounding_deg: float | None = None,
                       camera_rounding_deg: float | None = None) -> Thresholds:
    """The thresholds for an upper sensor at ``placement`` (a key of PLACEMENTS) doing
    ``exercise``: the defaults scaled by placement, with lumbar_rounding set by hand
    (``lumbar_rounding_deg``), by the camera's criterion (``camera_rounding_deg``) or as
    ``share_of_max`` of the calibrated ``max_flexion_deg``. Raises ParameterError for an
    unknown exercise or a share outside 0.2-1.0."""
    if exercise not in EXERCISES:
        raise ParameterError("exercise", f"one of {', '.join(EXERCISES)}", exercise)
    if not 0.2 <= share_of_max <= 1.0:
        raise ParameterError("share of maximum flexion", "0.2 to 1.0", share_of_max)
    scale = PLACEMENT_SCALE[placement]
    rounding, src = _rounding(placement, max_flexion_deg, share_of_max, lumbar_rounding_deg,
                              camera_rounding_deg)
    return Thresholds(
        lumbar_rounding_deg=rounding, lumbar_rounding_source=src,
        top_overextension_deg=TOP_OVEREXTENSION_DEG * scale,
        too_fast_s=None if exercise == Exercise.swing else too_fast_s,
        shallow_share=SHALLOW_SHARE[placement],
        squat_knee_hip_ratio=SQUAT_KNEE_HIP_RATIO if placement == CAMERA else None,
        neck_extension_deg=NECK_EXTENSION_DEG if placement == CAMERA else None,
    )


def thresholds_for(placement: str, settings: ThresholdSettings, *, max_flexion_deg: float | None = None,
                   camera_rounding_deg: float | None = None) -> Thresholds:
    """The thresholds for this placement and these settings (exercise, share of maximum,
    a hand-set lumbar_rounding, too_fast): the one constructor the offline analysis, the
    live session and the store share."""
    return default_thresholds(placement, max_flexion_deg=max_flexion_deg, exercise=settings.exercise,
                              share_of_max=settings.share_of_max, too_fast_s=settings.too_fast_s,
                              lumbar_rounding_deg=settings.lumbar_rounding_deg,
                              camera_rounding_deg=camera_rounding_deg)


OPS: dict[str, Callable[[float, float], bool]] = {">": operator.gt, "<": operator.lt}


@dataclass(frozen=True)
class FaultRule:
    """One form fault: ``metric`` (a RepMetrics field) compared by ``op`` with the
    ``threshold`` (a Thresholds field; None there turns the rule off), only when the
    optional ``guard`` (metric, op, Thresholds field) holds."""

    id: str
    channels: tuple[str, ...]
    metric: str
    op: str  # ">" or "<"
    threshold: str
    message: str
    source: str = ""  # where the default comes from
    guard: tuple[str, str, str] | None = None

    def applies(self, m: RepMetrics, th: Thresholds) -> bool:
        """Whether the rep ``m`` breaks this rule under ``th``."""
        limit = getattr(th, self.threshold)
        if limit is None:
            return False
        if self.guard is not None:
            g_metric, g_op, g_limit = self.guard
            if not OPS[g_op](getattr(m, g_metric), getattr(th, g_limit)):
                return False
        value = float(getattr(m, self.metric))
        return bool(np.isfinite(value)) and OPS[self.op](value, limit)


# The common mistakes of the hinge: docs/references.md#hinge-faults
FAULT_RULES: tuple[FaultRule, ...] = (
    FaultRule("lumbar_rounding", ("lumbar_flexion_deg",), "peak_lumbar_flexion_deg", ">", "lumbar_rounding_deg",
              "Your lower back rounded. Keep it flat: push the hips back and bend less far.",
              "20 deg at L1/T12, or 60 % of calibrated maximum flexion"),
    FaultRule("top_overextension", ("lumbar_flexion_deg",), "top_extension_deg", ">", "top_overextension_deg",
              "You leaned back at the top. Finish tall: squeeze the glutes, ribs down.",
              "8 deg of lumbar extension at L1/T12"),
    FaultRule("too_fast", ("trunk_inclination_deg",), "descent_s", "<", "too_fast_s",
              "That was fast. Lower with control, about two seconds down.",
              "descent 10-90 % under 0.6 s (about 1 s in all); off for swings"),
    FaultRule("shallow_hinge", ("pelvis_tilt_deg", "trunk_inclination_deg"), "lumbar_share", ">", "shallow_share",
              "The bend came from your back, not your hips. Push the hips back first.",
              "lumbar share of the bend above 0.5 at L1/T12",
     guard=("peak_trunk_inclination_deg", ">", "min_bend_for_share_deg")),
    FaultRule("squatting", ("knee_flexion_deg", "hip_flexion_deg"), "knee_hip_ratio", ">", "squat_knee_hip_ratio",
              "That was a squat, not a hinge. Keep the shins nearly vertical and push the hips back.",
              "camera: knee flexion at least equal to hip flexion at the bottom"),
    FaultRule("neck_craning", ("neck_flexion_deg",), "peak_neck_extension_deg", ">", "neck_extension_deg",
              "You craned your neck. Keep the head in line with the back: eyes to the floor ahead.",
              "camera: head extended over 30 deg against the trunk"),
)
FAULT_IDS = tuple(r.id for r in FAULT_RULES)
MESSAGES = {r.id: r.message for r in FAULT_RULES}


def _crossing_time(t: np.ndarray, x: np.ndarray, level: float) -> float:
    """The first time ``x`` reaches ``level`` (the last time when it never does)."""
    k = np.flatnonzero(x >= level)
    return float(t[k[0]]) if k.size else float(t[-1])


def _channel(angles: TimeSeries, name: str) -> np.ndarray:
    """The channel, or NaN throughout when the sensor does not measure it."""
    return angles[name] if name in angles else np.full(len(angles), np.nan)


def rep_metrics(angles: TimeSeries, reps: Sequence[Rep], top_window_s: float = 1.5,
                rep_channel: str = "trunk_inclination_deg") -> list[RepMetrics]:
    """Per-rep metrics. The top is the ``top_window_s`` after the rep (or up to the next
    one). Extension at the top is measured from the calibrated neutral (zero), or from
    the standing posture in the half second before the rep when that is more extended: if
    the zero has drifted into extension (posture drift, a re-strapped belt), measuring
    from zero would call every finish a lean-back. The descent is timed on the rep signal
    (``rep_channel``: trunk inclination for IMUs, hip flexion for the camera)."""
    t = angles.time_s
    lum = angles["lumbar_flexion_deg"]
    pel = _channel(angles, "pelvis_tilt_deg")
    tr = angles["trunk_inclination_deg"]
    sig = angles[rep_channel]
    knee = _channel(angles, "knee_flexion_deg")
    hip = _channel(angles, "hip_flexion_deg")
    neck = _channel(angles, "neck_flexion_deg")
    out = []
    for k, r in enumerate(reps):
        sl = slice(r.start_i, r.end_i + 1)
        b = r.bottom_i
        # the top: from the end of the rep to top_window_s later (or the next rep's start)
        nxt = reps[k + 1].start_i if k + 1 < len(reps) else len(t)
        top_end = min(int(np.searchsorted(t, r.end_s + top_window_s)), nxt)
        top = lum[r.end_i:max(top_end, r.end_i + 1)]
        before = lum[int(np.searchsorted(t, r.start_s - 0.5)):r.start_i + 1]
        reference = min(0.0, float(np.median(before)))
        base = float(np.min(sig[int(np.searchsorted(t, r.start_s - 1.0)):r.start_i + 1]))
        rise = t[r.start_i:b + 1]
        seg = sig[r.start_i:b + 1]
        height = sig[b] - base
        t10 = _crossing_time(rise, seg, base + 0.1 * height)
        t90 = _crossing_time(rise, seg, base + 0.9 * height)
        # the lumbar share of the bend needs segment tilts (IMUs); the camera's dowel angle is
        # not one, so it has none
        share = float(lum[b] / tr[b]) if abs(tr[b]) > 1e-6 and np.isfinite(pel[b]) else float("nan")
        ratio = float(knee[b] / hip[b]) if abs(hip[b]) > 1e-6 else float("nan")
        out.append(RepMetrics(
            r.index, r.start_s, r.bottom_s, r.end_s, r.complete,
            float(np.max(lum[sl])), float(np.max(pel[sl])), float(np.max(tr[sl])), share,
            reference - float(np.min(top)) if r.complete else float("nan"), t90 - t10,
            knee_hip_ratio=ratio, peak_neck_extension_deg=-float(np.min(neck[sl]))))
    return out


def evaluate(metrics: Sequence[RepMetrics], thresholds: Thresholds,
             rules: Sequence[FaultRule] = FAULT_RULES) -> list[RepMetrics]:
    """Each rep with the ids of the rules it breaks."""
    return [replace(m, faults=tuple(r.id for r in rules if r.applies(m, thresholds)))
            for m in metrics]


#: The camera channel whose median rep peak is a camera session's range of hinge.
HIP_FLEXION = "hip_flexion_deg"


class RepSpan(Protocol):
    """A rep's start and end (s, recording time): a ``RepMetrics`` or a stored rep row."""

    @property
    def start_s(self) -> float:
        """The rep's start (s)."""
        ...

    @property
    def end_s(self) -> float:
        """The rep's end (s)."""
        ...


def rep_peak(angles: TimeSeries, channel: str, rep: RepSpan) -> float | None:
    """The largest finite value of ``channel`` from the rep's start to its end (deg), or
    None when the channel is absent or never measured in the rep."""
    if channel not in angles:
        return None
    i0, i1 = np.searchsorted(angles.time_s, [rep.start_s, rep.end_s], side="left")
    seg = angles[channel][i0:i1 + 1]
    seg = seg[np.isfinite(seg)]
    return float(np.max(seg)) if seg.size else None


def median_peak_hip_flexion(angles: TimeSeries, reps: Sequence[RepSpan]) -> float | None:
    """A camera session's range of hinge: the median over ``reps`` (the complete ones) of
    each rep's peak hip flexion (trunk against thigh, deg); None without a hip-flexion
    channel (IMUs) or a rep that measured it."""
    peaks = [p for p in (rep_peak(angles, HIP_FLEXION, m) for m in reps) if p is not None]
    return float(np.median(peaks)) if peaks else None

