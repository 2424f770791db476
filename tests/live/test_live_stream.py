"""The live stream's parts: decoding, source specs, the jitter buffer, clock alignment,
pairing two sensors into rows, and bad values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hingecoach.core.errors import ParameterError
from hingecoach.live.stream import ClockFit, ImuStream, JitterBuffer, Row, SensorStats, StreamSettings
from hingecoach.sources.live import (
    IMU_COLUMNS,
    BadInput,
    LineAssembler,
    LineParser,
    Packet,
    decode_datagram,
    encode_datagram,
    parse_source,
)

G = [0.0, 0.0, 9.81]
Z = [0.0, 0.0, 0.0]


def pk(t: float, sensor: str = "lower", arrival: float | None = None, seq: int | None = None,
       acc: list[float] | None = None) -> Packet:
    return Packet(sensor, t, list(acc or G), list(Z), t if arrival is None else arrival, seq)


# -- decoding -------------------------------------------------------------------------------
def test_datagram_round_trip():
    d = encode_datagram("upper", 12.345678, [0.1, 0.2, 9.8], [0.01, -0.02, 0.03], seq=7)
    p = decode_datagram(d, 5.0)
    assert (p.sensor, p.t, p.acc, p.gyr, p.seq, p.arrival_s) == ("upper", 12.345678, [0.1, 0.2, 9.8],
                                                                  [0.01, -0.02, 0.03], 7, 5.0)
    # extra keys are ignored, a magnetometer is allowed
    obj = json.loads(d)
    obj.update(mag=[1, 2, 3], battery=0.8)
    assert decode_datagram(json.dumps(obj).encode(), 0.0).t == pytest.approx(12.345678)


@pytest.mark.parametrize(("data", "kind"), [
    (b"\xff\xfe garbage", "malformed"),
    (b"[1, 2, 3]", "malformed"),
    (b'{"sensor": "middle", "t": 1, "acc": [0,0,9.8], "gyr": [0,0,0]}', "unknown_sensor"),
    (b'{"t": 1, "acc": [0,0,9.8], "gyr": [0,0,0]}', "unknown_sensor"),
    (b'{"sensor": "lower", "t": NaN, "acc": [0,0,9.8], "gyr": [0,0,0]}', "bad_field"),
    (b'{"sensor": "lower", "t": "1", "acc": [0,0,9.8], "gyr": [0,0,0]}', "bad_field"),
    (b'{"sensor": "lower", "t": 1, "acc": [0,0], "gyr": [0,0,0]}', "bad_field"),
    (b'{"sensor": "lower", "t": 1, "acc": [0,0,"x"], "gyr": [0,0,0]}', "bad_field"),
    (b'{"sensor": "lower", "t": 1, "acc": [0,0,9.8]}', "bad_field"),
])
def test_bad_datagrams_name_what_was_wrong(data, kind):
    with pytest.raises(BadInput) as e:
        decode_datagram(data, 0.0)
    assert e.value.kind == kind


def test_nan_values_pass_the_decoder_for_the_stream_to_hold():
    p = decode_datagram(b'{"sensor": "lower", "t": 1, "acc": [0, NaN, 9.8], "gyr": [0, 0, 0]}', 0.0)
    assert math.isnan(p.acc[1])


def test_line_parser_csv_header_and_json():
    lp = LineParser()
    row = ",".join(["1.5"] + [str(k) for k in range(12)])
    lo, up = lp.parse(row, 3.0)
    assert (lo.sensor, lo.t, lo.acc, lo.gyr) == ("lower", 1.5, [0, 1, 2], [3, 4, 5])
    assert (up.sensor, up.acc, up.gyr) == ("upper", [6, 7, 8], [9, 10, 11])
    # a header line reorders the columns
    cols = list(reversed(IMU_COLUMNS))
    assert lp.parse(",".join(cols), 3.0) == []
    vals = {c: float(k) for k, c in enumerate(IMU_COLUMNS)}
    lo2, _ = lp.parse(",".join(str(vals[c]) for c in cols), 3.0)
    assert lo2.t == 0.0 and lo2.acc == [1.0, 2.0, 3.0]
    assert lp.parse("# a comment", 0.0) == [] and lp.parse("", 0.0) == []
    (j,) = lp.parse(encode_datagram("upper", 2.0, G, Z).decode(), 0.0)
    assert j.sensor == "upper" and j.t == 2.0


@pytest.mark.parametrize("line", ["1,2,3", "a,b,c,d,e,f,g,h,i,j,k,l,m", "{not json", "nan" + ",0" * 12,
                                  "time_s,lower_acc_x"])
def test_line_parser_rejects_lines_that_do_not_parse(line):
    with pytest.raises(BadInput):
        LineParser().parse(line, 0.0)


def test_line_assembler_joins_pieces():
    la = LineAssembler()
    assert la.feed(b"1,2,") == []
    assert la.feed(b"3\r\n4,5") == ["1,2,3"]
    assert la.feed(b",6\n7\n") == ["4,5,6", "7"]


@pytest.mark.parametrize(("spec", "kind", "target", "port"), [
    ("udp:127.0.0.1:9000", "udp", "127.0.0.1", 9000),
    ("udp:9001", "udp", "127.0.0.1", 9001),
    ("udp:[::1]:9002", "udp", "::1", 9002),
    ("serial:/dev/ttyUSB0", "serial", "/dev/ttyUSB0", 0),
    ("ble:AA:BB:CC:DD:EE:FF", "ble", "AA:BB:CC:DD:EE:FF", 0),
    ("replay:some/file.csv", "replay", "some/file.csv", 0),
    ("webcam:1", "webcam", "1", 0),
])
def test_source_specs(spec, kind, target, port):
    s = parse_source(spec)
    assert (s.kind, s.target, s.port) == (kind, target, port)


def test_serial_baud_rate():
    assert parse_source("serial:/dev/ttyACM0@9600").baud == 9600


@pytest.mark.parametrize("spec", ["udp:127.0.0.1:99999", "udp:host:", "tcp:1.2.3.4:5", "file.csv",
                                  "webcam:x", "serial:/dev/x@fast", ""])
def test_bad_source_specs(spec):
    with pytest.raises(ParameterError):
        parse_source(spec)


# -- jitter buffer --------------------------------------------------------------------------
def test_in_order_samples_go_out_at_once():
    jb = JitterBuffer(SensorStats())
    for k in range(20):
        out = jb.push(pk(k * 0.01))
        assert [p.t for p in out] == [k * 0.01]


def test_reordered_sample_is_put_back_once_reordering_was_seen():
    st = SensorStats()
    jb = JitterBuffer(st, max_hold_s=0.05)
    released = []
    for k in range(20):
        released += jb.push(pk(k * 0.01))
    # the first overtaken sample is too late (nothing waited yet): dropped, and learnt from
    released += jb.push(pk(0.21, arrival=0.21))
    released += jb.push(pk(0.20, arrival=0.215))
    assert st.late == 1
    # from now on the buffer waits a little for a missing sample
    assert 0 < jb.hold_s <= 0.05
    released += jb.push(pk(0.23, arrival=0.23))  # 0.22 is late: held
    assert released[-1].t == 0.21
    released += jb.push(pk(0.22, arrival=0.232))
    assert [p.t for p in released[-2:]] == [0.22, 0.23]
    assert st.reordered == 1
    times = [p.t for p in released]
    assert times == sorted(times)


def test_a_lost_sample_is_given_up_after_the_hold():
    st = SensorStats()
    jb = JitterBuffer(st, max_hold_s=0.05)
    jb._delays.append(0.02)  # reordering seen before: hold 40 ms
    for k in range(10):
        jb.push(pk(k * 0.01))
    assert jb.push(pk(0.11, arrival=0.11)) == []  # 0.10 missing
    assert jb.poll(0.13) == []
    assert [p.t for p in jb.poll(0.151)] == [0.11]
    assert st.lost == 1


def test_duplicates_and_sequence_numbers():
    st = SensorStats()
    jb = JitterBuffer(st)
    for k in range(5):
        jb.push(pk(k * 0.01, seq=k))
    assert jb.push(pk(0.04, seq=4)) == []
    assert jb.push(pk(0.02, seq=2)) == []
    assert st.duplicates == 2 and st.late == 0
    # a jump in seq is a loss even when the time step looks regular (no reordering seen on
    # this link: nothing waits for the missing two)
    out = jb.push(pk(0.05, seq=7))
    assert [p.seq for p in out] == [7] and st.lost == 2


def test_a_restarted_sensor_clock_is_followed():
    st = SensorStats()
    jb = JitterBuffer(st)
    for k in range(10):
        jb.push(pk(100 + k * 0.01))
    out = jb.push(pk(0.0))
    assert [p.t for p in out] == [0.0] and jb.restarted and st.restarts == 1


# -- clocks -----------------------------------------------------------------------------------
def test_clock_fit_finds_offset_and_drift_under_delay_noise():
    rng = np.random.default_rng(3)
    fit = ClockFit()
    offset, drift = 1234.5, 80e-6
    for k in range(6000):  # a minute at 100 Hz
        s = k * 0.01
        true_arrival = offset + s + drift * s
        fit.observe(s, true_arrival + 0.0003 + rng.exponential(0.002))
    for s in (10.0, 59.0):
        assert fit.to_receiver(s) - (offset + s + drift * s) == pytest.approx(0.0003, abs=0.0006)
    assert fit.drift == pytest.approx(drift, abs=5e-6)
    r = fit.to_receiver(42.0)
    assert fit.from_receiver(r) == pytest.approx(42.0, abs=1e-9)


def test_clock_fit_starts_over_when_the_sender_clock_jumps():
    fit = ClockFit()
    for k in range(500):
        fit.observe(k * 0.01, 10 + k * 0.01)
    for k in range(500):
        fit.observe(1e6 + k * 0.01, 15 + k * 0.01)
    assert fit.resets == 1
    assert fit.to_receiver(1e6 + 4.0) == pytest.approx(19.0, abs=0.001)


# -- pairing ------------------------------------------------------------------------------------
def stream(shared: bool, **kw):
    rows: list[Row] = []
    events: list[dict] = []
    s = ImuStream(StreamSettings(**kw), shared, rows.append, events.append)
    return s, rows, events


def test_shared_clock_rows_are_the_samples_themselves():
    s, rows, _ = stream(True)
    for k in range(50):
        t = k * 0.01
        s.push(Packet("lower", t, [0, 0, 9.8 + k], [k, 0, 0], t))
        s.push(Packet("upper", t, [0, 0, 9.9 + k], [0, k, 0], t + 0.0001))
    s.finish()
    assert len(rows) == 50
    for k, r in enumerate(rows):
        assert r.t == k * 0.01 and r.lower_acc[2] == 9.8 + k and r.upper_acc[2] == 9.9 + k and not r.held


def test_separate_clocks_upper_values_interpolated_at_lower_instants():
    s, rows, _ = stream(False)
    off_lo, off_up, drift_up = 50.0, -7.0, 100e-6
    for k in range(3000):
        true_t = k * 0.01
        arrival = 1000.0 + true_t + 0.0005
        s.push(Packet("lower", off_lo + true_t, [0, 0, true_t], list(Z), arrival))
        # the upper samples half a period later, with its own clock
        tu = true_t + 0.005
        s.push(Packet("upper", off_up + (1 + drift_up) * tu, [0, 0, tu], list(Z), 1000.0 + tu + 0.0005))
        s.poll(arrival + 0.006)
    s.finish()
    assert len(rows) >= 2990
    late = [r for r in rows if r.t - off_lo > 5.0]
    # the upper value (its true time) at each lower instant (the lower's true time)
    err = max(abs(r.upper_acc[2] - (r.t - off_lo)) for r in late)
    assert err < 0.001  # under a tenth of a period after the clock fit has settled


def test_a_silent_sensor_is_a_gap_and_no_rows_are_made_up():
    s, rows, events = stream(True)
    for k in range(300):
        t = k * 0.01
        s.push(Packet("lower", t, list(G), list(Z), t))
        if not 1.0 <= t < 2.0:
            s.push(Packet("upper", t, list(G), list(Z), t))
        s.poll(t + 0.001)
    s.finish()
    gaps = [e for e in events if e["type"] == "gap"]
    assert [g["state"] for g in gaps] == ["open", "closed"]
    assert gaps[1]["start_s"] == pytest.approx(0.99) and gaps[1]["end_s"] == pytest.approx(2.0)
    times = np.array([r.t for r in rows])
    # rows within hold_max_s (0.1 s) after the last upper sample, or half that before the
    # next one, are held; the rest of the silence has no rows
    assert not np.any((times > 0.99 + 0.1 + 1e-9) & (times < 2.0 - 0.05 - 1e-9))
    assert np.any((times > 1.0) & (times < 1.09)) and np.any((times > 1.95) & (times < 2.0))
    assert all(r.held for r in rows if 0.99 < r.t < 2.0)


def test_nan_values_are_held_and_counted():
    s, rows, _ = stream(True)
    s.push(Packet("lower", 0.0, [0, float("nan"), 9.8], list(Z), 0.0))  # nothing to hold yet: dropped
    s.push(Packet("lower", 0.01, [0, 0.5, 9.8], list(Z), 0.01))
    s.push(Packet("lower", 0.02, [0, float("nan"), 9.7], [float("inf"), 0, 0], 0.02))
    for t in (0.0, 0.01, 0.02):
        s.push(Packet("upper", t, list(G), list(Z), t))
    s.finish()
    assert s.stats["lower"].dropped_nan == 1 and s.stats["lower"].nan_values == 1
    assert rows[-1].lower_acc == [0, 0.5, 9.7] and rows[-1].lower_gyr == [0, 0, 0]
