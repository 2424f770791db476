"""Sensor Logger (iOS and Android app) zip export or its folder: one phone.

One CSV per sensor, each ``time,seconds_elapsed,z,y,x`` (``time`` in nanoseconds since
the epoch; columns read by name): ``Gyroscope.csv`` (rad/s), ``TotalAcceleration.csv``
(m/s^2 with gravity; Android), ``Accelerometer.csv`` (m/s^2 without gravity) and
``Gravity.csv`` (m/s^2), ``Magnetometer.csv`` (uT), ``Metadata.csv`` (``platform``,
``standardisation``...). The specific force is TotalAcceleration, else Accelerometer
plus Gravity. Android's axes report the specific force (+z up on a table); iOS reports
the opposite sign for both accelerometer and gravity unless "Standardise Units & Frames"
was on, so those are negated here; the gyroscope agrees on both.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from hingecoach.core.errors import InputError
from hingecoach.sources.devices import (
    DeviceRecording,
    Stream,
    combine,
    listing,
    parse_columns,
    read_text_member,
    split_header,
)

XYZ = ["x", "y", "z"]
FILES = ("Gyroscope", "TotalAcceleration", "Accelerometer", "Gravity", "Magnetometer")


def looks_like_listing(names: list[str]) -> bool:
    """True when file names (a zip's or a folder's) are a Sensor Logger export's."""
    base = {Path(n).name.lower() for n in names}
    return "gyroscope.csv" in base and ("totalacceleration.csv" in base
                                        or {"accelerometer.csv", "gravity.csv"} <= base)


def _stream(source: str, text: str) -> tuple[Stream, float]:
    """The stream (time from its own first sample) and that sample's epoch time (ns)."""
    lines = text.splitlines()
    if not lines:
        raise InputError(source, "a header 'time,seconds_elapsed,z,y,x'", "an empty file")
    names, delim = split_header(lines[0])
    missing = [c for c in ["time", *XYZ] if c not in names]
    if missing:
        raise InputError(source, "columns time, x, y, z", f"no column {missing[0]}", line=1)
    table = parse_columns(source, text, header_line=0, names=names, wanted=["time", *XYZ],
                          delimiter=delim)
    t_ns = table.columns["time"]
    order = np.argsort(t_ns, kind="stable")  # rows are written as the phone delivers them
    t = (t_ns[order] - t_ns[order][0]) * 1e-9
    keep = np.concatenate([[True], np.diff(t) > 0])
    xyz = table.block(XYZ, order)[keep]
    notes = list(table.warnings)
    if not keep.all():
        notes.append(f"{Path(source).name}: dropped {int((~keep).sum())} rows repeating a time")
    return Stream(t[keep], xyz, source, tuple(notes)), float(t_ns[order][0])


def _metadata(text: str) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        return {}
    return {k.strip().lower(): v.strip() for k, v in zip(rows[0], rows[1], strict=False)}


def _negate_ios(meta: dict[str, str], source: str) -> tuple[bool, list[str]]:
    platform = meta.get("platform", "").lower()
    standard = meta.get("standardisation", meta.get("standardization", "")).lower() in ("true", "1", "yes")
    if not platform:
        return False, [f"{source}: no Metadata.csv with the platform: assumed Android's axis signs"]
    return platform == "ios" and not standard, []


def read_device(path: str | Path) -> DeviceRecording:
    """One phone's Sensor Logger export (zip or folder) in SI units on its own clock."""
    path = Path(path)
    files = {Path(n).name.lower(): (p, m) for n, (p, m) in listing(path).items()}

    def stream(name: str) -> tuple[Stream, float] | None:
        hit = files.get(name.lower() + ".csv")
        if hit is None:
            return None
        src = f"{path}:{name}.csv"
        return _stream(src, read_text_member(*hit))

    meta_hit = files.get("metadata.csv")
    meta = _metadata(read_text_member(*meta_hit)) if meta_hit else {}
    negate, warns = _negate_ios(meta, str(path))
    got = {name: stream(name) for name in FILES}
    if got["Gyroscope"] is None:
        raise InputError(path, "a Sensor Logger export with Gyroscope.csv", "none")
    starts = [v[1] for v in got.values() if v is not None]
    t0 = min(starts)  # one clock for every file: times from the earliest first sample

    def shifted(v: tuple[Stream, float]) -> Stream:
        s, start = v
        return Stream(s.time_s + (start - t0) * 1e-9, s.xyz, s.source, s.warnings)

    if got["TotalAcceleration"] is not None:
        acc = shifted(got["TotalAcceleration"])
    elif got["Accelerometer"] is not None and got["Gravity"] is not None:
        lin, grav = shifted(got["Accelerometer"]), shifted(got["Gravity"])
        g = np.column_stack([np.interp(lin.time_s, grav.time_s, grav.xyz[:, j]) for j in range(3)])
        acc = Stream(lin.time_s, lin.xyz + g, lin.source, lin.warnings + grav.warnings)
    else:
        raise InputError(path, "TotalAcceleration.csv, or Accelerometer.csv and Gravity.csv", "neither")
    if negate:
        acc = Stream(acc.time_s, -acc.xyz, acc.source, acc.warnings)
    mag = shifted(got["Magnetometer"]) if got["Magnetometer"] is not None else None
    device = meta.get("device name") or path.stem
    return combine(acc, shifted(got["Gyroscope"]), mag, source=str(path), fmt="sensorlogger",
                   device=device, extra_warnings=warns)
