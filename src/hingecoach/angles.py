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

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hingecoach.core.errors import InputError
from hingecoach.core.timeseries import ChannelInfo, FloatArray, TimeSeries
from hingecoach.orientation.calibration import (
    CalibrationSettings,
    calibration_window,
    find_still_span,
    sensor_calibration,
)
from hingecoach.orientation.fusion import FusionSettings, fuse_pair
from hingecoach.orientation.sagittal import (
    CONFIDENT_RATIO,
    OWN_SIGN_RANGE_DEG,
    estimate_axis,
    excursion_sign,
    sagittal_tilt_deg,
    tilt_percentiles,
    tilt_range_deg,
)

SIDES = ("lower", "upper")


@dataclass(frozen=True)
class AngleDef:
    name: str
    description: str
    combine: Callable[[FloatArray, FloatArray], FloatArray]  # (lower tilt, upper tilt)


ANGLES: tuple[AngleDef, ...] = (
    AngleDef("lumbar_flexion_deg",
             "sagittal angle of the upper sensor's segment relative to the sacrum, flexion +",
             lambda lo, up: up - lo),
    AngleDef("pelvis_tilt_deg", "sagittal tilt of the sacrum, forward +: the hip hinge itself",
             lambda lo, up: lo),
    AngleDef("trunk_inclination_deg", "sagittal tilt of the upper segment, forward +",
             lambda lo, up: up),
)
ANGLE_NAMES = tuple(a.name for a in ANGLES)


@dataclass(frozen=True)
class SensorModel:
    up0: FloatArray
    gyro_bias_rad_s: FloatArray
    axis: FloatArray  # signed: a forward bend is a positive rotation about it
    axis_ratio: float


@dataclass(frozen=True)
class AngleModel:
    """What calibration learned: per sensor the neutral up, gyro bias and flexion axis."""

    lower: SensorModel
    upper: SensorModel
    window_s: tuple[float, float]
    source: str
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class AngleSettings:
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    fusion: FusionSettings = field(default_factory=FusionSettings)


def _fuse(rec: TimeSeries, biases: dict[str, FloatArray], ups0: dict[str, FloatArray],
          settings: AngleSettings) -> dict[str, FloatArray]:
    rate = rec.sample_rate_hz
    jobs = [(rate, biases[s], ups0[s], settings.fusion, rec.time_s, rec[f"{s}_gyr"],
             rec[f"{s}_acc"]) for s in SIDES]
    return dict(zip(SIDES, fuse_pair(jobs), strict=True))


def _orient(up0: dict[str, FloatArray], ups: dict[str, FloatArray], source: str
            ) -> tuple[dict[str, FloatArray], dict[str, float], list[str]]:
    axes: dict[str, FloatArray] = {}
    ratios: dict[str, float] = {}
    tilts: dict[str, FloatArray] = {}
    warnings: list[str] = []
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
        warnings.append(f"{source}: no clear forward bend (upper sensor range "
                        f"{range_up:.0f} deg): the sagittal plane and the "
                        "sign of flexion are uncertain; a calibration with a forward bend fixes them")
    elif ratios["upper"] < CONFIDENT_RATIO:
        warnings.append(f"{source}: the upper sensor's bends are not mainly in one plane "
                        f"(ratio {ratios['upper']:.1f}); sagittal angles mix in side bending")
    return axes, ratios, warnings


def calibrate(rec: TimeSeries, settings: AngleSettings | None = None,
              ) -> tuple[AngleModel, dict[str, FloatArray]]:
    """Learn the angle model from a recording that starts standing still (and ideally
    holds forward bends). Returns the model and the fused up vectors of ``rec``."""
    st = settings or AngleSettings()
    source = str(rec.meta.get("source", "recording"))
    window, warnings = calibration_window(rec, st.calibration)
    cals = {s: sensor_calibration(rec, s, window) for s in SIDES}
    up0 = {s: cals[s].up for s in SIDES}
    bias = {s: cals[s].gyro_bias_rad_s for s in SIDES}
    ups = _fuse(rec, bias, up0, st)
    axes, ratios, w2 = _orient(up0, ups, source)
    models = {s: SensorModel(up0[s], bias[s], axes[s], ratios[s]) for s in SIDES}
    return AngleModel(models["lower"], models["upper"], window, source,
                      tuple(warnings + w2)), ups


def apply_calibration(rec: TimeSeries, cal: AngleModel, settings: AngleSettings | None = None
                      ) -> tuple[AngleModel, dict[str, FloatArray]]:
    """Use a separate calibration recording's neutral posture, gyroscope bias and flexion
    axes for ``rec`` (which has no still start of its own)."""
    st = settings or AngleSettings()
    ups = _fuse(rec, {"lower": cal.lower.gyro_bias_rad_s, "upper": cal.upper.gyro_bias_rad_s},
                {"lower": cal.lower.up0, "upper": cal.upper.up0}, st)
    return cal, ups


def angles_from_ups(rec: TimeSeries, model: AngleModel, ups: dict[str, FloatArray]) -> TimeSeries:
    """The angle channels (degrees) at the recording's sample instants."""
    lo = sagittal_tilt_deg(model.lower.up0, model.lower.axis, ups["lower"])
    up = sagittal_tilt_deg(model.upper.up0, model.upper.axis, ups["upper"])
    data = {a.name: a.combine(lo, up) for a in ANGLES}
    info = {a.name: ChannelInfo("deg", "sagittal", a.description) for a in ANGLES}
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
        model, ups = calibrate(rec, st)
        return angles_from_ups(rec, model, ups), model, None
    cal_model, cal_ups = calibrate(calibration, st)
    cal_angles = angles_from_ups(calibration, cal_model, cal_ups)
    t0, t1 = find_still_span(rec, st.calibration)
    if t1 - t0 >= st.calibration.min_still_s or rec.meta.get("calibration_window_s"):
        model, ups = calibrate(rec, st)
        own = sagittal_tilt_deg(model.upper.up0, model.upper.axis, ups["upper"])
        if tilt_range_deg(own) < OWN_SIGN_RANGE_DEG:
            model = AngleModel(
                SensorModel(model.lower.up0, model.lower.gyro_bias_rad_s, cal_model.lower.axis,
                            cal_model.lower.axis_ratio),
                SensorModel(model.upper.up0, model.upper.gyro_bias_rad_s, cal_model.upper.axis,
                            cal_model.upper.axis_ratio),
                model.window_s, model.source,
                tuple(w for w in model.warnings if "no clear forward bend" not in w))
    else:
        model, ups = apply_calibration(rec, cal_model, st)
    return angles_from_ups(rec, model, ups), model, cal_angles
