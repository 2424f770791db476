"""Queries on the ``red_flag_clearances`` table: a clinician's clearance of a red flag.

The store keeps who cleared which flag for whom, when and why, and who revoked it; it
does not judge which flags may be cleared (the coach's safety table does).
"""

from __future__ import annotations

from hingecoach.core.errors import ParameterError
from hingecoach.store.backend import StoreNotFoundError
from hingecoach.store.base import now_iso
from hingecoach.store.people import PeopleQueries
from hingecoach.store.records import Clearance

_COLUMNS = "c.id, p.name, c.flag, c.set_by, c.note, c.cleared_at, c.revoked_at, c.revoked_by, c.revoke_reason"


def _text(what: str, value: str, limit: int, required: bool) -> str:
    value = value.strip()
    if (required and not value) or len(value) > limit or any(ord(c) < 32 for c in value):
        need = "1" if required else "0"
        raise ParameterError(what, f"{need} to {limit} printable characters", value)
    return value


class ClearanceQueries(PeopleQueries):
    """Red-flag clearances, per person and flag."""

    def clearances(self, name: str, *, active_only: bool = True) -> list[Clearance]:
        """A person's clearances, oldest first (only those that hold unless ``active_only`` is False)."""
        sql = (f"SELECT {_COLUMNS} FROM red_flag_clearances c JOIN people p ON p.id = c.person_id "
               "WHERE p.name = ?" + (" AND c.revoked_at IS NULL" if active_only else "") + " ORDER BY c.id")
        return [Clearance(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])
                for r in self.db.execute(sql, (name,))]

    def add_clearance(self, name: str, flag: str, *, set_by: str, note: str = "") -> Clearance:
        """Record that ``set_by`` cleared ``flag`` for ``name`` (a person created if new);
        a clearance of the same flag that held before is replaced (revoked by the new one)."""
        set_by = _text("set_by", set_by, 100, True)
        note = _text("note", note, 500, False)
        flag = _text("flag", flag, 100, True)
        with self.db.transaction():
            p = self.ensure_person(name)
            now = now_iso()
            self.db.execute("UPDATE red_flag_clearances SET revoked_at = ?, revoked_by = ?, revoke_reason = ? "
                            "WHERE person_id = ? AND flag = ? AND revoked_at IS NULL",
                            (now, set_by, "replaced by a newer clearance", p.id, flag))
            cid = self.db.insert("INSERT INTO red_flag_clearances (person_id, flag, set_by, note, cleared_at) "
                                 "VALUES (?, ?, ?, ?, ?)", (p.id, flag, set_by, note, now))
        return next(c for c in self.clearances(p.name) if c.id == cid)

    def revoke_clearance(self, name: str, flag: str, *, by: str, reason: str = "") -> Clearance:
        """Revoke the clearance of ``flag`` that holds for ``name``; returns it as revoked.
        A StoreNotFoundError when none holds."""
        by = _text("revoked_by", by, 100, True)
        reason = _text("reason", reason, 500, False)
        with self.db.transaction():
            held = [c for c in self.clearances(name) if c.flag == flag]
            if not held:
                known = ", ".join(c.flag for c in self.clearances(name)) or "none"
                raise StoreNotFoundError(f"{self.url}: no clearance of {flag!r} holds for {name!r} "
                                         f"(cleared now: {known})")
            self.db.execute("UPDATE red_flag_clearances SET revoked_at = ?, revoked_by = ?, revoke_reason = ? "
                            "WHERE id = ?", (now_iso(), by, reason, held[-1].id))
        return next(c for c in self.clearances(name, active_only=False) if c.id == held[-1].id)
