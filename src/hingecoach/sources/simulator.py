"""A biomechanical simulator of hinges, with two virtual back-worn IMUs.

The body is a planar chain in the sagittal plane, turned by a heading about the vertical
and swaying, bouncing and surging while walking in place: ankle -> shank -> thigh -> hip -> pelvis (sacrum) ->
lumbar segment (S1 to L1) -> thoracic segment (L1 to C7). Segment tilts are forward
positive (a forward bend is a positive rotation about the body's left axis, see
``core.conventions``):

    pelvis tilt          phi_p                         (the hinge at the hips)
    lumbar segment       phi_p + lambda                (lambda: lumbar flexion)
    thoracic segment     phi_p + lambda + tau          (tau: thoracic flexion)

Every joint angle follows minimum-jerk transitions between keyframes (Flash & Hogan
1985), so accelerations are smooth. Sensor signals are computed on a 1 kHz grid from the
exact kinematics: specific force ``f = R^T (a + g)`` and angular velocity ``w`` from
``R^T dR/dt``, both in the sensor frame after a (random) mounting rotation, then sampled
at the (jittered) sample instants, with noise, gyroscope bias and dropouts added.

Ground truth is what the analysis must recover: the sagittal tilt of the upper sensor's
segment relative to the sacrum's (``lumbar_flexion_deg``: lambda for L1/T12, lambda +
tau/2 for T8, lambda + tau for the neck), the pelvis tilt, the upper segment's tilt, and
each repetition's start, bottom and end with the faults it must raise. The true angles
are zero at the mean posture of the still start (postural sway included), the neutral
that calibration measures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from hingecoach.core.conventions import STANDARD_GRAVITY, normalise_placement
from hingecoach.core.errors import ParameterError
from hingecoach.core.timeseries import ChannelInfo, Event, FloatArray, TimeSeries

PATTERNS = ("good", "slow", "rounded", "squat", "overextended", "fast", "swing")

# Segment lengths (m), adult of 1.75 m (Winter, Biomechanics and Motor Control of Human
# Movement, segment length table: shank 0.246 H, thigh 0.245 H).
SHANK_M = 0.43
THIGH_M = 0.43
LUMBAR_M = 0.18
THORAX_M = 0.30
FINE_RATE_HZ = 1000.0


@dataclass(frozen=True)
class RepTruth:
    """One scripted repetition and what the analysis must say about it."""

    index: int
    pattern: str
    start_s: float
    bottom_s: float
    end_s: float
    peak_lumbar_flexion_deg: float
    peak_pelvis_tilt_deg: float
    must_flag: tuple[str, ...]
    must_not_flag: tuple[str, ...]


@dataclass(frozen=True)
class SimSettings:
    """What to simulate. Units in names; defaults give a clean 100 Hz recording."""

    pattern: str | Sequence[str] = "good"  # one of PATTERNS, "mixed", or a list per rep
    reps: int = 6
    sample_rate_hz: float = 100.0
    seed: int = 0
    placement: str = "T12"
    calibration_s: float = 3.0  # standing still at the start
    walk_s: float = 0.0  # walking with a 180 deg turn before the reps
    noise: bool = True  # white noise: accelerometer 0.03 m/s^2, gyroscope 0.2 deg/s
    gyro_bias_dps: float = 1.5  # constant bias per axis, uniform in +-this
    random_mounting: bool = True  # each sensor strapped on in a random orientation
    dropouts: int = 0  # number of gaps of 0.05-0.3 s with no samples
    clock_jitter: float = 0.0  # std of sample instants, as a fraction of the period
    end_incomplete: bool = False  # finish with a descent that never returns
    # Axial twist of the upper segment relative to the pelvis at each rep's bottom (deg,
    # alternating left and right, about the upper segment's long axis).
    twist_deg: float = 0.0
    # Magnetometers (lower_mag, upper_mag, uT). The earth field (about 50 uT, dipping 60
    # deg below the horizon at mid latitudes) is rotated into each sensor's frame, with
    # white noise of 0.3 uT; north is a random direction. A hard-iron offset (a constant
    # field of the sensor's own, in its frame) and a local disturbance that grows as the
    # person bends down towards a (magnetised) bar are optional. The magnetometer has its
    # own random stream: the other channels are the same with it or without it.
    magnetometer: bool = False
    mag_field_ut: float = 50.0
    mag_inclination_deg: float = 60.0
    mag_noise_ut: float = 0.3
    mag_hard_iron_ut: float = 0.0  # offset magnitude per sensor, random direction
    mag_disturbance_ut: float = 0.0  # extra field at the bottom of a hinge, random direction

    def pattern_list(self) -> list[str]:
        """The pattern of each rep, in order ("mixed" draws them from its own seeded stream)."""
        rng = np.random.default_rng(self.seed + 7919)
        if isinstance(self.pattern, str):
            if self.pattern == "mixed":
                choices = ["good", "slow", "rounded", "squat", "overextended"]
                return [str(rng.choice(choices)) for _ in range(self.reps)]
            if self.pattern not in PATTERNS:
                raise ParameterError("pattern", f"one of {(*PATTERNS, 'mixed')}", self.pattern)
            return [self.pattern] * self.reps
        pats = list(self.pattern)
        for p in pats:
            if p not in PATTERNS:
                raise ParameterError("pattern", f"one of {PATTERNS}", p)
        return pats


@dataclass
class _Track:
    """Keyframes of one joint angle, joined by minimum-jerk transitions."""

    times: list[float] = field(default_factory=lambda: [0.0])
    values: list[float] = field(default_factory=lambda: [0.0])

    def to(self, t: float, v: float) -> None:
        if t <= self.times[-1]:
            raise ValueError("keyframes must move forward in time")
        self.times.append(t)
        self.values.append(v)

    def hold(self, t: float) -> None:
        self.to(t, self.values[-1])

    def __call__(self, t: FloatArray) -> FloatArray:
        kt = np.asarray(self.times)
        kv = np.asarray(self.values)
        i = np.clip(np.searchsorted(kt, t, side="right") - 1, 0, len(kt) - 2)
        span = kt[i + 1] - kt[i]
        tau = np.clip((t - kt[i]) / span, 0.0, 1.0)
        s = tau**3 * (10 - 15 * tau + 6 * tau**2)  # minimum jerk
        return kv[i] + (kv[i + 1] - kv[i]) * s


@dataclass
class _Script:
    pelvis: _Track = field(default_factory=_Track)
    lumbar: _Track = field(default_factory=_Track)
    thoracic: _Track = field(default_factory=_Track)
    knee: _Track = field(default_factory=_Track)
    heading: _Track = field(default_factory=_Track)
    twist: _Track = field(default_factory=_Track)
    walk: list[tuple[float, float]] = field(default_factory=list)  # walking windows

    def tracks(self) -> list[_Track]:
        return [self.pelvis, self.lumbar, self.thoracic, self.knee, self.heading, self.twist]

    def now(self) -> float:
        return max(tr.times[-1] for tr in self.tracks())

    def hold_all(self, t: float) -> None:
        for tr in self.tracks():
            if t > tr.times[-1]:
                tr.hold(t)


def _rep_params(pattern: str, rng: np.random.Generator) -> dict[str, float]:
    u = rng.uniform
    base = {
        # peak angles (deg) and phase durations (s)
        "good": dict(pelvis=u(55, 75), lumbar=u(5, 12), thoracic=u(2, 5), knee=u(12, 25),
                     down=u(1.4, 2.4), hold=u(0.3, 0.8), up=u(1.2, 2.0), pause=u(1.0, 2.0)),
        "slow": dict(pelvis=u(55, 75), lumbar=u(5, 12), thoracic=u(2, 5), knee=u(12, 25),
                     down=u(3.0, 4.0), hold=u(0.5, 1.0), up=u(3.0, 4.0), pause=u(1.0, 2.0)),
        "rounded": dict(pelvis=u(20, 35), lumbar=u(32, 45), thoracic=u(8, 15), knee=u(5, 15),
                        down=u(1.4, 2.4), hold=u(0.3, 0.8), up=u(1.2, 2.0), pause=u(1.0, 2.0)),
        # bodyweight squat: the trunk still leans 35-50 deg forward at the bottom
        "squat": dict(pelvis=u(28, 38), lumbar=u(8, 14), thoracic=u(2, 5), knee=u(80, 105),
                      down=u(1.5, 2.5), hold=u(0.3, 0.8), up=u(1.3, 2.0), pause=u(1.0, 2.0)),
        "overextended": dict(pelvis=u(55, 75), lumbar=u(5, 12), thoracic=u(2, 5),
                             knee=u(12, 25), down=u(1.4, 2.4), hold=u(0.3, 0.8),
                             up=u(1.2, 2.0), pause=u(1.0, 2.0), lean=u(13, 18)),
        "fast": dict(pelvis=u(50, 70), lumbar=u(5, 12), thoracic=u(2, 5), knee=u(12, 25),
                     down=u(0.45, 0.7), hold=u(0.1, 0.2), up=u(0.6, 0.9), pause=u(1.0, 2.0)),
        "swing": dict(pelvis=u(45, 65), lumbar=u(4, 10), thoracic=u(2, 4), knee=u(20, 35),
                      down=u(0.42, 0.55), hold=u(0.02, 0.06), up=u(0.42, 0.55),
                      pause=u(0.15, 0.3)),
    }
    return base[pattern]


def _expected_faults(pattern: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    all_ids = ("lumbar_rounding", "top_overextension", "too_fast", "shallow_hinge")
    must = {
        "rounded": ("lumbar_rounding",),
        "overextended": ("top_overextension",),
        "fast": ("too_fast",),
    }.get(pattern, ())
    if pattern == "rounded":
        return must, ("top_overextension", "too_fast")
    return must, tuple(f for f in all_ids if f not in must)


def _script(settings: SimSettings, rng: np.random.Generator) -> tuple[_Script, list[dict[str, Any]]]:
    sc = _Script()
    t = settings.calibration_s
    sc.hold_all(t)
    if settings.walk_s > 0:
        w0, w1 = t + 0.5, t + 0.5 + settings.walk_s
        sc.walk.append((w0, w1))
        mid = 0.5 * (w0 + w1)
        sc.heading.to(mid - 1.0, 0.0)
        sc.heading.to(mid + 1.0, 180.0)  # a half turn in the middle of the walk
        t = w1 + 1.5
        sc.hold_all(t)
    reps: list[dict[str, Any]] = []
    for k, pat in enumerate(settings.pattern_list()):
        p = _rep_params(pat, rng)
        t0 = sc.now()
        tb = t0 + p["down"]
        sc.pelvis.to(tb, p["pelvis"])
        sc.lumbar.to(tb, p["lumbar"])
        sc.thoracic.to(tb, p["thoracic"])
        sc.knee.to(tb, p["knee"])
        sc.twist.to(tb, settings.twist_deg * (1 if k % 2 == 0 else -1))
        th = tb + p["hold"]
        sc.hold_all(th)
        te = th + p["up"]
        for tr in (sc.pelvis, sc.lumbar, sc.thoracic, sc.knee, sc.twist):
            tr.to(te, 0.0)
        sc.heading.hold(te)
        min_lumbar = lean_back(sc, te, p["lean"]) if "lean" in p else 0.0
        sc.hold_all(sc.now() + p["pause"])
        must, must_not = _expected_faults(pat)
        reps.append(dict(index=k + 1, pattern=pat, start_s=t0, bottom_s=tb + 0.5 * p["hold"],
                         end_s=te, peak_lumbar=p["lumbar"], peak_pelvis=p["pelvis"],
                         min_lumbar=min_lumbar, must_flag=must, must_not_flag=must_not))
    if settings.end_incomplete:
        t0 = sc.now()
        sc.pelvis.to(t0 + 1.5, 50.0)
        sc.lumbar.to(t0 + 1.5, 8.0)
        sc.knee.to(t0 + 1.5, 20.0)
        sc.hold_all(t0 + 2.0)
    sc.hold_all(sc.now() + 1.5)
    return sc, reps


def _rot_y(phi: FloatArray) -> FloatArray:
    c, s = np.cos(phi), np.sin(phi)
    o, z = np.ones_like(phi), np.zeros_like(phi)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_z(psi: FloatArray) -> FloatArray:
    c, s = np.cos(psi), np.sin(psi)
    o, z = np.ones_like(psi), np.zeros_like(psi)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _rot_x(r: FloatArray) -> FloatArray:
    c, s = np.cos(r), np.sin(r)
    o, z = np.ones_like(r), np.zeros_like(r)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _planar(phi: FloatArray, x: float, z: float) -> FloatArray:
    """A point (x forward, z up) fixed in a segment tilted forward by phi (rad)."""
    c, s = np.cos(phi), np.sin(phi)
    return np.stack([x * c + z * s, -x * s + z * c], -1)


def _angles(sc: _Script, t: FloatArray, sway: tuple[float, ...]) -> dict[str, FloatArray]:
    """Joint angles (rad) and walking components at times t."""
    a1, f1, a2, f2, a3, f3 = sway  # postural sway: small, slow, always present
    pelvis = sc.pelvis(t) + a1 * np.sin(2 * np.pi * f1 * t)
    lumbar = sc.lumbar(t) + a2 * np.sin(2 * np.pi * f2 * t + 1.0)
    roll = a3 * np.sin(2 * np.pi * f3 * t + 0.3)
    bounce = np.zeros_like(t)
    forward = np.zeros_like(t)
    for w0, w1 in sc.walk:
        env = np.clip(np.minimum(t - w0, w1 - t), 0, 0.5) / 0.5
        env = env**2 * (3 - 2 * env)  # smooth start and stop
        pelvis = pelvis + env * 2.5 * np.sin(2 * np.pi * 1.8 * t)
        lumbar = lumbar + env * 1.5 * np.sin(2 * np.pi * 1.8 * t + 0.8)
        roll = roll + env * 4.0 * np.sin(np.pi * 1.8 * t)
        # walking in place: the pelvis bounces and surges with each step (2 cm, 3 cm)
        bounce = bounce + env * 0.02 * np.sin(2 * np.pi * 1.8 * t)
        forward = forward + env * 0.03 * np.sin(2 * np.pi * 0.9 * t)
    d = np.deg2rad
    return dict(pelvis=d(pelvis), lumbar=d(lumbar), thoracic=d(sc.thoracic(t)),
                knee=d(sc.knee(t)), heading=d(sc.heading(t)), roll=d(roll),
                bounce=bounce, forward=forward, twist=d(sc.twist(t)))


def _upper_tilt(ang: dict[str, FloatArray], placement: str) -> tuple[FloatArray, FloatArray]:
    """Upper sensor segment tilt and the point where it sits (x, z), placement-dependent."""
    p, lam, tau = ang["pelvis"], ang["lumbar"], ang["thoracic"]
    frac = {"L1": 0.0, "T12": 0.0, "T8": 0.5, "neck": 1.0}[placement]
    tilt = p + lam + frac * tau
    return tilt, np.asarray(frac)


def _body(sc: _Script, t: FloatArray, sway: tuple[float, ...], placement: str
          ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, dict[str, FloatArray]]:
    """World rotation and position of the lower and upper sensor segments at times t."""
    a = _angles(sc, t, sway)
    knee = a["knee"]
    shank = 0.45 * knee  # the knee travels forward a little
    thigh = knee - shank  # the hips travel back
    kx, kz = SHANK_M * np.sin(shank), SHANK_M * np.cos(shank)
    hx, hz = kx - THIGH_M * np.sin(thigh), kz + THIGH_M * np.cos(thigh)
    hip = np.stack([hx, hz + a["bounce"]], -1)
    sacrum = hip + _planar(a["pelvis"], -0.10, 0.10)
    lower_pt = sacrum + _planar(a["pelvis"], -0.03, 0.0)
    lumbar_tilt = a["pelvis"] + a["lumbar"]
    l1 = sacrum + _planar(lumbar_tilt, 0.0, LUMBAR_M)
    up_tilt, frac = _upper_tilt(a, placement)
    upper_pt = l1 + _planar(up_tilt, -0.04, float(frac) * THORAX_M)
    heading = _rot_z(a["heading"])
    roll = _rot_x(a["roll"])

    def world(pt: FloatArray) -> FloatArray:
        local = np.stack([pt[:, 0] + a["forward"], np.zeros_like(t), pt[:, 1]], -1)
        return np.einsum("nij,nj->ni", heading, local)

    r_lower = heading @ _rot_y(a["pelvis"]) @ roll
    psi = a["twist"]
    if not np.any(psi):
        r_upper = heading @ _rot_y(up_tilt) @ roll
        upper_sagittal = up_tilt
    else:
        # twist about the upper segment's own long axis, after its forward tilt (the
        # sensor is taken to sit on that axis). Seen in the segment's own sagittal plane,
        # which is what an angle from one sensor measures, a twisted segment tilts by
        # atan2(sin(tilt) cos(twist), cos(tilt)).
        r_upper = heading @ _rot_y(up_tilt) @ _rot_z(psi) @ roll
        upper_sagittal = np.arctan2(np.sin(up_tilt) * np.cos(psi), np.cos(up_tilt))
    truth = dict(
        lumbar_flexion_deg=np.rad2deg(upper_sagittal - a["pelvis"]),
        pelvis_tilt_deg=np.rad2deg(a["pelvis"]),
        trunk_inclination_deg=np.rad2deg(upper_sagittal),
        lumbar_twist_deg=np.rad2deg(psi),  # upper relative to the pelvis, to the left +
    )
    return r_lower, world(lower_pt), r_upper, world(upper_pt), truth


def imu_signals(r: FloatArray, p: FloatArray, mount: FloatArray, h: float
                ) -> tuple[FloatArray, FloatArray]:
    """Specific force and angular velocity in the sensor frame from world R(t), p(t).

    ``r`` (n, 3, 3) takes segment-frame vectors to the earth frame (z up), ``p`` (n, 3) is
    the sensor's position in metres, both on a fine, uniform grid of step ``h`` (s);
    ``mount`` takes sensor-frame vectors to the segment frame. Shared with the BVH
    virtual IMUs (``sources.bvh``), so both fixtures measure with the same maths.
    """
    acc_w = np.gradient(np.gradient(p, h, axis=0), h, axis=0)
    acc_w[:, 2] += STANDARD_GRAVITY
    rs = r @ mount
    f = np.einsum("nji,nj->ni", rs, acc_w)
    rdot = np.gradient(rs, h, axis=0)
    om = np.einsum("nji,njk->nik", rs, rdot)  # R^T dR/dt, skew-symmetric
    w = 0.5 * np.stack([om[:, 2, 1] - om[:, 1, 2], om[:, 0, 2] - om[:, 2, 0],
                        om[:, 1, 0] - om[:, 0, 1]], -1)
    return f, w


def random_mounts(rng: np.random.Generator, random_mounting: bool = True) -> list[FloatArray]:
    """Sensor-to-segment rotations of the lower and upper sensor: uniformly random (strapped
    on in any orientation) or the identity."""
    return [Rotation.random(random_state=rng).as_matrix() if random_mounting else np.eye(3)
            for _ in range(2)]


def add_sensor_errors(out: dict[str, FloatArray], rng: np.random.Generator, *, noise: bool,
                      gyro_bias_dps: float) -> None:
    """Add white noise (accelerometer 0.03 m/s^2, gyroscope 0.2 deg/s) and a constant
    gyroscope bias (uniform in +-gyro_bias_dps per axis) to the four channels, in place."""
    if noise:
        for side in ("lower", "upper"):
            out[f"{side}_acc"] += rng.normal(0, 0.03, out[f"{side}_acc"].shape)
            out[f"{side}_gyr"] += rng.normal(0, np.deg2rad(0.2), out[f"{side}_gyr"].shape)
    for side in ("lower", "upper"):
        out[f"{side}_gyr"] += np.deg2rad(rng.uniform(-gyro_bias_dps, gyro_bias_dps, 3))


@dataclass(frozen=True)
class _MagneticField:
    earth_ut: FloatArray  # world frame
    disturbance_dir: FloatArray  # unit vector, world frame
    hard_iron_ut: tuple[FloatArray, FloatArray]  # lower, upper: in each sensor's frame

    @classmethod
    def draw(cls, s: SimSettings, rng: np.random.Generator) -> _MagneticField:
        north = rng.uniform(0.0, 2 * np.pi)  # the person faces a random direction
        inc = np.deg2rad(s.mag_inclination_deg)
        earth = s.mag_field_ut * np.array([np.cos(inc) * np.cos(north),
                                           np.cos(inc) * np.sin(north), -np.sin(inc)])
        unit = [v / np.linalg.norm(v) for v in rng.normal(size=(3, 3))]
        return cls(earth, unit[0], (s.mag_hard_iron_ut * unit[1], s.mag_hard_iron_ut * unit[2]))

    def world(self, s: SimSettings, sc: _Script, t: FloatArray, side: str) -> FloatArray:
        """The field at one sensor at times t (world frame): the earth's, plus the
        disturbance, which grows as the person bends down towards the bar (0 standing,
        full at a 50 deg hinge). A magnetised bar's field falls with the cube of the
        distance: the upper sensor, about 1.5 times as far from it, gets 0.3 of it."""
        near = np.clip(sc.pelvis(t) / 50.0, 0.0, 1.0) ** 2 * (1.0 if side == "lower" else 0.3)
        return self.earth_ut + s.mag_disturbance_ut * near[:, None] * self.disturbance_dir


def simulate(settings: SimSettings | None = None) -> tuple[TimeSeries, TimeSeries, list[RepTruth]]:
    """Simulate a recording.

    Returns the recording (channels ``lower_acc``, ``lower_gyr``, ``upper_acc``,
    ``upper_gyr``, and with ``magnetometer`` ``lower_mag`` and ``upper_mag``, each (n, 3),
    SI units and uT), the true angles at the sample times (``lumbar_twist_deg`` too when
    there is a magnetometer or a twist), and the scripted repetitions.
    """
    s = settings or SimSettings()
    if not 5.0 <= s.sample_rate_hz <= 1000.0:
        raise ParameterError("sample_rate_hz", "5 to 1000", s.sample_rate_hz)
    placement = normalise_placement(s.placement)
    rng = np.random.default_rng(s.seed)
    sc, reps = _script(s, rng)
    sway = (rng.uniform(0.2, 0.5), rng.uniform(0.1, 0.3), rng.uniform(0.1, 0.4),
            rng.uniform(0.15, 0.35), rng.uniform(0.2, 0.6), rng.uniform(0.1, 0.3))
    t_s = _sample_times(s, rng, sc.now())
    mounts = random_mounts(rng, s.random_mounting)
    truth_names = ["lumbar_flexion_deg", "pelvis_tilt_deg", "trunk_inclination_deg"]
    if s.magnetometer or s.twist_deg:
        truth_names.append("lumbar_twist_deg")
    mag_rng = np.random.default_rng([s.seed, 0x6D6167])  # its own stream ("mag")
    mag = _MagneticField.draw(s, mag_rng)
    out, truth_out = _synthesise(s, sc, t_s, sway, placement, mounts, mag, truth_names)
    # Zero is the neutral standing posture (core.conventions): the mean posture over the
    # still start, sway included, as the BVH fixture defines it. The scripted angles sway
    # about their zero with a phase of their own, so the still start's mean sits up to
    # 0.4 deg off it, an offset no calibration could see.
    still = t_s < s.calibration_s
    if np.any(still):
        for name in ("lumbar_flexion_deg", "pelvis_tilt_deg", "trunk_inclination_deg"):
            truth_out[name] -= float(np.mean(truth_out[name][still]))
    add_sensor_errors(out, rng, noise=s.noise, gyro_bias_dps=s.gyro_bias_dps)
    if s.magnetometer and s.noise:
        for side in ("lower", "upper"):
            out[f"{side}_mag"] += mag_rng.normal(0, s.mag_noise_ut, out[f"{side}_mag"].shape)
    return _package(s, placement, t_s, out, truth_out, reps)


def _sample_times(s: SimSettings, rng: np.random.Generator, duration: float) -> FloatArray:
    """Sample instants (s): the nominal grid, with clock jitter and dropout gaps."""
    dt = 1.0 / s.sample_rate_hz
    t_nom = np.arange(0.0, duration, dt)
    if s.clock_jitter > 0:
        jit = rng.normal(0.0, s.clock_jitter * dt, t_nom.size)
        t_s = t_nom + np.clip(jit, -0.45 * dt, 0.45 * dt)
        t_s[0] = 0.0
    else:
        t_s = t_nom.copy()
    keep = np.ones(t_s.size, bool)
    for _ in range(s.dropouts):
        g0 = rng.uniform(s.calibration_s + 1.0, max(duration - 1.0, s.calibration_s + 1.5))
        keep &= ~((t_s >= g0) & (t_s < g0 + rng.uniform(0.05, 0.3)))
    return t_s[keep]


def _synthesise(s: SimSettings, sc: _Script, t_s: FloatArray, sway: tuple[float, ...], placement: str,
                mounts: list[FloatArray], mag: _MagneticField,
                truth_names: list[str]) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Noise-free sensor channels and true angles at ``t_s``, computed on a fine grid one
    minute at a time (bounded memory) and interpolated to the sample instants."""
    duration = sc.now()
    h = 1.0 / FINE_RATE_HZ
    kinds = ("acc", "gyr", "mag") if s.magnetometer else ("acc", "gyr")
    out = {f"{side}_{k}": np.empty((t_s.size, 3)) for side in ("lower", "upper") for k in kinds}
    truth_out = {k: np.empty(t_s.size) for k in truth_names}
    chunk = 60.0
    start = 0.0
    # a jittered last instant may fall after the script's end: the last chunk takes it in
    end = duration if t_s[-1] < duration else float(t_s[-1]) + h
    while start < end:
        stop = min(start + chunk, end)
        sel = (t_s >= start) & (t_s < stop)
        if np.any(sel):
            fine = np.arange(start - 3 * h, stop + 4 * h, h)
            rl, pl, ru, pu, truth = _body(sc, fine, sway, placement)
            fl, wl = imu_signals(rl, pl, mounts[0], h)
            fu, wu = imu_signals(ru, pu, mounts[1], h)
            ts = t_s[sel]
            sigs = [("lower_acc", fl), ("lower_gyr", wl), ("upper_acc", fu), ("upper_gyr", wu)]
            if s.magnetometer:
                for side, r, mount, off in (("lower", rl, mounts[0], mag.hard_iron_ut[0]),
                                            ("upper", ru, mounts[1], mag.hard_iron_ut[1])):
                    field_w = mag.world(s, sc, fine, side)
                    sigs.append((f"{side}_mag", np.einsum("nji,nj->ni", r @ mount, field_w) + off))
            for name, sig in sigs:
                out[name][sel] = np.stack([np.interp(ts, fine, sig[:, j]) for j in range(3)], -1)
            for name in truth_names:
                truth_out[name][sel] = np.interp(ts, fine, truth[name])
        start = stop
    return out, truth_out


def _package(s: SimSettings, placement: str, t_s: FloatArray, out: dict[str, FloatArray],
             truth_out: dict[str, FloatArray],
             reps: list[dict[str, Any]]) -> tuple[TimeSeries, TimeSeries, list[RepTruth]]:
    """The recording, the truth series (with one event per rep) and the rep truths."""
    units = {"acc": "m/s^2", "gyr": "rad/s", "mag": "uT"}
    info = {k: ChannelInfo(units[k.split("_")[1]], f"sensor:{k.split('_')[0]}", "simulator")
            for k in out}
    meta = {"format": "simulator", "placement": placement, "settings": _settings_dict(s)}
    rec = TimeSeries(t_s, out, info=info, meta=meta)
    truths = [
        RepTruth(r["index"], r["pattern"], r["start_s"], r["bottom_s"], r["end_s"],
                 r["peak_lumbar"] if placement in ("L1", "T12") else float("nan"),
                 r["peak_pelvis"], tuple(r["must_flag"]), tuple(r["must_not_flag"]))
        for r in reps
    ]
    events = [Event("rep", r.start_s, r.end_s - r.start_s, {"index": r.index, "pattern": r.pattern})
              for r in truths]
    truth_ts = TimeSeries(t_s, truth_out, events=events,
                          info={k: ChannelInfo("deg", "body", "simulator truth") for k in truth_out},
                          meta={"placement": placement})
    return rec, truth_ts, truths


#: The bundled demo recording (src/hingecoach/data/demo.csv) is ``simulate(DEMO_SETTINGS)``;
#: ``make demo-data`` writes it again.
DEMO_SETTINGS = SimSettings(
    pattern=("good", "good", "rounded", "good", "squat", "rounded", "overextended", "good"),
    seed=11, walk_s=4.0)


def _settings_dict(s: SimSettings) -> dict[str, Any]:
    d = asdict(s)
    if not isinstance(d["pattern"], str):
        d["pattern"] = list(d["pattern"])
    return d


def write_truth(path: Path, truth: TimeSeries, reps: list[RepTruth], settings: SimSettings) -> None:
    """Ground truth beside a simulated recording: ``NAME.truth.json`` and ``NAME.truth.csv``."""
    meta = {"settings": _settings_dict(settings), "placement": truth.meta.get("placement"),
            "reps": [asdict(r) for r in reps]}
    path.with_suffix(".truth.json").write_text(json.dumps(meta, indent=1))
    cols = [c for c in ("lumbar_flexion_deg", "pelvis_tilt_deg", "trunk_inclination_deg",
                        "lumbar_twist_deg") if c in truth]
    arr = np.column_stack([truth.time_s] + [truth[c] for c in cols])
    np.savetxt(path.with_suffix(".truth.csv"), arr, delimiter=",", fmt="%.6f",
               header=",".join(["time_s", *cols]), comments="")


def lean_back(sc: Any, te: float, lean_deg: float) -> float:
    """Script a lean back at the top of a rep that ended at ``te`` (s): lumbar extension by
    ``lean_deg`` and the thoracic spine extending as much, the pelvis tipping back 4 deg,
    held 0.4 s, then upright again by ``te`` + 1.6 s. Returns the lumbar flexion it
    reaches (-``lean_deg``).

    The thoracic spine extends with the lumbar (the thresholds scale by placement on that
    assumption, ``core.conventions.PLACEMENT_SCALE``: twice the lumbar angle seen from the
    neck, 1.5 times from T8); a lean of the lumbar spine alone would be over-extended at
    L1/T12 and not seen as such from T8 or the neck."""
    tl = te + 0.6
    sc.lumbar.to(tl, -lean_deg)
    sc.thoracic.to(tl, -lean_deg)
    sc.pelvis.to(tl, -4.0)
    sc.hold_all(tl + 0.4)
    sc.lumbar.to(tl + 1.0, 0.0)
    sc.thoracic.to(tl + 1.0, 0.0)
    sc.pelvis.to(tl + 1.0, 0.0)
    return -lean_deg
