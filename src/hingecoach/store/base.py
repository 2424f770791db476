"""What every group of store queries shares: the backend, the URL, the session check.

``Store`` is assembled from one mixin per group of tables (``people``, ``sessions``,
``streams``, ``entries``, ``forget``); each mixin holds the SQL of its tables and
nothing else. Methods with a leading underscore are for the package itself (the live
``SessionWriter`` and the importer call them), not for users of ``Store``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hingecoach.store.backend import Backend, StoreNotFoundError
from hingecoach.store.paths import redact


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second (how the store writes times)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class StoreBase:
    """The backend every query mixin runs on."""

    db: Backend

    @property
    def url(self) -> str:
        """The database's URL or path, without a password (for messages)."""
        return redact(self.db.url)

    def _require(self, sid: int) -> None:
        if self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (int(sid),)).fetchone() is None:
            raise StoreNotFoundError(f"{self.url}: no session {sid} (hingecoach sessions lists them)")
