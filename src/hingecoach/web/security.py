"""Who may talk to the web app: this computer only by default, anyone with the token
otherwise; and no other web site through the person's browser.

- Bound to a loopback address, the Host header must name this computer (127.0.0.1,
  localhost, ::1): a web site that re-points its own name at 127.0.0.1 (DNS rebinding)
  is refused.
- With a token (required off loopback), every request carries it: ``Authorization:
  Bearer T``, or the cookie set when the browser first opens ``/?token=T``; otherwise
  401 (a WebSocket handshake: 403).
- A request with an ``Origin`` of another site is refused (403), WebSockets included;
  a request that changes something must send JSON (415 otherwise), which a plain HTML
  form on another site cannot. The one exception is a file upload to ``UPLOAD_PATHS``:
  ``multipart/form-data`` with the header ``X-Requested-With: hingecoach``, which no
  form can add and which another site's script cannot send without a CORS preflight
  that this server never grants.
- Responses forbid framing and outside resources (Content-Security-Policy) and are not
  cached (health data).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "hingecoach_token"
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
UPLOAD_PATHS = ("/api/analyses",)
UPLOAD_HEADER = ("x-requested-with", "hingecoach")
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
           (b"cache-control", b"no-store")]


def is_loopback(host: str) -> bool:
    """True for an address or name that only this computer can reach."""
    h = host.strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1:h.index("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


class Guard:
    """ASGI middleware applying the rules above to HTTP and WebSocket requests."""

    def __init__(self, app: ASGIApp, *, token: str | None, loopback: bool) -> None:
        self.app = app
        self.token = token
        self.loopback = loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if self.loopback and not self.token and not is_loopback(_host_name(host)):
            await _deny(scope, send, 403, f"host {host!r} is not this computer")
            return
        origin = headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc.lower() != host.lower():
            await _deny(scope, send, 403, "requests from another site are refused")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if self.token:
            given = _bearer(headers.get("authorization", "")) or _cookie(headers.get("cookie", "")) \
                or query.get("token", "")
            if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
                await _deny(scope, send, 401, "this server needs its token (Authorization: Bearer T, or "
                                              "open /?token=T once)")
                return
            if scope["type"] == "http" and "token" in query and scope["method"] == "GET":
                await _redirect_with_cookie(scope, send, query, self.token)
                return
        if scope["type"] == "http" and scope["method"] in UNSAFE:
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json" and not _is_upload(scope, ctype, headers):
                await _deny(scope, send, 415, "send JSON (Content-Type: application/json), or a file to "
                                              "/api/analyses as multipart/form-data with X-Requested-With: "
                                              "hingecoach")
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def _is_upload(scope: Scope, ctype: str, headers: dict[str, str]) -> bool:
    """A file upload from this app's own page (see the module's docstring)."""
    return (scope["method"] == "POST" and scope.get("path") in UPLOAD_PATHS and ctype == "multipart/form-data"
            and headers.get(UPLOAD_HEADER[0], "").lower() == UPLOAD_HEADER[1])


def _bearer(value: str) -> str:
    return value[7:].strip() if value.lower().startswith("bearer ") else ""


def _cookie(value: str) -> str:
    c: SimpleCookie = SimpleCookie()
    try:
        c.load(value)
    except Exception:  # a malformed Cookie header is no token
        return ""
    return c[COOKIE].value if COOKIE in c else ""


async def _deny(scope: Scope, send: Send, status: int, why: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})
        return
    body = json.dumps({"detail": why}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *([(b"www-authenticate", b"Bearer")] if status == 401 else []), *HEADERS]})
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(scope: Scope, send: Send, query: dict[str, str], token: str) -> None:
    """``/?token=T`` once: remember the token in a cookie and drop it from the address bar."""
    rest = {k: v for k, v in query.items() if k != "token"}
    location = scope.get("path", "/") + (f"?{urlencode(rest)}" if rest else "")
    cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                            (b"content-length", b"0"), *HEADERS]})
    await send({"type": "http.response.body", "body": b""})
