"""Sensor fusion with imufusion (x-io Fusion): the "up" direction in each sensor's frame
over time, and with the opt-in 9-axis mode the whole orientation.

6-axis (the default): only the gravity direction is used downstream, so the (drifting,
unrelated) headings of two independent 6-axis filters never reach an angle.
Magnetometers are ignored by default: metal near barbells and kettlebells spoils them.

9-axis (``FusionSettings.magnetometer``): the magnetometer also steers each filter's
heading towards magnetic north, so both sensors share one earth frame and their relative
heading (the axial twist of the spine between them) becomes measurable. Fusion applies
the magnetometer to the heading only (its correction is a rotation about the estimated
vertical), so the gravity direction, and with it every tilt angle, is the 6-axis one up
to second-order effects; readings whose heading disagrees with the filter's by more than
``magnetic_rejection_deg`` (a barbell, a rack) are ignored for up to
``recovery_trigger_s``. Each filter starts with its heading from the calibration's mean
field, so it does not begin by rejecting a correct magnetometer.

Units at the imufusion boundary: gyroscope deg/s, accelerometer g (Fusion's own),
magnetometer uT (any unit works: Fusion uses its direction); SI everywhere else.
Irregular sample instants are handled by scaling each gyroscope sample by its actual
period over the nominal one (the integrated rotation is then exact) and each step
integrates the mean of the two samples that bound it (the trapezoidal rule: without it
the angle lags by half a sample, about a degree in a fast swing at 50 Hz). A step over a
few lost samples runs with its own sample period instead (scaled, its rate could pass
the gyroscope range and Fusion would restart as if overranged); spans with no samples
longer than ``reset_gap_s`` restart the filter from the accelerometer (and the
magnetometer), with Fusion's start-up ramp.

The accelerometer is handed to Fusion less the sensor's own acceleration as the back
turns about the hips (``_own_acceleration_g``; lever arms from ``LEVER_ARM_M``), and the
gyroscope leads (gain and rejection: ``FusionSettings``). Imufusion 1.3 takes the
rejection timeout in seconds.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

import imufusion
import numpy as np
import numpy.typing as npt

from hingecoach.core.conventions import STANDARD_GRAVITY
from hingecoach.core.errors import ParameterError
from hingecoach.core.parallel import ForkedCall, can_fork
from hingecoach.core.timeseries import FloatArray

IntArray = npt.NDArray[np.int64]

_BLOCK = 8192  # samples per block of the offline loop
# A step longer than this many periods (a few lost samples) runs with its own sample
# period: scaled to the nominal period instead, its rate could pass the gyroscope range
# (0.3 s of walking scales to 2000 deg/s) and Fusion would restart as if overranged.
LONG_STEP_PERIODS = 2.0


@dataclass(frozen=True)
class FusionSettings:
    """Fusion AHRS settings (docs/references.md#fusion): gain, ranges in deg/s and deg, times in s."""

    # The gyroscope leads and the accelerometer, less the sensor's own acceleration about
    # the hips, corrects its drift where it agrees with the gyroscope's gravity to 3 deg.
    # Why gain 0.2 and not more: with perfect sensors (no noise, no bias) on real lifting
    # motion (virtual IMUs on the Xsens box lifts, benchmarks/bvh.py) the gyroscope alone
    # is exact and every degree of fusion error comes from the accelerometer: the hips
    # themselves move in a lift (squatting, stepping, 0.1-0.15 g), which the lever arms
    # about fixed hips cannot take out; gain 1 lets 0.7 deg of it into the pelvis, 0.2
    # under 0.2 deg. Why the low gain used to cost accuracy on the simulator (50 Hz, the
    # neck): the bias fitted on the 2-3 s stance is off by 0.04-0.09 deg/s (sensor noise,
    # sway), which a gain of 0.2 holds at 0.2-0.5 deg; with the true bias the error was
    # under 0.25 deg. So the bias is learnt again in still moments (``bias_gain``).
    # Rejection: what a swing's or a lift's acceleration left after the lever arms
    # exceeds 3 deg; 5 and 10 deg let it in (swings at 50 Hz 0.47 and 0.83 deg lumbar,
    # box lifts 0.74 and 0.69), 2 deg rejects real corrections too (box lifts 0.72):
    # seeds 1-10 and the box lifts. Fusion's own defaults: 0.5 and 10 deg.
    gain: float = 0.2
    gyroscope_range_dps: float = 2000.0  # deg/s; readings near it trigger overrange recovery
    acceleration_rejection_deg: float = 3.0
    recovery_trigger_s: float = 5.0  # rejected this long: trust the accelerometer again
    reset_gap_s: float = 0.5  # a gap longer than this restarts the filter
    parallel_min_samples: int = 100_000  # fuse the two sensors in two processes above this
    # 9-axis fusion (opt-in; metal near barbells spoils magnetometers). Rejection: Fusion's
    # own example uses 10 deg; a rep's heading changes slowly enough for the gyroscope
    # to carry it through a rejected stretch.
    magnetometer: bool = False
    magnetic_rejection_deg: float = 10.0
    # Take the sensor's own acceleration about the hips out of the accelerometer
    # (``_own_acceleration_g``, from the lever arms in ``LEVER_ARM_M``).
    compensate_lever_arm: bool = True
    # Gyroscope bias learnt again in still moments (``SensorFusion._learn_bias``): the
    # integral term Ki (1/s^2; 0: off) of a PI filter whose proportional term Kp is
    # Fusion's gain (docs/references.md#complementary-filter-bias). The loop's damping
    # is Kp / (2 sqrt(Ki)): 0.5 at Ki = Kp^2 = 0.04 if it learnt all the time, about 0.7
    # as it learns only in still moments, about half of a session (damping 0.7: the
    # usual compromise between speed and overshoot).
    bias_gain: float = 0.04
    still_rate_dps: float = 10.0  # a still moment: the gyroscope turns slower than this...
    still_acc_g: float = 0.02  # ...and the accelerometer reads 1 g to within this
    still_error_deg: float = 1.0  # ...and the filter's gravity is this close to it


@dataclass(frozen=True)
class FusionOutput:
    """One sensor's fused orientation: up vectors (sensor frame), quaternions with 9-axis."""

    ups: FloatArray  # (n, 3) unit "up" (gravity direction) in the sensor frame
    quaternions: FloatArray | None = None  # (n, 4) w, x, y, z, sensor to earth (NWU); 9-axis


@dataclass(frozen=True)
class FusionJob:
    """One sensor's recording and what calibration learned about it."""

    rate_hz: float
    gyro_bias_rad_s: FloatArray
    up0: FloatArray  # neutral up, sensor frame
    settings: FusionSettings
    time_s: FloatArray
    gyr_rad_s: FloatArray
    acc_m_s2: FloatArray
    mag_ut: FloatArray | None = None  # 9-axis only
    mag0_ut: FloatArray | None = None  # mean field in the calibration, sensor frame
    lever_arm_m: FloatArray | None = None  # sensor relative to the hips, sensor frame (m)


def _quat_from_up(up: FloatArray) -> FloatArray:
    """Quaternion (w, x, y, z), sensor to earth, that takes ``up`` (sensor frame) to +z."""
    u = up / np.linalg.norm(up)
    z = np.array([0.0, 0.0, 1.0])
    c = float(np.dot(u, z))
    if c < -0.999999:
        return np.array([0.0, 1.0, 0.0, 0.0])
    axis = np.cross(u, z)
    q = np.array([1.0 + c, *axis])
    return q / np.linalg.norm(q)


def _quat_from_up_and_field(up: FloatArray, mag: FloatArray) -> FloatArray:
    """Quaternion (w, x, y, z), sensor to earth (NWU), from "up" and the magnetic field in
    the sensor frame: west = up x field, north = west x up."""
    u = up / np.linalg.norm(up)
    west = np.cross(u, mag)
    if np.linalg.norm(west) < 1e-9:  # field along gravity: no heading to be had
        return _quat_from_up(up)
    west = west / np.linalg.norm(west)
    north = np.cross(west, u)
    return _quat_from_matrix(np.vstack([north, west, u]))  # rows: earth axes in sensor frame


def _quat_from_matrix(r: FloatArray) -> FloatArray:
    """Unit quaternion (w, x, y, z) of a rotation matrix (Shepperd's method)."""
    tr = np.trace(r)
    if tr > 0:
        k = 2.0 * np.sqrt(tr + 1.0)
        q = np.array([0.25 * k, (r[2, 1] - r[1, 2]) / k, (r[0, 2] - r[2, 0]) / k, (r[1, 0] - r[0, 1]) / k])
    else:
        i = int(np.argmax(np.diag(r)))
        j, m = (i + 1) % 3, (i + 2) % 3
        k = 2.0 * np.sqrt(1.0 + r[i, i] - r[j, j] - r[m, m])
        q = np.empty(4)
        q[0] = (r[m, j] - r[j, m]) / k
        q[1 + i] = 0.25 * k
        q[1 + j] = (r[j, i] + r[i, j]) / k
        q[1 + m] = (r[m, i] + r[i, m]) / k
    return q / np.linalg.norm(q)


# Distance (m) from the hip joints' axis up the back to each sensor, an adult of 1.75 m
# (the simulator's body, after Winter's segment lengths): the sacrum sensor, and the
# upper sensor per placement.
# The angular acceleration is the change of the rate over this long (at least one
# sample): a backward difference over one 100 Hz sample hands the accelerometer
# 0.4 rad/s^2 of gyroscope noise (a degree of false tilt at 0.3 m), over two half of
# that; longer lags a kettlebell swing's acceleration too much (0.04 s doubles the
# error at 50 Hz). Chosen with the gain, on the same seeds.
RATE_CHANGE_SPAN_S = 0.02
LEVER_ARM_M = {"lower": 0.10, "L1": 0.28, "T12": 0.30, "T8": 0.45, "neck": 0.60}


def lever_arm(up0: FloatArray, distance_m: float) -> FloatArray:
    """A sensor's position relative to the hips (m, sensor frame): ``distance_m`` along its
    neutral ``up0`` (the hips lie below it, along the back)."""
    u = np.asarray(up0, dtype=np.float64)
    return distance_m * u / np.linalg.norm(u)


def _own_acceleration_g(gyr_dps: FloatArray, gyr_rate_dps2: FloatArray, lever_m: FloatArray
                        ) -> FloatArray:
    """(n, 3) acceleration (g, sensor frame) of a sensor at ``lever_m`` from the centre of
    its segment's rotation: tangential a x r plus centripetal w x (w x r). In a hinge or a
    swing the hips hardly move while the back turns about them, so this is most of what
    the accelerometer feels besides gravity (a kettlebell swing: 10-15 deg of false tilt
    at the upper sensor). The angular acceleration is the backward difference of the
    gyroscope (causal: live and offline compute it alike)."""
    w = np.deg2rad(gyr_dps)
    a = np.deg2rad(gyr_rate_dps2)
    r = np.broadcast_to(lever_m, w.shape)
    return np.asarray((np.cross(a, r) + np.cross(w, np.cross(w, r))) / STANDARD_GRAVITY)


class SensorFusion:
    """One sensor's filter. ``update`` takes one sample; ``run`` is the same loop over a
    whole recording, so live and offline give the same numbers. With
    ``settings.magnetometer`` (9-axis) ``initial_mag`` is the field at ``initial_up``."""

    def __init__(self, sample_rate_hz: float, gyro_bias_rad_s: FloatArray,
                 initial_up: FloatArray, settings: FusionSettings | None = None,
                 initial_mag: FloatArray | None = None, lever_arm_m: FloatArray | None = None) -> None:
        self.settings = s = settings or FusionSettings()
        self.rate = float(sample_rate_hz)
        self.period = 1.0 / self.rate
        self.bias_dps = np.rad2deg(np.asarray(gyro_bias_rad_s, dtype=np.float64))
        self._ahrs = imufusion.Ahrs()
        self._lenient = True
        self._set_lenient(False)
        if s.magnetometer and initial_mag is None:
            raise ParameterError("initial_mag", "the magnetic field at the start (9-axis)", None)
        self._initial_up = np.asarray(initial_up, dtype=np.float64)
        self.lever_arm_m = None if lever_arm_m is None else np.asarray(lever_arm_m, dtype=np.float64)
        self._prev_gyr: FloatArray | None = None
        # the last few (time, rate) for the angular acceleration (see _rate_change)
        self._span = max(1, round(RATE_CHANGE_SPAN_S * self.rate))
        self._hist: deque[tuple[float, FloatArray]] = deque(maxlen=self._span)
        self._clock_s = 0.0
        # deg/s, learnt in still moments and taken from the gyroscope on top of the bias
        self.bias_change_dps = np.zeros(3)
        self._learn_max_sin2 = float(np.sin(np.deg2rad(s.still_error_deg))) ** 2
        self._learn_every = max(1, round(1.0 * self.rate))
        self._err_sum = np.zeros(3)  # rad s, since the bias last changed
        self._count = 0  # still samples since then
        # After a restart or a step over lost samples the filter is off by what the gap
        # hid, not by a bias: the bias learns nothing until the proportional loop has
        # taken that out (two of its time constants, 2 / gain seconds), counted in samples.
        self._pause_n = round(2.0 / s.gain * self.rate) if s.gain > 0 else 0
        self.restart(self._initial_up, initial_mag)
        self._quiet = 0  # samples left before the bias learns again: none at the start

    def restart(self, up: FloatArray, mag: FloatArray | None = None, settle: bool = False) -> None:
        """Restart the filter from ``up`` (sensor frame) and, 9-axis, the field ``mag`` (uT).

        ``settle``: ``up`` is one accelerometer sample (after a gap, perhaps mid-rep), so
        the filter runs Fusion's start-up (the accelerometer trusted with a gain ramping
        down from 10 over 3 s) instead of starting settled, as it does from the calibrated
        neutral ``up``."""
        self._ahrs.restart()
        if not settle:
            self._ahrs.skip_startup()
        if self.settings.magnetometer and mag is not None:
            self._ahrs.set_quaternion(_quat_from_up_and_field(np.asarray(up, dtype=np.float64),
                                                              np.asarray(mag, dtype=np.float64)))
        else:
            self._ahrs.set_quaternion(_quat_from_up(up))
        self._prev_gyr = None
        self._hist.clear()
        self._quiet = self._pause_n  # what the filter knew before is gone (see __init__)

    def _set_lenient(self, lenient: bool) -> None:
        """Fusion's settings; ``lenient``: no acceleration rejection. Just after lost
        samples the filter is off by what the gap hid (1-2 deg in a step of walking,
        more in a swing), often past the rejection angle: rejecting the accelerometer
        against such an estimate keeps it wrong until the recovery time has passed.
        Lenient for as long as the bias learns nothing (``_quiet``, 2 / gain seconds)."""
        if lenient == self._lenient:
            return
        self._lenient = lenient
        s = self.settings
        self._ahrs.set_settings(imufusion.AhrsSettings(
            sample_rate=self.rate, convention=imufusion.CONVENTION_NWU, gain=s.gain,
            gyroscope_range=s.gyroscope_range_dps,
            acceleration_rejection=0.0 if lenient else s.acceleration_rejection_deg,  # 0: none
            magnetic_rejection=s.magnetic_rejection_deg if s.magnetometer else 0.0,
            rejection_timeout=s.recovery_trigger_s))  # seconds (imufusion 1.3)

    @property
    def quaternion(self) -> FloatArray:
        """The filter's orientation now: (w, x, y, z), sensor to earth (NWU)."""
        return np.asarray(self._ahrs.get_quaternion(), dtype=np.float64)

    def update(self, dt_s: float, gyr_rad_s: FloatArray, acc_m_s2: FloatArray,
               mag_ut: FloatArray | None = None) -> FloatArray:
        """One sample -> unit "up" vector in the sensor frame (``mag_ut``: 9-axis)."""
        acc_g = np.asarray(acc_m_s2) / STANDARD_GRAVITY
        nine = self.settings.magnetometer
        if nine and mag_ut is None:
            raise ParameterError("mag_ut", "a magnetometer sample (9-axis)", None)
        restarted = dt_s > self.settings.reset_gap_s
        if restarted:
            # the filter starts again from this sample's gravity: the silence before it is
            # not integrated (one nominal period is, as for a first sample)
            self.restart(acc_g, mag_ut, settle=True)
            dt_s = self.period
        g = np.rad2deg(gyr_rad_s) - self.bias_dps
        mean = g if self._prev_gyr is None else 0.5 * (g + self._prev_gyr)
        raw_acc_g = acc_g
        long_step = dt_s > LONG_STEP_PERIODS * self.period
        self._quiet = self._pause_n if restarted or long_step else max(self._quiet - 1, 0)
        self._set_lenient(self._quiet > 0)
        still = self._quiet == 0 and bool(self._still(g[None, :], acc_g[None, :])[0])
        self._clock_s += dt_s
        if self.lever_arm_m is not None:
            if self._hist:
                t_old, g_old = self._hist[0]
                change = (g - g_old) / (self._clock_s - t_old)
            else:
                change = np.zeros(3)
            acc_g = acc_g - _own_acceleration_g(g[None, :], change[None, :], self.lever_arm_m)[0]
        self._hist.append((self._clock_s, g))
        self._prev_gyr = g
        mag = None if not nine else np.asarray(mag_ut, dtype=np.float64)
        mean = mean - self.bias_change_dps
        if long_step:
            self._long_step(dt_s, mean, acc_g, mag)
        elif mag is not None:
            self._ahrs.update(mean * (dt_s / self.period), acc_g, mag)
        else:
            self._ahrs.update_no_magnetometer(mean * (dt_s / self.period), acc_g)
        up = np.asarray(self._ahrs.get_gravity())
        if still:
            self._learn_bias(raw_acc_g[None, :], up[None, :], np.array([dt_s]))
        return up

    def _still(self, g_dps: FloatArray, acc_g: FloatArray) -> npt.NDArray[np.bool_]:
        """(n,) True where a sample is a still moment: the gyroscope (bias removed) turns
        slower than ``still_rate_dps`` and the accelerometer reads 1 g to ``still_acc_g``;
        all False when the bias is not learnt."""
        s = self.settings
        if s.bias_gain <= 0.0:
            return np.zeros(len(g_dps), dtype=bool)
        rate = np.sqrt(np.einsum("ij,ij->i", g_dps, g_dps))
        norm = np.sqrt(np.einsum("ij,ij->i", acc_g, acc_g))
        return np.asarray((rate < s.still_rate_dps) & (np.abs(norm - 1.0) < s.still_acc_g))

    def _quiet_run(self, n: int, events: IntArray) -> IntArray:
        """``update``'s count of samples left before the bias learns again, for a run of
        ``n`` samples with restarts or long steps at ``events``; carried on after it."""
        i = np.arange(n)
        last = np.full(n, -1, dtype=np.int64)
        last[events] = events
        last = np.maximum.accumulate(last)
        quiet = np.where(last >= 0, self._pause_n - (i - last), self._quiet - (i + 1))
        quiet = np.maximum(quiet, 0)
        if n:
            self._quiet = int(quiet[-1])
        return quiet

    def _learn_bias(self, acc_g: FloatArray, up: FloatArray, dt: FloatArray) -> None:
        """The integral term, over still samples (rows of ``acc_g`` in g, ``up``, and their
        steps ``dt`` in s). In a still moment the accelerometer's direction is gravity, and
        the part of the filter's tilt error that remains (Fusion's gain corrects the rest)
        is what a bias left in the gyroscope holds it at. Fusion turns the filter by
        ``gain * (a x up)`` (rad/s); the bias change integrates ``bias_gain * (a x up)``,
        summed and applied once every ``_learn_every`` still samples (1 s: a hold far
        shorter than the loop's time constants, and a block of samples driven from C in
        between)."""
        a, u = acc_g.T, up.T
        e = np.array([a[1] * u[2] - a[2] * u[1], a[2] * u[0] - a[0] * u[2], a[0] * u[1] - a[1] * u[0]])
        e /= np.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])
        ok = e[0] * e[0] + e[1] * e[1] + e[2] * e[2] <= self._learn_max_sin2  # further off: no bias
        self._err_sum = self._err_sum + e @ np.where(ok, dt, 0.0)
        self._count += len(dt)
        if self._count >= self._learn_every:
            self.bias_change_dps = self.bias_change_dps - np.rad2deg(self.settings.bias_gain) * self._err_sum
            self._err_sum = np.zeros(3)
            self._count = 0

    def _own_acceleration_run(self, g: FloatArray, dt: FloatArray, resets: IntArray) -> FloatArray:
        """``_own_acceleration_g`` over a run, with ``update``'s rate change: the rate now
        against the rate ``_span`` samples back (or since the last restart), carrying the
        history over from before the run and on to after it."""
        n = len(g)
        clock = self._clock_s + np.cumsum(dt)
        h = len(self._hist) if 0 not in resets else 0
        hist = list(self._hist)[len(self._hist) - h:]
        big_t = np.concatenate([[x[0] for x in hist], clock]) if h else clock
        big_g = np.vstack([np.asarray([x[1] for x in hist]), g]) if h else g
        idx = np.arange(h, h + n)
        # the last restart at or before each sample (the history does not cross one)
        starts = np.zeros(h + n, dtype=np.int64)
        starts[resets + h] = resets + h
        starts = np.maximum.accumulate(starts)[idx]
        old = np.maximum(idx - self._span, starts)
        has = old < idx
        change = np.zeros_like(g)
        change[has] = (big_g[idx[has]] - big_g[old[has]]) / (big_t[idx[has]] - big_t[old[has]])[:, None]
        keep_from = max(int(starts[-1]), h + n - self._span)
        self._hist.clear()
        self._hist.extend(zip(big_t[keep_from:].tolist(), big_g[keep_from:], strict=True))
        self._clock_s = float(clock[-1])
        if self.lever_arm_m is None:
            return np.zeros_like(g)
        return _own_acceleration_g(g, change, self.lever_arm_m)

    def _long_step(self, dt_s: float, gyr_dps: FloatArray, acc_g: FloatArray,
                   mag: FloatArray | None) -> None:
        """One step over a few lost samples, run with its own sample period."""
        self._ahrs.set_sample_period(dt_s)
        if mag is None:
            self._ahrs.update_no_magnetometer(gyr_dps, acc_g)
        else:
            self._ahrs.update(gyr_dps, acc_g, mag)
        self._ahrs.set_sample_period(self.period)

    def _drive(self, r: _Run, a: int, b: int) -> None:
        """Samples a..b (no restart, long step or change of the bias inside) in blocks
        driven from C; then the bias learns from the still samples among them."""
        grav = self._ahrs.get_gravity
        quat = self._ahrs.get_quaternion
        for i in range(a, b, _BLOCK):
            # blocks of samples: the small arrays Fusion returns are freed block by
            # block and their memory reused (an hour's worth at once costs page faults)
            j = min(i + _BLOCK, b)
            gyr_b = ((r.mean[i:j] - self.bias_change_dps) * r.scale[i:j, None]).astype(np.float32)
            if r.mag32 is None or r.quats is None:
                # map() drives the updates from C; the list only collects each gravity
                g_i = [grav() for _ in map(self._ahrs.update_no_magnetometer, gyr_b, r.acc32[i:j])]
                r.ups[i:j] = np.concatenate(g_i).reshape(-1, 3)
            else:
                both = [(grav(), quat()) for _ in map(self._ahrs.update, gyr_b, r.acc32[i:j], r.mag32[i:j])]
                r.ups[i:j] = np.array([u for u, _ in both])
                r.quats[i:j] = np.array([q for _, q in both])
        sel = np.flatnonzero(r.still[a:b]) + a
        if sel.size:
            self._learn_bias(r.raw_acc_g[sel], r.ups[sel], r.dt[sel])

    def run(self, time_s: FloatArray, gyr_rad_s: FloatArray, acc_m_s2: FloatArray,
            mag_ut: FloatArray | None = None) -> FloatArray:
        """The same maths as ``update`` over all samples, vectorised where it can be:
        the up vectors (the quaternions too: ``run_full``)."""
        return self.run_full(time_s, gyr_rad_s, acc_m_s2, mag_ut).ups

    def run_full(self, time_s: FloatArray, gyr_rad_s: FloatArray, acc_m_s2: FloatArray,
                 mag_ut: FloatArray | None = None) -> FusionOutput:
        """``run``, with the quaternions when the fusion is 9-axis."""
        n = len(time_s)
        dt = np.empty(n)
        dt[0] = self.period
        dt[1:] = np.diff(time_s)
        raw_acc_g = acc_m_s2 / STANDARD_GRAVITY
        g = np.rad2deg(gyr_rad_s) - self.bias_dps
        resets = np.flatnonzero(dt > self.settings.reset_gap_s)
        acc_g = raw_acc_g - self._own_acceleration_run(g, dt, resets)
        mean = g.copy()
        mean[1:] = 0.5 * (g[1:] + g[:-1])
        mean[resets] = g[resets]  # a restart forgets the previous sample...
        dt[resets] = self.period  # ...and does not integrate the silence before it
        if self._prev_gyr is not None and 0 not in resets:
            mean[0] = 0.5 * (g[0] + self._prev_gyr)
        long_steps = np.flatnonzero(dt > LONG_STEP_PERIODS * self.period)
        scale = dt / self.period
        scale[long_steps] = 1.0  # these run alone with their own sample period
        quiet = self._quiet_run(n, np.union1d(resets, long_steps))
        still = self._still(g, raw_acc_g) & (quiet == 0)
        lenient = quiet > 0
        quiet_end = self._quiet  # (the restarts below set it again)
        # Fusion computes in single precision: handing it float32 rows is the same cast
        # it would make itself, done once for a block instead of once per call (it
        # halves the time of the loop).
        acc32 = acc_g.astype(np.float32)
        mag32 = None
        if self.settings.magnetometer:
            if mag_ut is None:
                raise ParameterError("mag_ut", "magnetometer samples (9-axis)", None)
            mag32 = np.asarray(mag_ut, dtype=np.float32)
        ups = np.empty((n, 3))
        quats = np.empty((n, 4)) if mag32 is not None else None
        turns = np.flatnonzero(lenient[1:] != lenient[:-1]) + 1
        bounds = sorted({0, n, *resets.tolist(), *long_steps.tolist(), *(long_steps + 1).tolist(),
                         *turns.tolist()})
        reset_set = set(resets.tolist())
        long_set = set(long_steps.tolist())
        # the bias changes after every _learn_every-th still sample (counting on from
        # the samples before this run): a block ends there
        still_at = np.flatnonzero(still)
        changes = still_at[self._learn_every - self._count - 1::self._learn_every] + 1
        bounds = sorted({*bounds, *changes.tolist()})
        run = _Run(mean, scale, acc32, mag32, raw_acc_g, dt, still, ups, quats)
        for a, b in itertools.pairwise(bounds):
            if a in reset_set:
                self.restart(acc_g[a], None if mag32 is None else mag32[a], settle=True)
            self._set_lenient(bool(lenient[a]))
            if a in long_set:
                gyr = (mean[a] - self.bias_change_dps).astype(np.float32)
                self._long_step(float(dt[a]), gyr, acc32[a], None if mag32 is None else mag32[a])
                ups[a] = self._ahrs.get_gravity()
                if quats is not None:
                    quats[a] = self._ahrs.get_quaternion()
                continue
            self._drive(run, a, b)
        self._prev_gyr = g[-1]
        self._quiet = quiet_end
        return FusionOutput(ups, quats)


@dataclass(frozen=True)
class _Run:
    """What ``SensorFusion.run_full`` hands its driver: per-sample inputs and outputs."""

    mean: FloatArray  # (n, 3) deg/s, trapezoidal mean, bias removed
    scale: FloatArray  # (n,) the step over the nominal period
    acc32: npt.NDArray[np.float32]  # (n, 3) g, less the own acceleration
    mag32: npt.NDArray[np.float32] | None
    raw_acc_g: FloatArray  # (n, 3) g, as measured
    dt: FloatArray  # (n,) s
    still: npt.NDArray[np.bool_]
    ups: FloatArray
    quats: FloatArray | None


def _run_one(job: FusionJob) -> FusionOutput:
    return SensorFusion(job.rate_hz, job.gyro_bias_rad_s, job.up0, job.settings,
                        job.mag0_ut, job.lever_arm_m).run_full(job.time_s, job.gyr_rad_s, job.acc_m_s2, job.mag_ut)


def _to_bytes(out: FusionOutput) -> bytes:
    # the filter's output is single precision: the float32 round trip is exact
    q = b"" if out.quaternions is None else out.quaternions.astype(np.float32).tobytes()
    return out.ups.astype(np.float32).tobytes() + q


def _from_bytes(raw: bytes, n: int) -> FusionOutput:
    ups = np.frombuffer(raw, dtype=np.float32, count=3 * n).reshape(n, 3).astype(np.float64)
    quats = None
    if len(raw) > 12 * n:
        quats = np.frombuffer(raw, dtype=np.float32, offset=12 * n).reshape(n, 4).astype(np.float64)
    return FusionOutput(ups, quats)


def fuse_pair(jobs: list[FusionJob]) -> list[FusionOutput]:
    """Run several sensors' filters; the second one in a forked process when the
    recording is long (each filter is a Python loop over samples; the two sensors are
    independent). If that process fails, this one runs its filter too."""
    n = max(len(j.time_s) for j in jobs)
    if len(jobs) == 2 and n >= jobs[0].settings.parallel_min_samples and can_fork():
        with ForkedCall(lambda: _to_bytes(_run_one(jobs[1]))) as child:
            first = _run_one(jobs[0])
            raw = child.result()
        second = _from_bytes(raw, len(jobs[1].time_s)) if raw is not None else _run_one(jobs[1])
        return [first, second]
    return [_run_one(j) for j in jobs]
