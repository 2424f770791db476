"""phyphox CSV export: one phone, one sensor.

An export is a zip (or its unpacked folder) with one CSV per data set (``Raw Data.csv``
for the single-sensor experiments, one file per set otherwise) and ``meta/``, or a single
CSV. The header names the columns with their units, quoted:
``"Time (s)","Acceleration x (m/s^2)",...`` ("Acceleration with g": specific force,
gravity included) and ``"Time (s)","Gyroscope x (rad/s)",...`` ("Gyroscope"). The
separator is a comma, a tab, or a semicolon with decimal commas (the three CSV choices
of the export dialog). The accelerometer and the gyroscope must both be in the export
(an experiment that records both, e.g. one made in the phyphox editor, or the
remote-access buffers); "Linear Acceleration" (gravity removed) is refused. Time is the
experiment time (s) of each set; the gyroscope is interpolated to the accelerometer's
instants.
"""

from __future__ import annotations

from pathlib import Path

from hingecoach.core.errors import InputError
from hingecoach.sources.devices import (
    DeviceRecording,
    Stream,
    combine,
    decimal_comma,
    is_zip,
    listing,
    parse_columns,
    read_text_member,
    split_header,
    stream_from,
)

TIME = "Time (s)"
ACC = [f"Acceleration {a} (m/s^2)" for a in "xyz"]
GYR = [f"Gyroscope {a} (rad/s)" for a in "xyz"]
MAG = [f"Magnetic field {a} (µT)" for a in "xyz"]
LINEAR = "Linear Acceleration x (m/s^2)"


def looks_like(header: str) -> bool:
    """True when a header line is a phyphox data set's (a quoted or bare "Time (s)" first)."""
    return header.lstrip("\ufeff").strip().strip('"').startswith(TIME) and "(" in header[9:]


def _csvs(path: Path) -> list[tuple[str, Path, str | None]]:
    if path.is_file() and not is_zip(path):
        return [(path.name, path, None)]
    files = listing(path)
    return [(name, p, m) for name, (p, m) in files.items()
            if name.lower().endswith(".csv") and not name.replace("\\", "/").startswith("meta/")]


def _streams(source: str, text: str) -> dict[str, Stream]:
    lines = text.splitlines()
    if not lines or not looks_like(lines[0]):
        return {}
    names, delim = split_header(lines[0])
    if delim == ";":
        text = decimal_comma(text)
    if LINEAR in names:
        raise InputError(source, "the 'Acceleration with g' experiment (gravity included)",
                         "'Acceleration without g' (linear acceleration)", line=1)
    out = {}
    for kind, cols, scale in (("acc", ACC, 1.0), ("gyr", GYR, 1.0), ("mag", MAG, 1.0)):
        if all(c in names for c in cols):
            # each set of columns has its own time column just before it, or the first
            tcol = names[names.index(cols[0]) - 1] if names.index(cols[0]) > 0 else TIME
            tcol = tcol if tcol.startswith("Time") else TIME
            table = parse_columns(source, text, header_line=0, names=names, wanted=[tcol, *cols],
                                  delimiter=delim)
            out[kind] = stream_from(source, table, table.columns[tcol], cols, scale)
    return out


def read_device(path: str | Path) -> DeviceRecording:
    """One phone's phyphox export (zip, folder or CSV) in SI units on its own clock."""
    path = Path(path)
    found: dict[str, Stream] = {}
    for name, p, member in _csvs(path):
        src = f"{p}:{name}" if member else str(p)
        for kind, s in _streams(src, read_text_member(p, member)).items():
            found.setdefault(kind, s)
    if "acc" not in found or "gyr" not in found:
        have = " and ".join(sorted(found)) or "no sensor data sets"
        raise InputError(path, "a phyphox export with both 'Acceleration x (m/s^2)' (Acceleration "
                         "with g) and 'Gyroscope x (rad/s)' columns", have)
    return combine(found["acc"], found["gyr"], found.get("mag"), source=str(path), fmt="phyphox",
                   device=path.stem)
