"""The two database backends behind one small interface.

SQL is written once with ``?`` placeholders and a few dialect tokens (see
``migrations``); the PostgreSQL backend turns ``?`` into ``%s``. Every driver error is
translated here into a ``StoreError`` that says in one line what happened to which
database and what to do (locked, disk full, not a database, cannot connect), so no
caller ever shows a driver traceback.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from hingecoach.core.errors import ExtraMissingError, HingecoachError, NotFoundError
from hingecoach.core.extras import require
from hingecoach.store.paths import redact, sqlite_path

# PRAGMA application_id of a hingecoach SQLite file ("HCH1"): `file` and other tools
# can tell it apart from any other SQLite database, and so can we before touching it.
APPLICATION_ID = 0x48434831
SQLITE_MAGIC = b"SQLite format 3\x00"


class StoreError(HingecoachError):
    """A database problem the person can act on (one line, exit code 2)."""


class StoreNotFoundError(StoreError, NotFoundError):
    """No such session, person or database in the store (the web app answers 404)."""


class StoreLockedError(StoreError):
    """Another program holds the database's write lock (waited the busy timeout)."""


class StoreFullError(StoreError):
    """The disk (or the database's size limit) is full; nothing of the change was saved."""


class StoreExtraMissingError(StoreError, ExtraMissingError):
    """An optional dependency of the store (psycopg, pyarrow) is not installed; a
    StoreError, so what catches store errors catches it, and the message names the extra."""


def require_extra(extra: str, module: str, purpose: str) -> ModuleType:
    """``core.extras.require`` for the store: the same message, as a StoreExtraMissingError."""
    try:
        return require(extra, module, purpose)
    except ExtraMissingError as e:
        raise StoreExtraMissingError(e.extra, e.module, purpose) from None


class Backend(Protocol):
    """What the store needs of a database connection (SQL with ``?`` placeholders)."""

    kind: str
    url: str
    lock: threading.RLock

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns a cursor (``fetchone``, iteration)."""

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT; returns the new row's id."""

    def transaction(self) -> Any:
        """A context manager: one transaction (nested calls join the outer one)."""

    def tables(self) -> set[str]:
        """Names of the tables in the database (our schema)."""

    def close(self) -> None:
        """Close the connection."""


def _sqlite_error(url: str, e: BaseException, busy_s: float) -> StoreError:
    msg = str(e)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        return StoreLockedError(f"{url}: the database is locked by another program (waited "
                                f"{busy_s:g} s); close the other hingecoach or program using it "
                                "and try again; nothing was changed")
    if "full" in low or (isinstance(e, OSError) and e.errno == errno.ENOSPC):
        return StoreFullError(f"{url}: the disk is full (or the database reached its size "
                              "limit); nothing of this change was saved, the data already "
                              "stored is intact; free some space and try again")
    if "not a database" in low or "malformed" in low:
        return StoreError(f"{url}: expected a hingecoach database, found a damaged or "
                          f"non-database file ({msg}); it was not changed")
    if "readonly" in low or "read-only" in low:
        return StoreError(f"{url}: the database is read-only ({msg}); nothing was changed")
    if "unable to open" in low or "disk i/o" in low:
        return StoreError(f"{url}: cannot open or write the database ({msg})")
    return StoreError(f"{url}: database error: {msg}")


class _NestedTransactions:
    """``transaction()`` for both backends: the outermost call runs the backend's own
    ``_outermost()`` (begin, commit, roll back on error); nested calls, on the same
    thread, join it. The lock keeps other threads out until it ends."""

    lock: threading.RLock
    _depth: int

    def _outermost(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with self._outermost():
                    yield
            finally:
                self._depth = 0


class SQLiteBackend(_NestedTransactions):
    """One SQLite file in WAL mode (readers never block the live writer; a commit is
    durable against a crash of the process: synchronous=NORMAL keeps WAL commits on a
    SIGKILL, only a power cut may lose the last ones)."""

    kind = "sqlite"

    def __init__(self, url: str, busy_timeout_s: float = 3.0) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self.busy_s = busy_timeout_s
        self.lock = threading.RLock()
        self._depth = 0
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=busy_timeout_s,
                                        isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise _sqlite_error(url, e, busy_timeout_s) from None

    def _wrap(self, e: BaseException) -> StoreError:
        return _sqlite_error(self.url, e, self.busy_s)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns a cursor (``fetchone``, iteration)."""
        with self.lock:
            try:
                return self.conn.execute(sql, tuple(params))
            except (sqlite3.Error, OSError) as e:
                raise self._wrap(e) from None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        with self.lock:
            try:
                self.conn.executemany(sql, rows)
            except (sqlite3.Error, OSError) as e:
                raise self._wrap(e) from None

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT; returns the new row's id."""
        cur = self.execute(sql, params)
        return int(cur.lastrowid)

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        """BEGIN IMMEDIATE takes the write lock up front, so a locked database fails
        here, after the busy timeout, before anything is half written."""
        self.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):  # SQLite may have rolled back already (SQLITE_FULL)
                self.conn.execute("ROLLBACK")
            raise

    def tables(self) -> set[str]:
        """Names of the tables in the database (our schema)."""
        return {r[0] for r in self.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%'")}

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()


def check_sqlite_file(path: Path) -> None:
    """Refuse, before SQLite opens it, a file that is not an SQLite database (a PNG
    renamed .db, a CSV given by mistake): SQLite would only notice at the first query."""
    try:
        if not path.exists() or path.stat().st_size == 0:
            return
        if path.is_dir():
            raise StoreError(f"{path}: expected a database file, found a folder")
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as e:
        raise StoreError(f"{path}: cannot read the database: {e.strerror}") from None
    if head != SQLITE_MAGIC:
        raise StoreError(f"{path}: expected a hingecoach database (SQLite), found another kind "
                         f"of file (it starts with {head[:8]!r}); it was not changed")


class PostgresBackend(_NestedTransactions):
    """A PostgreSQL database (psycopg 3), for a clinic's shared server."""

    kind = "postgresql"

    def __init__(self, url: str, busy_timeout_s: float = 3.0) -> None:
        psycopg = require_extra("postgres", "psycopg", "--db postgresql://...")
        self._psycopg = psycopg
        self.url = url
        self.busy_s = busy_timeout_s
        self.lock = threading.RLock()
        self._depth = 0
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
            self.conn.execute(f"SET lock_timeout = '{int(busy_timeout_s * 1000)}ms'")
        except psycopg.Error as e:
            raise StoreError(f"{redact(url)}: cannot connect to PostgreSQL: "
                             f"{str(e).strip().splitlines()[0] if str(e).strip() else e!r}") from None

    def _wrap(self, e: BaseException) -> StoreError:
        errors = self._psycopg.errors
        url = redact(self.url)
        if isinstance(e, errors.LockNotAvailable | errors.DeadlockDetected):
            return StoreLockedError(f"{url}: the database is locked by another session (waited "
                                    f"{self.busy_s:g} s); nothing was changed")
        if isinstance(e, errors.DiskFull | errors.OutOfMemory | errors.ProgramLimitExceeded):
            return StoreFullError(f"{url}: the server's disk is full or a limit was reached; "
                                  "nothing of this change was saved, the data already stored is "
                                  "intact")
        text = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
        return StoreError(f"{url}: database error: {text}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns a cursor (``fetchone``, iteration)."""
        with self.lock:
            try:
                return self.conn.execute(sql.replace("?", "%s"), tuple(params))
            except self._psycopg.Error as e:
                raise self._wrap(e) from None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        with self.lock:
            try:
                with self.conn.cursor() as cur:
                    cur.executemany(sql.replace("?", "%s"), rows)
            except self._psycopg.Error as e:
                raise self._wrap(e) from None

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT; returns the new row's id."""
        row = self.execute(sql + " RETURNING id", params).fetchone()
        return int(row[0])

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        try:
            with self.conn.transaction():
                yield
        except self._psycopg.Error as e:
            raise self._wrap(e) from None

    def tables(self) -> set[str]:
        """Names of the tables in the database (our schema)."""
        rows = self.execute("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = current_schema()")
        return {r[0] for r in rows}

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()
