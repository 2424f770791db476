"""What the pages send: the request bodies of the JSON API and their validation.

Everything a browser sends is checked here, before it reaches the programme or the
store: names are short and printable, a live source is one of the known forms, a
replayed recording exists on this computer, and no body carries unknown fields.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from fastapi import HTTPException
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

NAME_RE = re.compile(r"[^\W_][\w .'\-]{0,63}")  # letters of any script, digits, space . ' - _
SOURCE_RE = re.compile(r"(udp:[\w.\-]+:\d{1,5}|udp:\[[0-9a-fA-F:]+\]:\d{1,5}|serial:[\w/.\-:]{1,200}|"
                       r"webcam:\d{1,2}|ble:[\w:\-]{1,64}|replay:.{1,400})")
RECORDING_SUFFIXES = (".csv", ".txt", ".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v")
SOURCE_FORMS = "udp:HOST:PORT, serial:DEV, ble:ADDRESS, webcam:N or replay:FILE"


def check_name(v: str) -> str:
    """A person's name or pseudonym (or a clinician's), stripped; ValueError if it is not one."""
    v = v.strip()
    if not NAME_RE.fullmatch(v):
        raise ValueError("a name or pseudonym: 1 to 64 letters, digits, spaces, . ' - _ (starting with a "
                         "letter or digit)")
    return v


def check_source(v: str) -> str:
    """A live source in one of ``SOURCE_FORMS``; a replay names an existing recording
    (its path expanded). ValueError otherwise."""
    v = v.strip()
    if not SOURCE_RE.fullmatch(v):
        raise ValueError(SOURCE_FORMS)
    if v.startswith("replay:"):
        p = Path(v.removeprefix("replay:")).expanduser()
        if not (p.is_dir() or (p.is_file() and p.suffix.lower() in RECORDING_SUFFIXES)):
            raise ValueError(f"replay: expected an existing recording (CSV, video or QSense folder), "
                             f"found {'no such file' if not p.exists() else p.suffix or 'a file'}")
        v = f"replay:{p}"
    return v


Name = Annotated[str, PathParam(description="a person's name or pseudonym", max_length=64)]


def person_name(name: Name) -> str:
    """The ``{name}`` of a URL, checked (a FastAPI dependency: 422 if it is no name)."""
    try:
        return check_name(name)
    except ValueError as e:
        raise HTTPException(422, f"person: {e}") from None


class StartIn(BaseModel):
    """Start today's session: who, and from which live source."""

    model_config = ConfigDict(extra="forbid")
    person: str = Field(max_length=64, description="a name or pseudonym")
    source: str = Field(max_length=500, description="udp:HOST:PORT, serial:DEV, ble:ADDRESS, webcam:N or "
                                                    "replay:FILE (a recording on this computer)")

    @field_validator("person")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name(v)

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        return check_source(v)


class AnswerIn(BaseModel):
    """The answer to the session's current prompt (its key, so a stale page cannot answer another)."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=64, pattern=r"^[a-z_.]+$", description="the prompt's key")
    value: StrictBool | StrictInt | None = Field(
        default=None, description="yes/no: true or false; pain: a whole number 0-10; info: null")


class PainIn(BaseModel):
    """Pain reported during a set, 0-10."""

    model_config = ConfigDict(extra="forbid")
    value: StrictInt = Field(ge=0, le=10, description="pain 0 (none) to 10 (worst imaginable)")


class ThresholdsIn(BaseModel):
    """What a clinician sets for a person; each value remembers who set it and when."""

    model_config = ConfigDict(extra="forbid")
    lumbar_rounding_deg: float | None = Field(default=None, ge=3, le=90, description="degrees")
    share_of_max: float | None = Field(default=None, ge=0.2, le=1.0, description="of the maximum flexion")
    too_fast_s: float | None = Field(default=None, ge=0.1, le=5.0, description="10-90 % descent, seconds")
    placement: Literal["L1", "T12", "T8", "neck"] | None = None
    exercise: Literal["hinge", "deadlift", "swing"] | None = None
    clear: list[Literal["lumbar_rounding_deg", "share_of_max", "too_fast_s", "placement", "exercise"]] = Field(
        default_factory=list, max_length=5)
    set_by: str = Field(max_length=100, description="who sets them (e.g. the clinician)")

    @field_validator("set_by")
    @classmethod
    def _who(cls, v: str) -> str:
        return check_name(v)


class PlanIn(BaseModel):
    """A clinician sets a person's next stage (and wall distance), or clears a referral."""

    model_config = ConfigDict(extra="forbid")
    stage: StrictInt = Field(ge=1, le=4)
    wall_distance_cm: float | None = Field(default=None, ge=5, le=100)
    clear_referral: StrictBool = False
    set_by: str = Field(max_length=100)
    note: str = Field(default="", max_length=500)

    @field_validator("set_by")
    @classmethod
    def _who(cls, v: str) -> str:
        return check_name(v)

    @field_validator("note")
    @classmethod
    def _note(cls, v: str) -> str:
        if any(ord(c) < 32 and c not in "\n\t" for c in v):
            raise ValueError("printable text")
        return v


class ClearanceIn(BaseModel):
    """A clinician clears a red flag for a person (or revokes the clearance): who, and why."""

    model_config = ConfigDict(extra="forbid")
    set_by: str = Field(max_length=100, description="who clears it (e.g. the clinician)")
    note: str = Field(default="", max_length=500)

    @field_validator("set_by")
    @classmethod
    def _who(cls, v: str) -> str:
        return check_name(v)
