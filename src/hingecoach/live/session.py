"""One live session: a source, the live pipeline, the feedback, the store.

``LiveSession(source, settings, on_event=..., store=..., person=...).run()`` blocks until
the source ends or ``stop()`` is called (from any thread, or Ctrl-C in the CLI), and
returns a ``LiveSummary``. Everything happens on the thread that calls ``run``: reading
the source, the pipeline, and ``on_event`` (the callbacks get plain JSON-able dicts, one
``"type"`` each: ``status``, ``angles``, ``cue``, ``rep``, ``gap``, ``warning``; see
``EVENT_TYPES``). Sound and the store work on their own threads so that nothing they do
delays a cue.

The session is a shell: ``live.run_imu`` runs it on the IMU sources (transport ->
rows -> angles) and ``live.run_camera`` on the camera sources (frames -> pose ->
angles); both end in the same ``LiveCoach`` (reps, faults, cues), ``StoreSink`` and
``_finish``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from hingecoach import __version__
from hingecoach.analysis import DISCLAIMER, AnalysisSettings
from hingecoach.angles import AngleSettings
from hingecoach.core.errors import HingecoachError, ParameterError
from hingecoach.faults import RepMetrics, Thresholds
from hingecoach.feedback.audio import AudioOut, AudioSettings
from hingecoach.feedback.cues import Cue, CueSettings
from hingecoach.live.bounded import Messages, Reservoir
from hingecoach.live.coach import LiveCoach
from hingecoach.live.imu import LiveAxisSettings
from hingecoach.live.run_camera import is_camera_source, run_camera
from hingecoach.live.run_imu import run_imu
from hingecoach.live.sink import StoreSink
from hingecoach.live.stream import StreamSettings
from hingecoach.pose.camera import CameraSettings
from hingecoach.reps import RepSettings
from hingecoach.sources.live import SourceSpec, Transport, monotonic_s, parse_source
from hingecoach.store import Store, open_store, resolve_settings

EVENT_TYPES = ("status", "angles", "cue", "rep", "gap", "warning")


@dataclass(frozen=True)
class LiveSettings:
    """Everything a live session needs besides the source. The threshold settings
    (placement, exercise, share_of_max, lumbar_rounding_deg, too_fast_s) are None when not
    given: then the person's stored thresholds apply, else the defaults."""

    source: str = ""  # used when LiveSession gets no source of its own
    person: str | None = None  # used when LiveSession gets no person of its own
    speed: float = 1.0  # replay only: times real time; 0 = as fast as possible
    save: bool = True
    db: str | None = None  # store URL (default: $HINGECOACH_DB or the user data folder)
    calibration: str | None = None  # a calibration recording: still standing, maximal bends
    placement: str | None = None
    exercise: str | None = None
    share_of_max: float | None = None
    lumbar_rounding_deg: float | None = None  # the CLI's --rounding-deg
    too_fast_s: float | None = None
    angles_hz: float = 25.0  # "angles" events per second of samples (the live gauge)
    max_duration_s: float | None = None  # stop after this long (wall clock)
    poll_s: float = 0.01  # the loop wakes at least this often (time-outs, stop)
    warn_every_s: float = 5.0  # bad input of one kind is reported at most this often
    stream: StreamSettings = field(default_factory=StreamSettings)
    cues: CueSettings = field(default_factory=CueSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    angles: AngleSettings = field(default_factory=AngleSettings)
    axes: LiveAxisSettings = field(default_factory=LiveAxisSettings)
    reps: RepSettings = field(default_factory=RepSettings)
    # the live camera runs BlazePose full, as analyze does: on 2 idle cores it keeps 30
    # frames/s with none dropped (23 ms of CPU a frame, cue p99 21 ms) and judges r's 10
    # rounded reps as analyze does, where lite (19 ms) judges 8 (benchmarks/live_camera.py);
    # --pose-model lite for a slower machine
    camera: CameraSettings = field(default_factory=lambda: CameraSettings(pose_model="full"))
    camera_max_fps: float | None = 30.0  # faster cameras are decimated to this (live.frames.FrameRate)
    frame_queue: int = 3  # frames waiting for the pose model; more and the oldest is dropped


@dataclass
class LiveSummary:
    """What a live session did: its reps, cues, link and frame counters, warnings and
    latencies (ms, on this computer's monotonic clock)."""

    session_id: int | None
    source: str
    reason: str  # "source ended", "stopped", "time limit"
    placement: str
    thresholds: Thresholds | None
    reps: list[RepMetrics]
    incomplete: list[RepMetrics]
    cues: list[Cue]
    stats: dict[str, Any]
    warnings: list[str]
    duration_s: float  # of samples
    cue_latency_ms: list[float] = field(default_factory=list)  # arrival -> cue event delivered
    row_latency_ms: list[float] = field(default_factory=list)  # arrival -> its row and events done
    # of those, the datagram that completed the calibration and ran the rows kept until then
    # through the filters (datagrams that arrive meanwhile wait for it)
    calibration_ms: float | None = None
    audio_onset_ms: list[float] = field(default_factory=list)
    # rows measured when row_latency_ms holds a uniform sample of them (a long session)
    row_latency_n: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The summary as the "ended" event carries it: counts, stats and latency percentiles."""
        return {"session_id": self.session_id, "source": self.source, "reason": self.reason,
                "placement": self.placement, "reps": len(self.reps),
                "faulty_reps": sum(1 for m in self.reps if m.faults), "cues": len(self.cues),
                "duration_s": round(self.duration_s, 3), "stats": self.stats, "warnings": self.warnings,
                "latency_ms": {"cue": _pct(self.cue_latency_ms), "row": _pct(self.row_latency_ms, self.row_latency_n),
                               "calibration": None if self.calibration_ms is None else round(self.calibration_ms, 3),
                               "audio_onset": _pct(self.audio_onset_ms)}}


def _pct(xs: list[float], n: int | None = None) -> dict[str, Any]:
    """n, median, 99th percentile and maximum of latencies (ms); ``n``: how many there
    were, when ``xs`` is a uniform sample of them."""
    if not xs:
        return {"n": 0}
    a = np.asarray(xs)
    return {"n": int(a.size) if n is None else n, "p50": round(float(np.percentile(a, 50)), 3),
            "p99": round(float(np.percentile(a, 99)), 3), "max": round(float(a.max()), 3)}


class LiveSession:
    """One live run. Thread-safe stop; events delivered to callbacks from the session's thread."""

    def __init__(self, source: str, settings: LiveSettings | None = None, *,
                 on_event: Callable[[dict[str, Any]], None] | None = None, store: Store | None = None,
                 person: str | None = None, pose_model: Any = None,
                 transport: Transport | None = None, frames: Any = None,
                 clock: Callable[[], float] = monotonic_s) -> None:
        self.settings = settings or LiveSettings()
        self.source = source or self.settings.source
        self._on_event = on_event
        self._store = store
        self._own_store = False
        self.person = person if person is not None else self.settings.person
        self._stop = threading.Event()
        self._session_id: int | None = None
        self._clock = clock
        self._transport = transport  # tests swap the real I/O for a fake
        self._frames = frames  # camera: an iterable of (index, t, rgb) instead of the source
        self._pose_model = pose_model
        self._bad: dict[str, int] = {}
        self._bad_reported: dict[str, float] = {}
        self._warnings = Messages()
        self._sink: StoreSink | None = None
        self._audio: AudioOut | None = None
        self._coach: LiveCoach | None = None
        self._row_latency = Reservoir()
        self._calibration_latency: float | None = None
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._audio_msgs: list[str] = []
        self._consumer_failed = False
        self._lock = threading.Lock()

    # -- public -----------------------------------------------------------------------
    @property
    def session_id(self) -> int | None:
        """The stored session's id once the run has started storing it (None without --save)."""
        return self._session_id

    def stop(self) -> None:
        """End the session: ``run`` returns within ``poll_s`` (plus the store's last
        write) with the session stored as complete. Safe from any thread or a signal
        handler."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """``stop`` was called."""
        return self._stop.is_set()

    def add_listener(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """Another event consumer (the terminal display), called like ``on_event``."""
        self._listeners.append(fn)

    def run(self) -> LiveSummary:
        """Run until the source ends, ``stop()`` or ``max_duration_s``; the summary.

        Raises HingecoachError (or a subclass) for a bad source or setting; the session
        stored so far is kept and says why it ended."""
        st = self.settings
        spec = parse_source(self.source)
        if not (st.speed == 0 or (math.isfinite(st.speed) and st.speed > 0)):
            raise ParameterError("--speed", "a factor > 0 (1 = real time), or 0 for as fast as possible", st.speed)
        if st.angles_hz <= 0:
            raise ParameterError("angles_hz", "a rate > 0", st.angles_hz)
        try:
            return self._run(spec)
        except BaseException as e:
            self._abort(e)
            raise
        finally:
            if self._own_store and self._store is not None:
                self._store.close()

    def _abort(self, e: BaseException) -> None:
        """An error (or a second Ctrl-C) ended the run: keep what was stored, say why, and
        mark the session complete only for an interrupt (as ``SessionWriter`` does)."""
        if self._audio is not None:
            self._audio.close(timeout_s=0.5)
        sink, self._sink = self._sink, None
        if sink is not None:
            interrupted = isinstance(e, KeyboardInterrupt)
            if not interrupted:
                sink.event("error", None, message=str(e)[:500])
            sink.close(complete=interrupted)

    # -- events (this and what follows is the plumbing run_imu and run_camera share) -----
    def _emit(self, ev: dict[str, Any]) -> None:
        kind = ev["type"]
        if kind == "gap" and ev.get("state") == "closed" and self._sink is not None:
            self._sink.event("gap", ev.get("start_s"), sensor=ev.get("sensor"), end_s=ev.get("end_s"),
                             duration_s=ev.get("duration_s"))
        elif kind == "warning":
            msg = str(ev.get("message", ""))
            self._warnings.add(msg)
            if self._sink is not None:
                self._sink.event("warning", None, what=ev.get("kind"), message=msg)
        for fn in ([self._on_event] if self._on_event is not None else []) + self._listeners:
            try:
                fn(ev)
            except Exception as e:  # a consumer's failure (a closed pipe, a gone browser) must
                if not self._consumer_failed:  # not end the session: it is said once and stored
                    self._consumer_failed = True
                    msg = f"an event consumer failed ({type(e).__name__}: {str(e)[:120]}); the session goes on"
                    self._warnings.add(msg)
                    if self._sink is not None:
                        self._sink.event("warning", None, what="consumer", message=msg)

    def _flag(self, kind: str, detail: str) -> None:
        """Bad input: counted always, reported at most every warn_every_s per kind."""
        n = self._bad.get(kind, 0) + 1
        self._bad[kind] = n
        now = self._clock()
        last = self._bad_reported.get(kind)
        if last is None or now - last >= self.settings.warn_every_s:
            self._bad_reported[kind] = now
            self._emit({"type": "warning", "kind": kind, "count": n,
                        "message": f"{self.source}: {detail} ({n} so far; bad input is skipped, the "
                                   "last good values are held)"})

    def _audio_warn(self, msg: str) -> None:
        with self._lock:
            self._audio_msgs.append(msg)

    def _drain_audio_warnings(self) -> None:
        with self._lock:
            msgs, self._audio_msgs = self._audio_msgs, []
        for m in msgs:
            self._emit({"type": "warning", "kind": "audio", "message": m})

    # -- set-up -----------------------------------------------------------------------
    def _open_store(self) -> Store | None:
        st = self.settings
        if self._store is not None:
            return self._store
        if st.save or self.person:
            self._store = open_store(st.db, create=st.save)
            self._own_store = True
        return self._store

    def _analysis_settings(self, store: Store | None, placement_hint: str | None) -> AnalysisSettings:
        st = self.settings
        overrides = {"placement": st.placement, "exercise": st.exercise, "share_of_max": st.share_of_max,
                     "lumbar_rounding_deg": st.lumbar_rounding_deg, "too_fast_s": st.too_fast_s}
        pth = None
        if self.person is not None and store is not None:
            p = store.person(self.person)
            if p is None and not st.save:
                raise HingecoachError(f"--person {self.person!r}: no such person in {store.url} (add "
                                      "--save to create it, or 'hingecoach person NAME --rounding-deg X')")
            pth = p.thresholds if p else None
        a, _origin = resolve_settings(overrides, self.person, pth)
        if a.placement is None and placement_hint:
            a = replace(a, placement=placement_hint)
        return replace(a, angles=st.angles, reps=st.reps, camera=st.camera)

    # -- the run ------------------------------------------------------------------------
    def _run(self, spec: SourceSpec) -> LiveSummary:
        if is_camera_source(spec):
            return run_camera(self, spec)
        return run_imu(self, spec)

    def _common_start(self, placement: str, info: dict[str, Any], a: AnalysisSettings,
                      store: Store | None) -> None:
        st = self.settings
        if st.save and store is not None:
            self._sink = StoreSink(store, person=self.person, source=self.source, settings=a, info=info,
                                   extra={"live_settings": asdict(st)})
            self._session_id = self._sink.id
        if st.audio.sound or st.audio.speech:
            self._audio = AudioOut(st.audio, warn=self._audio_warn)

    def _drain_store_errors(self) -> None:
        sink = self._sink
        if sink is not None and sink.errors:
            msgs, sink.errors = sink.errors, []
            for m in msgs:
                self._emit({"type": "warning", "kind": "store", "message": f"the session could not be stored: {m}"})

    def _on_cue(self, cue: Cue, arrival: float) -> None:
        if self._audio is not None:
            self._audio.cue(time.perf_counter(), cue.phrase if self.settings.audio.speech else None)
        if self._sink is not None:
            self._sink.cue(cue)

    def _on_rep(self, m: RepMetrics) -> None:
        if self._sink is not None:
            self._sink.rep(m)
        coach = self._coach
        if self._audio is not None and coach is not None and m.complete:
            phrase = coach.rep_feedback(m)
            if phrase:
                self._audio.say(phrase)

    def _finish(self, reason: str, placement: str, thresholds: Thresholds | None, stats: dict[str, Any],
                info: dict[str, Any]) -> LiveSummary:
        coach = self._coach
        if self._audio is not None:
            self._audio.close()
            self._drain_audio_warnings()
            stats["audio"] = {"player": self._audio.status, "tones": self._audio.played,
                              "phrases": self._audio.spoken}
        duration = (self._last_t - self._first_t) if self._first_t is not None and self._last_t is not None else 0.0
        summary = LiveSummary(
            self._session_id, self.source, reason, placement, thresholds,
            list(coach.reps) if coach else [], list(coach.incomplete) if coach else [],
            list(coach.cue_list) if coach else [], stats, self._warnings.as_list(), duration,
            [x * 1000 for x in coach.cue_latency_s] if coach else [],
            [x * 1000 for x in self._row_latency], None if self._calibration_latency is None
            else self._calibration_latency * 1000, list(self._audio.onsets_ms) if self._audio else [],
            row_latency_n=self._row_latency.n)
        info.update(duration_s=round(duration, 3))
        self._emit({"type": "status", "state": "ended", "reason": reason, "summary": summary.to_json(),
                    "message": f"ended ({reason}): {len(summary.reps)} reps, {len(summary.cues)} cues",
                    "disclaimer": DISCLAIMER})
        if self._sink is not None:
            self._drain_store_errors()
            self._sink.close(complete=True, thresholds=thresholds, info=dict(info),
                             extra={"live": {"reason": reason, "stats": stats, "version": __version__}})
            if self._sink.errors:
                self._warnings.extend(self._sink.errors)
            summary.warnings = self._warnings.as_list()
        return summary
