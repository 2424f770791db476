"""Which red-flag questions a session asks, what the answers mean, and a clinician's
clearance of a flag (docs/references.md#red-flag-urgency).

- First use, or after a yes: every flag is asked, except a cleared one (replaced by
  one question: has anything new or worse appeared since the clearance?). A ``review``
  flag still waiting for its clearance holds without being asked again: only the
  emergency flags are asked, and the session ends with the review's calm message.
- A person with a clearance is screened at every session: the emergency flags and
  the question about changes since the clearance.
- Emergency flags are asked at every screen, whatever was cleared; they cannot be cleared.
- A clearance revoked since the last screen makes the next screen a whole one again.
- A yes to the change question counts as every cleared flag again: their clearances are
  revoked, so a clinician must clear them anew.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hingecoach.coach.rules import ProgrammeState
from hingecoach.coach.safety import FLAG_BY_ID, RED_FLAGS, RedFlag, check_flag
from hingecoach.store import Clearance, Store


@dataclass(frozen=True)
class ScreenPlan:
    """What a session's screen asks: the flags (in table order), whether the change
    question comes, and the ``review`` flags that still wait for a clearance."""

    ask: tuple[RedFlag, ...]
    ask_changed: bool
    pending_review: tuple[str, ...]
    cleared: tuple[str, ...]  # the flags a clearance holds for

    @property
    def empty(self) -> bool:
        """True when the session needs no screen at all."""
        return not self.ask and not self.ask_changed and not self.pending_review


def plan_screen(state: ProgrammeState, cleared: Mapping[str, Clearance]) -> ScreenPlan:
    """The screen for a person in ``state`` with the clearances that hold (flag -> clearance)."""
    held = tuple(f.id for f in RED_FLAGS if f.id in cleared and f.clearable)
    # a clearance the last screen relied on and that no longer holds (revoked): ask anew
    first = not state.screened or bool(state.red_flags) or not set(state.cleared) <= set(held)
    if not first and not held:
        return ScreenPlan((), False, (), held)
    pending_review = tuple(f for f in state.red_flags if f in FLAG_BY_ID and FLAG_BY_ID[f].urgency == "review"
                           and f not in held)
    # a review flag waiting for its clearance ends the session anyway: ask only what is
    # more urgent than it (the emergency signs); the rest comes once it is cleared
    ask = tuple(f for f in RED_FLAGS if f.urgency == "emergency"
                or (first and not pending_review and f.id not in held))
    return ScreenPlan(ask, bool(held), pending_review, held)


def judge(plan: ScreenPlan, answers: Mapping[str, bool], changed: bool) -> tuple[str, ...]:
    """The flags that stop the session: yes answers, ``review`` flags still waiting for
    a clearance, and (after a yes to the change question) every cleared flag."""
    yes = {k for k, v in answers.items() if v} | set(plan.pending_review)
    if changed:
        yes |= set(plan.cleared)
    return tuple(f.id for f in RED_FLAGS if f.id in yes)


def held_clearances(store: Store, person: str) -> dict[str, Clearance]:
    """The clearances that hold for ``person``, by flag (flags the table no longer has are left out)."""
    return {c.flag: c for c in store.clearances(person) if c.flag in FLAG_BY_ID and FLAG_BY_ID[c.flag].clearable}


def clear_red_flag(store: Store, person: str, flag: str, *, set_by: str, note: str = "") -> Clearance:
    """A clinician clears ``flag`` for ``person`` (``soon`` and ``review`` flags only);
    a ParameterError names an unknown or emergency flag or a missing ``set_by``."""
    check_flag(flag)
    return store.add_clearance(person, flag, set_by=set_by, note=note)


def unclear_red_flag(store: Store, person: str, flag: str, *, by: str, reason: str = "") -> Clearance:
    """Revoke the clearance of ``flag`` that holds for ``person``: the screen asks it as new again."""
    check_flag(flag, clearing=False)
    return store.revoke_clearance(person, flag, by=by, reason=reason)
