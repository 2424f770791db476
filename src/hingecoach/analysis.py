"""The whole offline pipeline: recording -> angles -> reps -> faults.

This is the library's entry point for an analysis; the CLI and (later) the web app are
thin shells over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hingecoach import __version__
from hingecoach.angles import ANGLE_NAMES, TWIST_NAME, AngleSettings, compute_angles
from hingecoach.core.conventions import PLACEMENTS, normalise_placement
from hingecoach.core.timeseries import TimeSeries
from hingecoach.faults import (
    MAX_FLEXION_SHARE,
    MESSAGES,
    TOO_FAST_S,
    RepMetrics,
    Thresholds,
    default_thresholds,
    evaluate,
    rep_metrics,
)
from hingecoach.reps import RepSettings, detect_reps
from hingecoach.sources.detect import read_recording

DISCLAIMER = ("hingecoach gives exercise guidance, not a diagnosis. If back pain persists, or "
              "you notice numbness, weakness or bladder or bowel changes, see a doctor or "
              "physical therapist.")
MIN_MAX_FLEXION_TRUNK_DEG = 45.0  # a calibration bend must tip the trunk this far to count


@dataclass(frozen=True)
class AnalysisSettings:
    placement: str | None = None  # None: what the reader recorded
    exercise: str = "hinge"  # hinge, deadlift or swing (swing: too_fast is off)
    share_of_max: float = MAX_FLEXION_SHARE
    lumbar_rounding_deg: float | None = None  # a clinician's fixed threshold
    too_fast_s: float | None = TOO_FAST_S
    angles: AngleSettings = field(default_factory=AngleSettings)
    reps: RepSettings = field(default_factory=RepSettings)


@dataclass
class Analysis:
    angles: TimeSeries
    reps: list[RepMetrics]
    incomplete: list[RepMetrics]
    thresholds: Thresholds
    max_flexion_deg: float | None
    warnings: list[str]
    info: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        keys = ("index", "start_s", "bottom_s", "end_s", "peak_lumbar_flexion_deg",
                "peak_pelvis_tilt_deg", "peak_trunk_inclination_deg", "lumbar_share",
                "top_extension_deg", "descent_s")

        twist = self.angles.data.get(TWIST_NAME)

        def rep(m: RepMetrics) -> dict[str, Any]:
            d: dict[str, Any] = {k: _num(getattr(m, k)) for k in keys}
            if twist is not None:  # 9-axis: the largest twist during the rep, with its sign
                i0, i1 = np.searchsorted(self.angles.time_s, [m.start_s, m.end_s])
                seg = twist[i0:max(i1 + 1, i0 + 1)]
                d[f"peak_{TWIST_NAME}"] = _num(float(seg[np.argmax(np.abs(seg))]) if seg.size else None)
            d["faults"] = list(m.faults)
            return d

        th = self.thresholds
        return {
            "reps": [rep(m) for m in self.reps],
            "incomplete_reps": [rep(m) for m in self.incomplete],
            "summary": {
                "reps": len(self.reps),
                "faulty_reps": sum(1 for m in self.reps if m.faults),
                "fault_counts": {f: sum(f in m.faults for m in self.reps) for f in MESSAGES
                                 if any(f in m.faults for m in self.reps)},
                "peak_lumbar_flexion_deg": _num(max((m.peak_lumbar_flexion_deg for m in self.reps),
                                                    default=float("nan"))),
            },
            "thresholds": {
                "lumbar_rounding_deg": round(th.lumbar_rounding_deg, 2),
                "lumbar_rounding_source": th.lumbar_rounding_source,
                "top_overextension_deg": th.top_overextension_deg,
                "too_fast_s": th.too_fast_s,
                "shallow_hinge_share": th.shallow_share,
                "max_flexion_deg": _num(self.max_flexion_deg),
            },
            "messages": {f: MESSAGES[f] for m in self.reps for f in m.faults},
            "recording": self.info,
            "warnings": self.warnings,
            "disclaimer": DISCLAIMER,
            "version": __version__,
        }


def _num(x: float | None) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), 3)


def max_flexion_deg(cal_angles: TimeSeries, settings: RepSettings | None = None) -> float | None:
    """The person's maximum lumbar flexion: the largest peak over the calibration's
    complete bends that tip the trunk at least 45 deg (a real forward bend)."""
    reps = [r for r in detect_reps(cal_angles, settings) if r.complete]
    lum = cal_angles["lumbar_flexion_deg"]
    tr = cal_angles["trunk_inclination_deg"]
    peaks = [float(np.max(lum[r.start_i:r.end_i + 1])) for r in reps
             if tr[r.bottom_i] >= MIN_MAX_FLEXION_TRUNK_DEG]
    return max(peaks) if peaks else None


def analyze_recording(rec: TimeSeries, calibration: TimeSeries | None = None,
                      settings: AnalysisSettings | None = None) -> Analysis:
    st = settings or AnalysisSettings()
    if st.placement is not None:
        rec = rec.with_meta(placement=normalise_placement(st.placement))
        if calibration is not None:
            calibration = calibration.with_meta(placement=rec.meta["placement"])
    placement = str(rec.meta.get("placement", "T12"))
    warnings = list(rec.meta.get("warnings", []))
    if calibration is not None:
        warnings += list(calibration.meta.get("warnings", []))
    angles, model, cal_angles = compute_angles(rec, calibration, st.angles)
    warnings += list(model.warnings)
    maxflex = None
    if cal_angles is not None:
        maxflex = max_flexion_deg(cal_angles, st.reps)
        if maxflex is None:
            warnings.append(f"{calibration.meta.get('source') if calibration else ''}: no forward "
                            "bend in the calibration: using the default lumbar_rounding threshold")
    thresholds = default_thresholds(placement, max_flexion_deg=maxflex, exercise=st.exercise,
                                    share_of_max=st.share_of_max, too_fast_s=st.too_fast_s,
                                    lumbar_rounding_deg=st.lumbar_rounding_deg)
    reps = detect_reps(angles, st.reps)
    metrics = evaluate(rep_metrics(angles, reps), thresholds)
    info = {
        "source": str(rec.meta.get("source", "")),
        "format": rec.meta.get("format"),
        "placement": placement,
        "placement_meaning": PLACEMENTS[placement],
        "samples": len(rec),
        "duration_s": round(rec.duration_s, 3),
        "sample_rate_hz": round(rec.sample_rate_hz, 3),
        "calibration_window_s": [round(x, 3) for x in model.window_s],
        "calibration_source": model.source,
        "exercise": st.exercise,
        "fusion": "9axis" if st.angles.fusion.magnetometer else "6axis",
        "notes": list(rec.meta.get("notes", [])),
    }
    return Analysis(angles, [m for m in metrics if m.complete],
                    [m for m in metrics if not m.complete], thresholds, maxflex, warnings, info)


def analyze_file(path: str | Path, *, calibration: str | Path | None = None, fmt: str = "auto",
                 settings: AnalysisSettings | None = None) -> Analysis:
    st = settings or AnalysisSettings()
    rec = read_recording(path, fmt=fmt, placement=st.placement)
    cal = read_recording(calibration, fmt="auto", placement=st.placement) if calibration else None
    return analyze_recording(rec, cal, st)


def write_angles_csv(path: str | Path, angles: TimeSeries) -> None:
    """The angle channels at the recording's rate (``lumbar_twist_deg`` last, with 9-axis)."""
    names = [*ANGLE_NAMES, *([TWIST_NAME] if TWIST_NAME in angles else [])]
    arr = np.column_stack([angles.time_s] + [angles[n] for n in names])
    np.savetxt(path, arr, delimiter=",", fmt="%.4f", header=",".join(["time_s", *names]),
               comments="")
