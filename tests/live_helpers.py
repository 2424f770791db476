"""Helpers of the live tests (tests/live): quiet settings, simulated recordings, the
comparisons with the offline analysis and the simulator's truth, a run over a simulated
link, and a real-time UDP sender."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from hingecoach.feedback.audio import AudioSettings
from hingecoach.live import LiveSession, LiveSettings
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.live import encode_datagram
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.testing.link_sim import LinkSettings, ScheduledTransport, VirtualClock, schedule

QUIET = AudioSettings(sound=False, speech=False)


def settings(**kw) -> LiveSettings:
    kw.setdefault("save", False)
    kw.setdefault("speed", 0)
    return LiveSettings(audio=QUIET, **kw)


def sim_file(tmp_path: Path, name: str = "sim.csv", **kw):
    rec, _truth, reps = simulate(SimSettings(**kw))
    path = tmp_path / name
    write_imu_csv(path, rec)
    return path, rec, reps


def assert_same_reps(offline, live, tol_s: float = 0.05):
    assert len(live) == len(offline)
    for m, n in zip(offline, live, strict=True):
        assert n.index == m.index
        for k in ("start_s", "bottom_s", "end_s"):
            assert getattr(n, k) == pytest.approx(getattr(m, k), abs=tol_s), (m.index, k)
        assert n.peak_lumbar_flexion_deg == pytest.approx(m.peak_lumbar_flexion_deg, abs=1.0)
        assert n.faults == m.faults, (m.index, m.faults, n.faults)


def assert_cues_match_truth(cues, truth_reps, to_true=lambda t: t):
    """Exactly one lumbar_rounding cue inside each rounded rep; none for the others; no
    lumbar cue outside a rep."""
    lumbar = [to_true(c.sample_time_s) for c in cues if c.fault == "lumbar_rounding"]
    for r in truth_reps:
        inside = [t for t in lumbar if r.start_s <= t <= r.end_s]
        if r.pattern == "rounded":
            assert len(inside) == 1, (r.index, inside)
        else:
            assert inside == [], (r.index, r.pattern, inside)
    assert all(any(r.start_s <= t <= r.end_s for r in truth_reps) for t in lumbar)
    other = [c for c in cues if c.fault != "lumbar_rounding"]
    for c in other:  # a lean-back cue only after an overextended rep
        t = to_true(c.sample_time_s)
        owner = [r for r in truth_reps if r.end_s <= t <= r.end_s + 2.5]
        assert owner and owner[0].pattern == "overextended", (c, owner)


def run_link(rec, link: LinkSettings, **kw):
    sent = schedule(rec, link)
    clock = VirtualClock()
    events: list[dict] = []
    s = LiveSession("udp:127.0.0.1:9", settings(**kw), on_event=events.append,
                    transport=ScheduledTransport(sent, clock), clock=clock).run()
    return s, events


def lower_to_true(link: LinkSettings):
    off, drift = link.lower_clock
    return lambda t: (t - off) / (1.0 + drift)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def send_realtime(rec, port: int, stop: threading.Event, t_offset_upper: float = 0.0) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    try:
        for i, t in enumerate(rec.time_s):
            if stop.is_set():
                return
            due = t0 + float(t - rec.time_s[0])
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            for side, off in (("lower", 0.0), ("upper", t_offset_upper)):
                sock.sendto(encode_datagram(side, float(t) + off, rec[f"{side}_acc"][i], rec[f"{side}_gyr"][i]),
                            ("127.0.0.1", port))
    finally:
        sock.close()
