"""Neutral standing calibration: where "up" is for each sensor, and its gyroscope bias.

A recording starts with the person standing still in neutral. The still span is found
from the data (both sensors quiet), or given (the SpineWise ``kalibratie`` rows). Its
mean accelerometer direction is each sensor's neutral "up" (the zero of every angle),
and its mean gyroscope reading is the gyroscope bias, removed before fusion (imufusion
corrects no bias while the person sways).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hingecoach.core.conventions import STANDARD_GRAVITY
from hingecoach.core.errors import InputError
from hingecoach.core.timeseries import FloatArray, TimeSeries


@dataclass(frozen=True)
class CalibrationSettings:
    """How the neutral standing stillness is found (window lengths in s, limits in rad/s, m/s^2, deg)."""

    window_s: float = 0.5  # stillness is judged over windows of this length
    # Quiet standing: gyroscope std per axis below 3 deg/s and accelerometer-norm std
    # below 0.3 m/s^2 (postural sway is well under 1 deg/s and 0.05 m/s^2; a step or a
    # bend exceeds both many times over).
    gyro_std_max_rad_s: float = np.deg2rad(3.0)
    acc_std_max_m_s2: float = 0.3
    min_still_s: float = 2.0  # shorter: a warning (zero and bias less certain)
    hard_min_still_s: float = 0.5  # shorter: an error
    max_still_s: float = 10.0  # use at most this much of the still start
    max_drift_deg: float = 3.0  # the upper sensor's up may wander this far while "still"
    search_s: float = 30.0  # look for the still stance within the first this many seconds


@dataclass(frozen=True)
class SensorCalibration:
    """What the neutral stance gives one sensor: its up vector and gyroscope bias (sensor frame)."""

    up: FloatArray  # unit vector, neutral "up" in the sensor frame
    gyro_bias_rad_s: FloatArray  # (3,)


def _still_windows(rec: TimeSeries, s: CalibrationSettings, until_s: float
                   ) -> tuple[FloatArray, list[bool], list[FloatArray]]:
    t = rec.time_s
    n_win = max(2, round(s.window_s * rec.sample_rate_hz))
    starts: list[float] = []
    flags: list[bool] = []
    ups: list[FloatArray] = []
    i = 0
    while i + n_win <= len(t) and t[i] - t[0] < until_s:
        ok = True
        for side in ("lower", "upper"):
            g = rec[f"{side}_gyr"][i:i + n_win]
            a = np.linalg.norm(rec[f"{side}_acc"][i:i + n_win], axis=1)
            if (np.max(np.std(g, axis=0)) > s.gyro_std_max_rad_s
                    or np.std(a) > s.acc_std_max_m_s2
                    or abs(np.mean(a) - STANDARD_GRAVITY) > 1.0):
                ok = False
                break
        starts.append(float(t[i]))
        flags.append(ok)
        ups.append(np.mean(rec["upper_acc"][i:i + n_win], axis=0))
        i += n_win
    return np.asarray([*starts, float(t[min(i, len(t) - 1)])]), flags, ups


def find_still_span(rec: TimeSeries, settings: CalibrationSettings | None = None,
                    search_s: float | None = None) -> tuple[float, float]:
    """The first span of standing still that lasts ``min_still_s`` within the first
    ``search_s`` seconds (default: the whole recording up to 30 s), else the longest one
    found there; capped at ``max_still_s``. Returns (start, end) in seconds."""
    s = settings or CalibrationSettings()
    edges, flags, ups = _still_windows(rec, s, s.search_s if search_s is None else search_s)
    best = (float(rec.time_s[0]), float(rec.time_s[0]))
    run_start: int | None = None
    cos_max = np.cos(np.deg2rad(s.max_drift_deg))
    for k, ok in enumerate([*flags, False]):
        if ok and run_start is not None:
            a, b = ups[run_start], ups[k]
            # a slow, smooth bend has a small gyroscope std: the posture must also hold
            ok = float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)) >= cos_max
        if ok and run_start is None:
            run_start = k
        if not ok and run_start is not None:
            span = (float(edges[run_start]), float(edges[k]))
            if span[1] - span[0] > best[1] - best[0]:
                best = span
            run_start = None
            if best[1] - best[0] >= s.min_still_s:
                break
    return best[0], min(best[1], best[0] + s.max_still_s)


def calibration_window(rec: TimeSeries, settings: CalibrationSettings | None = None
                       ) -> tuple[tuple[float, float], list[str]]:
    """The neutral standing span (start, end) in seconds, and warnings."""
    s = settings or CalibrationSettings()
    source = rec.meta.get("source", "recording")
    given = rec.meta.get("calibration_window_s")
    if given is not None:
        t0, t1 = float(given[0]), float(given[1])
        if t1 - t0 >= s.hard_min_still_s:
            return (t0, t1), []
    t0, t1 = find_still_span(rec, s)
    length = t1 - t0
    if length < s.hard_min_still_s:
        raise InputError(source, f"a recording that starts with at least {s.min_still_s:g} s of "
                         "standing still (the neutral calibration), or --calibration FILE",
                         f"{length:.1f} s still in the first {s.search_s:g} s")
    warnings = []
    if length < s.min_still_s:
        warnings.append(f"{source}: only {length:.1f} s of standing still at the start "
                        f"(want {s.min_still_s:g} s): the zero and gyroscope bias are less certain")
    return (t0, t1), warnings


def sensor_calibration(rec: TimeSeries, side: str, window: tuple[float, float]) -> SensorCalibration:
    """Neutral up and gyroscope bias over a still window.

    Standing still still sways (about 1 deg/s), so the plain mean of the gyroscope over
    a few seconds is off by the net sway rotation over the window. The accelerometer
    measures that net tilt change (up at the window's end against its start), and it is
    taken out: bias = mean(gyro) - tilt change / time. The heading component of sway is
    not observable and stays in the estimate (it cannot move a gravity-referenced tilt).
    """
    t = rec.time_s
    sel = np.flatnonzero((t >= window[0]) & (t <= window[1]))
    acc = rec[f"{side}_acc"][sel]
    gyr = rec[f"{side}_gyr"][sel]
    up = np.mean(acc, axis=0)
    up = up / np.linalg.norm(up)
    n = sel.size
    k = max(1, n // 6)  # average the ends over a sixth of the window each
    if n >= 12:
        u0 = np.mean(acc[:k], axis=0)
        u1 = np.mean(acc[-k:], axis=0)
        u0, u1 = u0 / np.linalg.norm(u0), u1 / np.linalg.norm(u1)
        c0, c1 = k // 2, n - k + k // 2
        span = float(t[sel[c1]] - t[sel[c0]])
        rotation = np.cross(u1, u0)  # net body rotation (tilt part), small-angle
        bias = np.mean(gyr[c0:c1], axis=0) - rotation / span
    else:
        bias = np.mean(gyr, axis=0)
    return SensorCalibration(up=up, gyro_bias_rad_s=bias)
