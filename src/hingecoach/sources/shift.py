"""A work shift for the occupational use: hours of standing, walking, sitting and lifts
of varied technique at a realistic rate, with the same body model, sensors and ground
truth as ``sources.simulator``.

The shift is a sequence of activities. Work time alternates walking (with turns),
standing and lifts; a lift comes every ``3600 / lifts_per_hour`` seconds on average
(exponentially spaced, at least 15 s apart: order picking and material handling run at
tens to a hundred lifts an hour), its technique drawn with the ``technique`` weights.
A share of each hour (``sitting_share``) is spent seated (a slumped sitting posture:
pelvis tilted back, lumbar spine flexed, the trunk near upright, so sitting is not a
hinge). The sensors are synthesised block by block (ten minutes at a time) from one
continuous script, so memory and time grow linearly with the shift's length.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hingecoach.core.conventions import normalise_placement
from hingecoach.core.errors import ParameterError
from hingecoach.core.timeseries import FloatArray, TimeSeries
from hingecoach.sources.simulator import (
    PATTERNS,
    RepTruth,
    SimSettings,
    _expected_faults,
    _MagneticField,
    _package,
    _rep_params,
    _sample_times,
    _Script,
    _synthesise,
    add_sensor_errors,
    lean_back,
    random_mounts,
    write_truth,
)

BLOCK_S = 600.0  # synthesised this many seconds at a time
MIN_LIFT_GAP_S = 15.0
DEFAULT_TECHNIQUE = (("good", 0.55), ("rounded", 0.25), ("squat", 0.1), ("fast", 0.05), ("overextended", 0.05))


@dataclass(frozen=True)
class ShiftSettings:
    """What shift to simulate. Units in names."""

    hours: float = 1.0
    sample_rate_hz: float = 100.0
    seed: int = 0
    placement: str = "T12"
    lifts_per_hour: float = 60.0
    technique: tuple[tuple[str, float], ...] = DEFAULT_TECHNIQUE  # (pattern, weight)
    sitting_share: float = 0.15  # of each hour, in one seated spell
    noise: bool = True
    gyro_bias_dps: float = 1.5
    random_mounting: bool = True

    def check(self) -> None:
        """Raise ParameterError for a value out of range."""
        if not 0.01 <= self.hours <= 24:
            raise ParameterError("shift_hours", "0.01 to 24", self.hours)
        if not 0 < self.lifts_per_hour <= 200:
            raise ParameterError("lifts_per_hour", "more than 0, at most 200", self.lifts_per_hour)
        if not 0 <= self.sitting_share <= 0.8:
            raise ParameterError("sitting_share", "0 to 0.8", self.sitting_share)
        for p, w in self.technique:
            if p not in PATTERNS or w < 0:
                raise ParameterError("technique", f"(pattern, weight >= 0) with a pattern of {PATTERNS}", (p, w))


@dataclass(frozen=True)
class Activity:
    """One spell of the shift (``kind``: stand, walk, sit or lift), in seconds."""

    kind: str
    start_s: float
    end_s: float


class _Shift:
    """Builds the script: keyframes for every joint, walking windows, the lifts' truth."""

    def __init__(self, s: ShiftSettings, rng: np.random.Generator) -> None:
        self.s, self.rng = s, rng
        self.sc = _Script()
        self.heading = 0.0
        self.reps: list[dict[str, Any]] = []
        self.activities: list[Activity] = []
        self.sc.hold_all(3.0)  # standing still: the calibration
        self.activities.append(Activity("stand", 0.0, 3.0))

    def now(self) -> float:
        """The script's end so far (s)."""
        return self.sc.now()

    def stand(self, d: float) -> None:
        """Stand (still, swaying) for ``d`` seconds."""
        t0 = self.now()
        self.sc.hold_all(t0 + d)
        self.activities.append(Activity("stand", t0, t0 + d))

    def walk(self, d: float) -> None:
        """Walk for ``d`` seconds, turning on the way (90 or 180 deg)."""
        t0 = self.now()
        w0, w1 = t0 + 0.3, t0 + 0.3 + d
        self.sc.walk.append((w0, w1))
        turn = float(self.rng.choice([-180.0, -90.0, 90.0, 180.0]))
        mid = 0.5 * (w0 + w1)
        self.sc.heading.to(mid - 1.0, self.heading)
        self.heading += turn
        self.sc.heading.to(mid + 1.0, self.heading)
        self.sc.hold_all(w1 + 0.5)
        self.activities.append(Activity("walk", t0, w1 + 0.5))

    def sit(self, d: float) -> None:
        """Sit down, stay seated ``d`` seconds, stand up."""
        t0 = self.now()
        sc = self.sc
        for tr, v in ((sc.knee, 90.0), (sc.pelvis, -12.0), (sc.lumbar, 20.0), (sc.thoracic, 5.0)):
            tr.to(t0 + 1.5, v)
        sc.hold_all(t0 + 1.5 + d)
        t1 = sc.now()
        # standing up leans the trunk forward a little (well under a hinge's 30 deg)
        for tr, v in ((sc.knee, 45.0), (sc.pelvis, 12.0), (sc.lumbar, 6.0), (sc.thoracic, 2.0)):
            tr.to(t1 + 0.8, v)
        for tr in (sc.knee, sc.pelvis, sc.lumbar, sc.thoracic):
            tr.to(t1 + 1.8, 0.0)
        sc.hold_all(t1 + 2.5)
        self.activities.append(Activity("sit", t0, t1 + 2.5))

    def lift(self) -> None:
        """One lift, its technique drawn with the settings' weights (with its truth)."""
        weights = np.array([w for _, w in self.s.technique], float)
        pat = str(self.rng.choice([p for p, _ in self.s.technique], p=weights / weights.sum()))
        p = _rep_params(pat, self.rng)
        sc, t0 = self.sc, self.now()
        tb = t0 + p["down"]
        for tr, key in ((sc.pelvis, "pelvis"), (sc.lumbar, "lumbar"), (sc.thoracic, "thoracic"), (sc.knee, "knee")):
            tr.to(tb, p[key])
        th = tb + p["hold"]
        sc.hold_all(th)
        te = th + p["up"]
        for tr in (sc.pelvis, sc.lumbar, sc.thoracic, sc.knee):
            tr.to(te, 0.0)
        min_lumbar = lean_back(sc, te, p["lean"]) if "lean" in p else 0.0  # as the simulator's overextended rep
        sc.hold_all(sc.now() + 1.5)  # standing again before anything else
        must, must_not = _expected_faults(pat)
        self.reps.append(dict(index=len(self.reps) + 1, pattern=pat, start_s=t0, bottom_s=tb + 0.5 * p["hold"],
                              end_s=te, peak_lumbar=p["lumbar"], peak_pelvis=p["pelvis"], min_lumbar=min_lumbar,
                              must_flag=must, must_not_flag=must_not))
        self.activities.append(Activity("lift", t0, sc.now()))

    def fill(self, d: float) -> None:
        """Work between two lifts: walking and standing, ``d`` seconds in all."""
        while d > 4.0:
            piece = min(d, float(self.rng.uniform(4.0, 25.0)))
            if self.rng.random() < 0.6 and piece > 6.0:
                self.walk(piece - 0.8)
            else:
                self.stand(piece)
            d -= piece
        if d > 0:
            self.stand(d)


def shift_script(s: ShiftSettings, rng: np.random.Generator) -> _Shift:
    """The whole shift's script: each hour, work (lifts between walking and standing)
    and one seated spell at a random point."""
    sh = _Shift(s, rng)
    end = s.hours * 3600.0
    mean_gap = 3600.0 / s.lifts_per_hour
    hour = 0
    while sh.now() < end - 5.0:
        h0 = hour * 3600.0
        sit_at = h0 + float(rng.uniform(0.2, 0.8)) * min(3600.0, end - h0)
        sat = s.sitting_share <= 0
        while sh.now() < min(h0 + 3600.0, end) - 5.0:
            if not sat and sh.now() >= sit_at:
                sh.sit(min(s.sitting_share * min(3600.0, end - h0), max(end - sh.now() - 5.0, 1.0)))
                sat = True
                continue
            left = end - sh.now()
            if left < MIN_LIFT_GAP_S:  # too little time for another lift: stand until the end
                sh.stand(max(left, 0.5))
                break
            gap = min(max(MIN_LIFT_GAP_S, float(rng.exponential(mean_gap))), left - 12.0)
            sh.fill(gap)
            sh.lift()
        hour += 1
    sh.sc.hold_all(max(sh.now(), end) + 1.0)
    return sh


def simulate_shift(settings: ShiftSettings | None = None
                   ) -> tuple[TimeSeries, TimeSeries, list[RepTruth], list[Activity]]:
    """Simulate a shift: the recording, the true angles, the lifts (as ``RepTruth``) and
    the activities, as ``simulator.simulate`` does for a set of reps."""
    s = settings or ShiftSettings()
    s.check()
    placement = normalise_placement(s.placement)
    rng = np.random.default_rng(s.seed)
    sh = shift_script(s, rng)
    sim = SimSettings(pattern="good", reps=0, sample_rate_hz=s.sample_rate_hz, seed=s.seed, placement=placement,
                      noise=s.noise, gyro_bias_dps=s.gyro_bias_dps, random_mounting=s.random_mounting)
    sway = (rng.uniform(0.2, 0.5), rng.uniform(0.1, 0.3), rng.uniform(0.1, 0.4),
            rng.uniform(0.15, 0.35), rng.uniform(0.2, 0.6), rng.uniform(0.1, 0.3))
    t_s = _sample_times(sim, rng, sh.now())
    mounts = random_mounts(rng, s.random_mounting)
    mag = _MagneticField.draw(sim, np.random.default_rng([s.seed, 0x6D6167]))
    names = ["lumbar_flexion_deg", "pelvis_tilt_deg", "trunk_inclination_deg"]
    out: dict[str, list[FloatArray]] = {}
    truth: dict[str, list[FloatArray]] = {}
    start = 0.0
    while start < t_s[-1] + 1e-9:
        stop = start + BLOCK_S
        sel = (t_s >= start) & (t_s < stop)
        if np.any(sel):
            block = copy.copy(sh.sc)  # the same tracks; only the walks near this block (linear time)
            block.walk = [w for w in sh.sc.walk if w[1] > start - 1.0 and w[0] < stop + 1.0]
            o, tr = _synthesise(sim, block, t_s[sel], sway, placement, mounts, mag, names)
            for k, v in o.items():
                out.setdefault(k, []).append(v)
            for k, v in tr.items():
                truth.setdefault(k, []).append(v)
        start = stop
    sensors = {k: np.concatenate(v) for k, v in out.items()}
    add_sensor_errors(sensors, rng, noise=s.noise, gyro_bias_dps=s.gyro_bias_dps)
    rec, truth_ts, truths = _package(sim, placement, t_s, sensors, {k: np.concatenate(v) for k, v in truth.items()},
                                     sh.reps)
    rec = rec.with_meta(format="simulator", shift=_settings_dict(s))
    return rec, truth_ts, truths, sh.activities


def _settings_dict(s: ShiftSettings) -> dict[str, Any]:
    d = asdict(s)
    d["technique"] = [list(x) for x in s.technique]
    return d


def write_shift_truth(path: Path, truth: TimeSeries, reps: list[RepTruth], activities: list[Activity],
                      settings: ShiftSettings) -> None:
    """The ground truth beside a shift recording: ``NAME.truth.json`` (the shift's settings,
    its lifts and activities, and the exposure: lifts per hour and the share that must
    raise lumbar_rounding) and ``NAME.truth.csv`` (the true angles)."""
    sim = SimSettings(pattern="good", reps=0, sample_rate_hz=settings.sample_rate_hz, seed=settings.seed,
                      placement=settings.placement)
    write_truth(path, truth, reps, sim)
    meta_path = path.with_suffix(".truth.json")
    meta = json.loads(meta_path.read_text())
    hours = float(truth.time_s[-1] - truth.time_s[0]) / 3600.0 if len(truth) else 0.0
    rounded = sum("lumbar_rounding" in r.must_flag for r in reps)
    meta["settings"] = _settings_dict(settings)
    meta["activities"] = [asdict(a) for a in activities]
    meta["exposure"] = {"hours": round(hours, 4), "lifts": len(reps),
                        "lifts_per_hour": round(len(reps) / hours, 2) if hours else None,
                        "rounding_share": round(rounded / len(reps), 4) if reps else None}
    meta_path.write_text(json.dumps(meta, indent=1))
