"""The people check off the live camera's critical path.

BlazePose follows one person, and its mask shows only that person; whether someone else
is in view takes a second model over the whole frame (MediaPipe's selfie segmentation,
all people, 4-15 ms on a laptop core). Offline it runs in line every 15th frame. Live,
that would add its cost to every 15th frame's cue latency, so ``PeopleWatch`` runs it on a
worker thread of its own (MediaPipe releases the GIL while it computes): a check starts
on a frame at most every ``every`` frames, and its answer marks the first frame
processed after it is ready, usually the next one. A crowded view is still noticed
within half a second at 30 frames/s; the one frame it marks is skipped, as offline. A
replay as fast as it goes waits for each answer (``in_step``): the next frame is marked.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

import numpy as np

from hingecoach.core.pose_types import PoseFrame


class PeopleWatch:
    """Counts the other people in view on a worker thread (see the module). ``count``
    takes an RGB frame and the tracked person's mask and returns the others' number."""

    def __init__(self, count: Callable[[np.ndarray, np.ndarray], int], every: int = 15,
                 close: Callable[[], None] | None = None, in_step: bool = False) -> None:
        self._count = count
        # in step: each check's answer is awaited before the next frame (a replay as fast
        # as it goes: the same frames are marked on every run)
        self.in_step = in_step
        self.every = max(1, every)
        self._close = close
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hingecoach-people")
        self._pending: Future[int] | None = None
        self._since = self.every  # the first frame with a person is checked
        self.checks = 0

    def mark(self, rgb: np.ndarray, pose: PoseFrame) -> PoseFrame:
        """``pose`` with ``other_people`` from a check finished since the last frame (else
        unchanged); starts a new check on this frame when it is time and none is running."""
        out = pose
        if self._pending is not None and self._pending.done():
            out = replace(pose, other_people=self._pending.result())
            self._pending = None
        self._since += 1
        if pose.mask is not None and self._pending is None and self._since >= self.every:
            self._since = 0
            self.checks += 1
            self._pending = self._pool.submit(self._count, rgb, pose.mask)
            if self.in_step:
                self.settle()
        return out

    def settle(self) -> None:
        """Wait until the running check, if any, has its answer (the next ``mark`` takes it)."""
        if self._pending is not None:
            wait([self._pending])

    def close(self) -> None:
        """Wait for a running check and stop the worker (and the model, if given)."""
        self._pool.shutdown(wait=True)
        if self._close is not None:
            self._close()


def blazepose_people_watch(every: int = 15, in_step: bool = False) -> PeopleWatch:
    """A ``PeopleWatch`` with MediaPipe's selfie segmentation (general model, bundled
    with the ``camera`` extra) and the offline rule for who counts as another person."""
    from hingecoach.pose.estimator import count_others, import_mediapipe, quiet_stderr

    mp = import_mediapipe()
    with quiet_stderr():
        seg: Any = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def count(rgb: np.ndarray, mask: np.ndarray) -> int:
        return count_others(seg.process(rgb).segmentation_mask, mask)

    return PeopleWatch(count, every, close=seg.close, in_step=in_step)
