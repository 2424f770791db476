"""Recorded sessions: one session's details as JSON, its report as a page, and a camera
session's rep stills as images (from the store)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from hingecoach.core.errors import NotFoundError
from hingecoach.report import gather, render_html
from hingecoach.store import Store
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
            "report": f"/sessions/{sid}/report", "stills": still_list(s, sid)}


def still_list(s: Store, sid: int) -> list[dict[str, Any]]:
    """The session's rep stills: each one's rep, verdict, caption and image address."""
    return [{"seq": x.seq, "rep": x.rep_index, "complete": x.complete, "verdict": x.verdict,
             "judged": x.judged, "not_judged_because": x.not_judged_because, "caption": x.caption(),
             "width": x.width, "height": x.height, "url": f"/sessions/{sid}/stills/{x.seq}"}
            for x in s.stills(sid)]


@router.get("/sessions/{sid}/stills/{seq}", response_class=Response, tags=["sessions"],
            summary="One rep still of a camera session (JPEG)")
@serialised
def still(sid: int, seq: int, s: Locked) -> Response:
    """The still of the session's ``seq``-th rep (1-based, complete reps first)."""
    x = s.still(sid, seq)
    if x is None:
        s.summary(sid)  # no such session: its own 404
        raise NotFoundError(f"session {sid} has no rep still {seq}")
    return Response(x.data, media_type=x.mime)


@router.get("/sessions/{sid}/report", response_class=HTMLResponse, tags=["reports"],
            summary="A session's report (self-contained HTML)")
def report(sid: int, s: Locked) -> HTMLResponse:
    """Session ``sid``'s report, the same page ``hingecoach report`` writes."""
    with s.db.lock:
        d = gather(s, sid)
    return HTMLResponse(render_html(d))
