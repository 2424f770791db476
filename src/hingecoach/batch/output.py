"""The batch's Parquet output, written so that a kill at any moment loses nothing written.

Layout of the output folder::

    recordings.parquet      one row per input (the last result for each path)
    reps.parquet            one row per rep, with the recording's path and labels
    angles/recording_id=ID/RESULT.parquet   (--angles) the angles, partitioned by recording
    parts/                  results of a run still going (or killed), merged at its end
    summary.html

Every file is written under a hidden temporary name (``.NAME.tmp-*``, which Parquet
dataset readers ignore) and renamed into place, so no reader ever sees half a file.
Results arrive in parts (``parts/RUN-SEQ.reps.parquet``, then ``...recordings.parquet``:
a recordings part always has its reps); ``consolidate`` merges the parts into the two
tables, keeping one row per path (the newest) and the reps of exactly those results.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hingecoach.batch.plan import BatchError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.faults import MESSAGES

RECORDINGS = "recordings.parquet"
REPS = "reps.parquet"
PARTS = "parts"
ANGLES = "angles"
FAULT_COLUMNS = tuple(f"n_{f}" for f in MESSAGES)
_LABEL_ARROW = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}

_RECORDING_FIELDS: list[tuple[str, pa.DataType]] = [
    ("path", pa.string()), ("recording_id", pa.string()), ("result_id", pa.string()),
    ("status", pa.string()), ("error", pa.string()), ("format", pa.string()),
    ("content_hash", pa.string()), ("calibration_hash", pa.string()), ("input_sig", pa.string()),
    ("settings_key", pa.string()), ("duration_s", pa.float64()), ("sample_rate_hz", pa.float64()),
    ("placement", pa.string()), ("exercise", pa.string()), ("person", pa.string()),
    ("calibration", pa.string()), ("reps", pa.int64()), ("faulty_reps", pa.int64()),
    ("incomplete_reps", pa.int64()), ("peak_lumbar_flexion_deg", pa.float64()),
    ("hinges_per_hour", pa.float64()), ("rounding_share", pa.float64()),
    ("lumbar_rounding_deg", pa.float64()),
    *[(c, pa.int64()) for c in FAULT_COLUMNS],
    ("warnings", pa.list_(pa.string())), ("session_id", pa.int64()),
    ("hingecoach_version", pa.string()), ("seconds", pa.float64()), ("finished_at", pa.float64()),
    ("worker", pa.string()),
]
REP_KEYS = ("index", "start_s", "bottom_s", "end_s", "peak_lumbar_flexion_deg", "peak_pelvis_tilt_deg",
            "peak_trunk_inclination_deg", "lumbar_share", "top_extension_deg", "descent_s",
            "knee_hip_ratio", "peak_neck_extension_deg", "peak_lumbar_twist_deg")
_REP_FIELDS: list[tuple[str, pa.DataType]] = [
    ("result_id", pa.string()), ("recording_id", pa.string()), ("path", pa.string()),
    ("complete", pa.bool_()), ("index", pa.int64()),
    *[(k, pa.float64()) for k in REP_KEYS[1:]],
    ("faults", pa.list_(pa.string())), ("person", pa.string()), ("exercise", pa.string()),
    ("calibration", pa.string()),
]
RESERVED = frozenset(n for n, _ in _RECORDING_FIELDS) | frozenset(n for n, _ in _REP_FIELDS)


def schemas(label_types: dict[str, str]) -> tuple[pa.Schema, pa.Schema]:
    """The recordings and reps schemas with the manifest's labels as last columns."""
    clash = sorted(set(label_types) & RESERVED)
    if clash:
        raise BatchError(f"manifest column {clash[0]!r}: expected a label name that is not one of the "
                         f"output's own columns ({', '.join(sorted(RESERVED))})")
    labels = [(k, _LABEL_ARROW[t]) for k, t in label_types.items()]
    return pa.schema(_RECORDING_FIELDS + labels), pa.schema(_REP_FIELDS + labels)


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` under a temporary name, flushed to disk, then renamed."""
    with replacing(path) as tmp:
        pq.write_table(table, tmp)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A hidden temporary name beside ``path`` to write to; on success it is flushed to disk
    and renamed to ``path`` (readers never see half a file), on failure it is removed."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_angles(out: Path, recording_id: str, result_id: str, angles: TimeSeries) -> None:
    """One recording's angles (``time_s`` and every channel) into the angles dataset."""
    folder = out / ANGLES / f"recording_id={recording_id}"
    folder.mkdir(parents=True, exist_ok=True)
    cols = {"time_s": pa.array(angles.time_s)}
    cols.update({n: pa.array(angles[n]) for n in angles.channels})
    write_atomic(pa.table(cols), folder / f"{result_id}.parquet")


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the output folder for this run (another run on it is refused); the lock goes
    with the process, even when it is killed."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise BatchError(f"--out {out}: expected a folder that can be written, found {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BatchError(f"--out {out}: expected a folder no other batch is writing to, found one "
                             "in use (wait for it, or choose another folder)") from None
        _remove_temporaries(out)
        yield
    finally:
        os.close(fd)


def _remove_temporaries(out: Path) -> None:
    """Half-written files of a run that was killed (never renamed into place)."""
    for pattern in (".*.tmp-*", f"{PARTS}/.*.tmp-*", f"{ANGLES}/*/.*.tmp-*"):
        for p in out.glob(pattern):
            with contextlib.suppress(OSError):
                p.unlink()


def _part_files(out: Path, kind: str) -> list[Path]:
    return sorted((out / PARTS).glob(f"*.{kind}.parquet")) if (out / PARTS).is_dir() else []


def _concat(tables: list[pa.Table]) -> pa.Table | None:
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive")


def _latest_per_path(table: pa.Table) -> pa.Table:
    """One row per path: the one that finished last."""
    paths = table.column("path").to_pylist()
    done = table.column("finished_at").to_pylist()
    best: dict[str, int] = {}
    for i, (p, t) in enumerate(zip(paths, done, strict=True)):
        j = best.get(p)
        if j is None or (t or 0.0) >= (done[j] or 0.0):
            best[p] = i
    keep = sorted(best.values(), key=lambda i: paths[i])
    return table.take(keep)


def load_recordings(out: Path) -> pa.Table | None:
    """The current results: recordings.parquet and any parts, one row per path."""
    tables = []
    if (out / RECORDINGS).exists():
        tables.append(pq.read_table(out / RECORDINGS))
    tables += [pq.read_table(p) for p in _part_files(out, "recordings")]
    t = _concat(tables)
    return None if t is None else _latest_per_path(t)


def load_state(out: Path) -> dict[str, dict[str, Any]]:
    """What an earlier run left: per path, its row (to skip recordings already done)."""
    t = load_recordings(out)
    return {} if t is None else {r["path"]: r for r in t.to_pylist()}


class ResultWriter:
    """Collects results on the client and writes them as parts (reps first, then the
    recordings), every ``max_rows`` results or ``max_s`` seconds, and on ``flush``."""

    def __init__(self, out: Path, label_types: dict[str, str], *, max_rows: int = 64,
                 max_s: float = 5.0) -> None:
        self.out = out
        self.rec_schema, self.rep_schema = schemas(label_types)
        self.run = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.max_rows, self.max_s = max_rows, max_s
        self.rows: list[dict[str, Any]] = []
        self.reps: list[dict[str, Any]] = []
        self.seq = 0
        self.last = time.monotonic()

    def add(self, row: dict[str, Any], reps: list[dict[str, Any]], *, flush: bool = False) -> None:
        """Queue one recording's row and reps; write a part when due (or asked)."""
        self.rows.append(row)
        self.reps += reps
        if flush or len(self.rows) >= self.max_rows or time.monotonic() - self.last >= self.max_s:
            self.flush()

    def flush(self) -> None:
        """Write what is queued as one part (reps, then recordings)."""
        self.last = time.monotonic()
        if not self.rows:
            return
        (self.out / PARTS).mkdir(exist_ok=True)
        self.seq += 1
        stem = self.out / PARTS / f"{self.run}-{self.seq:06d}"
        write_atomic(pa.Table.from_pylist(self.reps, schema=self.rep_schema), stem.with_suffix(".reps.parquet"))
        write_atomic(pa.Table.from_pylist(self.rows, schema=self.rec_schema),
                     stem.with_suffix(".recordings.parquet"))
        self.rows, self.reps = [], []


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        if f.name in table.column_names:
            cols.append(table.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _unified(schemas_: list[pa.Schema]) -> pa.Schema:
    return pa.unify_schemas(schemas_, promote_options="permissive")


def consolidate(out: Path) -> pa.Table | None:
    """Merge the parts into recordings.parquet and reps.parquet (streaming the reps, so
    memory stays bounded), drop superseded results' reps and angles, remove the parts.
    Returns the recordings table."""
    rec_parts = _part_files(out, "recordings")
    rep_parts = _part_files(out, "reps")
    recordings = load_recordings(out)
    if recordings is None:
        return None
    kept = set(recordings.column("result_id").to_pylist())
    if rec_parts or rep_parts or not (out / REPS).exists():
        _merge_reps(out, rep_parts, kept)
        write_atomic(recordings, out / RECORDINGS)
    for p in rec_parts + rep_parts:
        with contextlib.suppress(OSError):
            p.unlink()
    with contextlib.suppress(OSError):
        (out / PARTS).rmdir()  # only when empty
    _prune_angles(out, kept)
    return recordings


def _merge_reps(out: Path, parts: list[Path], kept: set[str]) -> None:
    old = out / REPS
    sources = [pq.ParquetFile(p) for p in parts]
    old_file = pq.ParquetFile(old) if old.exists() else None
    in_parts: set[str] = set()
    for f in sources:
        in_parts.update(f.read(columns=["result_id"]).column("result_id").to_pylist())
    schema = _unified([f.schema_arrow for f in sources] + ([old_file.schema_arrow] if old_file else [])
                      or [schemas({})[1]])
    with replacing(old) as tmp, pq.ParquetWriter(tmp, schema) as w:
        for f in sources:
            t = f.read()
            t = t.filter(pc.is_in(t.column("result_id"), pa.array(sorted(kept), pa.string())))
            if t.num_rows:
                w.write_table(_conform(t, schema))
        if old_file is not None:
            wanted = pa.array(sorted(kept - in_parts), pa.string())
            for batch in old_file.iter_batches(batch_size=65536):
                t = pa.Table.from_batches([batch])
                t = t.filter(pc.is_in(t.column("result_id"), wanted))
                if t.num_rows:
                    w.write_table(_conform(t, schema))


def _prune_angles(out: Path, kept: set[str]) -> None:
    """Angles of results that are no longer current (re-analysed, or from a worker that
    died before its result arrived)."""
    root = out / ANGLES
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        for f in folder.glob("*.parquet"):
            if f.stem not in kept:
                with contextlib.suppress(OSError):
                    f.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
