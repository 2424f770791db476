"""The app's routes, one APIRouter per area: the pages, the people and their history,
their settings, recorded sessions, today's session and its WebSocket.

``ROUTERS`` is the order ``create_app`` includes them in.
"""

from __future__ import annotations

from hingecoach.web.routes import live_ws, pages, people, sessions, settings, today

ROUTERS = (pages.router, people.router, settings.router, sessions.router, today.router, live_ws.router)

__all__ = ["ROUTERS"]
