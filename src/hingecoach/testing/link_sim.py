"""A simulated link for the live path: a recording sent as two sensors' UDP datagrams,
each sensor with its own clock, through a network that delays, loses, reorders and
duplicates, with a sensor that falls silent for a while. The tests and the benchmark
use it to know exactly what was sent and when.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hingecoach.core.timeseries import TimeSeries
from hingecoach.sources.live import SENSORS, encode_datagram


@dataclass(frozen=True)
class LinkSettings:
    """How the simulated link and the sensors' clocks misbehave (all off by default)."""

    loss: float = 0.0  # share of datagrams lost
    reorder: float = 0.0  # share delayed past 1-3 later samples of the same sensor
    duplicate: float = 0.0  # share sent twice
    delay_s: float = 0.0005  # smallest network delay
    jitter_s: float = 0.0005  # mean of the exponential extra delay
    silent: tuple[str, float, float] | None = None  # (sensor, from recording time s, for s)
    # each sensor's clock: sender time = offset + (1 + drift) * true time
    lower_clock: tuple[float, float] = (0.0, 0.0)
    upper_clock: tuple[float, float] = (0.0, 0.0)
    seq: bool = False  # send sequence numbers
    seed: int = 0


@dataclass(frozen=True)
class Sent:
    """One datagram that reaches the receiver: when, from which sensor and row, the bytes."""

    arrival_s: float  # on the receiver's clock (= true time + delay)
    sent_s: float  # true time it was sent
    sensor: str
    row: int
    data: bytes


def sender_time(link: LinkSettings, sensor: str, t: np.ndarray) -> np.ndarray:
    """``sensor``'s own clock reading (s) at true times ``t`` (s)."""
    off, drift = link.lower_clock if sensor == "lower" else link.upper_clock
    return np.asarray(off + (1.0 + drift) * np.asarray(t))


def schedule(rec: TimeSeries, link: LinkSettings | None = None) -> list[Sent]:
    """Every datagram that reaches the receiver, in order of arrival."""
    ls = link or LinkSettings()
    rng = np.random.default_rng(ls.seed)
    t = rec.time_s
    period = float(np.median(np.diff(t)))
    out: list[Sent] = []
    for side in SENSORS:
        acc, gyr = rec[f"{side}_acc"], rec[f"{side}_gyr"]
        ts = sender_time(ls, side, t)
        for i in range(len(t)):
            if ls.silent is not None and ls.silent[0] == side and ls.silent[1] <= t[i] < ls.silent[1] + ls.silent[2]:
                continue
            if rng.random() < ls.loss:
                continue
            delay = ls.delay_s + rng.exponential(ls.jitter_s)
            if rng.random() < ls.reorder:
                delay += rng.uniform(1.0, 3.0) * period
            data = encode_datagram(side, float(ts[i]), acc[i], gyr[i], seq=i if ls.seq else None)
            out.append(Sent(float(t[i]) + delay, float(t[i]), side, i, data))
            if rng.random() < ls.duplicate:
                out.append(Sent(float(t[i]) + delay + rng.exponential(ls.jitter_s) + 1e-6, float(t[i]),
                                side, i, data))
    out.sort(key=lambda s: s.arrival_s)
    return out


class VirtualClock:
    """A clock (seconds) that moves only when set: ``ScheduledTransport`` advances it."""

    def __init__(self, t0: float = 0.0) -> None:
        self.now = t0

    def __call__(self) -> float:
        return self.now


class ScheduledTransport:
    """A transport that delivers scheduled datagrams on a virtual clock: ``receive``
    advances the clock to the next arrival (or by the timeout), so a minute of link
    runs in a moment and the outcome does not depend on this computer's load."""

    kind = "datagram"
    name = "simulated link"

    def __init__(self, sent: list[Sent], clock: VirtualClock, *, shared_clock: bool = False,
                 start_s: float = 0.0) -> None:
        self.sent = sent
        self.clock = clock
        self.clock.now = start_s
        self.shared_clock = shared_clock
        self.meta: dict[str, object] = {}
        self._i = 0

    @property
    def ended(self) -> bool:
        """Every scheduled datagram was delivered."""
        return self._i >= len(self.sent)

    def receive(self, timeout_s: float) -> list[tuple[object, float]]:
        """Advance the clock to the next arrival (at most ``timeout_s``); what arrived by then."""
        if self.ended:
            return []
        nxt = self.sent[self._i].arrival_s
        self.clock.now = min(max(self.clock.now, nxt), self.clock.now + timeout_s) if nxt > self.clock.now \
            else self.clock.now
        out: list[tuple[object, float]] = []
        while self._i < len(self.sent) and self.sent[self._i].arrival_s <= self.clock.now:
            s = self.sent[self._i]
            out.append((s.data, s.arrival_s))
            self._i += 1
        return out

    def close(self) -> None:
        """Nothing to release."""
