"""The IMU runner of a live session: a transport's datagrams or lines -> rows -> angles
-> reps, faults and cues, stored as they come.

``run_imu(session, spec)`` is ``LiveSession.run`` for the IMU sources (``udp:``,
``serial:``, ``ble:``, ``replay:`` of a recording). It is part of the session: it reads
the session's settings and uses its event, store and audio plumbing (``_emit``,
``_sink``, ``_finish``, ...), which live in ``live.session``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hingecoach.analysis import AnalysisSettings, max_flexion_deg
from hingecoach.angles import ANGLES, AngleModel, angles_from_ups, calibrate
from hingecoach.core.conventions import PLACEMENTS, normalise_placement
from hingecoach.core.errors import ParameterError
from hingecoach.core.timeseries import ChannelInfo, TimeSeries
from hingecoach.faults import Thresholds, default_thresholds
from hingecoach.live.coach import LiveCoach
from hingecoach.live.imu import ImuAngles
from hingecoach.live.stream import ImuStream, Row
from hingecoach.sources.live import (
    BadInput,
    LineParser,
    PairTransport,
    ReplayTransport,
    SerialTransport,
    SourceSpec,
    Transport,
    UdpTransport,
    decode_datagram,
)
from hingecoach.store.convert import thresholds_json

if TYPE_CHECKING:
    from hingecoach.live.session import LiveSession, LiveSummary

IMU_CHANNELS = tuple(a.name for a in ANGLES)
ANGLE_INFO = {a.name: ChannelInfo("deg", "sagittal", a.description) for a in ANGLES}


MIN_WAIT_S = 0.0005  # the shortest sleep of the loop (a due time just passed: no busy loop)

def run_imu(session: LiveSession, spec: SourceSpec) -> LiveSummary:
    """Run ``session`` on an IMU source until it ends, is stopped or times out."""
    store = session._open_store()
    a0 = session._analysis_settings(store, None)
    transport = _open_transport(session, spec, a0.placement)
    try:
        meta = transport.meta
        placement = normalise_placement(a0.placement or meta.get("placement") or "T12")
        a = replace(a0, placement=placement)
        cal_model, maxflex, cal_rec = _calibration(session, placement, a)
        thresholds = default_thresholds(placement, max_flexion_deg=maxflex, exercise=a.exercise,
                                        share_of_max=a.share_of_max, too_fast_s=a.too_fast_s,
                                        lumbar_rounding_deg=a.lumbar_rounding_deg)
        info: dict[str, Any] = {"source": session.source, "format": f"live-{spec.kind}", "placement": placement,
                                "placement_meaning": PLACEMENTS[placement], "exercise": a.exercise,
                                "notes": [], "calibration_source": "live: first still standing span"}
        session._common_start(placement, info, a, store)
        for w in meta.get("warnings", []):
            session._emit({"type": "warning", "kind": "source", "message": str(w)})
        if session._sink is not None and cal_rec is not None:
            session._sink.stream("calibration", cal_rec)
        return _loop(session, spec, transport, placement, a, thresholds, cal_model, maxflex, info)
    finally:
        transport.close()


def _loop(session: LiveSession, spec: SourceSpec, transport: Transport, placement: str,
          a: AnalysisSettings, thresholds: Thresholds, cal_model: AngleModel | None, maxflex: float | None,
          info: dict[str, Any]) -> LiveSummary:
    """Rows through the calibration and the coach until the source ends; the summary."""
    st = session.settings
    meta = transport.meta
    raw_meta = {"source": session.source, "placement": placement, "format": f"live-{spec.kind}"}
    state: dict[str, Any] = {"coach": None}

    def on_row(row: Row) -> None:
        if session._first_t is None:
            session._first_t = row.t
            session._emit({"type": "status", "state": "calibrating",
                           "message": "stand still and upright for 2 s (the neutral calibration)"})
        session._last_t = row.t
        if session._sink is not None:
            session._sink.raw(row, raw_meta)
        angles.add(row)

    def on_calibrated(model: dict[str, Any]) -> None:
        assert angles.rate_hz is not None
        coach = LiveCoach(placement, angles.rate_hz, thresholds, IMU_CHANNELS, session._emit,
                          on_rep=session._on_rep, on_cue=session._on_cue, rep_settings=a.reps,
                          cue_settings=st.cues, angles_hz=st.angles_hz, clock=session._clock)
        state["coach"] = session._coach = coach
        th = thresholds
        info.update(sample_rate_hz=model["sample_rate_hz"], calibration_window_s=model["window_s"])
        session._emit({"type": "status", "state": "calibrated", "threshold_deg": round(th.lumbar_rounding_deg, 2),
                       "threshold_source": th.lumbar_rounding_source, "thresholds": thresholds_json(th),
                       "placement": placement, "calibration_window_s": model["window_s"],
                       "sample_rate_hz": model["sample_rate_hz"], "max_flexion_deg": maxflex,
                       "message": f"calibrated: a cue sounds above {th.lumbar_rounding_deg:.0f} deg of lumbar "
                                  f"flexion ({th.lumbar_rounding_source})"})
        if session._sink is not None:
            session._sink.update(thresholds=th, info=dict(info),
                                 calibration={"max_flexion_deg": maxflex, "window_s": model["window_s"],
                                              "source": "live", "model": model})
        session._emit({"type": "status", "state": "running", "message": "running"})

    def on_angles(t: float, vals: dict[str, float], row: Row) -> None:
        coach: LiveCoach = state["coach"]
        if session._sink is not None:
            session._sink.angles(t, vals, ANGLE_INFO)
        # rows kept from before the calibration are not live: no latency for them
        coach.add(t, vals, None if angles.flushing else row.arrival_s, row.held)

    window_hint = meta.get("calibration_window_s")
    angles = ImuAngles(a.angles, on_angles, on_calibrated, session._emit,
                       rate_hint_hz=meta.get("sample_rate_hz"),
                       window_hint_s=tuple(window_hint) if window_hint else None,
                       calibration=cal_model, axis_settings=st.axes, source=session.source,
                       placement=placement)
    stream = ImuStream(st.stream, transport.shared_clock, on_row, session._emit)
    parser = LineParser() if transport.kind == "line" else None
    session._emit({"type": "status", "state": "waiting", "source": session.source,
                   "message": f"waiting for data from {transport.name}"})
    reason = _pump(session, transport, stream, parser, lambda: angles.calibrated)
    if reason == "source ended" and meta.get("end_reason"):  # e.g. a phone that stopped answering
        session._emit({"type": "warning", "kind": "source", "message": str(meta["end_reason"])})
    stream.finish()
    angles.finish()
    coach = state["coach"]
    if coach is not None:
        coach.finish()
    elif session._first_t is not None:
        session._emit({"type": "warning", "kind": "calibration",
                       "message": f"{session.source}: the session ended before a still standing calibration "
                                  "(stand still and upright for 2 s at the start): no angles"})
    stats = {"link": stream.summary(), "bad_input": dict(session._bad)}
    if not angles.calibrated:
        thresholds_out = None
    else:
        thresholds_out = thresholds
        stats["axes"] = angles.axes_info()
    return session._finish(reason, placement, thresholds_out, stats, info)


def _pump(session: LiveSession, transport: Transport, stream: ImuStream, parser: LineParser | None,
          calibrated: Callable[[], bool]) -> str:
    """Receive, decode and push datagrams or lines until the run ends; returns why it ended."""
    st = session.settings
    t_start = session._clock()
    while True:
        if session._stop.is_set():
            return "stopped"
        if st.max_duration_s is not None and session._clock() - t_start >= st.max_duration_s:
            return "time limit"
        if transport.ended:
            return "source ended"
        # wake when a held sample or a waiting row is due, not only every poll_s
        timeout = st.poll_s
        due = stream.next_due_s()
        if due is not None:
            timeout = min(timeout, max(MIN_WAIT_S, due - session._clock()))
        items = transport.receive(timeout)
        for payload, arrival in items:
            was = calibrated()
            try:
                packets = [decode_datagram(payload, arrival)] if parser is None else parser.parse(payload, arrival)
            except BadInput as e:
                session._flag(e.kind, e.detail)
                continue
            for p in packets:
                stream.push(p)
            done = session._clock() - arrival
            session._row_latency.append(done)
            if calibrated() and not was:  # this datagram ran the kept rows through
                session._calibration_latency = done
        stream.poll(session._clock())
        session._drain_audio_warnings()
        session._drain_store_errors()


def _calibration(session: LiveSession, placement: str,
                 a: AnalysisSettings) -> tuple[AngleModel | None, float | None, TimeSeries | None]:
    """The ``--calibration`` file's angle model, maximum flexion (deg) and recording, or Nones."""
    path = session.settings.calibration
    if not path:
        return None, None, None
    from hingecoach.sources.detect import read_recording

    cal = read_recording(path, placement=placement)
    model, ups = calibrate(cal, a.angles)
    maxflex = max_flexion_deg(angles_from_ups(cal, model, ups), a.reps)
    if maxflex is None:
        session._emit({"type": "warning", "kind": "calibration",
                       "message": f"{path}: no forward bend in the calibration: using the default "
                                  "lumbar_rounding threshold"})
    return model, maxflex, cal


def _open_transport(session: LiveSession, spec: SourceSpec, placement: str | None) -> Transport:
    """The transport for ``spec`` (the test's fake when the session was given one)."""
    if session._transport is not None:
        return session._transport
    if spec.kind == "udp":
        return UdpTransport(spec.target, spec.port)
    if spec.kind == "serial":
        return SerialTransport(spec.target, spec.baud)
    if spec.kind == "replay":
        from hingecoach.sources.live import read_replay

        return ReplayTransport(read_replay(spec.target, placement), session.settings.speed)
    if spec.kind == "ble":
        from hingecoach.sources.ble import BleTransport

        return BleTransport(spec.target)
    if spec.kind == "pair":
        return open_pair(spec)
    raise ParameterError("--source", "an IMU source", str(spec))


def open_pair(spec: SourceSpec, **phone_kw: Any) -> PairTransport:
    """Each sensor's own transport (a phone, or a UDP sender of one sensor), as one;
    ``phone_kw`` goes to each ``PhyphoxTransport`` (the tests' clock)."""
    from hingecoach.sources.phyphox_live import PhyphoxTransport

    parts: dict[str, Transport] = {}
    try:
        for role, part in spec.parts:
            if part.kind == "phyphox":
                parts[role] = PhyphoxTransport(part.target, role, **phone_kw)
            else:
                parts[role] = UdpTransport(part.target, part.port)
    except BaseException:
        for tr in parts.values():
            tr.close()
        raise
    return PairTransport(parts)
