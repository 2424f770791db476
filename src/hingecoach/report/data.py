"""Everything a report shows, gathered once from the store."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hingecoach.analysis import DISCLAIMER, Analysis
from hingecoach.core.stills import RepStill
from hingecoach.core.vocabulary import CAMERA
from hingecoach.report.wording import (
    HingeRange,
    camera_hinge_deg,
    hinge_range,
    is_camera,
    person_share,
    source_sentence,
)
from hingecoach.store import Clearance, Person, SessionRecord, SessionSummary, Store

PAIN_ADVICE = ("Pain 0-3 of 10 is usually safe, 4-5 acceptable, above 5 not acceptable: stop "
               "and check form, make the exercise easier (smaller range, the wall drill). If "
               "pain continues, or is worse the next morning, stop and see a doctor or physical "
               "therapist before trying again.")
# docs/references.md#red-flag-urgency: each warning sign with its urgency
RED_FLAGS = ("Red flags mean no exercise until they are dealt with: numbness in the saddle area, "
             "new bladder or bowel trouble or progressive leg weakness need emergency care now; "
             "back pain after a fall, accident or blow, a fever or unexplained weight loss need a "
             "doctor's assessment soon; a history of cancer needs a doctor's review before an "
             "exercise programme.")


@dataclass
class ReportData:
    """What one session's report shows: the stored record, its analysis, the person and their sessions."""

    record: SessionRecord
    analysis: Analysis
    person: Person | None
    progress: list[SessionSummary]  # the person's sessions (or this one alone)
    disclaimer: str = DISCLAIMER
    clearances: tuple[Clearance, ...] = ()  # the person's red-flag clearances, revoked ones too
    stills: tuple[RepStill, ...] = ()  # a camera session's rep stills, in rep order
    # how the progress rows' hinge_range_deg was measured (a camera report shows its own)
    hinge_measure: str = "median peak pelvis tilt"
    person_share: float | None = None  # a camera's standing person, nose to feet, over the frame height

    def clearance_lines(self) -> list[str]:
        """One sentence per red-flag clearance: who cleared which flag when, and whether it holds."""
        out = []
        for c in self.clearances:
            note = f" ({c.note})" if c.note else ""
            state = "holds" if c.active else (f"revoked on {(c.revoked_at or '')[:10]} by {c.revoked_by}"
                                              + (f": {c.revoke_reason}" if c.revoke_reason else ""))
            out.append(f"Red flag {c.flag} cleared by {c.set_by} on {c.cleared_at[:10]}{note}; {state}.")
        return out

    @property
    def summary(self) -> SessionSummary:
        """The session's summary row."""
        return self.record.summary

    @property
    def hinge(self) -> HingeRange:
        """The session's range of hinge, measured as its source allows."""
        return hinge_range(self.analysis, self.summary.hinge_range_deg)

    def source_sentence(self) -> str:
        """What recorded the session, in the source's own words (camera or sensors)."""
        return source_sentence(self.analysis, self.record.settings,
                               self.record.extra.get("camera_verdict", {}).get("verdict"), self.person_share)


def gather(store: Store, session_id: int) -> ReportData:
    """Load everything the report of ``session_id`` shows (the person's progress, or the session alone)."""
    rec = store.session(session_id)
    a = store.load_analysis(session_id, rec)
    name = rec.summary.person
    person = store.person(name) if name else None
    progress = store.sessions(name) if name else [rec.summary]
    clearances = tuple(store.clearances(name, active_only=False)) if name else ()
    stills = tuple(store.stills(session_id))
    if not is_camera(a):
        return ReportData(rec, a, person, progress, clearances=clearances, stills=stills)
    hinge = hinge_range(a, None)
    rows = [replace(g, hinge_range_deg=hinge.value) if g.id == session_id else _camera_hinge(store, g)
            for g in progress]
    share = person_share(store.stream(session_id, "landmarks"), a.info.get("calibration_window_s"))
    return ReportData(rec, a, person, rows, clearances=clearances, hinge_measure=hinge.measure,
                      person_share=share, stills=stills)


def _camera_hinge(store: Store, s: SessionSummary) -> SessionSummary:
    """``s`` with the range of hinge a camera measures (median peak hip flexion) for a
    camera session, None for a session of another source (its pelvis tilt is another
    measure, not drawn on the same axis)."""
    rec = store.session(s.id)
    value = camera_hinge_deg(store.load_analysis(s.id, rec)) if rec.info.get("placement") == CAMERA else None
    return replace(s, hinge_range_deg=value)
