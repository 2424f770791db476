"""One guided session, written once as a dialogue and driven by the terminal, a
script of answers, or the web page.

``ProgrammeSession.flow()`` is a generator: it yields a ``Prompt`` (a question, an
instruction to read, a calibration or a set to do) and receives the answer through
``send``; it returns an ``Outcome``. Drivers only ask and answer: the programme's
order, its rules and everything it records live here. The session is recorded as it
goes: into the live session's store session once the sensors run (so pain, sets and
rules sit with the reps and cues they belong to), into a session of its own otherwise.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from hingecoach.analysis import DISCLAIMER
from hingecoach.coach.history import CALIBRATION_SETTER, KEY, PersonProgramme, load, threshold
from hingecoach.coach.rules import (
    END_RULES,
    SET_RULES,
    START_RULES,
    Context,
    Decision,
    ProgrammeState,
    SetOutcome,
    Stop,
    decide,
    session_had_pain,
)
from hingecoach.coach.safety import (
    CHANGED_QUESTION,
    CHANGED_SINCE_CLEARANCE,
    FLAG_BY_ID,
    PAIN_ZONES,
    SEE_CLINICIAN,
    check_pain,
    most_urgent,
    screen_message,
)
from hingecoach.coach.screen import held_clearances, judge, plan_screen
from hingecoach.coach.stages import (
    DEFAULT_SETTINGS,
    MAX_FLEXION_CALIBRATION,
    NEUTRAL_CALIBRATION,
    STAGE_BY_NUMBER,
    ProgrammeSettings,
    setup_text,
    stage_text,
)
from hingecoach.core.errors import ParameterError
from hingecoach.store import SessionWriter, Store

PromptKind = Literal["yes_no", "pain", "info", "calibration", "set"]


@dataclass(frozen=True)
class Prompt:
    """What the person is asked now. ``key`` names the answer (a --script key, the
    web API's ``key``); ``kind`` says what answer fits."""

    key: str
    kind: PromptKind
    text: str
    details: tuple[str, ...] = ()
    optional: bool = False  # a pain prompt that may be skipped (answer None)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The prompt as the web API sends it."""
        return {"key": self.key, "kind": self.kind, "text": self.text, "details": list(self.details),
                "optional": self.optional, "data": self.data}

    def check(self, value: Any) -> Any:
        """The answer, validated for this prompt (a ParameterError names the prompt)."""
        if self.kind == "yes_no":
            if not isinstance(value, bool):
                raise ParameterError(self.key, "yes or no (true or false)", value)
            return value
        if self.kind == "pain":
            if value is None and self.optional:
                return None
            return check_pain(value, self.key)
        if self.kind == "info":
            return None
        if self.kind == "calibration":
            if not isinstance(value, Calibration):
                raise ParameterError(self.key, "a calibration result", value)
            return value
        if not isinstance(value, SetRun):
            raise ParameterError(self.key, "a set's outcome", value)
        return value


@dataclass(frozen=True)
class Calibration:
    """A calibration's result: the maximum lumbar flexion when that part was done
    (and measured), and the threshold the live session uses."""

    max_flexion_deg: float | None = None
    threshold_deg: float | None = None


@dataclass(frozen=True)
class SetRun:
    """A set as it happened: each rep's faults, why it ended, pain reported during it
    (which ends it), and where it lies in the live session (sample times, rep indexes)."""

    rep_faults: tuple[tuple[str, ...], ...]
    ended_by: str = "reps"  # reps, early, pain, source_ended, stopped
    pain_during: int | None = None
    started_s: float | None = None
    ended_s: float | None = None
    rep_indexes: tuple[int, ...] = ()
    from_script: bool = False


@dataclass
class Outcome:
    """How a session ended: outcome, message, store session id, final state, rules applied and sets done."""

    outcome: str  # completed, red_flags, referral, no_exercise, stopped
    message: str
    session_id: int | None
    state: ProgrammeState
    decisions: list[Decision]
    sets: int

    @property
    def urgency(self) -> str | None:
        """How urgent the red flags that ended the session are (emergency, soon, review), else None."""
        return most_urgent(self.state.red_flags) if self.outcome == "red_flags" else None

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON for the web API, with the disclaimer."""
        return {"outcome": self.outcome, "message": self.message, "session_id": self.session_id,
                "urgency": self.urgency,
                "stage": self.state.stage, "state": self.state.to_json(), "sets": self.sets,
                "decisions": [d.to_json() for d in self.decisions], "disclaimer": DISCLAIMER}


#: A step of the dialogue: yields prompts, returns the outcome when it ends the session.
Step = Generator[Prompt, Any, Outcome | None]


class Recorder:
    """Writes the session's programme facts: to the live session's store session once
    attached, to a session of its own (kind 'programme') otherwise; what comes before
    either exists waits in memory."""

    def __init__(self, store: Store, person: str, source: str, device: str = "") -> None:
        self.store = store
        self.person = person
        self.source = source
        self.device = device
        self.writer: SessionWriter | None = None
        self.own = False
        self._pending: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    @property
    def session_id(self) -> int | None:
        """The store session written into (None while the facts wait in memory)."""
        return None if self.writer is None else self.writer.id

    def attach(self, sid: int) -> None:
        """Record into an existing (live) session from now on; its own writer closes it."""
        if self.writer is not None:
            return
        self.writer = SessionWriter(self.store, sid, autoflush=False)
        self._drain()

    def open_own(self) -> None:
        """Open a session of the programme's own (kind 'programme') unless one is attached."""
        if self.writer is None:
            self.writer = self.store.writer(person=self.person, source=self.source, device=self.device,
                                            kind="programme", autoflush=False)
            self.own = True
            self._drain()

    def _drain(self) -> None:
        pending, self._pending = self._pending, []
        for name, args, kw in pending:
            self._call(name, *args, **kw)

    def _call(self, name: str, *args: Any, **kw: Any) -> None:
        if self.writer is None:
            self._pending.append((name, args, kw))
        else:
            getattr(self.writer, name)(*args, **kw)

    def event(self, kind: str, t_s: float | None = None, **data: Any) -> None:
        """Record an event ``kind`` at ``t_s`` (s, the live session's sample time; None: no time)."""
        self._call("add_event", kind, t_s, **data)

    def pain(self, value: int, moment: str, set_idx: int | None = None, note: str = "") -> None:
        """Record a pain rating 0-10 at ``moment`` (before, set, during, after)."""
        self._call("add_pain", value, moment, set_idx=set_idx, note=note)

    def start_set(self, idx: int, **kw: Any) -> None:
        """Record that set ``idx`` began (stage, exercise, wall distance, target reps)."""
        self._call("start_set", idx, **kw)

    def end_set(self, idx: int, ended_s: float | None, **data: Any) -> None:
        """Record how set ``idx`` ended, at ``ended_s`` (s, the live session's sample time) or None."""
        self._call("end_set", idx, ended_s, **data)

    def extra(self, data: dict[str, Any]) -> None:
        """Merge ``data`` into the session's ``extra``."""
        self._call("update", extra=data)

    def close(self, complete: bool = True) -> int:
        """Write what waits (into a session of its own if none was attached)."""
        self.open_own()
        assert self.writer is not None
        if self.own:
            self.writer.close(complete=complete)
        return self.writer.id


def source_kind(source: str | None, default: str = "imu") -> str:
    """'camera' for a webcam or a video replay, 'imu' for sensor streams."""
    if not source:
        return default
    if source.startswith("webcam:"):
        return "camera"
    if source.startswith("replay:"):
        from hingecoach.analysis import is_camera_source

        try:
            return "camera" if is_camera_source(source.removeprefix("replay:")) else "imu"
        except Exception:  # an unreadable file: the live session will say what is wrong
            return "imu"
    return default if source in ("imu", "camera") else "imu"


class ProgrammeSession:
    """One session of the guided hinge programme for one person."""

    def __init__(self, store: Store, person: str, *, source: str = "", kind: str = "imu",
                 settings: ProgrammeSettings = DEFAULT_SETTINGS, device: str = "") -> None:
        self.store = store
        self.person = store.ensure_person(person).name
        self.settings = settings
        self.source = source
        self.kind = kind
        self.pp: PersonProgramme = load(store, self.person, settings)
        self.state_before = self.pp.state
        self.state = self.pp.state
        self.rec = Recorder(store, self.person, source or f"programme ({kind})", device)
        self.decisions: list[Decision] = []
        self.pain_start: int | None = None
        self.pain_after: int | None = None
        self.pains: list[int] = []  # every rating after the start (sets, during, after)
        last = self.pp.last  # a next-morning rating given since (hingecoach pain --next-morning) counts
        self.next_morning: int | None = last.next_morning if last is not None else None
        self.eased_for_pain = False
        self.sets = 0
        self.clean_sets = 0
        self.set_open: int | None = None  # the set being done (started, not ended)
        self.outcome: Outcome | None = None
        self.prompt: Prompt | None = None

    # -- what drivers call besides answering ----------------------------------------------
    def attach(self, sid: int) -> None:
        """Record into the live session ``sid`` from now on (what waited in memory goes there)."""
        self.rec.attach(sid)

    def start_set(self, started_s: float | None = None) -> int:
        """The set of the current 'set' prompt begins (drivers call it when the person
        starts; the flow calls it itself when the driver did not)."""
        if self.set_open is None:
            idx = self.sets + 1
            stage = STAGE_BY_NUMBER[self.state.stage]
            self.rec.start_set(idx, stage=stage.id, exercise=stage.exercise, started_s=started_s,
                               wall_distance_cm=self.state.distance(self.settings),
                               target_reps=self.settings.set_reps)
            self.set_open = idx
        return self.set_open

    def context(self, **kw: Any) -> Context:
        """What the rules may look at now; ``kw`` adds the set's outcome or the pain after."""
        last = self.pp.last
        return Context(self.state, self.settings, pain_start=self.pain_start, next_morning=self.next_morning,
                       previous_pain_start=last.pain_start if last else None,
                       previous_had_pain=bool(last and last.had_pain), eased_for_pain_today=self.eased_for_pain,
                       session_had_pain=session_had_pain(self.pain_start, self.pains, self.settings), **kw)

    def _apply(self, d: Decision | None, t_s: float | None = None) -> Decision | None:
        if d is None:
            return None
        self.decisions.append(d)
        self.state = d.after
        if d.rule in ("pain_not_acceptable", "pain_rising"):
            self.eased_for_pain = True
        self.rec.event("programme_rule", t_s, **d.to_json())
        self._save_state("running")
        return d

    def _save_state(self, outcome: str) -> None:
        self.rec.extra({KEY: {
            "version": 1, "outcome": outcome, "state_before": self.state_before.to_json(),
            "state": self.state.to_json(), "pain_start": self.pain_start, "pain_after": self.pain_after,
            "had_pain": session_had_pain(self.pain_start, self.pains, self.settings), "sets": self.sets,
            "clean_sets": self.clean_sets, "source_kind": self.kind,
            "decisions": [d.to_json() for d in self.decisions],
            "threshold_deg": round(threshold(self.store.person(self.person), self.state)[0], 2),
        }})

    def _end(self, outcome: str, message: str, complete: bool = True) -> Outcome:
        self._save_state(outcome)
        sid = self.rec.close(complete=complete)
        self.outcome = Outcome(outcome, message, sid, self.state, self.decisions, self.sets)
        return self.outcome

    def stop(self, reason: str = "stopped by the person") -> Outcome:
        """End the session now (Ctrl-C, the web page's stop button): what was done stays."""
        if self.outcome is not None:
            return self.outcome
        if self.set_open is not None:
            self.rec.end_set(self.set_open, None, ended_by="stopped")
            self.set_open = None
        self.rec.event("programme_stopped", None, reason=reason)
        return self._end("stopped", f"Session stopped ({reason}); everything so far is saved.")

    # -- the dialogue ---------------------------------------------------------------------
    def run(self) -> Generator[Prompt, Any, Outcome]:
        """The session as a dialogue; each yielded prompt is also ``self.prompt``."""
        gen = self._flow()
        answer: Any = None
        try:
            while True:
                self.prompt = gen.send(answer)
                raw = yield self.prompt
                answer = self.prompt.check(raw)
        except StopIteration as done:
            self.prompt = None
            out: Outcome = done.value
            return out

    def _flow(self) -> Generator[Prompt, Any, Outcome]:
        """The session's steps in order; a step that ends the session returns its outcome."""
        for step in (self._screen, self._referral, self._next_morning, self._pain_now):
            ended = yield from step()
            if ended is not None:
                return ended
        yield from self._setup_and_calibration()
        decision = yield from self._sets()
        return (yield from self._finish(decision))

    def _screen(self) -> Step:
        """The red-flag screen (docs/references.md#red-flag-urgency): on first use, again
        after any yes, and at every session of a person with a clinician's clearance; see
        ``coach.screen`` for which questions each asks."""
        st = self.state
        cleared = held_clearances(self.store, self.person)
        sp = plan_screen(st, cleared)
        if sp.empty:
            return None
        n = len(sp.ask) + sp.ask_changed
        intro = ("First, a short safety screen: answer yes if any of these is true now.",)
        answers: dict[str, bool] = {}
        for k, flag in enumerate(sp.ask):
            answers[flag.id] = yield Prompt(f"screen.{flag.id}", "yes_no", flag.question, intro if k == 0 else (),
                                            data={"n": k + 1, "of": n, "urgency": flag.urgency})
        changed = False
        if sp.ask_changed:
            who = "; ".join(f"{FLAG_BY_ID[f].question.rstrip('?')}: cleared by {cleared[f].set_by} on "
                            f"{cleared[f].cleared_at[:10]}" for f in sp.cleared)
            changed = yield Prompt(f"screen.{CHANGED_SINCE_CLEARANCE}", "yes_no", CHANGED_QUESTION,
                                   (intro if not sp.ask else ()) + (who,),
                                   data={"n": n, "of": n, "cleared": list(sp.cleared)})
        yes = judge(sp, answers, changed)
        self.rec.event("red_flag_screen", None, answers=answers, red_flags=list(yes),
                       urgency=most_urgent(yes), cleared=list(sp.cleared), pending=list(sp.pending_review),
                       **({CHANGED_SINCE_CLEARANCE: changed} if sp.ask_changed else {}))
        if changed:  # the flags count again: their clearances no longer hold
            for f in sp.cleared:
                self.store.revoke_clearance(self.person, f, by=self.person,
                                            reason="something new or worse was reported at the screen")
        if yes:
            message = screen_message(yes)
            self.state = replace(st, screened=False, red_flags=yes, cleared=(), reason=message, rule="red_flags")
            return self._end("red_flags", message)
        self.state = replace(st, screened=True, red_flags=(), cleared=sp.cleared)
        return None

    def _referral(self) -> Step:
        """A referral waits for a clinician's go-ahead, as the person reports it."""
        st = self.state
        if not st.referral:
            return None
        ok = yield Prompt("referral_cleared", "yes_no",
                          "Have you seen a doctor or physical therapist who agreed that you continue?",
                          (f"Last time: {st.referral}",))
        self.rec.event("referral_answer", None, cleared=ok, referral=st.referral)
        if not ok:
            return self._end("referral", SEE_CLINICIAN)
        self.state = replace(st, referral=None, rule="referral_cleared",
                             reason="a doctor or physical therapist agreed that you continue "
                                    "(as you told hingecoach)")
        return None

    def _next_morning(self) -> Step:
        """The morning after the previous session, stored with that session
        (docs/references.md#pain-monitoring: worse the next morning means reduce)."""
        last = self.pp.last
        if last is None or not last.exercised or last.next_morning is not None:
            return None
        v = yield Prompt("next_morning", "pain",
                         f"How bad was your back pain the morning after your last session "
                         f"({last.started_at[:10]})? 0 (none) to 10 (worst imaginable)",
                         ("Leave it empty if you do not remember.",), optional=True)
        if v is not None:
            self.next_morning = v
            self.store.add_pain(last.id, v, "next_morning", note="asked at the next session")
            self.store.update_extra(last.id, {KEY: {**self._extra_of(last.id), "next_morning": v}})
        return None

    def _pain_now(self) -> Step:
        """Pain now, and the start rules (which may end the session before any exercise)."""
        v = yield Prompt("pain_now", "pain", "How much does your back hurt right now? 0 (none) to 10 "
                         "(worst imaginable)", tuple(f"{z}" for z in PAIN_ZONES.values()))
        self.pain_start = v
        self.rec.pain(v, "before")
        d = self._apply(decide(START_RULES, self.context()))
        if d is not None and d.stop is not Stop.none:
            return self._end("referral" if d.stop is Stop.refer else "no_exercise", d.message)
        return None

    def _setup_and_calibration(self) -> Generator[Prompt, Any, None]:
        """Set-up for the source, then the calibration (the maximum-flexion part if wanted)."""
        yield Prompt("setup", "info", "Set up the camera" if self.kind == "camera" else "Put the sensors on",
                     tuple(setup_text(self.kind)), data={"source_kind": self.kind})
        do_max = yield Prompt("calibrate_max", "yes_no",
                              "Also do the maximum-flexion calibration (it sets your personal threshold)?",
                              MAX_FLEXION_CALIBRATION)
        cal = yield Prompt("calibration", "calibration", "Calibration",
                           NEUTRAL_CALIBRATION + (MAX_FLEXION_CALIBRATION if do_max else ()),
                           data={"max_flexion": do_max})
        self._calibrated(cal, do_max)

    def _sets(self) -> Generator[Prompt, Any, Decision | None]:
        """Sets at the current step until a rule stops them, the session's maximum, or the
        person; returns the last set's decision."""
        decision: Decision | None = None
        while True:
            title, lines = stage_text(self.state.stage, self.state.distance(self.settings))
            idx = self.sets + 1
            run: SetRun = yield Prompt("set", "set", f"Set {idx}: {title}", tuple(lines), data={
                "set": idx, "target_reps": self.settings.set_reps, "stage": self.state.stage,
                "wall_distance_cm": self.state.distance(self.settings)})
            self.start_set(run.started_s)
            pain = run.pain_during
            if pain is None:
                pain = yield Prompt("pain_set", "pain", f"Pain now, after set {idx}? 0 (none) to 10",
                                    data={"set": idx})
            decision = self._set_done(idx, run, pain)
            if decision.stop is not Stop.none and decision.stop is not Stop.set:
                return decision
            if self.sets >= self.settings.max_sets:
                return decision
            title, _ = stage_text(self.state.stage, self.state.distance(self.settings))
            more = yield Prompt("another_set", "yes_no", "Another set?", (decision.message, f"Next: {title}."))
            if not more:
                return decision

    def _finish(self, decision: Decision | None) -> Generator[Prompt, Any, Outcome]:
        """Pain at the end, the end rules, and the session's outcome."""
        v = yield Prompt("pain_after", "pain", "Pain now, at the end of the session? 0 (none) to 10",
                         (decision.message,) if decision is not None and decision.stop is not Stop.none else ())
        self.pain_after = v
        self.pains.append(v)
        self.rec.pain(v, "after")
        end = self._apply(decide(END_RULES, self.context(pain_after=v)))
        if decision is not None and decision.stop is Stop.refer:
            return self._end("referral", decision.message)
        if end is not None and end.stop is Stop.refer:
            return self._end("referral", end.message)
        if decision is not None and decision.stop is Stop.session:
            return self._end("stopped_for_pain", decision.message)
        title, _ = stage_text(self.state.stage, self.state.distance(self.settings))
        done = f"Session done: {self.sets} set(s), {self.clean_sets} clean. Next session: {title}."
        return self._end("completed", f"{end.message} {done}" if end is not None else done)

    def _extra_of(self, sid: int) -> dict[str, Any]:
        for i, ex in self.store.session_extras(self.person):
            if i == sid:
                return dict(ex.get(KEY) or {})
        return {}

    def _calibrated(self, cal: Calibration, do_max: bool) -> None:
        self.rec.event("calibration", None, max_flexion=do_max, max_flexion_deg=cal.max_flexion_deg,
                       threshold_deg=cal.threshold_deg)
        if cal.max_flexion_deg is None:
            return
        if self.rec.session_id is None:  # no live session was attached: record in one of our own
            self.rec.open_own()
        self.state = replace(self.state, max_flexion_deg=round(float(cal.max_flexion_deg), 1),
                             max_flexion_session=self.rec.session_id)
        person = self.store.person(self.person)
        entry = person.thresholds.get("lumbar_rounding_deg") if person else None
        if entry is None or str(entry.get("set_by", "")).startswith(CALIBRATION_SETTER):
            # the personal threshold, unless a clinician set one (theirs wins)
            value, _, _ = threshold(None if person is None else replace(person, thresholds={
                k: v for k, v in person.thresholds.items() if k != "lumbar_rounding_deg"}), self.state)
            where = f", session {self.rec.session_id}" if self.rec.session_id else ""
            self.store.set_thresholds(self.person, {"lumbar_rounding_deg": round(max(3.0, min(90.0, value)), 1)},
                                      set_by=f"{CALIBRATION_SETTER}{where}")

    def _set_done(self, idx: int, run: SetRun, pain: int) -> Decision:
        outcome = SetOutcome(run.rep_faults, pain, run.ended_by)
        self.sets = idx
        self.set_open = None
        ctx = self.context(set=outcome)
        clean = ctx.clean
        self.clean_sets += clean
        self.rec.end_set(idx, run.ended_s, reps=outcome.reps, faulty_reps=outcome.faulty_reps,
                         faults=outcome.faults, ended_by=run.ended_by, pain=pain, clean=clean,
                         rep_indexes=list(run.rep_indexes), outcome_from="script" if run.from_script else "live")
        self.rec.pain(pain, "during" if run.pain_during is not None else "set", set_idx=idx)
        self.pains.append(pain)
        d = decide(SET_RULES, self.context(set=outcome))
        if d is None:  # every set matches a rule; keep going unchanged if the table changes
            d = Decision("no_rule", SET_RULES[-1].effect.change, Stop.none, "Same step next set.",
                         self.state, self.state)
        self._apply(d, run.ended_s)
        return d


WALL_RANGE_CM = (5.0, 100.0)


def record_plan(store: Store, person: str, *, stage: int, wall_distance_cm: float | None = None,
                clear_referral: bool = False, set_by: str = "", note: str = "",
                settings: ProgrammeSettings = DEFAULT_SETTINGS) -> int:
    """A clinician sets the next session's stage and wall distance (and may clear a
    referral after seeing the person); kept as a session of kind 'plan' with who and
    why, so the person's history shows it. Returns its id."""
    if isinstance(stage, bool) or not isinstance(stage, int) or stage not in STAGE_BY_NUMBER:
        raise ParameterError("stage", "1, 2, 3 or 4", stage)
    wall = STAGE_BY_NUMBER[stage].wall
    if wall_distance_cm is not None:
        if isinstance(wall_distance_cm, bool) or not isinstance(wall_distance_cm, int | float) \
                or not WALL_RANGE_CM[0] <= float(wall_distance_cm) <= WALL_RANGE_CM[1]:
            raise ParameterError("wall_distance_cm", f"{WALL_RANGE_CM[0]:.0f} to {WALL_RANGE_CM[1]:.0f} cm",
                                 wall_distance_cm)
        if not wall:
            raise ParameterError("wall_distance_cm", f"none at stage {stage} (away from the wall)",
                                 wall_distance_cm)
    set_by = set_by.strip()
    if not set_by or len(set_by) > 100 or any(ord(c) < 32 for c in set_by):
        raise ParameterError("set_by", "who sets the plan (1 to 100 printable characters)", set_by)
    pp = load(store, person, settings)
    before = pp.state
    distance = (float(wall_distance_cm) if wall_distance_cm is not None else
                (before.distance(settings) or settings.start_distance_cm)) if wall else None
    reason = f"{set_by} set stage {stage}" + (f" at {distance:.0f} cm" if distance is not None else "")
    reason += f": {note.strip()}" if note.strip() else ""
    after = replace(before, stage=stage, wall_distance_cm=distance, clean_sets=0, faulty_sets=0,
                    referral=None if clear_referral else before.referral, reason=reason, rule="clinician_plan")
    with store.writer(person=person, source="plan", device="", kind="plan", autoflush=False) as w:
        w.add_event("programme_plan", None, set_by=set_by, stage=stage, wall_distance_cm=distance,
                    clear_referral=clear_referral, note=note)
        w.update(extra={KEY: {"version": 1, "outcome": "plan", "state_before": before.to_json(),
                              "state": after.to_json(), "set_by": set_by, "sets": 0,
                              "decisions": []}})
        return w.id
