"""The cue engine: tells the person at the moment a fault happens, once.

Each live rule watches one value per sample (lumbar flexion, extension at the top, the
neck) against the same threshold as the fault rule of the same name in
``hingecoach.faults`` (so a cue and the rep's verdict agree), with:

- a minimum duration: the value must stay beyond the threshold for ``min_duration_s``
  before the cue fires, so a single noisy sample cannot trigger it;
- hysteresis: after a cue the rule is re-armed only once the value has come back below
  the threshold minus ``hysteresis_deg`` and stayed there for ``rearm_s``; one rounding
  gives one cue, a value hovering at the threshold gives no chatter.

Rules that need a whole rep (too fast, squatting, the lumbar share of the bend) are
judged when the rep ends and reported with it, not cued here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hingecoach.faults import MESSAGES, Thresholds
from hingecoach.reps import RepSettings

# Defaults and where they come from:
#  - min_duration_s 0.1: 10 samples at 100 Hz, 2-3 at 25 Hz: one noisy sample cannot
#    fire a cue, and it is short against a person's ~0.2 s reaction time and the
#    0.5-1 s a hinge spends near its bottom.
#  - hysteresis_deg 5: IMU lumbar angles err by 1.3-1.8 deg RMSE at best and 5-11 deg in
#    other studies (docs/references.md#imu-accuracy); a value must fall clearly back
#    before a second cue.
#  - rearm_s 0.5: the back must stay corrected for half a second; a flicker back over
#    the line during one bend is the same rounding.
#  - top_window_s 1.5: the top of a rep is judged over 1.5 s after it, as in
#    faults.rep_metrics (top_window_s); extension there is measured from the same
#    reference as the top_overextension fault (the standing posture in the 0.5 s before
#    the rep when that is more extended than the calibrated zero), which the caller
#    passes with ``open_top`` when the rep ends.
LIVE_RULES_DEFAULT = ("lumbar_rounding", "top_overextension", "neck_craning")


@dataclass(frozen=True)
class CueSettings:
    """Cue engine settings: live rules, minimum duration (s), hysteresis (deg), re-arm time (s), top window (s)."""

    rules: tuple[str, ...] = LIVE_RULES_DEFAULT
    min_duration_s: float = 0.1
    hysteresis_deg: float = 5.0
    rearm_s: float = 0.5
    top_window_s: float = 1.5


#: Short phrases to speak (the full advice is in ``faults.MESSAGES``).
PHRASES = {
    "lumbar_rounding": "Keep your back flat.",
    "top_overextension": "Finish tall, don't lean back.",
    "neck_craning": "Keep your head in line with your back.",
    "too_fast": "Slower on the way down.",
    "shallow_hinge": "Push your hips back.",
    "squatting": "Push your hips back, shins vertical.",
}


@dataclass
class Context:
    """What the rules look at, updated every sample."""

    t: float = 0.0
    values: Mapping[str, float] | None = None
    in_bend: bool = False
    top_until_s: float = -math.inf  # the top of the last rep lasts until then
    reference_lumbar_deg: float = 0.0  # the standing posture before the last rep (<= 0)

    def get(self, name: str) -> float:
        """The current value of channel ``name`` (degrees), NaN when it is missing."""
        v = (self.values or {}).get(name, math.nan)
        return float(v)


@dataclass(frozen=True)
class LiveRule:
    """A fault watched sample by sample: its threshold (deg, from Thresholds; None: off) and its value."""

    fault: str
    threshold: Callable[[Thresholds], float | None]
    value: Callable[[Context, CueSettings], float | None]  # None: the rule does not apply now


def _top_extension(c: Context, s: CueSettings) -> float | None:
    if c.in_bend or c.t > c.top_until_s:
        return None
    return c.reference_lumbar_deg - c.get("lumbar_flexion_deg")


def _neck_extension(c: Context, s: CueSettings) -> float | None:
    return -c.get("neck_flexion_deg") if c.in_bend else None


LIVE_RULES: dict[str, LiveRule] = {r.fault: r for r in (
    LiveRule("lumbar_rounding", lambda th: th.lumbar_rounding_deg,
             lambda c, s: c.get("lumbar_flexion_deg")),
    LiveRule("top_overextension", lambda th: th.top_overextension_deg, _top_extension),
    LiveRule("neck_craning", lambda th: th.neck_extension_deg, _neck_extension),
)}


@dataclass(frozen=True)
class Cue:
    """One cue fired by the engine: the fault, the sample time (s), the value and threshold (deg)."""

    fault: str
    sample_time_s: float  # the sample that fired it (the sender's clock)
    value_deg: float
    threshold_deg: float

    @property
    def message(self) -> str:
        """The fault's full advice (``faults.MESSAGES``), or its id."""
        return MESSAGES.get(self.fault, self.fault)

    @property
    def phrase(self) -> str:
        """The short phrase to speak, or the full message when there is none."""
        return PHRASES.get(self.fault, self.message)

    def to_event(self) -> dict[str, Any]:
        """The cue as a JSON-ready event (``type`` "cue"), values rounded for transport."""
        return {"type": "cue", "fault": self.fault, "sample_time_s": round(self.sample_time_s, 4),
                "value_deg": round(self.value_deg, 2), "threshold_deg": round(self.threshold_deg, 2),
                "message": self.message, "phrase": self.phrase}


@dataclass
class _RuleState:
    armed: bool = True
    above_since: float | None = None
    below_since: float | None = None


class CueEngine:
    """Samples in, cues out. ``placement`` picks the rep signal that tells a bend from
    standing (trunk inclination for IMUs, hip flexion for the camera)."""

    def __init__(self, thresholds: Thresholds, settings: CueSettings | None = None, *,
                 placement: str = "T12", rep_settings: RepSettings | None = None) -> None:
        self.settings = s = settings or CueSettings()
        unknown = [r for r in s.rules if r not in LIVE_RULES]
        if unknown:
            from hingecoach.core.errors import ParameterError

            raise ParameterError("cue rules", f"some of {', '.join(LIVE_RULES)}", ", ".join(unknown))
        self.thresholds = thresholds
        rs = (rep_settings or RepSettings()).for_placement(placement)
        self._channel, self._enter, self._standing = rs.channel, rs.enter_deg, rs.standing_deg
        self.rules = [(LIVE_RULES[r], lim) for r in s.rules
                      if (lim := LIVE_RULES[r].threshold(thresholds)) is not None]
        self._state = {r.fault: _RuleState() for r, _ in self.rules}
        self.ctx = Context()

    def threshold(self, fault: str) -> float | None:
        """The active threshold (deg) of ``fault``, or None when that rule is not watched."""
        return next((lim for r, lim in self.rules if r.fault == fault), None)

    def open_top(self, rep_end_s: float, reference_deg: float) -> None:
        """A rep ended at ``rep_end_s``: its top (a lean-back) is judged for
        ``top_window_s`` after it, from ``reference_deg`` (the standing posture before the
        rep, as ``faults.rep_metrics`` measures it)."""
        self.ctx.top_until_s = rep_end_s + self.settings.top_window_s
        self.ctx.reference_lumbar_deg = reference_deg

    def _track(self, t: float, values: Mapping[str, float]) -> None:
        c = self.ctx
        c.t, c.values = t, values
        sig = float(values.get(self._channel, math.nan))
        if not math.isfinite(sig):
            return
        if not c.in_bend and sig > self._enter:
            c.in_bend = True
        elif c.in_bend and sig < self._standing:
            c.in_bend = False

    def update(self, t: float, values: Mapping[str, float]) -> list[Cue]:
        """One sample (channel name -> degrees) -> the cues it fires (usually none)."""
        self._track(t, values)
        s = self.settings
        out: list[Cue] = []
        for rule, limit in self.rules:
            st = self._state[rule.fault]
            v = rule.value(self.ctx, s)
            if v is not None and not math.isfinite(v):
                v = None
            if st.armed:
                if v is not None and v > limit:
                    if st.above_since is None:
                        st.above_since = t
                    if t - st.above_since >= s.min_duration_s - 1e-9:
                        out.append(Cue(rule.fault, t, v, limit))
                        st.armed, st.above_since, st.below_since = False, None, None
                else:
                    st.above_since = None
            else:
                if v is None or v < limit - s.hysteresis_deg:
                    if st.below_since is None:
                        st.below_since = t
                    if t - st.below_since >= s.rearm_s - 1e-9:
                        st.armed, st.below_since = True, None
                else:
                    st.below_since = None
        return out
