"""What the app holds between requests, and the dependencies that hand it to the routes.

One ``State`` per app (``app.state.hc``): the store, the hub of WebSocket clients and
today's session. The store has one connection shared by the server's threads; its lock
serialises them (``serialised``).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request

from hingecoach.coach.live_bridge import Factory
from hingecoach.core.errors import ConflictError
from hingecoach.store import Store
from hingecoach.store.paths import home_dir, is_postgres, sqlite_path
from hingecoach.web.controller import WebSession
from hingecoach.web.hub import Hub
from hingecoach.web.jobs import Jobs

F = TypeVar("F", bound=Callable[..., Any])


class State:
    """The app's store (one, shared), the hub of WebSocket clients and today's session
    (at most one at a time; ``lock`` guards starting one); the uploaded files' analyses
    (``jobs``, their own hub) with the folders they use, made when first needed:
    ``upload_dir`` (temporary, removed at shutdown) and ``media_dir`` (the annotated
    videos, kept beside the store)."""

    def __init__(self, store: Store, factory: Factory | None, media_dir: Path | None = None) -> None:
        self.store = store
        self.factory = factory
        self.hub = Hub()
        self.session: WebSession | None = None
        self.lock = threading.Lock()
        self.analysis_hub = Hub()
        self._media_dir = media_dir or default_media_dir(store)
        self._upload_dir: Path | None = None
        self._jobs: Jobs | None = None

    @property
    def upload_dir(self) -> Path:
        """This server's own temporary folder for uploads (private to the user)."""
        with self.lock:
            if self._upload_dir is None:
                self._upload_dir = Path(tempfile.mkdtemp(prefix="hingecoach-uploads-"))
            return self._upload_dir

    @property
    def media_dir(self) -> Path:
        """The folder of the annotated videos (created private to the user)."""
        self._media_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self._media_dir

    @property
    def jobs(self) -> Jobs:
        """The queue of analyses (its worker process starts with the first upload)."""
        with self.lock:
            if self._jobs is None:
                self._jobs = Jobs(self.store, self.analysis_hub, self._media_dir)
            return self._jobs

    def close_uploads(self) -> None:
        """At shutdown: stop the analyses and remove the upload folder."""
        if self._jobs is not None:
            self._jobs.close()
        if self._upload_dir is not None:
            shutil.rmtree(self._upload_dir, ignore_errors=True)

    def session_state(self) -> dict[str, Any]:
        """Today's session's state; before the first session, ``{"active": False, "prompt": None}``."""
        return {"active": False, "prompt": None} if self.session is None else self.session.state()

    def current(self) -> WebSession:
        """Today's session, or ConflictError (409) when none was started."""
        if self.session is None:
            raise ConflictError("no session: start one first")
        return self.session


def default_media_dir(store: Store) -> Path:
    """Beside a SQLite store's file (``overlays/``); in hingecoach's home folder otherwise."""
    url = store.db.url
    if is_postgres(url) or url in ("", ":memory:"):
        return home_dir() / "overlays"
    return sqlite_path(url).parent / "overlays"


def app_state(request: Request) -> State:
    """The app's ``State`` (a FastAPI dependency)."""
    return cast(State, request.app.state.hc)


def the_store(request: Request) -> Store:
    """The app's store (a FastAPI dependency; pair it with ``serialised``)."""
    return app_state(request).store


AppState = Annotated[State, Depends(app_state)]
Locked = Annotated[Store, Depends(the_store)]


def serialised(fn: F) -> F:
    """Run an endpoint holding the store's lock: its reads see one consistent store,
    and the server's threads take turns on the store's one connection. (A ``yield``
    dependency cannot hold it: FastAPI may leave it in another thread.)"""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        store = next(v for v in kw.values() if isinstance(v, Store))
        with store.db.lock:
            return fn(*args, **kw)
    return wrapper  # type: ignore[return-value]
