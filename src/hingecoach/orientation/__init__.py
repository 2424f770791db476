"""Orientation: gyroscope bias and neutral posture (calibration), 6-axis fusion (9-axis
opt-in), the sagittal plane of each sensor found from the data, and with 9-axis the
axial twist between the sensors."""

from hingecoach.orientation.calibration import (
    CalibrationSettings,
    SensorCalibration,
    find_still_span,
    sensor_calibration,
)
from hingecoach.orientation.fusion import FusionJob, FusionOutput, FusionSettings, SensorFusion, fuse_pair
from hingecoach.orientation.sagittal import SagittalAxis, estimate_axis, sagittal_tilt_deg

__all__ = [
    "CalibrationSettings",
    "FusionJob",
    "FusionOutput",
    "FusionSettings",
    "SagittalAxis",
    "SensorCalibration",
    "SensorFusion",
    "estimate_axis",
    "find_still_span",
    "fuse_pair",
    "sagittal_tilt_deg",
    "sensor_calibration",
]
