"""Queries on ``stills``: a camera session's rep stills (one encoded image per rep, with
the rep's verdict), written with the session and read back for its report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from hingecoach.core.stills import RepStill
from hingecoach.store.base import StoreBase
from hingecoach.store.convert import dumps, loads

STILL_COLUMNS = ("seq", "rep_index", "complete", "t_s", "frame_index", "judged", "not_judged_because",
                 "faults", "mime", "width", "height")


def still_row(s: RepStill) -> tuple[Any, ...]:
    """The still's columns (``STILL_COLUMNS``), then its payload."""
    return (s.seq, s.rep_index, int(s.complete), float(s.t_s), s.frame_index, int(s.judged),
            s.not_judged_because, dumps(list(s.faults)), s.mime, s.width, s.height, bytes(s.data))


def still_from_row(r: Sequence[Any]) -> RepStill:
    """A row of ``STILL_COLUMNS`` and the payload -> the still."""
    return RepStill(int(r[0]), int(r[1]), bool(r[2]), float(r[3]), int(r[4]), bool(r[5]), r[6],
                    tuple(loads(r[7], [])), str(r[8]), int(r[9]), int(r[10]), bytes(r[11]))


class StillQueries(StoreBase):
    """The rep stills of a session."""

    def _insert_stills(self, sid: int, stills: Iterable[RepStill]) -> None:
        rows = [(sid, *still_row(s)) for s in stills]
        if rows:
            self.db.executemany(f"INSERT INTO stills (session_id, {', '.join(STILL_COLUMNS)}, payload) "
                                f"VALUES ({', '.join('?' * (len(STILL_COLUMNS) + 2))})", rows)

    def stills(self, sid: int) -> list[RepStill]:
        """The session's rep stills in rep order (none for an IMU session)."""
        return [still_from_row(r) for r in self.db.execute(
            f"SELECT {', '.join(STILL_COLUMNS)}, payload FROM stills WHERE session_id = ? ORDER BY seq",
            (int(sid),))]

    def still(self, sid: int, seq: int) -> RepStill | None:
        """One still by its place among the session's reps (``RepStill.seq``), or None."""
        r = self.db.execute(f"SELECT {', '.join(STILL_COLUMNS)}, payload FROM stills WHERE session_id = ? "
                            "AND seq = ?", (int(sid), int(seq))).fetchone()
        return None if r is None else still_from_row(r)
