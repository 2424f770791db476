"""The session store: people, sessions, reps, cues, pain, notes and recordings.

``Store.open(url)`` opens (or creates) the database after checking that it is one of
ours, of a schema version this code knows, and migrates it forward. Offline analyses
are saved in one transaction (``save_analysis``); live sessions append as they go
through a ``SessionWriter`` (every append commits, so a crash loses at most the last
flush interval).

The queries live with their tables, one mixin per group (``people``, ``sessions``,
``streams``, ``entries``, ``clearances``, ``forget``); this module opens, checks and closes the
database and starts live sessions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hingecoach.analysis import AnalysisSettings
from hingecoach.faults import Thresholds
from hingecoach.store.backend import (
    APPLICATION_ID,
    Backend,
    PostgresBackend,
    SQLiteBackend,
    StoreError,
    StoreNotFoundError,
    check_sqlite_file,
)
from hingecoach.store.clearances import ClearanceQueries
from hingecoach.store.forget import ForgetQueries
from hingecoach.store.migrations import APPLICATION, LATEST, current_version, migrate
from hingecoach.store.paths import default_url, home_dir, is_postgres, redact, sqlite_path
from hingecoach.store.sessions import SessionQueries
from hingecoach.store.writer import SessionWriter

__all__ = ["SessionWriter", "Store", "open_store"]


class Store(SessionQueries, ClearanceQueries, ForgetQueries):
    """A hingecoach database (SQLite file or PostgreSQL). Not for sharing one object
    between processes; within a process, calls are serialised by a lock."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str | os.PathLike[str] | None = None, *, busy_timeout_s: float = 3.0,
             create: bool = True) -> Store:
        """Open (creating and migrating as needed) the store at ``url``; see ``open_store``."""
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
        """Close the connection (a live writer must be closed first)."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        """The database's schema version (``SCHEMA_VERSION`` once opened)."""
        return int(current_version(self.db) or 0)

    # -- live sessions ----------------------------------------------------------------------
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


def _touch_private(path: Path) -> None:
    """Create the database file readable by its owner only (health data)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as e:
        raise StoreError(f"{path}: cannot create the database: {e.strerror}") from None


def open_store(url: str | os.PathLike[str] | None = None, *, busy_timeout_s: float = 3.0,
               create: bool = True) -> Store:
    """Open (creating and migrating as needed) the store at ``url``: a path or
    ``sqlite:///path`` for SQLite, ``postgresql://...`` for PostgreSQL; default
    ``$HINGECOACH_DB`` or ``$HINGECOACH_HOME/hingecoach.db``."""
    return Store.open(url, busy_timeout_s=busy_timeout_s, create=create)
