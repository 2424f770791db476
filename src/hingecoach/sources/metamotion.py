"""mbientlab MetaMotion CSV (the MetaBase app): one file per sensor stream per device.

Each file: a header ``epoc (ms),timestamp (+0100),elapsed (s),x-axis (g),y-axis (g),
z-axis (g)`` (older exports spell ``epoch``; the timestamp column's name carries the
phone's UTC offset), one row per sample. The unit in the axis names says the stream:
``(g)`` accelerometer, ``(deg/s)`` gyroscope, ``(T)`` or ``(uT)`` magnetometer. File
names are ``<name>_<date>_<MAC>_Accelerometer_<...>.csv``; the accelerometer and
gyroscope files of one device share the MAC (or, without one, the name up to the
stream's name). Streams are sampled separately: the gyroscope is interpolated to the
accelerometer's instants. Time is the epoch column (ms) from the first sample.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hingecoach.core.conventions import STANDARD_GRAVITY
from hingecoach.core.errors import InputError
from hingecoach.sources._table import check_text_file
from hingecoach.sources.devices import DeviceRecording, Stream, combine, parse_columns, split_header, stream_from

AXES = ("x-axis", "y-axis", "z-axis")
UNITS = {"g": ("acc", STANDARD_GRAVITY), "deg/s": ("gyr", np.pi / 180.0), "dps": ("gyr", np.pi / 180.0),
         "t": ("mag", 1e6), "ut": ("mag", 1.0), "µt": ("mag", 1.0)}
_MAC = re.compile(r"(?:[0-9A-Fa-f]{2}[:-]?){5}[0-9A-Fa-f]{2}")
_STREAM_WORDS = re.compile(r"_(Accelerometer|Gyroscope|Magnetometer)", re.I)


def looks_like(header: str) -> bool:
    """True when a header line is a MetaBase stream's (epoch column and x-axis column)."""
    h = header.lower()
    return (h.startswith("epoc (ms)") or h.startswith("epoch (ms)")) and "x-axis (" in h


def _kind(path: Path, names: list[str]) -> tuple[str, float, list[str]]:
    """The stream (acc, gyr, mag), its scale to SI (uT for the field) and its axis columns."""
    cols = []
    unit = None
    for ax in AXES:
        col = next((n for n in names if n.lower().startswith(ax + " (")), None)
        if col is None:
            raise InputError(path, f"a column '{ax} (unit)'", "none", line=1)
        if not col.rstrip().endswith(")"):
            raise InputError(path, f"a column '{ax} (unit)'", repr(col[:40]), line=1)
        cols.append(col)
        unit = col[col.index("(") + 1:col.rindex(")")].strip().lower()
    if unit not in UNITS:
        raise InputError(path, "axis units g, deg/s or T", repr(unit), line=1)
    kind, scale = UNITS[unit]
    return kind, scale, cols


def read_stream(path: Path) -> tuple[str, Stream]:
    """One MetaBase file: its kind and the stream in SI units (time from the epoch column)."""
    text = check_text_file(path)
    first = text.splitlines()[0]
    if not looks_like(first):
        raise InputError(path, "a MetaBase CSV header 'epoc (ms),timestamp,elapsed (s),x-axis (...)'",
                         repr(first[:60]), line=1)
    names, delim = split_header(first)
    kind, scale, cols = _kind(path, names)
    table = parse_columns(str(path), text, header_line=0, names=names, wanted=[names[0], *cols],
                          delimiter=delim)
    epoch = table.columns[names[0]]
    return kind, stream_from(str(path), table, (epoch - epoch[0]) / 1000.0, cols, scale)


def _key(path: Path) -> str:
    mac = _MAC.search(path.stem)
    if mac:
        return mac.group(0).replace(":", "").replace("-", "").upper()
    m = _STREAM_WORDS.search(path.stem)
    return path.stem[:m.start()] if m else path.stem


def siblings(path: Path) -> list[Path]:
    """The MetaBase files of the same device as ``path`` (itself included), or of the only
    device in a folder."""
    folder = path if path.is_dir() else path.parent
    files = [p for p in sorted(folder.glob("*.csv")) if _first_line_is_metabase(p)]
    if path.is_dir():
        keys = {_key(p) for p in files}
        if len(keys) > 1:
            raise InputError(path, "the MetaBase files of one device (give one file of each with "
                             "--lower and --upper)", f"{len(keys)} devices: {', '.join(sorted(keys))}")
        return files
    return [p for p in files if _key(p) == _key(path)] or [path]


def _first_line_is_metabase(p: Path) -> bool:
    try:
        with p.open("r", encoding="utf-8-sig", errors="replace") as f:
            return looks_like(f.readline())
    except OSError:
        return False


def read_device(path: str | Path) -> DeviceRecording:
    """One MetaMotion device from one of its files (its siblings found by MAC) or its folder."""
    path = Path(path)
    streams: dict[str, Stream] = {}
    for p in siblings(path):
        kind, s = read_stream(p)
        if kind in streams:
            raise InputError(p, f"one {kind} file per device", f"also {Path(streams[kind].source).name}")
        streams[kind] = s
    for kind, what in (("acc", "Accelerometer"), ("gyr", "Gyroscope")):
        if kind not in streams:
            raise InputError(path, f"the device's {what} file (same MAC in the name, same folder)",
                             "none")
    return combine(streams["acc"], streams["gyr"], streams.get("mag"), source=str(path),
                   fmt="metamotion", device=_key(path if path.is_file() else Path(streams["acc"].source)))
