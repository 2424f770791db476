"""Two phones running phyphox (remote access on) as the two sensors of a live session,
against local fake phones on 127.0.0.1 that replay a simulated two-sensor recording,
each on its own clock: the same reps as the offline analysis, the same cues as a
replay of the file, and a phone that stops answering ends the session with the reason,
keeping what was stored."""

from __future__ import annotations

import time

import pytest

from cli_helpers import run_cli
from hingecoach.analysis import analyze_file
from hingecoach.core.errors import ParameterError
from hingecoach.live import LiveSession
from hingecoach.live.run_imu import open_pair
from hingecoach.sources import phyphox_live
from hingecoach.sources.live import PairTransport, parse_source
from hingecoach.sources.phyphox_live import PhyphoxTransport
from hingecoach.store import open_store
from live_helpers import assert_cues_match_truth, free_udp_port, settings, sim_file
from phyphox_fake import FakePhone, VirtualTime

LOWER_CLOCK = (12.5, 40e-6)  # each phone's experiment clock: offset (s), drift
UPPER_CLOCK = (301.0, -70e-6)


def _back(t: float) -> float:
    """The lower phone's clock -> the recording's time."""
    return (t - LOWER_CLOCK[0]) / (1.0 + LOWER_CLOCK[1])


@pytest.fixture
def phones(tmp_path):
    """A simulated recording written to a file, and two fake phones serving its sensors
    (the upper one waits for the remote start)."""
    path, rec, truth = sim_file(tmp_path, pattern=["good", "rounded", "overextended", "rounded", "squat",
                                                   "good", "rounded"], seed=12)
    vt = VirtualTime()
    t = rec.time_s - rec.time_s[0]
    lower = FakePhone(t, rec["lower_acc"], rec["lower_gyr"], vt, offset=LOWER_CLOCK[0], drift=LOWER_CLOCK[1])
    upper = FakePhone(t, rec["upper_acc"], rec["upper_gyr"], vt, offset=UPPER_CLOCK[0], drift=UPPER_CLOCK[1],
                      measuring=False)
    yield path, rec, truth, vt, lower, upper
    for p in (lower, upper):
        p.close()


def _run(vt, lower, upper, duration_s, **kw):
    src = f"phyphox:lower={lower.url},upper={upper.url}"
    transport = open_pair(parse_source(src), clock=vt, sleep=vt.sleep)
    events: list[dict] = []
    s = LiveSession(src, settings(max_duration_s=duration_s, **kw), on_event=events.append,
                    transport=transport, clock=vt).run()
    return s, events


def test_two_phones_give_the_reps_of_analyze_and_the_cues_of_a_replay(phones):
    path, rec, truth, vt, lower, upper = phones
    s, _events = _run(vt, lower, upper, float(rec.time_s[-1] - rec.time_s[0]) + 1.0)
    offline = analyze_file(path)
    assert s.reason == "time limit"
    assert len(s.reps) == len(offline.reps) == 7
    for m, n in zip(offline.reps, s.reps, strict=True):
        for k in ("start_s", "bottom_s", "end_s"):
            assert _back(getattr(n, k)) == pytest.approx(getattr(m, k), abs=0.05), (m.index, k)
        assert n.peak_lumbar_flexion_deg == pytest.approx(m.peak_lumbar_flexion_deg, abs=1.0)
        assert n.faults == m.faults
    assert s.thresholds == offline.thresholds
    replayed = LiveSession(f"replay:{path}", settings()).run()
    assert [c.fault for c in s.cues] == [c.fault for c in replayed.cues]
    for c, r in zip(s.cues, replayed.cues, strict=True):
        assert _back(c.sample_time_s) == pytest.approx(r.sample_time_s, abs=0.05)
    assert_cues_match_truth(s.cues, truth, _back)
    clock = s.stats["link"]["clock"]
    assert clock["shared"] is False
    assert clock["upper_vs_lower_ppm"] == pytest.approx(-110.0, abs=20.0)
    assert "/control" in upper.requests and "/control" not in lower.requests  # started the waiting phone
    link = s.stats["link"]["sensors"]
    assert link["lower"]["lost"] == link["upper"]["lost"] == 0


def test_a_phone_that_stops_answering_ends_the_session_and_keeps_what_was_stored(phones, tmp_path,
                                                                                  monkeypatch):
    _path, rec, truth, vt, lower, upper = phones
    monkeypatch.setattr(phyphox_live, "GIVE_UP_S", 2.0)
    db = tmp_path / "h.db"
    stop_at = truth[3].end_s + 0.5  # after four reps
    seen: list[dict] = []

    def on_event(e: dict) -> None:
        seen.append(e)
        if vt.now >= stop_at and upper.answering:
            upper.answering = False  # the phone left the network

    src = f"phyphox:lower={lower.url},upper={upper.url}"
    sess = LiveSession(src, settings(save=True, db=str(db), max_duration_s=200.0), on_event=on_event,
                       transport=open_pair(parse_source(src), clock=vt, sleep=vt.sleep), clock=vt)
    s = sess.run()
    assert s.reason == "source ended"
    assert vt.now < stop_at + 10.0
    why = [w for w in s.warnings if "no answer" in w]
    assert why and "upper" in why[0] and upper.url in why[0]
    gaps = [e for e in seen if e["type"] == "gap" and e.get("sensor") == "upper"]
    assert gaps, "the silent phone is a gap while the session waits for it"
    assert len(s.reps) == 4
    with open_store(db, create=False) as st:
        r = st.session(s.session_id)
        assert r.summary.complete and r.summary.source == src
        assert [m.faults for m in r.reps] == [m.faults for m in s.reps]
        assert any("no answer" in str(e.data.get("message")) for e in r.events if e.kind == "warning")
        raw = st.stream(s.session_id, "raw")
        assert raw is not None
        # every row made before the phone went silent is stored, on the lower phone's clock
        assert _back(float(raw.time_s[-1])) == pytest.approx(stop_at, abs=0.2)
        assert len(raw) == pytest.approx((stop_at - 0.0) * rec.sample_rate_hz, abs=25)


def test_a_phone_and_a_udp_sensor_make_a_pair():
    spec = parse_source(f"lower=udp:127.0.0.1:{free_udp_port()},upper=phyphox:http://127.0.0.1:1")
    assert [(r, p.kind) for r, p in spec.parts] == [("lower", "udp"), ("upper", "phyphox")]
    tr = open_pair(spec)
    try:
        assert isinstance(tr, PairTransport) and tr.shared_clock is False
        assert isinstance(tr.parts["upper"], PhyphoxTransport) and tr.parts["upper"].sensor == "upper"
    finally:
        tr.close()


@pytest.mark.parametrize(("spec", "text"), [
    ("phyphox:lower=http://a:8080,upper=http://b:8080", "lower=phyphox:http://a:8080,upper=phyphox:http://b:8080"),
    ("upper=phyphox:http://b:8080,lower=udp:9000", "lower=udp:127.0.0.1:9000,upper=phyphox:http://b:8080"),
])
def test_pair_specs(spec, text):
    assert str(parse_source(spec)) == text
    assert str(parse_source(text)) == text


@pytest.mark.parametrize(("spec", "match"), [
    ("phyphox:http://a:8080", "a phone is one sensor"),
    ("phyphox:lower=http://a:8080", "both sensors"),
    ("lower=udp:9000,lower=udp:9001", "each sensor once"),
    ("lower=serial:/dev/ttyUSB0,upper=udp:9000", "one sensor"),
    ("phyphox:lower=ftp://a:1,upper=http://b:2", "HOST:PORT"),
    ("middle=udp:9000,upper=udp:9001", "lower=SOURCE"),
])
def test_bad_pair_specs(spec, match):
    with pytest.raises(ParameterError, match=match):
        parse_source(spec)


def test_the_live_command_runs_on_two_phones_in_real_time(tmp_path):
    """The CLI builds the pair from --source alone: real time, real HTTP, stored raw rows from both."""
    _path, rec, _truth = sim_file(tmp_path, pattern=["good"], seed=4)
    t = rec.time_s - rec.time_s[0]
    lower = FakePhone(t, rec["lower_acc"], rec["lower_gyr"], time.monotonic, offset=3.0)
    upper = FakePhone(t, rec["upper_acc"], rec["upper_gyr"], time.monotonic, offset=70.0)
    db = tmp_path / "h.db"
    try:
        r = run_cli("live", "--source", f"phyphox:lower={lower.url},upper={upper.url}", "--duration", "2",
                    "--no-sound", "--db", str(db))
    finally:
        lower.close()
        upper.close()
    assert r.returncode == 0, r.stderr
    assert "ended (time limit)" in r.stderr
    with open_store(db, create=False) as st:
        sid = st.sessions()[0].id
        raw = st.stream(sid, "raw")
        assert raw is not None and len(raw) > 50  # rows of both phones, paired
        assert st.session(sid).info["format"] == "live-pair"
