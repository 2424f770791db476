"""One live session: a source, the live pipeline, the feedback, the store.

``LiveSession(source, settings, on_event=..., store=..., person=...).run()`` blocks until
the source ends or ``stop()`` is called (from any thread, or Ctrl-C in the CLI), and
returns a ``LiveSummary``. Everything happens on the thread that calls ``run``: reading
the source, the pipeline, and ``on_event`` (the callbacks get plain JSON-able dicts, one
``"type"`` each: ``status``, ``angles``, ``cue``, ``rep``, ``gap``, ``warning``; see
``EVENT_TYPES``). Sound and the store work on their own threads so that nothing they do
delays a cue.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hingecoach import __version__
from hingecoach.analysis import DISCLAIMER, AnalysisSettings, max_flexion_deg
from hingecoach.angles import ANGLES, AngleModel, AngleSettings, angles_from_ups, calibrate
from hingecoach.core.conventions import PLACEMENTS, normalise_placement
from hingecoach.core.errors import HingecoachError, InputError, ParameterError
from hingecoach.core.timeseries import ChannelInfo, TimeSeries
from hingecoach.faults import RepMetrics, Thresholds, default_thresholds
from hingecoach.feedback.audio import AudioOut, AudioSettings
from hingecoach.feedback.cues import Cue, CueSettings
from hingecoach.live.camera import CameraAngles
from hingecoach.live.coach import LiveCoach
from hingecoach.live.imu import ImuAngles, LiveAxisSettings
from hingecoach.live.sink import StoreSink
from hingecoach.live.stream import ImuStream, Row, StreamSettings
from hingecoach.pose.camera import CAMERA_CHANNELS, CameraSettings
from hingecoach.reps import RepSettings
from hingecoach.sources.live import (
    BadInput,
    LineParser,
    ReplayTransport,
    SerialTransport,
    SourceSpec,
    Transport,
    UdpTransport,
    decode_datagram,
    monotonic_s,
    parse_source,
)
from hingecoach.store import Store, open_store, resolve_settings
from hingecoach.store.convert import thresholds_json

EVENT_TYPES = ("status", "angles", "cue", "rep", "gap", "warning")
IMU_CHANNELS = tuple(a.name for a in ANGLES)


@dataclass(frozen=True)
class LiveSettings:
    """Everything a live session needs besides the source. The threshold settings
    (placement, exercise, share_of_max, rounding_deg, too_fast_s) are None when not
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
    rounding_deg: float | None = None
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
    camera: CameraSettings = field(default_factory=CameraSettings)


@dataclass
class LiveSummary:
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

    def to_json(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "source": self.source, "reason": self.reason,
                "placement": self.placement, "reps": len(self.reps),
                "faulty_reps": sum(1 for m in self.reps if m.faults), "cues": len(self.cues),
                "duration_s": round(self.duration_s, 3), "stats": self.stats, "warnings": self.warnings,
                "latency_ms": {"cue": _pct(self.cue_latency_ms), "row": _pct(self.row_latency_ms),
                               "calibration": None if self.calibration_ms is None else round(self.calibration_ms, 3),
                               "audio_onset": _pct(self.audio_onset_ms)}}


def _pct(xs: list[float]) -> dict[str, Any]:
    if not xs:
        return {"n": 0}
    a = np.asarray(xs)
    return {"n": int(a.size), "p50": round(float(np.percentile(a, 50)), 3),
            "p99": round(float(np.percentile(a, 99)), 3), "max": round(float(a.max()), 3)}


def _camera_source(spec: SourceSpec) -> bool:
    if spec.kind == "webcam":
        return True
    if spec.kind == "replay":
        from hingecoach.sources.detect import VIDEO_SUFFIXES

        return Path(spec.target).suffix.lower() in VIDEO_SUFFIXES
    return False


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
        self._warnings: list[str] = []
        self._sink: StoreSink | None = None
        self._audio: AudioOut | None = None
        self._coach: LiveCoach | None = None
        self._row_latency: list[float] = []
        self._calibration_latency: float | None = None
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._audio_warned = threading.Event()
        self._audio_msgs: list[str] = []
        self._consumer_failed = False
        self._lock = threading.Lock()

    # -- public -----------------------------------------------------------------------
    @property
    def session_id(self) -> int | None:
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

    # -- events -----------------------------------------------------------------------
    def _emit(self, ev: dict[str, Any]) -> None:
        kind = ev["type"]
        if kind == "gap" and ev.get("state") == "closed" and self._sink is not None:
            self._sink.event("gap", ev.get("start_s"), sensor=ev.get("sensor"), end_s=ev.get("end_s"),
                             duration_s=ev.get("duration_s"))
        elif kind == "warning":
            msg = str(ev.get("message", ""))
            if msg not in self._warnings:
                self._warnings.append(msg)
            if self._sink is not None:
                self._sink.event("warning", None, what=ev.get("kind"), message=msg)
        for fn in ([self._on_event] if self._on_event is not None else []) + self._listeners:
            try:
                fn(ev)
            except Exception as e:  # a consumer's failure (a closed pipe, a gone browser) must
                if not self._consumer_failed:  # not end the session: it is said once and stored
                    self._consumer_failed = True
                    msg = f"an event consumer failed ({type(e).__name__}: {str(e)[:120]}); the session goes on"
                    self._warnings.append(msg)
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
                     "lumbar_rounding_deg": st.rounding_deg, "too_fast_s": st.too_fast_s}
        pth = None
        if self.person is not None and store is not None:
            p = store.person(self.person)
            if p is None and not st.save:
                raise HingecoachError(f"--person {self.person!r}: no such person in {store.url} (add "
                                      "--save to create it, or 'hingecoach person NAME --rounding-deg X')")
            pth = p.thresholds if p else None
        a, origin = resolve_settings(overrides, self.person, pth)
        if a.placement is None and placement_hint:
            a = replace(a, placement=placement_hint)
        self._origin = origin
        return replace(a, angles=st.angles, reps=st.reps, camera=st.camera)

    def _calibration(self, placement: str, a: AnalysisSettings) -> tuple[AngleModel | None, float | None,
                                                                            TimeSeries | None]:
        path = self.settings.calibration
        if not path:
            return None, None, None
        from hingecoach.sources.detect import read_recording

        cal = read_recording(path, placement=placement)
        model, ups = calibrate(cal, a.angles)
        maxflex = max_flexion_deg(angles_from_ups(cal, model, ups), a.reps)
        if maxflex is None:
            self._emit({"type": "warning", "kind": "calibration",
                        "message": f"{path}: no forward bend in the calibration: using the default "
                                   "lumbar_rounding threshold"})
        return model, maxflex, cal

    def _open_transport(self, spec: SourceSpec, placement: str | None) -> Transport:
        if self._transport is not None:
            return self._transport
        if spec.kind == "udp":
            return UdpTransport(spec.target, spec.port)
        if spec.kind == "serial":
            return SerialTransport(spec.target, spec.baud)
        if spec.kind == "replay":
            from hingecoach.sources.live import read_replay

            return ReplayTransport(read_replay(spec.target, placement), self.settings.speed)
        if spec.kind == "ble":
            from hingecoach.sources.ble import BleTransport

            return BleTransport(spec.target)
        raise ParameterError("--source", "an IMU source", str(spec))

    # -- the run ------------------------------------------------------------------------
    def _run(self, spec: SourceSpec) -> LiveSummary:
        if _camera_source(spec):
            return self._run_camera(spec)
        return self._run_imu(spec)

    def _common_start(self, placement: str, info: dict[str, Any], a: AnalysisSettings,
                      store: Store | None) -> None:
        st = self.settings
        if st.save and store is not None:
            self._sink = StoreSink(store, person=self.person, source=self.source, settings=a, info=info,
                                   extra={"live_settings": asdict(st)})
            self._session_id = self._sink.id
        if st.audio.sound or st.audio.speech:
            self._audio = AudioOut(st.audio, warn=self._audio_warn)

    def _run_imu(self, spec: SourceSpec) -> LiveSummary:
        store = self._open_store()
        a0 = self._analysis_settings(store, None)
        transport = self._open_transport(spec, a0.placement)
        try:
            meta = transport.meta
            placement = normalise_placement(a0.placement or meta.get("placement") or "T12")
            a = replace(a0, placement=placement)
            cal_model, maxflex, cal_rec = self._calibration(placement, a)
            thresholds = default_thresholds(placement, max_flexion_deg=maxflex, exercise=a.exercise,
                                            share_of_max=a.share_of_max, too_fast_s=a.too_fast_s,
                                            lumbar_rounding_deg=a.lumbar_rounding_deg)
            info: dict[str, Any] = {"source": self.source, "format": f"live-{spec.kind}", "placement": placement,
                                    "placement_meaning": PLACEMENTS[placement], "exercise": a.exercise,
                                    "notes": [], "calibration_source": "live: first still standing span"}
            self._common_start(placement, info, a, store)
            for w in meta.get("warnings", []):
                self._emit({"type": "warning", "kind": "source", "message": str(w)})
            if self._sink is not None and cal_rec is not None:
                self._sink.stream("calibration", cal_rec)
            return self._loop_imu(spec, transport, placement, a, thresholds, cal_model, maxflex, info)
        finally:
            transport.close()

    def _loop_imu(self, spec: SourceSpec, transport: Transport, placement: str, a: AnalysisSettings,
                  thresholds: Thresholds, cal_model: AngleModel | None, maxflex: float | None,
                  info: dict[str, Any]) -> LiveSummary:
        st = self.settings
        meta = transport.meta
        raw_meta = {"source": self.source, "placement": placement, "format": f"live-{spec.kind}"}
        state: dict[str, Any] = {"coach": None}

        def on_row(row: Row) -> None:
            if self._first_t is None:
                self._first_t = row.t
                self._emit({"type": "status", "state": "calibrating",
                            "message": "stand still and upright for 2 s (the neutral calibration)"})
            self._last_t = row.t
            if self._sink is not None:
                self._sink.raw(row, raw_meta)
            angles.add(row)

        def on_calibrated(model: dict[str, Any]) -> None:
            assert angles.rate_hz is not None
            coach = LiveCoach(placement, angles.rate_hz, thresholds, IMU_CHANNELS, self._emit,
                              on_rep=self._on_rep, on_cue=self._on_cue, rep_settings=a.reps,
                              cue_settings=st.cues, angles_hz=st.angles_hz, clock=self._clock)
            state["coach"] = self._coach = coach
            th = thresholds
            info.update(sample_rate_hz=model["sample_rate_hz"], calibration_window_s=model["window_s"])
            self._emit({"type": "status", "state": "calibrated", "threshold_deg": round(th.lumbar_rounding_deg, 2),
                        "threshold_source": th.lumbar_rounding_source, "thresholds": thresholds_json(th),
                        "placement": placement, "calibration_window_s": model["window_s"],
                        "sample_rate_hz": model["sample_rate_hz"], "max_flexion_deg": maxflex,
                        "message": f"calibrated: a cue sounds above {th.lumbar_rounding_deg:.0f} deg of lumbar "
                                   f"flexion ({th.lumbar_rounding_source})"})
            if self._sink is not None:
                self._sink.update(thresholds=th, info=dict(info),
                                  calibration={"max_flexion_deg": maxflex, "window_s": model["window_s"],
                                               "source": "live", "model": model})
            self._emit({"type": "status", "state": "running", "message": "running"})

        def on_angles(t: float, vals: dict[str, float], row: Row) -> None:
            coach: LiveCoach = state["coach"]
            if self._sink is not None:
                self._sink.angles(t, vals, ANGLE_INFO)
            # rows kept from before the calibration are not live: no latency for them
            coach.add(t, vals, None if angles.flushing else row.arrival_s, row.held)

        window_hint = meta.get("calibration_window_s")
        angles = ImuAngles(a.angles, on_angles, on_calibrated, self._emit,
                           rate_hint_hz=meta.get("sample_rate_hz"),
                           window_hint_s=tuple(window_hint) if window_hint else None,
                           calibration=cal_model, axis_settings=st.axes, source=self.source)
        stream = ImuStream(st.stream, transport.shared_clock, on_row, self._emit)
        parser = LineParser() if transport.kind == "line" else None
        self._emit({"type": "status", "state": "waiting", "source": self.source,
                    "message": f"waiting for data from {transport.name}"})
        reason = self._pump(transport, stream, parser, lambda: angles.calibrated)
        stream.finish()
        angles.finish()
        coach = state["coach"]
        if coach is not None:
            coach.finish()
        elif self._first_t is not None:
            self._emit({"type": "warning", "kind": "calibration",
                        "message": f"{self.source}: the session ended before a still standing calibration "
                                   "(stand still and upright for 2 s at the start): no angles"})
        stats = {"link": stream.summary(), "bad_input": dict(self._bad)}
        if not angles.calibrated:
            thresholds_out = None
        else:
            thresholds_out = thresholds
            stats["axes"] = angles.axes_info()
        return self._finish(reason, placement, thresholds_out, stats, info)

    def _pump(self, transport: Transport, stream: ImuStream, parser: LineParser | None,
              calibrated: Callable[[], bool]) -> str:
        st = self.settings
        t_start = self._clock()
        while True:
            if self._stop.is_set():
                return "stopped"
            if st.max_duration_s is not None and self._clock() - t_start >= st.max_duration_s:
                return "time limit"
            if transport.ended:
                return "source ended"
            items = transport.receive(st.poll_s)
            for payload, arrival in items:
                was = calibrated()
                try:
                    packets = [decode_datagram(payload, arrival)] if parser is None else parser.parse(payload, arrival)
                except BadInput as e:
                    self._flag(e.kind, e.detail)
                    continue
                for p in packets:
                    stream.push(p)
                done = self._clock() - arrival
                self._row_latency.append(done)
                if calibrated() and not was:  # this datagram ran the kept rows through
                    self._calibration_latency = done
            stream.poll(self._clock())
            self._drain_audio_warnings()
            self._drain_store_errors()

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
            list(coach.cue_list) if coach else [], stats, list(self._warnings), duration,
            [x * 1000 for x in coach.cue_latency_s] if coach else [],
            [x * 1000 for x in self._row_latency], None if self._calibration_latency is None
            else self._calibration_latency * 1000, list(self._audio.onsets_ms) if self._audio else [])
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
            summary.warnings = list(self._warnings)
        return summary

    # -- camera ---------------------------------------------------------------------------
    def _run_camera(self, spec: SourceSpec) -> LiveSummary:
        st = self.settings
        store = self._open_store()
        a = self._analysis_settings(store, "camera")
        a = replace(a, placement=None)
        frames, name, nominal = self._open_frames(spec)
        model = self._pose_model
        own_model = model is None
        if model is None:
            from hingecoach.pose.estimator import BlazePose

            model = BlazePose()
        info: dict[str, Any] = {"source": self.source, "format": f"live-{spec.kind}", "placement": "camera",
                                "placement_meaning": PLACEMENTS["camera"], "exercise": a.exercise, "notes": [],
                                "calibration_source": "first standing frames"}
        self._common_start("camera", info, a, store)
        state: dict[str, Any] = {"thresholds": None}

        def on_calibrated(m: dict[str, Any]) -> None:
            cam_round = cam.rounding_threshold_deg
            th = default_thresholds("camera", exercise=a.exercise, too_fast_s=a.too_fast_s,
                                    lumbar_rounding_deg=a.lumbar_rounding_deg, camera_rounding_deg=cam_round)
            state["thresholds"] = th
            assert cam.rate_hz is not None
            self._coach = LiveCoach("camera", cam.rate_hz, th, tuple(CAMERA_CHANNELS), self._emit,
                                    on_rep=self._on_rep, on_cue=self._on_cue, rep_settings=a.reps,
                                    cue_settings=st.cues, angles_hz=st.angles_hz, clock=self._clock)
            info.update(sample_rate_hz=m["sample_rate_hz"], calibration_window_s=m["window_s"])
            self._emit({"type": "status", "state": "calibrated", "threshold_deg": round(th.lumbar_rounding_deg, 2),
                        "threshold_source": th.lumbar_rounding_source, "thresholds": thresholds_json(th),
                        "placement": "camera", "calibration_window_s": m["window_s"],
                        "sample_rate_hz": m["sample_rate_hz"],
                        "message": f"calibrated: a cue sounds when the back bows beyond "
                                   f"{th.lumbar_rounding_deg:.0f} (virtual dowel)"})
            if self._sink is not None:
                self._sink.update(thresholds=th, info=dict(info),
                                  calibration={"window_s": m["window_s"], "source": "live camera",
                                               "bow_standing": m["bow_standing"]})
            self._emit({"type": "status", "state": "running", "message": "running"})

        def on_angles(t: float, vals: dict[str, float]) -> None:
            if self._first_t is None:
                self._first_t = t
            self._last_t = t
            assert self._coach is not None
            if self._sink is not None:
                self._sink.angles(t, vals, CAMERA_INFO)
            self._coach.add(t, vals, None if cam.flushing else state.get("arrival"))

        cam = CameraAngles(model, on_angles, on_calibrated, self._emit, st.camera, source=self.source)
        self._emit({"type": "status", "state": "waiting", "source": self.source,
                    "message": f"waiting for frames from {name}"})
        reason = "source ended"
        t_start = self._clock()
        try:
            it = iter(frames)
            wall0: float | None = None
            t0: float | None = None
            period = 1.0 / nominal if nominal and nominal > 0 else 0.0
            while True:
                if self._stop.is_set():
                    reason = "stopped"
                    break
                if st.max_duration_s is not None and self._clock() - t_start >= st.max_duration_s:
                    reason = "time limit"
                    break
                try:
                    i, t, rgb = next(it)
                except StopIteration:
                    break
                now = self._clock()
                if spec.kind == "replay" and st.speed > 0:
                    if wall0 is None or t0 is None:
                        wall0, t0 = now, t
                    due = wall0 + (t - t0) / st.speed
                    if now > due + period / st.speed:  # behind real time: as a camera would, drop it
                        cam.counts.dropped_behind += 1
                        continue
                    while due > now and not self._stop.is_set():
                        time.sleep(min(due - now, st.poll_s))
                        now = self._clock()
                state["arrival"] = now
                cam.add(i, t, rgb)
                self._row_latency.append(self._clock() - now)
                self._drain_audio_warnings()
                self._drain_store_errors()
        finally:
            if own_model:
                model.close()
        if self._coach is not None:
            self._coach.finish()
        stats = {"frames": cam.counts.as_dict(), "bad_input": dict(self._bad)}
        return self._finish(reason, "camera", state["thresholds"], stats, info)

    def _open_frames(self, spec: SourceSpec) -> tuple[Any, str, float | None]:
        if self._frames is not None:
            return self._frames, self.source, None
        if spec.kind == "webcam":
            from hingecoach.sources.video import iter_webcam

            return iter_webcam(int(spec.target)), self.source, None
        from hingecoach.sources.video import VideoReader

        if not Path(spec.target).exists():
            raise InputError(spec.target, "an existing video file", "no such file")
        reader = VideoReader(Path(spec.target))
        for w in reader.warnings:
            self._emit({"type": "warning", "kind": "source", "message": w})
        return reader, self.source, reader.info.fps


ANGLE_INFO = {a.name: ChannelInfo("deg", "sagittal", a.description) for a in ANGLES}
CAMERA_INFO = {k: ChannelInfo("deg", "image sagittal plane", v) for k, v in CAMERA_CHANNELS.items()}
