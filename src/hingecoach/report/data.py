"""Everything a report shows, gathered once from the store."""

from __future__ import annotations

from dataclasses import dataclass

from hingecoach.analysis import DISCLAIMER, Analysis
from hingecoach.store import Person, SessionRecord, SessionSummary, Store

PAIN_ADVICE = ("Pain 0-3 of 10 is usually safe, 4-5 acceptable, above 5 not acceptable: stop "
               "and check form, make the exercise easier (smaller range, the wall drill). If "
               "pain continues, or is worse the next morning, stop and see a doctor or physical "
               "therapist before trying again.")
RED_FLAGS = ("Red flags - numbness in the saddle area, new bladder or bowel trouble, "
             "progressive leg weakness, recent trauma, fever, unexplained weight loss, a "
             "history of cancer - mean no exercise and urgent medical care.")


@dataclass
class ReportData:
    """What one session's report shows: the stored record, its analysis, the person and their sessions."""

    record: SessionRecord
    analysis: Analysis
    person: Person | None
    progress: list[SessionSummary]  # the person's sessions (or this one alone)
    disclaimer: str = DISCLAIMER

    @property
    def summary(self) -> SessionSummary:
        """The session's summary row."""
        return self.record.summary


def gather(store: Store, session_id: int) -> ReportData:
    """Load everything the report of ``session_id`` shows (the person's progress, or the session alone)."""
    rec = store.session(session_id)
    a = store.load_analysis(session_id, rec)
    name = rec.summary.person
    person = store.person(name) if name else None
    progress = store.sessions(name) if name else [rec.summary]
    return ReportData(rec, a, person, progress)
