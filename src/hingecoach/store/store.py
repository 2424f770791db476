"""The session store: people, sessions, reps, cues, pain, notes and recordings.

``Store.open(url)`` opens (or creates) the database after checking that it is one of
ours, of a schema version this code knows, and migrates it forward. Offline analyses
are saved in one transaction (``save_analysis``); live sessions append as they go
through a ``SessionWriter`` (every append commits, so a crash loses at most the last
flush interval).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hingecoach import __version__
from hingecoach.analysis import Analysis, AnalysisSettings, analyze_recording
from hingecoach.core.conventions import PLACEMENTS
from hingecoach.core.errors import ParameterError
from hingecoach.core.timeseries import ChannelInfo, TimeSeries
from hingecoach.faults import RepMetrics, Thresholds, default_thresholds
from hingecoach.store import codec
from hingecoach.store.backend import (
    APPLICATION_ID,
    Backend,
    PostgresBackend,
    SQLiteBackend,
    StoreError,
    StoreNotFoundError,
    check_sqlite_file,
)
from hingecoach.store.convert import (
    PERSON_KEYS,
    REP_COLUMNS,
    check_person_value,
    dumps,
    loads,
    rep_from_row,
    rep_row,
    settings_from_json,
    settings_json,
    thresholds_from_json,
    thresholds_json,
)
from hingecoach.store.migrations import APPLICATION, LATEST, current_version, migrate, update_summary
from hingecoach.store.paths import default_url, home_dir, is_postgres, redact, sqlite_path
from hingecoach.store.records import (
    PAIN_MOMENTS,
    Cue,
    ForgetReport,
    Note,
    PainRating,
    Person,
    SessionEvent,
    SessionRecord,
    SessionSummary,
    SetRecord,
)

CHUNK_S = 60.0  # seconds of samples per stored chunk (offline saves and compaction)
ANGLE_DTYPE = np.float32  # derived angles: float32 is far finer than any sensor
STREAMS = ("raw", "calibration", "angles")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _series_columns(ts: TimeSeries, dtype: Any = None) -> dict[str, NDArray[Any]]:
    cols: dict[str, NDArray[Any]] = {"time_s": np.asarray(ts.time_s, dtype=np.float64)}
    for name, a in ts.data.items():
        cols[name] = np.asarray(a, dtype=dtype) if dtype is not None else np.asarray(a)
    return cols


class Store:
    """A hingecoach database (SQLite file or PostgreSQL). Not for sharing one object
    between processes; within a process, calls are serialised by a lock."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str | os.PathLike[str] | None = None, *, busy_timeout_s: float = 3.0,
             create: bool = True) -> Store:
        url = str(url) if url is not None else default_url()
        db: Backend
        if is_postgres(url):
            db = PostgresBackend(url, busy_timeout_s)
        else:
            path = sqlite_path(url)
            check_sqlite_file(path)
            if not path.exists():
                if not create:
                    raise StoreNotFoundError(f"{path}: no such database (nothing saved yet: 'hingecoach "
                                     "analyze FILE --save' creates it)")
                if url == default_url() and path.parent == home_dir():
                    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                elif not path.parent.is_dir():
                    raise StoreError(f"{path}: expected an existing folder for the database, "
                                     f"found no folder {path.parent}")
                _touch_private(path)
            db = SQLiteBackend(str(path), busy_timeout_s)
        try:
            cls._prepare(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    @staticmethod
    def _prepare(db: Backend) -> None:
        """Check the database is ours and not newer, only then write (WAL, migrations)."""
        where = redact(db.url)
        tables = db.tables()
        if db.kind == "sqlite":
            app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
            if tables and app_id != APPLICATION_ID and "hingecoach_meta" not in tables:
                raise StoreError(f"{where}: expected a hingecoach database, found an SQLite database "
                                 f"of another application (tables: {', '.join(sorted(tables)[:6])}); "
                                 "it was not changed")
        elif tables and "hingecoach_meta" not in tables and tables & {"people", "sessions", "reps"}:
            raise StoreError(f"{where}: expected a hingecoach database, found tables of another "
                             f"application ({', '.join(sorted(tables)[:6])}); it was not changed; "
                             "use a database of its own for hingecoach")
        version = current_version(db)
        if "hingecoach_meta" in tables:
            row = db.execute("SELECT value FROM hingecoach_meta WHERE key = 'application'").fetchone()
            if not row or row[0] != APPLICATION or version is None:
                raise StoreError(f"{where}: expected a hingecoach database, found a damaged one "
                                 "(no application or schema version); it was not changed")
        if version is not None and version > LATEST:
            raise StoreError(f"{where}: this database was written by a newer hingecoach (schema "
                             f"version {version}; this version knows up to {LATEST}); upgrade "
                             "hingecoach to open it; it was not changed")
        if db.kind == "sqlite":
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            if app_id != APPLICATION_ID:
                with db.transaction():
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        if version is None or version < LATEST:
            migrate(db, version)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return redact(self.db.url)

    def schema_version(self) -> int:
        return int(current_version(self.db) or 0)

    # -- people -------------------------------------------------------------------------
    def person(self, name: str) -> Person | None:
        row = self.db.execute("SELECT id, name, thresholds, created_at FROM people WHERE name = ?",
                              (name,)).fetchone()
        return None if row is None else Person(int(row[0]), row[1], loads(row[2], {}), row[3])

    def people(self) -> list[Person]:
        return [Person(int(r[0]), r[1], loads(r[2], {}), r[3]) for r in
                self.db.execute("SELECT id, name, thresholds, created_at FROM people ORDER BY name")]

    def ensure_person(self, name: str) -> Person:
        name = _check_name(name)
        with self.db.transaction():
            p = self.person(name)
            if p is None:
                self.db.insert("INSERT INTO people (name, thresholds, created_at) VALUES (?, '{}', ?)",
                               (name, now_iso()))
                p = self.person(name)
        assert p is not None
        return p

    def set_thresholds(self, name: str, values: Mapping[str, Any], *, set_by: str = "",
                       clear: Iterable[str] = ()) -> Person:
        """Set (or clear) a person's thresholds; each remembers who set it and when."""
        checked = {k: check_person_value(k, v) for k, v in values.items() if v is not None}
        clear = list(clear)
        for k in clear:
            if k not in PERSON_KEYS:
                raise ParameterError("threshold", f"one of {', '.join(PERSON_KEYS)}", k)
        with self.db.transaction():
            p = self.ensure_person(name)
            th = dict(p.thresholds)
            for k in clear:
                th.pop(k, None)
            for k, v in checked.items():
                th[k] = {"value": v, "set_by": set_by, "set_at": now_iso()}
            self.db.execute("UPDATE people SET thresholds = ? WHERE id = ?", (dumps(th), p.id))
        out = self.person(p.name)
        assert out is not None
        return out

    # -- writing sessions ---------------------------------------------------------------
    def _new_session(self, *, person: str | None, kind: str, source: str, device: str,
                     started_at: str | None, settings: AnalysisSettings | dict[str, Any] | None,
                     thresholds: Thresholds | None, calibration: dict[str, Any] | None,
                     info: dict[str, Any] | None, warnings: Sequence[str], complete: bool,
                     uid: str | None = None, software_version: str = __version__,
                     extra: dict[str, Any] | None = None) -> int:
        pid = self.ensure_person(person).id if person else None
        st = settings_json(settings) if isinstance(settings, AnalysisSettings) else (settings or {})
        return self.db.insert(
            "INSERT INTO sessions (uid, person_id, started_at, kind, source, device, complete, "
            "software_version, settings, calibration, thresholds, info, warnings, extra) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uid or str(uuid.uuid4()), pid, started_at or now_iso(), kind, source, device,
             int(complete), software_version, dumps(st), dumps(calibration or {}),
             dumps(thresholds_json(thresholds) if thresholds else {}), dumps(info or {}),
             dumps(list(warnings)), dumps(extra or {})))

    def _insert_reps(self, sid: int, reps: Iterable[Any], set_idx: int | None = None) -> None:
        rows = []
        for m in reps:
            vals, faults, extra = rep_row(m)
            rows.append((sid, *vals, faults, extra, set_idx))
        if rows:
            cols = ", ".join(REP_COLUMNS)
            self.db.executemany(f"INSERT INTO reps (session_id, {cols}, faults, extra, set_idx) "
                                f"VALUES ({', '.join('?' * (len(REP_COLUMNS) + 4))})", rows)

    def _stream_meta(self, sid: int, name: str, ts: TimeSeries) -> None:
        info = {k: [v.unit, v.frame, v.source] for k, v in ts.info.items()}
        self.db.execute("DELETE FROM streams WHERE session_id = ? AND name = ?", (sid, name))
        self.db.execute("INSERT INTO streams (session_id, name, info, meta) VALUES (?, ?, ?, ?)",
                        (sid, name, dumps(info), dumps(ts.meta)))

    def _write_chunks(self, sid: int, name: str, cols: Mapping[str, NDArray[Any]], seq0: int,
                      chunk_s: float = CHUNK_S) -> int:
        """Write columns as chunks of ``chunk_s`` seconds; returns the next seq."""
        t = cols["time_s"]
        if t.size == 0:
            return seq0
        if np.isfinite(chunk_s):
            edges = np.searchsorted(t, np.arange(t[0], t[-1] + chunk_s, chunk_s), side="left")
            edges = np.unique(np.r_[edges, t.size])
        else:
            edges = np.array([t.size])
        rows = []
        seq = seq0
        lo = 0
        for hi in edges[edges > 0]:
            part = {k: v[lo:hi] for k, v in cols.items()}
            rows.append((sid, name, seq, float(t[lo]), float(t[hi - 1]), int(hi - lo),
                         codec.encode(part)))
            seq += 1
            lo = int(hi)
        self.db.executemany("INSERT INTO chunks (session_id, stream, seq, t0, t1, n, payload) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return seq

    def save_analysis(self, analysis: Analysis, *, raw: TimeSeries | None = None,
                      calibration: TimeSeries | None = None, person: str | None = None,
                      settings: AnalysisSettings | None = None, source: str | None = None,
                      device: str = "", started_at: str | None = None, kind: str = "offline",
                      extra: dict[str, Any] | None = None) -> int:
        """Store a finished analysis (its reps, thresholds, angles) and, when given, the
        raw recording and calibration it came from, in one transaction. Returns the id."""
        a = analysis
        with self.db.transaction():
            sid = self._new_session(
                person=person, kind=kind, source=source or str(a.info.get("source", "")),
                device=device, started_at=started_at, settings=settings, thresholds=a.thresholds,
                calibration={"max_flexion_deg": a.max_flexion_deg,
                             "window_s": a.info.get("calibration_window_s"),
                             "source": a.info.get("calibration_source")},
                info=a.info, warnings=a.warnings, complete=True, extra=extra)
            self._insert_reps(sid, [*a.reps, *a.incomplete])
            for name, ts, dtype in (("raw", raw, None), ("calibration", calibration, None),
                                    ("angles", a.angles, ANGLE_DTYPE)):
                if ts is not None and len(ts):
                    self._stream_meta(sid, name, ts)
                    self._write_chunks(sid, name, _series_columns(ts, dtype), 0)
            update_summary(self.db, sid)
        return sid

    def writer(self, *, person: str | None = None, source: str = "live", device: str = "",
               settings: AnalysisSettings | None = None, thresholds: Thresholds | None = None,
               info: dict[str, Any] | None = None, started_at: str | None = None,
               kind: str = "live", flush_interval_s: float = 0.5, autoflush: bool = True,
               extra: dict[str, Any] | None = None) -> SessionWriter:
        """Open a live session (marked incomplete until ``close``)."""
        with self.db.transaction():
            sid = self._new_session(person=person, kind=kind, source=source, device=device,
                                    started_at=started_at, settings=settings,
                                    thresholds=thresholds, calibration={}, info=info or {},
                                    warnings=(), complete=False, extra=extra)
        return SessionWriter(self, sid, flush_interval_s, autoflush)

    def add_pain(self, sid: int, value: int, moment: str, *, set_idx: int | None = None,
                 note: str = "", at: str | None = None) -> None:
        """A pain rating 0-10 (``moment``: before, after, set, during, next_morning)."""
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 10:
            raise ParameterError("pain", "a whole number from 0 to 10", value)
        if moment not in PAIN_MOMENTS:
            raise ParameterError("pain moment", f"one of {', '.join(PAIN_MOMENTS)}", moment)
        self._require(sid)
        with self.db.transaction():
            self.db.execute("INSERT INTO pain (session_id, moment, value, recorded_at, set_idx, note) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (sid, moment, int(value), at or now_iso(), set_idx, note))

    def update_extra(self, sid: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``data`` into the session's free-form ``extra`` (e.g. the guided
        programme's stage and answers); returns the result."""
        self._require(sid)
        with self.db.transaction():
            row = self.db.execute("SELECT extra FROM sessions WHERE id = ?", (int(sid),)).fetchone()
            merged = {**loads(row[0], {}), **data}
            self.db.execute("UPDATE sessions SET extra = ? WHERE id = ?", (dumps(merged), int(sid)))
        return merged

    def session_extras(self, person: str) -> list[tuple[int, dict[str, Any]]]:
        """(id, extra) of a person's sessions, oldest first, in one query (the guided
        programme keeps its state in ``extra``; loading whole records would be slow)."""
        rows = self.db.execute("SELECT s.id, s.extra FROM sessions s JOIN people p ON p.id = s.person_id "
                               "WHERE p.name = ? ORDER BY s.started_at, s.id", (person,))
        return [(int(r[0]), loads(r[1], {})) for r in rows]

    def add_note(self, sid: int, text: str, author: str = "") -> None:
        if not text.strip():
            raise ParameterError("note", "some text", text)
        self._require(sid)
        with self.db.transaction():
            self.db.execute("INSERT INTO notes (session_id, recorded_at, author, text) "
                            "VALUES (?, ?, ?, ?)", (sid, now_iso(), author, text))

    # -- reading ------------------------------------------------------------------------
    def _require(self, sid: int) -> None:
        if self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (int(sid),)).fetchone() is None:
            raise StoreNotFoundError(f"{self.url}: no session {sid} (hingecoach sessions lists them)")

    _SUMMARY_SQL = (
        "SELECT s.id, s.uid, p.name, s.started_at, s.kind, s.source, s.device, s.complete, "
        "s.n_reps, s.n_faulty, s.peak_lumbar_deg, s.hinge_range_deg, "
        "(SELECT value FROM pain WHERE session_id = s.id AND moment = 'before' ORDER BY id DESC LIMIT 1), "
        "(SELECT value FROM pain WHERE session_id = s.id AND moment = 'after' ORDER BY id DESC LIMIT 1) "
        "FROM sessions s LEFT JOIN people p ON p.id = s.person_id ")

    @staticmethod
    def _summary(r: Sequence[Any]) -> SessionSummary:
        return SessionSummary(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), int(r[8]),
                              int(r[9]), None if r[10] is None else float(r[10]),
                              None if r[11] is None else float(r[11]),
                              None if r[12] is None else int(r[12]),
                              None if r[13] is None else int(r[13]))

    def sessions(self, person: str | None = None) -> list[SessionSummary]:
        """All sessions (of one person), oldest first."""
        if person is not None:
            if self.person(person) is None:
                raise StoreNotFoundError(f"{self.url}: no person {person!r} "
                                 f"(known: {', '.join(p.name for p in self.people()) or 'none'})")
            rows = self.db.execute(self._SUMMARY_SQL + "WHERE p.name = ? ORDER BY s.started_at, s.id",
                                   (person,))
        else:
            rows = self.db.execute(self._SUMMARY_SQL + "ORDER BY s.started_at, s.id")
        return [self._summary(r) for r in rows]

    def summary(self, sid: int) -> SessionSummary:
        r = self.db.execute(self._SUMMARY_SQL + "WHERE s.id = ?", (int(sid),)).fetchone()
        if r is None:
            self._require(sid)
        return self._summary(r)

    def session(self, sid: int) -> SessionRecord:
        sid = int(sid)
        summary = self.summary(sid)
        r = self.db.execute("SELECT software_version, settings, calibration, thresholds, info, "
                            "warnings, extra FROM sessions WHERE id = ?", (sid,)).fetchone()
        cols = ", ".join(REP_COLUMNS)
        reps, rep_sets = [], []
        for row in self.db.execute(f"SELECT {cols}, faults, extra, set_idx FROM reps "
                                   "WHERE session_id = ? ORDER BY id", (sid,)):
            reps.append(rep_from_row(tuple(row)))
            rep_sets.append(None if row[13] is None else int(row[13]))
        sets = [SetRecord(int(x[0]), x[1], x[2], x[3], x[4], loads(x[5], {})) for x in self.db.execute(
            "SELECT idx, stage, exercise, started_s, ended_s, data FROM sets WHERE session_id = ? "
            "ORDER BY idx, id", (sid,))]
        cues = [Cue(float(x[0]), x[1], x[2], x[3], loads(x[4], {})) for x in self.db.execute(
            "SELECT t_s, fault, value_deg, threshold_deg, data FROM cues WHERE session_id = ? "
            "ORDER BY t_s, id", (sid,))]
        events = [SessionEvent(x[1], x[0], loads(x[2], {})) for x in self.db.execute(
            "SELECT t_s, kind, data FROM events WHERE session_id = ? ORDER BY id", (sid,))]
        pain = [PainRating(x[0], int(x[1]), x[2], x[3], x[4]) for x in self.db.execute(
            "SELECT moment, value, recorded_at, set_idx, note FROM pain WHERE session_id = ? "
            "ORDER BY recorded_at, id", (sid,))]
        notes = [Note(x[0], x[1], x[2]) for x in self.db.execute(
            "SELECT recorded_at, author, text FROM notes WHERE session_id = ? ORDER BY id", (sid,))]
        streams = [x[0] for x in self.db.execute(
            "SELECT DISTINCT stream FROM chunks WHERE session_id = ? ORDER BY stream", (sid,))]
        return SessionRecord(summary, r[0], loads(r[1], {}), loads(r[2], {}), loads(r[3], {}),
                             loads(r[4], {}), loads(r[5], []), loads(r[6], {}), reps, rep_sets, sets,
                             cues, events, pain, notes, streams)

    def stream(self, sid: int, name: str) -> TimeSeries | None:
        """A stored sample stream (``raw``, ``calibration``, ``angles``) or None."""
        rows = list(self.db.execute("SELECT seq, payload FROM chunks WHERE session_id = ? AND "
                                    "stream = ? ORDER BY seq", (int(sid), name)))
        if not rows:
            return None
        parts = []
        for seq, payload in rows:
            try:
                parts.append(codec.decode(payload))
            except codec.CodecError as e:
                raise StoreError(f"{self.url}: session {sid}, stream {name!r}, chunk {seq}: {e}"
                                 ) from None
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        t = cols.pop("time_s")
        # a live writer killed between two flushes never leaves overlap, but an import of
        # a damaged export might: keep strictly increasing samples only
        if t.size > 1 and np.any(np.diff(t) <= 0):
            keep = np.r_[True, t[1:] > np.maximum.accumulate(t)[:-1]]
            t = t[keep]
            cols = {k: v[keep] for k, v in cols.items()}
        meta_row = self.db.execute("SELECT info, meta FROM streams WHERE session_id = ? AND name = ?",
                                   (int(sid), name)).fetchone()
        info_d, meta = (loads(meta_row[0], {}), loads(meta_row[1], {})) if meta_row else ({}, {})
        info = {k: ChannelInfo(*v) for k, v in info_d.items() if k in cols}
        return TimeSeries(t, {k: v.astype(np.float64) for k, v in cols.items()}, info=info, meta=meta)

    def load_analysis(self, sid: int, record: SessionRecord | None = None) -> Analysis:
        """The session as an ``Analysis`` (stored reps, thresholds and angles; not
        recomputed), e.g. for a report."""
        rec = record or self.session(sid)
        angles = self.stream(sid, "angles")
        if angles is None:
            angles = TimeSeries(np.zeros(0), {})
        placement = str(rec.info.get("placement", "T12"))
        th = thresholds_from_json(rec.thresholds) or default_thresholds(
            placement if placement in PLACEMENTS else "T12")
        maxflex = rec.calibration.get("max_flexion_deg")
        return Analysis(angles, [m for m in rec.reps if m.complete],
                        [m for m in rec.reps if not m.complete], th,
                        None if maxflex is None else float(maxflex), list(rec.warnings),
                        dict(rec.info))

    def reanalyze(self, sid: int, settings: AnalysisSettings | None = None) -> Analysis:
        """Analyse the stored raw recording again with this version's code (and the
        session's stored settings unless others are given)."""
        raw = self.stream(sid, "raw")
        if raw is None:
            raise StoreError(f"{self.url}: session {sid} has no raw recording stored "
                             "(saved without --save's raw samples, or a camera session)")
        cal = self.stream(sid, "calibration")
        rec = self.session(sid)
        st = settings or settings_from_json(rec.settings)
        return analyze_recording(raw, cal, st)

    # -- forgetting ---------------------------------------------------------------------
    def forget(self, name: str) -> ForgetReport:
        """Delete a person and everything recorded about them, in one transaction; on
        SQLite deleted pages are zeroed (secure_delete) and the WAL is checkpointed, so
        the data does not linger in the file."""
        p = self.person(name)
        if p is None:
            raise StoreNotFoundError(f"{self.url}: no person {name!r} "
                             f"(known: {', '.join(x.name for x in self.people()) or 'none'})")
        sel = "SELECT id FROM sessions WHERE person_id = ?"
        if self.db.kind == "sqlite":
            self.db.execute("PRAGMA secure_delete = ON")
        with self.db.transaction():
            def count(sql: str) -> int:
                return int(self.db.execute(sql, (p.id,)).fetchone()[0] or 0)
            counts = {t: count(f"SELECT COUNT(*) FROM {t} WHERE session_id IN ({sel})")
                      for t in ("reps", "pain", "notes", "cues", "events")}
            nbytes = count(f"SELECT SUM(LENGTH(payload)) FROM chunks WHERE session_id IN ({sel})")
            n_sessions = count("SELECT COUNT(*) FROM sessions WHERE person_id = ?")
            for t in ("reps", "pain", "notes", "cues", "events", "sets", "streams", "chunks"):
                self.db.execute(f"DELETE FROM {t} WHERE session_id IN ({sel})", (p.id,))
            self.db.execute("DELETE FROM sessions WHERE person_id = ?", (p.id,))
            self.db.execute("DELETE FROM people WHERE id = ?", (p.id,))
        if self.db.kind == "sqlite":
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:  # reclaim the dead rows now rather than at the next autovacuum
            self.db.execute("VACUUM people, sessions, reps, pain, notes, cues, events, sets, streams, chunks")
        return ForgetReport(p.name, n_sessions, counts["reps"], counts["pain"], counts["notes"],
                            counts["cues"], counts["events"], nbytes)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise ParameterError("person", "a name or pseudonym of 1 to 200 printable characters", name)
    return name


def _touch_private(path: Path) -> None:
    """Create the database file readable by its owner only (health data)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as e:
        raise StoreError(f"{path}: cannot create the database: {e.strerror}") from None


class SessionWriter:
    """Appends a live session as it happens.

    Samples are buffered and committed as one chunk per stream every
    ``flush_interval_s`` of wall-clock time (0.5 s), by the appending thread or, when
    the samples stop coming (a stalled sensor), by a small background flusher, so a
    crash loses at most that interval; reps, cues, events, sets and pain commit at once,
    together with any buffered samples. ``close`` writes the rest, merges the small
    live chunks into minute chunks, and marks the session complete; a session whose
    process died stays marked incomplete with everything up to its last flush.
    Safe to call from several threads (the store's lock serialises them).
    """

    def __init__(self, store: Store, sid: int, flush_interval_s: float = 0.5,
                 autoflush: bool = True) -> None:
        self.store = store
        self.id = sid
        self.flush_interval_s = flush_interval_s
        self._buf: dict[str, list[dict[str, NDArray[Any]]]] = {}
        self._seq: dict[str, int] = {}
        self._last_t: dict[str, float] = {}
        self._channels: dict[str, list[str]] = {}
        self._last_flush = time.monotonic()
        self.closed = False
        self.flush_error: StoreError | None = None  # what the background flusher met, if anything
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if autoflush and flush_interval_s > 0:
            self._flusher = threading.Thread(target=self._autoflush, name=f"hingecoach-flush-{sid}",
                                             daemon=True)
            self._flusher.start()

    def _autoflush(self) -> None:
        while not self._stop.wait(self.flush_interval_s / 2):
            with self.db.lock:
                if self.closed:
                    return
                if time.monotonic() - self._last_flush < self.flush_interval_s:
                    continue
                try:
                    self.flush()
                except StoreError as e:  # the next append or close raises it too
                    self.flush_error = e

    @property
    def db(self) -> Backend:
        return self.store.db

    def _check_open(self) -> None:
        if self.closed:
            raise StoreError(f"session {self.id} is closed")

    def append(self, stream: str, ts: TimeSeries, dtype: Any = None) -> None:
        """Buffer samples of one stream (channels must stay the same within a stream;
        samples at or before the last appended time are dropped: a replayed or
        re-sent packet must not break the time order)."""
        with self.db.lock:
            self._check_open()
            if not len(ts):
                return
            last = self._last_t.get(stream)
            if last is not None and ts.time_s[0] <= last:
                keep = int(np.searchsorted(ts.time_s, last, side="right"))
                if keep >= len(ts):
                    return
                ts = ts.slice_index(keep, len(ts))
            known = self._channels.get(stream)
            if known is None:
                with self.db.transaction():
                    self.store._stream_meta(self.id, stream, ts)
                self._channels[stream] = ts.channels
            elif ts.channels != known:
                raise ParameterError(f"stream {stream!r} channels", f"the same as before ({', '.join(known)})",
                                     ", ".join(ts.channels))
            self._buf.setdefault(stream, []).append(_series_columns(ts, dtype))
            self._last_t[stream] = float(ts.time_s[-1])
            if time.monotonic() - self._last_flush >= self.flush_interval_s:
                self.flush()

    def append_samples(self, ts: TimeSeries) -> None:
        """Raw sensor samples (kept exactly, for re-analysis)."""
        self.append("raw", ts)

    def append_angles(self, ts: TimeSeries) -> None:
        self.append("angles", ts, ANGLE_DTYPE)

    def _write_buffers(self) -> None:
        for stream, parts in self._buf.items():
            if not parts:
                continue
            cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            seq = self._seq.get(stream)
            if seq is None:
                row = self.db.execute("SELECT MAX(seq) FROM chunks WHERE session_id = ? AND stream = ?",
                                      (self.id, stream)).fetchone()
                seq = 0 if row[0] is None else int(row[0]) + 1
            self._seq[stream] = self.store._write_chunks(self.id, stream, cols, seq,
                                                         chunk_s=float("inf"))
        self._buf = {}
        self._last_flush = time.monotonic()

    def flush(self) -> None:
        """Commit the buffered samples now."""
        with self.db.lock:
            if any(self._buf.values()):
                with self.db.transaction():
                    self._write_buffers()
            else:
                self._last_flush = time.monotonic()

    @contextmanager
    def _commit(self) -> Iterator[None]:
        with self.db.lock:
            self._check_open()
            with self.db.transaction():
                self._write_buffers()
                yield

    def add_rep(self, rep: RepMetrics | Any, set_idx: int | None = None) -> None:
        with self._commit():
            self.store._insert_reps(self.id, [rep], set_idx)
            update_summary(self.db, self.id)

    def add_cue(self, t_s: float, fault: str, value_deg: float | None = None,
                threshold_deg: float | None = None, **data: Any) -> None:
        with self._commit():
            self.db.execute("INSERT INTO cues (session_id, t_s, fault, value_deg, threshold_deg, data) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (self.id, float(t_s), str(fault), value_deg, threshold_deg, dumps(data)))

    def add_event(self, kind: str, t_s: float | None = None, **data: Any) -> None:
        """Anything worth keeping with the session: a gap, a sensor that dropped out,
        a stage change, the red-flag screen's answers."""
        with self._commit():
            self.db.execute("INSERT INTO events (session_id, t_s, kind, data) VALUES (?, ?, ?, ?)",
                            (self.id, t_s, kind, dumps(data)))

    def start_set(self, idx: int, *, stage: str = "", exercise: str = "",
                  started_s: float | None = None, **data: Any) -> None:
        with self._commit():
            self.db.execute("INSERT INTO sets (session_id, idx, stage, exercise, started_s, data) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (self.id, idx, stage, exercise, started_s, dumps(data)))

    def end_set(self, idx: int, ended_s: float | None = None, **data: Any) -> None:
        with self._commit():
            row = self.db.execute("SELECT data FROM sets WHERE session_id = ? AND idx = ?",
                                  (self.id, idx)).fetchone()
            if row is None:
                raise StoreError(f"session {self.id}: no set {idx} was started")
            merged = {**loads(row[0], {}), **data}
            self.db.execute("UPDATE sets SET ended_s = ?, data = ? WHERE session_id = ? AND idx = ?",
                            (ended_s, dumps(merged), self.id, idx))

    def add_pain(self, value: int, moment: str, *, set_idx: int | None = None, note: str = "") -> None:
        self._check_open()
        self.flush()
        self.store.add_pain(self.id, value, moment, set_idx=set_idx, note=note)

    def update(self, *, thresholds: Thresholds | None = None, info: dict[str, Any] | None = None,
               calibration: dict[str, Any] | None = None, warnings: Sequence[str] | None = None,
               settings: AnalysisSettings | None = None, extra: dict[str, Any] | None = None) -> None:
        """Session facts learnt along the way (after calibration, a warning, the
        programme's stage in ``extra``, merged into what is there)."""
        if extra:
            self.store.update_extra(self.id, extra)
        sets, vals = [], []
        if thresholds is not None:
            sets.append("thresholds = ?")
            vals.append(dumps(thresholds_json(thresholds)))
        if info is not None:
            sets.append("info = ?")
            vals.append(dumps(info))
        if calibration is not None:
            sets.append("calibration = ?")
            vals.append(dumps(calibration))
        if warnings is not None:
            sets.append("warnings = ?")
            vals.append(dumps(list(warnings)))
        if settings is not None:
            sets.append("settings = ?")
            vals.append(dumps(settings_json(settings)))
        if sets:
            with self._commit():
                self.db.execute(f"UPDATE sessions SET {', '.join(sets)} WHERE id = ?", (*vals, self.id))

    def close(self, complete: bool = True) -> None:
        """Write what is left, compact the live chunks, mark the session complete."""
        self._stop.set()
        with self.db.lock:
            if self.closed:
                return
            with self.db.transaction():
                self._write_buffers()
                for stream in list(self._seq):
                    self._compact(stream)
                if complete:
                    self.db.execute("UPDATE sessions SET complete = 1 WHERE id = ?", (self.id,))
            self.closed = True
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join(timeout=5)

    def _compact(self, stream: str) -> None:
        rows = list(self.db.execute("SELECT payload FROM chunks WHERE session_id = ? AND stream = ? "
                                    "ORDER BY seq", (self.id, stream)))
        if len(rows) < 2:
            return
        parts = [codec.decode(r[0]) for r in rows]
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        self.db.execute("DELETE FROM chunks WHERE session_id = ? AND stream = ?", (self.id, stream))
        self.store._write_chunks(self.id, stream, cols, 0)

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if self.closed:
            return
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.close()  # Ctrl-C is how a person ends a live session
        else:
            try:
                self.add_event("error", None, message=str(exc)[:500])
                self.close(complete=False)
            except StoreError:
                pass  # the original error matters more; what was committed stays


def open_store(url: str | os.PathLike[str] | None = None, *, busy_timeout_s: float = 3.0,
               create: bool = True) -> Store:
    """Open (creating and migrating as needed) the store at ``url``: a path or
    ``sqlite:///path`` for SQLite, ``postgresql://...`` for PostgreSQL; default
    ``$HINGECOACH_DB`` or ``$HINGECOACH_HOME/hingecoach.db``."""
    return Store.open(url, busy_timeout_s=busy_timeout_s, create=create)
