"""The annotated video (``hingecoach analyze VIDEO --overlay OUT.mp4``).

A second pass over the video draws, on each frame: the skeleton of the side facing the
camera, the back's outline (from the person mask) and its straight reference (the line,
parallel to hip->shoulder, where the back was when standing: the virtual dowel; red while
the rep breaks the lumbar_rounding threshold), the angles, the rep counter and the
messages of the faults of the rep under way. Drawn with OpenCV, encoded as H.264 with
PyAV (OpenCV cannot write H.264), at the source's own frame times.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from hingecoach.analysis import Analysis
from hingecoach.core.errors import HingecoachError
from hingecoach.core.extras import require
from hingecoach.core.pose_types import ANKLE, EAR, HIP, KNEE, NOSE, SHOULDER, WRIST
from hingecoach.faults import MESSAGES
from hingecoach.pose.dowel import back_normal
from hingecoach.sources.video import VideoReader

ELBOW = {"left": 13, "right": 14}
MESSAGE_HOLD_S = 2.0  # a rep's fault messages stay on screen this long after it ends
GREEN, RED, CYAN, WHITE, BLACK, YELLOW = (40, 200, 60), (230, 40, 40), (0, 200, 230), (255, 255, 255), \
    (0, 0, 0), (250, 210, 0)


def _text(cv2: Any, img: np.ndarray, s: str, org: tuple[int, int], scale: float, color: tuple[int, int, int]) -> None:
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, BLACK, max(2, int(4 * scale)), cv2.LINE_AA)
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, max(1, int(1.6 * scale)), cv2.LINE_AA)


def _wrap(s: str, width: int) -> list[str]:
    words, lines, cur = s.split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width and cur:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return [*lines, cur] if cur else lines


def write_overlay(video: str | Path, analysis: Analysis, out: str | Path,
                  progress: Callable[[int], Any] | None = None) -> int:
    """Write the annotated video; returns the number of frames written."""
    cam = analysis.camera
    if cam is None:
        raise HingecoachError("--overlay needs a video analysis")
    av = require("camera", "av", "the overlay needs PyAV")
    cv2 = require("camera", "cv2", "the overlay needs OpenCV")
    out = Path(out)
    reader = VideoReader(Path(video))
    w, h = reader.info.width + reader.info.width % 2, reader.info.height + reader.info.height % 2
    by_index = {m.index: k for k, m in enumerate(cam.frames)}
    scale = max(0.45, min(w, h) / 720)
    try:
        container = av.open(str(out), mode="w")
    except (av.error.FFmpegError, OSError) as e:
        raise HingecoachError(f"{out}: cannot write the overlay video ({e})") from None
    n = 0
    with container:
        stream = container.add_stream("libx264", rate=Fraction(round(reader.info.fps * 1000), 1000)
                                      if np.isfinite(reader.info.fps) else 30)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        stream.codec_context.time_base = Fraction(1, 1000)
        last_pts = -1
        for i, t, rgb in reader:
            img = np.zeros((h, w, 3), np.uint8)
            img[:rgb.shape[0], :rgb.shape[1]] = rgb
            k = by_index.get(i)
            if k is None:
                _text(cv2, img, "no usable pose", (10, int(30 * scale)), scale, YELLOW)
            else:
                _draw_pose(cv2, img, analysis, k, scale)
            _draw_reps(cv2, img, analysis, t, scale)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            pts = max(last_pts + 1, round(t * 1000))
            frame.pts, frame.time_base, last_pts = pts, Fraction(1, 1000), pts
            for packet in stream.encode(frame):
                container.mux(packet)
            n += 1
            if progress is not None:
                progress(i)
        for packet in stream.encode():
            container.mux(packet)
    return n


def _draw_pose(cv2: Any, img: np.ndarray, analysis: Analysis, k: int, scale: float) -> None:
    """Frame ``k`` of the camera analysis: skeleton, back outline, virtual dowel, angles."""
    bad = draw_figure(cv2, img, analysis, k, scale)
    ang = analysis.angles
    th = analysis.thresholds.lumbar_rounding_deg
    lum = float(ang["lumbar_flexion_deg"][k])
    lines = [f"trunk {ang['trunk_inclination_deg'][k]:5.0f}  hip {ang['hip_flexion_deg'][k]:5.0f}",
             f"knee  {ang['knee_flexion_deg'][k]:5.0f}  neck {ang['neck_flexion_deg'][k]:5.0f}",
             f"back  {lum:5.0f}  (limit {th:.0f})"]
    for r, s in enumerate(lines):
        color = RED if (r == 2 and bad) else WHITE
        _text(cv2, img, s, (10, int((28 + 26 * r) * scale)), scale * 0.8, color)


def figure_points(analysis: Analysis, k: int) -> np.ndarray:
    """The image points (pixels, (n, 2)) that frame ``k``'s figure spans: the skeleton's
    joints (the elbow lies between shoulder and wrist) and the back's outline (what a
    still is cropped to)."""
    cam = analysis.camera
    assert cam is not None
    side = cam.orientation.side
    m = cam.frames[k]
    joints = m.xy[[EAR[side], SHOULDER[side], HIP[side], KNEE[side], ANKLE[side], WRIST[side], NOSE]]
    pts = np.vstack([joints, m.contour_xy.reshape(-1, 2)])
    return np.asarray(pts[np.all(np.isfinite(pts), axis=1)], dtype=np.float64)


def draw_figure(cv2: Any, img: np.ndarray, analysis: Analysis, k: int, scale: float) -> bool:
    """Draw on ``img`` frame ``k``'s skeleton, back outline and straight reference (the
    virtual dowel: red while the back is past the lumbar_rounding threshold). Returns
    whether it was past it."""
    cam = analysis.camera
    assert cam is not None
    th = analysis.thresholds.lumbar_rounding_deg
    side, facing = cam.orientation.side, cam.orientation.facing
    m = cam.frames[k]
    lum = float(analysis.angles["lumbar_flexion_deg"][k])
    bad = bool(np.isfinite(th) and lum > th)
    xy = m.xy
    chain = [EAR[side], SHOULDER[side], HIP[side], KNEE[side], ANKLE[side]]
    arm = [SHOULDER[side], ELBOW[side], WRIST[side]]
    for seq in (chain, arm):
        pts = np.round(xy[seq]).astype(np.int32)
        cv2.polylines(img, [pts], False, WHITE, max(1, int(2 * scale)), cv2.LINE_AA)
    for j in (*chain, NOSE):
        cv2.circle(img, tuple(int(v) for v in np.round(xy[j])), max(2, int(4 * scale)), YELLOW, -1)
    c = m.contour_xy[np.all(np.isfinite(m.contour_xy), axis=1)]
    if len(c) > 1:
        cv2.polylines(img, [np.round(c).astype(np.int32)], False, CYAN, max(2, int(3 * scale)),
                      cv2.LINE_AA)
    if np.isfinite(cam.bow_standing):
        hip, sh = xy[HIP[side]], xy[SHOULDER[side]]
        _, nrm, length = back_normal(hip, sh, facing)
        a = hip + cam.bow_standing * length * nrm
        b = sh + cam.bow_standing * length * nrm
        cv2.line(img, tuple(int(v) for v in np.round(a)), tuple(int(v) for v in np.round(b)),
                 RED if bad else GREEN, max(2, int(3 * scale)), cv2.LINE_AA)
    return bad


def _draw_reps(cv2: Any, img: np.ndarray, analysis: Analysis, t: float, scale: float) -> None:
    """The rep counter at time ``t`` (s) and the fault messages of the rep under way."""
    h, w = img.shape[:2]
    reps = analysis.reps
    done = sum(1 for r in reps if r.end_s <= t)
    _text(cv2, img, f"reps {done}", (10, h - int(20 * scale)), scale * 1.2, WHITE)
    showing = [f for r in reps if r.bottom_s <= t <= r.end_s + MESSAGE_HOLD_S for f in r.faults]
    y = int(120 * scale)
    for f in dict.fromkeys(showing):
        for s in _wrap(MESSAGES[f], max(20, int(w / (11 * scale)))):
            _text(cv2, img, s, (10, y), scale * 0.6, RED)
            y += int(20 * scale)
