"""Axial twist of the spine between the two sensors (9-axis fusion only).

Each segment's frame in its sensor's coordinates comes from calibration: z up (the
neutral "up"), y left (the flexion axis: a forward bend is a positive rotation about it)
and x = y x z forward. With 9-axis fusion both sensors' orientations share one earth
frame (magnetic north, up), so the rotation of the upper segment relative to the pelvis,
R_rel = R_lower^T R_upper (in the lower segment's frame), is known in full. It is split
as a Cardan sequence in the order the spine is usually described (flexion about y, then
lateral bending about x, then axial rotation about z):

    R_rel = Ry(flexion) Rx(lateral) Rz(twist),  twist = atan2(R_rel[1, 0], R_rel[1, 1])

(row 1 of that product is (cos lat sin twist, cos lat cos twist, -sin lat)). Twist is
positive when the upper segment turns to the left relative to the pelvis. The heading of
each 6-axis filter is arbitrary, which is why there is no twist without magnetometers.
"""

from __future__ import annotations

import numpy as np

from hingecoach.core.timeseries import FloatArray


def segment_frame(up0: FloatArray, axis: FloatArray) -> FloatArray:
    """(3, 3): columns forward, left, up of the segment, in sensor coordinates."""
    z = up0 / np.linalg.norm(up0)
    y = axis - np.dot(axis, z) * z
    y = y / np.linalg.norm(y)
    return np.column_stack([np.cross(y, z), y, z])


def rotate(q: FloatArray, v: FloatArray) -> FloatArray:
    """Rotate the sensor-frame vector ``v`` (3,) by each quaternion (n, 4) (w, x, y, z),
    sensor to earth: v' = v + 2w (u x v) + 2 u x (u x v), u the vector part."""
    w = q[:, :1]
    u = q[:, 1:]
    uv = np.cross(u, v)
    return v + 2.0 * w * uv + 2.0 * np.cross(u, uv)


def axial_twist_deg(q_lower: FloatArray, frame_lower: FloatArray, q_upper: FloatArray,
                    frame_upper: FloatArray) -> FloatArray:
    """Twist (deg) of the upper segment relative to the lower about its long axis."""
    left_lo = rotate(q_lower, frame_lower[:, 1])
    fwd_up = rotate(q_upper, frame_upper[:, 0])
    left_up = rotate(q_upper, frame_upper[:, 1])
    r10 = np.einsum("ij,ij->i", left_lo, fwd_up)
    r11 = np.einsum("ij,ij->i", left_lo, left_up)
    return np.rad2deg(np.arctan2(r10, r11))
