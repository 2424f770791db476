"""BVH motion capture files, and virtual back-worn IMUs driven by their motion.

Three steps, one module each: ``parser`` reads the file (the joint hierarchy, its
channels and the motion rows) into a :class:`Bvh`; ``kinematics`` turns the channels
into every joint's rotation and position (:func:`forward_kinematics`) and works out
the body's up, left and length unit (:func:`body_axes`, :func:`to_world`);
``virtual_imu`` puts two virtual IMUs on the moving skeleton
(:func:`virtual_recording`) and computes the ground truth the analysis must recover.
"""

from hingecoach.sources.bvh.kinematics import (
    LENGTH_UNITS_M,
    STATURE_RANGE_M,
    BodyAxes,
    Pose,
    body_axes,
    euler_matrix,
    forward_kinematics,
    to_world,
    world_rotation,
)
from hingecoach.sources.bvh.parser import (
    POSITION_CHANNELS,
    ROTATION_CHANNELS,
    Bvh,
    BvhJoint,
    parse_bvh,
    read_bvh,
)
from hingecoach.sources.bvh.virtual_imu import (
    XSENS_LOWER,
    XSENS_UPPER,
    VirtualImuSettings,
    VirtualInfo,
    sagittal_tilt_truth_deg,
    virtual_recording,
    write_virtual_truth,
)

__all__ = [
    "LENGTH_UNITS_M",
    "POSITION_CHANNELS",
    "ROTATION_CHANNELS",
    "STATURE_RANGE_M",
    "XSENS_LOWER",
    "XSENS_UPPER",
    "BodyAxes",
    "Bvh",
    "BvhJoint",
    "Pose",
    "VirtualImuSettings",
    "VirtualInfo",
    "body_axes",
    "euler_matrix",
    "forward_kinematics",
    "parse_bvh",
    "read_bvh",
    "sagittal_tilt_truth_deg",
    "to_world",
    "virtual_recording",
    "world_rotation",
    "write_virtual_truth",
]
