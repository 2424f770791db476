"""Camera frames handed over to the live pipeline: decimated on purpose, dropped only by
accident, and counted either way.

- ``FrameRate`` is the frame-rate policy. The pose model costs 10-30 ms a frame on a
  laptop core, so a 60 fps camera cannot be followed frame by frame in real time; the
  pipeline processes at most ``max_fps`` frames a second, keeping every n-th frame
  (n = the source's rate / ``max_fps``, rounded; the rate is the median interval of the
  frames' own times). The choice depends only on the frames' times, so a replay makes
  the same choice at any speed. The rep detector and the cues work on 30 frames/s as
  well as on 60 (a rep lasts 1-3 s).
- ``FrameFeed`` reads the frames on a thread of its own (a webcam at its own pace, a
  video paced at its frame times: the stand-in for a camera), stamps each one when it
  is handed over (the cue latency is measured from there) and queues it. When
  processing falls behind and the short queue is full, the oldest waiting frame is
  dropped and counted: a live coach wants the newest frame, not a growing backlog.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

Frame = tuple[int, float, np.ndarray]  # index, time (s), RGB image


@dataclass
class FeedCounts:
    """What happened to the frames handed over (all counted on the feed's side)."""

    handed: int = 0  # frames the source gave
    decimated: int = 0  # left out on purpose by the frame-rate policy
    dropped: int = 0  # lost because processing fell behind (the queue was full)


class FrameRate:
    """Keep every n-th frame so that at most about ``max_fps`` frames a second go through
    (see the module); ``max_fps`` None or 0 keeps every frame."""

    def __init__(self, max_fps: float | None = 30.0, window: int = 31) -> None:
        self.max_fps = max_fps
        self._dts: deque[float] = deque(maxlen=window)
        self._last_t: float | None = None
        self._since_kept = 0
        self.step = 1  # keep one frame in ``step``

    def keep(self, t: float) -> bool:
        """Whether the frame at ``t`` (s, the source's clock) goes through."""
        if self._last_t is not None and t > self._last_t:
            self._dts.append(t - self._last_t)
        self._last_t = t
        if self.max_fps and len(self._dts) >= 5:
            dt = float(np.median(self._dts))
            self.step = max(1, round(1.0 / (dt * self.max_fps))) if dt > 0 else 1
        self._since_kept += 1
        if self._since_kept >= self.step:
            self._since_kept = 0
            return True
        return False


class FrameFeed:
    """Frames from ``frames`` on a reader thread into a queue of ``queue_size`` (see the
    module). ``speed``: pace the frames at their times / speed (a replayed video); None: the
    source paces itself (a webcam). ``get`` returns (index, time s, RGB, hand-over time s)."""

    def __init__(self, frames: Iterable[Frame], rate: FrameRate, *, speed: float | None = None,
                 queue_size: int = 3, clock: Callable[[], float] = time.monotonic,
                 stop: threading.Event | None = None) -> None:
        self._frames = frames
        self.rate = rate
        self.speed = speed
        self.queue_size = max(1, queue_size)
        self.clock = clock
        self.counts = FeedCounts()
        self._stop = stop or threading.Event()
        self._q: deque[tuple[int, float, np.ndarray, float]] = deque()
        self._cond = threading.Condition()
        self._done = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hingecoach-frames", daemon=True)

    def start(self) -> FrameFeed:
        """Start reading; returns self."""
        self._thread.start()
        return self

    def _paced(self, it: Iterator[Frame]) -> Iterator[Frame]:
        wall0 = t0 = None
        for i, t, rgb in it:
            if self.speed:
                if wall0 is None or t0 is None:
                    wall0, t0 = self.clock(), t
                due = wall0 + (t - t0) / self.speed
                while (wait := due - self.clock()) > 0 and not self._stop.is_set():
                    time.sleep(min(wait, 0.05))
            if self._stop.is_set():
                return
            yield i, t, rgb

    def _run(self) -> None:
        it = iter(self._frames)
        try:
            for i, t, rgb, handed in decimated_frames(self._paced(it), self.rate, self.counts, self.clock):
                with self._cond:
                    if len(self._q) >= self.queue_size:
                        self._q.popleft()
                        self.counts.dropped += 1
                    self._q.append((i, t, rgb, handed))
                    self._cond.notify()
        except BaseException as e:  # handed to the reading thread by ``get``
            self._error = e
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
            with self._cond:
                self._done = True
                self._cond.notify()

    def get(self, timeout: float) -> tuple[int, float, np.ndarray, float] | None:
        """The oldest queued frame, waiting at most ``timeout`` s; None when none came.
        Raises StopIteration once the source has ended and the queue is empty, and the
        reader's own exception if reading failed."""
        with self._cond:
            if not self._q and not self._done:
                self._cond.wait(timeout)
            if self._q:
                return self._q.popleft()
            if self._done:
                if self._error is not None:
                    raise self._error
                raise StopIteration
            return None

    def close(self) -> None:
        """Stop reading and wait for the reader thread (it ends within a frame)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)


def decimated_frames(frames: Iterable[Frame], rate: FrameRate, counts: FeedCounts,
                     clock: Callable[[], float] = time.monotonic) -> Iterator[tuple[int, float, np.ndarray, float]]:
    """The frames of ``frames`` that ``rate`` keeps, read on the caller's thread (a replay as
    fast as it goes: nothing can be dropped), each with its hand-over time (s)."""
    for i, t, rgb in frames:
        counts.handed += 1
        if not rate.keep(t):
            counts.decimated += 1
            continue
        yield i, t, rgb, clock()
