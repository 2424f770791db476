"""A session's angles as an OpenSim motion file (``.mot``), and its sensors' orientations
as an OpenSense orientation file (``.sto``), for OpenSim and the tools that read its
Storage format.

The file: a name line, ``version=1``, ``nRows``, ``nColumns`` (the time column counted),
``inDegrees=yes``, free comment lines, ``endheader``, then a tab-separated table with
a ``time`` column (s). The angles take the names of OpenSim's full-body models'
coordinates, with OpenSim's signs (X forward, Y up, Z to the right; a positive rotation
about Z lifts the segment's front):

- ``pelvis_tilt`` = minus hingecoach's ``pelvis_tilt_deg``: OpenSim's pelvis tilt is
  positive when the pelvis tips backwards (posterior), hingecoach's when it tips forwards.
- ``lumbar_extension`` = minus ``lumbar_flexion_deg``: OpenSim counts extension positive.
- ``lumbar_rotation`` = ``lumbar_twist_deg`` when 9-axis fusion measured it (both about
  the trunk's long axis, left positive).

The ``.sto`` (OpenSense's ``*_orientations.sto``): ``DataRate``, ``DataType=Quaternion``,
``version=3``, ``endheader``, then ``time``, ``pelvis_imu``, ``torso_imu`` with each cell
``w,x,y,z`` (hingecoach's order): each sensor's orientation, sensor frame to the earth
frame (``core.conventions``), from 9-axis fusion of the stored raw samples (6-axis fusion
has no heading, so no full orientation to write).

Zero is hingecoach's calibrated neutral standing posture, not OpenSim's anatomical
zero, and with the upper sensor at T8 or the neck the "lumbar" angle spans more of the
spine: both are written in the header's comment lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hingecoach.angles import AngleSettings, apply_calibration, calibrate
from hingecoach.core.timeseries import FloatArray, TimeSeries
from hingecoach.orientation.fusion import FusionSettings
from hingecoach.store.backend import StoreError

# (OpenSim coordinate, hingecoach angle, sign)
MOT_COLUMNS = (("pelvis_tilt", "pelvis_tilt_deg", -1.0),
               ("lumbar_extension", "lumbar_flexion_deg", -1.0),
               ("lumbar_rotation", "lumbar_twist_deg", 1.0))


def mot_text(angles: TimeSeries, name: str = "hingecoach") -> str:
    """The ``.mot`` text of an IMU session's angles (module docstring)."""
    cols = [(c, a, s) for c, a, s in MOT_COLUMNS if a in angles]
    if not any(a == "lumbar_flexion_deg" for _, a, _ in cols):
        raise StoreError(f"{name}: export --format mot needs the IMU angles (lumbar_flexion_deg, "
                         "pelvis_tilt_deg); this session has " + ", ".join(angles.channels))
    placement = angles.meta.get("placement", "T12")
    head = [name, "version=1", f"nRows={len(angles)}", f"nColumns={len(cols) + 1}", "inDegrees=yes",
            "Written by hingecoach. Angles in degrees, time in seconds.",
            "Zero is the person's calibrated neutral standing posture (not OpenSim's default pose).",
            "OpenSim signs: pelvis_tilt = -pelvis_tilt_deg (posterior tilt positive); "
            "lumbar_extension = -lumbar_flexion_deg (extension positive); "
            "lumbar_rotation = lumbar_twist_deg.",
            f"Upper sensor at {placement}: the lumbar angle spans the sacrum to {placement}.",
            "endheader", "\t".join(["time", *[c for c, _, _ in cols]])]
    arr = np.column_stack([angles.time_s, *[s * np.asarray(angles[a], dtype=float) for _, a, s in cols]])
    rows = ["\t".join(f"{v:.6f}" for v in row) for row in arr]
    return "\n".join(head + rows) + "\n"


def write_mot(path: Path, angles: TimeSeries) -> Path:
    """Write the angles as ``path`` (a ``.mot`` file); returns the path."""
    try:
        path.write_text(mot_text(angles, path.stem))
    except OSError as e:
        raise StoreError(f"{path}: cannot write: {e.strerror}") from None
    return path


def nine_axis_orientations(raw: TimeSeries, calibration: TimeSeries | None = None
                           ) -> dict[str, FloatArray]:
    """Each sensor's orientation quaternions (n, 4), w x y z, from 9-axis fusion of a raw
    recording (calibrated on its own still start, else on ``calibration``)."""
    st = AngleSettings(fusion=FusionSettings(magnetometer=True))
    if calibration is None:
        _, fused = calibrate(raw, st)
    else:
        model, _ = calibrate(calibration, st)
        _, fused = apply_calibration(raw, model, st)
    if fused.quaternions is None or set(fused.quaternions) != {"lower", "upper"}:
        raise StoreError(f"{raw.meta.get('source', 'session')}: 9-axis fusion gave no orientation")
    return fused.quaternions


def sto_text(time_s: FloatArray, quats: dict[str, FloatArray], name: str = "hingecoach") -> str:
    """An OpenSense orientation file: the lower sensor as ``pelvis_imu``, the upper as
    ``torso_imu``, each cell ``w,x,y,z``."""
    rate = float(1.0 / np.median(np.diff(time_s))) if len(time_s) > 1 else 0.0
    head = [name, f"DataRate={rate:.6f}", "DataType=Quaternion", "version=3", "OpenSimVersion=4.4",
            "Written by hingecoach: sensor-to-earth orientation of each IMU from 9-axis fusion, "
            "quaternions w,x,y,z; pelvis_imu is the sacrum sensor, torso_imu the upper one.",
            "endheader", "time\tpelvis_imu\ttorso_imu"]
    lo, up = quats["lower"], quats["upper"]
    rows = [f"{t:.6f}\t" + ",".join(f"{v:.8f}" for v in a) + "\t" + ",".join(f"{v:.8f}" for v in b)
            for t, a, b in zip(time_s, lo, up, strict=True)]
    return "\n".join(head + rows) + "\n"


def write_sto(path: Path, raw: TimeSeries | None, angles: TimeSeries | None,
              calibration: TimeSeries | None = None) -> Path:
    """Write a session's sensor orientations as ``path`` (a ``.sto`` file), when 9-axis
    fusion ran for it (its angles have ``lumbar_twist_deg``) and its raw samples are stored."""
    if angles is None or "lumbar_twist_deg" not in angles:
        raise StoreError(f"{path.stem}: export --format sto needs a session analysed with 9-axis "
                         "fusion (--fusion 9axis): 6-axis fusion has no heading, so no full orientation")
    if raw is None:
        raise StoreError(f"{path.stem}: export --format sto needs the session's raw samples, and none "
                         "are stored")
    quats = nine_axis_orientations(raw, calibration)
    try:
        path.write_text(sto_text(raw.time_s, quats, path.stem))
    except OSError as e:
        raise StoreError(f"{path}: cannot write: {e.strerror}") from None
    return path
