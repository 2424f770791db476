"""Forgetting a person: every table, in one transaction, leaving nothing in the file."""

from __future__ import annotations

from hingecoach.store.backend import StoreNotFoundError
from hingecoach.store.people import PeopleQueries
from hingecoach.store.records import ForgetReport

# what hangs off a session, counted for the report, then deleted
_COUNTED = ("reps", "pain", "notes", "cues", "events", "stills")
_SESSION_TABLES = (*_COUNTED, "sets", "streams", "chunks")


class ForgetQueries(PeopleQueries):
    """The right to be forgotten."""

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
                      for t in _COUNTED}
            nbytes = sum(count(f"SELECT SUM(LENGTH(payload)) FROM {t} WHERE session_id IN ({sel})")
                         for t in ("chunks", "stills"))
            incomplete = count(f"SELECT COUNT(*) FROM reps WHERE complete = 0 AND session_id IN ({sel})")
            n_sessions = count("SELECT COUNT(*) FROM sessions WHERE person_id = ?")
            for t in _SESSION_TABLES:
                self.db.execute(f"DELETE FROM {t} WHERE session_id IN ({sel})", (p.id,))
            self.db.execute("DELETE FROM sessions WHERE person_id = ?", (p.id,))
            self.db.execute("DELETE FROM red_flag_clearances WHERE person_id = ?", (p.id,))
            self.db.execute("DELETE FROM people WHERE id = ?", (p.id,))
        if self.db.kind == "sqlite":
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:  # reclaim the dead rows now rather than at the next autovacuum
            self.db.execute("VACUUM people, red_flag_clearances, sessions, reps, pain, notes, cues, events, "
                            "sets, streams, chunks, stills")
        return ForgetReport(p.name, n_sessions, counts["reps"], counts["pain"], counts["notes"],
                            counts["cues"], counts["events"], nbytes, counts["stills"], incomplete)
