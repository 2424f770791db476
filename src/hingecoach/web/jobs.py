"""Uploaded files waiting for, or going through, an analysis: one at a time, in a worker
process (``hingecoach.web.worker``), with their progress for the page.

A job goes ``queued -> running -> done | failed``. One dispatcher thread feeds the
worker and stores each result as a session (the store's lock held, as the routes do);
every change also goes to the WebSocket clients of ``/ws/analyses``. The uploaded file
is deleted when its job ends, whatever happened; a worker that dies (a decoder crash)
fails its job and a fresh one takes the next. Finished jobs are kept in memory for
``KEEP_FINISHED`` jobs (their sessions stay in the store).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from hingecoach.core.errors import ConflictError, NotFoundError
from hingecoach.store import Store
from hingecoach.web import worker
from hingecoach.web.hub import Hub
from hingecoach.web.worker import Task

MAX_WAITING = 20  # queued jobs; more is refused (409) until some are done
KEEP_FINISHED = 200
STOP_WAIT_S = 5.0


@dataclass
class Job:
    """One uploaded file's analysis, as ``GET /api/analyses/{id}`` shows it."""

    id: str
    task: Task
    person: str | None
    exercise: str
    status: str = "queued"  # queued, running, done, failed
    phase: str = "waiting"  # waiting, analysis, overlay, finished (the upload deleted: nothing more comes)
    progress: float = 0.0
    result: dict[str, Any] | None = None
    session_id: int | None = None
    error: str | None = None
    overlay: str | None = None  # "running", "ready", "failed" or None (not a video)
    overlay_error: str | None = None
    created: float = field(default_factory=time.time)

    def to_json(self, with_result: bool = True) -> dict[str, Any]:
        """The job for the page; ``result`` is the ``analyze --json`` document once done."""
        sid = self.session_id
        return {"id": self.id, "file": self.task.shown_as, "person": self.person, "exercise": self.exercise,
                "status": self.status, "phase": self.phase, "progress": round(self.progress, 3),
                "result": self.result if with_result else None, "session_id": sid, "error": self.error,
                "report": None if sid is None else f"/sessions/{sid}/report",
                "overlay": self.overlay, "overlay_error": self.overlay_error,
                "overlay_url": f"/sessions/{sid}/overlay.mp4" if self.overlay == "ready" else None}


def overlay_path(media_dir: Path, sid: int) -> Path:
    """Where session ``sid``'s annotated video is kept."""
    return media_dir / f"session-{int(sid)}.mp4"


class Jobs:
    """The queue of analyses, its worker process and its dispatcher thread."""

    def __init__(self, store: Store, hub: Hub, media_dir: Path) -> None:
        self.store, self.hub, self.media_dir = store, hub, media_dir
        self.jobs: dict[str, Job] = {}
        self.waiting: queue.Queue[Job | None] = queue.Queue()
        self.lock = threading.Lock()
        self.proc: BaseProcess | None = None
        self.conn: Connection | None = None
        self.thread: threading.Thread | None = None
        self.closed = False

    # -- the routes' side ----------------------------------------------------------------------
    def submit(self, task: Task, person: str | None, exercise: str) -> Job:
        """Queue ``task`` (its file now belongs to the queue); 409 when too many wait."""
        with self.lock:
            if self.closed:
                raise ConflictError("the server is shutting down")
            if sum(j.status == "queued" for j in self.jobs.values()) >= MAX_WAITING:
                raise ConflictError(f"{MAX_WAITING} analyses are waiting already: try again when some are done")
            job = Job(secrets.token_hex(8), task, person, exercise)
            self.jobs[job.id] = job
            self._forget_old()
            if self.thread is None:
                self.thread = threading.Thread(target=self._dispatch, name="hingecoach-analyses", daemon=True)
                self.thread.start()
        self.waiting.put(job)
        self._publish(job)
        return job

    def get(self, job_id: str) -> Job:
        """The job ``job_id``, or NotFoundError (404)."""
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no analysis {job_id!r} (the server keeps the last {KEEP_FINISHED})")
        return job

    def newest_first(self) -> list[Job]:
        """Every job kept, newest first."""
        return sorted(self.jobs.values(), key=lambda j: j.created, reverse=True)

    def _forget_old(self) -> None:
        done = [j for j in self.newest_first() if j.status in ("done", "failed")]
        for j in done[KEEP_FINISHED:]:
            del self.jobs[j.id]

    def _publish(self, job: Job) -> None:
        self.hub.publish({"type": "analysis", **job.to_json(with_result=False)})

    # -- the dispatcher thread -----------------------------------------------------------------
    def _dispatch(self) -> None:
        while True:
            job = self.waiting.get()
            if job is None:
                return
            try:
                self._run(job)
            except Exception as e:  # the queue must outlive any one job's trouble
                job.status, job.error = "failed", f"{job.task.shown_as}: the analysis could not run ({e})"
                job.overlay = "failed" if job.overlay == "running" else job.overlay
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(job.task.path)
                if job.status not in ("done", "failed"):
                    job.status, job.error = "failed", job.error or "the analysis was stopped"
                job.phase = "finished"
                self._publish(job)

    def _worker(self) -> Connection:
        if self.proc is None or not self.proc.is_alive():
            ctx = multiprocessing.get_context("spawn")
            parent, child = ctx.Pipe()
            self.proc = ctx.Process(target=worker.main, args=(child,), name="hingecoach-analysis", daemon=True)
            self.proc.start()
            child.close()
            self.conn = parent
        assert self.conn is not None
        return self.conn

    def _run(self, job: Job) -> None:
        if self.closed:
            return
        job.status, job.phase = "running", "analysis"
        self._publish(job)
        conn = self._worker()
        try:
            conn.send(job.task)
            while True:
                kind, *rest = conn.recv()
                if kind == "end":
                    return
                self._on_message(job, kind, rest)
        except (EOFError, OSError):
            code = self.proc.exitcode if self.proc is not None else None
            self.proc = None
            if job.status != "done":
                job.status = "failed"
                job.error = job.error or (f"{job.task.shown_as}: the analysis stopped unexpectedly "
                                          f"(worker exit code {code})")
            elif job.overlay == "running":
                job.overlay, job.overlay_error = "failed", "the overlay video was not finished"

    def _on_message(self, job: Job, kind: str, rest: list[Any]) -> None:
        if kind == "progress":
            phase, fraction = rest
            job.phase = phase
            if phase == "analysis":
                job.progress = float(fraction)
            self._publish(job)
        elif kind == "failed":
            job.status, job.error = "failed", str(rest[0])
        elif kind == "result":
            self._save(job, *rest)
        elif kind == "overlay":
            self._overlay_done(job, rest[0])

    def _save(self, job: Job, analysis: Any, raw: Any) -> None:
        """Store the analysis as a session, as ``analyze --save`` does."""
        extra: dict[str, object] = {"uploaded": job.task.shown_as}
        if raw is None:
            extra["raw_not_stored"] = f"{job.task.shown_as}: a video (its angles are stored)"
        with self.store.db.lock:
            sid = self.store.save_analysis(analysis, raw=raw, person=job.person, settings=job.task.settings,
                                           source=f"upload:{job.task.shown_as}", extra=extra)
        job.result, job.session_id, job.progress = analysis.to_json(), sid, 1.0
        job.status = "done"
        job.overlay = "running" if analysis.camera is not None and job.task.overlay_to else None
        job.phase = "overlay" if job.overlay else job.phase  # "finished" once its upload is deleted
        self._publish(job)

    def _overlay_done(self, job: Job, error: str | None) -> None:
        part = Path(job.task.overlay_to or "")
        if error is None and job.session_id is not None:
            os.replace(part, overlay_path(self.media_dir, job.session_id))
            job.overlay = "ready"
        else:
            with contextlib.suppress(OSError):
                part.unlink()
            job.overlay, job.overlay_error = "failed", error
        self._publish(job)

    # -- shutdown ------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the worker (a running analysis is abandoned) and delete waiting uploads."""
        with self.lock:
            self.closed = True
        while True:
            try:
                job = self.waiting.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.status, job.error = "failed", "the server stopped before the analysis"
                with contextlib.suppress(OSError):
                    os.unlink(job.task.path)
        self.waiting.put(None)
        if self.proc is not None and self.proc.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(None) if self.conn is not None else None
            self.proc.join(0.5)
            if self.proc.is_alive():
                self.proc.terminate()
                self.proc.join(STOP_WAIT_S)
        if self.thread is not None:
            self.thread.join(STOP_WAIT_S)
        for leftover in self.media_dir.glob("*.part.mp4") if self.media_dir.is_dir() else []:
            with contextlib.suppress(OSError):
                leftover.unlink()
