"""A person's place in the programme, read back from their stored sessions.

Each programme session keeps, in its ``extra["programme"]``, the state before and
after it, the pain at its start, whether it had pain, its sets and the rules that
applied. The person's current state is the last such session's; nothing else holds
it, so export, import and ``forget`` carry it with the sessions. A clinician's
clearances of red flags are the exception: they belong to the person, not to a session,
and live in the store's ``red_flag_clearances`` table (``forget`` removes them; a
session export does not carry them).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from hingecoach.coach.rules import ProgrammeState
from hingecoach.coach.safety import FLAG_BY_ID, most_urgent
from hingecoach.coach.stages import DEFAULT_SETTINGS, STAGE_BY_NUMBER, ProgrammeSettings, fmt_distance
from hingecoach.core.vocabulary import CAMERA
from hingecoach.faults import MAX_FLEXION_SHARE, default_thresholds
from hingecoach.store import Clearance, Person, SessionSummary, Store

KEY = "programme"  # the key in a session's extra
CALIBRATION_SETTER = "maximum-flexion calibration"  # set_by of a threshold the coach derived
CAMERA_ROUNDING_RULE = "the back bows beyond twice its standing distance from the hip-shoulder line"
CAMERA_CRITERION = "the camera's own criterion"  # how a camera threshold's source begins


@dataclass(frozen=True)
class SessionEntry:
    """One programme session (or a clinician's plan change) in a person's history."""

    id: int
    started_at: str
    outcome: str  # completed, stopped, red_flags, referral, no_exercise, plan, interrupted
    stage_before: int
    stage_after: int
    distance_before_cm: float | None
    distance_after_cm: float | None
    pain_start: int | None
    pain_after: int | None
    had_pain: bool
    sets: int
    clean_sets: int
    reps: int
    faulty_reps: int
    decisions: list[dict[str, Any]] = field(default_factory=list)
    next_morning: int | None = None
    set_by: str = ""

    @property
    def exercised(self) -> bool:
        """True when the person did at least one set in the session."""
        return self.sets > 0

    def to_json(self) -> dict[str, Any]:
        """Every field, plus ``exercised``, as JSON-ready values."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"exercised": self.exercised}


@dataclass(frozen=True)
class PersonProgramme:
    """A person's programme: current state, session history and the lumbar-rounding
    threshold (deg) with its source and the upper sensor's placement."""


    person: str
    state: ProgrammeState
    history: list[SessionEntry]
    threshold_deg: float
    threshold_source: str
    placement: str
    clearances: tuple[Clearance, ...] = ()  # clinicians' clearances of red flags that hold

    @property
    def last(self) -> SessionEntry | None:
        """The last programme session in which the person exercised or was stopped
        (a clinician's plan change is not a session the person did)."""
        done = [h for h in self.history if h.outcome != "plan"]
        return done[-1] if done else None


def _entry(sid: int, p: dict[str, Any], s: SessionSummary | None) -> SessionEntry:
    before = ProgrammeState.from_json(p.get("state_before"))
    after = ProgrammeState.from_json(p.get("state"))
    return SessionEntry(
        sid, s.started_at if s else "", str(p.get("outcome", "interrupted")), before.stage, after.stage,
        before.distance(DEFAULT_SETTINGS), after.distance(DEFAULT_SETTINGS),
        p.get("pain_start"), p.get("pain_after"), bool(p.get("had_pain", False)), int(p.get("sets", 0)),
        int(p.get("clean_sets", 0)), s.reps if s else 0, s.faulty_reps if s else 0,
        list(p.get("decisions", [])), p.get("next_morning"), str(p.get("set_by", "")))


def load(store: Store | None, name: str, settings: ProgrammeSettings = DEFAULT_SETTINGS) -> PersonProgramme:
    """The person's programme: state, history and the threshold that applies to them
    (a person not yet in the store starts at stage 1)."""
    person = store.person(name) if store is not None else None
    if store is None or person is None:
        th, src, placement = threshold(None, ProgrammeState())
        return PersonProgramme(name, ProgrammeState(), [], th, src, placement)
    summaries = {s.id: s for s in store.sessions(person.name)}
    extras = [(sid, ex[KEY]) for sid, ex in store.session_extras(person.name) if isinstance(ex.get(KEY), dict)]
    history = [_entry(sid, p, summaries.get(sid)) for sid, p in extras]
    if history and history[-1].outcome != "plan":
        last = history[-1]
        if last.next_morning is None:  # rated later with 'hingecoach pain ID --next-morning N'?
            rec = store.session(last.id)
            nm = [r.value for r in rec.pain if r.moment == "next_morning"]
            if nm:
                history[-1] = _replace_next_morning(last, nm[-1])
    state = ProgrammeState()
    for _, p in reversed(extras):
        if p.get("state"):
            state = ProgrammeState.from_json(p["state"])
            break
    th, src, placement = threshold(person, state, camera=_last_filmed(store, list(summaries.values())))
    return PersonProgramme(person.name, state, history, th, src, placement, tuple(store.clearances(person.name)))


@dataclass(frozen=True)
class FilmedSession:
    """The person's last session, when a camera recorded it: its id and the rounding
    threshold the camera's own criterion gave there (deg, the virtual dowel's scale)."""

    id: int
    rounding_deg: float | None


def _last_filmed(store: Store, sessions: list[SessionSummary]) -> FilmedSession | None:
    """The person's last session if a camera recorded it, else None (sensors, or none yet)."""
    if not sessions:
        return None
    last = max(sessions, key=lambda s: (s.started_at, s.id))
    rec = store.session(last.id)
    if rec.info.get("placement") != CAMERA:
        return None
    value = rec.thresholds.get("lumbar_rounding_deg")
    own = str(rec.thresholds.get("lumbar_rounding_source", "")).startswith("camera")  # not set by hand
    return FilmedSession(last.id, float(value) if own and isinstance(value, int | float) else None)


def _replace_next_morning(e: SessionEntry, value: int) -> SessionEntry:
    from dataclasses import replace

    return replace(e, next_morning=value)


def threshold(person: Person | None, state: ProgrammeState, *,
              camera: FilmedSession | None = None) -> tuple[float, str, str]:
    """The lumbar_rounding threshold the person's sessions use, where it comes from,
    and the upper sensor's placement: a clinician's value, else a share of the last
    maximum-flexion calibration, else the default for the placement. ``camera``: the
    person's last session was filmed, so the placement is the camera and, without a
    clinician's value or a calibration, the camera's own criterion applies."""
    vals = person.values() if person else {}
    placement = CAMERA if camera is not None else str(vals.get("placement") or "T12")
    entry = person.thresholds.get("lumbar_rounding_deg") if person else None
    share = float(vals.get("share_of_max", MAX_FLEXION_SHARE))
    if entry is not None:
        who = str(entry.get("set_by") or "someone")
        when = str(entry.get("set_at", ""))[:10]
        if who.startswith(CALIBRATION_SETTER) and state.max_flexion_deg is not None:
            return (float(entry["value"]), f"{share:.0%} of your maximum flexion of "
                    f"{state.max_flexion_deg:.0f}°, measured on {when}", placement)
        return float(entry["value"]), f"set by {who} on {when}", placement
    if state.max_flexion_deg is not None:
        where = f" in session {state.max_flexion_session}" if state.max_flexion_session else ""
        return (share * state.max_flexion_deg,
                f"{share:.0%} of your maximum flexion of {state.max_flexion_deg:.0f}° measured{where}",
                placement)
    if camera is not None:
        th = default_thresholds(CAMERA, share_of_max=share, camera_rounding_deg=camera.rounding_deg)
        there = (f" ({th.lumbar_rounding_deg:.0f}° in session {camera.id})" if camera.rounding_deg is not None
                 else "")
        return th.lumbar_rounding_deg, f"{CAMERA_CRITERION}, set in each clip: {CAMERA_ROUNDING_RULE}{there}", placement
    th = default_thresholds(placement, share_of_max=share)
    return th.lumbar_rounding_deg, f"the default for an upper sensor at {placement}", placement


def plan(pp: PersonProgramme, settings: ProgrammeSettings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """The next session: stage, wall distance and threshold, each with its reason."""
    st = pp.state
    stage = STAGE_BY_NUMBER[st.stage]
    d = st.distance(settings)
    cleared = {c.flag for c in pp.clearances}
    blocked = _blocked(st, pp.person, cleared)
    reason = st.reason
    if st.red_flags and set(st.red_flags) <= cleared:
        reason = (f"a clinician cleared the warning signs reported ({', '.join(st.red_flags)}); the next "
                  "screen asks whether anything changed since")
    last = pp.last
    return {
        "person": pp.person, "stage": stage.number, "stage_id": stage.id, "stage_name": stage.name,
        "exercise": stage.exercise, "wall_distance_cm": d,
        "wall_distance": fmt_distance(d) if stage.wall else "away from the wall",
        "threshold_deg": round(pp.threshold_deg, 1), "threshold_source": pp.threshold_source,
        "placement": pp.placement, "reason": reason, "rule": st.rule, "blocked": blocked,
        "screened": st.screened, "sessions": len([h for h in pp.history if h.outcome != "plan"]),
        "last_session": None if last is None else {"id": last.id, "started_at": last.started_at,
                                                   "outcome": last.outcome},
        "state": st.to_json(),
        "red_flags": [{"id": f, "urgency": FLAG_BY_ID[f].urgency} for f in st.red_flags if f in FLAG_BY_ID],
        "clearances": [c.to_json() for c in pp.clearances],
    }


def _blocked(st: ProgrammeState, person: str, cleared: set[str]) -> str | None:
    """Why the next session cannot exercise yet, by the most urgent red flag not cleared
    since (or a referral)."""
    pending = [f for f in st.red_flags if f not in cleared]
    urgency = most_urgent(pending)
    flags = ", ".join(pending)
    person = shlex.quote(person)
    if urgency == "emergency":
        return (f"no exercise: warning signs that need emergency care were reported ({flags}); the screen "
                "is asked again before any exercise")
    if urgency == "soon":
        return (f"no exercise: warning signs that a doctor should assess soon were reported ({flags}); the "
                "screen is asked again before any exercise, and a doctor who has seen the person can clear "
                f"them: hingecoach person {person} --clear-red-flag ID --set-by WHO")
    if urgency == "review":
        return (f"waiting for a doctor's review before exercise ({flags}); when they agree: hingecoach "
                f"person {person} --clear-red-flag ID --set-by WHO")
    if st.referral:
        return "before the next session: see a doctor or physical therapist (" + st.referral.rstrip(".") + ")"
    return None


def plan_lines(p: dict[str, Any]) -> list[str]:
    """``hingecoach plan`` as text."""
    where = f", {p['wall_distance']} from the wall" if p["wall_distance_cm"] is not None else ", away from the wall"
    cue = (f"  lumbar rounding cue from the camera: {p['threshold_source']}"
           if p["placement"] == CAMERA and p["threshold_source"].startswith(CAMERA_CRITERION)
           else f"  lumbar rounding cue above {p['threshold_deg']:.0f}° ({p['threshold_source']})")
    lines = [f"{p['person']}: next session at stage {p['stage']} of 4, {p['stage_name'].lower()}{where}",
             f"  why: {p['reason']}", cue]
    if p["last_session"]:
        ls = p["last_session"]
        lines.append(f"  last session: {ls['id']} on {ls['started_at'][:10]} ({ls['outcome']})")
    else:
        lines.append("  no programme session yet: the first one starts with a short safety screen")
    if p["blocked"]:
        lines.append(f"  {p['blocked']}")
    for c in p.get("clearances", []):
        note = f": {c['note']}" if c["note"] else ""
        lines.append(f"  red flag {c['flag']} cleared by {c['set_by']} on {c['cleared_at'][:10]}{note} "
                     "(the screen asks whether anything changed since)")
    return lines
