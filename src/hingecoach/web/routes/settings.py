"""A person's settings, set by a clinician: thresholds (each value remembers who set it
and when) and the programme's next stage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from hingecoach.coach import load, plan, record_plan
from hingecoach.web.models import PlanIn, ThresholdsIn, person_name
from hingecoach.web.state import Locked, serialised

router = APIRouter(tags=["people"])


@router.put("/api/people/{name}/thresholds", summary="Set or clear a person's thresholds")
@serialised
def set_thresholds(body: ThresholdsIn, s: Locked, name: str = Depends(person_name)) -> dict[str, Any]:
    """Set the values given and clear the keys listed; returns the thresholds and the plan they give."""
    values = body.model_dump(exclude={"clear", "set_by"}, exclude_none=True)
    if not values and not body.clear:
        raise HTTPException(422, "thresholds: expected a value to set or a key to clear, found none")
    p = s.set_thresholds(name, values, set_by=body.set_by, clear=body.clear)
    return {"name": p.name, "thresholds": p.thresholds, "plan": plan(load(s, name))}


@router.post("/api/people/{name}/plan", summary="A clinician sets the next stage")
@serialised
def set_plan(body: PlanIn, s: Locked, name: str = Depends(person_name)) -> dict[str, Any]:
    """Record the clinician's decision; returns the person's next plan."""
    record_plan(s, name, stage=body.stage, wall_distance_cm=body.wall_distance_cm,
                clear_referral=body.clear_referral, set_by=body.set_by, note=body.note)
    return plan(load(s, name))
