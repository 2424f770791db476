"""Units, frames and sign conventions, written once.

- SI units everywhere inside: seconds, m/s^2 (specific force: an accelerometer at rest
  reads +9.81 m/s^2 along "up"), rad/s, microtesla. Angles shown to people are degrees;
  maths uses radians. Channel names carry units where ambiguous (``lumbar_flexion_deg``).
- Quaternions are (w, x, y, z), scalar first, and rotate sensor-frame vectors into the
  earth frame.
- Earth frame: z up (NWU for 9-axis fusion; with 6-axis fusion the heading is arbitrary
  and nothing downstream depends on it).
- Body frame used by the simulator: x forward, y left, z up (right-handed).
- Angle signs: flexion positive, extension negative; forward tilt positive; zero is the
  calibrated neutral standing posture. A forward bend is a positive rotation about the
  body's left (+y) axis.
"""

from __future__ import annotations

from typing import Final

import numpy as np

STANDARD_GRAVITY: Final = 9.80665  # m/s^2
DEG_PER_RAD: Final = 180.0 / np.pi

#: Sensor placements of the upper sensor, and what the upper-minus-lower angle spans.
PLACEMENTS: Final = {
    "L1": "upper sensor at L1/T12: the angle is lumbar flexion",
    "T12": "upper sensor at T12/L1: the angle is lumbar flexion",
    "T8": "upper sensor at T8: the angle spans the lumbar and lower thoracic spine",
    "neck": "upper sensor at the neck (C7): the angle spans the whole spine",
    "camera": "side-view camera: the back's bow from the hips to the shoulders (virtual dowel)",
}

#: Placement of the upper sensor -> scale of the default spine thresholds relative to
#: L1/T12. Normative forward-bending ranges: lumbar about 40 deg (lumbopelvic rhythm,
#: BRIEF), thoracic about 30-40 deg more from T12 to C7 (clinical norms of thoracic
#: flexion), about half of that from T12 to T8. Hence 40 -> 40 (x1.0), 40+17 (x1.4),
#: 40+35 (x1.9), rounded to 1.0, 1.5 and 2.0. The camera's virtual dowel spans the back
#: from the hip joints to the shoulders, as a sacrum-and-neck IMU pair does: x2.0.
PLACEMENT_SCALE: Final = {"L1": 1.0, "T12": 1.0, "T8": 1.5, "neck": 2.0, "camera": 2.0}


def normalise_placement(value: str) -> str:
    """Map user spellings (``t12``, ``L1/T12``, ``c7``) to a key of PLACEMENTS."""
    v = value.strip().upper().replace(" ", "")
    aliases = {"L1": "L1", "T12": "T12", "L1/T12": "T12", "T12/L1": "T12", "T8": "T8",
               "NECK": "neck", "C7": "neck"}
    if v not in aliases:
        from hingecoach.core.errors import ParameterError

        raise ParameterError("placement", "one of L1, T12, T8, neck", value)
    return aliases[v]
