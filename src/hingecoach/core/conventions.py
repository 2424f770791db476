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

from hingecoach.core.vocabulary import PLACEMENTS, normalise_placement

__all__ = ["PLACEMENTS", "PLACEMENT_SCALE", "STANDARD_GRAVITY", "normalise_placement"]

STANDARD_GRAVITY: Final = 9.80665  # m/s^2

#: Placement of the upper sensor -> scale of the default spine thresholds relative to
#: L1/T12. Normative forward-bending ranges: lumbar about 40 deg
#: (docs/references.md#lumbopelvic-rhythm), thoracic about 30-40 deg more from T12 to C7
#: (clinical norms of thoracic flexion), about half of that from T12 to T8. Hence
#: 40 -> 40 (x1.0), 40+17 (x1.4), 40+35 (x1.9), rounded to 1.0, 1.5 and 2.0. The camera's
#: virtual dowel spans the back from the hip joints to the shoulders, as a sacrum-and-neck
#: IMU pair does: x2.0.
PLACEMENT_SCALE: Final = {"L1": 1.0, "T12": 1.0, "T8": 1.5, "neck": 2.0, "camera": 2.0}
