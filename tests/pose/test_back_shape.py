"""The back's outline shape (hump, bend) on drawn masks: a trunk lying along +x with the back
up, its outline a known curve."""

from __future__ import annotations

import numpy as np
import pytest

from hingecoach.pose.back_shape import BackShapeSettings, measure_back_shape, shape_from_profile

HIP = np.array([100.0, 200.0])
SHOULDER = np.array([300.0, 200.0])  # trunk 200 px along +x; facing +x puts the back at -y


def _mask(back_px, h: int = 400, w: int = 420) -> np.ndarray:
    """Person where y lies between the back outline (200 - back_px(x)) and 240."""
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    top = 200.0 - back_px(xx)
    inside = (yy >= top) & (yy <= 240.0) & (xx >= 60) & (xx <= 340)
    return inside.astype(np.float32)


def _arc(height_px: float):
    return lambda x: 40.0 + height_px * np.sin(np.pi * np.clip((x - 100.0) / 200.0, 0.0, 1.0))


def test_a_flat_back_has_no_hump_and_no_bend():
    b = measure_back_shape(_mask(lambda x: 40.0 + 0 * x), HIP, SHOULDER, +1.0)
    assert b.seen == 1.0
    assert b.bow == pytest.approx(0.2, abs=0.01)
    assert abs(b.hump) < 0.01 and abs(b.bend_deg) < 2.0


def test_a_convex_back_humps_out_and_a_hollow_one_in():
    rounded = measure_back_shape(_mask(_arc(30.0)), HIP, SHOULDER, +1.0)
    hollow = measure_back_shape(_mask(_arc(-15.0)), HIP, SHOULDER, +1.0)
    assert rounded.hump > 0.05 and rounded.bend_deg > 10.0
    assert hollow.hump < 0.0 and hollow.bend_deg < -5.0


def test_the_shape_does_not_depend_on_where_the_landmark_line_lies():
    """A hip landmark 15 px off (drift in deep flexion) tilts the line; the outline's own
    hump barely changes, the bow (measured from the line) does."""
    m = _mask(_arc(30.0))
    a = measure_back_shape(m, HIP, SHOULDER, +1.0)
    b = measure_back_shape(m, HIP + np.array([0.0, 15.0]), SHOULDER, +1.0)
    assert b.hump == pytest.approx(a.hump, abs=0.02)
    assert abs(b.bow - a.bow) > 0.03


def test_a_uint8_downscaled_mask_gives_the_same_shape():
    m = _mask(_arc(30.0))
    small = (m[::2, ::2] * 255).astype(np.uint8)
    a = measure_back_shape(m, HIP, SHOULDER, +1.0)
    b = measure_back_shape(small, HIP, SHOULDER, +1.0, mask_scale=0.5)
    assert b.hump == pytest.approx(a.hump, abs=0.01)
    assert b.trunk_px == pytest.approx(200.0)
    assert np.nanmax(np.abs(b.contour_xy - a.contour_xy)) < 2.0


def test_no_back_in_view_is_nan_not_an_error():
    b = measure_back_shape(np.zeros((400, 420), np.float32), HIP, SHOULDER, +1.0)
    assert b.seen == 0.0 and np.isnan(b.hump) and np.isnan(b.bow)
    c = measure_back_shape(_mask(_arc(30.0)), HIP, HIP, +1.0)  # no trunk length
    assert np.isnan(c.hump)


def test_a_partly_seen_outline_gives_no_hump():
    s = np.round(np.arange(-0.1, 1.1 + 1e-9, 0.05), 6)
    d = np.full(s.size, 0.2)
    d[(s > 0.2) & (s < 0.8)] = np.nan
    _bow, hump, bend, seen = shape_from_profile(s, d, BackShapeSettings())
    assert seen < 0.7 and np.isnan(hump) and np.isnan(bend)
