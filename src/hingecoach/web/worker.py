"""The analysis worker: a child process that analyses uploaded files one at a time.

A video takes about as long to analyse as it lasts and keeps a core busy; in the
server's own process it would hold the interpreter away from the pages. The child is
started with ``spawn`` (the server runs threads, which ``fork`` would copy half-way)
and talks over one ``Pipe``. For each job it receives a ``Task`` and sends back, in
order:

- ``("progress", phase, fraction)`` as it goes (phase ``"analysis"`` or ``"overlay"``,
  at most about 20 a second);
- ``("result", Analysis, raw)`` or ``("failed", message)``: the analysis, and the raw
  IMU samples to store with it (None for a video);
- for a video only, after the result: ``("overlay", None)`` when the annotated video
  is written, or ``("overlay", message)`` when it could not be;
- ``("end", None)``: the child is ready for the next task.

Messages name the upload as the person called it, never the temporary file.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from hingecoach.analysis import Analysis, AnalysisSettings, analyze_recording, analyze_video, is_camera_source
from hingecoach.core.errors import HingecoachError
from hingecoach.sources.detect import read_recording

PROGRESS_EVERY_S = 0.05


@dataclass(frozen=True)
class Task:
    """One analysis: the uploaded file (a temporary path of the server's choosing),
    the name to show for it, the settings, and where to write the overlay video."""

    path: str
    shown_as: str
    settings: AnalysisSettings
    overlay_to: str | None


def shown(message: str, task: Task) -> str:
    """``message`` with the temporary path replaced by the upload's own name."""
    return message.replace(task.path, task.shown_as)


class _Progress:
    """Throttled progress messages for one phase: ``(frame index) -> None``."""

    def __init__(self, send: Callable[[Any], None], phase: str, total: int | None) -> None:
        self.send, self.phase, self.total = send, phase, total
        self.last = 0.0

    def __call__(self, i: int) -> None:
        now = time.monotonic()
        if self.total and now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            self.send(("progress", self.phase, min(1.0, (i + 1) / self.total)))


def analyse(task: Task, send: Callable[[Any], None]) -> tuple[Analysis, Any]:
    """Analyse the task's file as ``hingecoach analyze`` does; returns the analysis and
    the raw recording to store (None for a video)."""
    path = Path(task.path)
    if is_camera_source(path):
        from hingecoach.sources.video import probe_video

        total = probe_video(path).frames
        a = analyze_video(path, task.settings, progress=_Progress(send, "analysis", total))
        from hingecoach.stills import with_stills

        with_stills(path, a)  # each rep's bottom frame, stored with the session
        raw = None
    else:
        raw = read_recording(path, placement=task.settings.placement)
        a = analyze_recording(raw, None, task.settings)
        raw = raw.with_meta(source=task.shown_as)
    a.info["source"] = task.shown_as
    return a, raw


def run_task(task: Task, send: Callable[[Any], None]) -> None:
    """One job, every message of the protocol above."""
    try:
        a, raw = analyse(task, send)
    except HingecoachError as e:
        send(("failed", shown(str(e), task)))
        return
    except Exception as e:  # a bug must fail the job, not the worker
        send(("failed", f"{task.shown_as}: the analysis failed ({type(e).__name__}: {e})"))
        traceback.print_exc()
        return
    send(("result", a, raw))
    if a.camera is None or task.overlay_to is None:
        return
    try:
        from hingecoach.overlay import write_overlay

        write_overlay(task.path, a, task.overlay_to,
                      progress=_Progress(send, "overlay", a.info.get("frames")))
        send(("overlay", None))
    except HingecoachError as e:
        send(("overlay", shown(str(e), task)))
    except Exception as e:  # the analysis stands without its overlay
        send(("overlay", f"the overlay video could not be written ({type(e).__name__})"))
        traceback.print_exc()


def main(conn: Connection) -> None:
    """The child's loop: a Task in, its messages out, until None or the pipe closes."""
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if task is None:
            return
        try:
            run_task(task, conn.send)
            conn.send(("end", None))
        except (BrokenPipeError, OSError, KeyboardInterrupt):
            return
