"""Feedback for the person while they move: the cue engine (thresholds with hysteresis
and a minimum duration), sound (a numpy tone, espeak-ng phrases) and the terminal view."""

from hingecoach.feedback.cues import LIVE_RULES, PHRASES, Cue, CueEngine, CueSettings

__all__ = ["LIVE_RULES", "PHRASES", "Cue", "CueEngine", "CueSettings"]
