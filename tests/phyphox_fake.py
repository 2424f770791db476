"""A fake phone running phyphox with remote access on, on 127.0.0.1: it serves one
sensor of a recording through the same HTTP interface (``/get`` with the
``buffer=threshold|time buffer`` incremental syntax, ``/config``, ``/control``), on its
own experiment clock, as time passes on a clock the test controls."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

BUFFERS = {"acc_time": None, "accX": 0, "accY": 1, "accZ": 2, "gyr_time": None, "gyrX": 0, "gyrY": 1, "gyrZ": 2}


class VirtualTime:
    """Seconds that pass only when someone sleeps: the phones, the transports and the
    live session share it, so a minute of polling runs in a moment and the same each time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, dt: float) -> None:
        with self._lock:
            self.now += max(0.0, dt)


class FakePhone:
    """One sensor of a recording (times s from its start, acc m/s^2, gyr rad/s) served as
    a phyphox experiment. The movement starts when the phone is made (``clock``'s time
    then is the recording's 0); the phone records from its measurement's start on, and
    its experiment clock reads ``offset + (1 + drift) * s`` at ``s`` seconds after that
    start. ``measuring=False``: the phone waits for ``/control?cmd=start``."""

    def __init__(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, clock: Callable[[], float], *,
                 offset: float = 0.0, drift: float = 0.0, measuring: bool = True) -> None:
        self.t_true, self.acc, self.gyr = np.asarray(t), np.asarray(acc), np.asarray(gyr)
        self.offset, self.drift = offset, drift
        self.clock = clock
        self.t0 = clock()
        self.start = self.t0 if measuring else None
        self.session = "a1b2"
        self.requests: list[str] = []
        self.answering = True
        phone = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlparse(self.path)
                phone.requests.append(url.path)
                if not phone.answering:
                    self.send_error(503)
                    return
                q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
                doc = {"/get": phone.get, "/config": phone.config, "/control": phone.control}.get(url.path)
                if doc is None:
                    self.send_error(404)
                    return
                body = json.dumps(doc(q)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def recorded(self) -> slice:
        """The samples the phone has recorded by now."""
        if self.start is None:
            return slice(0, 0)
        return slice(int(np.searchsorted(self.t_true, self.start - self.t0, side="left")),
                      int(np.searchsorted(self.t_true, self.clock() - self.t0, side="right")))

    def phone_time(self, t_true: np.ndarray) -> np.ndarray:
        """The experiment clock (s) at the recording's times ``t_true`` (s)."""
        assert self.start is not None
        return self.offset + (1.0 + self.drift) * (t_true - (self.start - self.t0))

    def get(self, q: dict[str, list[str]]) -> dict:
        """``/get``: each named buffer's values after its threshold on its time buffer."""
        rows = self.recorded()
        bufs = {}
        for name, spec in ((k, v[0]) for k, v in q.items() if k in BUFFERS):
            t = self.phone_time(self.t_true[rows]) if self.start is not None else np.empty(0)
            sel = np.ones(t.size, bool)
            if spec not in ("", "full"):
                sel = t > float(spec.split("|")[0])
            j = BUFFERS[name]
            col = t if j is None else (self.acc if name.startswith("acc") else self.gyr)[rows, j]
            bufs[name] = {"size": 0, "updateMode": "partial", "buffer": col[sel].tolist()}
        return {"buffer": bufs, "status": {"session": self.session, "measuring": self.start is not None,
                                           "timedRun": False, "countDown": 0}}

    def config(self, q: dict[str, list[str]]) -> dict:
        """``/config``: the experiment's title and buffers."""
        return {"crc32": "0badf00d", "title": "Acceleration and gyroscope",
                "buffers": [{"name": b, "size": 0} for b in BUFFERS]}

    def control(self, q: dict[str, list[str]]) -> dict:
        """``/control?cmd=start|stop|clear``."""
        cmd = q.get("cmd", [""])[0]
        if cmd == "start" and self.start is None:
            self.start = self.clock()
        elif cmd == "stop":
            self.start = None
        return {"result": cmd in ("start", "stop", "clear")}

    def close(self) -> None:
        """Stop serving (the phone is gone: connections are refused)."""
        self.server.shutdown()
        self.server.server_close()
