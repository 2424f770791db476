"""People and their programme: who is in the store, a person's thresholds and next
session, their history for the progress charts; and the programme's reference data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from hingecoach.coach import load, plan
from hingecoach.coach.history import threshold
from hingecoach.coach.safety import PAIN_ZONES, RED_FLAGS
from hingecoach.coach.stages import STAGES
from hingecoach.core.errors import NotFoundError
from hingecoach.faults import EXERCISES
from hingecoach.store import PERSON_KEYS
from hingecoach.web.models import PersonIn, person_name
from hingecoach.web.state import Locked, serialised

router = APIRouter()


@router.get("/api/programme", tags=["programme"], summary="Stages, red flags and the pain model")
def programme() -> dict[str, Any]:
    """The programme's stages, the red-flag questions, the pain zones and the threshold keys."""
    return {"stages": [{"number": s.number, "id": s.id, "name": s.name, "exercise": s.exercise,
                        "wall": s.wall, "cues": list(s.cues)} for s in STAGES],
            "red_flags": [{"id": f.id, "question": f.question, "urgency": f.urgency, "clearable": f.clearable,
                           "message": f.message} for f in RED_FLAGS],
            "pain_zones": PAIN_ZONES, "threshold_keys": {k: v[0] for k, v in PERSON_KEYS.items()},
            "exercises": list(EXERCISES)}


@router.get("/api/people", tags=["people"], summary="Everyone in the store")
@serialised
def people(s: Locked) -> list[dict[str, Any]]:
    """Everyone in the store, with when they were added."""
    return [{"name": p.name, "created_at": p.created_at} for p in s.people()]


@router.post("/api/people", tags=["people"], status_code=201, summary="Add a person (or find them)")
@serialised
def add_person(body: PersonIn, s: Locked) -> dict[str, Any]:
    """Add ``name`` to the store; a name already there is simply returned."""
    p = s.ensure_person(body.name)
    return {"name": p.name, "created_at": p.created_at}


@router.get("/api/people/{name}", tags=["people"], summary="A person: thresholds and the next session's plan")
@serialised
def person(s: Locked, name: str = Depends(person_name)) -> dict[str, Any]:
    """A person's thresholds, next plan and red-flag clearances (every one, revoked ones too);
    a name not yet in the store gets the defaults."""
    p = s.person(name)
    return {"name": name, "exists": p is not None, "thresholds": p.thresholds if p else {},
            "plan": plan(load(s, name)),
            "clearances": [c.to_json() for c in s.clearances(name, active_only=False)] if p else []}


@router.get("/api/people/{name}/history", tags=["people"],
            summary="A person's sessions with their programme steps, for the progress charts")
@serialised
def history(s: Locked, name: str = Depends(person_name)) -> dict[str, Any]:
    """A person's sessions (oldest first) with each one's programme step, the plan and the threshold in use."""
    if s.person(name) is None:
        raise NotFoundError(f"no person {name!r}")
    pp = load(s, name)
    steps = {h.id: h for h in pp.history}
    rows = []
    for x in s.sessions(name):
        h = steps.get(x.id)
        rows.append({**x.to_json(), "what": x.what,
                     "faulty_share": None if not x.reps else round(x.faulty_reps / x.reps, 3),
                     "programme": None if h is None else h.to_json()})
    th, src, _ = threshold(s.person(name), pp.state)
    return {"person": name, "sessions": rows, "plan": plan(pp), "threshold_deg": round(th, 1),
            "threshold_source": src}
