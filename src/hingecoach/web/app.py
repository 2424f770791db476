"""The web app: pages (today's session, history, settings, reports) and the JSON API
they use, described at /openapi.json.

``create_app`` builds it around one store; the pages are static files of this package
(HTML, CSS, JS written here, nothing from a CDN) that talk to ``/api`` and to the
WebSocket ``/ws/session``. FastAPI's /docs and /redoc pages would load their
JavaScript from a CDN, so they are off; the OpenAPI description is served as JSON.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from hingecoach import __version__
from hingecoach.coach import load, plan, record_plan
from hingecoach.coach.history import threshold
from hingecoach.coach.live_bridge import Factory
from hingecoach.coach.safety import PAIN_ZONES, RED_FLAGS
from hingecoach.coach.stages import STAGES
from hingecoach.core.errors import HingecoachError, ParameterError
from hingecoach.faults import EXERCISES
from hingecoach.report import gather, render_html
from hingecoach.store import PERSON_KEYS, Store, StoreError, open_store
from hingecoach.web.controller import Conflict, WebSession
from hingecoach.web.hub import Client, Hub
from hingecoach.web.security import Guard

STATIC = Path(__file__).parent / "static"
NAME_RE = re.compile(r"[^\W_][\w .'\-]{0,63}")  # letters of any script, digits, space . ' - _
SOURCE_RE = re.compile(r"(udp:[\w.\-]+:\d{1,5}|udp:\[[0-9a-fA-F:]+\]:\d{1,5}|serial:[\w/.\-:]{1,200}|"
                       r"webcam:\d{1,2}|ble:[\w:\-]{1,64}|replay:.{1,400})")
RECORDING_SUFFIXES = (".csv", ".txt", ".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v")


def check_name(v: str) -> str:
    v = v.strip()
    if not NAME_RE.fullmatch(v):
        raise ValueError("a name or pseudonym: 1 to 64 letters, digits, spaces, . ' - _ (starting with a "
                         "letter or digit)")
    return v


Name = Annotated[str, PathParam(description="a person's name or pseudonym", max_length=64)]


def person_name(name: Name) -> str:
    try:
        return check_name(name)
    except ValueError as e:
        raise HTTPException(422, f"person: {e}") from None


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: str = Field(max_length=64, description="a name or pseudonym")
    source: str = Field(max_length=500, description="udp:HOST:PORT, serial:DEV, ble:ADDRESS, webcam:N or "
                                                    "replay:FILE (a recording on this computer)")

    @field_validator("person")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name(v)

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        v = v.strip()
        if not SOURCE_RE.fullmatch(v):
            raise ValueError("udp:HOST:PORT, serial:DEV, ble:ADDRESS, webcam:N or replay:FILE")
        if v.startswith("replay:"):
            p = Path(v.removeprefix("replay:")).expanduser()
            if not (p.is_dir() or (p.is_file() and p.suffix.lower() in RECORDING_SUFFIXES)):
                raise ValueError(f"replay: expected an existing recording (CSV, video or QSense folder), "
                                 f"found {'no such file' if not p.exists() else p.suffix or 'a file'}")
            v = f"replay:{p}"
        return v


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=64, pattern=r"^[a-z_.]+$", description="the prompt's key")
    value: StrictBool | StrictInt | None = Field(
        default=None, description="yes/no: true or false; pain: a whole number 0-10; info: null")


class PainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: StrictInt = Field(ge=0, le=10, description="pain 0 (none) to 10 (worst imaginable)")


class ThresholdsIn(BaseModel):
    """What a clinician sets for a person; each value remembers who set it and when."""

    model_config = ConfigDict(extra="forbid")
    lumbar_rounding_deg: float | None = Field(default=None, ge=3, le=90, description="degrees")
    share_of_max: float | None = Field(default=None, ge=0.2, le=1.0, description="of the maximum flexion")
    too_fast_s: float | None = Field(default=None, ge=0.1, le=5.0, description="10-90 % descent, seconds")
    placement: Literal["L1", "T12", "T8", "neck"] | None = None
    exercise: Literal["hinge", "deadlift", "swing"] | None = None
    clear: list[Literal["lumbar_rounding_deg", "share_of_max", "too_fast_s", "placement", "exercise"]] = Field(
        default_factory=list, max_length=5)
    set_by: str = Field(max_length=100, description="who sets them (e.g. the clinician)")

    @field_validator("set_by")
    @classmethod
    def _who(cls, v: str) -> str:
        return check_name(v)


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: StrictInt = Field(ge=1, le=4)
    wall_distance_cm: float | None = Field(default=None, ge=5, le=100)
    clear_referral: StrictBool = False
    set_by: str = Field(max_length=100)
    note: str = Field(default="", max_length=500)

    @field_validator("set_by")
    @classmethod
    def _who(cls, v: str) -> str:
        return check_name(v)

    @field_validator("note")
    @classmethod
    def _note(cls, v: str) -> str:
        if any(ord(c) < 32 and c not in "\n\t" for c in v):
            raise ValueError("printable text")
        return v


def the_store(request: Request) -> Store:
    st: Store = request.app.state.hc.store
    return st


Locked = Annotated[Store, Depends(the_store)]
F = TypeVar("F", bound=Callable[..., Any])


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


class State:
    """What the app holds: the store (one, shared: its lock serialises the threads), the
    hub of WebSocket clients and today's session."""

    def __init__(self, store: Store, factory: Factory | None) -> None:
        self.store = store
        self.factory = factory
        self.hub = Hub()
        self.session: WebSession | None = None
        self.lock = threading.Lock()


def create_app(db: str | None = None, *, token: str | None = None, loopback: bool = True,
               live_factory: Factory | None = None, store: Store | None = None) -> FastAPI:
    """The app around the store at ``db`` (default: the usual one). ``live_factory``
    replaces hingecoach.live (tests and the benchmark inject the scripted stand-in)."""
    st = store or open_store(db, create=True)
    state = State(st, live_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if state.session is not None:
            await asyncio.to_thread(state.session.close)
        if store is None:
            st.close()

    app = FastAPI(title="hingecoach", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json", lifespan=lifespan,
                  description="The local web app of hingecoach: a guided hip-hinge programme with live "
                              "feedback, history and reports. Exercise guidance, not a diagnosis.")
    app.state.hc = state
    app.add_middleware(Guard, token=token, loopback=loopback)

    @app.exception_handler(HingecoachError)
    async def _hingecoach_error(request: Request, e: HingecoachError) -> JSONResponse:
        if isinstance(e, Conflict):
            status = 409
        elif isinstance(e, ParameterError):
            status = 422
        elif isinstance(e, StoreError) and ("no session" in str(e) or "no person" in str(e)):
            status = 404
        else:
            status = 400
        return JSONResponse({"detail": str(e)}, status_code=status)

    # -- pages ---------------------------------------------------------------------------
    for path, page in (("/", "today.html"), ("/history", "history.html"), ("/settings", "settings.html")):
        app.add_api_route(path, _page(page), include_in_schema=False, methods=["GET"])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_api_route("/favicon.ico", lambda: Response(status_code=204), include_in_schema=False,
                      methods=["GET"])  # the report page asks for one: no icon, and no 404 either

    @app.get("/sessions/{sid}/report", response_class=HTMLResponse, tags=["reports"],
             summary="A session's report (self-contained HTML)")
    def report(sid: int) -> HTMLResponse:
        with st.db.lock:
            d = gather(st, sid)
        return HTMLResponse(render_html(d))

    # -- reference data ----------------------------------------------------------------------
    @app.get("/api/programme", tags=["programme"], summary="Stages, red flags and the pain model")
    def programme() -> dict[str, Any]:
        return {"stages": [{"number": s.number, "id": s.id, "name": s.name, "exercise": s.exercise,
                            "wall": s.wall, "cues": list(s.cues)} for s in STAGES],
                "red_flags": [{"id": f.id, "question": f.question} for f in RED_FLAGS],
                "pain_zones": PAIN_ZONES, "threshold_keys": {k: v[0] for k, v in PERSON_KEYS.items()},
                "exercises": list(EXERCISES)}

    # -- people ------------------------------------------------------------------------------
    @app.get("/api/people", tags=["people"], summary="Everyone in the store")
    @serialised
    def people(s: Locked) -> list[dict[str, Any]]:
        return [{"name": p.name, "created_at": p.created_at} for p in s.people()]

    @app.get("/api/people/{name}", tags=["people"], summary="A person: thresholds and the next session's plan")
    @serialised
    def person(s: Locked, name: str = Depends(person_name)) -> dict[str, Any]:
        p = s.person(name)
        return {"name": name, "exists": p is not None, "thresholds": p.thresholds if p else {},
                "plan": plan(load(s, name))}

    @app.put("/api/people/{name}/thresholds", tags=["people"], summary="Set or clear a person's thresholds")
    @serialised
    def set_thresholds(body: ThresholdsIn, s: Locked, name: str = Depends(person_name)) -> dict[str, Any]:
        values = body.model_dump(exclude={"clear", "set_by"}, exclude_none=True)
        if not values and not body.clear:
            raise HTTPException(422, "thresholds: expected a value to set or a key to clear, found none")
        p = s.set_thresholds(name, values, set_by=body.set_by, clear=body.clear)
        return {"name": p.name, "thresholds": p.thresholds, "plan": plan(load(s, name))}

    @app.post("/api/people/{name}/plan", tags=["people"], summary="A clinician sets the next stage")
    @serialised
    def set_plan(body: PlanIn, s: Locked, name: str = Depends(person_name)) -> dict[str, Any]:
        record_plan(s, name, stage=body.stage, wall_distance_cm=body.wall_distance_cm,
                    clear_referral=body.clear_referral, set_by=body.set_by, note=body.note)
        return plan(load(s, name))

    @app.get("/api/people/{name}/history", tags=["people"],
             summary="A person's sessions with their programme steps, for the progress charts")
    @serialised
    def history(s: Locked, name: str = Depends(person_name)) -> dict[str, Any]:
        if s.person(name) is None:
            raise HTTPException(404, f"no person {name!r}")
        pp = load(s, name)
        steps = {h.id: h for h in pp.history}
        rows = []
        for x in s.sessions(name):
            h = steps.get(x.id)
            rows.append({**x.to_json(), "faulty_share": None if not x.reps else round(x.faulty_reps / x.reps, 3),
                         "programme": None if h is None else h.to_json()})
        th, src, _ = threshold(s.person(name), pp.state)
        return {"person": name, "sessions": rows, "plan": plan(pp), "threshold_deg": round(th, 1),
                "threshold_source": src}

    @app.get("/api/sessions/{sid}", tags=["sessions"], summary="One session: sets, pain, cues, events")
    @serialised
    def session(sid: int, s: Locked) -> dict[str, Any]:
        rec = s.session(sid)
        return {"summary": rec.summary.to_json(), "sets": [vars(x) for x in rec.sets],
                "pain": [vars(p) for p in rec.pain], "cues": len(rec.cues),
                "events": [vars(e) for e in rec.events], "programme": rec.extra.get("programme"),
                "report": f"/sessions/{sid}/report"}

    # -- today's session ----------------------------------------------------------------------
    def current() -> WebSession:
        if state.session is None:
            raise Conflict("no session: start one first")
        return state.session

    @app.get("/api/session", tags=["session"], summary="Today's session: the current prompt and live state")
    def get_session() -> dict[str, Any]:
        return {"active": False, "prompt": None} if state.session is None else state.session.state()

    @app.post("/api/session", tags=["session"], summary="Start a session for a person with a live source")
    def start_session(body: StartIn) -> dict[str, Any]:
        with state.lock:
            if state.session is not None and not state.session.done:
                raise Conflict(f"a session for {state.session.ps.person!r} is running: finish or stop it first")
            state.session = WebSession(st, body.person, body.source, state.hub, state.factory)
        out = state.session.state()
        state.hub.publish({"type": "session", **out})
        return out

    @app.post("/api/session/answer", tags=["session"], summary="Answer the current prompt")
    def answer(body: AnswerIn) -> dict[str, Any]:
        ws = current()
        ws.answer(body.key, body.value)
        return ws.state()

    @app.post("/api/session/end-set", tags=["session"], summary="End the running set now")
    def end_set() -> dict[str, Any]:
        ws = current()
        ws.end_set()
        return ws.state()

    @app.post("/api/session/pain", tags=["session"], summary="Report pain during a set (it ends the set)")
    def pain(body: PainIn) -> dict[str, Any]:
        ws = current()
        ws.end_set(pain=body.value)
        return ws.state()

    @app.post("/api/session/stop", tags=["session"], summary="Stop today's session (what was done is kept)")
    def stop() -> dict[str, Any]:
        ws = current()
        ws.stop()
        return ws.state()

    @app.websocket("/ws/session")
    async def ws_session(websocket: WebSocket) -> None:
        """Live angles (25 batches a second), cues, reps, status and session changes."""
        await websocket.accept()
        client = Client(asyncio.get_running_loop())
        state.hub.add(client)
        receiver: asyncio.Task[None] | None = None
        try:
            first = state.session.state() if state.session is not None else {"active": False, "prompt": None}
            await websocket.send_text(json.dumps({"type": "session", **first}))
            receiver = asyncio.create_task(_receive_until_closed(websocket))
            while not receiver.done():
                getter = asyncio.create_task(client.queue.get())
                done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    await websocket.send_text(json.dumps(_finite(getter.result()), default=str))
                else:
                    getter.cancel()
        except (WebSocketDisconnect, RuntimeError, ValueError, OSError):
            pass  # the client left (or sent garbage): the session goes on without it
        finally:
            state.hub.remove(client)
            if receiver is not None:
                receiver.cancel()

    return app


def _finite(o: Any) -> Any:
    """NaN and infinities as null: the browser's JSON.parse refuses NaN."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    return o


async def _receive_until_closed(websocket: WebSocket) -> None:
    while True:
        msg = await websocket.receive()
        if msg["type"] == "websocket.disconnect":
            return


def _page(name: str) -> Any:
    def page() -> FileResponse:
        return FileResponse(STATIC / name, media_type="text/html")
    page.__name__ = f"page_{name.split('.')[0]}"
    return page
