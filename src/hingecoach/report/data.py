"""Everything a report shows, gathered once from the store."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hingecoach.analysis import DISCLAIMER, Analysis
from hingecoach.core.stills import RepStill
from hingecoach.report.wording import (
    HingeRange,
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
    hinge: HingeRange  # the session's range of hinge, measured as its source allows
    disclaimer: str = DISCLAIMER
    clearances: tuple[Clearance, ...] = ()  # the person's red-flag clearances, revoked ones too
    stills: tuple[RepStill, ...] = ()  # a camera session's rep stills, in rep order
    person_share: float | None = None  # a camera's standing person, nose to feet, over the frame height
    # whether progress rows of the other source (camera or sensors) were left blank
    other_source_blank: bool = False

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
    def hinge_measure(self) -> str:
        """How the progress rows' hinge_range_deg was measured (a camera report shows its own)."""
        return self.hinge.measure

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
    # a camera session is known by its stored hip flexion; the back and the hinge of the
    # other source's sessions are other measures, left blank rather than drawn on one axis
    filmed = {g.id for g in progress if g.hip_flexion_deg is not None}
    if not is_camera(a):
        rows = [replace(g, peak_lumbar_flexion_deg=None) if g.id in filmed else g for g in progress]
        return ReportData(rec, a, person, rows, hinge_range(a, rec.summary.hinge_range_deg),
                          clearances=clearances, stills=stills, other_source_blank=bool(filmed))
    hinge = hinge_range(a, None)
    filmed.add(session_id)
    rows = [replace(g, hinge_range_deg=hinge.value) if g.id == session_id
            else replace(g, hinge_range_deg=g.hip_flexion_deg) if g.id in filmed
            else replace(g, hinge_range_deg=None, peak_lumbar_flexion_deg=None) for g in progress]
    share = person_share(store.stream(session_id, "landmarks"), a.info.get("calibration_window_s"))
    return ReportData(rec, a, person, rows, hinge, clearances=clearances,
                      person_share=share, stills=stills, other_source_blank=len(filmed) < len(progress))

