"""QSense recordings (TrunkyXL study): a folder with ``Sensor 1.csv``, ``Sensor 2.csv``,
``Sensor 3.csv`` and ``info.txt``.

Each sensor file: six header lines (the sixth names the columns ``ax ay az gx gy gz mx
my mz``), a blank line, then tab-separated rows in g, deg/s and a normalised
magnetometer (unitless, not used), with a trailing ``Reference`` column. The files carry
no time; the sample rate is the number of rows over the Start-Stop span of
``info.txt`` (whole seconds, so about +-3 %), snapped to the nearest nominal rate when
within 5 % of it. Sensor 1 sits below C7, Sensor 2 on the lower back (T10-T12),
Sensor 3 on the sacrum: by default Sensor 3 is the lower sensor and Sensor 2 the upper.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np

from hingecoach.core.conventions import STANDARD_GRAVITY
from hingecoach.core.errors import InputError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.sources._table import check_text_file, read_numeric
from hingecoach.sources.imu_csv import make_recording

NOMINAL_RATES_HZ = (25.0, 50.0, 60.0, 100.0, 120.0, 200.0)
DEFAULT_SENSORS = {"lower": 3, "upper": 2}
PLACEMENT_OF_SENSOR = {1: "neck", 2: "T12"}


def folder_of(path: Path) -> Path | None:
    """The QSense folder for a path (the folder itself or one of its sensor files)."""
    folder = path if path.is_dir() else path.parent
    return folder if (folder / "Sensor 3.csv").exists() or (folder / "Sensor 2.csv").exists() else None


def looks_like(first_line: str) -> bool:
    """True when the first line is a QSense sensor file's ``Sensor string:`` line."""
    return first_line.startswith("Sensor string:")


def _sample_rate(folder: Path, n: int) -> tuple[float, str]:
    info = folder / "info.txt"
    text = check_text_file(info)
    stamps = dict(re.findall(r"^(Start|Stop):\s*(.+?)\s*$", text, flags=re.M))
    if "Start" not in stamps or "Stop" not in stamps:
        raise InputError(info, "Start: and Stop: lines", "none")
    try:
        t0 = datetime.strptime(stamps["Start"], "%Y-%m-%d %H:%M:%S")
        t1 = datetime.strptime(stamps["Stop"], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise InputError(info, "times as YYYY-MM-DD HH:MM:SS", stamps["Start"]) from None
    span = (t1 - t0).total_seconds()
    if span <= 0:
        raise InputError(info, "Stop after Start", f"{span:.0f} s")
    rate = n / span
    near = min(NOMINAL_RATES_HZ, key=lambda r: abs(r - rate))
    if abs(near - rate) <= 0.05 * near:
        return near, f"sample rate {near:g} Hz ({n} rows over {span:.0f} s = {rate:.1f} Hz)"
    return rate, f"sample rate {rate:.2f} Hz ({n} rows over {span:.0f} s; no nominal rate near)"


def _read_sensor(path: Path) -> np.ndarray:
    text = check_text_file(path)
    lines = text.splitlines()
    hdr = next((i for i, ln in enumerate(lines[:12]) if ln.split()[:3] == ["ax", "ay", "az"]), None)
    if hdr is None:
        raise InputError(path, "a QSense header line 'ax ay az gx gy gz ...'", "none in the first 12 lines")
    names = lines[hdr].split()
    missing = [c for c in ("gx", "gy", "gz") if c not in names]
    if missing:
        raise InputError(path, "a QSense header line 'ax ay az gx gy gz ...'", f"no column {missing[0]}",
                         line=hdr + 1)
    table = read_numeric(path, text, header_line=hdr, names=names,
                         wanted=["ax", "ay", "az", "gx", "gy", "gz"], delimiter="\t",
                         first_data_line=hdr + 1)
    arr = np.column_stack([table.columns[c] for c in ("ax", "ay", "az", "gx", "gy", "gz")])
    if table.warnings:
        # dropped rows would shift the time base of one sensor against the others
        raise InputError(path, "every row readable (QSense files carry no time)", table.warnings[0])
    return arr


def read_qsense(path: str | Path, *, placement: str | None = None,
                lower: int | None = None, upper: int | None = None) -> TimeSeries:
    """Read a QSense folder (``Sensor N.csv`` files and ``info.txt``) as an IMU recording in SI
    units; ``lower``/``upper`` pick the sensor numbers (default 3 and 2)."""
    path = Path(path)
    folder = folder_of(path)
    if folder is None:
        raise InputError(path, "a QSense folder with 'Sensor 2.csv' and 'Sensor 3.csv'", "none")
    lo = lower or DEFAULT_SENSORS["lower"]
    up = upper or DEFAULT_SENSORS["upper"]
    data = {}
    for side, k in (("lower", lo), ("upper", up)):
        f = folder / f"Sensor {k}.csv"
        if not f.exists():
            raise InputError(folder, f"a file 'Sensor {k}.csv' for the {side} sensor", "none")
        data[side] = _read_sensor(f)
    n = min(len(v) for v in data.values())
    warnings = []
    if any(len(v) != n for v in data.values()):
        warnings.append(f"{folder.name}: sensor files differ in length; used the first {n} rows")
    rate, note = _sample_rate(folder, n)
    t = np.arange(n) / rate
    ch = {}
    for side, arr in data.items():
        ch[f"{side}_acc"] = arr[:n, :3] * STANDARD_GRAVITY
        ch[f"{side}_gyr"] = np.deg2rad(arr[:n, 3:6])
    return make_recording(t, ch, source=str(folder), fmt="qsense",
                          placement=placement or PLACEMENT_OF_SENSOR.get(up, "T12"),
                          warnings=warnings, notes=[note])
