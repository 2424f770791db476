"""Angles -> reps, faults and cues, live; the same for IMUs and the camera.

Per sample: the cue engine (``feedback.cues``) and the rep detector
(``reps.RepDetector``, the live form of ``detect_reps``). A finished rep is judged with
the offline code (``faults.rep_metrics`` and ``evaluate`` on the samples around it) once
its top is known: ``rep_metrics`` looks at the 1.5 s after a rep (a lean-back at the
top) or up to the next rep's start, whichever comes first. So a rep is reported when the
samples reach 1.5 s after its end, or, when the next bend has already begun by then
(back-to-back reps, swings), when that next rep ends and its start is known. The one case
where this can differ from the offline analysis: a next rep whose slow start (10 % of its
bend) falls inside the 1.5 s but which enters the bend only after it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hingecoach.core.timeseries import TimeSeries
from hingecoach.faults import MESSAGES, RepMetrics, Thresholds, evaluate, rep_metrics
from hingecoach.feedback.cues import PHRASES, Cue, CueEngine, CueSettings
from hingecoach.live.bounded import Reservoir
from hingecoach.reps import Rep, RepDetector, RepSettings

TOP_WINDOW_S = 1.5  # faults.rep_metrics' default top_window_s
BEFORE_S = 1.0  # rep_metrics looks this far before a rep's start (the descent's base)
# the rep detector decides 0.2 s after a sample (its centred 0.4 s low-pass): a bend that
# came back to standing without a rep for this long made none
SMOOTHING_WAIT_S = 0.5
REP_KEYS = ("index", "start_s", "bottom_s", "end_s", "peak_lumbar_flexion_deg", "peak_pelvis_tilt_deg",
            "peak_trunk_inclination_deg", "lumbar_share", "top_extension_deg", "descent_s",
            "knee_hip_ratio", "peak_neck_extension_deg")


def rep_event(m: RepMetrics) -> dict[str, Any]:
    """A rep as in ``analyze --json`` (same keys, same rounding), with "type" and a
    little more: "complete" and the fault messages."""
    d: dict[str, Any] = {"type": "rep"}
    for k in REP_KEYS:
        v = getattr(m, k)
        d[k] = None if v is None or not np.isfinite(v) else round(float(v), 3)
    d["index"] = m.index
    d["faults"] = list(m.faults)
    d["complete"] = m.complete
    d["messages"] = {f: MESSAGES[f] for f in m.faults if f in MESSAGES}
    return d


@dataclass
class LiveCoach:
    """Angle samples in (``add``); events out through ``emit``; reps and cues to the
    callbacks (the store). ``channels`` are the angle channels every sample carries."""

    placement: str
    rate_hz: float
    thresholds: Thresholds
    channels: tuple[str, ...]
    emit: Callable[[dict[str, Any]], None]
    on_rep: Callable[[RepMetrics], None] = lambda m: None
    on_cue: Callable[[Cue, float], None] = lambda c, arrival: None
    rep_settings: RepSettings = field(default_factory=RepSettings)
    cue_settings: CueSettings = field(default_factory=CueSettings)
    angles_hz: float = 25.0
    clock: Callable[[], float] = lambda: 0.0
    keep_s: float = 20.0
    # a rep's verdict beyond the thresholds (the live camera: the back outline's shape), applied
    # when the rep is judged, before it is stored and announced
    judge_rep: Callable[[RepMetrics], RepMetrics] | None = None

    def __post_init__(self) -> None:
        self.detector = RepDetector(self.rate_hz, self.placement, self.rep_settings)
        self.rs = self.rep_settings.for_placement(self.placement)
        self.cues = CueEngine(self.thresholds, self.cue_settings, placement=self.placement,
                              rep_settings=self.rep_settings)
        self._t: list[float] = []
        self._v: dict[str, list[float]] = {c: [] for c in self.channels}
        self._offset = 0  # global index of self._t[0]
        self._n = 0  # samples seen
        self._pending: list[Rep] = []  # complete reps waiting for their top
        self.reps: list[RepMetrics] = []
        self.incomplete: list[RepMetrics] = []
        self.cue_list: list[Cue] = []
        self.cue_latency_s = Reservoir(10_000)
        self._last_angles_t = -math.inf
        self._standing_t = -math.inf  # the last sample with the rep signal at standing level
        self._entry_standing_t = math.inf  # ...before the last bend began (its rep starts after)
        self._bending = False
        self._entered: float | None = None  # the raw rep signal entered a bend (a pending rep's top)
        self._returned: float | None = None  # ...and came back to standing without a rep

    # -- per sample -----------------------------------------------------------------------
    def add(self, t: float, values: dict[str, float], arrival_s: float | None = None, held: bool = False) -> None:
        """One angle sample (t in s, channels in deg): cues, the gauge's "angles" event, reps
        as they end. ``arrival_s`` (monotonic s) measures the cue latency; None for samples
        that are not live."""
        self._t.append(t)
        for c in self.channels:
            self._v[c].append(float(values.get(c, math.nan)))
        self._n += 1
        for cue in self.cues.update(t, values):
            self.cue_list.append(cue)
            self.emit(cue.to_event())
            if arrival_s is not None:
                self.cue_latency_s.append(self.clock() - arrival_s)
            self.on_cue(cue, arrival_s if arrival_s is not None else math.nan)
        if t - self._last_angles_t >= 1.0 / self.angles_hz - 1e-9:
            self._last_angles_t = t
            ev: dict[str, Any] = {"type": "angles", "t": round(t, 4)}
            ev.update({c: _round(values.get(c)) for c in self.channels})
            if held:
                ev["held"] = True
            self.emit(ev)
        sig = float(values.get(self.rs.channel, math.nan))
        if math.isfinite(sig):
            if sig < self.rs.standing_deg:
                self._standing_t = t
                self._bending = False
            elif sig > self.rs.enter_deg and not self._bending:
                self._bending = True
                self._entry_standing_t = self._standing_t
        if self._pending and math.isfinite(sig):
            if self._entered is None and sig > self.rs.enter_deg:
                self._entered, self._returned = t, None
            elif self._entered is not None and self._returned is None and sig < self.rs.standing_deg:
                self._returned = t
        rep = self.detector.update(t, sig if math.isfinite(sig) else self._last_sig())
        if rep is not None:
            self._completed(rep)
        self._release(t)
        self._trim()

    def _last_sig(self) -> float:
        vals = self._v.get(self.rs.channel, [])
        for v in reversed(vals):
            if math.isfinite(v):
                return v
        return 0.0

    def _completed(self, rep: Rep) -> None:
        # the top of this rep is cued from the reference the top_overextension fault uses
        t = np.asarray(self._t)
        lum = self._v.get("lumbar_flexion_deg")
        if lum is not None:
            i0 = int(np.searchsorted(t, rep.start_s - 0.5))
            before = np.asarray(lum[i0:rep.start_i - self._offset + 1])
            before = before[np.isfinite(before)]
            self.cues.open_top(rep.end_s, min(0.0, float(np.median(before))) if before.size else 0.0)
        if self._pending:
            # the previous rep's top ends at this rep's start: it is exact now
            prev = self._pending.pop(0)
            self._judge(prev, cutoff_i=rep.start_i)
            self._pending.clear()
        self._pending.append(rep)
        self._entered = self._returned = None

    def _release(self, t: float) -> None:
        if not self._pending:
            return
        rep = self._pending[0]
        top_end = rep.end_s + TOP_WINDOW_S
        if t < top_end:
            return
        # a new bend that began inside the top window may cut the top short at its start:
        # wait until it ends as a rep (or turns out to be none: back to standing, and the
        # detector's smoothing delay has passed without a rep)
        if (self._entered is not None and self._entered < top_end
                and (self._returned is None or t < self._returned + SMOOTHING_WAIT_S)):
            return
        self._pending.pop(0)
        self._judge(rep, cutoff_i=None)

    def _judge(self, rep: Rep, cutoff_i: int | None) -> None:
        """rep_metrics + evaluate on the samples around ``rep``, as offline."""
        t = np.asarray(self._t)
        g0 = self._offset
        i0 = int(np.searchsorted(t, rep.start_s - BEFORE_S - 1e-9))
        stop = len(t) if cutoff_i is None else min(len(t), cutoff_i - g0)
        if rep.complete:
            stop = min(stop, int(np.searchsorted(t, rep.end_s + TOP_WINDOW_S)))
        stop = max(stop, rep.end_i - g0 + 1)
        local = TimeSeries(t[i0:stop], {c: np.asarray(v[i0:stop]) for c, v in self._v.items()})
        o = g0 + i0
        r = replace(rep, start_i=rep.start_i - o, bottom_i=rep.bottom_i - o, end_i=rep.end_i - o)
        m = evaluate(rep_metrics(local, [r], rep_channel=self.rs.channel), self.thresholds)[0]
        if self.judge_rep is not None:
            m = self.judge_rep(m)
        (self.reps if m.complete else self.incomplete).append(m)
        self.emit(rep_event(m))
        self.on_rep(m)

    def _trim(self) -> None:
        # a rep's judgement needs its samples from 1 s before its start, and its start is
        # before the last standing sample ahead of its bend: keep those however long the bend
        keep_from_t = min(self._t[-1] - self.keep_s, self._entry_standing_t - BEFORE_S - 2.0)
        if self._pending:
            keep_from_t = min(keep_from_t, self._pending[0].start_s - BEFORE_S - 1.0)
        k = 0
        n = len(self._t)
        if n > 4096 and self._t[0] < keep_from_t:
            k = int(np.searchsorted(np.asarray(self._t), keep_from_t))
        if k > 0:
            del self._t[:k]
            for v in self._v.values():
                del v[:k]
            self._offset += k

    def finish(self) -> None:
        """The end of the stream: the reps still waiting, and an incomplete one."""
        done = self.detector.finish()
        incomplete = [r for r in done if not r.complete]
        for rep in done:
            if rep.complete:
                self._completed(rep)
        # as offline, the last complete rep's top ends where an incomplete bend starts
        cutoff = incomplete[0].start_i if incomplete else None
        while self._pending:
            self._judge(self._pending.pop(0), cutoff_i=cutoff)
        for rep in incomplete:
            self._judge(rep, cutoff_i=None)

    def rep_feedback(self, m: RepMetrics) -> str | None:
        """A phrase for the rep's faults that had no live cue (too fast, squatting, ...)."""
        live = {r.fault for r, _ in self.cues.rules}
        rest = [f for f in m.faults if f not in live and f in PHRASES]
        return PHRASES[rest[0]] if rest else None


def _round(v: float | None) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return round(float(v), 2)
