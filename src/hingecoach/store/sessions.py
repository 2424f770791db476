"""Queries on the ``sessions`` table, and a session read or saved whole (its rows in
the other tables and its sample streams)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hingecoach import __version__
from hingecoach.analysis import Analysis, AnalysisSettings, analyze_recording
from hingecoach.core.conventions import PLACEMENTS
from hingecoach.core.timeseries import TimeSeries
from hingecoach.faults import Thresholds, default_thresholds
from hingecoach.store.backend import StoreError, StoreNotFoundError
from hingecoach.store.base import now_iso
from hingecoach.store.convert import (
    dumps,
    loads,
    settings_from_json,
    settings_json,
    thresholds_from_json,
    thresholds_json,
)
from hingecoach.store.entries import EntryQueries
from hingecoach.store.markers import landmark_series
from hingecoach.store.migrations import update_summary
from hingecoach.store.people import PeopleQueries
from hingecoach.store.records import SessionRecord, SessionSummary
from hingecoach.store.stills import StillQueries
from hingecoach.store.streams import ANGLE_DTYPE, LANDMARK_DTYPE, StreamQueries, series_columns

_SUMMARY_SQL = (
    "SELECT s.id, s.uid, p.name, s.started_at, s.kind, s.source, s.device, s.complete, "
    "s.n_reps, s.n_faulty, s.peak_lumbar_deg, s.hinge_range_deg, "
    "(SELECT value FROM pain WHERE session_id = s.id AND moment = 'before' ORDER BY id DESC LIMIT 1), "
    "(SELECT value FROM pain WHERE session_id = s.id AND moment = 'after' ORDER BY id DESC LIMIT 1) "
    "FROM sessions s LEFT JOIN people p ON p.id = s.person_id ")


def _summary(r: Sequence[Any]) -> SessionSummary:
    return SessionSummary(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), int(r[8]),
                          int(r[9]), None if r[10] is None else float(r[10]),
                          None if r[11] is None else float(r[11]),
                          None if r[12] is None else int(r[12]),
                          None if r[13] is None else int(r[13]))


class SessionQueries(PeopleQueries, StreamQueries, EntryQueries, StillQueries):
    """Sessions: creating, saving an analysis whole, listing, reading back."""

    # -- writing --------------------------------------------------------------------------
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

    def _update_session(self, sid: int, columns: Mapping[str, Any]) -> None:
        """Set columns of the session's row (values already JSON where the column is)."""
        if columns:
            sets = ", ".join(f"{c} = ?" for c in columns)
            self.db.execute(f"UPDATE sessions SET {sets} WHERE id = ?", (*columns.values(), sid))

    def save_analysis(self, analysis: Analysis, *, raw: TimeSeries | None = None,
                      calibration: TimeSeries | None = None, person: str | None = None,
                      settings: AnalysisSettings | None = None, source: str | None = None,
                      device: str = "", started_at: str | None = None, kind: str = "offline",
                      extra: dict[str, Any] | None = None) -> int:
        """Store a finished analysis (its reps, thresholds, angles; a camera analysis's
        landmarks and rep stills) and, when given, the raw recording and calibration it came from, in one
        transaction. Returns the id."""
        a = analysis
        if a.camera_verdict is not None:  # the clip's verdict and what each rep could be judged on
            extra = {**(extra or {}), "camera_verdict": a.camera_verdict.stored_json()}
        with self.db.transaction():
            sid = self._new_session(
                person=person, kind=kind, source=source or str(a.info.get("source", "")),
                device=device, started_at=started_at, settings=settings, thresholds=a.thresholds,
                calibration={"max_flexion_deg": a.max_flexion_deg,
                             "window_s": a.info.get("calibration_window_s"),
                             "source": a.info.get("calibration_source")},
                info=a.info, warnings=a.warnings, complete=True, extra=extra)
            self._insert_reps(sid, [*a.reps, *a.incomplete])
            self._insert_stills(sid, a.stills)
            for name, ts, dtype in (("raw", raw, None), ("calibration", calibration, None),
                                    ("angles", a.angles, ANGLE_DTYPE),
                                    ("landmarks", landmark_series(a), LANDMARK_DTYPE)):
                if ts is not None and len(ts):
                    self._stream_meta(sid, name, ts)
                    self._write_chunks(sid, name, series_columns(ts, dtype), 0)
            update_summary(self.db, sid)
        return sid

    def update_extra(self, sid: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``data`` into the session's free-form ``extra`` (e.g. the guided
        programme's stage and answers); returns the result."""
        self._require(sid)
        with self.db.transaction():
            row = self.db.execute("SELECT extra FROM sessions WHERE id = ?", (int(sid),)).fetchone()
            merged = {**loads(row[0], {}), **data}
            self.db.execute("UPDATE sessions SET extra = ? WHERE id = ?", (dumps(merged), int(sid)))
        return merged

    # -- reading --------------------------------------------------------------------------
    def session_extras(self, person: str) -> list[tuple[int, dict[str, Any]]]:
        """(id, extra) of a person's sessions, oldest first, in one query (the guided
        programme keeps its state in ``extra``; loading whole records would be slow)."""
        rows = self.db.execute("SELECT s.id, s.extra FROM sessions s JOIN people p ON p.id = s.person_id "
                               "WHERE p.name = ? ORDER BY s.started_at, s.id", (person,))
        return [(int(r[0]), loads(r[1], {})) for r in rows]

    def sessions(self, person: str | None = None) -> list[SessionSummary]:
        """All sessions (of one person), oldest first."""
        if person is not None:
            if self.person(person) is None:
                raise StoreNotFoundError(f"{self.url}: no person {person!r} "
                                 f"(known: {', '.join(p.name for p in self.people()) or 'none'})")
            rows = self.db.execute(_SUMMARY_SQL + "WHERE p.name = ? ORDER BY s.started_at, s.id",
                                   (person,))
        else:
            rows = self.db.execute(_SUMMARY_SQL + "ORDER BY s.started_at, s.id")
        return [_summary(r) for r in rows]

    def summary(self, sid: int) -> SessionSummary:
        """One session's line of ``hingecoach sessions`` (StoreNotFoundError if none)."""
        r = self.db.execute(_SUMMARY_SQL + "WHERE s.id = ?", (int(sid),)).fetchone()
        if r is None:
            self._require(sid)
        return _summary(r)

    def session(self, sid: int) -> SessionRecord:
        """Everything stored about a session except its sample streams."""
        sid = int(sid)
        summary = self.summary(sid)
        r = self.db.execute("SELECT software_version, settings, calibration, thresholds, info, "
                            "warnings, extra FROM sessions WHERE id = ?", (sid,)).fetchone()
        reps, rep_sets = self._reps(sid)
        return SessionRecord(summary, r[0], loads(r[1], {}), loads(r[2], {}), loads(r[3], {}),
                             loads(r[4], {}), loads(r[5], []), loads(r[6], {}), reps, rep_sets,
                             self._sets(sid), self._cues(sid), self._events(sid), self._pain(sid),
                             self._notes(sid), self._stream_names(sid))

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
