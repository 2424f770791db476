"""Check a clip or a recording: upload a file, follow its analysis, see the verdict.

``POST /api/analyses`` (multipart: ``file``, optional ``person`` and ``exercise``)
streams the file to a temporary file under the size limit, checks it, queues it and
answers at once with its id (202). ``GET /api/analyses/{id}`` gives its status,
progress and, when done, the ``analyze --json`` document and the stored session; the
WebSocket ``/ws/analyses`` carries the same changes as they happen. A video's annotated
copy is served at ``/sessions/{id}/overlay.mp4``.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse

from hingecoach.core.errors import NotFoundError
from hingecoach.faults import EXERCISES
from hingecoach.store.convert import resolve_settings
from hingecoach.web import uploads
from hingecoach.web.jobs import overlay_path
from hingecoach.web.models import check_name
from hingecoach.web.routes.live_ws import pump
from hingecoach.web.state import AppState
from hingecoach.web.worker import Task

router = APIRouter(tags=["analyses"])

UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "a video (mp4, mov, webm, avi, mkv) or an IMU recording analyze reads"},
        "person": {"type": "string", "description": "whose session (their thresholds apply)"},
        "exercise": {"type": "string", "enum": list(EXERCISES)}}}}}}}


@router.post("/api/analyses", status_code=202, summary="Upload a clip or a recording to analyse",
             openapi_extra=UPLOAD_BODY)
async def create_analysis(request: Request, hc: AppState) -> JSONResponse:
    """Receive the file (streamed, up to the size limit), check it and queue its analysis;
    answers ``{"id": ...}`` at once. A file that is no recording: 400 with the message
    ``hingecoach analyze`` would give; over the limit: 413."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > uploads.MAX_UPLOAD_BYTES + 64 * 1024:
        raise uploads.TooLarge(f"upload: expected a file up to {uploads.MAX_UPLOAD_BYTES // 2**20} MB, "
                               f"found {int(declared) // 2**20} MB")
    got = await uploads.receive(request.stream(), request.headers.get("content-type", ""), hc.upload_dir,
                                limit=uploads.MAX_UPLOAD_BYTES)
    assert got.path is not None
    try:
        person, exercise = _fields(got.fields)
        await asyncio.to_thread(uploads.check, got.path, got.name)
        with hc.store.db.lock:
            p = hc.store.person(person) if person else None
        settings, _ = resolve_settings({"exercise": exercise}, person, p.thresholds if p else None)
        overlay = hc.media_dir / f"job-{got.path.stem}.part.mp4"
        job = hc.jobs.submit(Task(str(got.path), got.name, settings, str(overlay)), person, settings.exercise)
    except BaseException:
        with contextlib.suppress(OSError):
            got.path.unlink()
        raise
    return JSONResponse({"id": job.id, "status": job.status, "file": got.name}, status_code=202)


def _fields(fields: dict[str, str]) -> tuple[str | None, str | None]:
    person = fields.get("person", "").strip() or None
    if person is not None:
        try:
            person = check_name(person)
        except ValueError as e:
            raise uploads.BadUpload(f"person: {e}") from None
    exercise = fields.get("exercise", "").strip() or None
    if exercise is not None and exercise not in EXERCISES:
        raise uploads.BadUpload(f"exercise: expected one of {', '.join(EXERCISES)}, found {exercise[:30]!r}")
    return person, exercise


@router.get("/api/analyses", summary="The analyses this server keeps, newest first")
def list_analyses(hc: AppState) -> list[dict[str, Any]]:
    """Every analysis kept (without their documents; ask for one to get its result)."""
    return [j.to_json(with_result=False) for j in hc.jobs.newest_first()]


@router.get("/api/analyses/{job_id}", summary="An analysis: status, progress, result")
def get_analysis(job_id: str, hc: AppState) -> dict[str, Any]:
    """``status`` queued, running, done or failed; ``progress`` 0-1; when done, ``result``
    (the ``analyze --json`` document) and ``session_id``; when failed, ``error``."""
    return hc.jobs.get(job_id[:64]).to_json()


@router.get("/sessions/{sid}/overlay.mp4", tags=["reports"], summary="A video session's annotated video")
def overlay(sid: int, hc: AppState) -> FileResponse:
    """The uploaded video with the skeleton, the back's outline, the reps and the faults (H.264)."""
    path: Path = overlay_path(hc.media_dir, sid)
    if not path.is_file():
        raise NotFoundError(f"session {sid}: no annotated video")
    return FileResponse(path, media_type="video/mp4")


@router.websocket("/ws/analyses")
async def ws_analyses(websocket: WebSocket) -> None:
    """Every change of every analysis as it happens (status, phase, progress)."""
    hc = websocket.app.state.hc
    await pump(websocket, hc.analysis_hub, {"type": "analyses",
                                            "jobs": [j.to_json(with_result=False) for j in hc.jobs.newest_first()]})
