"""Today's session, driven from the Today page: start it, answer its prompts, end a set
or report pain during one, stop it. Each answer returns the session's new state; the
same state also goes to the WebSocket clients as it changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from hingecoach.core.errors import ConflictError
from hingecoach.web.controller import WebSession
from hingecoach.web.models import AnswerIn, PainIn, StartIn
from hingecoach.web.state import AppState, State

router = APIRouter(tags=["session"])


@router.get("/api/session", summary="Today's session: the current prompt and live state")
def get_session(hc: AppState) -> dict[str, Any]:
    """The session's state (``{"active": false, "prompt": null}`` before the first one)."""
    return hc.session_state()


@router.post("/api/session", summary="Start a session for a person with a live source")
def start_session(body: StartIn, hc: AppState) -> dict[str, Any]:
    """Start a session (409 while another is running); it opens with its first prompt."""
    with hc.lock:
        if hc.session is not None and not hc.session.done:
            raise ConflictError(f"a session for {hc.session.ps.person!r} is running: finish or stop it first")
        hc.session = WebSession(hc.store, body.person, body.source, hc.hub, hc.factory)
    out = hc.session.state()
    hc.hub.publish({"type": "session", **out})
    return out


@router.post("/api/session/answer", summary="Answer the current prompt")
def answer(body: AnswerIn, hc: AppState) -> dict[str, Any]:
    """Answer the prompt named by ``key`` (409 if the session asks something else now)."""
    return _on_current(hc, lambda ws: ws.answer(body.key, body.value))


@router.post("/api/session/end-set", summary="End the running set now")
def end_set(hc: AppState) -> dict[str, Any]:
    """End the running set early (409 when no set is running)."""
    return _on_current(hc, lambda ws: ws.end_set())


@router.post("/api/session/pain", summary="Report pain during a set (it ends the set)")
def pain(body: PainIn, hc: AppState) -> dict[str, Any]:
    """Pain during a set: it ends the set, and the pain rule decides what comes next."""
    return _on_current(hc, lambda ws: ws.end_set(pain=body.value))


@router.post("/api/session/stop", summary="Stop today's session (what was done is kept)")
def stop(hc: AppState) -> dict[str, Any]:
    """Stop the session; what was recorded stays in the store."""
    return _on_current(hc, lambda ws: ws.stop())


def _on_current(hc: State, action: Callable[[WebSession], object]) -> dict[str, Any]:
    """Apply ``action`` to the running session (409 when there is none); its new state."""
    ws = hc.current()
    action(ws)
    return ws.state()
