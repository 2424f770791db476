"""A stand-in for ``hingecoach.live.LiveSession`` that replays a script of timed events.

The script comes from a recording analysed offline (``events_from_analysis``): the
status changes of a live session, the angles at a fixed rate (25 Hz, or 100 Hz as two
100 Hz sensors give), one ``lumbar_rounding`` cue at the first sample above the
threshold in each rounded rep, and each rep 0.2 s after its end (the live detector's
delay). It writes the session to the store as a live session does (angles, reps,
cues), so the programme, the web page and the report work on it exactly as on a real
one. Tests and the web benchmark inject it where a live-session factory is taken
(``live_bridge.install``, ``LiveLink(factory=...)``, ``create_app(live_factory=...)``).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hingecoach.analysis import Analysis, analyze_file
from hingecoach.core.errors import HingecoachError
from hingecoach.faults import MESSAGES, RepMetrics
from hingecoach.store import SessionWriter, Store

LIVE_REP_DELAY_S = 0.2  # the live rep detector reports a rep this long after its end


@dataclass(frozen=True)
class Scripted:
    """One timed event; ``rep``/``angles_upto`` tell the store what to write with it."""

    t: float
    event: dict[str, Any]
    rep: RepMetrics | None = None


@dataclass
class ScriptedSummary:
    """What ``ScriptedLiveSession.run`` returns: the store session and what was played."""

    session_id: int | None
    reps: int = 0
    cues: int = 0
    events: int = 0
    stopped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _rep_json(a: Analysis) -> dict[int, dict[str, Any]]:
    return {r["index"]: r for r in a.to_json()["reps"]}


def events_from_analysis(a: Analysis, rate_hz: float = 25.0) -> list[Scripted]:
    """The events a live session would send for this recording, in time order."""
    ang = a.angles
    if len(ang) < 2:
        raise HingecoachError(f"{a.info.get('source', 'recording')}: expected angles to replay, found none")
    t = ang.time_s
    t0, t1 = float(t[0]), float(t[-1])
    th = a.thresholds.lumbar_rounding_deg
    window = a.info.get("calibration_window_s") or [t0, t0 + 2.0]
    t_cal = float(window[1]) if len(window) == 2 else t0 + 2.0
    out: list[Scripted] = [
        Scripted(t0, {"type": "status", "state": "calibrating", "t": t0}),
        Scripted(t_cal, {"type": "status", "state": "calibrated", "t": t_cal, "threshold_deg": round(th, 2),
                         "max_flexion_deg": a.max_flexion_deg, "placement": a.info.get("placement")}),
        Scripted(t_cal, {"type": "status", "state": "running", "t": t_cal}),
    ]
    names = [c for c in ("lumbar_flexion_deg", "trunk_inclination_deg", "pelvis_tilt_deg",
                         "hip_flexion_deg") if c in ang]
    step = max(1, round(ang.sample_rate_hz / rate_hz))  # every step-th sample: real sample times
    idx = np.arange(0, len(t), step)
    cols = {c: ang[c][idx] for c in names}
    for k, tk in enumerate(t[idx]):
        ev: dict[str, Any] = {"type": "angles", "t": round(float(tk), 4)}
        for c in names:
            v = float(cols[c][k])
            ev[c] = round(v, 2) if np.isfinite(v) else None
        out.append(Scripted(float(tk), ev))
    reps = _rep_json(a)
    lum = ang["lumbar_flexion_deg"]
    for m in a.reps:
        if "lumbar_rounding" in m.faults:
            i0, i1 = np.searchsorted(t, [m.start_s, m.end_s])
            above = np.flatnonzero(lum[i0:i1 + 1] > th)
            if above.size:
                i = int(i0 + above[0])
                out.append(Scripted(float(t[i]), {
                    "type": "cue", "fault": "lumbar_rounding", "sample_time_s": round(float(t[i]), 4),
                    "value_deg": round(float(lum[i]), 2), "threshold_deg": round(th, 2),
                    "message": MESSAGES["lumbar_rounding"]}))
        tr = min(m.end_s + LIVE_REP_DELAY_S, t1)
        out.append(Scripted(tr, {"type": "rep", "t": round(tr, 4), **reps[m.index]}, rep=m))
    out.sort(key=lambda s: s.t)
    return out


class ScriptedLiveSession:
    """Plays ``script`` at ``speed`` times real time (0: as fast as possible), calling
    ``on_event`` from the thread that runs it; writes a live session to ``store``."""

    def __init__(self, script: list[Scripted], *, speed: float = 1.0,
                 on_event: Callable[[dict[str, Any]], None] | None = None, store: Store | None = None,
                 person: str | None = None, source: str = "scripted", analysis: Analysis | None = None) -> None:
        self.script = script
        self.speed = speed
        self.on_event = on_event
        self.store = store
        self.person = person
        self.source = source
        self.analysis = analysis
        self._stop = threading.Event()
        self._sid: int | None = None

    @property
    def session_id(self) -> int | None:
        """The store session being written (None before ``run`` opens it, or without a store)."""
        return self._sid

    def stop(self) -> None:
        """End ``run`` at the next event (thread-safe); what was written stays."""
        self._stop.set()

    def run(self) -> ScriptedSummary:
        """Play the script to its end or until ``stop``; returns what was played."""
        writer: SessionWriter | None = None
        a = self.analysis
        if self.store is not None:
            writer = self.store.writer(person=self.person, source=self.source, device="scripted replay",
                                       thresholds=a.thresholds if a else None,
                                       info=dict(a.info) if a else {}, kind="live")
            self._sid = writer.id
        summary = ScriptedSummary(self._sid)
        last_angle_t = -np.inf
        t_first = self.script[0].t if self.script else 0.0
        start = time.monotonic()
        try:
            for item in self.script:
                if self.speed > 0:
                    delay = start + (item.t - t_first) / self.speed - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        break
                if self._stop.is_set():
                    break
                ev = item.event
                if writer is not None:
                    if ev["type"] == "angles" and a is not None:
                        part = a.angles.slice_time(last_angle_t + 1e-9, item.t + 1e-9)
                        if len(part):
                            writer.append_angles(part)
                            last_angle_t = float(part.time_s[-1])
                    elif ev["type"] == "rep" and item.rep is not None:
                        writer.add_rep(item.rep)
                    elif ev["type"] == "cue":
                        writer.add_cue(ev["sample_time_s"], ev["fault"], ev["value_deg"], ev["threshold_deg"])
                    elif ev["type"] == "status" and ev["state"] == "calibrated":
                        writer.update(calibration={"max_flexion_deg": ev.get("max_flexion_deg")})
                summary.events += 1
                summary.reps += ev["type"] == "rep"
                summary.cues += ev["type"] == "cue"
                if self.on_event is not None:
                    self.on_event(ev)
            summary.stopped = self._stop.is_set()
            if self.on_event is not None:
                self.on_event({"type": "status", "state": "ended", "stopped": summary.stopped})
        finally:
            if writer is not None:
                writer.close()
        return summary


@functools.lru_cache(maxsize=8)
def _analysed(path: str) -> Analysis:
    return analyze_file(path)


def scripted_factory(speed: float = 1.0, rate_hz: float = 25.0) -> Callable[..., ScriptedLiveSession]:
    """A ``start_live`` stand-in: ``replay:FILE`` sources, FILE analysed offline."""
    def factory(source: str, settings: Any, on_event: Callable[[dict[str, Any]], None],
                store: Store | None, person: str | None) -> ScriptedLiveSession:
        if not source.startswith("replay:"):
            raise HingecoachError(f"--source {source}: the scripted stand-in replays recordings only "
                                  "(replay:FILE); live devices need hingecoach.live")
        path = Path(source.removeprefix("replay:"))
        if not path.exists():
            raise HingecoachError(f"--source {source}: no such file {path}")
        a = _analysed(str(path.resolve()))
        return ScriptedLiveSession(events_from_analysis(a, rate_hz), speed=speed, on_event=on_event,
                                   store=store, person=person, source=str(path), analysis=a)
    return factory
