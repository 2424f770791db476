"""Find the lifter among the people in view and keep the pose model on them.

BlazePose tracks one person: the first it detects, and after a loss whoever it detects
next, anywhere in the frame. With other people in view (a gym, a bench, a mirror,
someone walking through) that can be the wrong one. So every few frames
(``estimator.BlazePose``) the pose model also looks for another person on the frame with
the tracked one blanked out; when there is one, the lifter is chosen and from then on
the pose model is given only a crop around them, which follows them:

- the lifter is the person who does the movement: the largest, the most central and the
  most moving of the people (``choose_lifter``), over the first checks; after that, the
  one that overlaps the lifter's last box (kept consistent through the clip);
- the crop (``LifterCrop``) is the lifter's box grown to hold the whole movement (a
  person standing is about as tall as a hinging one is long) and clipped to the frame;
  it keeps its size and moves only when the lifter's landmarks come near its edge.

With one person in view nothing changes: the pose model sees the whole frame (it crops
its own region of interest around the person it tracks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The crop's side over the lifter's body length (``body_length``, ~0.9 of their height):
#: the lifter standing, or bent with the hips pushed back and the arms and the weight
#: hanging forward (about as long as they are tall), fits with room to move.
CROP_GROW = 1.6
#: A tracked person whose box overlaps the lifter's last box by less than this (of the
#: smaller box) is someone else: between two frames one person's box barely moves.
SAME_PERSON_OVERLAP = 0.3
#: The crop moves when the lifter's landmarks come within this share of its side of an edge.
EDGE_SHARE = 0.08
#: The lifter is chosen afresh at each of the first checks (movement needs two of them);
#: after these it is the person that overlaps the lifter's last box.
CHOOSE_CHECKS = 6


@dataclass(frozen=True)
class Person:
    """One person seen: the box of their landmarks (x0, y0, x1, y1, frame pixels), their
    (33, 2) landmarks, and how much they moved since the previous check (median landmark
    displacement over the box height; NaN when not seen then)."""

    box: tuple[float, float, float, float]
    xy: np.ndarray
    moved: float = float("nan")

    @property
    def size(self) -> float:
        """The box's larger side (pixels): the person's height standing, their length bent
        over (a box's area would favour a person seen from the front over one seen from
        the side)."""
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1], 0.0)


def body_length(xy: np.ndarray) -> float:
    """The person's length along the body in the image (pixels): nose to shoulders, to
    hips, to knees, to ankles (the midpoints of left and right), about 0.9 of their
    height whether they stand or bend (in a side view)."""
    mid = [0.5 * (xy[a] + xy[b]) for a, b in ((11, 12), (23, 24), (25, 26), (27, 28))]
    pts = [xy[0], *mid]
    return float(sum(np.linalg.norm(pts[k + 1] - pts[k]) for k in range(len(pts) - 1)))


def with_movement(now: list[Person], before: list[Person]) -> list[Person]:
    """``now`` with each person's movement since ``before`` (the previous check's people,
    matched by the overlap of their boxes)."""
    out = []
    for p in now:
        prev = max(before, key=lambda q: _overlap(p.box, q.box), default=None)
        moved = float("nan")
        if prev is not None and _overlap(p.box, prev.box) > 0.3:
            height = max(p.box[3] - p.box[1], 1.0)
            moved = float(np.median(np.linalg.norm(p.xy - prev.xy, axis=1))) / height
        out.append(Person(p.box, p.xy, moved))
    return out


def same_person(box: tuple[float, float, float, float], last: tuple[float, float, float, float] | None) -> bool:
    """Whether a tracked box is the lifter's (``SAME_PERSON_OVERLAP`` with their last box)."""
    return last is None or _overlap(box, last) > SAME_PERSON_OVERLAP


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(w * h / max(small, 1e-9))


def choose_lifter(people: list[Person], width: int, height: int,
                  last: tuple[float, float, float, float] | None = None) -> Person | None:
    """The lifter among ``people``: when ``last`` (the lifter's last box) is given, the
    one overlapping it most (None when none does); else the best by size (share of the largest ``size``),
    closeness to the frame's centre and movement since the last check (share of the most
    moving): a product of the three, centrality and movement each between 0.5 and 1, so
    none alone decides."""
    if not people:
        return None
    if last is not None:
        best = max(people, key=lambda p: _overlap(p.box, last))
        return best if _overlap(best.box, last) > SAME_PERSON_OVERLAP else None
    big = max(max(p.size for p in people), 1e-9)
    moves = [p.moved for p in people]
    most = max(moves) if all(np.isfinite(moves)) else 0.0  # movement counts once known for all

    def score(p: Person) -> float:
        cx = 0.5 * (p.box[0] + p.box[2]) / width - 0.5
        cy = 0.5 * (p.box[1] + p.box[3]) / height - 0.5
        central = 1.0 - float(np.hypot(cx, cy))  # 1 at the centre, ~0.3 in a corner
        moving = p.moved / most if most > 0 else 1.0
        return (p.size / big) * (0.5 + 0.5 * central) * (0.5 + 0.5 * moving)

    return max(people, key=score)


def landmark_box(xy: np.ndarray, visibility: np.ndarray | None = None) -> tuple[float, float, float, float]:
    """The box of the landmarks (frame pixels) that are seen (visibility > 0.3, if given)."""
    pts = xy if visibility is None else xy[visibility > 0.3]
    if len(pts) == 0:
        pts = xy
    return (float(np.min(pts[:, 0])), float(np.min(pts[:, 1])), float(np.max(pts[:, 0])), float(np.max(pts[:, 1])))


class LifterCrop:
    """The region of the frame the pose model is given: the whole frame until another
    person is seen, then a crop that follows the lifter (``engage``, ``follow``)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.box: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 of the crop
        self.lifter: tuple[float, float, float, float] | None = None  # the lifter's last box

    @property
    def engaged(self) -> bool:
        """Whether the pose model sees a crop (another person has been seen)."""
        return self.box is not None

    def engage(self, lifter: tuple[float, float, float, float], length: float) -> bool:
        """Crop around the lifter's box (frame pixels) with a side of CROP_GROW x their
        ``length`` (``body_length``); True when the crop changed size (the pose model
        should start tracking afresh)."""
        x0, y0, x1, y1 = lifter
        side = CROP_GROW * max(length, x1 - x0, y1 - y0)
        w, h = int(min(self.width, side)), int(min(self.height, side))
        resized = self.box is None or (self.box[2] - self.box[0], self.box[3] - self.box[1]) != (w, h)
        self._place(0.5 * (x0 + x1), 0.5 * (y0 + y1), w, h)
        self.lifter = lifter
        return resized

    def _place(self, cx: float, cy: float, w: int, h: int) -> None:
        x0 = round(min(max(cx - w / 2, 0), self.width - w))
        y0 = round(min(max(cy - h / 2, 0), self.height - h))
        self.box = (x0, y0, x0 + w, y0 + h)

    def follow(self, lifter: tuple[float, float, float, float]) -> None:
        """Keep the lifter inside: the crop moves (same size) when their box comes within
        EDGE_SHARE of its side of an edge."""
        self.lifter = lifter
        if self.box is None:
            return
        x0, y0, x1, y1 = self.box
        w, h = x1 - x0, y1 - y0
        mx, my = EDGE_SHARE * w, EDGE_SHARE * h
        near = (lifter[0] < x0 + mx and x0 > 0) or (lifter[2] > x1 - mx and x1 < self.width) \
            or (lifter[1] < y0 + my and y0 > 0) or (lifter[3] > y1 - my and y1 < self.height)
        if near:
            self._place(0.5 * (lifter[0] + lifter[2]), 0.5 * (lifter[1] + lifter[3]), w, h)
