"""``hingecoach serve``: run the web app with uvicorn, on this computer only unless a
token is given."""

from __future__ import annotations

import re
from typing import Any

from hingecoach.core.errors import HingecoachError, ParameterError
from hingecoach.core.extras import require
from hingecoach.web.security import is_loopback

WS_PROTOCOL = "websockets-sansio"  # uvicorn's WebSocket on the websockets library's current (sans-I/O) API
# What the app needs besides uvicorn (the web extra); checked before the app is imported.
WEB_MODULES = ("fastapi", "jinja2", "websockets")
TOKEN_RE = re.compile(r"[A-Za-z0-9._~\-]{16,200}")


def check_binding(host: str, token: str | None) -> bool:
    """True when bound to this computer only; off it, a token is required (refuse to
    start without one) and must be long enough not to be guessed."""
    loopback = is_loopback(host)
    if token is not None and not TOKEN_RE.fullmatch(token):
        raise ParameterError("--token", "16 to 200 characters of letters, digits and . _ ~ - (e.g. from "
                             "python -c 'import secrets; print(secrets.token_urlsafe())')", "a shorter or "
                             "unusual token" if token else "an empty token")
    if not loopback and token is None:
        raise HingecoachError(f"serve --host {host}: other computers could reach this server, and it holds "
                              "health data: give a --token (or HINGECOACH_TOKEN), or keep the default "
                              "--host 127.0.0.1")
    return loopback


def serve(*, host: str = "127.0.0.1", port: int = 8765, token: str | None = None, db: str | None = None,
          log: Any = None) -> None:
    """Run the web app on ``host:port`` until Ctrl-C; ``log`` (a rich Console) gets the address."""
    loopback = check_binding(host, token)
    uvicorn = require("web", "uvicorn", "hingecoach serve")
    for module in WEB_MODULES:
        require("web", module, "hingecoach serve")
    from hingecoach.web.app import create_app

    app = create_app(db, token=token, loopback=loopback)
    shown = f"[{host}]" if ":" in host else host
    if log is not None:
        where = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
        log.print(f"hingecoach web app on {where} (Ctrl-C stops it); "
                  + ("only this computer can reach it" if loopback and not token else
                     "every request needs the token"), highlight=False, markup=False, soft_wrap=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False,
                ws=WS_PROTOCOL)
