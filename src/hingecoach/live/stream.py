"""Two sensors, two clocks, an unreliable link -> one stream of rows.

A row is what a recording file has on one line: both sensors' accelerometer and
gyroscope at one instant. Getting there from live packets takes four steps, each a small
object with its own counters:

1. ``Sanitizer``: NaN or infinite values are replaced by the sensor's last good value
   (and counted); a packet with no good value to hold yet is dropped.
2. ``ClockFit`` per sensor: each sensor stamps samples with its own clock (any origin,
   its own drift). The arrival time on this computer is sender time + offset + drift x
   time + network delay, and the delay is never negative, so the line under the points
   (sender time, arrival - sender time) is the clock relation. Each ``block_s`` of sender
   time keeps its minimum-delay point; a least-squares line through the last
   ``window_s`` of those minima gives offset and drift (before four blocks exist: the
   smallest delay seen, no drift). The upper sensor's times are mapped onto the lower
   sensor's clock through it (sender -> this computer -> lower sender). Sources that
   stamp both sensors with one clock (a serial device, a file) skip this.
3. ``JitterBuffer`` per sensor: releases samples in sender-time order. A sample that
   follows its predecessor (``seq`` + 1, or within 1.5 periods) goes out at once, so an
   in-order link adds no delay. After a hole (a lost or overtaken sample) the buffer
   waits for the missing one at most as long as reordering on this link has needed
   (twice the largest recent reorder delay), capped at ``max_hold_s`` (8 ms): on a link
   that never reorders, a loss costs no waiting. Duplicates are dropped, samples older
   than what was already released are counted as late and dropped (the fusion has moved
   on), and a clock that jumps back by more than ``reset_back_s`` is a restarted sensor.
4. ``Pairer``: rows at the lower sensor's sample instants, with the upper sensor's
   values at that instant (its own sample when the times coincide, as in a file, else
   interpolated between the two samples around it). A row waits for the upper sample
   after it at most ``pair_wait_s`` plus 1.2 upper periods; then it takes the last upper sample if that is
   within ``hold_max_s`` (the row is marked held), else the row is dropped: no angle is
   made up while a sensor is silent. A sensor silent for more than ``gap_s`` is a gap,
   reported when it starts and when it ends.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hingecoach.sources.live import SENSORS, Packet


@dataclass(frozen=True)
class StreamSettings:
    """Timing of the live IMU stream: jitter buffer, pairing, gaps and clock fits (times in seconds)."""

    # The longest a sample waits for a missing predecessor. A cue must be out within
    # 20 ms of its sample's arrival (p99) on a link that loses and reorders; a sample
    # given up for lost costs the fusion one step over two periods (a few hundredths of
    # a degree in a hinge), while waiting delays every row behind it. So the buffer
    # waits at most 8 ms (twice the largest recent reorder delay, if less): reordering
    # within a BLE connection event or a LAN's few ms is still put back in order, a
    # sample later than that is dropped as late.
    max_hold_s: float = 0.008
    # A row waits this long, plus PAIR_WAIT_PERIODS of the upper sensor's periods, for the
    # upper sample after it; then it takes the last upper sample (held). In order, the
    # upper sample comes within a period and nothing waits this long.
    pair_wait_s: float = 0.002
    # The partner's last sample may be this old and still complete a row (one or two
    # lost samples at 25-100 Hz); older: no row, rather than an angle made up.
    hold_max_s: float = 0.1
    # A sensor silent this long is a gap (an event, stored with the session); single lost
    # samples are only counted.
    gap_s: float = 0.25
    clock_block_s: float = 0.5  # one minimum-delay point per half second of sender time
    clock_window_s: float = 60.0  # fit offset and drift over the last minute
    clock_min_blocks: int = 4  # fewer points: offset only
    clock_reset_s: float = 1.0  # a point this far off the fit: the clock jumped, start over
    reset_back_s: float = 1.0  # a sender time this far back: the sensor restarted


@dataclass
class SensorStats:
    """Counters of one sensor's link (all shown at the end and stored with the session)."""

    received: int = 0
    released: int = 0
    lost: int = 0  # holes in the sequence (or in time: > 1.5 periods) that never filled
    late: int = 0  # arrived after later samples had gone out: dropped
    reordered: int = 0  # arrived out of order but in time: put back in place
    duplicates: int = 0
    nan_values: int = 0  # non-finite values replaced by the last good one
    dropped_nan: int = 0  # non-finite with nothing to hold yet: dropped
    restarts: int = 0
    gaps: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return dict(vars(self))


class Sanitizer:
    """Non-finite values -> the sensor's last good value (per vector component)."""

    def __init__(self, stats: dict[str, SensorStats]) -> None:
        self.stats = stats
        self._last: dict[str, tuple[list[float], list[float]]] = {}

    def clean(self, p: Packet) -> bool:
        """Fix ``p`` in place; False when it cannot be used."""
        ok_acc = all(math.isfinite(x) for x in p.acc)
        ok_gyr = all(math.isfinite(x) for x in p.gyr)
        if ok_acc and ok_gyr:
            self._last[p.sensor] = (p.acc, p.gyr)
            return True
        st = self.stats[p.sensor]
        last = self._last.get(p.sensor)
        if last is None:
            st.dropped_nan += 1
            return False
        st.nan_values += 1
        p.acc = [x if math.isfinite(x) else y for x, y in zip(p.acc, last[0], strict=True)]
        p.gyr = [x if math.isfinite(x) else y for x, y in zip(p.gyr, last[1], strict=True)]
        self._last[p.sensor] = (p.acc, p.gyr)
        return True


class ClockFit:
    """Sender time -> this computer's monotonic time, from arrivals (see the module)."""

    def __init__(self, block_s: float = 0.5, window_s: float = 60.0, min_blocks: int = 4,
                 reset_s: float = 1.0) -> None:
        self.block_s = block_s
        self.min_blocks = min_blocks
        self.reset_s = reset_s
        self._points: deque[tuple[float, float]] = deque(maxlen=max(2, round(window_s / block_s)))
        self._ref: float | None = None
        self._block = -1
        self._cur: tuple[float, float] | None = None  # (x, y) of the current block's minimum
        self.offset = 0.0  # y = offset + drift * x, y = arrival - sender
        self.drift = 0.0
        self.resets = 0

    @property
    def ready(self) -> bool:
        """The first sample has been seen (a mapping exists)."""
        return self._ref is not None

    def reset(self) -> None:
        """Forget the fit (the sensor restarted its clock)."""
        self._points.clear()
        self._ref = None
        self._cur = None
        self._block = -1

    def observe(self, sender_t: float, arrival_s: float) -> None:
        """One sample's sender time and arrival (s) into the fit."""
        if self._ref is None:
            self._ref = sender_t
            self.offset, self.drift = arrival_s - sender_t, 0.0
        x = sender_t - self._ref
        y = arrival_s - sender_t
        if abs(y - (self.offset + self.drift * x)) > self.reset_s and self._points:
            self.resets += 1  # the sender's clock jumped: start over from here
            self.reset()
            self._ref = sender_t
            self.offset, self.drift = y, 0.0
            x = 0.0
        block = math.floor(x / self.block_s)
        if block != self._block:
            if self._cur is not None:
                self._points.append(self._cur)
                self._fit()
            self._block = block
            self._cur = (x, y)
        elif self._cur is None or y < self._cur[1]:
            self._cur = (x, y)
        if len(self._points) < self.min_blocks and y < self.offset:
            self.offset = y  # early: the smallest delay so far, no drift

    def _fit(self) -> None:
        pts = self._points
        n = len(pts)
        if n < self.min_blocks:
            self.offset = min(min(p[1] for p in pts), self.offset)
            self.drift = 0.0
            return
        mx = sum(p[0] for p in pts) / n
        my = sum(p[1] for p in pts) / n
        sxx = sum((p[0] - mx) ** 2 for p in pts)
        if sxx <= 0:
            return
        b = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx
        self.drift = b
        self.offset = my - b * mx

    def to_receiver(self, sender_t: float) -> float:
        """Sender time (s) -> this computer's monotonic time (s)."""
        assert self._ref is not None
        x = sender_t - self._ref
        return sender_t + self.offset + self.drift * x

    def from_receiver(self, r: float) -> float:
        """This computer's monotonic time (s) -> sender time (s)."""
        assert self._ref is not None
        # r = ref + x + offset + drift * x
        x = (r - self._ref - self.offset) / (1.0 + self.drift)
        return self._ref + x


class JitterBuffer:
    """One sensor's samples back in sender-time order (see the module docstring)."""

    def __init__(self, stats: SensorStats, max_hold_s: float = 0.05, reset_back_s: float = 1.0) -> None:
        self.stats = stats
        self.max_hold_s = max_hold_s
        self.reset_back_s = reset_back_s
        self._held: list[tuple[float, int, Packet]] = []  # sorted by (t, arrival order)
        self._n = 0
        self.last_t: float | None = None
        self.last_seq: int | None = None
        self._recent: deque[tuple[float, float]] = deque(maxlen=64)  # released (t, arrival)
        self._dts: deque[float] = deque(maxlen=51)
        self._since_period = 0
        self.period: float | None = None
        self._delays: deque[float] = deque(maxlen=16)  # recent reorder delays
        self.restarted = False

    @property
    def hold_s(self) -> float:
        """How long a sample waits for a missing predecessor now."""
        return min(self.max_hold_s, 2.0 * max(self._delays, default=0.0))

    def _contiguous(self, p: Packet) -> bool:
        if self.last_t is None:
            return True
        if p.seq is not None and self.last_seq is not None:
            return p.seq == self.last_seq + 1
        return self.period is None or p.t - self.last_t <= 1.5 * self.period

    def push(self, p: Packet) -> list[Packet]:
        """One packet in; the packets that can go out now, in sender-time order."""
        self.stats.received += 1
        if self.last_t is not None and p.t < self.last_t - self.reset_back_s:
            # the sensor restarted (its clock began again): flush and start over
            self.stats.restarts += 1
            out = [h[2] for h in self._held]
            for q in out:
                self._note_release(q)
            self._held = []
            self.last_t = self.last_seq = None
            self._recent.clear()
            self.restarted = True
            return [*out, *self._insert(p)]
        if self.last_t is not None and p.t <= self.last_t:
            if p.t == self.last_t or any(t == p.t for t, _ in self._recent):
                self.stats.duplicates += 1
            else:
                self.stats.late += 1
                after = [a for t, a in self._recent if t > p.t]
                if after:
                    self._delays.append(max(0.0, p.arrival_s - min(after)))
            return []
        return self._insert(p)

    def _insert(self, p: Packet) -> list[Packet]:
        i = bisect.bisect_left(self._held, (p.t, -1))
        if i < len(self._held) and self._held[i][0] == p.t:
            self.stats.duplicates += 1
            return []
        if i < len(self._held):  # it overtook nothing: a later sample is already waiting
            self.stats.reordered += 1
            self._delays.append(max(0.0, p.arrival_s - min(h[2].arrival_s for h in self._held[i:])))
        self._n += 1
        self._held.insert(i, (p.t, self._n, p))
        return self.poll(p.arrival_s)

    def due_s(self) -> float | None:
        """When (monotonic s) the first held packet goes out if nothing else comes; None
        when nothing waits."""
        if not self._held:
            return None
        head = self._held[0][2]
        return head.arrival_s if self._contiguous(head) else head.arrival_s + self.hold_s

    def poll(self, now_s: float) -> list[Packet]:
        """The held packets whose wait is over at ``now_s`` (monotonic s)."""
        out: list[Packet] = []
        hold = self.hold_s
        while self._held:
            head = self._held[0][2]
            if not (self._contiguous(head) or now_s - head.arrival_s >= hold):
                break
            self._held.pop(0)
            self._note_release(head)
            out.append(head)
        return out

    def _note_release(self, p: Packet) -> None:
        st = self.stats
        if self.last_t is not None:
            dt = p.t - self.last_t
            if p.seq is not None and self.last_seq is not None:
                st.lost += max(0, p.seq - self.last_seq - 1)
            elif self.period is not None and dt > 1.5 * self.period:
                st.lost += max(0, round(dt / self.period) - 1)
            self._dts.append(dt)
            self._since_period += 1
            if len(self._dts) >= 5 and (self.period is None or self._since_period >= 10):
                self._since_period = 0  # the median of the last 51 steps, every 10 samples
                self.period = sorted(self._dts)[len(self._dts) // 2]
        st.released += 1
        self.last_t = p.t
        self.last_seq = p.seq
        self._recent.append((p.t, p.arrival_s))

    def flush(self) -> list[Packet]:
        """Everything still held, in order (the end of the stream)."""
        out = [h[2] for h in self._held]
        for q in out:
            self._note_release(q)
        self._held = []
        return out


@dataclass(slots=True)
class Row:
    """Both sensors at one instant (the lower sensor's clock)."""

    t: float
    lower_acc: list[float]
    lower_gyr: list[float]
    upper_acc: list[float]
    upper_gyr: list[float]
    arrival_s: float  # when the last piece of this row arrived (latency is measured from it)
    held: bool = False  # the upper values were held, not measured at this instant


@dataclass
class _Upper:
    t: float  # mapped onto the lower clock
    p: Packet


@dataclass
class ImuStream:
    """Packets in, rows out (``on_row``), gaps and flags out (``emit``)."""

    settings: StreamSettings
    shared_clock: bool
    on_row: Callable[[Row], None]
    emit: Callable[[dict[str, Any]], None]
    stats: dict[str, SensorStats] = field(default_factory=lambda: {s: SensorStats() for s in SENSORS})
    dropped_rows: int = 0  # lower samples with no upper sample near enough
    held_rows: int = 0

    def __post_init__(self) -> None:
        s = self.settings
        self.sanitizer = Sanitizer(self.stats)
        self.clocks = {k: ClockFit(s.clock_block_s, s.clock_window_s, s.clock_min_blocks, s.clock_reset_s)
                       for k in SENSORS}
        self.buffers = {k: JitterBuffer(self.stats[k], s.max_hold_s, s.reset_back_s) for k in SENSORS}
        self._lower: deque[Packet] = deque()
        self._upper: list[_Upper] = []
        self._last_t: dict[str, float | None] = {k: None for k in SENSORS}
        self._last_arrival: dict[str, float | None] = {k: None for k in SENSORS}
        self._gap_open: dict[str, float | None] = {k: None for k in SENSORS}

    # -- time mapping -----------------------------------------------------------------
    def to_lower_clock(self, sensor: str, t: float) -> float | None:
        """A sensor's time (s) on the lower sensor's clock; None while the clocks are not known."""
        if sensor == "lower" or self.shared_clock:
            return t
        lo, up = self.clocks["lower"], self.clocks["upper"]
        if not (lo.ready and up.ready):
            return None
        return lo.from_receiver(up.to_receiver(t))

    # -- input --------------------------------------------------------------------------
    def push(self, p: Packet) -> None:
        """One packet in; rows that complete go to ``on_row``."""
        if not self.sanitizer.clean(p):
            return
        buf = self.buffers[p.sensor]
        released = buf.push(p)
        if buf.restarted:
            buf.restarted = False
            self.clocks[p.sensor].reset()
            self.emit({"type": "warning", "kind": "sensor_restarted", "sensor": p.sensor,
                       "message": f"the {p.sensor} sensor's clock started again (a restart?): "
                                  "its samples are followed from here"})
            if p.sensor == "upper":
                self._upper.clear()
        self._take(p.sensor, released)
        self._pair(p.arrival_s)

    def poll(self, now_s: float) -> None:
        """Time passes (``now_s``, monotonic s): release what waited long enough, open gaps."""
        for k in SENSORS:
            self._take(k, self.buffers[k].poll(now_s))
        self._pair(now_s)
        for k in SENSORS:
            last = self._last_arrival[k]
            if last is not None and now_s - last > self.settings.gap_s and self._gap_open[k] is None:
                t0 = self._last_t[k]
                start = self.to_lower_clock(k, t0) if t0 is not None else None
                self._gap_open[k] = start if start is not None else math.nan
                self.emit({"type": "gap", "sensor": k, "state": "open", "start_s": _r(start),
                           "end_s": None, "duration_s": None,
                           "message": f"no data from the {k} sensor"})

    def next_due_s(self) -> float | None:
        """The earliest time (monotonic s) something held or waiting is released if no
        other packet arrives (the loop sleeps no longer than that); None: nothing waits."""
        dues = [d for b in self.buffers.values() if (d := b.due_s()) is not None]
        if self._lower:
            period = self.buffers["upper"].period or 0.0
            dues.append(self._lower[0].arrival_s + self.settings.pair_wait_s + PAIR_WAIT_PERIODS * period)
        return min(dues) if dues else None

    def finish(self) -> None:
        """The end of the stream: everything held goes out as rows where it can."""
        for k in SENSORS:
            self._take(k, self.buffers[k].flush())
        self._pair(math.inf)

    # -- internals ----------------------------------------------------------------------
    def _take(self, sensor: str, packets: list[Packet]) -> None:
        for p in packets:
            clock = self.clocks[sensor]
            if not self.shared_clock:
                clock.observe(p.t, p.arrival_s)
            last = self._last_t[sensor]
            if last is not None and (p.t - last > self.settings.gap_s or self._gap_open[sensor] is not None):
                self._close_gap(sensor, last, p.t)
            self._last_t[sensor] = p.t
            self._last_arrival[sensor] = p.arrival_s
            if sensor == "lower":
                self._lower.append(p)
            else:
                t = self.to_lower_clock("upper", p.t)
                if t is None:  # the lower clock is not known yet: map it later
                    t = math.nan
                if self._upper and math.isfinite(t) and t <= self._upper[-1].t:
                    t = self._upper[-1].t + 1e-6
                self._upper.append(_Upper(t, p))

    def _close_gap(self, sensor: str, t0: float, t1: float) -> None:
        self._gap_open[sensor] = None
        self.stats[sensor].gaps += 1
        a, b = self.to_lower_clock(sensor, t0), self.to_lower_clock(sensor, t1)
        self.emit({"type": "gap", "sensor": sensor, "state": "closed", "start_s": _r(a), "end_s": _r(b),
                   "duration_s": round(t1 - t0, 3),
                   "message": f"the {sensor} sensor was silent for {t1 - t0:.2f} s"})

    def _remap_upper(self) -> None:
        for u in self._upper:
            if math.isnan(u.t):
                m = self.to_lower_clock("upper", u.p.t)
                if m is not None:
                    u.t = m

    def _pair(self, now_s: float) -> None:
        s = self.settings
        ups = self._upper
        if ups and math.isnan(ups[0].t):
            self._remap_upper()
        # an upper sample this close to a lower instant is taken as simultaneous (the same
        # instant on two clocks, mapped with the clock fit's error of tens of microseconds):
        # 5 % of a period, at most 0.2 deg of a 200 deg/s bend at 100 Hz
        period = self.buffers["upper"].period or 0.0
        tol = max(1e-6, SNAP_SHARE * period)
        while self._lower:
            lo = self._lower[0]
            T = lo.t
            ups = self._upper
            # the first upper sample at or after T (within the tolerance)
            k = 0
            while k < len(ups) and not ups[k].t >= T - tol:
                k += 1
            nxt = ups[k] if k < len(ups) else None
            prv = ups[k - 1] if k > 0 else None
            row: Row | None = None
            if nxt is not None and abs(nxt.t - T) <= tol:
                row = self._row(lo, nxt.p.acc, nxt.p.gyr, max(lo.arrival_s, nxt.p.arrival_s))
            elif nxt is not None and prv is not None and nxt.t - prv.t <= s.hold_max_s:
                w = (T - prv.t) / (nxt.t - prv.t)
                row = self._row(lo, _lerp(prv.p.acc, nxt.p.acc, w), _lerp(prv.p.gyr, nxt.p.gyr, w),
                                max(lo.arrival_s, nxt.p.arrival_s))
            elif nxt is not None:
                if nxt.t - T <= 0.5 * s.hold_max_s:
                    row = self._row(lo, nxt.p.acc, nxt.p.gyr, max(lo.arrival_s, nxt.p.arrival_s), held=True)
                elif prv is not None and T - prv.t <= s.hold_max_s:
                    row = self._row(lo, prv.p.acc, prv.p.gyr, max(lo.arrival_s, prv.p.arrival_s), held=True)
                else:
                    self.dropped_rows += 1
            else:
                if now_s - lo.arrival_s < s.pair_wait_s + PAIR_WAIT_PERIODS * period:
                    break  # wait for the upper sample after T
                if prv is not None and T - prv.t <= s.hold_max_s:
                    row = self._row(lo, prv.p.acc, prv.p.gyr, lo.arrival_s, held=True)
                else:
                    self.dropped_rows += 1
            self._lower.popleft()
            # keep the upper samples that may still serve a later row
            keep = max(0, (k - 1) if nxt is not None else (len(ups) - 1))
            if keep:
                del ups[:keep]
            if row is not None:
                self.on_row(row)
        # an upper sample far older than anything still to come is of no use
        if not self._lower and len(self._upper) > 256:
            del self._upper[:-2]

    def _row(self, lo: Packet, up_acc: list[float], up_gyr: list[float], arrival: float,
             held: bool = False) -> Row:
        if held:
            self.held_rows += 1
        return Row(lo.t, lo.acc, lo.gyr, up_acc, up_gyr, arrival, held)

    def summary(self) -> dict[str, Any]:
        """The link's counters, dropped and held rows, and the clocks' relative drift (ppm)."""
        return {"sensors": {k: v.as_dict() for k, v in self.stats.items()},
                "rows_dropped_no_partner": self.dropped_rows, "rows_held_partner": self.held_rows,
                # the fits' slopes are (receiver - sender) per second: a sender clock that
                # runs fast has a negative one; this is how much faster the upper's runs
                "clock": {"upper_vs_lower_ppm": None if self.shared_clock else
                          round((self.clocks["lower"].drift - self.clocks["upper"].drift) * 1e6, 1),
                          "shared": self.shared_clock}}


SNAP_SHARE = 0.05
# A row waits for the upper sample after its instant this many upper periods (plus
# pair_wait_s): the next sample of an in-order link comes one period later, so a lost
# upper sample costs 1.2 periods of waiting, not the sensor's silence.
PAIR_WAIT_PERIODS = 1.2


def _lerp(a: list[float], b: list[float], w: float) -> list[float]:
    return [x + w * (y - x) for x, y in zip(a, b, strict=True)]


def _r(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 4)
