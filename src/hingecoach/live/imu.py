"""Rows -> angles, live: the neutral calibration, 6-axis fusion and the flexion axes,
with the same maths as the offline analysis (``hingecoach.angles``).

1. Calibration. Rows are kept until the first still standing span is found with the
   offline criteria (``orientation.calibration.find_still_span``, run on the rows so
   far each time half a second of rows completes): the first span of at least 2 s where
   both sensors are quiet, closed by the first movement (or 10 s long); if none in the
   first 30 s, the longest of at least 0.5 s there (as offline), else the search starts
   again on the newer rows. A recording that names its calibration rows (SpineWise)
   uses them. The span gives each sensor's neutral "up" and gyroscope bias
   (``sensor_calibration``). With a calibration file and no still start within 10 s,
   the file's zero, bias and axes are used instead (as ``analyze --calibration`` does
   for a recording without a still start of its own).
2. Fusion. One ``SensorFusion`` per sensor, started at the first row with the neutral
   up, exactly as offline; the kept rows are run through it first, then each new row.
3. Flexion axes. Offline, each sensor's flexion axis is the principal direction of
   ``up0 x up(t)`` over the whole recording. Live, the same sum (of the outer products
   of the cross products of tilts beyond 5 deg) is kept as it grows and its principal
   direction recomputed (every sample for the first 50 tilted samples, then every 10),
   so the first forward bend gives the axis and later bends refine it. Sign: the first
   excursion of the upper sensor beyond 15 deg is forward (people bend forward much
   further than they lean back; the offline rule is the larger excursion); the lower
   sensor's sign follows the upper one's (the pelvis tilts forward with the trunk in a
   hinge, a stoop and a squat; offline: the correlation of the two). With
   ``--calibration FILE`` the file's axes are used from the first sample, fixed.
   Before the first bend the angles rest on an axis found from sway: they are small
   then, and no rep or cue depends on them; until that bend decides which way is
   forward, the angles go out 1 s late (``sign_delay_s``), so that the start of the
   first bend has the right sign for the rep detector too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hingecoach.angles import ANGLE_NAMES, AngleModel, AngleSettings, sensor_lever_arms
from hingecoach.core.timeseries import FloatArray, TimeSeries
from hingecoach.live.stream import Row
from hingecoach.orientation.calibration import find_still_span, sensor_calibration
from hingecoach.orientation.fusion import SensorFusion
from hingecoach.orientation.sagittal import MIN_TILT_DEG, OWN_SIGN_RANGE_DEG

SIDES = ("lower", "upper")
COLUMNS = ("lower_acc", "lower_gyr", "upper_acc", "upper_gyr")


@dataclass(frozen=True)
class LiveAxisSettings:
    """How the flexion axes are found live (see the module); the tilts in degrees."""

    min_tilt_deg: float = MIN_TILT_DEG  # as offline: smaller tilts are sway and noise
    sign_tilt_deg: float = OWN_SIGN_RANGE_DEG  # the first upper excursion this far is forward
    eager_samples: int = 50  # recompute the axis every sample until this many tilted samples
    every: int = 10  # then every this many
    fallback_after_s: float = 10.0  # with a calibration file: no still start by then -> use the file's
    # before the first bend decides which way is forward, angles go out this late (the
    # rep detector's 0.4 s smoothing must see the start of that bend with the right sign)
    sign_delay_s: float = 1.0


def _cross(a: Any, b: Any) -> tuple[float, float, float]:
    """a x b for 3-vectors, in plain floats (numpy's cross costs 40 us a call)."""
    a0, a1, a2 = float(a[0]), float(a[1]), float(a[2])
    b0, b1, b2 = float(b[0]), float(b[1]), float(b[2])
    return (a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0)


class LiveAxis:
    """One sensor's flexion axis, estimated as the data comes (see the module)."""

    def __init__(self, up0: FloatArray, settings: LiveAxisSettings, fixed: FloatArray | None = None) -> None:
        self.up0 = np.asarray(up0, dtype=np.float64)
        self.s = settings
        self.fixed = fixed is not None
        self._m = np.zeros((3, 3))
        self._m_all = np.zeros((3, 3))
        self.tilted = 0
        self._since = 0
        self._sin_min = math.sin(math.radians(settings.min_tilt_deg))
        self.axis = np.asarray(fixed, dtype=np.float64) if fixed is not None else self._perp(np.array([1.0, 0, 0]))
        self.sign = 1.0

    def _perp(self, v: FloatArray) -> FloatArray:
        a = v - float(v @ self.up0) * self.up0
        n = float(np.linalg.norm(a))
        if n < 1e-9:
            a = np.cross(self.up0, [0.0, 1.0, 0.0])
            n = float(np.linalg.norm(a))
            if n < 1e-9:
                a = np.cross(self.up0, [0.0, 0.0, 1.0])
                n = float(np.linalg.norm(a))
        return np.asarray(a / n)

    def add(self, up: FloatArray) -> None:
        """One fused up vector (sensor frame) into the axis estimate."""
        if self.fixed:
            return
        c = np.array(_cross(self.up0, up))
        o = np.outer(c, c)
        if float(c @ c) > self._sin_min ** 2:
            self._m += o
            self.tilted += 1
            self._since += 1
            if self.tilted <= self.s.eager_samples or self._since >= self.s.every:
                self._update(self._m if self.tilted >= 3 else self._m + self._m_all)
        elif self.tilted < 3:
            self._m_all += o
            self._since += 1
            if self._since >= 50:
                self._update(self._m_all)

    def _update(self, m: FloatArray) -> None:
        self._since = 0
        _, v = np.linalg.eigh(m)
        new = self._perp(v[:, 2])
        if float(new @ self.axis) < 0:  # keep the orientation: eigenvectors have no sign
            new = -new
        self.axis = new

    def tilt_deg(self, up: FloatArray) -> float:
        """Signed rotation about the axis from up0 to ``up`` (``sagittal_tilt_deg``).

        While the axis rests on fewer than ``eager_samples`` tilted samples (the start of
        the first bend), the whole angle between up0 and up is used, with the sign of its
        part about the axis: for a bend in the sagittal plane that is the sagittal tilt
        whatever the axis estimate, so the first rep is measured as the later ones."""
        ax = self.axis
        u0 = self.up0
        k = float(up @ ax)
        p = (up[0] - k * ax[0], up[1] - k * ax[1], up[2] - k * ax[2])
        cx = _cross(p, u0)
        s = cx[0] * ax[0] + cx[1] * ax[1] + cx[2] * ax[2]
        c = p[0] * u0[0] + p[1] * u0[1] + p[2] * u0[2]
        if not self.fixed and self.tilted < self.s.eager_samples:
            full = _cross(u0, up)
            sn = math.sqrt(full[0] ** 2 + full[1] ** 2 + full[2] ** 2)
            if sn > self._sin_min:
                whole = math.degrees(math.atan2(sn, float(up @ u0)))
                return self.sign * math.copysign(whole, s)
        return self.sign * math.degrees(math.atan2(s, c))


MAX_UNSIGNED_HOLD_S = 30.0  # rows wait at most this long for the sign of the first bend


@dataclass
class ImuAngles:
    """Rows in; ``on_angles(t, {channel: deg}, row)`` out once calibrated."""

    settings: AngleSettings
    on_angles: Callable[[float, dict[str, float], Row], None]
    on_calibrated: Callable[[dict[str, Any]], None]
    emit: Callable[[dict[str, Any]], None]
    rate_hint_hz: float | None = None
    window_hint_s: tuple[float, float] | None = None
    calibration: AngleModel | None = None  # from --calibration FILE
    axis_settings: LiveAxisSettings = field(default_factory=LiveAxisSettings)
    source: str = "live"
    placement: str = "T12"  # where the upper sensor sits: its lever arm about the hips

    def __post_init__(self) -> None:
        self._rows: list[Row] = []
        self.calibrated = False
        self.flushing = False  # the rows kept from before the calibration are going through
        self.rate_hz: float | None = None
        self.window_s: tuple[float, float] | None = None
        self._checked = 0
        self._fusion: dict[str, SensorFusion] = {}
        self._axes: dict[str, LiveAxis] = {}
        self._prev_t: float | None = None
        self._upper_signed = False
        self._corr = 0.0
        self._held: list[tuple[Row, FloatArray, FloatArray]] = []

    # -- calibration --------------------------------------------------------------------
    def add(self, row: Row) -> None:
        """One row: kept until the calibration, then fused into angles (``on_angles``)."""
        if self.calibrated:
            self._process(row)
            return
        self._rows.append(row)
        n = len(self._rows)
        if n < 4:
            return
        rate = self.rate_hint_hz or 1.0 / float(np.median(np.diff([r.t for r in self._rows[-200:]])))
        n_win = max(2, round(self.settings.calibration.window_s * rate))
        if n - self._checked < n_win:
            return
        self._checked = n
        self._try_calibrate()

    def _series(self) -> TimeSeries:
        rows = self._rows
        return TimeSeries([r.t for r in rows], {c: [getattr(r, c) for r in rows] for c in COLUMNS},
                          meta={"source": self.source})

    def _try_calibrate(self) -> None:
        cs = self.settings.calibration
        rows = self._rows
        t0, t_last = rows[0].t, rows[-1].t
        if self.window_hint_s is not None:
            if t_last >= self.window_hint_s[1] and self.window_hint_s[1] - self.window_hint_s[0] >= cs.hard_min_still_s:
                self._calibrate(self._series(), self.window_hint_s, [], detected=False)
            return
        ts = self._series()
        a, b = find_still_span(ts, cs)
        length = b - a
        # where find_still_span's windows stopped: a still span reaching it may go on
        t = ts.time_s
        n_win = max(2, round(cs.window_s * ts.sample_rate_hz))
        i = 0
        while i + n_win <= len(t) and t[i] - t[0] < cs.search_s:
            i += n_win
        search_done = i + n_win <= len(t)
        closed = b < float(t[min(i, len(t) - 1)]) - 1e-12
        if length >= cs.min_still_s and (closed or search_done or length >= cs.max_still_s - 1e-9):
            self._calibrate(ts, (a, b), [])
            return
        if self.calibration is not None and t_last - t0 >= self.axis_settings.fallback_after_s:
            self._calibrate(ts, None, [f"{self.source}: no still standing start: using the "
                                       "calibration file's neutral posture, gyroscope bias and axes"])
            return
        if search_done:
            if length >= cs.hard_min_still_s:
                self._calibrate(ts, (a, b), [f"{self.source}: only {length:.1f} s of standing still "
                                             f"at the start (want {cs.min_still_s:g} s): the zero and "
                                             "gyroscope bias are less certain"])
                return
            keep = [r for r in rows if r.t >= t_last - cs.search_s / 3]
            self._rows, self._checked = keep, 0
            self.emit({"type": "warning", "kind": "no_calibration",
                       "message": f"no still standing in {cs.search_s:g} s: stand still and upright "
                                  f"for {cs.min_still_s:g} s to calibrate"})

    def _calibrate(self, ts: TimeSeries, window: tuple[float, float] | None, warnings: list[str],
                   detected: bool = True) -> None:
        rows = self._rows
        self.rate_hz = self.rate_hint_hz or ts.sample_rate_hz
        cal = self.calibration
        ax_s = self.axis_settings
        if window is None:
            assert cal is not None
            models = {"lower": cal.lower, "upper": cal.upper}
            up0 = {s: models[s].up0 for s in SIDES}
            bias = {s: models[s].gyro_bias_rad_s for s in SIDES}
            self.window_s = cal.window_s
        else:
            cals = {s: sensor_calibration(ts, s, window, detected) for s in SIDES}
            up0 = {s: cals[s].up for s in SIDES}
            bias = {s: cals[s].gyro_bias_rad_s for s in SIDES}
            self.window_s = window
        levers = sensor_lever_arms(up0, self.placement, self.settings.fusion)
        for s in SIDES:
            self._fusion[s] = SensorFusion(self.rate_hz, bias[s], up0[s], self.settings.fusion,
                                           lever_arm_m=levers[s])
            fixed = None
            if cal is not None:
                fixed = (cal.lower if s == "lower" else cal.upper).axis
            self._axes[s] = LiveAxis(up0[s], ax_s, fixed)
        if cal is not None:
            self._upper_signed = True  # the file's axes are signed already
        for w in warnings:
            self.emit({"type": "warning", "kind": "calibration", "message": w})
        self.calibrated = True
        model_info = {
            "window_s": [round(x, 3) for x in self.window_s], "sample_rate_hz": round(self.rate_hz, 3),
            "up0": {s: [round(float(x), 6) for x in up0[s]] for s in SIDES},
            "gyro_bias_rad_s": {s: [round(float(x), 6) for x in bias[s]] for s in SIDES},
            "axes_from": "calibration file" if cal is not None else "live (bends as they come)"}
        self.on_calibrated(model_info)
        self._rows = []
        self.flushing = True
        try:
            for r in rows:
                self._process(r)
        finally:
            self.flushing = False

    def finish(self) -> None:
        """The end of the stream: rows still held for the sign go out as they are."""
        if self._held:
            self._flush_held()

    # -- per row ------------------------------------------------------------------------
    def _process(self, row: Row) -> None:
        assert self.rate_hz is not None
        dt = 1.0 / self.rate_hz if self._prev_t is None else row.t - self._prev_t
        self._prev_t = row.t
        f, ax = self._fusion, self._axes
        # a gap longer than the fusion's reset_gap_s restarts each filter inside update(),
        # from this sample's accelerometer and with the start-up ramp, as offline does
        up_lo = f["lower"].update(dt, np.asarray(row.lower_gyr), np.asarray(row.lower_acc))
        up_up = f["upper"].update(dt, np.asarray(row.upper_gyr), np.asarray(row.upper_acc))
        ax["lower"].add(up_lo)
        ax["upper"].add(up_up)
        if not self._upper_signed:
            # which way is forward is not known until the first excursion beyond 15 deg:
            # until then rows go out sign_delay_s late, and not at all during an excursion
            # beyond 5 deg, so that the start of the first bend gets the right sign too
            self._held.append((row, up_lo, up_up))
            t_up = ax["upper"].tilt_deg(up_up)
            if abs(t_up) >= ax["upper"].s.sign_tilt_deg and ax["upper"].tilted >= 3:
                self._upper_signed = True
                if t_up < 0:
                    ax["upper"].sign = -1.0
                self._sign_lower(self._held)
                self._flush_held()
            elif abs(t_up) < ax["upper"].s.min_tilt_deg or row.t - self._held[0][0].t > MAX_UNSIGNED_HOLD_S:
                # (a long lean that never becomes a bend, at a desk say, must not hold
                # rows without end: they go out with the sign as it stands)
                delay = self.axis_settings.sign_delay_s
                while self._held and self._held[0][0].t < row.t - delay:
                    r, lo, up = self._held.pop(0)
                    was, self.flushing = self.flushing, True
                    try:
                        self._emit_row(r, lo, up)
                    finally:
                        self.flushing = was
            return
        self._emit_row(row, up_lo, up_up)

    def _sign_lower(self, rows: list[tuple[Row, FloatArray, FloatArray]]) -> None:
        """The pelvis' sign from the whole first excursion (its rows beyond 5 deg), before
        any of it goes out."""
        lower, upper = self._axes["lower"], self._axes["upper"]
        if lower.fixed:
            return
        for _, lo, up in rows:
            t_up = upper.tilt_deg(up)
            if abs(t_up) >= upper.s.min_tilt_deg:
                self._corr += lower.sign * lower.tilt_deg(lo) * t_up
        lower.sign = 1.0 if self._corr >= 0 else -1.0

    def _flush_held(self) -> None:
        held, self._held = self._held, []
        was, self.flushing = self.flushing, True
        try:
            for r, lo, up in held:
                self._emit_row(r, lo, up)
        finally:
            self.flushing = was

    def _emit_row(self, row: Row, up_lo: FloatArray, up_up: FloatArray) -> None:
        ax = self._axes
        t_up = ax["upper"].tilt_deg(up_up)
        lower = ax["lower"]
        t_lo = lower.tilt_deg(up_lo)
        if not lower.fixed and self._upper_signed and abs(t_up) >= ax["upper"].s.sign_tilt_deg:
            # the pelvis tilts the same way as the trunk in a bend: orient its axis so
            self._corr += lower.sign * t_lo * t_up
            sign = 1.0 if self._corr >= 0 else -1.0
            if sign != lower.sign:
                lower.sign = sign
                t_lo = -t_lo
        vals = {ANGLE_NAMES[0]: t_up - t_lo, ANGLE_NAMES[1]: t_lo, ANGLE_NAMES[2]: t_up}
        self.on_angles(row.t, vals, row)

    def axes_info(self) -> dict[str, Any]:
        """Each sensor's signed flexion axis (sensor frame) and how many tilted samples it rests on."""
        return {s: {"axis": [round(float(x), 5) for x in a.axis * a.sign], "tilted_samples": a.tilted}
                for s, a in self._axes.items()}
