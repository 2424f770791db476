"""Camera landmarks as marker files other tools read: ``.trc`` (OpenSim, Pose2Sim) and
``.c3d`` (ezc3d, the ``c3d`` extra).

Axes follow OpenSim's and Pose2Sim's convention for a side view: X along the image's
horizontal (to the right in the image), Y up (the image's y flipped), Z towards the
camera (0: one camera gives no depth). Positions are in metres when the person's height
is known, scaled so that the shoulder-to-ankle distance of the standing start (its
first second) is 0.779 of the height (0.818 H shoulder minus 0.039 H ankle, the
segment-length fractions of Winter, Biomechanics and Motor Control of Human Movement,
the table the simulator uses), otherwise in pixels; the unit is in the file's header.
Marker names are MediaPipe BlazePose's 33 landmark names.

A camera session stores its landmarks as the ``landmarks`` stream (``landmark_series``):
one channel per BlazePose name, (n, 2) image pixels (x right, y down) at the frames the
analysis used, with the image size and the body side nearer the camera in its meta;
``markers_of_stream`` turns it into ``Markers``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hingecoach.core.extras import require
from hingecoach.core.pose_types import ANKLE, N_LANDMARKS, SHOULDER
from hingecoach.core.timeseries import ChannelInfo, FloatArray, TimeSeries
from hingecoach.store.backend import StoreError
from hingecoach.store.opensim import write_text_file

if TYPE_CHECKING:
    from hingecoach.analysis import Analysis

BLAZEPOSE_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index")
SHOULDER_TO_ANKLE_SHARE = 0.818 - 0.039  # of the body height
LANDMARK_FRAME = "image (x right, y down)"


def landmark_series(analysis: Analysis) -> TimeSeries | None:
    """A camera analysis's per-frame landmarks as the ``landmarks`` stream (pixels), or
    None for an IMU analysis (or a camera one without a usable frame)."""
    cam = analysis.camera
    if cam is None or not cam.frames:
        return None
    t = np.array([f.time_s for f in cam.frames], dtype=float)
    xy = np.stack([np.asarray(f.xy, dtype=float) for f in cam.frames])
    video = analysis.info.get("video") or {}
    meta = {"units": "px", "frame": LANDMARK_FRAME, "side": cam.orientation.side,
            "image_width": video.get("width"), "image_height": video.get("height"),
            "source": analysis.info.get("source")}
    info = {n: ChannelInfo("px", LANDMARK_FRAME, "BlazePose landmark") for n in BLAZEPOSE_NAMES}
    return TimeSeries(t, {n: xy[:, i] for i, n in enumerate(BLAZEPOSE_NAMES)}, info=info, meta=meta)


def markers_of_stream(ts: TimeSeries, height_m: float | None = None) -> Markers:
    """The stored ``landmarks`` stream -> Markers (metres from ``height_m``, else pixels).
    Without the image's height (a webcam), Y is counted up from the lowest landmark seen."""
    missing = [n for n in BLAZEPOSE_NAMES if n not in ts.data]
    if missing:
        raise StoreError(f"landmarks: no channel {missing[0]!r} in the stored stream")
    odd = next((n for n in BLAZEPOSE_NAMES if np.shape(ts[n]) != (len(ts.time_s), 2)), None)
    if odd is not None:
        raise StoreError(f"landmarks: expected channel {odd!r} as ({len(ts.time_s)}, 2) pixels, "
                         f"found {np.shape(ts[odd])}")
    xy = np.stack([ts[n] for n in BLAZEPOSE_NAMES], axis=1)
    h = ts.meta.get("image_height")
    if not h:
        h = math.ceil(float(np.nanmax(xy[..., 1])))
    return markers_from_landmarks(ts.time_s, xy, image_height=int(h), height_m=height_m,
                                  side=str(ts.meta.get("side") or "left"))


@dataclass(frozen=True)
class Markers:
    """Marker positions (n, markers, 3) in ``units`` ("m" or "px"), OpenSim axes, with
    their names and the frame times (s)."""

    time_s: FloatArray
    names: tuple[str, ...]
    xyz: FloatArray
    units: str

    @property
    def rate_hz(self) -> float:
        """The median frame rate (Hz)."""
        return float(1.0 / np.median(np.diff(self.time_s))) if self.time_s.size > 1 else 0.0


def markers_from_landmarks(time_s: FloatArray, xy_px: FloatArray, *, image_height: int,
                           height_m: float | None = None, side: str = "left") -> Markers:
    """OpenSim-axis markers from BlazePose landmarks (n, 33, 2) in image pixels (x right,
    y down); metres from ``height_m`` via the ``side``'s shoulder-to-ankle distance."""
    xy = np.asarray(xy_px, dtype=float)
    if xy.ndim != 3 or xy.shape[1:] != (N_LANDMARKS, 2) or xy.shape[0] != len(time_s):
        raise StoreError(f"landmarks: expected ({len(time_s)}, {N_LANDMARKS}, 2), found {xy.shape}")
    pos = np.zeros((xy.shape[0], N_LANDMARKS, 3))
    pos[..., 0] = xy[..., 0]
    pos[..., 1] = image_height - xy[..., 1]
    units = "px"
    if height_m is not None:
        first = np.asarray(time_s) <= time_s[0] + 1.0
        span = np.linalg.norm(xy[first, SHOULDER[side]] - xy[first, ANKLE[side]], axis=-1)
        px = float(np.nanmedian(span))
        if not np.isfinite(px) or px <= 0:
            raise StoreError("landmarks: no shoulder and ankle in the first second to scale by the height")
        pos *= SHOULDER_TO_ANKLE_SHARE * height_m / px
        units = "m"
    return Markers(np.asarray(time_s, dtype=float), BLAZEPOSE_NAMES, pos, units)


def trc_text(m: Markers, name: str = "hingecoach.trc") -> str:
    """The ``.trc`` text (PathFileType 4, tab-separated, one X/Y/Z triple per marker)."""
    n, k = m.xyz.shape[:2]
    rate = f"{m.rate_hz:.2f}"
    lines = [f"PathFileType\t4\t(X/Y/Z)\t{name}",
             "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
             f"{rate}\t{rate}\t{n}\t{k}\t{m.units}\t{rate}\t1\t{n}",
             "Frame#\tTime\t" + "\t".join(f"{nm}\t\t" for nm in m.names).rstrip("\t"),
             "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, k + 1)),
             ""]
    fmt = "%.6f" if m.units == "m" else "%.3f"
    for f in range(n):
        cells = [str(f + 1), f"{m.time_s[f]:.6f}", *(fmt % v for v in m.xyz[f].ravel())]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def write_trc(path: Path, m: Markers) -> Path:
    """Write ``m`` as a ``.trc`` file."""
    return write_text_file(path, trc_text(m, path.name))


def write_c3d(path: Path, m: Markers) -> Path:
    """Write ``m`` as a ``.c3d`` file (ezc3d): POINT data, rate, labels and units."""
    ezc3d = require("c3d", "ezc3d", "export --format c3d")
    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [m.rate_hz]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = list(m.names)
    c3d["parameters"]["POINT"]["UNITS"]["value"] = [m.units]
    pts = np.ones((4, len(m.names), m.xyz.shape[0]))
    pts[:3] = np.transpose(m.xyz, (2, 1, 0))
    c3d["data"]["points"] = pts
    try:
        c3d.write(str(path))
    except (OSError, RuntimeError) as e:
        raise StoreError(f"{path}: cannot write: {e}") from None
    return path
