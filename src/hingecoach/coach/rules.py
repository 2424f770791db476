"""Progression and regression as data: a table of rules, each with its condition, its
effect and the one sentence said to the person when it applies.

Three moments read the table: the session's start (``START_RULES``), the end of each
set (``SET_RULES``) and the session's end (``END_RULES``). Within a moment the first
rule whose condition holds applies, so the table is ordered by safety first (pain,
then form, then progress). An effect is a change of step (``Change``) and how far the
stop reaches (``Stop``): nothing, the set, the session, the session with a referral to
a doctor or physical therapist, or no exercise and urgent care.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any, Final

from hingecoach.coach.safety import PAIN_ACCEPTABLE_MAX, PAIN_SAFE_MAX
from hingecoach.coach.stages import STAGE_BY_NUMBER, ProgrammeSettings, fmt_distance


class Change(StrEnum):
    """How a rule changes the step (the stage and the wall distance)."""

    hold = "hold"  # same stage and distance
    step_out = "step_out"  # an inch or two further from the wall (stage 1 -> 2)
    free_standing = "free_standing"  # leave the wall (stage 3)
    load = "load"  # the kettlebell deadlift (stage 4)
    step_back = "step_back"  # one step easier (closer to the wall, or back to it)
    back_stage = "back_stage"  # one whole stage easier


class Stop(StrEnum):
    """How far a rule's stop reaches: nothing, the set, the session, until a referral is cleared, or urgent care."""

    none = "none"
    set = "set"  # the set ends now (pain); the session may go on at the easier step
    session = "session"  # no more exercise today
    refer = "refer"  # no more exercise until a doctor or physical therapist agrees
    urgent = "urgent"  # red flags: no exercise, urgent medical care


@dataclass(frozen=True)
class ProgrammeState:
    """Where a person is in the programme; stored with each session (``extra``)."""

    stage: int = 1
    wall_distance_cm: float | None = None  # None: the start distance (stage 1) or off the wall
    furthest_wall_cm: float | None = None  # the last wall distance before leaving the wall
    clean_sets: int = 0  # clean, pain-free sets in a row at this step (stage 3 -> 4)
    faulty_sets: int = 0  # mostly faulty sets in a row at this step
    screened: bool = False  # the red-flag screen was answered, all no
    red_flags: tuple[str, ...] = ()  # yes answers of the last screen
    cleared: tuple[str, ...] = ()  # flags a clinician's clearance covered at the last screen
    referral: str | None = None  # why a doctor or physical therapist should be seen first
    max_flexion_deg: float | None = None  # from the last maximum-flexion calibration
    max_flexion_session: int | None = None
    reason: str = "the programme starts at the wall"  # the sentence of the last rule applied
    rule: str = "start"

    def distance(self, settings: ProgrammeSettings) -> float | None:
        """The wall distance for the next set (None when off the wall)."""
        if not STAGE_BY_NUMBER[self.stage].wall:
            return None
        return self.wall_distance_cm if self.wall_distance_cm is not None else settings.start_distance_cm

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-ready values (as a session's ``extra`` stores it)."""
        d = asdict(self)
        d["red_flags"] = list(self.red_flags)
        d["cleared"] = list(self.cleared)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> ProgrammeState:
        """Tolerant of older or newer stored states: unknown keys are ignored."""
        if not d:
            return cls()
        names = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("red_flags", "cleared"):
            if k in kw:
                kw[k] = tuple(kw[k] or ())
        st = cls(**kw)
        if st.stage not in STAGE_BY_NUMBER:
            st = replace(st, stage=1)
        return st


@dataclass(frozen=True)
class SetOutcome:
    """What a set gave: its reps' faults (one tuple per rep), the pain after it, and
    why it ended (reps, early, pain, source_ended)."""

    rep_faults: tuple[tuple[str, ...], ...]
    pain: int | None
    ended_by: str = "reps"

    @property
    def reps(self) -> int:
        """Reps done in the set."""
        return len(self.rep_faults)

    @property
    def faulty_reps(self) -> int:
        """Reps with at least one fault."""
        return sum(1 for f in self.rep_faults if f)

    @property
    def faults(self) -> list[str]:
        """The fault ids seen in the set, each once, in the order first seen."""
        seen: dict[str, None] = {}
        for fs in self.rep_faults:
            for f in fs:
                seen.setdefault(f, None)
        return list(seen)


@dataclass(frozen=True)
class Context:
    """Everything a rule may look at."""

    state: ProgrammeState
    settings: ProgrammeSettings
    pain_start: int | None = None  # pain now, at the session's start
    set: SetOutcome | None = None
    pain_after: int | None = None  # at the session's end
    eased_for_pain_today: bool = False  # a pain rule already moved back a stage today
    next_morning: int | None = None  # the morning after the previous session
    previous_pain_start: int | None = None  # the previous session's pain at its start
    previous_had_pain: bool = False  # the previous session had pain (see had_pain)
    session_had_pain: bool = False

    # -- helpers the conditions read --------------------------------------------------
    @property
    def set_pain(self) -> int:
        """Pain after the set (0-10), or -1 when there is no set or no rating."""
        return -1 if self.set is None or self.set.pain is None else self.set.pain

    def pain_bad(self, value: int | None) -> bool:
        """Above 5, or at least ``pain_rise`` points above the session's start."""
        if value is None or value < 0:
            return False
        rise = self.pain_start is not None and value >= self.pain_start + self.settings.pain_rise
        return value > PAIN_ACCEPTABLE_MAX or rise

    @property
    def clean(self) -> bool:
        """The set was whole (``set_reps`` reps) and no rep had a fault."""
        s = self.set
        return s is not None and s.reps >= self.settings.set_reps and s.faulty_reps == 0

    @property
    def mostly_faulty(self) -> bool:
        """At least ``faulty_reps_in_set`` reps of the set had a fault."""
        return self.set is not None and self.set.faulty_reps >= self.settings.faulty_reps_in_set

    @property
    def pain_free(self) -> bool:
        """'Without pain': in the safe zone (0-3) and no higher than at the start."""
        p = self.set_pain
        return 0 <= p <= PAIN_SAFE_MAX and (self.pain_start is None or p <= self.pain_start)

    @property
    def reaches_free_standing(self) -> bool:
        """One more step out would reach the free-standing distance from the wall."""
        d = self.state.distance(self.settings)
        return d is not None and d + self.settings.step_cm >= self.settings.free_standing_cm - 1e-9


@dataclass(frozen=True)
class Effect:
    """What a rule does: a change of step and how far the stop reaches."""

    change: Change = Change.hold
    stop: Stop = Stop.none


@dataclass(frozen=True)
class Rule:
    """One row of the table: when it applies (``condition``), its effect, the sentence said and where it comes from."""

    id: str
    moment: str  # "start", "set" or "end"
    condition: Callable[[Context], bool]
    effect: Effect
    say: str  # one sentence; {distance}, {stage}, {pain}, {start}, {faults}, {n} filled in
    why: str = ""  # where the rule comes from (for a clinician reading the table)


def _stage(c: Context) -> int:
    return c.state.stage


START_RULES: Final = (
    Rule("worse_next_morning", "start",
         lambda c: (c.next_morning is not None and c.previous_pain_start is not None
                    and c.next_morning > c.previous_pain_start),
         Effect(Change.back_stage, Stop.refer),
         "Your back was worse the morning after the last session ({pain} of 10, {start} before it): "
         "the programme goes back a stage, and please see a doctor or physical therapist before you "
         "continue.",
         "docs/references.md#pain-monitoring: worse the next morning means reduce; any worsening "
         "the next morning also means seeing a clinician first"),
    Rule("pain_persists_start", "start",
         lambda c: c.pain_start is not None and c.pain_start > PAIN_ACCEPTABLE_MAX and c.previous_had_pain,
         Effect(Change.hold, Stop.refer),
         "Your pain is {start} of 10 and was too high last session as well: no exercise today; please "
         "see a doctor or physical therapist before you continue.",
         "docs/references.md#pain-monitoring: pain that persists over two sessions"),
    Rule("pain_now_not_acceptable", "start",
         lambda c: c.pain_start is not None and c.pain_start > PAIN_ACCEPTABLE_MAX,
         Effect(Change.hold, Stop.session),
         "Pain of {start} of 10 is above 5, which is not acceptable for exercise: rest today; if it "
         "stays, see a doctor or physical therapist.",
         "docs/references.md#pain-monitoring: above 5 of 10 is not acceptable"),
)

SET_RULES: Final = (
    Rule("pain_again_after_easing", "set",
         lambda c: c.pain_bad(c.set_pain) and c.eased_for_pain_today,
         Effect(Change.hold, Stop.refer),
         "Your pain went up again ({pain} of 10) after the exercise was made easier: stop for today, "
         "and see a doctor or physical therapist before you continue.",
         "docs/references.md#pain-monitoring: if the pain continues after modifying, stop and see a "
         "doctor or physical therapist"),
    Rule("pain_at_first_stage", "set",
         lambda c: c.pain_bad(c.set_pain) and _stage(c) == 1,
         Effect(Change.hold, Stop.session),
         "Pain of {pain} of 10 (it was {start} at the start) even at the first stage: stop for today; "
         "if it continues, see a doctor or physical therapist.",
         "docs/references.md#pain-monitoring: pain above 5 or 2 points up ends the set; there is no "
         "easier stage"),
    Rule("pain_not_acceptable", "set",
         lambda c: c.set_pain > PAIN_ACCEPTABLE_MAX,
         Effect(Change.back_stage, Stop.set),
         "Pain above 5 of 10 ({pain}) is not acceptable: the set ends and you go back a stage, to "
         "{stage}.",
         "docs/references.md#pain-monitoring: above 5 of 10 is not acceptable; modify (an easier stage)"),
    Rule("pain_rising", "set",
         lambda c: c.pain_bad(c.set_pain),
         Effect(Change.back_stage, Stop.set),
         "Your pain rose to {pain} of 10 from {start} at the start: the set ends and you go back a "
         "stage, to {stage}.",
         "docs/references.md#pain-monitoring: pain that appears means modify; two points above the "
         "session's start counts as appearing"),
    Rule("mostly_faulty_again", "set",
         lambda c: c.mostly_faulty and c.state.faulty_sets + 1 >= c.settings.faulty_sets_to_step_back,
         Effect(Change.step_back),
         "Most reps had a fault in two sets in a row: one step easier ({stage}) to rebuild the pattern.",
         "docs/references.md#hinge-faults: repeated faulty sets mean the step is too hard for now"),
    Rule("short_set", "set",
         lambda c: c.set is not None and c.set.reps < c.settings.set_reps,
         Effect(Change.hold),
         "The set ended after {n} of {target} reps: the next set stays at the same step.",
         "progress needs a whole set of 5"),
    Rule("pain_acceptable_hold", "set",
         lambda c: PAIN_SAFE_MAX < c.set_pain <= PAIN_ACCEPTABLE_MAX,
         Effect(Change.hold),
         "Pain of {pain} of 10 is acceptable but not the moment to make it harder: same step next set.",
         "docs/references.md#pain-monitoring: 4-5 of 10 acceptable"),
    Rule("faulty_set", "set",
         lambda c: c.set is not None and c.set.faulty_reps > 0,
         Effect(Change.hold),
         "{n} of {target} reps had a fault ({faults}): same step next set; the cue tells you the moment.",
         "progress needs a set of 5 with no fault"),
    Rule("clean_first_stage", "set",
         lambda c: c.clean and _stage(c) == 1,
         Effect(Change.step_out),
         "A clean set of 5: step out an inch or two, to {distance} from the wall.",
         "docs/references.md#wall-drill: step out after a clean set"),
    Rule("clean_leave_wall", "set",
         lambda c: c.clean and _stage(c) == 2 and c.reaches_free_standing,
         Effect(Change.free_standing),
         "A clean set this far from the wall: next, hinge free-standing, away from the wall.",
         "docs/references.md#wall-drill: continue until the hinge works away from the wall"),
    Rule("clean_step_out", "set",
         lambda c: c.clean and _stage(c) == 2,
         Effect(Change.step_out),
         "A clean set of 5: step out another inch or two, to {distance} from the wall.",
         "docs/references.md#wall-drill: step out after each clean set"),
    Rule("clean_to_load", "set",
         lambda c: (c.clean and _stage(c) == 3 and c.pain_free
                    and c.state.clean_sets + 1 >= c.settings.clean_sets_to_load),
         Effect(Change.load),
         "{n} clean sets without pain free-standing: you may hold a light kettlebell next (kettlebell "
         "deadlift).",
         "docs/references.md#pain-monitoring: a load only after clean sets without pain"),
    Rule("clean_free_standing", "set",
         lambda c: c.clean and _stage(c) == 3,
         Effect(Change.hold),
         "A clean set: {left} more clean, pain-free set(s) free-standing before adding a load.",
         "a load only after clean sets without pain"),
    Rule("clean_loaded", "set",
         lambda c: c.clean and _stage(c) == 4,
         Effect(Change.hold),
         "A clean set with the kettlebell: keep this weight; add weight only in small steps, with "
         "clean sets and no pain.",
         "loaded hinge: progress slowly"),
)

END_RULES: Final = (
    Rule("pain_persists", "end",
         lambda c: c.session_had_pain and c.previous_had_pain,
         Effect(Change.hold, Stop.refer),
         "Pain has been too high in two sessions in a row: please see a doctor or physical therapist "
         "before you continue.",
         "docs/references.md#pain-monitoring: pain that persists over two sessions"),
    Rule("pain_after_session", "end",
         lambda c: c.pain_bad(c.pain_after) and not c.eased_for_pain_today,
         Effect(Change.back_stage),
         "Pain after the session was {pain} of 10 (from {start}): the next session starts a stage "
         "easier, at {stage}.",
         "pain above 5 or 2 points up moves back a stage"),
)

ALL_RULES: Final = (*START_RULES, *SET_RULES, *END_RULES)
RULES_BY_ID: Final = {r.id: r for r in ALL_RULES}


@dataclass(frozen=True)
class Decision:
    """A rule that applied: what it changed, how far the stop reaches and what was said."""

    rule: str
    change: Change
    stop: Stop
    message: str
    before: ProgrammeState
    after: ProgrammeState
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The decision as recorded with the session (event ``programme_rule``) and sent by the web API."""
        return {"rule": self.rule, "change": self.change.value, "stop": self.stop.value,
                "message": self.message, "stage": self.after.stage,
                "wall_distance_cm": self.after.wall_distance_cm, **self.data}


def apply_change(state: ProgrammeState, change: Change, s: ProgrammeSettings) -> ProgrammeState:
    """The state one step further or easier; counters reset when the step changes."""
    d = state.distance(s)
    if change is Change.hold:
        return state
    if change is Change.step_out:
        new = replace(state, stage=2, wall_distance_cm=round((d or s.start_distance_cm) + s.step_cm, 1))
    elif change is Change.free_standing:
        new = replace(state, stage=3, furthest_wall_cm=d, wall_distance_cm=None)
    elif change is Change.load:
        new = replace(state, stage=4, wall_distance_cm=None)
    elif change is Change.step_back:
        if state.stage >= 3:
            new = _back_a_stage(state, s)
        elif d is not None and d - s.step_cm > s.start_distance_cm + 1e-9:
            new = replace(state, wall_distance_cm=round(d - s.step_cm, 1))
        else:
            new = replace(state, stage=1, wall_distance_cm=s.start_distance_cm)
    else:  # back_stage
        new = _back_a_stage(state, s)
    return replace(new, clean_sets=0, faulty_sets=0)


def _back_a_stage(state: ProgrammeState, s: ProgrammeSettings) -> ProgrammeState:
    if state.stage == 4:
        return replace(state, stage=3, wall_distance_cm=None)
    if state.stage == 3:
        back = state.furthest_wall_cm if state.furthest_wall_cm is not None else s.free_standing_cm - s.step_cm
        return replace(state, stage=2, wall_distance_cm=max(s.start_distance_cm, back))
    return replace(state, stage=1, wall_distance_cm=s.start_distance_cm)


def _counters(state: ProgrammeState, c: Context) -> ProgrammeState:
    """After a set that kept the step: count clean pain-free sets and faulty sets in a row."""
    clean = state.clean_sets + 1 if c.clean and c.pain_free else 0
    faulty = state.faulty_sets + 1 if c.mostly_faulty else 0
    return replace(state, clean_sets=clean, faulty_sets=faulty)


def decide(rules: tuple[Rule, ...], c: Context) -> Decision | None:
    """The first rule of ``rules`` whose condition holds, applied to ``c.state``."""
    for r in rules:
        if not r.condition(c):
            continue
        after = apply_change(c.state, r.effect.change, c.settings)
        if r.moment == "set" and r.effect.change is Change.hold:
            after = _counters(after, c)
        msg = r.say.format(**_values(r, c, after))
        after = replace(after, reason=msg, rule=r.id,
                        referral=msg if r.effect.stop is Stop.refer else after.referral)
        return Decision(r.id, r.effect.change, r.effect.stop, msg, c.state, after,
                        {"wall_distance_cm": after.distance(c.settings)})
    return None


def _values(r: Rule, c: Context, after: ProgrammeState) -> dict[str, Any]:
    """What a rule's sentence may name, as the person reads it."""
    s = c.set
    if r.id == "worse_next_morning":
        pain, start = c.next_morning, c.previous_pain_start
    elif r.moment == "end":
        pain, start = c.pain_after, c.pain_start
    else:
        pain, start = (s.pain if s is not None else None), c.pain_start
    if r.id == "faulty_set" and s is not None:
        n = s.faulty_reps
    elif r.id == "clean_to_load":
        n = c.state.clean_sets + 1
    else:
        n = s.reps if s is not None else 0
    stage = STAGE_BY_NUMBER[after.stage]
    where = f" at {fmt_distance(after.distance(c.settings))}" if stage.wall else ""
    left = c.settings.clean_sets_to_load - (c.state.clean_sets + (1 if c.pain_free else 0))
    return {"pain": "-" if pain is None else pain, "start": "-" if start is None else start,
            "distance": fmt_distance(after.distance(c.settings)),
            "stage": f"stage {stage.number}, {stage.name[0].lower()}{stage.name[1:]}{where}",
            "faults": ", ".join(s.faults) if s is not None else "",
            "n": n, "target": c.settings.set_reps, "left": max(1, left)}


def session_had_pain(pain_start: int | None, later: list[int], settings: ProgrammeSettings) -> bool:
    """A session 'with pain': not acceptable at any moment (above 5), or a rating during
    or after it at least ``pain_rise`` above its start. Two in a row mean a referral."""
    if pain_start is not None and pain_start > PAIN_ACCEPTABLE_MAX:
        return True
    return any(v > PAIN_ACCEPTABLE_MAX or (pain_start is not None and v >= pain_start + settings.pain_rise)
               for v in later)
