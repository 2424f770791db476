"""What a pose estimator gives for one video frame, in pixels.

Kept in ``core`` because both the pose estimator (``hingecoach.pose``) and the camera
simulator (``hingecoach.testing.camera_sim``) produce it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hingecoach.core.timeseries import FloatArray

#: BlazePose landmark indices used here (MediaPipe's 33-point topology).
NOSE = 0
EAR = {"left": 7, "right": 8}
SHOULDER = {"left": 11, "right": 12}
WRIST = {"left": 15, "right": 16}
HIP = {"left": 23, "right": 24}
KNEE = {"left": 25, "right": 26}
ANKLE = {"left": 27, "right": 28}
N_LANDMARKS = 33


@dataclass(frozen=True)
class PoseFrame:
    """One frame's pose.

    ``xy``: (33, 2) landmark positions in pixels (x right, y down, as in the image);
    ``z``: (33,) relative depth (smaller is nearer the camera, MediaPipe's convention);
    ``visibility``: (33,) 0-1; ``mask``: (H, W) person probability 0-1, or None.
    """

    xy: FloatArray
    z: FloatArray
    visibility: FloatArray
    mask: NDArray[np.floating[Any]] | None  # float32 from MediaPipe
    width: int
    height: int
    other_people: int | None = None  # people in view besides this one, when checked

    def point(self, index: int) -> FloatArray:
        """Landmark ``index`` as an (x, y) pixel position."""
        return np.asarray(self.xy[index])
