"""Joint and segment angles from two back-worn IMUs, defined once in a table.

Each sensor gives its segment's gravity-referenced sagittal tilt (``orientation``): zero
in the calibrated neutral stance, forward positive, independent of heading. The angles
are plain combinations of the two tilts:

    lumbar_flexion_deg     = tilt(upper) - tilt(lower)   upper segment relative to sacrum
    pelvis_tilt_deg        = tilt(lower)                  the hinge at the hips
    trunk_inclination_deg  = tilt(upper)                  the upper segment's forward bend

Flexion from the full relative rotation of two 6-axis filters would inherit their
independent heading drift (tens of degrees); the difference of gravity-referenced tilts
stays within a degree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from hingecoach.core.angle_defs import ANGLES
from hingecoach.core.conventions import normalise_placement
from hingecoach.core.errors import InputError
from hingecoach.core.notices import Notice
from hingecoach.core.timeseries import ChannelInfo, FloatArray, TimeSeries
from hingecoach.orientation.calibration import (
    CalibrationSettings,
    calibration_window,
    find_still_span,
    sensor_calibration,
    window_was_given,
)
from hingecoach.orientation.fusion import LEVER_ARM_M, FusionJob, FusionSettings, fuse_pair, lever_arm
from hingecoach.orientation.magnetometer import consistency, hard_iron
from hingecoach.orientation.sagittal import (
    CONFIDENT_RATIO,
    OWN_SIGN_RANGE_DEG,
    estimate_axis,
    excursion_sign,
    sagittal_tilt_deg,
    tilt_percentiles,
    tilt_range_deg,
)
from hingecoach.orientation.twist import axial_twist_deg, segment_frame

SIDES = ("lower", "upper")

# The codes of the notices calibration gives (``AngleModel.notices``)
SHORT_STILL_START = "short_still_start"  # less standing still at the start than asked for
NO_CLEAR_BEND = "no_clear_bend"  # the sagittal plane and the sign of flexion are uncertain
OFF_PLANE_BENDS = "off_plane_bends"  # the upper sensor's bends are not in one plane
MAGNETOMETER_DISTURBED = "magnetometer_disturbed"  # 9-axis: the field is not the earth's alone


ANGLE_NAMES = tuple(a.name for a in ANGLES)


# 9-axis fusion only: not a combination of the two tilts but of the two full orientations
TWIST_NAME = "lumbar_twist_deg"
TWIST_DESCRIPTION = ("axial twist of the upper sensor's segment relative to the sacrum, to the "
                     "left + (9-axis fusion only)")


@dataclass(frozen=True)
class SensorModel:
    """One sensor's calibration: neutral up (sensor frame), gyro bias (rad/s), flexion axis."""

    up0: FloatArray
    gyro_bias_rad_s: FloatArray
    axis: FloatArray  # signed: a forward bend is a positive rotation about it
    axis_ratio: float


@dataclass(frozen=True)
class AngleModel:
    """What calibration learned: per sensor the neutral up, gyro bias and flexion axis
    (and with 9-axis fusion the twist between the sensors in the neutral stance)."""

    lower: SensorModel
    upper: SensorModel
    window_s: tuple[float, float]
    source: str
    notices: tuple[Notice, ...] = field(default=())
    twist0_deg: float = 0.0

    @property
    def warnings(self) -> tuple[str, ...]:
        """The notices' texts, for people."""
        return tuple(n.text for n in self.notices)


@dataclass(frozen=True)
class AngleSettings:
    """How the still start is found and how the sensors are fused."""

    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    fusion: FusionSettings = field(default_factory=FusionSettings)


@dataclass(frozen=True)
class Fused:
    """The fused orientation of each sensor: up vectors, and quaternions with 9-axis."""

    ups: dict[str, FloatArray]
    quaternions: dict[str, FloatArray] | None = None


def _magnetometer(rec: TimeSeries, settings: AngleSettings) -> dict[str, FloatArray] | None:
    """The magnetometer channels for 9-axis fusion (None for 6-axis), less any hard-iron
    offset the recording determines; a clear error when the recording has none."""
    if not settings.fusion.magnetometer:
        return None
    missing = [f"{s}_mag" for s in SIDES if f"{s}_mag" not in rec]
    if missing:
        raise InputError(rec.meta.get("source", "recording"),
                         "magnetometer columns (lower_mag_x ... upper_mag_z) for 9-axis fusion",
                         f"no {' or '.join(missing)} channel (use 6-axis fusion)")
    return {s: rec[f"{s}_mag"] - hard_iron(rec[f"{s}_mag"]).offset_ut for s in SIDES}


def _magnetic_notices(rec: TimeSeries, mags: dict[str, FloatArray] | None, fused: Fused
                       ) -> list[Notice]:
    """A warning per sensor whose field is not the earth's alone (metal, calibration)."""
    if mags is None:
        return []
    out = []
    for s in SIDES:
        c = consistency(mags[s], fused.ups[s], rec.sample_rate_hz)
        if c.disturbed:
            out.append(Notice(MAGNETOMETER_DISTURBED,
                              f"{rec.meta.get('source', 'recording')}: the {s} magnetometer does not read "
                       f"a steady earth field (its strength varies {c.strength_variation:.1%}, its "
                       f"dip {c.dip_range_deg:.1f} deg: metal nearby, a magnetometer that needs "
                       "calibrating, or an orientation error after a gap): lumbar_twist_deg is not "
                       "reliable here (the other angles do not use the magnetometer)"))
    return out


def sensor_lever_arms(ups0: dict[str, FloatArray], placement: object, settings: FusionSettings
                      ) -> dict[str, FloatArray | None]:
    """Each sensor's position relative to the hips (m, sensor frame) for the fusion to
    take its own acceleration out of the accelerometer; None when that is switched off."""
    if not settings.compensate_lever_arm:
        return {s: None for s in SIDES}
    upper = normalise_placement(str(placement)) if placement else "T12"
    return {"lower": lever_arm(ups0["lower"], LEVER_ARM_M["lower"]),
            "upper": lever_arm(ups0["upper"], LEVER_ARM_M[upper])}


def _fuse(rec: TimeSeries, biases: dict[str, FloatArray], ups0: dict[str, FloatArray],
          settings: AngleSettings, mags: dict[str, FloatArray] | None = None,
          mags0: dict[str, FloatArray] | None = None) -> Fused:
    rate = rec.sample_rate_hz
    levers = sensor_lever_arms(ups0, rec.meta.get("placement"), settings.fusion)
    jobs = [FusionJob(rate, biases[s], ups0[s], settings.fusion, rec.time_s, rec[f"{s}_gyr"],
                      rec[f"{s}_acc"], None if mags is None else mags[s],
                      None if mags0 is None else mags0[s], levers[s]) for s in SIDES]
    out = dict(zip(SIDES, fuse_pair(jobs), strict=True))
    quats = {s: out[s].quaternions for s in SIDES}
    return Fused({s: out[s].ups for s in SIDES},
                 None if mags is None else {s: q for s, q in quats.items() if q is not None})


def _mean(data: FloatArray, t: FloatArray, window: tuple[float, float]) -> FloatArray:
    """The mean over the time window (the first sample when the window holds none)."""
    sel = (t >= window[0]) & (t <= window[1])
    return np.asarray(np.mean(data[sel], axis=0) if np.any(sel) else data[0], dtype=np.float64)


def _raw_twist_deg(model: AngleModel, quats: dict[str, FloatArray]) -> FloatArray:
    return axial_twist_deg(quats["lower"], segment_frame(model.lower.up0, model.lower.axis),
                           quats["upper"], segment_frame(model.upper.up0, model.upper.axis))


def _with_neutral_twist(rec: TimeSeries, model: AngleModel, fused: Fused) -> AngleModel:
    """The twist in the calibration window becomes the zero (9-axis only): it holds how
    differently the two sensors' flexion axes came out, in heading."""
    if fused.quaternions is None:
        return model
    t = rec.time_s
    sel = (t >= model.window_s[0]) & (t <= model.window_s[1])
    raw = np.deg2rad(_raw_twist_deg(model, fused.quaternions)[sel])
    if not raw.size:
        return model
    # a circular mean: the raw twist may sit near +-180 deg if an axis came out reversed
    return replace(model, twist0_deg=float(np.rad2deg(np.arctan2(np.mean(np.sin(raw)),
                                                                 np.mean(np.cos(raw))))))


def _orient(up0: dict[str, FloatArray], ups: dict[str, FloatArray], source: str
            ) -> tuple[dict[str, FloatArray], dict[str, float], list[Notice]]:
    """Each sensor's signed flexion axis (a forward bend is positive about it) and how
    planar its motion is, with notices when the plane or the sign is uncertain."""
    axes: dict[str, FloatArray] = {}
    ratios: dict[str, float] = {}
    tilts: dict[str, FloatArray] = {}
    notices: list[Notice] = []
    for s in SIDES:
        ax = estimate_axis(up0[s], ups[s])
        axes[s], ratios[s] = ax.axis, ax.ratio
        tilts[s] = sagittal_tilt_deg(up0[s], ax.axis, ups[s])
    pct = {s: tilt_percentiles(tilts[s]) for s in SIDES}
    sign_up = excursion_sign(tilts["upper"], pct["upper"])
    axes["upper"] = sign_up * axes["upper"]
    tilts["upper"] = sign_up * tilts["upper"]
    if sign_up < 0:
        pct["upper"] = tilt_percentiles(tilts["upper"])
    if tilt_range_deg(tilts["lower"], pct["lower"]) >= OWN_SIGN_RANGE_DEG:
        sign_lo = excursion_sign(tilts["lower"], pct["lower"])
    else:
        corr = np.corrcoef(tilts["lower"], tilts["upper"])[0, 1]
        sign_lo = 1.0 if not np.isfinite(corr) or corr >= 0 else -1.0
    axes["lower"] = sign_lo * axes["lower"]
    range_up = tilt_range_deg(tilts["upper"], pct["upper"])
    if range_up < OWN_SIGN_RANGE_DEG:
        notices.append(Notice(NO_CLEAR_BEND, f"{source}: no clear forward bend (upper sensor range "
                               f"{range_up:.0f} deg): the sagittal plane and the sign of flexion are "
                               "uncertain; a calibration with a forward bend fixes them"))
    elif ratios["upper"] < CONFIDENT_RATIO:
        notices.append(Notice(OFF_PLANE_BENDS, f"{source}: the upper sensor's bends are not mainly in "
                               f"one plane (ratio {ratios['upper']:.1f}); sagittal angles mix in side "
                               "bending"))
    return axes, ratios, notices


def calibrate(rec: TimeSeries, settings: AngleSettings | None = None,
              ) -> tuple[AngleModel, Fused]:
    """Learn the angle model from a recording that starts standing still (and ideally
    holds forward bends). Returns the model and the fused orientations of ``rec``."""
    st = settings or AngleSettings()
    source = str(rec.meta.get("source", "recording"))
    window, window_warnings = calibration_window(rec, st.calibration)
    detected = not window_was_given(rec, window)
    cals = {s: sensor_calibration(rec, s, window, detected) for s in SIDES}
    up0 = {s: cals[s].up for s in SIDES}
    bias = {s: cals[s].gyro_bias_rad_s for s in SIDES}
    mags = _magnetometer(rec, st)
    mag0 = None if mags is None else {s: _mean(mags[s], rec.time_s, window) for s in SIDES}
    fused = _fuse(rec, bias, up0, st, mags, mag0)
    w_mag = _magnetic_notices(rec, mags, fused)
    axes, ratios, w2 = _orient(up0, fused.ups, source)
    models = {s: SensorModel(up0[s], bias[s], axes[s], ratios[s]) for s in SIDES}
    w_window = [Notice(SHORT_STILL_START, w) for w in window_warnings]
    model = AngleModel(models["lower"], models["upper"], window, source, tuple(w_window + w2 + w_mag))
    return _with_neutral_twist(rec, model, fused), fused


def apply_calibration(rec: TimeSeries, cal: AngleModel, settings: AngleSettings | None = None
                      ) -> tuple[AngleModel, Fused]:
    """Use a separate calibration recording's neutral posture, gyroscope bias and flexion
    axes (and neutral twist) for ``rec`` (which has no still start of its own)."""
    st = settings or AngleSettings()
    mags = _magnetometer(rec, st)
    mag0 = None
    if mags is not None:  # the heading at the start: the first half second's field
        start = (float(rec.time_s[0]), float(rec.time_s[0]) + 0.5)
        mag0 = {s: _mean(mags[s], rec.time_s, start) for s in SIDES}
    fused = _fuse(rec, {"lower": cal.lower.gyro_bias_rad_s, "upper": cal.upper.gyro_bias_rad_s},
                  {"lower": cal.lower.up0, "upper": cal.upper.up0}, st, mags, mag0)
    w_mag = _magnetic_notices(rec, mags, fused)
    return (replace(cal, notices=cal.notices + tuple(w_mag)) if w_mag else cal), fused


def angles_from_ups(rec: TimeSeries, model: AngleModel, fused: Fused) -> TimeSeries:
    """The angle channels (degrees) at the recording's sample instants; with 9-axis
    fusion also ``lumbar_twist_deg``."""
    lo = sagittal_tilt_deg(model.lower.up0, model.lower.axis, fused.ups["lower"])
    up = sagittal_tilt_deg(model.upper.up0, model.upper.axis, fused.ups["upper"])
    data = {a.name: a.combine(lo, up) for a in ANGLES}
    info = {a.name: ChannelInfo("deg", "sagittal", a.description) for a in ANGLES}
    if fused.quaternions is not None:
        twist = _raw_twist_deg(model, fused.quaternions) - model.twist0_deg
        data[TWIST_NAME] = (twist + 180.0) % 360.0 - 180.0
        info[TWIST_NAME] = ChannelInfo("deg", "transverse", TWIST_DESCRIPTION)
    return TimeSeries(rec.time_s, data, info=info,
                      meta={**rec.meta, "calibration_window_s": model.window_s,
                            "calibration_source": model.source})


def compute_angles(rec: TimeSeries, calibration: TimeSeries | None = None,
                   settings: AngleSettings | None = None
                   ) -> tuple[TimeSeries, AngleModel, TimeSeries | None]:
    """Recording -> angles (and the calibration recording's own angles, if given).

    Without ``calibration`` the recording calibrates itself (still start, own bends).
    With it: a recording that has its own still start keeps its own zero and bias (fresh,
    and right even if a sensor was re-strapped) and takes the calibration's flexion axes
    only when it has no clear bends of its own; one without a still start takes the
    calibration's zero, bias and axes.
    """
    st = settings or AngleSettings()
    if len(rec) < 10:
        raise InputError(rec.meta.get("source", "recording"), "at least 10 samples", str(len(rec)))
    if calibration is None:
        model, fused = calibrate(rec, st)
        return angles_from_ups(rec, model, fused), model, None
    cal_model, cal_fused = calibrate(calibration, st)
    cal_angles = angles_from_ups(calibration, cal_model, cal_fused)
    t0, t1 = find_still_span(rec, st.calibration)
    if t1 - t0 >= st.calibration.min_still_s or rec.meta.get("calibration_window_s"):
        model, fused = calibrate(rec, st)
        own = sagittal_tilt_deg(model.upper.up0, model.upper.axis, fused.ups["upper"])
        if tilt_range_deg(own) < OWN_SIGN_RANGE_DEG:
            model = AngleModel(
                SensorModel(model.lower.up0, model.lower.gyro_bias_rad_s, cal_model.lower.axis,
                            cal_model.lower.axis_ratio),
                SensorModel(model.upper.up0, model.upper.gyro_bias_rad_s, cal_model.upper.axis,
                            cal_model.upper.axis_ratio),
                model.window_s, model.source,
                tuple(n for n in model.notices if n.code != NO_CLEAR_BEND))
            model = _with_neutral_twist(rec, model, fused)  # with the calibration's axes
    else:
        model, fused = apply_calibration(rec, cal_model, st)
    return angles_from_ups(rec, model, fused), model, cal_angles
