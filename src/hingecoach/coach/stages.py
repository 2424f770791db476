"""The four stages of the hinge programme, the set-up for each source and the
calibration, as the person reads them.

The wall drill follows the way the hinge is taught (docs/references.md#wall-drill): back
to a wall a few inches away, hinge until the buttocks touch it; after a clean set step
out an inch or two; once the hinge works away from the wall, hinge free-standing; only
after clean sets without pain, add a load (a kettlebell deadlift). The set-up posture is
the dowel check (docs/references.md#dowel-check).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CM_PER_INCH: Final = 2.54


@dataclass(frozen=True)
class ProgrammeSettings:
    """The programme's numbers, in one place (a clinician may prepare a different plan
    through the stage and distance, not through these)."""

    set_reps: int = 5  # reps in a set; a step counts as mastered after a whole set without a fault
    start_distance_cm: float = 10.0  # "a few inches" from the wall: 4 in
    step_cm: float = 4.0  # "an inch or two" further after each clean set: 1.5 in
    free_standing_cm: float = 30.0  # a foot from the wall the buttocks no longer reach it
    clean_sets_to_load: int = 2  # clean, pain-free sets free-standing before a load
    faulty_reps_in_set: int = 3  # a set is "mostly faulty" from this many faulty reps
    faulty_sets_to_step_back: int = 2  # mostly faulty sets in a row before a step back
    pain_rise: int = 2  # this many points above the session's start: stop the set
    max_sets: int = 8  # sets per session at most (fatigue hides form)


DEFAULT_SETTINGS: Final = ProgrammeSettings()


@dataclass(frozen=True)
class Stage:
    """One stage of the programme: number, id, name, the exercise its reps are judged as,
    whether at the wall, instructions and cues."""


    number: int
    id: str
    name: str
    exercise: str  # a hingecoach.faults exercise: how reps are judged
    wall: bool
    instructions: tuple[str, ...]
    cues: tuple[str, ...]  # what to listen for (the cues that fit this stage)


SETUP_POSTURE = ("Feet about hip width, knees soft (slightly bent), weight over the middle of the feet.",
                 "Hold a dowel (a broom handle) along your back: it touches the back of your head, "
                 "between your shoulder blades and your sacrum; one hand at the neck, one at the "
                 "small of the back.")

STAGES: Final = (
    Stage(1, "wall_drill", "Dowel hinge at the wall", "hinge", True, (
        "Stand with your back to a wall, heels {distance} from it.", *SETUP_POSTURE,
        "Push your hips back until your buttocks touch the wall, keeping all three dowel contacts; "
        "the torso tips forward as one piece, shins nearly vertical.",
        "Come back up by driving the hips forward and squeezing the glutes; finish tall, "
        "without leaning back."),
        ("keep your back flat", "push your hips back", "finish tall")),
    Stage(2, "wall_step_out", "Dowel hinge, stepping out from the wall", "hinge", True, (
        "The same hinge, heels now {distance} from the wall.", *SETUP_POSTURE,
        "Reach back with the hips until your buttocks touch the wall; keep the three dowel contacts.",
        "Each clean set of 5 moves you an inch or two further out."),
        ("keep your back flat", "push your hips back", "finish tall")),
    Stage(3, "free_standing", "Free-standing dowel hinge", "hinge", False, (
        "Away from the wall now.", *SETUP_POSTURE,
        "Push the hips back until you feel a stretch behind the thighs or a dowel contact is "
        "about to be lost; then drive the hips forward and stand tall.",
        "About two seconds down, controlled."),
        ("keep your back flat", "push your hips back", "slow down", "finish tall")),
    Stage(4, "kettlebell_deadlift", "Kettlebell deadlift (loaded hinge)", "deadlift", False, (
        "A light kettlebell on the floor between your feet.",
        "Feet about hip width, knees soft; hinge at the hips with a flat back to grip the handle.",
        "Stand up by driving the hips forward, the bell close to you; finish tall without leaning "
        "back, then lower it with the same hinge.",
        "Start light; the weight goes up only when every set is clean and pain-free."),
        ("keep your back flat", "push your hips back", "finish tall", "slow down")),
)
STAGE_BY_NUMBER: Final = {s.number: s for s in STAGES}


def fmt_distance(cm: float | None) -> str:
    """'14 cm (5.5 in)': the wall distance in both units (people measure in either)."""
    if cm is None:
        return "away from the wall"
    return f"{cm:.0f} cm ({cm / CM_PER_INCH:.1f} in)"


def stage_text(number: int, distance_cm: float | None) -> tuple[str, list[str]]:
    """The stage's title and its instructions with the wall distance filled in."""
    st = STAGE_BY_NUMBER[number]
    where = f" at {fmt_distance(distance_cm)}" if st.wall and distance_cm is not None else ""
    lines = [s.replace("{distance}", fmt_distance(distance_cm)) for s in st.instructions]
    lines.append("Cues you may hear: " + ", ".join(f'"{c}"' for c in st.cues) + ".")
    return f"Stage {st.number} of {len(STAGES)}: {st.name}{where}", lines


# -- set-up per source --------------------------------------------------------------------
IMU_SETUP: Final = (
    "Two sensors on your back, skin-tight (elastic belt or tape), switched on:",
    "- the lower one flat on the sacrum (the flat bone at the base of the spine, between the dimples "
    "above the buttocks);",
    "- the upper one on the spine at the bottom of the ribs (L1/T12, about a hand's width above the "
    "waist); if it can only go higher (T8, between the shoulder blades) tell your clinician: the "
    "thresholds differ.",
    "Any orientation works, but they must not slide: tighten the belt and check by bending once.",
)
CAMERA_SETUP: Final = (
    "The camera sees you from the side (your left or right side facing it), not from the front.",
    "Your whole body in the frame, head to feet, with some room above the head and below the feet.",
    "About 2.5-3 m (8-10 ft) away, the camera at hip height (a chair or a shelf), level, not tilted.",
    "Light on you, not behind you; fitted clothes so the back's shape shows; nothing between you and "
    "the camera.",
)
NEUTRAL_CALIBRATION: Final = (
    "Neutral calibration: stand tall and still for 3 seconds, as with the dowel touching your head, "
    "upper back and sacrum; arms relaxed. This sets your zero.",
)
MAX_FLEXION_CALIBRATION: Final = (
    "Maximum-flexion calibration (optional): after standing still, bend forward slowly as far as is "
    "comfortable, letting your back round, arms hanging; then come back up slowly and stand still "
    "again. Stop before it hurts. Your personal threshold becomes a share (60 %) of this bend.",
)


def setup_text(kind: str) -> list[str]:
    """Set-up instructions for 'imu' or 'camera'."""
    return list(CAMERA_SETUP if kind == "camera" else IMU_SETUP)
