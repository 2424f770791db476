"""Drive a guided session from the keyboard (rich prompts) or from a script of answers;
sets and the calibration come from a live source through ``live_bridge``.

The web app drives the same ``ProgrammeSession`` through its own controller
(``hingecoach.web.controller``); what is common to all drivers, collecting a set's
reps from live events, is here.
"""

from __future__ import annotations

import queue
import select
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from rich.console import Console
from rich.markup import escape

from hingecoach.coach.live_bridge import Event, Factory, LiveLink
from hingecoach.coach.script import Script
from hingecoach.coach.session import Calibration, Outcome, ProgrammeSession, Prompt, SetRun
from hingecoach.core.errors import HingecoachError, InputError

CALIBRATION_TIMEOUT_S = 120.0  # a live source that never calibrates: give up, say why


class Io(Protocol):
    """What a driver needs of the person's side: prompts answered and shown, live events displayed."""

    def ask(self, p: Prompt) -> Any:
        """The person's answer to ``p``: a yes/no, a pain rating 0-10 (None when skipped), or
        None after an info prompt."""

    def show(self, p: Prompt) -> None:
        """Show ``p`` (its text and details) without asking."""

    def say(self, text: str, style: str = "") -> None:
        """One line to the person; ``style`` is a rich style name (dim, red, yellow) or empty."""

    def live_event(self, ev: Event, reps: int, target: int) -> None:
        """Show one live event during a set; ``reps`` of ``target`` reps are done so far."""

    def wants_to_end_set(self) -> bool:
        """True when the person asked to end the set now (polled during a set; never blocks)."""

    def ready_for_set(self, p: Prompt) -> None:
        """Return when the person is ready to start the set that ``p`` announces."""


class SetCollector:
    """Counts a set's reps from live events: rep events after the set started, until
    the target, the source's end, or the person ends it."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.faults: list[tuple[str, ...]] = []
        self.indexes: list[int] = []
        self.started_s: float | None = None
        self.last_t: float | None = None
        self.ended_by: str | None = None

    def feed(self, ev: Event) -> bool:
        """Take one event; True when the set is over."""
        kind = ev.get("type")
        t = ev.get("t", ev.get("sample_time_s"))
        if isinstance(t, int | float):
            self.last_t = float(t)
            if self.started_s is None:
                self.started_s = float(t)
        if kind == "rep":
            self.faults.append(tuple(str(f) for f in ev.get("faults", ())))
            if isinstance(ev.get("index"), int):
                self.indexes.append(int(ev["index"]))
            if len(self.faults) >= self.target:
                self.ended_by = "reps"
        elif kind == "status" and ev.get("state") == "ended":
            self.ended_by = "source_ended"
        return self.ended_by is not None

    def result(self, ended_by: str | None = None, pain_during: int | None = None) -> SetRun:
        """The set as it happened; ``ended_by`` overrides why it ended (else what the events
        said, else 'early')."""
        return SetRun(tuple(self.faults), ended_by or self.ended_by or "early", pain_during,
                      self.started_s, self.last_t, tuple(self.indexes))


def drain(link: LiveLink) -> list[Event]:
    """Events that came while nobody listened (between sets): a rep then is not a set's."""
    out = []
    while True:
        try:
            out.append(link.events.get_nowait())
        except queue.Empty:
            return out


def wait_calibrated(link: LiveLink, on_event: Callable[[Event], None] | None = None,
                    timeout_s: float = CALIBRATION_TIMEOUT_S) -> Calibration:
    """Block until the live session says it is calibrated (or already streams angles)."""
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        try:
            ev = link.events.get(timeout=0.1)
        except queue.Empty:
            continue
        if on_event is not None:
            on_event(ev)
        state = ev.get("state") if ev.get("type") == "status" else None
        if state in ("calibrated", "running") or ev.get("type") in ("angles", "rep"):
            mf = ev.get("max_flexion_deg")
            th = ev.get("threshold_deg")
            return Calibration(None if mf is None else float(mf), None if th is None else float(th))
        if state == "ended":
            why = f": {link.error}" if link.error else ""
            raise HingecoachError(f"--source {link.source}: the source ended before the calibration{why}")
    raise HingecoachError(f"--source {link.source}: no calibration after {timeout_s:.0f} s (is the source "
                          "sending? stand still for 3 s at the start)")


def collect_set(link: LiveLink, target: int, io: Io | None = None) -> SetRun:
    """One set of ``target`` reps from ``link`` (events that came before are dropped); ``io``
    shows the events and may end it early."""
    drain(link)
    c = SetCollector(target)
    if link.ended.is_set():
        return c.result("source_ended")
    while True:
        try:
            ev = link.events.get(timeout=0.1)
        except queue.Empty:
            if io is not None and io.wants_to_end_set():
                return c.result("early")
            continue
        done = c.feed(ev)
        if io is not None:
            io.live_event(ev, len(c.faults), target)
        if done:
            return c.result()


def drive(ps: ProgrammeSession, io: Io, *, source: str | None = None, script: Script | None = None,
          live_settings: Any = None, factory: Factory | None = None) -> Outcome:
    """Run the session to its end; Ctrl-C stops it with everything so far saved.

    ``factory`` builds the live session on ``source`` (default: ``live_bridge.start_live``,
    the real one); tests pass a stand-in here.
    """
    link: LiveLink | None = None
    gen = ps.run()
    try:
        prompt = next(gen)
        while True:
            answer: Any
            if prompt.kind == "calibration":
                io.show(prompt)
                if source:
                    link = LiveLink(source, ps.store, ps.person, settings=live_settings, factory=factory).start()
                    sid = link.session_id()
                    if sid is not None:
                        ps.attach(sid)
                    io.say("calibrating: stand tall and still...", "dim")
                    answer = wait_calibrated(link)
                    if answer.max_flexion_deg is None and script is not None:
                        answer = replace(answer, max_flexion_deg=script.calibration().max_flexion_deg)
                else:
                    answer = script.calibration() if script is not None else Calibration()
                if answer.max_flexion_deg is not None:
                    io.say(f"maximum flexion {answer.max_flexion_deg:.0f}°", "dim")
            elif prompt.kind == "set":
                answer = _run_set(ps, io, prompt, link, script)
            elif script is not None:
                answer = script.answer(prompt)
                io.show(prompt)
                io.say(f"  → {_shown(answer)}", "dim")
            else:
                answer = io.ask(prompt)
            prompt = gen.send(answer)
    except StopIteration as done:
        outcome: Outcome = done.value
        return outcome
    except KeyboardInterrupt:
        return ps.stop("Ctrl-C")
    except BaseException:
        ps.stop("an error")
        raise
    finally:
        if link is not None:
            link.stop()
            if link.error is not None and not isinstance(link.error, KeyboardInterrupt):
                io.say(f"the live source stopped with an error: {link.error}", "red")


def _shown(v: Any) -> str:
    return "yes" if v is True else "no" if v is False else "-" if v is None else str(v)


def _run_set(ps: ProgrammeSession, io: Io, prompt: Prompt, link: LiveLink | None,
             script: Script | None) -> SetRun:
    idx = int(prompt.data["set"])
    target = int(prompt.data["target_reps"])
    io.show(prompt)
    if script is not None:
        table = script.next_set()
        run = script.set_run(idx, table)
        if run is not None:
            ps.start_set(None)
            io.say(f"  → {len(run.rep_faults)} reps from the script: "
                   + ", ".join("+".join(f) or "ok" for f in run.rep_faults), "dim")
            return run
        if link is None:
            raise InputError(script.path, f"reps in sets[{idx}] (there is no --source to take them from)",
                             "none", column=f"sets[{idx}].reps")
        drain(link)
        ps.start_set(None)
        run = collect_set(link, target, io)
        during = table.get("pain_during")
        return replace(run, pain_during=during, ended_by="pain") if during is not None else run
    if link is None:
        raise HingecoachError("train: a set needs a live source (--source), or --script with the sets' reps")
    io.ready_for_set(prompt)
    drain(link)
    ps.start_set(None)
    return collect_set(link, target, io)


class TerminalIo:
    """Keyboard prompts and a plain live display (cues and reps as lines; a small
    gauge line when the output is a terminal)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._last_gauge = 0.0
        self.tty = sys.stdin.isatty()

    def say(self, text: str, style: str = "") -> None:
        """Print one line (markup in ``text`` is shown as typed)."""
        self.console.print(f"[{style}]{escape(text)}[/]" if style else escape(text), highlight=False)

    def show(self, p: Prompt) -> None:
        """Print the prompt's text in bold and its details indented."""
        self.console.print(f"\n[bold]{escape(p.text)}[/]", highlight=False)
        for line in p.details:
            self.console.print(f"  {escape(line)}", highlight=False)

    def _input(self, question: str) -> str:
        self.console.print(question, end="", highlight=False, markup=False)
        line = sys.stdin.readline()
        if line == "":
            raise HingecoachError("train: the keyboard input ended (use --script FILE for unattended runs)")
        return line.strip()

    def ask(self, p: Prompt) -> Any:
        """Ask at the keyboard until the answer fits (y/n; 0-10, Enter skips an optional rating)."""
        if p.kind == "info":
            self.show(p)
            self._input("Press Enter when ready ")
            return None
        if p.details:
            self.console.print()
            for line in p.details:
                self.console.print(f"  {escape(line)}", highlight=False)
        while True:
            if p.kind == "yes_no":
                a = self._input(f"{p.text} [y/n] ").lower()
                if a in ("y", "yes"):
                    return True
                if a in ("n", "no"):
                    return False
                self.say("please answer y or n", "yellow")
            else:  # pain
                a = self._input(f"{p.text}{' (Enter to skip)' if p.optional else ''}: ")
                if a == "" and p.optional:
                    return None
                if a.isdigit() and 0 <= int(a) <= 10:
                    return int(a)
                self.say("please type a whole number from 0 to 10", "yellow")

    def ready_for_set(self, p: Prompt) -> None:
        """Wait for Enter before the set starts."""
        self._input(f"Press Enter to start; do {p.data['target_reps']} reps"
                    + (" (Enter again ends the set early)" if self.tty else "") + " ")
        self.console.print()

    def wants_to_end_set(self) -> bool:
        """True when Enter was pressed during the set (a terminal with select only; else never)."""
        if not self.tty:
            return False
        try:
            ready, _, _ = select.select([sys.stdin], [], [], 0)
        except (OSError, ValueError):  # no select on this stdin (Windows consoles)
            return False
        if ready:
            sys.stdin.readline()
            return True
        return False

    def live_event(self, ev: Event, reps: int, target: int) -> None:
        """Print a cue, a rep or a warning as a line; angles as a gauge line, at most 4 a
        second, on a terminal."""
        kind = ev.get("type")
        if kind == "cue":
            value, limit = ev.get("value_deg") or 0.0, ev.get("threshold_deg") or 0.0
            self.console.print(f"  [bold red]cue[/] {escape(str(ev.get('message') or ev.get('fault')))} "
                               f"[dim](lumbar {value:.1f}° > {limit:.1f}°)[/]", highlight=False)
        elif kind == "rep":
            faults = ", ".join(ev.get("faults", ())) or "ok"
            style = "red" if ev.get("faults") else "green"
            self.console.print(f"  rep {reps}/{target}: [{style}]{escape(faults)}[/] "
                               f"[dim](peak lumbar {ev.get('peak_lumbar_flexion_deg') or 0:.0f}°)[/]",
                               highlight=False)
        elif kind in ("gap", "warning"):
            self.console.print(f"  [yellow]{kind}[/] {escape(str(ev.get('message', ev)))}", highlight=False)
        elif kind == "angles" and self.console.is_terminal:
            now = time.monotonic()
            if now - self._last_gauge >= 0.25:
                self._last_gauge = now
                v = ev.get("lumbar_flexion_deg")
                if isinstance(v, int | float):
                    bar = "█" * max(0, min(30, int(v)))
                    self.console.print(f"  lumbar {v:5.1f}° {bar}", highlight=False, end="\r")
