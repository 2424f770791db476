"""Where motion comes from: recording readers and the simulator."""

from hingecoach.sources.detect import read_recording
from hingecoach.sources.imu_csv import IMU_COLUMNS, read_imu_csv, write_imu_csv

__all__ = ["IMU_COLUMNS", "read_imu_csv", "read_recording", "write_imu_csv"]
