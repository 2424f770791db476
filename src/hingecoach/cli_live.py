"""``hingecoach live``: a thin shell over ``hingecoach.live.LiveSession`` (registered on
the app by ``cli.py``)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import IO, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from hingecoach.analysis import DISCLAIMER
from hingecoach.cli_store import DbOption, fail
from hingecoach.core.errors import HingecoachError
from hingecoach.core.vocabulary import PoseModelName
from hingecoach.feedback.audio import AudioSettings
from hingecoach.feedback.display import LiveDisplay
from hingecoach.live import LiveSession, LiveSettings, LiveSummary
from hingecoach.live.run_camera import is_camera_source
from hingecoach.sources.live import parse_source

err = Console(stderr=True)


class EventWriter:
    """One JSON object per line, flushed at once (a reader sees each event as it happens)."""

    def __init__(self, target: str) -> None:
        self._own = target != "-"
        if self._own:
            try:
                self.f: IO[str] = Path(target).open("w", encoding="utf-8")  # noqa: SIM115
            except OSError as e:
                raise HingecoachError(f"--events-jsonl {target}: cannot write: {e.strerror}") from None
        else:
            self.f = sys.stdout
        self.broken = False

    def __call__(self, ev: dict[str, Any]) -> None:
        if self.broken:
            return
        try:
            self.f.write(json.dumps(ev, separators=(",", ":")) + "\n")
            self.f.flush()
        except (BrokenPipeError, OSError):
            self.broken = True  # the reader went away; the session goes on and is stored

    def close(self) -> None:
        """Close the file (standard output stays open)."""
        if self._own:
            self.f.close()


def live(
    source: Annotated[str, typer.Option(
        "--source", help="udp:HOST:PORT (or udp:PORT), serial:DEVICE (or serial:DEVICE@BAUD), ble:ADDRESS, replay:FILE "
                         "(a recording or a video) or webcam:N; one source per sensor, each on its own "
                         "clock: phyphox:lower=http://A:8080,upper=http://B:8080 (two phones with phyphox's "
                         "remote access) or lower=SOURCE,upper=SOURCE (SOURCE: phyphox:http://HOST:PORT or "
                         "udp:HOST:PORT)")],
    speed: Annotated[float, typer.Option(help="replay only: times real time (0: as fast as possible)")] = 1.0,
    events_jsonl: Annotated[str | None, typer.Option(
        "--events-jsonl", help="write every event as one JSON line to PATH, or - for standard output")] = None,
    calibration: Annotated[Path | None, typer.Option(
        help="a calibration recording (standing still, maximal forward bends): the personal threshold and "
             "the flexion axes")] = None,
    person: Annotated[str | None, typer.Option(help="whose session: their thresholds apply; stored with them")
                      ] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="store the session as it goes")] = True,
    db: DbOption = None,
    sound: Annotated[bool, typer.Option("--sound/--no-sound", help="a tone with each cue")] = True,
    speech: Annotated[bool, typer.Option("--speech/--no-speech", help="spoken phrases (espeak-ng)")] = True,
    placement: Annotated[str | None, typer.Option(help="where the upper sensor sits: L1, T12, T8 or neck")] = None,
    exercise: Annotated[str | None, typer.Option(help="hinge, deadlift or swing (swing: too_fast is off)")] = None,
    share_of_max: Annotated[float | None, typer.Option(
        help="lumbar_rounding threshold as a share of the calibrated maximum flexion [default: 0.6]")] = None,
    rounding_deg: Annotated[float | None, typer.Option(help="a fixed lumbar_rounding threshold in degrees")] = None,
    duration: Annotated[float | None, typer.Option(help="stop after this many seconds (default: Ctrl-C or "
                                                        "the end of the source)")] = None,
    pose_model: Annotated[PoseModelName | None, typer.Option(
        "--pose-model", help="webcam or replayed video only: the BlazePose model [default: full, as "
                             "analyze; lite: less CPU for a slower machine]")] = None,
) -> None:
    """Live cues while you move: stream two IMUs (UDP, serial, BLE), replay a recording, or use a webcam.

    A tone (and a spoken phrase) tells you at once when the lower back rounds; each rep is
    graded when it ends; the session is stored as it goes. Ctrl-C ends it."""
    writer: EventWriter | None = None
    display: LiveDisplay | None = None
    try:
        settings = LiveSettings(speed=speed, save=save, db=db,
                                calibration=str(calibration) if calibration else None,
                                placement=placement, exercise=exercise, share_of_max=share_of_max,
                                lumbar_rounding_deg=rounding_deg, max_duration_s=duration,
                                audio=AudioSettings(sound=sound, speech=speech))
        if pose_model is not None:
            if "," in source or not is_camera_source(parse_source(source)):
                raise HingecoachError(f"--pose-model {pose_model}: needs a webcam or a video, and {source} "
                                      "is an IMU source")
            settings = replace(settings, camera=replace(settings.camera, pose_model=pose_model.value))
        writer = EventWriter(events_jsonl) if events_jsonl else None
        session = LiveSession(source, settings, on_event=writer, person=person)
        display = LiveDisplay(err, title=f"hingecoach live  {source}")
        session.add_listener(display.update)
        display.start()
        with _stop_on_signals(session):
            summary = session.run()
    except HingecoachError as e:
        if display is not None:
            display.stop()
        fail(e)
    finally:
        if writer is not None:
            writer.close()
    display.stop()
    _print_summary(summary)


class _stop_on_signals:
    """Ctrl-C (SIGINT) and SIGTERM end the session cleanly (stored as complete); a second
    Ctrl-C interrupts at once."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.session.stopping and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.session.stop()

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handler)

    def __exit__(self, *exc: object) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)


def _print_summary(s: LiveSummary) -> None:
    if s.reps:
        t = Table(title=f"{len(s.reps)} reps", title_justify="left", box=box.SIMPLE_HEAD)
        for col in ("rep", "start", "end", "lumbar", "faults"):
            t.add_column(col, justify="right" if col != "faults" else "left")
        for m in s.reps:
            t.add_row(str(m.index), f"{m.start_s:.1f}", f"{m.end_s:.1f}", f"{m.peak_lumbar_flexion_deg:.1f}",
                      ", ".join(m.faults) or "-")
        err.print(t)
    link = s.stats.get("link", {}).get("sensors", {})
    lost = ", ".join(f"{k}: {v['lost']} lost, {v['late']} late, {v['gaps']} gaps" for k, v in link.items())
    bad = s.stats.get("bad_input") or {}
    err.print(f"ended ({s.reason}): {len(s.reps)} reps, {len(s.cues)} cues, {s.duration_s:.1f} s"
              + (f"; {lost}" if lost else "") + (f"; bad input {bad}" if bad else ""),
              highlight=False, markup=False, soft_wrap=True)
    for w in s.warnings:
        err.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)
    if s.session_id is not None:
        err.print(f"saved as session {s.session_id}", highlight=False)
    err.print(f"[dim]{DISCLAIMER}[/]")
