"""Fuzz targets of the web app, in-process (Starlette's TestClient, no socket): the JSON
API (a request line and a body), uploads (a multipart body) and WebSocket messages.

The app is the real one around a store in a temporary folder, with the scripted live
stand-in (no device is opened) and the uploads analysed in this process at once
(``InlineJobs``: the worker's own ``run_task``, without its process), so that a bug in
an analysis shows as a traceback here rather than as a failed job. A request must be
answered below 500: a 4xx is a rejection, in the usual shape ``{"detail": "<one
line>"}`` (or FastAPI's list of validation errors); an exception inside the app reaches
the TestClient and is a traceback. One app serves many cases; ``reset`` starts a new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import shutil
import tempfile
import urllib.parse
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from hingecoach.testing.fuzz import Malformed, Rejected, Target
from hingecoach.testing.fuzz_seeds import seed_spinewise
from hingecoach.web.jobs import Job, Jobs
from hingecoach.web.worker import Task, run_task

HOST = "http://127.0.0.1"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
BOUNDARY = "hcfuzzboundary7MA4YWxkTrZu0gW"
UPLOAD_HEADERS = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", "x-requested-with": "hingecoach"}


class InlineJobs(Jobs):
    """The analyses queue, each upload analysed at once in this process (no worker, no
    overlay video): what the worker reports goes through the queue's own handling."""

    def submit(self, task: Task, person: str | None, exercise: str) -> Job:
        """Analyse ``task`` now; a bug in the analysis (the worker's "the analysis failed"
        message) is raised."""
        from hingecoach.sources.video import VIDEO_SUFFIXES

        job = Job(secrets.token_hex(8), replace(task, overlay_to=None), person, exercise)
        self.jobs[job.id] = job
        try:
            if Path(task.path).suffix.lower() not in VIDEO_SUFFIXES:  # videos: checked, not analysed here
                with contextlib.redirect_stderr(None):
                    run_task(job.task, lambda m: self._on_message(job, m[0], list(m[1:])))
        finally:
            with contextlib.suppress(OSError):
                Path(task.path).unlink()
        if job.status == "failed" and "the analysis failed (" in (job.error or ""):
            raise RuntimeError(job.error)
        return job


class _App:
    """One app and its TestClient, in a temporary folder."""

    def __init__(self) -> None:
        from hingecoach.testing.scripted import scripted_factory
        from hingecoach.web.app import create_app

        with warnings.catch_warnings():  # starlette's note about httpx's successor
            warnings.simplefilter("ignore")
            from starlette.testclient import TestClient

        self.tmp = Path(tempfile.mkdtemp(prefix="hc-fuzz-web-"))
        # the multipart parser logs each malformed body it meets (a warning, not an error of ours)
        logging.getLogger("python_multipart").setLevel(logging.ERROR)
        self.app = create_app(str(self.tmp / "web.db"), live_factory=scripted_factory(speed=1000.0),
                              media_dir=self.tmp / "media")
        state = self.app.state.hc
        state._jobs = InlineJobs(state.store, state.analysis_hub, self.tmp / "media")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.client = TestClient(self.app, base_url=HOST, client=("127.0.0.1", 50000))
        self.client.__enter__()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.__exit__(None, None, None)
        shutil.rmtree(self.tmp, ignore_errors=True)


_APP: list[_App] = []
_REPLAY: list[Path] = []


def replay_file() -> Path:
    """A recording for ``replay:`` sources, the same for every app of this process."""
    if not _REPLAY:
        _REPLAY.append(Path(tempfile.mkdtemp(prefix="hc-fuzz-replay-")) / "rec.csv")
        _REPLAY[0].write_bytes(seed_spinewise())
    return _REPLAY[0]


def app() -> _App:
    """The app the web targets share (made when first needed)."""
    if not _APP:
        _APP.append(_App())
    return _APP[0]


def reset() -> None:
    """A new app for the next cases (a clean store, no session running)."""
    while _APP:
        _APP.pop().close()


def _answer(status: int, body: bytes, what: str) -> None:
    """Accepted below 400; a 4xx must be JSON with a one-line ``detail`` (or FastAPI's
    validation list): then it is a rejection."""
    if status >= 500:
        raise RuntimeError(f"{what}: HTTP {status}: {body[:200]!r}")
    if status < 400:
        return
    try:
        detail = json.loads(body)["detail"]
    except (ValueError, KeyError, TypeError):
        raise Malformed(f"{what}: HTTP {status} without a JSON detail: {body[:200]!r}") from None
    if isinstance(detail, list) and detail and all(isinstance(d, dict) and "msg" in d for d in detail):
        detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d['msg']}" for d in detail)
    if not isinstance(detail, str) or not detail.strip() or "\n" in detail.strip():
        raise Malformed(f"{what}: HTTP {status} detail not one line: {str(detail)[:200]!r}")
    raise Rejected(f"HTTP {status}: {detail}")


# -- the JSON API -----------------------------------------------------------------------------------------
def api_request(data: bytes) -> None:
    """``METHOD PATH`` on the first line, the JSON body after it."""
    line, _, body = data.partition(b"\n")
    words = line.decode("utf-8", "replace").split(" ", 1)
    method = words[0].upper() if words[0].upper() in METHODS else "POST"
    # one leading slash: httpx cannot send a path starting with "//" (it reads a host there)
    path = "/" + urllib.parse.quote(words[-1].strip(), safe="/?=&%").lstrip("/")
    r = app().client.request(method, path, content=body, headers={"content-type": "application/json"})
    _answer(r.status_code, r.content, f"{method} {path}")


def seed_api() -> list[bytes]:
    """A valid request to each endpoint that takes a body or a name (a session's steps in order)."""
    reqs: list[tuple[str, Any]] = [
        ("POST /api/people", {"name": "anna"}),
        ("PUT /api/people/anna/thresholds", {"lumbar_rounding_deg": 25, "share_of_max": 0.7, "set_by": "PT Lee"}),
        ("PUT /api/people/anna/thresholds", {"clear": ["share_of_max"], "set_by": "PT Lee"}),
        ("POST /api/people/anna/plan", {"stage": 2, "wall_distance_cm": 20, "set_by": "PT Lee", "note": "fine"}),
        ("POST /api/people/anna/red-flags/fever_weight_loss/clearance", {"set_by": "Dr Ng", "note": "seen"}),
        ("POST /api/people/anna/red-flags/fever_weight_loss/clearance/revoke", {"set_by": "Dr Ng", "note": "no"}),
        ("POST /api/session", {"person": "anna", "source": "replay:{rec}"}),
        ("POST /api/session/answer", {"key": "pain_now", "value": 2}),
        ("POST /api/session/answer", {"key": "screen.saddle_numbness", "value": False}),
        ("POST /api/session/pain", {"value": 3}),
        ("POST /api/session/end-set", {}),
        ("POST /api/session/stop", {}),
        ("GET /api/people/anna/history", None),
        ("GET /api/sessions/1", None),
        ("GET /sessions/1/report", None),
        ("GET /api/analyses/0123abcd", None),
    ]
    rec = str(replay_file())
    return [f"{line}\n".encode() + (b"" if body is None else json.dumps(body).replace("{rec}", rec).encode())
            for line, body in reqs]


# -- uploads ----------------------------------------------------------------------------------------------
def upload(data: bytes) -> None:
    """A multipart/form-data body POSTed to /api/analyses (the upload page's request)."""
    r = app().client.post("/api/analyses", content=data, headers=UPLOAD_HEADERS)
    _answer(r.status_code, r.content, "POST /api/analyses")


def _multipart(filename: str, content: bytes, fields: dict[str, str]) -> bytes:
    out = b""
    for k, v in fields.items():
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").encode()
    out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{BOUNDARY}--\r\n".encode()
    return out


def seed_upload() -> list[bytes]:
    """Uploads of a SpineWise recording: with a person and an exercise, and alone."""
    rec = seed_spinewise()
    return [_multipart("movement.csv", rec, {"person": "anna", "exercise": "deadlift"}),
            _multipart("movement.csv", rec, {})]


# -- WebSocket --------------------------------------------------------------------------------------------
def websocket(data: bytes) -> None:
    """Connect to /ws/session or /ws/analyses (first byte), read the first message (JSON),
    send the frames (parts split at PART: text, bytes, or a close with a code), leave."""
    from starlette.websockets import WebSocketDisconnect

    from hingecoach.testing.fuzz_seeds import PART

    path = ("/ws/session", "/ws/analyses")[data[0] % 2 if data else 0]
    frames = data[1:].split(PART)
    try:
        with app().client.websocket_connect(f"ws://127.0.0.1{path}") as ws:
            first = json.loads(ws.receive_text())
            if not isinstance(first, dict) or "type" not in first:
                raise Malformed(f"{path}: a first message without a type: {str(first)[:100]}")
            for f in frames:
                kind = f[:1]
                if kind == b"t":
                    ws.send_text(f[1:].decode("utf-8", "replace"))
                elif kind == b"c":
                    code = int.from_bytes(f[1:3].ljust(2, b"\0"), "big")
                    ws.close(code if 1000 <= code < 5000 else 1000)
                    return
                else:
                    ws.send_bytes(f[1:])
    except WebSocketDisconnect as e:  # the server closed: fine, unless a server error
        if e.code == 1011:
            raise RuntimeError(f"{path}: closed with 1011 (a server error)") from None


def seed_websocket() -> list[bytes]:
    """A few messages to each feed, then a normal leave or a close."""
    from hingecoach.testing.fuzz_seeds import PART

    msgs = [b'thello', b'{"type":"ping"}', b"b\x00\x01\x02", b"t" + json.dumps({"answer": 3}).encode()]
    return [b"\x00" + PART.join(msgs), b"\x01" + PART.join(msgs), b"\x00" + PART.join([*msgs, b"c\x03\xe8"])]


WEB_TARGETS: tuple[Target, ...] = (
    Target("web API JSON", api_request, seed_api, reset=reset),
    Target("web upload (multipart)", upload, seed_upload, reset=reset),
    Target("WebSocket messages", websocket, seed_websocket, reset=reset),
)
