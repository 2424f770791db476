"""Finding the lifter among the people in view and the crop that follows them (no model:
people and boxes are given)."""

from __future__ import annotations

import numpy as np
import pytest

from hingecoach.pose.lifter import (
    CROP_GROW,
    LifterCrop,
    Person,
    body_length,
    choose_lifter,
    landmark_box,
    same_person,
    with_movement,
)


def _standing(x: float, y_feet: float, height: float) -> np.ndarray:
    """33 landmarks of a person standing side-on at x, feet at y_feet (pixels)."""
    xy = np.zeros((33, 2))
    h = height
    at = {0: 0.06, 11: 0.18, 12: 0.18, 23: 0.48, 24: 0.48, 25: 0.72, 26: 0.72, 27: 0.96, 28: 0.96}
    for i in range(33):
        xy[i] = (x + (0 if i in at else (-1) ** i * 0.08 * h), y_feet - h * (1 - at.get(i, 0.5)))
    return xy


def _person(x: float, height: float = 300.0, moved: float = float("nan")) -> Person:
    xy = _standing(x, 500.0, height)
    return Person(landmark_box(xy), xy, moved)


def test_the_lifter_is_the_largest_most_central_most_moving_person():
    w, h = 1200, 600
    centre, side = _person(600.0), _person(150.0)
    assert choose_lifter([side, centre], w, h) is centre  # same size: the central one
    small = _person(600.0, height=120.0)
    assert choose_lifter([small, side], w, h) is side  # a small person further back is not
    still, moving = _person(600.0, moved=0.0), _person(350.0, moved=0.2)
    assert choose_lifter([still, moving], w, h) is moving  # the one doing the movement
    # movement counts only once it is known for everyone (a person just found has none)
    assert choose_lifter([_person(600.0), _person(350.0, moved=0.2)], w, h).box[0] < 600.0 < 650.0
    assert choose_lifter([], w, h) is None


def test_once_chosen_the_lifter_is_kept_and_nobody_else_is_taken_for_them():
    w, h = 1200, 600
    lifter, newcomer = _person(300.0, height=200.0), _person(600.0, height=320.0)
    assert choose_lifter([newcomer, lifter], w, h, last=lifter.box) is lifter
    assert choose_lifter([newcomer], w, h, last=lifter.box) is None
    assert same_person(lifter.box, lifter.box) and not same_person(newcomer.box, lifter.box)
    assert same_person(newcomer.box, None)


def test_movement_is_matched_by_box_and_unknown_for_a_new_person():
    before = [_person(300.0)]
    moved = Person(before[0].box, before[0].xy + np.array([0.0, 30.0]))
    out = with_movement([moved, _person(900.0)], before)
    box_height = before[0].box[3] - before[0].box[1]
    assert out[0].moved == pytest.approx(30.0 / box_height)
    assert np.isnan(out[1].moved)


def test_body_length_is_about_the_height_standing_or_bent():
    xy = _standing(300.0, 500.0, 300.0)
    assert body_length(xy) == pytest.approx(0.9 * 300.0, rel=0.01)
    bent = xy.copy()
    bent[[0, 11, 12]] = [(420.0, 360.0), (390.0, 350.0), (390.0, 350.0)]  # the trunk tipped forward
    assert body_length(bent) > 0.7 * 300.0


def test_the_crop_holds_the_lifter_keeps_its_size_and_moves_only_near_an_edge():
    crop = LifterCrop(1200, 600)
    assert not crop.engaged
    lifter = _person(600.0)
    assert crop.engage(lifter.box, body_length(lifter.xy))
    x0, y0, x1, y1 = crop.box
    side = min(600, CROP_GROW * body_length(lifter.xy))
    assert (x1 - x0, y1 - y0) == (round(side), round(side)) or (x1 - x0, y1 - y0) == (int(side), int(side))
    assert x0 <= lifter.box[0] and x1 >= lifter.box[2] and y0 >= 0 and y1 <= 600
    # a small move inside: the crop stays; near the edge: it moves, same size
    crop.follow((lifter.box[0] + 5, lifter.box[1], lifter.box[2] + 5, lifter.box[3]))
    assert crop.box == (x0, y0, x1, y1)
    crop.follow((x1 - 20, 200.0, x1 + 10, 400.0))
    assert crop.box[0] > x0 and crop.box[2] - crop.box[0] == x1 - x0
    # the same size again: no fresh start needed
    assert not crop.engage(lifter.box, body_length(lifter.xy))
    # never larger than the frame
    tall = LifterCrop(300, 400)
    tall.engage((100.0, 0.0, 200.0, 400.0), 380.0)
    assert tall.box == (0, 0, 300, 400)


def test_a_fresh_track_sees_the_others_blanked_but_the_lifter_whole():
    """After a restart in the lifter's crop, the others the search found are blacked out
    of the pose model's input (boxes 10 % wider, in frame pixels, the crop at its origin),
    but never where they overlap the lifter's own box."""
    from hingecoach.pose.estimator import _blank_others

    crop = np.full((100, 200, 3), 200, np.uint8)  # the crop at (50, 20) of the frame
    other = (60.0, 30.0, 100.0, 80.0)  # frame pixels: crop x 10-50, y 10-60
    lifter = (140.0, 30.0, 200.0, 110.0)
    out = _blank_others(crop, (50, 20), [other], lifter)
    assert out is not crop and crop.min() == 200  # the input is not touched
    assert (out[10:61, 10:51] == 0).all()  # the other, blanked
    assert out[5, 5].min() == 200 and out[50, 120].min() == 200  # the rest kept
    assert (out[20:90, 90:155] == 200).all()  # the lifter whole
    overlapping = (120.0, 30.0, 170.0, 110.0)  # a person half behind the lifter
    out = _blank_others(crop, (50, 20), [overlapping], lifter)
    assert (out[20:90, 90:155] == 200).all()  # the lifter's box is never blanked
    assert (out[20:90, 65:80] == 0).all()  # the rest of the other is
    assert (_blank_others(crop, (50, 20), [(400.0, 0.0, 500.0, 50.0)], None) == 200).all()  # outside the crop
