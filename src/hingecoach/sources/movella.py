"""Movella (Xsens) DOT CSV export: one sensor per file.

The DOT app and SDK write a few ``Key: value`` lines (``DeviceTag``, firmware, output
rate...) and then a header starting ``PacketCounter,SampleTimeFine``. Columns used:

- ``SampleTimeFine``: the device's 1 MHz clock (microseconds), an unsigned 32-bit
  counter that wraps after about 71.6 minutes (unwrapped here).
- ``Acc_X/Y/Z`` (m/s^2, specific force in the sensor frame) and ``Gyr_X/Y/Z`` (deg/s):
  the "rate quantities" output; or ``dq_W/X/Y/Z`` (the rotation over each sample
  interval, a unit quaternion) and ``dv[1]/[2]/[3]`` (the velocity change over it, m/s):
  the "delta quantities" output, turned into rates over the interval.
- ``Mag_X/Y/Z`` are in arbitrary units (normalised to the field at the device's
  calibration), not microtesla: not used.

Euler angles and ``FreeAcc`` (earth frame, gravity removed) cannot give the sensor-frame
specific force the analysis needs: an export with only those is an error that says so.
Xsens MT Manager text exports (``//`` comment lines, tab-separated, gyroscope in rad/s)
are read too.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hingecoach.core.errors import InputError
from hingecoach.sources._table import check_text_file
from hingecoach.sources.devices import DeviceRecording, parse_columns, split_header

WRAP = 2 ** 32
ACC = ["Acc_X", "Acc_Y", "Acc_Z"]
GYR = ["Gyr_X", "Gyr_Y", "Gyr_Z"]
DQ = ["dq_W", "dq_X", "dq_Y", "dq_Z"]
DV = ["dv[1]", "dv[2]", "dv[3]"]
HEADER_SEARCH = 40  # lines


def _header_line(lines: list[str]) -> int | None:
    for i, ln in enumerate(lines[:HEADER_SEARCH]):
        s = ln.strip().strip('"')
        if s.startswith("PacketCounter") and "SampleTimeFine" in s:
            return i
    return None


def looks_like(head: str) -> bool:
    """True when the first lines of a text hold a DOT (or MT Manager) header."""
    return _header_line(head.splitlines()) is not None


def _device_name(path: Path, preamble: list[str]) -> str:
    for ln in preamble:
        key, sep, value = ln.strip().lstrip("/").partition(":")
        if sep and key.strip().lower() in ("devicetag", "device tag", "address", "deviceid"):
            v = value.strip().strip(",").strip()
            if v:
                return v
    mac = re.search(r"([0-9A-Fa-f]{2}[-:_]){5}[0-9A-Fa-f]{2}", path.name)
    return mac.group(0) if mac else path.stem


def _unwrap_us(path: Path, ticks: np.ndarray, line_numbers: np.ndarray) -> np.ndarray:
    """Seconds from the first sample, from wrapping microsecond ticks."""
    d = np.diff(ticks)
    d[d < -WRAP / 2] += WRAP  # the 32-bit counter wrapped
    if np.any(d <= 0):
        i = int(np.flatnonzero(d <= 0)[0]) + 1
        raise InputError(path, "SampleTimeFine increasing", f"{ticks[i]:.0f} after {ticks[i - 1]:.0f}",
                         line=int(line_numbers[i]))
    return np.concatenate([[0.0], np.cumsum(d)]) * 1e-6


def read_device(path: str | Path) -> DeviceRecording:
    """One DOT sensor's export in SI units on its own clock (module docstring)."""
    path = Path(path)
    text = check_text_file(path)
    lines = text.splitlines()
    h = _header_line(lines)
    if h is None:
        raise InputError(path, "a Movella DOT export with a 'PacketCounter,SampleTimeFine,...' header",
                         "none in the first 40 lines")
    names, delim = split_header(lines[h])
    mt_manager = any(ln.startswith("//") for ln in lines[:h])
    if all(c in names for c in ACC + GYR):
        wanted, delta = ACC + GYR, False
    elif all(c in names for c in DQ + DV):
        wanted, delta = DQ + DV, True
    else:
        found = ", ".join(n for n in names if n not in ("PacketCounter", "SampleTimeFine"))[:80]
        raise InputError(path, "Acc_X..Z and Gyr_X..Z (the rate quantities output) or dq/dv (delta "
                         "quantities): Euler angles and free acceleration lack gravity",
                         f"columns {found}", line=h + 1)
    table = parse_columns(str(path), text, header_line=h, names=names,
                          wanted=["SampleTimeFine", *wanted], delimiter=delim)
    t = _unwrap_us(path, table.columns["SampleTimeFine"], table.line_numbers)
    if t.size < 3:
        raise InputError(path, "at least 3 samples", f"{t.size}")
    if delta:
        acc, gyr = _rates_from_deltas(t, table.block(DQ, slice(None)), table.block(DV, slice(None)))
    else:
        acc = table.block(ACC, slice(None))
        gyr = table.block(GYR, slice(None))
        gyr = gyr if mt_manager else np.deg2rad(gyr)  # DOT: deg/s; MT Manager: rad/s
    return DeviceRecording(t, acc, gyr, None, str(path), "movella-dot", _device_name(path, lines[:h]),
                           list(table.warnings))


def _rates_from_deltas(t: np.ndarray, dq: np.ndarray, dv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Specific force (m/s^2) and angular rate (rad/s) from each interval's velocity change
    and rotation (the first interval's length taken as the median)."""
    dt = np.diff(t, prepend=t[0] - float(np.median(np.diff(t))))[:, None]
    w = np.clip(dq[:, :1], -1.0, 1.0)
    v = dq[:, 1:]
    s = np.linalg.norm(v, axis=1, keepdims=True)
    angle = 2.0 * np.arctan2(s, w)  # rotation angle over the interval
    axis = np.divide(v, s, out=np.zeros_like(v), where=s > 0)
    return dv / dt, axis * angle / dt
