"""The guided hinge programme: safety screen, set-up, calibration, the four stages
(the wall drill, stepping out, free-standing, the kettlebell deadlift), progression and
regression as a table of rules, and the pain rule.

``ProgrammeSession(store, person).run()`` is the session as a dialogue of prompts;
``drive`` runs it from the keyboard or a script (``hingecoach train``); the web app
drives the same dialogue. ``history.load`` and ``history.plan`` tell where a person is
(``hingecoach plan``). ``screen`` decides which red-flag questions a session asks and
records a clinician's clearance (``clear_red_flag``). Exercise guidance, not a diagnosis.
"""

from hingecoach.coach.history import PersonProgramme, load, plan, plan_lines
from hingecoach.coach.rules import (
    ALL_RULES,
    END_RULES,
    SET_RULES,
    START_RULES,
    Change,
    Decision,
    ProgrammeState,
    Rule,
    SetOutcome,
    Stop,
)
from hingecoach.coach.safety import RED_FLAGS, pain_zone
from hingecoach.coach.screen import clear_red_flag, unclear_red_flag
from hingecoach.coach.session import Calibration, Outcome, ProgrammeSession, Prompt, SetRun, record_plan
from hingecoach.coach.stages import DEFAULT_SETTINGS, STAGES, ProgrammeSettings

__all__ = [
    "ALL_RULES",
    "DEFAULT_SETTINGS",
    "END_RULES",
    "RED_FLAGS",
    "SET_RULES",
    "STAGES",
    "START_RULES",
    "Calibration",
    "Change",
    "Decision",
    "Outcome",
    "PersonProgramme",
    "ProgrammeSession",
    "ProgrammeSettings",
    "ProgrammeState",
    "Prompt",
    "Rule",
    "SetOutcome",
    "SetRun",
    "Stop",
    "clear_red_flag",
    "load",
    "pain_zone",
    "plan",
    "plan_lines",
    "record_plan",
    "unclear_red_flag",
]
