"""What a camera clip can and cannot tell: the view, the kind of each rep, which verdicts
were possible, the camera's own timing and neck rules, and one verdict for the clip.

A verdict on the back or the knees needs the sagittal plane, i.e. a side or near-side
view (the outline of a back seen from the front is not the spine's profile, and every
sagittal angle is foreshortened): a rep filmed otherwise carries ``judged: false`` and a
reason that tells the person how to film. Verdicts that need a point the camera did not
see (the ankles for squatting, the head for neck_craning) are listed as not possible,
with the reason, instead of guessed. The view and its limits: ``pose.view``.

Judged: side views with every rule; near-side and oblique views turned toward the camera
(up to 0.55) with the back's shape rule alone (``verdict.judge_rounding``; the dowel's
bow is not used there) and the squat rule, each only in the direction that the angle
cannot fake (docs/references.md#camera-oblique-view):

- A turn about the vertical axis squeezes the picture along the image's x axis, about an
  affine map. The shape rule's score is the signed angle between the lower and upper
  back's lines: an affine map with a positive determinant keeps two lines' order, so
  parallel stays parallel and a hollow stays a hollow; the squat rule compares two angles
  from the vertical (shins, trunk) squeezed alike, tan -> cos(turn) x tan, so their order
  is kept too. Only the sizes shrink, which makes a call harder, not wrong.
- But at an angle the outline is no longer the spine's midline profile: the near flank
  and shoulder blade stand in front of it, and where they are higher than the spine they
  fill the lumbar hollow in the silhouette. They can only add, never dig a hollow: a back
  whose outline keeps its hollow at an angle is not rounded, while an outline that reads
  rounded may be a neutral back seen past its flank. So at an angle a "not rounded"
  reading is a verdict, a "rounded" reading is not: the rep is not judged, with the
  reason, and the clip cannot be called good while one rep reads so. The hollow must be
  clear of the reading's error and of the drift the squeeze gives the rule's windows
  (``AT_ANGLE_DRIFT_DEG``).
- The labelled lifter's oblique takes (``0016X_2``, 0.44-0.45, their backs 46-59 px,
  just under the shape rule's 60 px minimum) with the size minimum lifted: the rounded
  take reads rounded on 10 of 10 reps (+12 to +23 deg: unconfirmed, the set not called
  good); of the other 40 reps, 37 read below 0 (9 of them, the squat take's, clear of
  the error and the drift: judged not rounded), 1 reads +4 against its +4 standing reference (too close),
  and 2 read rounded (+7 and +8 deg, the first rep of the hip-first and the undocumented
  takes, the pick-up from the floor): the direction the argument above says the angle can
  fake, and the one that is not judged. The squat rule: 10 of 10 squatting on the
  knee-dominant take, 0 of 40 on the others.

A rep's own view counts too (its frames' ratios, over the same standing trunk length). A
view turned away from the camera past the side limit (seen from behind) is never judged:
the outline is then the far side of the back, and BlazePose's left/right and facing are
least reliable from behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from hingecoach.core.pose_types import HIP, SHOULDER
from hingecoach.core.timeseries import TimeSeries
from hingecoach.pose.back_shape import BackShape
from hingecoach.pose.camera import CameraResult
from hingecoach.pose.verdict import (
    BackReference,
    RepBackVerdict,
    back_reference,
    bottom_window,
    judge_rounding,
    judge_squat,
)
from hingecoach.pose.view import FILM_HINT, ViewClass, frames_view, standing_trunk_px, worse_view


class Rep(Protocol):
    """What is read of a detected rep (``hingecoach.reps.Rep``): frame indices."""

    @property
    def start_i(self) -> int: ...
    @property
    def bottom_i(self) -> int: ...
    @property
    def end_i(self) -> int: ...
    @property
    def complete(self) -> bool: ...


class RepMetrics(Protocol):
    """What is read of a rep's metrics (``hingecoach.faults.RepMetrics``)."""

    @property
    def faults(self) -> tuple[str, ...]: ...
    @property
    def descent_s(self) -> float: ...

#: Camera too_fast: the 10-90 % of the hips' flexion on the way down in under 0.35 s, a
#: lowering of about 0.65 s in all (10-90 % of a smooth movement is 53 % of it): under
#: twice the ~0.35 s the weight would take to fall freely from the hips to the floor
#: (t = sqrt(2 h / g), h = 0.6 m), i.e. dropped rather than lowered. The controlled
#: kettlebell deadlifts of the labelled clips take 0.43-0.75 s for 10-90 %. A lowering
#: that was not filmed from standing (the clip starts at the bottom or mid-rep) is not
#: timed, and with --exercise deadlift the lowering is not judged at all: in a deadlift
#: from the floor the lift is the pull, and how the bar returns is not the hinge's
#: controlled descent.
CAMERA_TOO_FAST_S = 0.35
#: Camera neck_craning: the gaze (the ear->nose line) lifts more than 20 deg above the
#: person's own level standing gaze while the trunk is bent: the head is craned up to look
#: ahead or up ("craning the neck to look up", the common mistakes:
#: docs/references.md#hinge-faults). Following the trunk down with the eyes on the floor
#: ahead keeps the gaze below level. 20 deg is above the camera's joint-angle errors of
#: 4-17 deg (docs/references.md#camera-angle-error). Only while the trunk is tipped
#: more than 30 deg: standing, looking up is no hinge fault.
CAMERA_GAZE_UP_DEG = 20.0
GAZE_MIN_TRUNK_DEG = 30.0
#: ... held for at least this long: looking up to see ahead takes at least one visual
#: fixation, 200-300 ms (docs/references.md#gaze-fixation), while BlazePose's face
#: landmarks jitter from frame to frame; the highest gaze of single frames moved by up to
#: 18 deg between a labelled clip and its mirror image (the robustness corpus).
GAZE_HOLD_S = 0.2


@dataclass(frozen=True)
class RepJudgement:
    """What could be said about one rep."""

    kind: str  # full, from_bottom, starts_mid_rep, starts_mid_lift, partial
    view: ViewClass
    judged: bool
    not_judged_because: str | None
    not_possible: dict[str, str] = field(default_factory=dict)  # verdict -> why not
    gaze_up_deg: float = float("nan")
    numbers: dict[str, Any] = field(default_factory=dict)  # the scores behind the verdicts

    def short_reason(self) -> str:
        """Why the rep was not judged, in a few words for a table cell (the whole reason is
        ``not_judged_because``)."""
        if not self.view.judgeable:
            return f"{self.view.view} view"
        if self.numbers.get("rounding", {}).get("unconfirmed"):
            return "reads rounded at an angle, unconfirmed"
        return "the back could not be judged"

    def to_json(self) -> dict[str, Any]:
        """The rep's JSON fields added by the camera path."""
        none = {"measure": None, "score": None, "threshold": None}
        return {"kind": self.kind, "view": self.view.view, "side_ratio": _num(self.view.side_ratio),
                "judged": self.judged, "not_judged_because": None if self.judged else self.not_judged_because,
                "not_possible": dict(self.not_possible), "peak_gaze_up_deg": _num(self.gaze_up_deg),
                "rounding": {**none, "error": None, "hollow_below": None, "decided_by": None, "unconfirmed": False,
                             **self.numbers.get("rounding", {})},
                "squat": {**none, **self.numbers.get("squat", {})}}


KIND_MEANING = {
    "full": "standing -> bottom -> standing",
    "from_bottom": "the clip starts at the bottom: bottom -> standing (the lift from the floor)",
    "starts_mid_rep": "the clip starts part-way down: the descent is not all in view",
    "partial": "the clip ends before the return to standing: a partial rep, not counted",
    "starts_mid_lift": "the clip starts part-way up, the bottom not in view: a partial rep, not counted",
}


def _num(x: float | None) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), 3)


def rep_kind(rep: Rep, signal: np.ndarray, enter_deg: float, standing_deg: float) -> str:
    """full, from_bottom (the clip starts bent, beyond the rep's entry level),
    starts_mid_rep (it starts part-way down), starts_mid_lift (an incomplete rep at the
    start: it starts part-way up, ``reps.partial_first_lift``) or partial (no return to
    standing)."""
    if not rep.complete:
        return "starts_mid_lift" if rep.start_i == 0 and signal[0] > enter_deg else "partial"
    if rep.start_i == 0 and signal[0] > enter_deg:
        return "from_bottom"
    if rep.start_i == 0 and signal[0] > standing_deg:
        return "starts_mid_rep"
    return "full"


def gaze_up_deg(angles: TimeSeries, rep: Rep) -> float:
    """The highest lift of the gaze above the level standing gaze held for GAZE_HOLD_S
    during the rep while the trunk is tipped beyond GAZE_MIN_TRUNK_DEG: neck extension
    against the trunk minus the trunk's inclination (degrees; the largest value that the
    gaze stays at or above through a stretch of GAZE_HOLD_S; NaN when the head was not
    seen for that long)."""
    sl = slice(rep.start_i, rep.end_i + 1)
    neck = angles["neck_flexion_deg"][sl]
    trunk = angles["trunk_inclination_deg"][sl]
    t = angles.time_s[sl]
    bent = (trunk > GAZE_MIN_TRUNK_DEG) & np.isfinite(neck)
    if not bent.any():
        return float("nan")
    gaze = np.where(bent, -neck - trunk, np.nan)
    # a stretch with a gap (frames without a pose) is not held: over 1.5 frame steps apart
    max_step = 1.5 * float(np.median(np.diff(t))) if len(t) > 1 else np.inf
    best = float("nan")
    for i in np.flatnonzero(bent):
        j = int(np.searchsorted(t, t[i] + GAZE_HOLD_S - 1e-9))
        if j >= len(t):
            break
        held = gaze[i:j + 1]
        if np.all(np.isfinite(held)) and np.all(np.diff(t[i:j + 1]) <= max_step):
            low = float(held.min())
            best = low if not np.isfinite(best) else max(best, low)
    return best


@dataclass
class ClipVerdict:
    """One verdict for the clip (good, faults or cannot_judge, with reasons) and each
    rep's judgement (complete reps first, then the partial ones, as in the JSON)."""

    verdict: str
    reasons: list[str]
    view: ViewClass
    reps: list[RepJudgement]
    partial: list[RepJudgement]
    reference: str
    rules: dict[str, Any]
    back_reference: BackReference | None = None  # the standing back the rounding rule compared against

    def to_json(self) -> dict[str, Any]:
        """The clip-level verdict block that heads the JSON."""
        return {"clip": self.verdict, "reasons": list(self.reasons), "view": self.view.to_json(),
                "reps": len(self.reps), "judged_reps": sum(j.judged for j in self.reps),
                "partial_reps": len(self.partial), "upright_reference": self.reference,
                "back_reference": _reference_json(self.back_reference), "camera_rules": self.rules}

    def stored_json(self) -> dict[str, Any]:
        """The verdict block and each rep's judgement (complete reps, then the partial ones),
        as a stored session keeps them for its report."""
        return {"verdict": self.to_json(), "reps": [j.to_json() for j in self.reps],
                "partial": [j.to_json() for j in self.partial]}

    def apply_to_json(self, d: dict[str, Any]) -> dict[str, Any]:
        """The analysis JSON with the verdict first and each rep's judgement added."""
        for r, j in zip(d.get("reps", []), self.reps, strict=False):
            r.update(j.to_json())
        for r, j in zip(d.get("incomplete_reps", []), self.partial, strict=False):
            r.update(j.to_json())
        return {"verdict": self.to_json(), **d}


def _reference_json(ref: BackReference | None) -> dict[str, Any]:
    """Which standing back the rounding rule compared against, and its shape."""
    if ref is None:
        return {"source": "none (fewer than 5 upright frames with the back seen)", "frames": 0,
                "bend_deg": None, "bow": None, "hump": None}
    return {"source": ref.source, "frames": ref.frames, "bend_deg": _num(ref.bend_deg),
            "bow": _num(ref.bow), "hump": _num(ref.hump)}


SAGITTAL_FAULTS = ("lumbar_rounding", "squatting", "neck_craning", "top_overextension")


NAN_SHAPE = BackShape(float("nan"), float("nan"), float("nan"), 0.0, float("nan"), np.empty((0, 2)))


@dataclass(frozen=True)
class RepFrames:
    """One rep's frames, its start to its end, as plain sequences: what its back and squat
    verdicts read (``back_verdicts``); from a clip (``rep_frames``) or kept live."""

    time_s: Sequence[float]  # s
    shapes: Sequence[BackShape]  # the back's outline (NAN_SHAPE where not seen)
    hip: Sequence[float]  # hip_flexion_deg, the smoothed channel
    trunk: Sequence[float]  # trunk_inclination_deg
    knee: Sequence[float]  # knee_flexion_deg
    bottom: int  # the rep's bottom, an index into these


def rep_frames(result: CameraResult, rep: Rep) -> RepFrames:
    """``rep``'s frames of a clip's result (its measured frames and smoothed angles)."""
    sl = slice(rep.start_i, rep.end_i + 1)
    a = result.angles
    return RepFrames(a.time_s[sl].tolist(), [m.back or NAN_SHAPE for m in result.frames[sl]],
                     a["hip_flexion_deg"][sl].tolist(), a["trunk_inclination_deg"][sl].tolist(),
                     a["knee_flexion_deg"][sl].tolist(), rep.bottom_i - rep.start_i)


def back_verdicts(rep: RepFrames, view: ViewClass, bow_rounded: bool, reference: BackReference | None,
                  not_possible: dict[str, str], rule: str) -> tuple[bool | None, bool | None, dict[str, Any]]:
    """(rounded, squatting, the numbers behind both) for one rep seen in ``view`` (the
    worse of the rep's and the clip's, ``worse_view``), against the person's standing back
    ``reference``; ``bow_rounded``: the bow's threshold flagged the rep; ``rule``: shape
    or bow (``CameraSettings.rounding_rule``). A verdict that cannot be given goes into
    ``not_possible`` with its reason. The one rule of ``judge_reps`` and of the live
    camera (``live.camera.CameraAngles.judge_rep``).

    Nothing is read from a view that cannot be judged (seen from behind, from the front).
    Rounding: the shape of the back's outline (``verdict.judge_rounding``: the lumbar
    hollow lost); at an angle only the readings the angle cannot fake (``_at_angle``;
    the bow is not used there, whatever ``rule``);
    from the side, when the shape cannot decide (within its measuring error of the
    threshold, the back under 60 px in the image) but the outline was seen in at least
    half the bottom frames, the dowel's bow rule decides (the back bowed beyond twice its
    standing distance from the hip-shoulder line, ``dowel``): it is relative to the
    person's own standing shape, so it needs no resolution or margin of its own.
    Squatting: ``verdict.judge_squat`` (the trunk no more inclined than the shins)."""
    shapes, bottom, ts, depth = list(rep.shapes), rep.bottom, list(rep.time_s), list(rep.hip)
    numbers: dict[str, Any] = {}
    if not view.judgeable:  # nothing of the back or knees is read from this view (view.reason)
        return None, None, numbers
    rounded: bool | None = None
    if "lumbar_rounding" not in not_possible and rule == "bow" and not view.at_angle:
        rounded = bow_rounded
        numbers["rounding"] = {"measure": "back_curvature_deg", "score": None, "threshold": None,
                               "decided_by": "the bow"}
    elif "lumbar_rounding" not in not_possible:
        rv = judge_rounding(shapes, bottom, reference, time_s=ts, side_ratio=view.side_ratio, depth_deg=depth)
        numbers["rounding"] = {"measure": rv.measure, "score": _num(rv.score), "threshold": _num(rv.threshold),
                               "error": _num(rv.error), "decided_by": "back shape"}
        bows = np.array([sh.bow for sh in shapes])[list(bottom_window(len(shapes), bottom, ts, depth))]
        if view.at_angle:  # only the readings the angle cannot fake
            rounded = _at_angle(rv, numbers["rounding"], not_possible)
        elif rv.judged:
            rounded = rv.rounded
        elif np.mean(np.isfinite(bows)) >= 0.5:  # the outline was seen: the bow decides
            rounded = bow_rounded
            numbers["rounding"]["decided_by"] = f"the bow ({rv.not_judged_because})"
        else:
            not_possible["lumbar_rounding"] = rv.not_judged_because or "not judged"
    squatting: bool | None = None
    if "squatting" not in not_possible:
        sq = judge_squat(list(rep.trunk), depth, list(rep.knee), None, bottom, side_ratio=view.side_ratio)
        numbers["squat"] = {"measure": sq.measure, "score": _num(sq.score), "threshold": _num(sq.threshold)}
        if sq.judged:
            squatting = sq.squatting
        else:
            not_possible["squatting"] = sq.not_judged_because or "not judged"
    return rounded, squatting, numbers


def camera_faults(faults: Sequence[str], rounded: bool | None, squatting: bool | None, judged: bool
                  ) -> tuple[str, ...]:
    """A rep's faults with lumbar_rounding and squatting as ``back_verdicts`` decided them,
    none that needs the side view when the rep was not judged (``SAGITTAL_FAULTS``), in
    the camera's fault order."""
    kept = [f for f in faults if f not in ("lumbar_rounding", "squatting")]
    kept += ["lumbar_rounding"] * bool(rounded) + ["squatting"] * bool(squatting)
    if not judged:
        kept = [f for f in kept if f not in SAGITTAL_FAULTS]
    return tuple(f for f in _ORDER if f in kept)


#: At an angle the shape rule's windows slide along the back: its rays are perpendicular to
#: the trunk line in the image, not in the body, and a turn shears one against the other.
#: In the planar camera simulator (``testing.camera_sim``) squeezed by cos(turn), the lowest
#: reading of a back that reads rounded from the side is -3.1 deg at a 46 deg turn, -5.3
#: at 53 deg and -6.0 at 60 deg (tests/pose/test_oblique.py); the oblique limit 0.55 is a
#: turn of 45 deg by the body's proportions, about 58 deg by BlazePose's landmarks
#: (docs/references.md#camera-oblique-view). A hollow at an angle must be below -(error +
#: this), -7 deg at the least: clear of that drift up to a 60 deg turn.
AT_ANGLE_DRIFT_DEG = 5.0


def _at_angle(rv: RepBackVerdict, numbers: dict[str, Any], not_possible: dict[str, str]) -> bool | None:
    """The back's verdict from the shape rule's reading at an angle (beyond the side
    limit; see the module's docstring): not rounded only when the outline shows the lumbar
    hollow (the bend below 0 by more than its error and AT_ANGLE_DRIFT_DEG, whatever the
    standing reference); a
    rounded reading is recorded as ``unconfirmed`` and not judged; anything between is not
    judged. Returns False or None (never True)."""
    numbers["decided_by"] = "back shape at an angle (a clear lumbar hollow only)"
    if rv.judged and rv.rounded:
        numbers["unconfirmed"] = True
        not_possible["lumbar_rounding"] = (
            f"the back's outline reads rounded (bend {rv.score:+.1f} deg, threshold {rv.threshold:+.1f}), "
            "but at this angle a rounded back and a neutral one seen past its side can look alike: "
            f"{FILM_HINT}, to check it")
        return None
    bound = -(rv.error + AT_ANGLE_DRIFT_DEG)
    numbers["hollow_below"] = _num(bound)
    if np.isfinite(rv.score) and rv.score < bound:
        return False
    if np.isfinite(rv.score):
        why = (f"the back's outline shows no clear lumbar hollow (bend {rv.score:+.1f} deg; at an angle "
               f"a hollow must be below {bound:+.1f}, its error and the angle's drift): {FILM_HINT}")
    else:
        why = f"{rv.not_judged_because} (seen at an angle: only the back's shape is used)"
    not_possible["lumbar_rounding"] = why
    return None


def clip_back_reference(result: CameraResult, source: str = "upright frames in the clip"
                        ) -> BackReference | None:
    """The person's standing back shape from a clip's upright frames with the back seen
    (``verdict.back_reference``; None when there are fewer than 5 such frames)."""
    return back_reference([m.back or NAN_SHAPE for m in result.frames], [m.hip for m in result.frames],
                          [m.trunk for m in result.frames], source=source)


def judge_reps(result: CameraResult, reps: Sequence[Rep], metrics: Sequence[RepMetrics], *,
               exercise: str, enter_deg: float, standing_deg: float,
               too_fast_s: float | None = CAMERA_TOO_FAST_S, gaze_up_max_deg: float = CAMERA_GAZE_UP_DEG,
               rep_channel: str = "hip_flexion_deg", reference: BackReference | None = None,
               rounding_rule: str = "shape") -> tuple[list[tuple[tuple[str, ...], float]], list[RepJudgement]]:
    """Each rep's faults and descent time (NaN when the descent is not timed) with the
    camera's rounding, squat, timing and neck rules applied, and its judgement; a rep is
    judged when the back's verdict could be given (a judgeable view, ``view.ViewClass``,
    the outline seen); faults that need the side view, squatting too, are dropped from a
    rep that was not judged. ``reference``: the
    person's standing back (``--reference``), else their own upright frames in the clip."""
    angles = result.angles
    signal = angles[rep_channel]
    trunk_px = standing_trunk_px(result.frames)
    clip_view = frames_view(result.frames)
    if reference is None:
        reference = clip_back_reference(result)
    out_m: list[tuple[tuple[str, ...], float]] = []
    out_j: list[RepJudgement] = []
    rotated = rotated_picture(result)
    for rep, m in zip(reps, metrics, strict=True):
        kind = rep_kind(rep, signal, enter_deg, standing_deg)
        view = worse_view(frames_view(result.frames[rep.start_i:rep.end_i + 1], trunk_px), clip_view)
        not_possible = {verdict: result.unavailable[ch] for ch, (verdict, _) in _NEEDS.items()
                        if ch in result.unavailable}
        if rotated:
            not_possible["lumbar_rounding"] = not_possible["squatting"] = rotated
        rounded, squatting, numbers = back_verdicts(rep_frames(result, rep), view, "lumbar_rounding" in m.faults,
                                                    reference, not_possible, rounding_rule)
        faults = [f for f in m.faults if f not in ("too_fast", "neck_craning")]
        descent_timed = kind == "full" and exercise != "deadlift"
        if exercise == "swing" or too_fast_s is None:
            not_possible["too_fast"] = "the descent is not timed (swings are ballistic, or the rule is off)"
        elif not descent_timed:
            not_possible["too_fast"] = ("the lowering of a deadlift from the floor is not timed"
                                        if exercise == "deadlift" else "the descent from standing is not "
                                        "in the clip")
        elif np.isfinite(m.descent_s) and m.descent_s < too_fast_s:
            faults.append("too_fast")
        gaze = gaze_up_deg(angles, rep)
        if "neck_craning" not in not_possible and np.isfinite(gaze) and gaze > gaze_up_max_deg:
            faults.append("neck_craning")
        judged = view.judgeable and rounded is not None
        if not judged and squatting is not None:
            not_possible["squatting"] = ("given only with the back's verdict, which was not possible "
                                         "for this rep")
        why = None if judged else (rotated or (view.reason() if not view.judgeable
                                               else not_possible["lumbar_rounding"]))
        out_m.append((camera_faults(faults, rounded, squatting, judged),
                      m.descent_s if descent_timed else float("nan")))
        out_j.append(RepJudgement(kind, view, judged, why, not_possible, gaze, numbers))
    return out_m, out_j


#: A picture where the shoulders are above the hips in fewer of the frames than this is
#: sideways or upside down (a hinge tips the trunk to horizontal only at its bottom).
MIN_UPRIGHT_SHARE = 0.5


def rotated_picture(result: CameraResult) -> str | None:
    """Why the picture cannot be judged when it is sideways or upside down (a phone's
    rotation lost), else None."""
    side = result.orientation.side
    up = [m.xy[SHOULDER[side], 1] < m.xy[HIP[side], 1] for m in result.frames]
    share = float(np.mean(up)) if up else 1.0
    if share >= MIN_UPRIGHT_SHARE:
        return None
    return (f"the picture is sideways or upside down (the shoulders are above the hips in {share:.0%} of "
            "the frames): film with the phone upright, or keep the rotation it writes into the file")


#: channel not measured -> (the verdict it takes away, the point it needs)
_NEEDS = {"lumbar_flexion_deg": ("lumbar_rounding", "the back's outline"),
          "knee_flexion_deg": ("squatting", "the ankles"),
          "neck_flexion_deg": ("neck_craning", "the head")}
_ORDER = ("lumbar_rounding", "top_overextension", "too_fast", "shallow_hinge", "squatting", "neck_craning")


def clip_verdict(result: CameraResult, reps: Sequence[RepMetrics], judgements: Sequence[RepJudgement],
                 partial: Sequence[RepJudgement], too_fast_s: float | None = CAMERA_TOO_FAST_S,
                 back_reference: BackReference | None = None) -> ClipVerdict:
    """good (judged reps, none with a fault), faults (a judged rep with a fault) or
    cannot_judge (no rep, or none judged), with the reasons; ``back_reference``: the
    standing back the reps were judged against (recorded in the verdict block)."""
    view = frames_view(result.frames)
    reasons: list[str] = []
    judged = [(m, j) for m, j in zip(reps, judgements, strict=True) if j.judged]
    if not reps:
        verdict = "cannot_judge"
        reasons.append("no complete rep found (a rep goes from standing to the bottom and back, or, "
                       "from the floor, to standing)" + (f"; {len(partial)} partial rep(s)" if partial else ""))
    elif not judged:
        verdict = "cannot_judge"
        reasons += sorted({j.not_judged_because or "" for j in judgements})
    else:
        verdict = "faults" if any(m.faults for m, _ in judged) else "good"
        unconfirmed = [i for i, j in enumerate(judgements, 1) if j.numbers.get("rounding", {}).get("unconfirmed")]
        if verdict == "good" and unconfirmed:
            # a back that may be rounded is not called good
            verdict = "cannot_judge"
            which = (f"rep {unconfirmed[0]} reads" if len(unconfirmed) == 1 else
                     f"reps {', '.join(map(str, unconfirmed[:-1]))} and {unconfirmed[-1]} read")
            reasons.append(f"{which} rounded at an angle that cannot confirm it, so the set is not called "
                           f"good: {FILM_HINT}")
        if len(judged) < len(reps):
            reasons.append(f"{len(reps) - len(judged)} of {len(reps)} reps not judged: "
                           + "; ".join(sorted({j.not_judged_because or "" for j in judgements if not j.judged})))
    # a verdict not possible for the reason its rep was not judged is said once, above
    missing = sorted({f"{k}: {v}" for j in judgements for k, v in j.not_possible.items()
                      if v != j.not_judged_because})
    reasons += [f"not possible: {x}" for x in missing]
    rules = {"too_fast_s": too_fast_s,
             "too_fast_source": "10-90 % of the hips' flexion on the way down under 0.35 s (about "
                                "0.65 s in all, under twice a free fall from the hips to the floor); "
                                "not timed when the descent from standing is not filmed or with "
                                "--exercise deadlift",
             "gaze_up_deg": CAMERA_GAZE_UP_DEG,
             "gaze_up_source": "neck_craning: the gaze lifted more than 20 deg above the level standing "
                               "gaze, held for 0.2 s (one visual fixation), while the trunk is bent over "
                               "30 deg (camera angle errors 4-17 deg)",
             "at_angle_hollow_margin_deg": AT_ANGLE_DRIFT_DEG,
             "at_angle_source": "near-side and oblique views turned toward the camera: not rounded only when "
                                "the outline shows the lumbar hollow (bend below -(its error + 5 deg)); a "
                                "rounded reading is unconfirmed and keeps the set from being called good",
             "kinds": KIND_MEANING}
    return ClipVerdict(verdict, reasons, view, list(judgements), list(partial), result.reference_source, rules,
                       back_reference)
