"""Put two devices' clocks on one time base.

Two sensors recorded by two apps or devices each count time on their own clock: the
starts differ by seconds, and crystal clocks drift apart (tens of ppm: 100 ppm is 30 ms
over five minutes, two samples at 60 Hz). Both sensors sit on the back, so both see the
same movements at the same instants: each starts still (the shared standing
calibration) and starts turning at the first bend's onset.

- Activity: the angular speed ``|gyr|`` of each device, interpolated onto a common 200 Hz
  grid on its own clock and smoothed over 50 ms. Its magnitude is independent of how the
  sensor is strapped on.
- Coarse offset: the first bend's onset (first crossing of a third of the activity's
  98th percentile after the still start) on each clock.
- Fine offset and drift: normalised cross-correlation of the activities in windows of
  20 s with motion, each peak refined to a fraction of a grid step (parabola through the
  peak and its neighbours); a straight line through the windows' lags is the offset and
  the drift when the windows span a minute or more (shorter, the median lag, no drift:
  100 ppm is 6 ms a minute); the residual is the RMS of the windows' lags about it.

The mapping is ``t_reference = offset + scale * t_other`` with ``scale = 1 + drift``.
Anything that makes the two sensors move at different instants (a lead of the lumbar
spine over the pelvis) is folded into the offset: it is bounded by the residual only
when it changes from bend to bend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hingecoach.core.errors import InputError
from hingecoach.core.timeseries import FloatArray

GRID_HZ = 200.0
SMOOTH_S = 0.05
WINDOW_S = 20.0
SEARCH_S = 0.25  # fine search either side of the coarse offset, per window
COARSE_SEARCH_S = 3.0  # whole-recording search either side of the onset offset
MIN_CORR = 0.5  # a window whose peak correlation is lower is not used
ONSET_SHARE = 1 / 3
# still: under 9 deg/s on average (a gyroscope bias of a few deg/s included)
STILL_MAX_RAD_S = np.deg2rad(9.0)
STILL_MIN_S = 0.5  # the still start must last this long (the calibration's hard minimum)
MIN_DRIFT_SPAN_S = 60.0  # fit the drift only over windows spread this far apart
MAX_DRIFT = 1e-3  # 1000 ppm: beyond any crystal; a larger fit is an error in the data


@dataclass(frozen=True)
class ClockAlignment:
    """``t_reference = offset_s + scale * t_other``; residual (s) of the windows' lags."""

    offset_s: float
    scale: float
    residual_s: float
    windows: int
    warnings: list[str] = field(default_factory=list)

    def to_reference(self, t_other: FloatArray) -> FloatArray:
        """Times on the other clock (s) as times on the reference clock (s)."""
        return self.offset_s + self.scale * np.asarray(t_other, dtype=float)

    @property
    def drift_ppm(self) -> float:
        """How much faster the reference clock runs, in parts per million."""
        return (self.scale - 1.0) * 1e6

    def to_json(self) -> dict[str, Any]:
        """The alignment as plain numbers (for ``meta`` and the session record)."""
        return {"offset_s": round(self.offset_s, 6), "drift_ppm": round(self.drift_ppm, 2),
                "residual_ms": round(self.residual_s * 1000, 2), "windows": self.windows}


def activity(time_s: FloatArray, gyr: FloatArray) -> tuple[float, FloatArray]:
    """The angular speed (rad/s) on a 200 Hz grid from the first sample, smoothed; returns
    (grid start time, values)."""
    speed = np.linalg.norm(gyr, axis=1)
    grid = np.arange(time_s[0], time_s[-1], 1.0 / GRID_HZ)
    a = np.interp(grid, time_s, speed)
    k = max(1, round(SMOOTH_S * GRID_HZ))
    a = np.convolve(a, np.ones(k) / k, mode="same")
    return float(time_s[0]), a


def _onset(a: FloatArray, name: str) -> int:
    """Grid index of the first bend's onset: where the speed first rises above a third of
    its 98th percentile, after a still start (the gyroscope's bias is taken off)."""
    still = a[: max(2, int(STILL_MIN_S * GRID_HZ))]
    base = float(np.median(still))
    level = base + ONSET_SHARE * (float(np.percentile(a, 98)) - base)
    above = np.flatnonzero(a > level)
    if base > STILL_MAX_RAD_S or above.size == 0 or above[0] < int(STILL_MIN_S * GRID_HZ):
        raise InputError(name, "a recording that starts standing still and then bends "
                         "(the clocks of two devices are aligned on it)",
                         "no movement" if above.size == 0 and base <= STILL_MAX_RAD_S else "no still start")
    return int(above[0])


def _xcorr(a: FloatArray, b: FloatArray, lag0: int, search: int) -> tuple[float, float]:
    """Best lag ``L`` (grid steps, fractional) with ``a[i] ~ b[i - L]`` within
    ``lag0 +- search``, and the normalised correlation at it."""
    lags = np.arange(lag0 - search, lag0 + search + 1)
    scores = np.full(lags.size, -np.inf)
    for k, lag in enumerate(lags):
        i0, i1 = max(0, lag), min(a.size, b.size + lag)
        if i1 - i0 < 2 * GRID_HZ:
            continue
        x = a[i0:i1] - a[i0:i1].mean()
        y = b[i0 - lag:i1 - lag] - b[i0 - lag:i1 - lag].mean()
        den = float(np.sqrt((x @ x) * (y @ y)))
        if den > 0:
            scores[k] = float(x @ y) / den
    j = int(np.argmax(scores))
    if not np.isfinite(scores[j]):
        return float(lag0), -1.0
    frac = 0.0
    if 0 < j < lags.size - 1 and np.all(np.isfinite(scores[j - 1:j + 2])):
        s0, s1, s2 = scores[j - 1:j + 2]
        den2 = s0 - 2 * s1 + s2
        frac = 0.5 * (s0 - s2) / den2 if den2 < 0 else 0.0
    return float(lags[j] + frac), float(scores[j])


def _windows(a: FloatArray, b: FloatArray, lag: float) -> tuple[list[float], list[float]]:
    """For each 20 s window of ``a`` with motion (half-overlapping): the other grid's index
    at its centre ``j`` and the lag ``L`` with ``a[j + L] ~ b[j]``."""
    n = round(WINDOW_S * GRID_HZ)
    search = round(SEARCH_S * GRID_HZ)
    moving = float(np.percentile(a, 90))
    centres: list[float] = []
    lags: list[float] = []
    for start in range(0, max(1, a.size - n // 2), n // 2):
        seg = a[start:start + n]
        if seg.size < n // 2 or float(np.max(seg)) < 0.5 * moving:
            continue
        j0 = round(start - lag)  # where the window starts on the other grid
        lo = max(0, j0 - search)
        piece = b[lo:max(lo, j0 + seg.size + search)]
        if piece.size < seg.size // 2:
            continue
        # seg[k] ~ piece[k - w]  <=>  a[start + k] ~ b[lo + k - w]
        w, corr = _xcorr(seg, piece, round(lag) - start + lo, search)
        if corr < MIN_CORR:
            continue
        centres.append(lo + seg.size / 2 - w)
        lags.append(start - lo + w)
    return centres, lags


def align_clocks(t_ref: FloatArray, gyr_ref: FloatArray, t_other: FloatArray, gyr_other: FloatArray,
                 *, names: tuple[str, str] = ("reference", "other")) -> ClockAlignment:
    """The mapping from the other device's clock to the reference device's (module docstring)."""
    r0, a = activity(t_ref, gyr_ref)
    o0, b = activity(t_other, gyr_other)
    coarse = _onset(a, names[0]) - _onset(b, names[1])  # a[i] ~ b[i - coarse]
    lag, corr = _xcorr(a, b, coarse, round(COARSE_SEARCH_S * GRID_HZ))
    if corr < MIN_CORR:
        raise InputError(names[1], f"movements matching those of {names[0]} (both sensors on the "
                         "back during the same bends)", f"a best correlation of {corr:.2f}")
    centres, lags = _windows(a, b, lag)
    warnings: list[str] = []
    span_s = (max(centres) - min(centres)) / GRID_HZ if centres else 0.0
    if len(centres) >= 3 and span_s >= MIN_DRIFT_SPAN_S:
        # lag grows with the other clock's index: a[i] ~ b[j], i = j + lag(j)
        c = np.asarray(centres)
        slope, icpt = np.polyfit(c, np.asarray(lags), 1)
        resid = np.asarray(lags) - (icpt + slope * c)
        if abs(slope) > MAX_DRIFT:
            warnings.append(f"{names[1]}: the clock drift fitted against {names[0]} is "
                            f"{slope * 1e6:.0f} ppm, implausible; used the offset alone")
            slope, icpt, resid = 0.0, float(np.median(lags)), np.asarray(lags) - float(np.median(lags))
        residual = float(np.sqrt(np.mean(resid ** 2))) / GRID_HZ if len(centres) > 2 else float("nan")
    elif centres:
        # too short to tell drift from noise (100 ppm is 6 ms a minute): offset alone
        slope, icpt = 0.0, float(np.median(lags))
        residual = float(np.sqrt(np.mean((np.asarray(lags) - icpt) ** 2))) / GRID_HZ
    else:
        slope, icpt, residual = 0.0, lag, float("nan")
        warnings.append(f"{names[1]}: too little movement to check the clock alignment against "
                        f"{names[0]} bend by bend; aligned on the whole recording")
    # grid index i on the reference = j + icpt + slope * j (j the other's index), so
    # t_ref - r0 = (t_other - o0) * (1 + slope) + icpt / GRID_HZ
    scale = 1.0 + float(slope)
    offset = r0 + float(icpt) / GRID_HZ - scale * o0
    return ClockAlignment(offset, scale, residual, len(centres), warnings)
