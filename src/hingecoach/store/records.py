"""What the store gives back: plain frozen records, JSON-ready."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hingecoach.faults import RepMetrics
from hingecoach.sources.video import VIDEO_SUFFIXES

#: The session kinds in plain words, for people (the stored ``kind`` stays the id); an
#: analysed file ("offline") is named by its source in ``kind_label``.
KIND_LABELS = {"live": "live", "programme": "programme", "plan": "plan", "reanalysis": "re-analysed file"}


def kind_label(kind: str, source: str) -> str:
    """A session's kind in plain words, by where it came from: 'video file', 'webcam
    recording' or 'recorded file' for an analysed file, 'live', 'programme', 'plan'..."""
    if kind == "offline":
        src = source.strip().lower()
        if src.startswith("webcam:"):
            return "webcam recording"
        return "video file" if src.endswith(VIDEO_SUFFIXES) else "recorded file"
    return KIND_LABELS.get(kind, kind)

PAIN_MOMENTS = ("before", "after", "set", "next_morning", "during")


@dataclass(frozen=True)
class Person:
    """A person (name or pseudonym) and the thresholds a clinician set for them."""

    id: int
    name: str  # a name or a pseudonym
    # per key {"value": ..., "set_by": "...", "set_at": ISO time}: who set which threshold
    thresholds: dict[str, dict[str, Any]]
    created_at: str

    def values(self) -> dict[str, Any]:
        """The thresholds' values alone (key -> value)."""
        return {k: v["value"] for k, v in self.thresholds.items()}


@dataclass(frozen=True)
class PainRating:
    """A pain rating 0-10 at a moment of the session."""

    moment: str  # one of PAIN_MOMENTS
    value: int  # 0-10
    recorded_at: str  # ISO time (UTC)
    set_idx: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Note:
    """A free-text note on a session, with its author and time."""

    recorded_at: str
    author: str
    text: str


@dataclass(frozen=True)
class Cue:
    """A cue given during a live session (angles in degrees)."""

    t_s: float  # sample time of the sample that triggered it
    fault: str
    value_deg: float | None = None
    threshold_deg: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionEvent:
    """Something that happened during a session (``t_s``: sample time, or None)."""

    kind: str  # e.g. "gap", "sensor_dropout", "stage", "red_flags", "error"
    t_s: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetRecord:
    """A set of a guided session (start and end in sample time, seconds)."""

    idx: int
    stage: str = ""
    exercise: str = ""
    started_s: float | None = None
    ended_s: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionSummary:
    """One line of ``hingecoach sessions``."""

    id: int
    uid: str
    person: str | None
    started_at: str
    kind: str  # "offline" (analyze --save), "live", "imported"...
    source: str
    device: str
    complete: bool
    reps: int
    faulty_reps: int
    peak_lumbar_flexion_deg: float | None
    hinge_range_deg: float | None  # median peak pelvis tilt of the reps (IMUs)
    pain_before: int | None
    pain_after: int | None
    # a camera session's range of hinge: median peak hip flexion of the reps (None for IMUs)
    hip_flexion_deg: float | None = None

    @property
    def what(self) -> str:
        """The kind in plain words (``kind_label``): what the reports and the History show."""
        return kind_label(self.kind, self.source)

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict."""
        return asdict(self)


@dataclass
class SessionRecord:
    """Everything stored about one session except its sample streams."""

    summary: SessionSummary
    software_version: str
    settings: dict[str, Any]
    calibration: dict[str, Any]
    thresholds: dict[str, Any]
    info: dict[str, Any]
    warnings: list[str]
    extra: dict[str, Any]
    reps: list[RepMetrics]
    rep_sets: list[int | None]
    sets: list[SetRecord]
    cues: list[Cue]
    events: list[SessionEvent]
    pain: list[PainRating]
    notes: list[Note]
    streams: list[str]

    @property
    def id(self) -> int:
        """The session's id."""
        return self.summary.id


@dataclass(frozen=True)
class ForgetReport:
    """What ``Store.forget`` removed (counts, and bytes of recordings); ``reps`` counts
    every stored rep, ``incomplete_reps`` those of them that did not return to standing."""

    person: str
    sessions: int
    reps: int
    pain_ratings: int
    notes: int
    cues: int
    events: int
    recording_bytes: int  # sample chunks and rep stills
    stills: int = 0  # rep stills (pictures of the person) of camera sessions
    incomplete_reps: int = 0

    def describe(self) -> str:
        """One sentence for the person who asked to forget (the rep stills named when
        there were any: they are pictures of the person). Reps are counted as the report
        counts them: the complete ones, with the incomplete ones apart."""
        mb = self.recording_bytes / 1e6
        stills = f", {self.stills} rep still(s)" if self.stills else ""
        extra = f" (+{self.incomplete_reps} incomplete)" if self.incomplete_reps else ""
        return (f"removed {self.person!r}: {self.sessions} session(s), "
                f"{self.reps - self.incomplete_reps} rep(s){extra}, "
                f"{self.pain_ratings} pain rating(s), {self.notes} note(s), {self.cues} cue(s), "
                f"{self.events} event(s){stills} and {mb:.1f} MB of recordings")


@dataclass(frozen=True)
class Clearance:
    """A clinician's clearance of one red flag of the safety screen for one person."""

    id: int
    person: str
    flag: str  # a red flag's id (coach.safety.RED_FLAG_IDS)
    set_by: str  # who cleared it (a clinician's name or role)
    note: str
    cleared_at: str  # ISO time (UTC)
    revoked_at: str | None = None  # None while the clearance holds
    revoked_by: str = ""
    revoke_reason: str = ""

    @property
    def active(self) -> bool:
        """True while the clearance holds (not revoked)."""
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        """Every field, plus ``active``, as JSON-ready values."""
        return asdict(self) | {"active": self.active}
