"""A person's settings, set by a clinician: thresholds (each value remembers who set it
and when), the programme's next stage, and clearances of red flags of the safety screen."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from hingecoach.coach import load, plan, record_plan
from hingecoach.coach.screen import clear_red_flag, unclear_red_flag
from hingecoach.web.models import ClearanceIn, PlanIn, ThresholdsIn, person_name
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


@router.post("/api/people/{name}/red-flags/{flag}/clearance", summary="A clinician clears a red flag")
@serialised
def clear_flag(flag: str, body: ClearanceIn, s: Locked, name: str = Depends(person_name)) -> dict[str, Any]:
    """Record the clearance (soon and review flags only: 422 for an emergency or unknown flag);
    returns the person's next plan, with the clearances that hold."""
    clear_red_flag(s, name, flag, set_by=body.set_by, note=body.note)
    return plan(load(s, name))


@router.post("/api/people/{name}/red-flags/{flag}/clearance/revoke", summary="Revoke a red flag's clearance")
@serialised
def revoke_flag(flag: str, body: ClearanceIn, s: Locked, name: str = Depends(person_name)) -> dict[str, Any]:
    """Revoke the clearance that holds (404 when none does): the screen asks the flag as new
    again; returns the person's next plan."""
    unclear_red_flag(s, name, flag, by=body.set_by, reason=body.note)
    return plan(load(s, name))
