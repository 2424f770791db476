"""What the app holds between requests, and the dependencies that hand it to the routes.

One ``State`` per app (``app.state.hc``): the store, the hub of WebSocket clients and
today's session. The store has one connection shared by the server's threads; its lock
serialises them (``serialised``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request

from hingecoach.coach.live_bridge import Factory
from hingecoach.core.errors import ConflictError
from hingecoach.store import Store
from hingecoach.web.controller import WebSession
from hingecoach.web.hub import Hub

F = TypeVar("F", bound=Callable[..., Any])


class State:
    """The app's store (one, shared), the hub of WebSocket clients and today's session
    (at most one at a time; ``lock`` guards starting one)."""

    def __init__(self, store: Store, factory: Factory | None) -> None:
        self.store = store
        self.factory = factory
        self.hub = Hub()
        self.session: WebSession | None = None
        self.lock = threading.Lock()

    def session_state(self) -> dict[str, Any]:
        """Today's session's state; before the first session, ``{"active": False, "prompt": None}``."""
        return {"active": False, "prompt": None} if self.session is None else self.session.state()

    def current(self) -> WebSession:
        """Today's session, or ConflictError (409) when none was started."""
        if self.session is None:
            raise ConflictError("no session: start one first")
        return self.session


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
