"""Repetitions (start, bottom, end) from the trunk's forward bend (IMUs) or the hips'
flexion (camera).

The rep signal (``RepSettings.channel``) is smoothed by a centred (zero-delay) linear-phase FIR low-pass at
2 Hz (Hamming-windowed sinc over 0.4 s: it keeps a 1 s kettlebell swing and removes step
jitter). Offline it reads 0.2 s ahead; live, each decision waits those 0.2 s. A bend
begins when it rises above ``enter_deg`` and is complete when it falls back below
``standing_deg``. Start and end are where the bend crosses 10 % of its height above the
standing level before it (``edge_fraction``); the bottom is the raw maximum between them.
A bend still under way when the recording ends is an incomplete rep, reported but not
counted.

``RepDetector.update`` takes one sample at a time (live); ``detect_reps`` is the
vectorised form of the same state machine (offline) and the tests check they agree.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

import numpy as np

from hingecoach.core.timeseries import FloatArray, TimeSeries


@dataclass(frozen=True)
class RepSettings:
    """Where a bend starts and ends (deg of the rep signal), how it is smoothed, and which
    channel is the rep signal (IMU: trunk inclination; camera: hip flexion)."""

    # A hinge, deadlift or swing bottom tips the trunk 45-90 deg forward; standing sway,
    # walking and stairs stay under 30 deg at L1/T12 (simulated walking +-5 deg; the
    # SpineWise stairs lean 20-25 deg even at the neck). A neck sensor also moves with
    # the head looking down (33 deg on the SpineWise stairs), so its entry is 40 deg.
    enter_deg: float = 30.0
    enter_deg_neck: float = 40.0
    standing_deg: float = 15.0  # back below this is standing again: the rep is complete
    edge_fraction: float = 0.10  # start/end at 10 % of the bend's height
    min_duration_s: float = 0.3  # above enter_deg for at least this long
    lookback_s: float = 5.0  # the standing level before a bend is judged this far back
    lowpass_hz: float = 2.0
    channel: str = "trunk_inclination_deg"
    # Camera: the rep signal is hip flexion (trunk against thigh), because a squat-like
    # lift barely tips the trunk (15-22 deg in the sample clips) yet flexes the hips
    # 90 deg or more; a hinge, deadlift or swing flexes them 70-130 deg. Walking flexes
    # the hips up to ~30 deg (normal gait), and keypoint angles err by 4-17 deg
    # (docs/references.md#camera-angle-error), so a bend starts above 45 deg and ends back
    # below 20 deg.
    camera_channel: str = "hip_flexion_deg"
    camera_enter_deg: float = 45.0
    camera_standing_deg: float = 20.0

    def for_placement(self, placement: str) -> RepSettings:
        """These settings as they apply at ``placement`` (the camera's channel and limits, the
        neck's higher entry)."""
        if placement == "camera":
            return replace(self, channel=self.camera_channel, enter_deg=self.camera_enter_deg,
                           standing_deg=self.camera_standing_deg)
        return replace(self, enter_deg=self.enter_deg_neck) if placement == "neck" else self


@dataclass(frozen=True)
class Rep:
    """One repetition: times (s) and sample indices of its start, bottom and end."""

    index: int  # 1-based among complete reps (0 for an incomplete one)
    start_s: float
    bottom_s: float
    end_s: float
    complete: bool
    start_i: int
    bottom_i: int
    end_i: int


def lowpass_taps(rate_hz: float, cutoff_hz: float, span_s: float = 0.4) -> FloatArray:
    """Hamming-windowed sinc low-pass, odd length covering ``span_s``, unit DC gain."""
    n = max(3, round(span_s * rate_hz) | 1)
    k = np.arange(n) - (n - 1) / 2
    h = np.sinc(2 * cutoff_hz / rate_hz * k) * np.hamming(n)
    return np.asarray(h / h.sum())


def smooth(t: FloatArray, x: FloatArray, cutoff_hz: float) -> FloatArray:
    """The centred low-pass: index i of the result belongs to sample i. The first value
    is held before the start and the last value beyond the end."""
    rate = 1.0 / float(np.median(np.diff(t)))
    h = lowpass_taps(rate, cutoff_hz)
    d = (h.size - 1) // 2
    padded = np.concatenate([np.full(d, x[0]), x, np.full(d, x[-1])])
    return np.asarray(np.convolve(padded, h, mode="valid"))


def _bend_spans(s: FloatArray, enter: float, standing: float) -> list[tuple[int, int | None]]:
    """Hysteresis: (first index above enter, first index after it below standing)."""
    above = np.flatnonzero((s[1:] > enter) & (s[:-1] <= enter)) + 1
    if s.size and s[0] > enter:
        above = np.r_[0, above]
    below = np.flatnonzero(s < standing)
    spans: list[tuple[int, int | None]] = []
    pos = 0
    for i in above:
        if i < pos:
            continue
        k = np.searchsorted(below, i)
        if k >= below.size:
            spans.append((int(i), None))
            break
        j = int(below[k])
        spans.append((int(i), j))
        pos = j
    return spans


def _finish(t: FloatArray, raw: FloatArray, s: FloatArray, i_in: int, i_out: int | None,
            prev_end: int, st: RepSettings) -> tuple[int, int, int]:
    """Start, bottom and end indices of the bend entered at ``i_in`` (left at ``i_out``)."""
    stop = len(s) if i_out is None else i_out + 1
    bottom = i_in + int(np.argmax(raw[i_in:stop]))
    prev_end = max(prev_end, int(np.searchsorted(t, t[i_in] - st.lookback_s)))
    window = s[prev_end:i_in + 1]
    standing = window[window < st.standing_deg]
    # the standing level: the median of the standing samples before the bend (a lean-back
    # at the end of the previous rep must not pull it down)
    if i_in == 0 and i_out is not None:
        # the recording starts in the bend (a clip that starts at the bottom, a deadlift
        # from the floor): there is no standing before it, so the level is the one it rises
        # to, the first sample back under standing (the live detector has it too)
        base = float(s[i_out])
    else:
        base = float(np.median(standing)) if standing.size else float(np.min(window))
    peak = float(s[i_in:stop].max())
    level = base + st.edge_fraction * (peak - base)
    pre = np.flatnonzero(s[prev_end:i_in + 1] <= level)
    start = prev_end + int(pre[-1]) if pre.size else prev_end
    post = np.flatnonzero(s[bottom:stop] <= level)
    end = bottom + int(post[0]) if post.size else stop - 1
    return start, bottom, end


def detect_reps(angles: TimeSeries, settings: RepSettings | None = None) -> list[Rep]:
    """All repetitions (complete ones numbered from 1, an incomplete last one with 0)."""
    st = (settings or RepSettings()).for_placement(str(angles.meta.get("placement", "T12")))
    t = angles.time_s
    raw = angles[st.channel]
    if len(t) < 3:
        return []
    s = smooth(t, raw, st.lowpass_hz)
    reps: list[Rep] = []
    prev_end = 0
    count = 0
    for i_in, i_out in _bend_spans(s, st.enter_deg, st.standing_deg):
        if i_out is not None and t[i_out] - t[i_in] < st.min_duration_s:
            continue
        start, bottom, end = _finish(t, raw, s, i_in, i_out, prev_end, st)
        complete = i_out is not None
        count += complete
        idx = count if complete else 0
        reps.append(Rep(idx, float(t[start]), float(t[bottom]), float(t[end]), complete,
                        start, bottom, end))
        prev_end = end
    return reps


def partial_first_lift(reps: list[Rep], depth: FloatArray, margin_deg: float) -> list[Rep]:
    """``reps`` with the first one made incomplete (index 0, the complete ones numbered
    again) when it starts at the first sample already in the bend and its deepest
    ``depth`` (the rep signal) falls short of the median bottom of the other complete reps
    by more than ``margin_deg``: the recording began part-way up, its bottom was not
    recorded. A recording with no other complete rep is left as it is."""
    full = [r for r in reps if r.complete]
    if len(full) < 2 or full[0].start_i != 0:
        return reps
    others = float(np.median([depth[r.bottom_i] for r in full[1:]]))
    if not depth[full[0].bottom_i] < others - margin_deg:
        return reps
    out, count = [], 0
    for r in reps:
        if r is full[0]:
            out.append(replace(r, index=0, complete=False))
        else:
            count += r.complete
            out.append(replace(r, index=count if r.complete else 0))
    return out


class RepDetector:
    """The same state machine, one sample at a time. ``update`` returns a Rep when one
    completes (the centred low-pass needs (n-1)/2 samples of the future, so decisions
    come that much, 0.2 s, after the sample they are about); ``finish`` flushes the end
    and returns the incomplete rep, if any. Memory is bounded by the longest rep (while
    standing it holds ``lookback_s`` plus 10 s)."""

    def __init__(self, sample_rate_hz: float, placement: str = "T12",
                 settings: RepSettings | None = None) -> None:
        self.st = (settings or RepSettings()).for_placement(placement)
        self._h = lowpass_taps(sample_rate_hz, self.st.lowpass_hz)
        self._d = (self._h.size - 1) // 2
        self._t: list[float] = []
        self._raw: list[float] = []
        self._s: list[float] = []
        self._offset = 0  # global index of self._t[0]
        self._in: int | None = None  # local index where the bend went above enter
        self._count = 0
        self._first: float | None = None
        self._window: list[float] = []
        # trim while standing every so many samples (a batch: deleting from the front of
        # a list moves it): memory stays under lookback_s + 2 * this many samples
        self._trim_every = max(64, round(10.0 * sample_rate_hz))
        self._trim_at = self._trim_every

    def update(self, t: float, value_deg: float) -> Rep | None:
        """One sample of the rep signal (``self.st.channel``)."""
        if self._first is None:
            self._first = value_deg
            self._window = [value_deg] * self._d
        self._t.append(t)
        self._raw.append(value_deg)
        self._window.append(value_deg)
        if len(self._window) < self._h.size:
            return None
        return self._step()

    def _step(self) -> Rep | None:
        y = float(np.dot(self._h, self._window[-self._h.size:]))
        del self._window[0]
        prev = self._s[-1] if self._s else None
        self._s.append(y)
        k = len(self._s) - 1
        if self._in is None:
            if y > self.st.enter_deg and (prev is None or prev <= self.st.enter_deg):
                self._in = k
            elif k >= self._trim_at:
                self._trim_idle(k)
            return None
        if y < self.st.standing_deg:
            i_in, self._in = self._in, None
            if self._t[k] - self._t[i_in] < self.st.min_duration_s:
                return None
            rep = self._make(i_in, k, complete=True)
            self._drop_before(rep.end_i - self._offset)
            return rep
        return None

    def finish(self) -> list[Rep]:
        """Flush the samples still waiting for their future; returns the reps that
        completed on the way and the incomplete one, if any."""
        out: list[Rep] = []
        if self._first is None:
            return out
        last = self._raw[-1]
        while len(self._s) < len(self._raw):
            self._window.append(last)
            rep = self._step()
            if rep is not None:
                out.append(rep)
        if self._in is not None:
            out.append(self._make(self._in, None, complete=False))
        return out

    def _make(self, i_in: int, i_out: int | None, complete: bool) -> Rep:
        n = len(self._s)
        t, raw, s = (np.asarray(v[:n]) for v in (self._t, self._raw, self._s))
        start, bottom, end = _finish(t, raw, s, i_in, i_out, 0, self.st)
        if complete:
            self._count += 1
        o = self._offset
        return Rep(self._count if complete else 0, float(t[start]), float(t[bottom]),
                   float(t[end]), complete, start + o, bottom + o, end + o)

    def _trim_idle(self, k: int) -> None:
        """Standing between reps: forget what the next rep's standing level cannot reach
        (``lookback_s`` before any sample from now on), so hours without a lift cost no
        memory. The offline search starts at the later of the previous rep's end and the
        lookback, so this changes no rep."""
        t_keep = self._t[k] - self.st.lookback_s - 1.0
        cut = bisect.bisect_left(self._t, t_keep, 0, k)
        if cut > 0:
            self._drop_before(cut)
        self._trim_at = len(self._s) - 1 + self._trim_every

    def _drop_before(self, k: int) -> None:
        self._t, self._raw, self._s = self._t[k:], self._raw[k:], self._s[k:]
        self._offset += k
        self._trim_at = max(0, self._trim_at - k)
