"""Video files and webcams as sources of RGB frames with their times.

Files are decoded with PyAV (FFmpeg; the ``camera`` extra). Every frame's time comes from
its presentation timestamp and the rotation from the stream's display matrix (phones
record portrait video as rotated landscape): nothing is assumed, and a file whose frames
carry no times is an error, not "30 fps". Webcams are read with OpenCV; their frames are
timed by the monotonic clock at capture.

A file that stops decoding part-way (truncated, damaged) yields the frames before the
damage, and ``VideoReader.warnings`` names where it stopped.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from hingecoach.core.errors import InputError
from hingecoach.core.extras import require

T = TypeVar("T")

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v")


def _import_av() -> Any:
    return require("camera", "av", "reading video needs PyAV from the 'camera' extra")


@dataclass(frozen=True)
class VideoInfo:
    source: str
    width: int  # after rotation
    height: int
    fps: float  # nominal, from the container (for reporting; times come from the frames)
    frames: int | None  # as the container declares it (may be absent or wrong)
    rotation_deg: int  # counter-clockwise rotation applied to each decoded frame
    codec: str


@dataclass
class VideoReader:
    """Iterates (index, time_s, rgb uint8 HxWx3) over a video file."""

    path: Path
    info: VideoInfo = field(init=False)
    warnings: list[str] = field(default_factory=list)
    frames_read: int = 0

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.info = probe_video(self.path)

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        av = _import_av()
        name = self.path.name
        try:
            container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError) as e:
            raise InputError(self.path, "a video file", f"unreadable data ({e.__class__.__name__})") from None
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # FFmpeg decodes on its own threads
            k = round(self.info.rotation_deg / 90) % 4
            last_t = -np.inf
            index = 0
            try:
                for frame in container.decode(stream):
                    t = frame.time
                    if t is None:
                        raise InputError(self.path, "a time stamp on every frame",
                                         f"none on frame {index}")
                    if t <= last_t:  # a repeated or out-of-order frame
                        continue
                    last_t = t
                    rgb = frame.to_ndarray(format="rgb24")
                    if k:
                        rgb = np.ascontiguousarray(np.rot90(rgb, k))
                    self.frames_read = index + 1
                    yield index, float(t), rgb
                    index += 1
            except av.error.FFmpegError as e:
                self.warnings.append(
                    f"{name}: decoding stopped after frame {index} ({last_t:.2f} s): "
                    f"{e.__class__.__name__}; the rest of the file is damaged or truncated")
        if index == 0:
            raise InputError(self.path, "video frames", "none that could be decoded")
        declared = self.info.frames
        if declared and not self.warnings and index < declared - max(2, declared // 100):
            self.warnings.append(
                f"{name}: the file declares {declared} frames but only {index} could be decoded "
                f"(up to {last_t:.2f} s); the rest is missing: the file is truncated or damaged")


def probe_video(path: Path) -> VideoInfo:
    av = _import_av()
    if not path.exists():
        raise InputError(path, "an existing video file", "no such file")
    if path.is_dir():
        raise InputError(path, "a video file", "a folder")
    if path.stat().st_size == 0:
        raise InputError(path, "a video file", "an empty file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise InputError(path, "a video file (mp4, mov, avi, webm)",
                         f"data no video decoder can read ({e.__class__.__name__})") from None
    with container:
        if not container.streams.video:
            raise InputError(path, "a video stream", "none (audio or data only)")
        s = container.streams.video[0]
        rate = s.average_rate or s.guessed_rate
        rotation = 0
        try:  # the display matrix is on the frames (PyAV >= 13); read the first one
            first = next(container.decode(s), None)
            if first is not None:
                rotation = round(float(first.rotation or 0) / 90.0) * 90
        except av.error.FFmpegError:
            first = None
        w, h = s.codec_context.width, s.codec_context.height
        if rotation % 180:
            w, h = h, w
        return VideoInfo(str(path), int(w), int(h), float(rate) if rate else float("nan"),
                         int(s.frames) if s.frames else None, rotation % 360, s.codec_context.name)


#: Frames decoded ahead at most by ``read_ahead`` (each a whole RGB frame).
READ_AHEAD_FRAMES = 4

_DONE = object()


def read_ahead(frames: Iterable[T], depth: int = READ_AHEAD_FRAMES) -> Generator[T, None, None]:
    """``frames`` decoded on a thread of its own, up to ``depth`` ahead of the consumer, in
    order: a file's decoding then runs on a second core while the pose model works (PyAV
    releases the GIL while FFmpeg decodes). An error in the decoding is raised here, at
    the frame it happened; when the consumer stops early (an error, Ctrl-C) the decoding
    stops and its file is closed."""
    q: queue.Queue[object] = queue.Queue(max(1, depth))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        it = iter(frames)
        try:
            for x in it:
                if not put(x):
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            put(e)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=run, name="hingecoach-decode", daemon=True)
    thread.start()
    try:
        while True:
            x = q.get()
            if x is _DONE:
                return
            if isinstance(x, BaseException):
                raise x
            yield x  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def parse_webcam(spec: str) -> int | None:
    """``webcam:N`` or ``webcam`` -> N (0); anything else -> None."""
    if spec == "webcam":
        return 0
    if spec.startswith("webcam:") and spec[7:].isdigit():
        return int(spec[7:])
    return None


def iter_webcam(index: int, *, max_s: float | None = None,
                opener: Callable[[int], Any] | None = None,
                clock: Callable[[], float] = time.monotonic,
                stop: threading.Event | None = None) -> Iterator[tuple[int, float, np.ndarray]]:
    """Frames from a webcam, timed at capture. ``opener`` swaps the OpenCV capture for a
    fake in tests; capture ends after ``max_s`` or when ``stop`` is set (the CLI sets it on
    Ctrl-C, so what was filmed is still analysed)."""
    if opener is None:
        opener = require("camera", "cv2", "the webcam needs OpenCV from the 'camera' extra").VideoCapture
    cap = opener(index)
    if not cap.isOpened():
        raise InputError(f"webcam:{index}", "a camera that opens", f"no camera at index {index}")
    t0 = clock()
    i = 0
    try:
        while (max_s is None or clock() - t0 < max_s) and not (stop is not None and stop.is_set()):
            ok, bgr = cap.read()
            t = clock()
            if not ok:
                break
            yield i, t - t0, np.ascontiguousarray(bgr[:, :, ::-1])
            i += 1
    finally:
        cap.release()
