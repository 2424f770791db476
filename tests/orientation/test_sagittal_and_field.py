"""The sagittal axis and signed tilt from up vectors, and the magnetometer consistency
measures, against rotations built with SciPy (known axis, known angles, known field)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hingecoach.orientation.magnetometer import DIP_RANGE_WARN_DEG, VARIATION_WARN, consistency, field_variation
from hingecoach.orientation.sagittal import (
    estimate_axis,
    excursion_sign,
    sagittal_tilt_deg,
    tilt_percentiles,
    tilt_range_deg,
)


def _ups(up0: np.ndarray, axis: np.ndarray, theta_deg: np.ndarray, side_deg: np.ndarray) -> np.ndarray:
    """Up vectors seen in the sensor frame when the segment tilts by theta about ``axis``
    and bends sideways by side_deg about the third axis (the up vector turns by -angle)."""
    side_axis = np.cross(up0, axis)
    rot = Rotation.from_rotvec(-np.deg2rad(theta_deg)[:, None] * axis) * \
        Rotation.from_rotvec(-np.deg2rad(side_deg)[:, None] * side_axis)
    return rot.apply(up0)


@pytest.fixture
def bends():
    rng = np.random.default_rng(4)
    frame = Rotation.random(random_state=rng).as_matrix()  # a sensor strapped on at random
    up0, axis = frame[:, 2], frame[:, 0]
    t = np.linspace(0.0, 20.0, 2000)
    theta = 60.0 * np.clip(np.sin(2 * np.pi * t / 5.0), -0.15, 1.0)  # forward 60, back 9
    side = 4.0 * np.sin(2 * np.pi * t / 3.1)
    return up0, axis, theta, _ups(up0, axis, theta, side)


def test_the_flexion_axis_and_the_signed_tilt_are_recovered(bends):
    up0, axis, theta, ups = bends
    est = estimate_axis(up0, ups)
    assert abs(float(est.axis @ axis)) > 0.999 and abs(float(est.axis @ up0)) < 1e-9
    assert est.ratio > 10 and est.tilted_samples > 1000
    tilt = sagittal_tilt_deg(up0, est.axis, ups)
    tilt = tilt * excursion_sign(tilt)  # the larger excursion is forward
    assert np.max(np.abs(tilt - theta)) < 0.1  # side bending drops out of the projection


def test_tilt_range_and_sign_come_from_robust_percentiles():
    theta = np.concatenate([np.linspace(-10.0, 50.0, 1000), [400.0]])  # one outlier
    lo, hi = tilt_percentiles(theta)
    assert -10.0 <= lo < -9.0 and 49.0 < hi <= 50.0
    assert tilt_range_deg(theta) == pytest.approx(hi - lo)
    assert tilt_range_deg(theta, (lo, hi)) == pytest.approx(hi - lo)
    assert excursion_sign(theta) == 1.0 and excursion_sign(-theta) == -1.0


def test_the_earth_field_alone_is_consistent_and_a_nearby_magnet_is_not(bends):
    up0, axis, theta, _ = bends
    # sensor-to-world orientation: neutral (up0 -> world up), then the tilt about the axis
    neutral = Rotation.align_vectors([[0.0, 0.0, 1.0]], [up0])[0]
    orient = neutral * Rotation.from_rotvec(np.deg2rad(theta)[:, None] * axis)
    ups = orient.inv().apply([0.0, 0.0, 1.0])
    earth = 50.0 * np.array([np.cos(np.deg2rad(60.0)), 0.0, -np.sin(np.deg2rad(60.0))])  # 60 deg dip
    mag = orient.inv().apply(earth)
    assert field_variation(mag) < 1e-9
    clean = consistency(mag, ups, 100.0)  # 2000 samples over 20 s
    # only the 0.2 s smoothing of a turning vector shortens it a little
    assert clean.strength_variation < VARIATION_WARN / 5 and clean.dip_range_deg < DIP_RANGE_WARN_DEG / 5
    assert not clean.disturbed
    # a magnetised bar adds a fixed world field that grows as the person bends towards it
    near = (np.clip(theta, 0.0, None) / 60.0)[:, None] * np.array([10.0, 5.0, 0.0])
    bad = consistency(orient.inv().apply(earth + near), ups, 100.0)
    assert bad.disturbed
    assert bad.strength_variation > VARIATION_WARN and bad.dip_range_deg > DIP_RANGE_WARN_DEG
