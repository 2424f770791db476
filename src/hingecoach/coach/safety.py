"""The safety side of the programme: the red-flag screen and the pain-monitoring model.

Each red flag carries its urgency: ``emergency`` (care now, asked at every screen, never
cleared), ``soon`` (a medical assessment soon) or ``review`` (a doctor's review before
an exercise programme, not an emergency). A clinician may clear a ``soon`` or ``review``
flag for a person; the screen then asks whether anything changed since instead.
Wording is exercise guidance, never a diagnosis: what to do and how soon, nothing more.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from hingecoach.core.errors import ParameterError

Urgency = Literal["emergency", "soon", "review"]

#: The urgencies, most urgent first (docs/references.md#red-flag-urgency).
URGENCIES: Final[tuple[Urgency, ...]] = ("emergency", "soon", "review")

DISCLAIMER_LINE: Final = "hingecoach gives exercise guidance, not a diagnosis."


@dataclass(frozen=True)
class RedFlag:
    """One question of the red-flag screen, how urgent a yes is, what the person is told
    and where that comes from (docs/references.md#red-flag-urgency)."""

    id: str  # the key in a --script file and in the stored screen
    question: str
    urgency: Urgency
    message: str  # what to do and how soon; nothing diagnostic
    source: str  # the references the urgency rests on (anchors in docs/references.md)

    @property
    def clearable(self) -> bool:
        """False for emergency flags: they are asked at every screen, whatever was cleared."""
        return self.urgency != "emergency"


_EMERGENCY_SRC = "docs/references.md#red-flag-urgency (NICE NG59 2016/2020; Finucane et al. 2020; GIRFT 2023)"
_SOON_SRC = "docs/references.md#red-flag-urgency (NICE NG59 2016/2020; Finucane et al. 2020; Downie et al. 2013)"
_REVIEW_SRC = "docs/references.md#red-flag-urgency (Finucane et al. 2020; Henschke et al. 2013; Downie et al. 2013)"

_EMERGENCY_DO = ("Do not do these exercises. Get emergency medical care now: go to an emergency department "
                 "or call your local emergency number, and say what you noticed.")
_SOON_DO = ("Do not do these exercises for now. Contact a doctor within the next day to have it assessed "
            "(sooner, at urgent care, if it is getting worse or you feel very unwell). When a doctor has "
            "seen you, they can clear it in hingecoach and the programme goes on.")

#: The red flags of back pain, each with its urgency, message and source
#: (docs/references.md#red-flags and #red-flag-urgency): signs that need emergency care
#: now (saddle numbness, new bladder or bowel trouble, progressive leg weakness), signs
#: that need a medical assessment soon (trauma, fever or unexplained weight loss), and a
#: history that needs a doctor's review before an exercise programme (cancer).
RED_FLAGS: Final = (
    RedFlag("saddle_numbness", "Do you have numbness or tingling around the genitals, buttocks or "
                               "inner thighs (the saddle area)?", "emergency",
            "Numbness or tingling in the saddle area needs a doctor to check it straight away. "
            + _EMERGENCY_DO, _EMERGENCY_SRC),
    RedFlag("bladder_bowel", "Do you have new trouble controlling or emptying your bladder or bowel?", "emergency",
            "New trouble with your bladder or bowel, together with back pain, needs a doctor to check it "
            "straight away. " + _EMERGENCY_DO, _EMERGENCY_SRC),
    RedFlag("leg_weakness", "Is one or both of your legs getting weaker (progressive weakness)?", "emergency",
            "Legs that are getting weaker need a doctor to check them straight away. " + _EMERGENCY_DO,
            _EMERGENCY_SRC),
    RedFlag("recent_trauma", "Did your back pain start after a recent fall, accident or blow?", "soon",
            "Back pain that started after a fall, accident or blow should be checked by a doctor before you "
            "exercise. " + _SOON_DO, _SOON_SRC),
    RedFlag("fever_weight_loss", "Do you have a fever, or have you lost weight without trying?", "soon",
            "A fever, or weight lost without trying, together with back pain should be checked by a doctor. "
            + _SOON_DO, _SOON_SRC),
    RedFlag("cancer_history", "Have you ever had cancer?", "review",
            "Because you have had cancer, a doctor should look at your back pain before you start an "
            "exercise programme. This is not urgent: book an ordinary appointment with your doctor. When "
            "they agree that you can exercise, they (or you, on their word) record it in hingecoach, and "
            "the programme starts.", _REVIEW_SRC),
)
RED_FLAG_IDS: Final = tuple(f.id for f in RED_FLAGS)
FLAG_BY_ID: Final = {f.id: f for f in RED_FLAGS}

#: The screen's question for a person whose clinician cleared a flag; a yes counts as
#: every cleared flag again (their clearances are revoked).
CHANGED_SINCE_CLEARANCE: Final = "changed_since_clearance"
CHANGED_QUESTION: Final = "Since your doctor cleared you, has anything new or worse appeared?"

#: What a session that ends on the screen says first, by the most urgent flag answered yes.
HEADLINES: Final[dict[Urgency, str]] = {
    "emergency": "You answered yes to a warning sign that needs emergency care now.",
    "soon": "You answered yes to a warning sign that a doctor should assess soon.",
    "review": "Before you start the exercises, a doctor should review your back pain.",
}
URGENT_CARE: Final = HEADLINES["emergency"]  # kept for callers that name the old constant
SEE_CLINICIAN: Final = ("Please see a doctor or physical therapist before you continue the programme; "
                        "when they agree you can go on, hingecoach picks up at an easier stage.")


def check_flag(flag: str, *, clearing: bool = True) -> RedFlag:
    """The red flag called ``flag``; a ParameterError (with a "did you mean") for an
    unknown id, or, when ``clearing``, for an emergency flag (those cannot be cleared)."""
    f = FLAG_BY_ID.get(flag)
    if f is None:
        close = difflib.get_close_matches(flag, RED_FLAG_IDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ParameterError("red flag", f"one of {', '.join(RED_FLAG_IDS)}{hint}", flag)
    if clearing and not f.clearable:
        clearable = ", ".join(x.id for x in RED_FLAGS if x.clearable)
        raise ParameterError("red flag", f"a flag that can be cleared ({clearable}); {flag} is an emergency "
                             "sign, asked at every screen", flag)
    return f


def most_urgent(flags: Iterable[str]) -> Urgency | None:
    """The most urgent urgency among the flag ids (None when there are none)."""
    have = {FLAG_BY_ID[f].urgency for f in flags if f in FLAG_BY_ID}
    return next((u for u in URGENCIES if u in have), None)


def screen_message(flags: Iterable[str]) -> str:
    """What a session that ends on the screen says: the headline of the most urgent flag,
    then each flag's own message, most urgent first, then the disclaimer."""
    ids = [f for f in dict.fromkeys(flags) if f in FLAG_BY_ID]
    urgency = most_urgent(ids)
    if urgency is None:
        return ""
    ordered = sorted(ids, key=lambda f: URGENCIES.index(FLAG_BY_ID[f].urgency))
    messages = list(dict.fromkeys(FLAG_BY_ID[f].message for f in ordered))
    return " ".join([HEADLINES[urgency], *messages, DISCLAIMER_LINE])


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
