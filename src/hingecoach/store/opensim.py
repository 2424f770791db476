"""A session's angles as an OpenSim motion file (``.mot``), for OpenSim and the tools that
read its Storage format.

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

Zero is hingecoach's calibrated neutral standing posture, not OpenSim's anatomical
zero, and with the upper sensor at T8 or the neck the "lumbar" angle spans more of the
spine: both are written in the header's comment lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hingecoach.core.timeseries import TimeSeries
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
