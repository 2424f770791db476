"""The safety side of the programme: the red-flag screen and the pain-monitoring model.

Wording is exercise guidance, never a diagnosis: a red flag or persisting pain leads to
"see a doctor or physical therapist", nothing more specific.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hingecoach.core.errors import ParameterError


@dataclass(frozen=True)
class RedFlag:
    """One question of the red-flag screen (docs/references.md#red-flags)."""

    id: str  # the key in a --script file and in the stored screen
    question: str


#: The red flags of back pain that rule out exercise and call for urgent medical care
#: (docs/references.md#red-flags, from the usual clinical screens: cauda equina signs,
#: progressive neurological deficit, trauma, signs of infection or malignancy).
RED_FLAGS: Final = (
    RedFlag("saddle_numbness", "Do you have numbness or tingling around the genitals, buttocks or "
                               "inner thighs (the saddle area)?"),
    RedFlag("bladder_bowel", "Do you have new trouble controlling or emptying your bladder or bowel?"),
    RedFlag("leg_weakness", "Is one or both of your legs getting weaker (progressive weakness)?"),
    RedFlag("recent_trauma", "Did your back pain start after a recent fall, accident or blow?"),
    RedFlag("fever_weight_loss", "Do you have a fever, or have you lost weight without trying?"),
    RedFlag("cancer_history", "Have you ever had cancer?"),
)
RED_FLAG_IDS: Final = tuple(f.id for f in RED_FLAGS)

URGENT_CARE: Final = ("You answered yes to a warning sign. Do not do these exercises: contact a doctor "
                      "today (urgent care or an emergency department if it is new or getting worse). "
                      "hingecoach gives exercise guidance, not a diagnosis.")
SEE_CLINICIAN: Final = ("Please see a doctor or physical therapist before you continue the programme; "
                        "when they agree you can go on, hingecoach picks up at an easier stage.")

# The pain-monitoring model (docs/references.md#pain-monitoring): 0-3 of 10 safe, 4-5
# acceptable, above 5 not acceptable; worse the next morning means reduce.
PAIN_SAFE_MAX: Final = 3
PAIN_ACCEPTABLE_MAX: Final = 5
PAIN_ZONES: Final = {
    "safe": "0-3 of 10: safe, carry on",
    "acceptable": "4-5 of 10: acceptable, but do not make the exercise harder",
    "not_acceptable": "above 5 of 10: not acceptable, stop and make it easier",
}


def check_pain(value: object, what: str = "pain") -> int:
    """A pain rating: a whole number 0-10 (a bool or 4.5 is refused, not rounded)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ParameterError(what, "a whole number from 0 to 10", value)
    return value


def pain_zone(value: int) -> str:
    """'safe' (0-3), 'acceptable' (4-5) or 'not_acceptable' (6-10)."""
    v = check_pain(value)
    if v <= PAIN_SAFE_MAX:
        return "safe"
    return "acceptable" if v <= PAIN_ACCEPTABLE_MAX else "not_acceptable"
