"""Queries on what a session collects as it goes: ``reps``, ``sets``, ``cues``,
``events``, ``pain`` and ``notes`` (every row belongs to one session)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from hingecoach.core.errors import ParameterError
from hingecoach.faults import RepMetrics
from hingecoach.store.backend import StoreError
from hingecoach.store.base import StoreBase, now_iso
from hingecoach.store.convert import REP_COLUMNS, dumps, loads, rep_from_row, rep_row
from hingecoach.store.records import PAIN_MOMENTS, Cue, Note, PainRating, SessionEvent, SetRecord


class EntryQueries(StoreBase):
    """Reps, sets, cues, events, pain ratings and notes of a session."""

    # -- writing --------------------------------------------------------------------------
    def _insert_reps(self, sid: int, reps: Iterable[Any], set_idx: int | None = None) -> None:
        rows = []
        for m in reps:
            vals, faults, extra = rep_row(m)
            rows.append((sid, *vals, faults, extra, set_idx))
        if rows:
            cols = ", ".join(REP_COLUMNS)
            self.db.executemany(f"INSERT INTO reps (session_id, {cols}, faults, extra, set_idx) "
                                f"VALUES ({', '.join('?' * (len(REP_COLUMNS) + 4))})", rows)

    def _insert_cue(self, sid: int, t_s: float, fault: str, value_deg: float | None,
                    threshold_deg: float | None, data: dict[str, Any]) -> None:
        self.db.execute("INSERT INTO cues (session_id, t_s, fault, value_deg, threshold_deg, data) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (sid, float(t_s), str(fault), value_deg, threshold_deg, dumps(data)))

    def _insert_event(self, sid: int, kind: str, t_s: float | None, data: dict[str, Any]) -> None:
        self.db.execute("INSERT INTO events (session_id, t_s, kind, data) VALUES (?, ?, ?, ?)",
                        (sid, t_s, kind, dumps(data)))

    def _start_set(self, sid: int, idx: int, stage: str, exercise: str, started_s: float | None,
                   data: dict[str, Any]) -> None:
        self.db.execute("INSERT INTO sets (session_id, idx, stage, exercise, started_s, data) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (sid, idx, stage, exercise, started_s, dumps(data)))

    def _end_set(self, sid: int, idx: int, ended_s: float | None, data: dict[str, Any]) -> None:
        row = self.db.execute("SELECT data FROM sets WHERE session_id = ? AND idx = ?",
                              (sid, idx)).fetchone()
        if row is None:
            raise StoreError(f"session {sid}: no set {idx} was started")
        merged = {**loads(row[0], {}), **data}
        self.db.execute("UPDATE sets SET ended_s = ?, data = ? WHERE session_id = ? AND idx = ?",
                        (ended_s, dumps(merged), sid, idx))

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

    def add_note(self, sid: int, text: str, author: str = "") -> None:
        """A clinician's (or the person's) note on a session, timed now."""
        if not text.strip():
            raise ParameterError("note", "some text", text)
        self._require(sid)
        with self.db.transaction():
            self.db.execute("INSERT INTO notes (session_id, recorded_at, author, text) "
                            "VALUES (?, ?, ?, ?)", (sid, now_iso(), author, text))

    # -- reading --------------------------------------------------------------------------
    def _reps(self, sid: int) -> tuple[list[RepMetrics], list[int | None]]:
        """The session's reps in order, and the set each belongs to (None: no set)."""
        cols = ", ".join(REP_COLUMNS)
        reps, rep_sets = [], []
        for row in self.db.execute(f"SELECT {cols}, faults, extra, set_idx FROM reps "
                                   "WHERE session_id = ? ORDER BY id", (sid,)):
            reps.append(rep_from_row(tuple(row)))
            rep_sets.append(None if row[13] is None else int(row[13]))
        return reps, rep_sets

    def _sets(self, sid: int) -> list[SetRecord]:
        return [SetRecord(int(x[0]), x[1], x[2], x[3], x[4], loads(x[5], {})) for x in self.db.execute(
            "SELECT idx, stage, exercise, started_s, ended_s, data FROM sets WHERE session_id = ? "
            "ORDER BY idx, id", (sid,))]

    def _cues(self, sid: int) -> list[Cue]:
        return [Cue(float(x[0]), x[1], x[2], x[3], loads(x[4], {})) for x in self.db.execute(
            "SELECT t_s, fault, value_deg, threshold_deg, data FROM cues WHERE session_id = ? "
            "ORDER BY t_s, id", (sid,))]

    def _events(self, sid: int) -> list[SessionEvent]:
        return [SessionEvent(x[1], x[0], loads(x[2], {})) for x in self.db.execute(
            "SELECT t_s, kind, data FROM events WHERE session_id = ? ORDER BY id", (sid,))]

    def _pain(self, sid: int) -> list[PainRating]:
        return [PainRating(x[0], int(x[1]), x[2], x[3], x[4]) for x in self.db.execute(
            "SELECT moment, value, recorded_at, set_idx, note FROM pain WHERE session_id = ? "
            "ORDER BY recorded_at, id", (sid,))]

    def _notes(self, sid: int) -> list[Note]:
        return [Note(x[0], x[1], x[2]) for x in self.db.execute(
            "SELECT recorded_at, author, text FROM notes WHERE session_id = ? ORDER BY id", (sid,))]
