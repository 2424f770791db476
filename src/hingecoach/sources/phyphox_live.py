"""A phone running phyphox as a live sensor, through phyphox's remote-access HTTP interface.

phyphox (with "Allow remote access" on) serves ``GET /get?<buffer>=<threshold>|<time
buffer>&...``: for each buffer named, the values recorded after ``threshold`` of its
time buffer (``full`` for all of them), as JSON::

    {"buffer": {"accX": {"size": 0, "updateMode": "partial", "buffer": [..]}, ...},
     "status": {"session": "<id>", "measuring": true, "timedRun": false, "countDown": 0}}

The transport polls an experiment that records the accelerometer with gravity (buffers
``accX, accY, accZ, acc_time``: m/s^2, s) and the gyroscope (``gyrX, gyrY, gyrZ,
gyr_time``: rad/s, s), pairs each accelerometer sample with the gyroscope interpolated
to its time (so a sample waits until the gyroscope has passed it), and hands on
datagrams in the UDP schema of ``sources.live`` for one sensor (``lower`` or ``upper``),
so the live path decodes them like any other source. Each phone has its own clock (the
experiment time): the live loop aligns them. What the phone recorded before the first
poll is skipped but for its last ``BACKLOG_S``; an experiment that is not running is
started once (``/control?cmd=start``). A failed poll is retried; after ``GIVE_UP_S``
without an answer the source ends with the reason.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import numpy as np

from hingecoach.core.errors import ParameterError
from hingecoach.sources.live import SENSORS, encode_datagram, monotonic_s, phyphox_url

ACC = ("accX", "accY", "accZ")
GYR = ("gyrX", "gyrY", "gyrZ")
POLL_S = 0.05
TIMEOUT_S = 2.0
GIVE_UP_S = 10.0
BACKLOG_S = 0.1  # of what was recorded before the first poll, only this much is kept
Fetch = Callable[[str, float], bytes]


def _http_get(url: str, timeout_s: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout_s) as r:
        data: bytes = r.read()
        return data


def parse_phyphox_url(spec: str) -> str:
    """``http://HOST:PORT`` (from ``phyphox:http://HOST:PORT``) checked, without a trailing slash."""
    return phyphox_url(spec)


class PhyphoxTransport:
    """One phone's phyphox experiment, polled over HTTP, as datagrams of one sensor."""

    kind = "datagram"
    shared_clock = False

    def __init__(self, url: str, sensor: str, *, fetch: Fetch | None = None, poll_s: float = POLL_S,
                 clock: Callable[[], float] = monotonic_s, sleep: Callable[[float], None] = time.sleep) -> None:
        if sensor not in SENSORS:
            raise ParameterError("phyphox sensor", "lower or upper", sensor)
        self.url = parse_phyphox_url(url)
        self.sensor = sensor
        self.name = f"phyphox:{self.url}"
        self.ended = False
        self.meta: dict[str, Any] = {}
        self._fetch = fetch or _http_get
        self._poll_s = poll_s
        self._clock = clock  # arrival times (the tests' virtual clock, else monotonic)
        self._sleep = sleep
        self._session: str | None = None
        self._last_poll = 0.0
        self._failing_since: float | None = None
        self._asked_start = False
        self._reset()

    def _reset(self) -> None:
        self._acc_t = -np.inf  # last time fetched, per time buffer
        self._gyr_t = -np.inf
        self._acc: list[list[float]] = []  # pending (t, x, y, z), waiting for the gyroscope
        self._gyr = np.empty((0, 4))  # recent (t, x, y, z) for interpolation
        self._seq = 0

    def _query(self) -> str:
        def part(names: tuple[str, ...], tname: str, since: float) -> str:
            thr = "full" if not np.isfinite(since) else f"{since!r}|{tname}"
            return "&".join(f"{n}={thr}" for n in names) + f"&{tname}={'full' if thr == 'full' else repr(since)}"
        return f"{self.url}/get?{part(ACC, 'acc_time', self._acc_t)}&{part(GYR, 'gyr_time', self._gyr_t)}"

    def _poll(self) -> dict[str, Any] | None:
        now = self._clock()
        try:
            doc = json.loads(self._fetch(self._query(), TIMEOUT_S))
            bufs = doc["buffer"]
            status = doc.get("status", {})
        except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError) as e:
            self._failing_since = self._failing_since or now
            if now - self._failing_since > GIVE_UP_S:
                self.ended = True
                self.meta["end_reason"] = f"{self.name}: no answer for {GIVE_UP_S:g} s ({str(e)[:100]})"
            return None
        self._failing_since = None
        session = str(status.get("session", ""))
        if self._session is not None and session != self._session:
            self._reset()  # the experiment was cleared or restarted on the phone: a new clock
            self.meta["restarts"] = int(self.meta.get("restarts", 0)) + 1
        self._session = session
        measuring = bool(status.get("measuring", True))
        if not measuring and not self._asked_start:
            # a phone waiting with its experiment stopped is started once, as if its play
            # button were pressed; one paused later by its owner stays paused
            self._asked_start = True
            with contextlib.suppress(OSError, ValueError):
                self._fetch(f"{self.url}/control?cmd=start", TIMEOUT_S)
                self.meta["started_remotely"] = True
        return {"bufs": bufs, "measuring": measuring}

    def _columns(self, bufs: dict[str, Any], names: tuple[str, ...], tname: str) -> np.ndarray:
        try:
            cols = [np.asarray(bufs[n]["buffer"], dtype=float) for n in (tname, *names)]
        except (KeyError, TypeError, ValueError):
            missing = [n for n in (tname, *names) if n not in bufs]
            self.meta["bad_reply"] = f"buffers {', '.join(missing) or 'unreadable'} (is it an experiment " \
                                     "with the accelerometer and the gyroscope?)"
            return np.empty((0, 4))
        n = min(c.size for c in cols)
        arr = np.column_stack([c[:n] for c in cols])
        return arr[np.all(np.isfinite(arr), axis=1)]

    def receive(self, timeout_s: float) -> list[tuple[Any, float]]:
        """Poll (at most every ``poll_s``) and return the datagrams of the paired samples."""
        wait = self._last_poll + self._poll_s - self._clock()
        if wait > 0:
            self._sleep(min(wait, max(0.0, timeout_s)))
            if self._clock() < self._last_poll + self._poll_s:
                return []
        self._last_poll = self._clock()
        got = self._poll()
        if got is None:
            return []
        acc = self._columns(got["bufs"], ACC, "acc_time")
        gyr = self._columns(got["bufs"], GYR, "gyr_time")
        acc = acc[acc[:, 0] > self._acc_t]
        gyr = gyr[gyr[:, 0] > self._gyr_t]
        if not np.isfinite(self._acc_t) and acc.size:
            # what the phone recorded before this session: not live, and a backlog that
            # arrives at one instant would read as a clock running at many times the rate
            keep = acc[:, 0] >= acc[-1, 0] - BACKLOG_S
            if not keep.all():
                self.meta["skipped_backlog_s"] = round(float(acc[-1, 0] - acc[0, 0]), 3)
            acc = acc[keep]
        if acc.size:
            self._acc_t = float(acc[-1, 0])
            self._acc.extend(acc.tolist())
        if gyr.size:
            self._gyr_t = float(gyr[-1, 0])
            self._gyr = np.vstack([self._gyr, gyr])[-400:]
        return self._pairs(self._clock())

    def _pairs(self, now: float) -> list[tuple[Any, float]]:
        out: list[tuple[Any, float]] = []
        if self._gyr.shape[0] < 2:
            return out
        ready = [a for a in self._acc if a[0] <= self._gyr[-1, 0]]
        self._acc = [a for a in self._acc if a[0] > self._gyr[-1, 0]]
        for t, *acc in ready:
            if t < self._gyr[0, 0]:
                continue  # before the gyroscope's first sample
            g = [float(np.interp(t, self._gyr[:, 0], self._gyr[:, j])) for j in (1, 2, 3)]
            out.append((encode_datagram(self.sensor, t, acc, g, seq=self._seq), now))
            self._seq += 1
        return out

    def close(self) -> None:
        """Nothing to release: each poll is its own request."""
