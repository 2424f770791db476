"""phyphox's remote-access interface as a live source, against a local fake phone
(127.0.0.1) that speaks the same /get protocol."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from hingecoach.core.errors import ParameterError
from hingecoach.sources import phyphox_live
from hingecoach.sources.live import decode_datagram
from hingecoach.sources.phyphox_live import PhyphoxTransport


class FakePhone:
    """A phyphox experiment recording acc (100 Hz) and gyr (100 Hz, 3 ms later) in real time
    times ``speed``; /get answers with the values after each threshold."""

    def __init__(self, speed: float = 20.0, seconds: float = 6.0) -> None:
        self.t_acc = np.arange(0.0, seconds, 0.01)
        self.t_gyr = self.t_acc + 0.003
        self.acc = np.column_stack([np.sin(self.t_acc), np.cos(self.t_acc), 9.81 + 0 * self.t_acc])
        self.gyr = np.column_stack([0.5 * np.sin(2 * self.t_gyr), 0 * self.t_gyr, 0.1 + 0 * self.t_gyr])
        self.speed = speed
        self.start: float | None = time.monotonic()
        self.session = "s1"
        self.requests = 0
        phone = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                phone.requests += 1
                url = urllib.parse.urlparse(self.path)
                if url.path != "/get":
                    self.send_error(404)
                    return
                body = json.dumps(phone.answer(urllib.parse.parse_qs(url.query, keep_blank_values=True)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, q: dict[str, list[str]]) -> dict:
        if self.start is None:  # the experiment starts with the first request
            self.start = time.monotonic()
        now = (time.monotonic() - self.start) * self.speed
        bufs = {}
        for names, tname, t, vals in ((["accX", "accY", "accZ"], "acc_time", self.t_acc, self.acc),
                                      (["gyrX", "gyrY", "gyrZ"], "gyr_time", self.t_gyr, self.gyr)):
            recorded = t <= now
            for j, n in enumerate([tname, *names]):
                if n not in q:
                    continue
                spec = q[n][0]
                sel = recorded.copy()
                if spec not in ("", "full"):
                    sel &= t > float(spec.split("|")[0])
                col = t if j == 0 else vals[:, j - 1]
                bufs[n] = {"size": 0, "updateMode": "partial", "buffer": col[sel].tolist()}
        return {"buffer": bufs, "status": {"session": self.session, "measuring": True,
                                           "timedRun": False, "countDown": 0}}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def phone():
    p = FakePhone()
    yield p
    p.close()


def _drain(tr: PhyphoxTransport, until_s: float) -> list:
    packets = []
    end = time.monotonic() + until_s
    while time.monotonic() < end and not tr.ended:
        packets += [decode_datagram(d, at) for d, at in tr.receive(0.05)]
    return packets


def test_every_sample_arrives_once_in_order_with_the_gyroscope_paired(phone):
    phone.start = None  # the experiment starts as the session does: no backlog to skip
    tr = PhyphoxTransport(f"phyphox:{phone.url}", "upper", poll_s=0.02)
    packets = _drain(tr, 0.6)  # 6 s of recording at 20x
    t = np.array([p.t for p in packets])
    assert all(p.sensor == "upper" for p in packets)
    assert np.all(np.diff(t) > 0)
    # every accelerometer sample from the gyroscope's first to its last, none twice (the
    # first, 3 ms before the gyroscope starts, cannot be paired)
    assert t.size >= phone.t_acc.size - 2
    assert np.allclose(t, phone.t_acc[1: 1 + t.size])
    acc = np.array([p.acc for p in packets])
    assert np.allclose(acc, phone.acc[1: 1 + t.size], atol=1e-6)
    gyr = np.array([p.gyr for p in packets])
    assert np.allclose(gyr[:, 0], 0.5 * np.sin(2 * t), atol=1e-3)
    assert phone.requests > 5  # polled, not read once


def test_a_restarted_experiment_starts_a_new_clock(phone):
    tr = PhyphoxTransport(phone.url, "lower", poll_s=0.02)
    first = _drain(tr, 0.2)
    phone.session, phone.start = "s2", time.monotonic()
    again = _drain(tr, 0.2)
    assert first and again and again[0].t < first[-1].t
    assert tr.meta["restarts"] == 1


def test_a_phone_that_stops_answering_ends_the_source_with_the_reason(phone, monkeypatch):
    monkeypatch.setattr(phyphox_live, "GIVE_UP_S", 0.3)
    tr = PhyphoxTransport(phone.url, "lower", poll_s=0.02)
    phone.close()
    _drain(tr, 2.0)
    assert tr.ended
    assert "no answer" in tr.meta["end_reason"]


@pytest.mark.parametrize("spec", ["phyphox:", "phyphox:ftp://x:1", "phyphox:http://host"])
def test_bad_address_is_a_parameter_error(spec):
    with pytest.raises(ParameterError, match="HOST:PORT"):
        PhyphoxTransport(spec, "lower")


def test_what_the_phone_recorded_before_the_first_poll_is_skipped(phone):
    time.sleep(0.15)  # 3 s of recording at 20x before the session asks
    tr = PhyphoxTransport(phone.url, "lower", poll_s=0.02)
    packets = _drain(tr, 0.1)
    assert packets and packets[0].t > 2.5
    assert tr.meta["skipped_backlog_s"] > 2.5
    assert np.all(np.diff([p.t for p in packets]) < 0.011)  # then every sample, none skipped
