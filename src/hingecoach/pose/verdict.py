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
    error: float = NAN  # the score's measuring error (deg), NaN when no score


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


#: The most oblique view judged at all (``view.classify_view``: up to 0.55 oblique), turned
#: toward the camera: about 45 deg by the body's proportions, 58 deg by BlazePose's
#: landmarks (docs/references.md#camera-oblique-view).
OBLIQUE_MAX_RATIO = 0.55


class RoundingRule:
    """The rounding judgement's constants, with their reasons."""

    #: 0 deg: the back's outline from sacrum to neck is one straight line, the lumbar
    #: hollow (lordosis) that a neutral spine keeps under the dowel is gone
    #: (docs/references.md#dowel-check).
    threshold_deg = 0.0
    #: Half a pixel of edge error at each end of a ~15 px line fit tilts it by ~2 deg, and
    #: a line pair by more; a score within max(this, the spread of the bottom frames) of
    #: the threshold is not called.
    min_error_deg = 2.0
    #: Under ~60 px from hip to shoulder the 21 rays along the back are under 3 px apart and
    #: the segmentation edge (a 256 px model output over the whole person) is too coarse.
    min_trunk_px = 60.0
    #: The oblique limit (``OBLIQUE_MAX_RATIO``): beyond it the person faces the camera (or
    #: turns their back to it) and the outline is not the back's profile at all. Between
    #: the side limit and this, ``judgement`` keeps only the readings the angle cannot
    #: fake (see there).
    side_view_max_ratio = OBLIQUE_MAX_RATIO
    min_seen_share = 0.5  # the outline must be found in at least half the bottom frames


#: The bottom window: frames within this of the rep's bottom (a rep's bottom lasts a few
#: tenths of a second; the window evens out single-frame mask flicker).
BOTTOM_HALF_WINDOW_S = 0.15
#: ... and the frames around it whose hip flexion stays within this of the deepest: at the
#: bottom to within the camera's joint-angle error (4-17 deg,
#: docs/references.md#camera-angle-error). A deadlift from the floor pauses there (the
#: reach to the bar, the set-up, the pull): the back is judged over that whole bottom,
#: not at the one frame where the hips happen to flex most.
BOTTOM_DEPTH_DEG = 10.0
#: A clip's first lift that starts in the bend with its deepest hip flexion more than this
#: short of the other lifts' bottoms began part-way up (its bottom not filmed): twice the
#: bottom's own band (BOTTOM_DEPTH_DEG, the camera's joint-angle error), so that reps of
#: one set that differ in depth by the camera's error are still complete.
PARTIAL_START_DEG = 2 * BOTTOM_DEPTH_DEG
#: Squat: keypoint joint angles err by 4-17 deg (docs/references.md#camera-angle-error);
#: a shin-trunk difference within 5 deg of parallel is not called.
SQUAT_ERROR_DEG = 5.0
#: A rep whose hips flex less than this at the bottom is not a bend to judge (walking
#: flexes the hips up to ~30 deg; reps start above 45 deg, ``reps.RepSettings``).
SQUAT_MIN_HIP_DEG = 45.0
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


def bottom_window(n: int, bottom: int, time_s: Sequence[float] | None,
                  depth_deg: Sequence[float] | None = None) -> range:
    """Frames around the bottom: within BOTTOM_HALF_WINDOW_S of it (or +-3 frames), widened
    to the run of frames around it whose ``depth_deg`` (the hips' flexion, when given) is
    within BOTTOM_DEPTH_DEG of the bottom's."""
    if time_s is None:
        lo, hi = max(0, bottom - 3), min(n - 1, bottom + 3)
    else:
        t = np.asarray(time_s, dtype=np.float64)
        sel = np.flatnonzero(np.abs(t - t[bottom]) <= BOTTOM_HALF_WINDOW_S)
        lo, hi = int(sel[0]), int(sel[-1])
    if depth_deg is not None:
        d = np.asarray(depth_deg, dtype=np.float64)
        deep = np.isfinite(d) & (d >= d[bottom] - BOTTOM_DEPTH_DEG) if np.isfinite(d[bottom]) else None
        if deep is not None:
            while lo > 0 and deep[lo - 1]:
                lo -= 1
            while hi < n - 1 and deep[hi + 1]:
                hi += 1
    return range(lo, hi + 1)


def judge_rounding(shapes: Sequence[BackShape], bottom: int, reference: BackReference | None = None,
                   *, time_s: Sequence[float] | None = None, side_ratio: float | None = None,
                   depth_deg: Sequence[float] | None = None) -> RepBackVerdict:
    """Did the back round at this rep's bottom? ``shapes``: the rep's frames, ``bottom``:
    index of its bottom among them, ``time_s``: their times (for the bottom window),
    ``side_ratio``: the rep's median ``keypoints.side_view_ratio`` (None: unknown),
    ``depth_deg``: the hips' flexion of those frames (widens the bottom, ``bottom_window``).

    The score is the median ``bend_deg`` over the bottom frames (``bottom_window``): the
    angle between the lower and upper back's outline lines. Rounded when it exceeds 0 (the
    outline from sacrum to neck has lost its lordotic hollow and is straight or folded
    into one convex arc), or the person's own standing bend when that is above 0 (a back
    is never called rounded for the shape it has standing tall). Not judged, with the
    reason: no side view, the back too small in the image, its outline not found in most
    bottom frames, or the score within the measuring error of the threshold."""
    measure = "bend_deg"
    threshold = RoundingRule.threshold_deg
    if reference is not None and np.isfinite(reference.bend_deg):
        threshold = max(threshold, reference.bend_deg)
    if not 0 <= bottom < len(shapes):
        return _not_judged("no bottom frame", measure, threshold)
    if side_ratio is not None and side_ratio > RoundingRule.side_view_max_ratio:
        return _not_judged(f"turned too far from the side (shoulders and hips {side_ratio:.2f} of the trunk "
                           f"length apart; judged up to {RoundingRule.side_view_max_ratio:g} turned toward the "
                           "camera)", measure, threshold)
    win = bottom_window(len(shapes), bottom, time_s, depth_deg)
    bends = np.array([shapes[i].bend_deg for i in win], dtype=np.float64)
    seen = bends[np.isfinite(bends)]
    if seen.size < max(2, RoundingRule.min_seen_share * len(win)):
        return _not_judged(f"the back's outline was found in {seen.size} of the {len(win)} frames at the bottom",
                           measure, threshold)
    trunk_px = float(np.nanmedian([shapes[i].trunk_px for i in win]))
    if not trunk_px >= RoundingRule.min_trunk_px:
        return _not_judged(f"the back is too small in the image (hip to shoulder {trunk_px:.0f} px; "
                           f"at least {RoundingRule.min_trunk_px:g} px)", measure, threshold)
    score = float(np.median(seen))
    spread = 1.4826 * float(np.median(np.abs(seen - score)))
    error = max(RoundingRule.min_error_deg, spread)
    if abs(score - threshold) < error:
        return RepBackVerdict(False, None, score, threshold,
                              f"too close to call (bend {score:+.1f} deg, threshold {threshold:+.1f}, "
                              f"error +-{error:.1f})", measure, score - threshold, error)
    return RepBackVerdict(True, bool(score > threshold), score, threshold, None, measure, score - threshold,
                          error)


def judge_squat(trunk_inclination_deg: Sequence[float], hip_flexion_deg: Sequence[float],
                knee_flexion_deg: Sequence[float], shank_deg: Sequence[float] | None, bottom: int,
                *, side_ratio: float | None = None) -> RepSquatVerdict:
    """Was the rep a squat rather than a hinge? Inputs are the rep's keypoint angles
    (``keypoints``; ``shank_deg``: knee->ankle from vertical-down, ankle forward +; when
    None it is derived as hip - trunk - knee), ``bottom`` the index of its bottom.

    The score is the shins' forward tilt minus the trunk's forward inclination at the
    bottom (degrees): a squat keeps the trunk parallel to the shins or more upright (the
    knees travel forward, the hips drop, docs/references.md#hinge-faults); a hinge, a
    deadlift from the floor too, tips the trunk well past the shins' angle, however much
    the knees bend (the knee/hip flexion ratio of a floor deadlift reaches 0.6-0.9 and
    more, so it cannot tell them apart). Squatting when the
    score is above 0 by more than the keypoint error."""
    measure, threshold = "shin tilt - trunk inclination (deg)", 0.0
    tr, hip = float(trunk_inclination_deg[bottom]), float(hip_flexion_deg[bottom])
    knee = float(knee_flexion_deg[bottom])
    shank = float(shank_deg[bottom]) if shank_deg is not None else hip - tr - knee
    if not all(np.isfinite(v) for v in (tr, hip, knee, shank)):
        return RepSquatVerdict(False, None, NAN, threshold, "hips, knees or ankles not seen at the bottom",
                               measure, NAN)
    if side_ratio is not None and side_ratio > RoundingRule.side_view_max_ratio:
        return RepSquatVerdict(False, None, NAN, threshold, f"turned too far from the side ({side_ratio:.2f})",
                               measure, NAN)
    if hip < SQUAT_MIN_HIP_DEG:
        return RepSquatVerdict(False, None, NAN, threshold,
                               f"hips flexed only {hip:.0f} deg at the bottom", measure, NAN)
    score = -shank - tr
    if abs(score - threshold) < SQUAT_ERROR_DEG:
        return RepSquatVerdict(False, None, score, threshold,
                               f"too close to call (shins {-shank:.0f} deg, trunk {tr:.0f} deg)",
                               measure, score - threshold)
    return RepSquatVerdict(True, bool(score > threshold), score, threshold, None, measure, score - threshold)
