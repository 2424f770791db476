"""Recorded sessions: one session's details as JSON, and its report as a page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hingecoach.report import gather, render_html
from hingecoach.web.state import Locked, serialised

router = APIRouter()


@router.get("/api/sessions/{sid}", tags=["sessions"], summary="One session: sets, pain, cues, events")
@serialised
def session(sid: int, s: Locked) -> dict[str, Any]:
    """Session ``sid``: its summary, sets, pain reports, cue count, events and programme step."""
    rec = s.session(sid)
    return {"summary": rec.summary.to_json(), "sets": [vars(x) for x in rec.sets],
            "pain": [vars(p) for p in rec.pain], "cues": len(rec.cues),
            "events": [vars(e) for e in rec.events], "programme": rec.extra.get("programme"),
            "report": f"/sessions/{sid}/report"}


@router.get("/sessions/{sid}/report", response_class=HTMLResponse, tags=["reports"],
            summary="A session's report (self-contained HTML)")
def report(sid: int, s: Locked) -> HTMLResponse:
    """Session ``sid``'s report, the same page ``hingecoach report`` writes."""
    with s.db.lock:
        d = gather(s, sid)
    return HTMLResponse(render_html(d))
