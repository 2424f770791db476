"""The camera's view of the person: how far the body is turned from the side, and which
way; from the landmarks' own numbers, medians over the frames (a clip's, a rep's, or a
live session's so far).

View (``classify_view``), from the landmarks' own numbers, medians over the frames:

- how far the body is turned from the side: the left-right separation of the shoulders
  and of the hips over the trunk length (a clip's: each frame's own,
  ``keypoints.side_view_ratio``; a rep's: the person's standing trunk length,
  ``view_ratios``, since the trunk's length in the image shrinks when it tips toward the
  camera at the bottom of a hinge and the shoulders' and hips' left-right separation does
  not), about 0 from the side; a turn of theta separates them by about sin(theta) x
  (shoulder and hip width over trunk length), 0.78 by the body's segment proportions
  (docs/references.md#camera-view-angle), less for BlazePose's joint-centre
  landmarks (facing views measure 0.57-0.69 on the wild clips: 0.55 is then a turn of
  about 58 deg). Up to 0.35 is a side view (a turn of ~25 deg
  by the proportions; the camera's angle errors are 4-17 deg,
  docs/references.md#camera-angle-error); up to 0.45 near-side; up to 0.55 oblique;
  beyond it the person faces the camera or turns their back to it.
- which way: toward the camera (the chest) or away (the back), from two independent
  cues that agree on every labelled and wild clip: the left-right order of the shoulders
  and hips in the image (``keypoints.turn_toward_camera``: a person facing the camera
  shows their left side on the image right) and whether the nose is nearer the camera
  than the ears (``keypoints.nose_depth``). In a side view both are noise around 0; past
  the side limit they are clear.

A rep's view is its frames' ratios over the person's standing trunk length, and the worse
of it and the clip's (``worse_view``). ``frames_view`` reads measured frames
(``camera.FrameMeasure``); ``view_of`` the same numbers kept as plain sequences (the live
camera keeps them frame by frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hingecoach.pose.keypoints import separation_px, trunk_px
from hingecoach.pose.verdict import MIN_REFERENCE_FRAMES, OBLIQUE_MAX_RATIO, UPRIGHT_HIP_DEG, UPRIGHT_TRUNK_DEG

SIDE_MAX_RATIO = 0.35
NEAR_SIDE_MAX_RATIO = 0.45
FILM_HINT = "film from the side, at hip height, whole body in view"


@dataclass(frozen=True)
class ViewClass:
    """The camera's view of the person: side, near-side, oblique or front/back, which way
    the body is turned, with the numbers behind it."""

    view: str
    side_ratio: float  # median left-right separation / trunk length
    side_frames_share: float  # share of the frames that look like a side view (ratio <= 0.35)
    turned: str = "unknown"  # toward (the chest to the camera), away (the back), unclear, unknown
    turn: float = float("nan")  # median keypoints.turn_toward_camera
    nose_depth: float = float("nan")  # median keypoints.nose_depth

    @property
    def judgeable(self) -> bool:
        """The back and knee verdicts need a side view, or a near-side or oblique one turned
        toward the camera (there in the direction the angle cannot fake only)."""
        return self.view in ("side", "near-side") or (self.view == "oblique" and self.turned == "toward")

    @property
    def at_angle(self) -> bool:
        """Beyond the side limit: the outline is not the spine's midline profile."""
        return self.view != "side"

    def reason(self) -> str:
        """Why the back and knees were not judged, and how to film instead."""
        if self.view == "front/back":
            seen = {"away": "from behind", "toward": "from the front"}.get(self.turned, "from the front or back")
        elif self.turned == "away":
            seen = "from behind at an angle"
        elif self.view == "oblique" and self.turned in ("unclear", "unknown"):
            seen = "at an angle (oblique) without telling whether from the front or from behind"
        else:
            seen = "at an angle (oblique)"
        return (f"the camera saw the lifter {seen}, not from the side (left and right shoulders and hips "
                f"over {SIDE_MAX_RATIO:g} of the trunk length apart, or over {OBLIQUE_MAX_RATIO:g} turned "
                f"toward the camera): {FILM_HINT}")

    def to_json(self) -> dict[str, Any]:
        """The view, with its numbers and the limits it was classified by."""
        return {"view": self.view, "side_ratio": _num(self.side_ratio),
                "side_frames_share": round(self.side_frames_share, 3), "turned": self.turned,
                "turn": _num(self.turn), "nose_depth": _num(self.nose_depth),
                "limits": {"side": SIDE_MAX_RATIO, "near-side": NEAR_SIDE_MAX_RATIO,
                           "oblique": OBLIQUE_MAX_RATIO}}


def _median(x: Sequence[float] | np.ndarray | None) -> float:
    if x is None:
        return float("nan")
    a = np.asarray(x, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else float("nan")


def turned_way(turn: float, nose: float) -> str:
    """toward (the chest to the camera), away (the back) or unclear, from the medians of
    ``keypoints.turn_toward_camera`` and ``keypoints.nose_depth`` (NaN: not seen); a cue
    that is not seen does not vote, cues that disagree give unclear."""
    votes = {float(np.sign(turn)) if np.isfinite(turn) else 0.0, float(-np.sign(nose)) if np.isfinite(nose) else 0.0}
    votes.discard(0.0)
    if len(votes) != 1:
        return "unclear" if votes else "unknown"
    return "toward" if votes.pop() > 0 else "away"


def classify_view(ratios: Sequence[float] | np.ndarray, turns: Sequence[float] | np.ndarray | None = None,
                  nose_depths: Sequence[float] | np.ndarray | None = None) -> ViewClass:
    """The view from per-frame ``side_view_ratio`` values (NaN/inf ignored) and, when
    given, per-frame ``turn_toward_camera`` and ``nose_depth``: beyond the side limit a
    near-side view must be turned toward the camera (else it is oblique)."""
    r = np.asarray(ratios, dtype=np.float64)
    r = r[np.isfinite(r)]
    turn, nose = _median(turns), _median(nose_depths)
    way = turned_way(turn, nose) if turns is not None else "unknown"
    if r.size == 0:
        return ViewClass("front/back", float("nan"), 0.0, way, turn, nose)
    med = float(np.median(r))
    share = float(np.mean(r <= SIDE_MAX_RATIO))
    if med <= SIDE_MAX_RATIO:
        view = "side"
    elif med <= NEAR_SIDE_MAX_RATIO and way in ("toward", "unknown"):
        view = "near-side"
    elif med <= OBLIQUE_MAX_RATIO:
        view = "oblique"
    else:
        view = "front/back"
    return ViewClass(view, med, share, way, turn, nose)



def _num(x: float | None) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), 3)


def standing_trunk_px(frames: Sequence[Any]) -> float:
    """The person's shoulder-to-hip length in the image (px, both sides' mean) standing
    upright: the median over the upright frames (hips < 20 deg, trunk < 15 deg, as
    ``verdict.back_reference``); NaN when fewer than MIN_REFERENCE_FRAMES."""
    up = [m for m in frames if abs(m.hip) < UPRIGHT_HIP_DEG and abs(m.trunk) < UPRIGHT_TRUNK_DEG]
    return standing_length([trunk_px(m.xy) for m in up])


def standing_length(lengths: Sequence[float]) -> float:
    """The median of the upright frames' trunk lengths (px; NaN and 0 left out); NaN when
    fewer than MIN_REFERENCE_FRAMES remain (``standing_trunk_px``)."""
    a = np.array(lengths, dtype=np.float64)
    a = a[np.isfinite(a) & (a > 0)]
    return float(np.median(a)) if a.size >= MIN_REFERENCE_FRAMES else float("nan")


def view_ratios(frames: Sequence[Any], trunk_px: float) -> np.ndarray:
    """Each frame's left-right separation of the shoulders and of the hips over
    ``trunk_px``, the person's standing trunk length (``standing_trunk_px``): a hinge tips
    the trunk toward an oblique camera and shortens it in the image, which would inflate
    ``keypoints.side_view_ratio`` at the bottom of every rep; the separation along the
    body's left-right axis does not change with the bend. Without a standing length, the
    frames' own ``side_ratio``."""
    if not (np.isfinite(trunk_px) and trunk_px > 0):
        return np.array([m.side_ratio for m in frames], dtype=np.float64)
    return np.asarray([separation_px(m.xy) for m in frames], dtype=np.float64) / trunk_px


_VIEW_RANK = {"side": 0, "near-side": 1, "oblique": 2, "front/back": 3}


def worse_view(rep: ViewClass, clip: ViewClass) -> ViewClass:
    """A rep's view: the clip's unless the rep's own is further from the side or not
    judgeable (the lifter turned during the clip). The camera and lifter stay put, so one
    side-looking rep in a clip filmed from behind or at an angle is not judged as a side
    view. The clip's ratio is over each frame's own trunk length, which the bottom of a
    hinge foreshortens (it errs toward oblique); the rep's is over the standing trunk
    length (``view_ratios``), so the bottom does not push a rep past the limits."""
    if not rep.judgeable and clip.judgeable:
        return rep
    return rep if _VIEW_RANK[rep.view] > _VIEW_RANK[clip.view] else clip


def frames_view(frames: Sequence[Any], trunk_px: float = float("nan")) -> ViewClass:
    """``classify_view`` over measured frames (``camera.FrameMeasure``), their separation
    over ``trunk_px`` (``view_ratios``)."""
    return classify_view(view_ratios(frames, trunk_px), [m.turn for m in frames],
                         [m.nose_depth for m in frames])


def view_of(side_ratios: Sequence[float], separations: Sequence[float], turns: Sequence[float],
            nose_depths: Sequence[float], trunk_px: float = float("nan")) -> ViewClass:
    """``frames_view`` from the frames' numbers kept as plain sequences: each frame's
    ``side_ratio``, ``separation_px``, ``turn`` and ``nose_depth``; the separations over
    ``trunk_px`` when it is known, else the side ratios."""
    if np.isfinite(trunk_px) and trunk_px > 0:
        ratios = np.asarray(separations, dtype=np.float64) / trunk_px
    else:
        ratios = np.asarray(side_ratios, dtype=np.float64)
    return classify_view(ratios, turns, nose_depths)
