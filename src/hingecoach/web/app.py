"""The web app: pages (today's session, history, settings, reports) and the JSON API
they use, described at /openapi.json.

``create_app`` assembles it around one store: the routers of ``hingecoach.web.routes``
(one per area), the static files (CSS and JS written here, nothing from a CDN), the
error handler and the access guard. FastAPI's /docs and /redoc pages would load their
JavaScript from a CDN, so they are off; the OpenAPI description is served as JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hingecoach import __version__
from hingecoach.coach.live_bridge import Factory
from hingecoach.store import Store, open_store
from hingecoach.web.errors import install_error_handlers
from hingecoach.web.routes import ROUTERS
from hingecoach.web.routes.pages import STATIC
from hingecoach.web.security import Guard
from hingecoach.web.state import State

DESCRIPTION = ("The local web app of hingecoach: a guided hip-hinge programme with live feedback, history and "
               "reports. Exercise guidance, not a diagnosis.")


def create_app(db: str | None = None, *, token: str | None = None, loopback: bool = True,
               live_factory: Factory | None = None, store: Store | None = None) -> FastAPI:
    """The app around the store at ``db`` (default: the usual one), or around ``store``
    (left open at shutdown). ``token`` and ``loopback``: see ``hingecoach.web.security``.
    ``live_factory`` replaces hingecoach.live (tests and the benchmark inject the
    scripted stand-in)."""
    state = State(store or open_store(db, create=True), live_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """At shutdown: stop today's session (its recording is kept) and close the store."""
        yield
        if state.session is not None:
            await asyncio.to_thread(state.session.close)
        if store is None:  # the app opened it, so the app closes it
            state.store.close()

    app = FastAPI(title="hingecoach", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json", lifespan=lifespan, description=DESCRIPTION)
    app.state.hc = state
    app.add_middleware(Guard, token=token, loopback=loopback)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
