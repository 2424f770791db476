"""Queries on the ``people`` table: names (or pseudonyms) and their thresholds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hingecoach.core.errors import ParameterError
from hingecoach.store.base import StoreBase, now_iso
from hingecoach.store.convert import PERSON_KEYS, check_person_value, dumps, loads
from hingecoach.store.records import Person


def check_name(name: str) -> str:
    """The name stripped, or a ParameterError if it is empty, too long or unprintable."""
    name = name.strip()
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise ParameterError("person", "a name or pseudonym of 1 to 200 printable characters", name)
    return name


class PeopleQueries(StoreBase):
    """People and the thresholds a clinician set for them."""

    def person(self, name: str) -> Person | None:
        """The person called ``name``, or None."""
        row = self.db.execute("SELECT id, name, thresholds, created_at FROM people WHERE name = ?",
                              (name,)).fetchone()
        return None if row is None else Person(int(row[0]), row[1], loads(row[2], {}), row[3])

    def people(self) -> list[Person]:
        """Everyone in the store, by name."""
        return [Person(int(r[0]), r[1], loads(r[2], {}), r[3]) for r in
                self.db.execute("SELECT id, name, thresholds, created_at FROM people ORDER BY name")]

    def ensure_person(self, name: str) -> Person:
        """The person called ``name``, created (with no thresholds) if new."""
        name = check_name(name)
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
