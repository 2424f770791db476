"""What a worker does with one job: hash the file, analyse it with the library's
``analyze_file`` (exactly as ``hingecoach analyze`` does), and return a small result.

A broken file is a result too (status ``failed`` with its one-line error); a file found
in a folder that is no recording at all (a notes CSV) is ``skipped``. Nothing here ends
the batch. The worker writes the recording's angles itself (``--angles``), so the client
never holds a recording; with ``--save`` it returns the analysis and the raw samples for
the client to store (one writer).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hingecoach import __version__
from hingecoach.analysis import Analysis, AnalysisSettings, analyze_file
from hingecoach.batch.output import FAULT_COLUMNS, REP_KEYS, write_angles
from hingecoach.batch.plan import Job
from hingecoach.core.errors import HingecoachError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.sources.detect import detect_format
from hingecoach.store.convert import resolve_settings
from hingecoach.store.files import raw_for_saving

_CHUNK = 1 << 20


@dataclass(frozen=True)
class WorkerOptions:
    """Per batch: the output folder (as the workers see it) and what to produce."""

    out: str
    angles: bool = False
    save: bool = False


@dataclass
class SavePayload:
    """What the client needs to store a session as ``analyze --save`` does."""

    analysis: Analysis
    raw: TimeSeries | None
    calibration: TimeSeries | None
    settings: AnalysisSettings
    extra: dict[str, Any]


def content_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (names and bytes, in name order),
    as 32 hex digits (128 bits). SHA-256 runs in the CPU's SHA instructions where there are
    some: hashing an hour's CSV costs about 3 % of analysing it."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(f.name.encode("utf-8", "surrogateescape") + b"\x00")
        with f.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()[:32]


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "client"


def base_row(job: Job) -> dict[str, Any]:
    """The row's identity and labels, before any analysis."""
    return {"path": job.path, "recording_id": job.recording_id, "settings_key": job.settings_key,
            "input_sig": job.input_sig, "person": job.person, "exercise": job.exercise,
            "placement": job.placement, "calibration": job.calibration, "hingecoach_version": __version__,
            **job.labels}


def failed_row(job: Job, error: str, status: str = "failed", seconds: float = 0.0) -> dict[str, Any]:
    """A row for a recording that gave no analysis, with its one-line error."""
    return {**base_row(job), "result_id": f"{job.recording_id}-{status}-{time.time_ns():x}",
            "status": status, "error": error.splitlines()[0] if error else status,
            "seconds": seconds, "finished_at": time.time(), "worker": _worker_name()}


def summary_fields(j: dict[str, Any]) -> dict[str, Any]:
    """The recordings row's measures from an ``analyze --json`` document."""
    rec, summ = j["recording"], j["summary"]
    n = int(summ["reps"])
    hours = float(rec.get("duration_s") or 0.0) / 3600.0
    counts = summ.get("fault_counts", {})
    return {
        "format": rec.get("format"), "duration_s": rec.get("duration_s"),
        "sample_rate_hz": rec.get("sample_rate_hz"), "placement": rec.get("placement"),
        "exercise": rec.get("exercise"), "reps": n, "faulty_reps": int(summ["faulty_reps"]),
        "incomplete_reps": len(j["incomplete_reps"]),
        "peak_lumbar_flexion_deg": summ.get("peak_lumbar_flexion_deg"),
        "hinges_per_hour": n / hours if hours > 0 else None,
        "rounding_share": counts.get("lumbar_rounding", 0) / n if n else None,
        "lumbar_rounding_deg": j["thresholds"].get("lumbar_rounding_deg"),
        **{c: int(counts.get(c[2:], 0)) for c in FAULT_COLUMNS},
        "warnings": list(j.get("warnings", [])),
    }


def rep_rows(j: dict[str, Any], job: Job, result_id: str) -> list[dict[str, Any]]:
    """One row per rep (complete, then incomplete) with the recording's path and labels."""
    base = {"result_id": result_id, "recording_id": job.recording_id, "path": job.path,
            "person": job.person, "exercise": job.exercise, "calibration": job.calibration, **job.labels}
    rows = []
    for complete, reps in ((True, j["reps"]), (False, j["incomplete_reps"])):
        for r in reps:
            rows.append({**base, "complete": complete, **{k: r.get(k) for k in REP_KEYS},
                         "faults": list(r["faults"])})
    return rows


def run_job(job: Job, opts: WorkerOptions, previous: tuple[str | None, str | None] | None = None
            ) -> dict[str, Any]:
    """Analyse one recording. ``previous`` is the (content, calibration) hash of an earlier
    result with the same settings: when the bytes are the same, nothing is analysed and
    the result says ``unchanged``. Never raises for a bad file."""
    t0 = time.perf_counter()
    if job.error:
        return {"row": failed_row(job, job.error), "reps": []}
    try:
        digest = content_hash(job.path)
        cal_digest = content_hash(job.calibration) if job.calibration else None
    except OSError as e:
        return {"row": failed_row(job, f"{job.path}: expected a readable recording, found {e.strerror or e}"),
                "reps": []}
    if previous is not None and previous == (digest, cal_digest):
        return {"unchanged": True, "row": {"content_hash": digest, "input_sig": job.input_sig}, "reps": []}
    if job.found_in_folder:
        try:
            detect_format(Path(job.path))
        except HingecoachError as e:
            return {"row": {**failed_row(job, f"not a recording: {e}", "skipped"), "content_hash": digest},
                    "reps": []}
    try:
        return _analyse(job, opts, digest, cal_digest, t0)
    except HingecoachError as e:
        error = str(e)
    except MemoryError:
        error = f"{job.path}: out of memory while analysing it"
    except Exception as e:  # a reader's or the maths' bug must not end a batch of thousands
        error = f"{job.path}: {type(e).__name__}: {e}"
    row = failed_row(job, error, seconds=time.perf_counter() - t0)
    row.update(content_hash=digest, calibration_hash=cal_digest, format=_format_or_none(job.path))
    return {"row": row, "reps": []}


def _format_or_none(path: str) -> str | None:
    try:
        return detect_format(Path(path))
    except HingecoachError:
        return None


def _analyse(job: Job, opts: WorkerOptions, digest: str, cal_digest: str | None, t0: float) -> dict[str, Any]:
    st, _ = resolve_settings(job.overrides(), job.person, job.person_thresholds)
    a = analyze_file(job.path, calibration=job.calibration, fmt="auto", settings=st)
    j = a.to_json()
    result_id = f"{job.recording_id}-{digest[:12]}-{job.settings_key[:8]}-{time.time_ns():x}"
    if opts.angles:
        write_angles(Path(opts.out), job.recording_id, result_id, a.angles)
    payload = _save_payload(job, a, st) if opts.save else None
    row = {**base_row(job), **summary_fields(j), "result_id": result_id, "status": "ok", "error": None,
           "content_hash": digest, "calibration_hash": cal_digest,
           "seconds": time.perf_counter() - t0, "finished_at": time.time(), "worker": _worker_name()}
    return {"row": row, "reps": rep_rows(j, job, result_id), "save": payload}


def _save_payload(job: Job, a: Analysis, st: AnalysisSettings) -> SavePayload:
    """The raw recording read again exactly as the analysis read it (as ``analyze --save``
    does), so the stored session can be re-analysed; a video is stored without it, with
    its rep stills instead (``hingecoach.stills``)."""
    from hingecoach.stills import with_stills

    with_stills(job.path, a)
    raw, cal, extra = raw_for_saving(job.path, calibration=job.calibration, placement=st.placement)
    return SavePayload(a, raw, cal, st, extra)
