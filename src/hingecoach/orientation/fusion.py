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
the angle lags by half a sample, about a degree in a fast swing at 50 Hz); spans with no
samples longer than ``reset_gap_s`` restart the filter from the accelerometer (and the
magnetometer).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import imufusion
import numpy as np

from hingecoach.core.conventions import STANDARD_GRAVITY
from hingecoach.core.errors import ParameterError
from hingecoach.core.parallel import ForkedCall, can_fork
from hingecoach.core.timeseries import FloatArray

_BLOCK = 8192  # samples per block of the offline loop


@dataclass(frozen=True)
class FusionSettings:
    """Fusion AHRS settings (docs/references.md#fusion): gain, ranges in deg/s and deg, times in s."""

    gain: float = 0.2
    gyroscope_range_dps: float = 2000.0  # deg/s; readings near it trigger overrange recovery
    acceleration_rejection_deg: float = 5.0
    recovery_trigger_s: float = 5.0  # then trust it again after this long
    reset_gap_s: float = 0.5  # a gap longer than this restarts the filter
    parallel_min_samples: int = 100_000  # fuse the two sensors in two processes above this
    # 9-axis fusion (opt-in; metal near barbells spoils magnetometers). Rejection: Fusion's
    # own example uses 10 deg; a rep's heading changes slowly enough for the gyroscope
    # to carry it through a rejected stretch.
    magnetometer: bool = False
    magnetic_rejection_deg: float = 10.0


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


class SensorFusion:
    """One sensor's filter. ``update`` takes one sample; ``run`` is the same loop over a
    whole recording, so live and offline give the same numbers. With
    ``settings.magnetometer`` (9-axis) ``initial_mag`` is the field at ``initial_up``."""

    def __init__(self, sample_rate_hz: float, gyro_bias_rad_s: FloatArray,
                 initial_up: FloatArray, settings: FusionSettings | None = None,
                 initial_mag: FloatArray | None = None) -> None:
        self.settings = s = settings or FusionSettings()
        self.rate = float(sample_rate_hz)
        self.period = 1.0 / self.rate
        self.bias_dps = np.rad2deg(np.asarray(gyro_bias_rad_s, dtype=np.float64))
        self._ahrs = imufusion.Ahrs()
        self._ahrs.set_settings(imufusion.AhrsSettings(
            sample_rate=self.rate, convention=imufusion.CONVENTION_NWU, gain=s.gain,
            gyroscope_range=s.gyroscope_range_dps,
            acceleration_rejection=s.acceleration_rejection_deg,
            magnetic_rejection=s.magnetic_rejection_deg if s.magnetometer else 0.0,
            rejection_timeout=round(s.recovery_trigger_s * self.rate)))
        if s.magnetometer and initial_mag is None:
            raise ParameterError("initial_mag", "the magnetic field at the start (9-axis)", None)
        self._initial_up = np.asarray(initial_up, dtype=np.float64)
        self._prev_gyr: FloatArray | None = None
        self.restart(self._initial_up, initial_mag)

    def restart(self, up: FloatArray, mag: FloatArray | None = None) -> None:
        """Restart the filter from the neutral ``up`` (sensor frame) and, 9-axis, the field ``mag`` (uT)."""
        self._ahrs.restart()
        self._ahrs.skip_startup()
        if self.settings.magnetometer and mag is not None:
            self._ahrs.set_quaternion(_quat_from_up_and_field(np.asarray(up, dtype=np.float64),
                                                              np.asarray(mag, dtype=np.float64)))
        else:
            self._ahrs.set_quaternion(_quat_from_up(up))
        self._prev_gyr = None

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
        if dt_s > self.settings.reset_gap_s:
            # the filter starts again from this sample's gravity: the silence before it is
            # not integrated (one nominal period is, as for a first sample)
            self.restart(acc_g, mag_ut)
            dt_s = self.period
        g = np.rad2deg(gyr_rad_s) - self.bias_dps
        mean = g if self._prev_gyr is None else 0.5 * (g + self._prev_gyr)
        self._prev_gyr = g
        if nine:
            self._ahrs.update(mean * (dt_s / self.period), acc_g, np.asarray(mag_ut, dtype=np.float64))
        else:
            self._ahrs.update_no_magnetometer(mean * (dt_s / self.period), acc_g)
        return np.asarray(self._ahrs.get_gravity())

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
        acc_g = acc_m_s2 / STANDARD_GRAVITY
        g = np.rad2deg(gyr_rad_s) - self.bias_dps
        resets = np.flatnonzero(dt > self.settings.reset_gap_s)
        mean = g.copy()
        mean[1:] = 0.5 * (g[1:] + g[:-1])
        mean[resets] = g[resets]  # a restart forgets the previous sample...
        dt[resets] = self.period  # ...and does not integrate the silence before it
        if self._prev_gyr is not None and 0 not in resets:
            mean[0] = 0.5 * (g[0] + self._prev_gyr)
        # Fusion computes in single precision: handing it float32 rows is the same cast
        # it would make itself, done once for all samples instead of once per call (it
        # halves the time of the loop).
        gyr = (mean * (dt / self.period)[:, None]).astype(np.float32)
        acc32 = acc_g.astype(np.float32)
        mag32 = None
        if self.settings.magnetometer:
            if mag_ut is None:
                raise ParameterError("mag_ut", "magnetometer samples (9-axis)", None)
            mag32 = np.asarray(mag_ut, dtype=np.float32)
        ups = np.empty((n, 3))
        quats = np.empty((n, 4)) if mag32 is not None else None
        bounds = [0, *resets.tolist(), n]
        grav = self._ahrs.get_gravity
        quat = self._ahrs.get_quaternion
        for a, b in itertools.pairwise(bounds):
            if a in resets:
                self.restart(acc_g[a], None if mag32 is None else mag32[a])
            # blocks of samples: the small arrays Fusion returns are freed block by
            # block and their memory reused (an hour's worth at once costs page faults)
            for i in range(a, b, _BLOCK):
                j = min(i + _BLOCK, b)
                if mag32 is None or quats is None:
                    # map() drives the updates from C; the list only collects each gravity
                    g_i = [grav() for _ in map(self._ahrs.update_no_magnetometer, gyr[i:j], acc32[i:j])]
                    ups[i:j] = np.concatenate(g_i).reshape(-1, 3)
                    continue
                both = [(grav(), quat()) for _ in map(self._ahrs.update, gyr[i:j], acc32[i:j], mag32[i:j])]
                ups[i:j] = np.array([u for u, _ in both])
                quats[i:j] = np.array([q for _, q in both])
        self._prev_gyr = g[-1]
        return FusionOutput(ups, quats)


def _run_one(job: FusionJob) -> FusionOutput:
    return SensorFusion(job.rate_hz, job.gyro_bias_rad_s, job.up0, job.settings,
                        job.mag0_ut).run_full(job.time_s, job.gyr_rad_s, job.acc_m_s2, job.mag_ut)


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
