"""SpineWise wearable CSV (two IMUs: belt at the hip ``_r``, neck collar ``_n``).

Columns per sensor: ``ts`` (sample counter at 25 Hz), ``acc_x/y/z`` (g), ``gyr_x/y/z``
(deg/s), ``mag_x/y/z`` (mG) and device fields; labels in ``label``/``label2``. The belt
sensor is the lower one, the neck sensor the upper one (placement ``neck``: the angle
spans the whole spine). Rows labelled ``kalibratie`` are the standing calibration.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from hingecoach.core.conventions import STANDARD_GRAVITY
from hingecoach.core.errors import InputError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.sources._table import check_text_file, clean_time, read_numeric
from hingecoach.sources.imu_csv import make_recording

SAMPLE_RATE_HZ = 25.0  # SpineWise streams at 25 Hz; ts counts samples
GAUSS_TO_UT = 100.0  # 1 G = 100 uT, so 1 mG = 0.1 uT
SENSORS = {"lower": "r", "upper": "n"}


def looks_like(header: str) -> bool:
    """True when a CSV header line has the SpineWise belt and neck columns."""
    return "ts_r" in header and "acc_x_n" in header


def read_spinewise(path: str | Path, *, placement: str | None = None) -> TimeSeries:
    """Read a SpineWise CSV as an IMU recording in SI units (belt lower, neck upper; placement
    ``neck`` unless given), with the labels and the calibration window in ``meta``."""
    path = Path(path)
    text = check_text_file(path)
    first = text.splitlines()[0]
    names = [c.strip() for c in first.split(",")]
    need = [f"{k}_{s}" for s in SENSORS.values()
            for k in ("ts", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")]
    missing = [c for c in need if c not in names]
    if missing:
        raise InputError(path, "SpineWise columns " + ", ".join(need), f"no column {missing[0]}",
                         line=1)
    mags = [f"mag_{a}_{s}" for s in SENSORS.values() for a in "xyz"]
    has_mag = all(m in names for m in mags)
    table = read_numeric(path, text, header_line=0, names=names,
                         wanted=need + (mags if has_mag else []), delimiter=",",
                         first_data_line=1)
    t = (table.columns["ts_r"] - table.columns["ts_r"][0]) / SAMPLE_RATE_HZ
    keep, tw = clean_time(path, table, t)
    ch: dict[str, np.ndarray] = {}
    for side, s in SENSORS.items():
        ch[f"{side}_acc"] = np.column_stack(
            [table.columns[f"acc_{a}_{s}"] for a in "xyz"])[keep] * STANDARD_GRAVITY
        ch[f"{side}_gyr"] = np.deg2rad(np.column_stack(
            [table.columns[f"gyr_{a}_{s}"] for a in "xyz"]))[keep]
        if has_mag:
            ch[f"{side}_mag"] = np.column_stack(
                [table.columns[f"mag_{a}_{s}"] for a in "xyz"])[keep] * (GAUSS_TO_UT / 1000)
    labels = _labels(text, names, table.line_numbers[keep])
    meta: dict[str, object] = {"labels": labels} if labels is not None else {}
    if labels is not None:
        cal = np.flatnonzero(np.asarray(labels) == "kalibratie")
        if cal.size and cal[0] == 0:
            end = int(cal[-1]) if np.all(np.diff(cal) == 1) else int(cal[0])
            meta["calibration_window_s"] = (0.0, float(t[keep][end]))
    return make_recording(t[keep], ch, source=str(path), fmt="spinewise",
                          placement=placement or "neck", warnings=table.warnings + tw, **meta)


def _labels(text: str, names: list[str], line_numbers: np.ndarray) -> list[str] | None:
    """The ``label2`` column (Dutch activity labels) for the kept rows, if present."""
    if "label2" not in names:
        return None
    col = names.index("label2")
    by_line: dict[int, str] = {}
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if n > 1 and len(row) > col:
            by_line[n] = row[col]
    return [by_line.get(int(n), "") for n in line_numbers]
