"""Neutral standing calibration: where "up" is for each sensor, and its gyroscope bias.

A recording starts with the person standing still in neutral. The still span is found
from the data (both sensors quiet), or given (the SpineWise ``kalibratie`` rows). Its
mean accelerometer direction is each sensor's neutral "up" (the zero of every angle),
and the gyroscope bias is fitted over it (``fit_gyro_bias``), removed before fusion
(imufusion corrects no bias while the person sways).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hingecoach.core.conventions import STANDARD_GRAVITY
from hingecoach.core.errors import InputError
from hingecoach.core.timeseries import FloatArray, TimeSeries

# A hinge that starts smoothly (minimum jerk) moves less than the stillness test can see
# for its first half second, but already tilts a degree and accelerates the upper sensor
# (0.2 m/s^2: a degree of false tilt): a window found from the data loses its last 0.5 s.
TRIM_END_S = 0.5


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


def window_was_given(rec: TimeSeries, window: tuple[float, float]) -> bool:
    """True when ``window`` is the recording's own declared calibration span (not detected)."""
    given = rec.meta.get("calibration_window_s")
    return given is not None and (float(given[0]), float(given[1])) == (float(window[0]), float(window[1]))


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


def sensor_calibration(rec: TimeSeries, side: str, window: tuple[float, float],
                       detected: bool = False) -> SensorCalibration:
    """Neutral up (the mean accelerometer direction) and gyroscope bias over a still window.

    ``detected``: the window was found from the data and may end where a smooth bend
    began; its last ``TRIM_END_S`` is left out (a given window is still throughout).

    Standing still still sways (about 1 deg/s), so the plain mean of the gyroscope over
    a few seconds is off by the net sway rotation over the window: the bias is fitted
    instead (``fit_gyro_bias``) so that the integrated gyroscope follows the tilts the
    accelerometer sees at every sample.
    """
    t = rec.time_s
    end = window[1]
    if detected and window[1] - window[0] >= 3 * TRIM_END_S:
        end -= TRIM_END_S
    sel = np.flatnonzero((t >= window[0]) & (t <= end))
    acc = rec[f"{side}_acc"][sel]
    gyr = rec[f"{side}_gyr"][sel]
    up = np.mean(acc, axis=0)
    up = up / np.linalg.norm(up)
    return SensorCalibration(up=up, gyro_bias_rad_s=fit_gyro_bias(t[sel], gyr, acc))


def fit_gyro_bias(time_s: FloatArray, gyr_rad_s: FloatArray, acc_m_s2: FloatArray) -> FloatArray:
    """Gyroscope bias (rad/s, sensor frame) from a still (swaying) stretch.

    Gravity seen in the sensor frame turns opposite to the body: du/dt = u x (w - b).
    Integrating from the start with u taken from the accelerometer,

        u(t) = u(0) + int u x w dt - (int [u]x dt) b,

    is linear in the unknowns u(0) and b, fitted by least squares over every sample. Sway
    is then part of the model, not of the bias (a mean of the gyroscope, or a
    small-angle end-to-end tilt change, leaves 0.02-0.07 deg/s of sway in the bias:
    1-3 deg after a minute of gyroscope-led motion). The component of b along up (the
    heading rate) does not move the tilt: it is the mean of the gyroscope along up.
    Fewer than 12 samples: the plain mean.
    """
    t = np.asarray(time_s, dtype=np.float64)
    g = np.asarray(gyr_rad_s, dtype=np.float64)
    a = np.asarray(acc_m_s2, dtype=np.float64)
    n = len(t)
    if n < 12:
        return np.asarray(np.mean(g, axis=0), dtype=np.float64)
    u = a / np.linalg.norm(a, axis=1, keepdims=True)
    dt = np.diff(t)[:, None]
    ux_w = np.cross(u, g)
    i1 = np.zeros((n, 3))
    i1[1:] = np.cumsum(0.5 * (ux_w[1:] + ux_w[:-1]) * dt, axis=0)
    # int [u]x dt as a (n, 3, 3) stack: [u]x b = u x b
    iu = np.zeros((n, 3))
    iu[1:] = np.cumsum(0.5 * (u[1:] + u[:-1]) * dt, axis=0)
    skew = np.zeros((n, 3, 3))
    skew[:, 0, 1], skew[:, 0, 2] = -iu[:, 2], iu[:, 1]
    skew[:, 1, 0], skew[:, 1, 2] = iu[:, 2], -iu[:, 0]
    skew[:, 2, 0], skew[:, 2, 1] = -iu[:, 1], iu[:, 0]
    design = np.concatenate([np.broadcast_to(np.eye(3), (n, 3, 3)), -skew], axis=2).reshape(3 * n, 6)
    rhs = (u - i1).reshape(3 * n)
    up = np.mean(u, axis=0)
    up = up / np.linalg.norm(up)
    # the unobservable heading component: pinned to the gyroscope's mean along up
    weight = float(np.sqrt(n)) * max(float(t[-1] - t[0]), 1e-3)
    design = np.vstack([design, np.concatenate([np.zeros(3), weight * up])])
    rhs = np.append(rhs, weight * float(np.mean(g, axis=0) @ up))
    sol, *_ = np.linalg.lstsq(design, rhs, rcond=None)
    return np.asarray(sol[3:], dtype=np.float64)
