"""The terminal view of a live session: a gauge of lumbar flexion against the threshold,
the other angles, the rep count and the last cue (rich ``Live``, redrawn 10 times a
second on its own thread from the latest events).

Where the terminal is not interactive (a pipe, a log file) the display prints one line
per cue, rep, gap and warning instead.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

GAUGE_WIDTH = 40


def gauge(value: float | None, threshold: float | None, lo: float = -20.0, hi: float = 60.0,
          width: int = GAUGE_WIDTH) -> Text:
    """A bar from ``lo`` to ``hi`` degrees: green below the threshold, red above, with a
    mark at the threshold."""
    text = Text()
    if value is None:
        return text.append("." * width, style="dim")
    span = hi - lo
    pos = round((min(max(value, lo), hi) - lo) / span * width)
    mark = None if threshold is None else round((min(max(threshold, lo), hi) - lo) / span * width)
    over = threshold is not None and value > threshold
    for i in range(width):
        if i == mark:
            text.append("|", style="bold yellow")
        elif i < pos:
            text.append("#", style="bold red" if over else "green")
        else:
            text.append(".", style="dim")
    return text


class LiveDisplay:
    """Feed it every event (``update``); ``start``/``stop`` around the session."""

    def __init__(self, console: Console | None = None, title: str = "") -> None:
        self.console = console or Console(stderr=True)
        self.title = title
        self.interactive = self.console.is_terminal
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"status": "waiting for data", "reps": 0, "faulty": 0, "cues": 0,
                                       "angles": {}, "threshold": None, "last_cue": None, "gaps": 0,
                                       "warnings": 0, "last_warning": None}
        self._live: Live | None = None

    def start(self) -> None:
        """Start the live panel (only on an interactive terminal)."""
        if self.interactive:
            self._live = Live(self, console=self.console, refresh_per_second=10, transient=False)
            self._live.start()

    def stop(self) -> None:
        """Stop the live panel."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def update(self, ev: dict[str, Any]) -> None:
        """Take one session event (a dict with ``type``: angles, status, rep, cue, gap...)."""
        kind = ev.get("type")
        with self._lock:
            st = self._state
            if kind == "angles":
                st["angles"] = ev
                return
            if kind == "status":
                st["status"] = ev.get("message") or ev.get("state", "")
                if ev.get("threshold_deg") is not None:
                    st["threshold"] = ev["threshold_deg"]
            elif kind == "cue":
                st["cues"] += 1
                st["last_cue"] = ev
            elif kind == "rep":
                if ev.get("complete", True):
                    st["reps"] += 1
                    st["faulty"] += bool(ev.get("faults"))
            elif kind == "gap":
                st["gaps"] += ev.get("state") == "closed"
            elif kind == "warning":
                st["warnings"] += 1
                st["last_warning"] = ev.get("message")
        if not self.interactive:
            self._line(ev)

    def _line(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type")
        if kind == "cue":
            msg = (f"cue at {ev['sample_time_s']:.2f} s: {ev['fault']} {ev['value_deg']:.1f} deg "
                   f"(threshold {ev['threshold_deg']:.1f}): {ev.get('phrase', '')}")
        elif kind == "rep":
            faults = ", ".join(ev.get("faults", [])) or "no fault"
            what = f"rep {ev.get('index')}" if ev.get("complete", True) else "incomplete rep"
            msg = (f"{what} {ev.get('start_s', 0):.1f}-{ev.get('end_s', 0):.1f} s, peak lumbar "
                   f"{ev.get('peak_lumbar_flexion_deg') or 0:.1f} deg: {faults}")
        elif kind in ("gap", "warning") or (kind == "status" and ev.get("state") != "running"):
            msg = f"{kind}: {ev.get('message') or ev.get('state')}"
        else:
            return
        self.console.print(msg, markup=False, highlight=False, soft_wrap=True)

    def __rich__(self) -> Group:
        with self._lock:
            st = dict(self._state)
        a = st["angles"]
        th = st["threshold"]
        lines = [Text(f"{self.title}  {st['status']}", style="bold")]
        for name, label in (("lumbar_flexion_deg", "lumbar"), ("pelvis_tilt_deg", "pelvis"),
                            ("hip_flexion_deg", "hip"), ("trunk_inclination_deg", "trunk")):
            if name not in a:
                continue
            v = a.get(name)
            line = Text(f"{label:>7} ")
            hi = 120.0 if name != "lumbar_flexion_deg" else 60.0
            line.append_text(gauge(v, th if name == "lumbar_flexion_deg" else None,
                                   hi=hi, lo=-20.0))
            line.append(" --- " if v is None else f" {v:6.1f} deg")
            if name == "lumbar_flexion_deg" and th is not None:
                line.append(f"  (cue above {th:.0f})", style="dim")
            lines.append(line)
        lines.append(Text(f"reps {st['reps']}   with a fault {st['faulty']}   cues {st['cues']}   "
                          f"gaps {st['gaps']}   warnings {st['warnings']}"))
        cue = st["last_cue"]
        if cue:
            lines.append(Text(f"last cue at {cue['sample_time_s']:.1f} s: {cue.get('phrase', cue['fault'])}",
                              style="bold red"))
        if st["last_warning"]:
            lines.append(Text(f"warning: {st['last_warning']}", style="yellow"))
        lines.append(Text("Ctrl-C ends the session", style="dim"))
        return Group(*lines)
