"""Orientation: gyroscope bias and neutral posture (calibration), 6-axis fusion, and the
sagittal plane of each sensor found from the data."""

from hingecoach.orientation.calibration import (
    CalibrationSettings,
    SensorCalibration,
    find_still_span,
    sensor_calibration,
)
from hingecoach.orientation.fusion import FusionSettings, SensorFusion, fuse_pair
from hingecoach.orientation.sagittal import SagittalAxis, estimate_axis, sagittal_tilt_deg

__all__ = [
    "CalibrationSettings",
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
