"""Today's session in the web app: the programme's dialogue driven by HTTP answers and
by live events.

The page answers questions (``answer``); the live source answers the calibration and
the sets (its events arrive on the live thread, ``_on_live``). One lock orders both.
Stopping the live session joins its thread, so it is done after the lock is released
(the live thread may be waiting for the lock to deliver its last event).
"""

from __future__ import annotations

import threading
from typing import Any

from hingecoach.coach.drive import SetCollector
from hingecoach.coach.live_bridge import Factory, LiveLink
from hingecoach.coach.session import Calibration, ProgrammeSession, SetRun, source_kind
from hingecoach.coach.stages import STAGE_BY_NUMBER, fmt_distance
from hingecoach.core.errors import ConflictError, HingecoachError
from hingecoach.store import Store
from hingecoach.web.hub import Hub


class WebSession:
    """Today's session for one person: the programme's dialogue, its live link and what
    the pages show of it (``state``). A request that does not fit the current step raises
    ConflictError (HTTP 409)."""

    def __init__(self, store: Store, person: str, source: str, hub: Hub, factory: Factory | None = None) -> None:
        self.store = store
        self.factory = factory
        self.hub = hub
        self.source = source
        self.ps = ProgrammeSession(store, person, source=source, kind=source_kind(source))
        self.lock = threading.RLock()
        self.link: LiveLink | None = None
        self.collector: SetCollector | None = None
        self.live_state = "off"
        self.live_error: str | None = None
        self.reps_seen = 0
        self.last_cue: dict[str, Any] | None = None
        self._to_stop: LiveLink | None = None
        self.gen = self.ps.run()
        self.prompt = next(self.gen)

    # -- state ------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once the session has an outcome (completed or stopped)."""
        return self.ps.outcome is not None

    def state(self) -> dict[str, Any]:
        """What the pages show (JSON): the prompt, the live state, the running set, the stage and the outcome."""
        with self.lock:
            st = self.ps.state
            stage = STAGE_BY_NUMBER[st.stage]
            c = self.collector
            return {
                "active": not self.done, "person": self.ps.person, "source": self.source,
                "session_id": self.ps.rec.session_id,
                "prompt": None if self.done else self.prompt.to_json(),
                "live": {"state": self.live_state, "reps": self.reps_seen, "error": self.live_error,
                         "last_cue": self.last_cue},
                "set": None if c is None else {"idx": self.ps.set_open, "reps": len(c.faults), "target": c.target,
                                               "faults": [list(f) for f in c.faults]},
                "stage": {"number": stage.number, "name": stage.name, "wall": stage.wall,
                          "distance": fmt_distance(st.distance(self.ps.settings)) if stage.wall else None},
                "outcome": None if self.ps.outcome is None else self.ps.outcome.to_json(),
                "decisions": [d.to_json() for d in self.ps.decisions],
            }

    def _broadcast(self) -> None:
        self.hub.publish({"type": "session", **self.state()})

    # -- answers from the page ---------------------------------------------------------------
    def answer(self, key: str, value: Any) -> None:
        """Answer the current prompt ``key`` with ``value`` (checked by the prompt)."""
        with self.lock:
            if self.done:
                raise ConflictError("the session has ended; start a new one")
            if key != self.prompt.key:
                raise ConflictError(f"answer: the session asks {self.prompt.key!r} now, not {key!r}")
            if self.prompt.kind in ("set", "calibration"):
                raise ConflictError(f"answer: {key!r} is answered by the live source (end the set instead)")
            self._send(self.prompt.check(value))
        self._stop_pending()

    def end_set(self, pain: int | None = None) -> None:
        """The person ends the set early, or reports pain during it (which ends it)."""
        with self.lock:
            if self.collector is None:
                raise ConflictError("no set is running")
            run = self.collector.result("pain" if pain is not None else "early", pain)
            self.collector = None
            self._send(run)
        self._stop_pending()

    def stop(self) -> None:
        """Stop the session now; what was done is kept."""
        with self.lock:
            if not self.done:
                self.collector = None
                self.ps.stop("stopped from the web page")
                self._finish()
        self._stop_pending()

    # -- the dialogue -----------------------------------------------------------------------
    def _send(self, value: Any) -> None:
        try:
            self.prompt = self.gen.send(value)
        except StopIteration:
            self._finish()
            return
        self._prepare()
        self._broadcast()

    def _finish(self) -> None:
        self._to_stop, self.link = self.link, None
        if self._to_stop is not None:
            self._to_stop.session.stop()
        self.live_state = "ended" if self.live_state != "off" else "off"
        self._broadcast()

    def _prepare(self) -> None:
        """What the new prompt needs from the live side."""
        p = self.prompt
        if p.kind == "calibration":
            self._start_live()
        elif p.kind == "set":
            if self.link is None or self.link.ended.is_set():
                self._send(SetRun((), "source_ended"))
                return
            self.collector = SetCollector(int(p.data["target_reps"]))
            self.ps.start_set(None)

    def _start_live(self) -> None:
        self.hub.reset()
        self.live_state = "calibrating"
        try:
            self.link = LiveLink(self.source, self.store, self.ps.person, listener=self._on_live,
                                 factory=self.factory)
            self.link.start()
        except HingecoachError as e:
            self.live_error = str(e)
            self.ps.stop(f"the live source did not start: {e}")
            self._finish()
            return
        sid = self.link.session_id()
        if sid is not None:
            self.ps.attach(sid)

    def _on_live(self, ev: dict[str, Any]) -> None:
        """A live event (live thread): to the pages, then to the dialogue."""
        self.hub.publish(ev)
        kind = ev.get("type")
        if kind == "angles" and self.collector is None and self.live_state != "calibrating":
            return  # between sets: the page shows them, the dialogue has nothing to do
        with self.lock:
            if self.done:
                return
            if kind == "rep":
                self.reps_seen += 1
            elif kind == "cue":
                self.last_cue = ev
            elif kind == "status":
                state = str(ev.get("state"))
                self.live_state = "running" if state == "calibrated" else state
                if state == "ended" and ev.get("error"):
                    self.live_error = str(ev["error"])
            if self.prompt.kind == "calibration":
                if kind in ("angles", "rep") or ev.get("state") in ("calibrated", "running"):
                    mf, th = ev.get("max_flexion_deg"), ev.get("threshold_deg")
                    self.live_state = "running"
                    self._send(Calibration(None if mf is None else float(mf), None if th is None else float(th)))
                elif ev.get("state") == "ended":
                    self.ps.stop("the live source ended before the calibration")
                    self._finish()
                return
            if self.collector is not None and self.collector.feed(ev):
                run = self.collector.result()
                self.collector = None
                self._send(run)
            elif kind in ("rep", "status"):
                self._broadcast()

    def _stop_pending(self) -> None:
        link, self._to_stop = self._to_stop, None
        if link is not None:
            link.stop()

    def close(self) -> None:
        """The server shuts down: stop the live session, keep what was recorded."""
        self.stop()
