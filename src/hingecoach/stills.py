"""Rep stills: for every rep of a video's analysis, the frame at the bottom of the rep,
cropped to the person, with the skeleton, the back's outline and its straight reference
drawn as in the overlay (``overlay.draw_figure``) and the rep's verdict in a band under
it, as a small JPEG (``core.stills.RepStill``).

The bottom frames are found again after the analysis, in one pass over the video that
only decodes (decoding is cheap; converting a frame to RGB costs about four times as
much, and the pose model far more): only the few bottom frames are converted. Where
the next bottom is more than ``SEEK_GAP_S`` ahead the pass seeks to the keyframe before
it instead of decoding the way there (``benchmarks/stills.py`` measures both). Keeping
frames during the pose pass would save the decoding, but a rep's bottom is only known
once the whole clip is analysed, and holding every frame until then costs hundreds of MB.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from hingecoach.analysis import Analysis
from hingecoach.core.errors import HingecoachError
from hingecoach.core.extras import require
from hingecoach.core.pose_types import EAR, NOSE, SHOULDER
from hingecoach.core.stills import JPEG, NOT_JUDGED, OK, RepStill
from hingecoach.core.vocabulary import WEBCAM_FORMAT
from hingecoach.overlay import BLACK, GREEN, RED, WHITE, YELLOW, draw_figure, figure_points
from hingecoach.sources.video import parse_webcam, probe_video

HEIGHT_PX = 360  # the drawn part of a still (the person's box), before the verdict band
MAX_WIDTH_PX = 480
JPEG_QUALITY = 78  # 10 stills of about 25 kB each: a report stays far below 2 MB
MARGIN = 0.1  # around the person's box (head included), as a share of its longer side: the soles and toes
HEAD_REACH = 0.6  # the head's reach from the ear, as a share of the nose-to-shoulder distance
SEEK_GAP_S = 8.0  # seek instead of decoding forward when the next bottom is further ahead
_TIME_TOL_S = 1e-6  # a frame's time is the same float the analysis read


def can_make_stills(analysis: Analysis) -> bool:
    """Whether ``analysis`` is of a video file (a webcam's frames are gone once analysed)."""
    return analysis.camera is not None and analysis.info.get("format") != WEBCAM_FORMAT


def bottom_frames(analysis: Analysis) -> list[int]:
    """For each rep (complete reps, then incomplete ones), the index into
    ``analysis.camera.frames`` of its bottom frame."""
    cam = analysis.camera
    if cam is None:
        raise HingecoachError("rep stills need a video analysis")
    t = np.array([m.time_s for m in cam.frames])
    return [int(np.argmin(np.abs(t - m.bottom_s))) for m in [*analysis.reps, *analysis.incomplete]]


def make_stills(video: str | Path, analysis: Analysis, *, seek_gap_s: float = SEEK_GAP_S) -> list[RepStill]:
    """One still per rep of ``analysis`` (of the video file ``video``), in rep order; a
    rep whose bottom frame cannot be decoded again (a damaged file) has none."""
    if not can_make_stills(analysis):
        raise HingecoachError(f"{video}: rep stills need a video file (not an IMU recording or a webcam)")
    cam = analysis.camera
    assert cam is not None
    cv2 = require("camera", "cv2", "rep stills need OpenCV")
    ks = bottom_frames(analysis)
    times = [cam.frames[k].time_s for k in ks]
    # the rotation the analysis read from the file: no second probe of the video
    rotation = analysis.info.get("video", {}).get("rotation_deg")
    frames = decode_at(Path(video), times, seek_gap_s=seek_gap_s, rotation_deg=rotation)
    verdict = analysis.camera_verdict
    judgements = [*verdict.reps, *verdict.partial] if verdict is not None else []
    out = []
    for seq, (m, k, t) in enumerate(zip([*analysis.reps, *analysis.incomplete], ks, times, strict=True), 1):
        rgb = frames.get(t)
        if rgb is None:
            continue
        j = judgements[seq - 1] if seq - 1 < len(judgements) else None
        judged = j.judged if j is not None else True
        still = RepStill(seq, m.index, m.complete, t, cam.frames[k].index, judged,
                         None if j is None or judged else j.not_judged_because, tuple(m.faults),
                         JPEG, 0, 0, b"")
        data, w, h = render_still(cv2, rgb, analysis, k, still)
        out.append(replace(still, width=w, height=h, data=data))
    return out


def with_stills(video: str | Path, analysis: Analysis) -> Analysis:
    """``analysis`` with its rep stills made (``analysis.stills``), when it is of a video file."""
    if can_make_stills(analysis):
        analysis.stills = make_stills(video, analysis)
    return analysis


def decode_at(path: Path, times: Sequence[float], *, seek_gap_s: float = SEEK_GAP_S,
              rotation_deg: float | None = None) -> dict[float, np.ndarray]:
    """The RGB frames (rotated upright, as ``VideoReader`` gives them) whose times are
    ``times`` (s): {time: frame}. One pass that decodes without converting, seeking
    ahead over gaps longer than ``seek_gap_s``; a frame not found is left out.
    ``rotation_deg``: the file's rotation when known (else the file is probed for it)."""
    av = require("camera", "av", "rep stills need PyAV")
    if rotation_deg is None:
        rotation_deg = probe_video(path).rotation_deg
    rot = round(rotation_deg / 90) % 4
    wanted = sorted(set(times))
    out: dict[float, np.ndarray] = {}
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise HingecoachError(f"{path}: cannot read the video again for the rep stills ({e})") from None
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames: Any = None
        last = -math.inf
        try:
            for t in wanted:
                if frames is None or t - last > seek_gap_s:
                    if t > seek_gap_s and stream.time_base:
                        container.seek(int(t / stream.time_base), stream=stream, backward=True)
                    frames = container.decode(stream)
                for frame in frames:
                    ft = frame.time
                    if ft is None:
                        continue
                    last = float(ft)
                    if last >= t - _TIME_TOL_S:
                        if abs(last - t) <= _TIME_TOL_S:
                            rgb = frame.to_ndarray(format="rgb24")
                            out[t] = np.ascontiguousarray(np.rot90(rgb, rot)) if rot else rgb
                        break
        except av.error.FFmpegError:
            pass  # a damaged tail: the stills found so far stand (the analysis warned already)
    return out


def render_still(cv2: Any, rgb: np.ndarray, analysis: Analysis, k: int, still: RepStill) -> tuple[bytes, int, int]:
    """Draw frame ``k``'s figure on ``rgb``, crop it to the person, scale it to
    ``HEIGHT_PX`` high (at most ``MAX_WIDTH_PX`` wide), add the verdict band and encode it
    as JPEG. Returns (bytes, width, height)."""
    img = rgb if rgb.flags.writeable and rgb.flags.c_contiguous else np.ascontiguousarray(rgb)
    h, w = img.shape[:2]
    x0, y0, x1, y1 = crop_box(analysis, k, w, h)
    f = min(HEIGHT_PX / (y1 - y0), MAX_WIDTH_PX / (x1 - x0))
    draw_figure(cv2, img, analysis, k, max(0.45, 1.0 / f))
    crop = img[y0:y1, x0:x1]
    size = (max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    out = np.vstack([small, _band(cv2, still, size[0])])
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(out[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise HingecoachError("the rep still could not be encoded as JPEG")
    return bytes(buf), out.shape[1], out.shape[0]


def head_points(analysis: Analysis, k: int) -> np.ndarray:
    """Points (pixels, (n, 2)) that the whole head of frame ``k`` lies within: the ear (the
    nose when the ear was not seen) moved up, down, forward and back by ``HEAD_REACH`` of
    the nose-to-shoulder distance. The landmarks stop at the nose and the ear, but the
    crown is about 13 cm from the ear, the nose tip 10-11 cm and the back of the head 9 cm,
    while the nose is about 25 cm from the shoulder (adult proportions), and at the bottom
    of a hinge the crown points forward, not up. Empty when the nose or the shoulder was
    not seen."""
    cam = analysis.camera
    assert cam is not None
    xy = cam.frames[k].xy
    side = cam.orientation.side
    nose, shoulder, ear = xy[NOSE], xy[SHOULDER[side]], xy[EAR[side]]
    if not (np.all(np.isfinite(nose)) and np.all(np.isfinite(shoulder))):
        return np.zeros((0, 2))
    centre = np.asarray(ear if np.all(np.isfinite(ear)) else nose, np.float64)
    r = HEAD_REACH * float(np.hypot(*(nose - shoulder)))
    return centre + np.array([[0.0, -r], [0.0, r], [-r, 0.0], [r, 0.0]])


def crop_box(analysis: Analysis, k: int, w: int, h: int) -> tuple[int, int, int, int]:
    """Where a still of frame ``k`` (a ``w`` x ``h`` image) is cropped: the box of its
    figure and its whole head (``head_points``), with a margin, inside the image (x0, y0,
    x1, y1; pixels, end exclusive)."""
    return _box(np.vstack([figure_points(analysis, k), head_points(analysis, k)]), w, h)


def _box(pts: np.ndarray, w: int, h: int) -> tuple[int, int, int, int]:
    """The person's box (x0, y0, x1, y1; pixels, end exclusive) with a margin, inside the
    image; the whole image when no point was seen."""
    if len(pts) == 0:
        return 0, 0, w, h
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    m = MARGIN * float(max(hi - lo))
    x0, y0 = (max(0, math.floor(float(v) - m)) for v in lo)
    x1, y1 = min(w, math.ceil(float(hi[0]) + m)), min(h, math.ceil(float(hi[1]) + m))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0, 0, w, h
    return x0, y0, x1, y1


def _band(cv2: Any, still: RepStill, width: int) -> np.ndarray:
    """The verdict under the picture: 'rep 3: ok' in green, a fault (its short name) in red,
    not judged in yellow."""
    color = GREEN if still.verdict == OK else (YELLOW if still.verdict == NOT_JUDGED else RED)
    scale, font = 0.5, cv2.FONT_HERSHEY_SIMPLEX
    lines: list[str] = []
    for word in f"{still.title()}: {still.verdict_text}".split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(joined, font, scale, 1)[0][0] <= width - 12:
            lines[-1] = joined
        else:
            lines.append(word)
    band = np.full((10 + 20 * len(lines), width, 3), BLACK, np.uint8)
    for r, s in enumerate(lines):
        cv2.putText(band, s, (6, 20 + 20 * r), font, scale, color, 1, cv2.LINE_AA)
    band[:2] = WHITE
    return band


def write_stills(stills: Sequence[RepStill], folder: str | Path) -> list[Path]:
    """Write each still as a file in ``folder`` (created if missing; named by
    ``RepStill.file_name``: rep number and verdict). Returns the paths."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for s in stills:
            p = folder / s.file_name()
            p.write_bytes(s.data)
            paths.append(p)
    except OSError as e:
        raise HingecoachError(f"{folder}: cannot write the rep stills: {e.strerror or e}") from None
    return paths


def check_folder(folder: str | Path, source: str | Path = "") -> Path:
    """``folder`` made ready for ``write_stills`` before a long analysis of ``source``
    (created if missing); a HingecoachError names it when it cannot be written, or when
    the source is a webcam (its frames are not kept)."""
    folder = Path(folder)
    if parse_webcam(str(source)) is not None:
        raise HingecoachError(f"--stills {folder}: needs a video file; a webcam's frames are not kept")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise HingecoachError(f"--stills {folder}: cannot write there: {e.strerror or e}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise HingecoachError(f"--stills {folder}: cannot write there: permission denied")
    return folder


def keep_stills(video: str | Path, analysis: Analysis, folder: str | Path | None, save: bool) -> int | None:
    """What ``analyze`` does with the stills: made when they are saved with the session
    (``save``) or written to ``folder``; written there. Returns how many were written
    (None without a folder)."""
    if (save or folder is not None) and can_make_stills(analysis):
        with_stills(video, analysis)
    return None if folder is None else len(write_stills(analysis.stills, folder))
