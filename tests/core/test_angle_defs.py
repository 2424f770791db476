"""Every angle is defined once, for both paths (core.angle_defs)."""

from __future__ import annotations

import numpy as np

from hingecoach.core.angle_defs import ANGLES, CAMERA_ANGLES, CAMERA_CHANNELS


def test_each_angle_has_one_definition_with_its_method():
    for table in (ANGLES, CAMERA_ANGLES):
        names = [a.name for a in table]
        assert len(names) == len(set(names))
        assert all(n.endswith("_deg") and a.description for n, a in zip(names, table, strict=True))
    assert all(a.method for a in CAMERA_ANGLES)
    assert list(CAMERA_CHANNELS) == [a.name for a in CAMERA_ANGLES]
    # the angles both paths report mean the same movement under the same name
    assert {a.name for a in ANGLES} & set(CAMERA_CHANNELS) == {"lumbar_flexion_deg", "trunk_inclination_deg"}


def test_the_imu_angles_combine_the_two_tilts():
    lo, up = np.array([10.0, 20.0]), np.array([30.0, 65.0])
    got = {a.name: a.combine(lo, up) for a in ANGLES}
    assert np.allclose(got["lumbar_flexion_deg"], [20.0, 45.0])
    assert np.allclose(got["pelvis_tilt_deg"], lo) and np.allclose(got["trunk_inclination_deg"], up)
