"""Plain-language explanations of the form faults, from the common mistakes a teacher
looks for (docs/references.md#hinge-faults; the fixes use the dowel check and the wall
drill, docs/references.md#dowel-check and #wall-drill).

Keyed by fault id; a fault this table does not know (a newer rule) is still listed,
with its id, so a report never hides a fault.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Explanation:
    """One fault in plain language: the mistake, why it matters, and what to do instead."""

    mistake: str  # the common mistake, as it is taught
    why: str  # what it means and why it matters
    fix: str  # what to do instead


EXPLANATIONS: dict[str, Explanation] = {
    "lumbar_rounding": Explanation(
        "Rounding the lower back (lumbar flexion)",
        "The lower back bent forward during the hinge instead of staying in its neutral "
        "shape. Rounding the lower back under load is what people with back pain are "
        "taught to avoid.",
        "Push the hips back and let the torso tip forward as one piece; stop the bend "
        "where the back would start to round (a dowel along the back keeps touching the "
        "head, the upper back and the sacrum)."),
    "top_overextension": Explanation(
        "Over-extending the lower back at the top (leaning back)",
        "At the end of the rep the lower back arched backwards beyond the neutral standing "
        "posture.",
        "Finish tall: drive the hips forward and squeeze the glutes, ribs down, without "
        "leaning back."),
    "too_fast": Explanation(
        "Moving too fast to control",
        "The descent took well under a second, too fast to feel and control the position "
        "of the back.",
        "Lower with control, about two seconds down; speed comes later, once the pattern "
        "is solid."),
    "shallow_hinge": Explanation(
        "Too little hinge (hips barely move back)",
        "Most of the bend came from the back rather than from the hips: the pelvis hardly "
        "tipped forward.",
        "Start each rep by pushing the hips back, as if closing a car door with them; the "
        "wall drill (hinge until the buttocks touch a wall a few inches behind) teaches it."),
    "squatting": Explanation(
        "Squatting instead of hinging",
        "The knees travelled forward, the hips dropped and the torso stayed upright: a "
        "squat, not a hinge.",
        "Keep the shins nearly vertical and the knees soft; send the hips back rather than "
        "down."),
    "neck_craning": Explanation(
        "Craning the neck to look up",
        "The head tipped back to look ahead, taking the neck out of line with the spine.",
        "Keep the gaze a little ahead on the floor, the back of the head in line with the "
        "upper back (the dowel keeps touching the head)."),
    "upper_back_bending": Explanation(
        "Bending from the upper back",
        "The upper back rounded instead of the body tipping forward from the hips.",
        "Keep the chest open and the shoulder blades gently set; bend at the hips."),
}


def explain(fault: str) -> Explanation:
    """The explanation of ``fault`` (a fault id); an unknown id gets a generic one with its name."""
    return EXPLANATIONS.get(fault, Explanation(fault.replace("_", " ").capitalize(),
                                               "A form fault found by a newer rule.", ""))
