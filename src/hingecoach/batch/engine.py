"""Running a planned batch on Dask: a local cluster of worker processes, or an existing
``dask.distributed`` cluster.

The client sends jobs (plain data) and gets small results back; it keeps only a few
jobs per worker in flight, so its memory (and the scheduler's) does not grow with the
cohort. A worker that dies has its task run again elsewhere by Dask; after Dask gives
up (``distributed.scheduler.allowed-failures``) the recording is a ``failed`` row.
With ``--save`` the client stores each session itself (one writer for SQLite).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hingecoach.batch.output import ResultWriter, consolidate, load_state, locked
from hingecoach.batch.plan import BatchError, Job, Plan
from hingecoach.batch.summary import write_summary
from hingecoach.batch.worker import SavePayload, WorkerOptions, failed_row, run_job
from hingecoach.core.extras import require
from hingecoach.store import Store

# A local worker spends its time in one long task (an analysis of seconds): Dask's
# statistical profiler (a stack sample every 10 ms) and its system monitor (every 0.5 s)
# would cost CPU for nothing anyone looks at. The same keys (as DASK_DISTRIBUTED__...
# environment variables) serve a cluster's own workers.
LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False,
                       "distributed.admin.system-monitor.interval": "2s"}
_ADDRESS = re.compile(r"^((tcp|tls|ucx|ws|wss)://)?\[?[\w.\-:]+\]?:\d{1,5}$")


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch (the CLI's flags)."""

    out: Path
    workers: int | None = None  # local cluster: worker processes (default: the cores)
    scheduler: str | None = None  # tcp://HOST:PORT of an existing cluster
    angles: bool = False
    save: bool = False
    in_flight_per_worker: int = 2  # jobs queued per worker thread (bounded client memory)
    connect_timeout_s: float = 5.0
    flush_rows: int = 64  # results per part written (at the latest every flush_s seconds)
    flush_s: float = 5.0
    summary: bool = True


@dataclass
class BatchReport:
    """What a run did: counts by outcome and its wall time (s)."""

    total: int = 0
    queued: int = 0  # to analyse in this run (new or changed)
    analysed: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    unchanged: int = 0
    saved: int = 0
    seconds: float = 0.0
    startup_s: float = 0.0  # of seconds: starting or reaching the cluster
    workers: int = 0
    out: Path = field(default_factory=Path)


Progress = Callable[[BatchReport, Job, dict[str, Any]], None]


def check_address(address: str) -> str:
    """``tcp://HOST:PORT`` (or HOST:PORT), else a BatchError naming the flag."""
    if not _ADDRESS.match(address):
        raise BatchError(f"--scheduler: expected tcp://HOST:PORT (a dask scheduler), found {address!r}")
    return address


@contextlib.contextmanager
def connect(opts: BatchOptions, n_jobs: int) -> Iterator[Any]:
    """A ``distributed.Client``: to the given scheduler, or to a local cluster of
    ``workers`` processes (one thread each) on 127.0.0.1."""
    distributed = require("scale", "distributed", "hingecoach batch")
    if opts.scheduler is not None:
        address = check_address(opts.scheduler)
        try:
            client = distributed.Client(address, timeout=f"{opts.connect_timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise BatchError(f"--scheduler {address}: expected a reachable dask scheduler, found none "
                             f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        try:
            try:
                client.wait_for_workers(1, timeout=opts.connect_timeout_s)
            except TimeoutError:
                raise BatchError(f"--scheduler {address}: expected a cluster with workers, found a scheduler "
                                 f"with none after {opts.connect_timeout_s:g} s (start 'dask worker {address}')"
                                 ) from None
            yield client
        finally:
            client.close()
        return
    n = opts.workers or os.cpu_count() or 1
    import dask

    with dask.config.set(LOCAL_WORKER_CONFIG):  # the nannies hand the config to their workers
        cluster = distributed.LocalCluster(n_workers=max(1, min(n, n_jobs)), threads_per_worker=1, processes=True,
                                           host="127.0.0.1", silence_logs=logging.ERROR,
                                           # no dashboard, and the scheduler's HTTP server on any free
                                           # port (the default 8787 may be taken by another cluster)
                                           dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"})
    try:
        client = distributed.Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _triage(plan: Plan, state: dict[str, dict[str, Any]], save: bool
            ) -> tuple[list[tuple[Job, tuple[str | None, str | None] | None]], int]:
    """The jobs to run (with the earlier hashes to compare, when only the file's date or
    size changed), and how many are unchanged since an earlier run (not run at all)."""
    todo: list[tuple[Job, tuple[str | None, str | None] | None]] = []
    unchanged = 0
    for job in plan.jobs:
        prev = state.get(job.path)
        same = prev is not None and prev.get("settings_key") == job.settings_key and not job.error
        if same and prev is not None and save and prev.get("status") == "ok" and prev.get("session_id") is None:
            same = False  # analysed before, but never stored: run it again to store it
        if same and prev is not None and job.input_sig and prev.get("input_sig") == job.input_sig:
            unchanged += 1
        elif same and prev is not None and prev.get("content_hash"):
            todo.append((job, (prev.get("content_hash"), prev.get("calibration_hash"))))
        else:
            todo.append((job, None))
    return todo, unchanged


def run_batch(plan: Plan, opts: BatchOptions, *, store: Store | None = None,
              progress: Progress | None = None, on_start: Callable[[BatchReport], None] | None = None,
              ) -> BatchReport:
    """Analyse the plan's new or changed recordings and write the output folder.
    ``progress`` is called after every result; ``on_start`` once the workers are up."""
    if opts.save and store is None:
        raise BatchError("--save: expected a session store to write to, found none")
    t0 = time.perf_counter()
    report = BatchReport(total=len(plan.jobs), out=opts.out)
    with locked(opts.out):
        state = load_state(opts.out)
        todo, report.unchanged = _triage(plan, state, opts.save)
        report.queued = len(todo)
        writer = ResultWriter(opts.out, plan.label_types, max_rows=opts.flush_rows, max_s=opts.flush_s)
        try:
            remote = [(j, p) for j, p in todo if not j.error]
            t1 = time.perf_counter()
            # the cluster first: an unreachable scheduler stops the batch before anything is written
            cluster = connect(opts, len(remote)) if remote or opts.scheduler else contextlib.nullcontext(None)
            with cluster as client:
                report.startup_s = time.perf_counter() - t1
                report.workers = len(client.nthreads()) if client is not None else 0
                if on_start is not None:
                    on_start(report)
                for job, _ in (x for x in todo if x[0].error):  # no such file: no worker needed
                    res: dict[str, Any] = {"row": failed_row(job, job.error or ""), "reps": []}
                    _record(report, writer, store, job, res, state)
                    if progress is not None:
                        progress(report, job, res["row"])
                if remote:
                    _drive(client, remote, opts, report, writer, store, state, progress)
        finally:
            writer.flush()
        recordings = consolidate(opts.out)
        if opts.summary and recordings is not None:
            write_summary(opts.out, recordings)
    report.seconds = time.perf_counter() - t0
    return report


def _drive(client: Any, todo: list[tuple[Job, tuple[str | None, str | None] | None]], opts: BatchOptions,
           report: BatchReport, writer: Any, store: Store | None, state: dict[str, dict[str, Any]],
           progress: Progress | None) -> None:
    from distributed import as_completed

    wopts = WorkerOptions(out=str(opts.out.absolute()), angles=opts.angles, save=opts.save)
    pending = iter(todo)
    jobs: dict[str, Job] = {}
    ac = as_completed(loop=client.loop)

    def submit_next() -> None:
        """Send the next job, if any, to the cluster."""
        item = next(pending, None)
        if item is None:
            return
        job, previous = item
        fut = client.submit(run_job, job, wopts, previous, pure=False,
                            key=f"hingecoach-{job.recording_id}-{uuid.uuid4().hex[:8]}")
        jobs[fut.key] = job
        ac.add(fut)

    threads = max(1, sum(client.nthreads().values()))
    for _ in range(threads * max(1, opts.in_flight_per_worker)):
        submit_next()
    for fut in ac:
        job = jobs.pop(fut.key)
        try:
            res = fut.result()
        except Exception as e:  # the task never finished: Dask gave up on it (KilledWorker), or it was lost
            res = {"row": failed_row(job, _task_error(job, e)), "reps": []}
        fut.release()
        submit_next()
        _record(report, writer, store, job, res, state)
        if progress is not None:
            progress(report, job, res["row"])


def _task_error(job: Job, e: BaseException) -> str:
    if type(e).__name__ == "KilledWorker":
        return (f"{job.path}: the worker analysing it died each time it was tried (out of memory, or a "
                f"crash in a reader); Dask gave up")
    return f"{job.path}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'the task failed'}"


def _record(report: BatchReport, writer: Any, store: Store | None, job: Job, res: dict[str, Any],
            state: dict[str, dict[str, Any]]) -> None:
    """Count one result, store its session (``--save``) and queue its rows."""
    row = res["row"]
    if res.get("unchanged"):
        report.unchanged += 1
        writer.add({**state[job.path], **row, "finished_at": time.time()}, [])
        return
    report.analysed += 1
    status = row.get("status")
    report.ok += status == "ok"
    report.failed += status == "failed"
    report.skipped += status == "skipped"
    payload: SavePayload | None = res.get("save")
    if payload is not None and store is not None and status == "ok":
        row["session_id"] = store.save_analysis(payload.analysis, raw=payload.raw,
                                                calibration=payload.calibration, person=job.person,
                                                settings=payload.settings, source=job.path,
                                                extra=payload.extra)
        report.saved += 1
        writer.add(row, res["reps"], flush=True)  # stored: its row must not be lost now
        return
    writer.add(row, res["reps"])
