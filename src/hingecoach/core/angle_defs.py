"""Every angle hingecoach reports, defined once for both paths.

The two back-worn IMUs and the side-view camera measure the same movement in different
ways; both tables live here so that a reader finds each angle's meaning, sign and method
in one place. Degrees, flexion positive, zero at the person's own neutral standing posture
(``core.conventions``). The IMU angles are combinations of the two sensors'
gravity-referenced sagittal tilts (``angles.compute_angles``); the camera's come from
BlazePose keypoints or from the person's segmentation mask (``pose.camera``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hingecoach.core.timeseries import FloatArray


@dataclass(frozen=True)
class AngleDef:
    """One IMU angle channel: its name, what it measures, and how the two tilts make it."""

    name: str
    description: str
    combine: Callable[[FloatArray, FloatArray], FloatArray]  # (lower tilt, upper tilt)


#: The two-IMU angles: sagittal tilts of the sacrum (lower) and L1/T12 (upper) sensors.
ANGLES: tuple[AngleDef, ...] = (
    AngleDef("lumbar_flexion_deg",
             "sagittal angle of the upper sensor's segment relative to the sacrum, flexion +",
             lambda lo, up: up - lo),
    AngleDef("pelvis_tilt_deg", "sagittal tilt of the sacrum, forward +: the hip hinge itself",
             lambda lo, up: lo),
    AngleDef("trunk_inclination_deg", "sagittal tilt of the upper segment, forward +",
             lambda lo, up: up),
)


@dataclass(frozen=True)
class CameraAngleDef:
    """One camera angle channel: its name, what it measures, and the method behind it."""

    name: str
    description: str
    method: str


#: The camera's angles, in the image's sagittal plane (a side view), of the body side
#: nearer the camera.
CAMERA_ANGLES: tuple[CameraAngleDef, ...] = (
    CameraAngleDef("trunk_inclination_deg", "hip->shoulder line from vertical, forward +",
                   "keypoints: the near hip and shoulder"),
    CameraAngleDef("hip_flexion_deg", "trunk against thigh, 0 standing tall",
                   "keypoints: shoulder, hip and knee"),
    CameraAngleDef("knee_flexion_deg", "thigh against shank, 0 with a straight leg",
                   "keypoints: hip, knee and ankle"),
    CameraAngleDef("neck_flexion_deg", "head (shoulder->ear) against trunk, forward/down +, zero standing",
                   "keypoints: ear and nose against the hip->shoulder line, zeroed at the upright moment"),
    CameraAngleDef("back_curvature_deg",
                   "the back's bow from the hip-shoulder line beyond standing, as the angle between its halves",
                   "segmentation mask: the back's outline (the virtual dowel, pose.dowel)"),
    CameraAngleDef("lumbar_flexion_deg", "the camera's estimate: back_curvature_deg (virtual dowel), rounding +",
                   "segmentation mask: as back_curvature_deg; not comparable with the IMU's degrees"),
)

#: name -> description of the camera's channels (the JSON's ``recording.channels``).
CAMERA_CHANNELS: dict[str, str] = {a.name: a.description for a in CAMERA_ANGLES}
