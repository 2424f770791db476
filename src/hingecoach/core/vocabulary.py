"""The words the package shares: exercises, sensor placements, input formats, fusion modes
and the names of the analysis settings, written once.

The command line, the web app, the store and the live session take their choices from
here, so a new exercise or placement is added in one place.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Exercise(StrEnum):
    """What the person does; ``swing`` is ballistic, so the too_fast rule is off for it."""

    hinge = "hinge"
    deadlift = "deadlift"
    swing = "swing"


EXERCISES: Final = tuple(e.value for e in Exercise)
DEFAULT_EXERCISE: Final = Exercise.hinge.value


class InputFormat(StrEnum):
    """The ``--format`` choices of a recording (``auto`` detects it from the file)."""

    auto = "auto"
    hingecoach = "hingecoach"
    spinewise = "spinewise"
    qsense = "qsense"
    movella = "movella"
    movesense = "movesense"
    metamotion = "metamotion"
    phyphox = "phyphox"
    sensorlogger = "sensorlogger"
    video = "video"


INPUT_FORMATS: Final = tuple(f.value for f in InputFormat)
VIDEO_FORMAT: Final = InputFormat.video.value
WEBCAM_FORMAT: Final = "webcam"  # the recording format of a camera analysis from ``webcam:N``


def live_format(kind: str) -> str:
    """The recording format of a live session from a source of ``kind`` (udp, serial, ...)."""
    return f"live-{kind}"


class PoseModelName(StrEnum):
    """``--pose-model``: the BlazePose landmark model (lite fastest, heavy most accurate)."""

    lite = "lite"
    full = "full"
    heavy = "heavy"


class Fusion(StrEnum):
    """Sensor fusion: 6-axis (accelerometer and gyroscope) or 9-axis (with magnetometer)."""

    six = "6axis"
    nine = "9axis"


def fusion_name(magnetometer: bool) -> str:
    """``9axis`` when the magnetometers are used, else ``6axis``."""
    return (Fusion.nine if magnetometer else Fusion.six).value


#: Where the upper sensor sits (or the camera), and what the upper-minus-lower angle spans.
PLACEMENTS: Final = {
    "L1": "upper sensor at L1/T12: the angle is lumbar flexion",
    "T12": "upper sensor at T12/L1: the angle is lumbar flexion",
    "T8": "upper sensor at T8: the angle spans the lumbar and lower thoracic spine",
    "neck": "upper sensor at the neck (C7): the angle spans the whole spine",
    "camera": "side-view camera: the back's bow from the hips to the shoulders (virtual dowel)",
}
CAMERA: Final = "camera"
IMU_PLACEMENTS: Final = tuple(p for p in PLACEMENTS if p != CAMERA)
DEFAULT_PLACEMENT: Final = "T12"  # what a recording that names none is taken to be
_PLACEMENT_ALIASES: Final = {"L1": "L1", "T12": "T12", "L1/T12": "T12", "T12/L1": "T12", "T8": "T8",
                             "NECK": "neck", "C7": "neck"}


def normalise_placement(value: str) -> str:
    """Map user spellings (``t12``, ``L1/T12``, ``c7``) to a key of PLACEMENTS."""
    v = value.strip().upper().replace(" ", "")
    if v not in _PLACEMENT_ALIASES:
        from hingecoach.core.errors import ParameterError

        raise ParameterError("placement", "one of L1, T12, T8, neck", value)
    return _PLACEMENT_ALIASES[v]


#: The names of the analysis settings a person, a clinician or the command line sets (the
#: keys of stored thresholds and of ``AnalysisSettings``); each member's value is its name.
Setting = StrEnum("Setting", "placement exercise share_of_max lumbar_rounding_deg too_fast_s")


SETTING_NAMES: Final = tuple(s.value for s in Setting)


#: Each form fault's short name for people, by fault id: what the reports and the rep
#: stills show (JSON and the command line's rep table keep the ids, which are stable).
#: The explanations in ``report.explain`` spell each one out.
FAULT_LABELS: Final = {
    "lumbar_rounding": "lower back rounded",
    "top_overextension": "leaned back at the top",
    "too_fast": "too fast",
    "shallow_hinge": "too little hip hinge",
    "squatting": "squatted",
    "neck_craning": "neck craned",
}


def fault_label(fault: str) -> str:
    """The short name of ``fault`` (a fault id) for people; an id without one (a newer
    rule) is shown with spaces for its underscores, so a report never hides a fault."""
    return FAULT_LABELS.get(fault, fault.replace("_", " "))


def fault_labels(faults: tuple[str, ...] | list[str]) -> str:
    """``faults`` (ids) as their short names, comma-separated."""
    return ", ".join(fault_label(f) for f in faults)
