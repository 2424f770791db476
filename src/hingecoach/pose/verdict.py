"""Per-rep judgements from the camera: is the back rounded, is the rep a squat.

Each judgement says whether it could judge at all (``judged``), and if not, why
(``not_judged_because``), rather than guess: a back that is not seen well enough, or a
view that is not from the side, gives no verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hingecoach.pose.back_shape import BackShape
from hingecoach.pose.dowel import ROUNDING_BOW_RATIO

NAN = float("nan")


@dataclass(frozen=True)
class BackReference:
    """The person's own standing back shape (medians over upright frames)."""

    hump: float
    bow: float
    bend_deg: float
    frames: int
    source: str


@dataclass(frozen=True)
class RepBackVerdict:
    """Whether one rep's back rounded; ``score > threshold`` is rounded."""

    judged: bool
    rounded: bool | None
    score: float
    threshold: float
    not_judged_because: str | None
    measure: str
    margin: float  # score - threshold, NaN when not judged


@dataclass(frozen=True)
class RepSquatVerdict:
    """Whether one rep was a squat rather than a hinge; ``score > threshold`` is a squat."""

    judged: bool
    squatting: bool | None
    score: float
    threshold: float
    not_judged_because: str | None
    measure: str
    margin: float


#: Upright: hips and trunk within the keypoint error range of standing (as camera.py).
UPRIGHT_HIP_DEG = 20.0
UPRIGHT_TRUNK_DEG = 15.0
MIN_REFERENCE_FRAMES = 5


def back_reference(shapes: Sequence[BackShape], hip_flexion_deg: Sequence[float],
                   trunk_inclination_deg: Sequence[float], *, source: str = "reference clip"
                   ) -> BackReference | None:
    """The median back shape over the upright frames (hips < 20 deg, trunk < 15 deg) with
    the back seen; None when fewer than 5 such frames."""
    hip = np.asarray(hip_flexion_deg, dtype=np.float64)
    tr = np.asarray(trunk_inclination_deg, dtype=np.float64)
    up = [sh for sh, h, t in zip(shapes, hip, tr, strict=True)
          if abs(h) < UPRIGHT_HIP_DEG and abs(t) < UPRIGHT_TRUNK_DEG and np.isfinite(sh.bow)]
    if len(up) < MIN_REFERENCE_FRAMES:
        return None

    def med(name: str) -> float:
        v = np.array([getattr(sh, name) for sh in up], dtype=np.float64)
        v = v[np.isfinite(v)]
        return float(np.median(v)) if v.size else NAN

    return BackReference(med("hump"), med("bow"), med("bend_deg"), len(up), source)


def _not_judged(why: str, measure: str, threshold: float) -> RepBackVerdict:
    return RepBackVerdict(False, None, NAN, threshold, why, measure, NAN)


def judge_rounding(shapes: Sequence[BackShape], bottom: int, reference: BackReference | None = None,
                   *, trunk_inclination_deg: Sequence[float] | None = None,
                   side_ratio: float | None = None) -> RepBackVerdict:
    """Version 0, today's rule: the bow at the bottom over the reference's standing bow,
    rounded above ROUNDING_BOW_RATIO (``dowel``)."""
    measure, threshold = "bow / standing bow", ROUNDING_BOW_RATIO
    if reference is None or not np.isfinite(reference.bow) or reference.bow <= 0:
        return _not_judged("no standing reference", measure, threshold)
    if not 0 <= bottom < len(shapes) or not np.isfinite(shapes[bottom].bow):
        return _not_judged("the back's outline was not found at the bottom", measure, threshold)
    score = shapes[bottom].bow / reference.bow
    return RepBackVerdict(True, bool(score > threshold), score, threshold, None, measure, score - threshold)


def judge_squat(trunk_inclination_deg: Sequence[float], hip_flexion_deg: Sequence[float],
                knee_flexion_deg: Sequence[float], shank_deg: Sequence[float] | None, bottom: int
                ) -> RepSquatVerdict:
    """Version 0, today's rule: knee over hip flexion at the bottom above 1."""
    measure, threshold = "knee / hip flexion", 1.0
    hip, knee = float(hip_flexion_deg[bottom]), float(knee_flexion_deg[bottom])
    if not (np.isfinite(hip) and np.isfinite(knee)) or abs(hip) < 1e-6:
        return RepSquatVerdict(False, None, NAN, threshold, "hip or knee not seen at the bottom", measure, NAN)
    score = knee / hip
    return RepSquatVerdict(True, bool(score > threshold), score, threshold, None, measure, score - threshold)
