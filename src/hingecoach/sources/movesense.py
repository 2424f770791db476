"""Movesense sensor logs (the Showcase app): JSON or CSV, one sensor per file.

JSON: the Movesense API's measurement packets, as the app saves subscriptions and
DataLogger logs: objects with ``Timestamp`` (ms, the sensor's clock, of the packet's
first sample) and arrays of samples ``ArrayAcc`` (m/s^2), ``ArrayGyro`` (deg/s),
``ArrayMagn`` (uT), each sample ``{"x": .., "y": .., "z": ..}``, wherever they sit in
the document (``{"Body": {...}}`` notifications, ``{"Meas": {"IMU6": [...]}}`` logs,
a list of them). The samples of a packet are spread evenly up to the next packet.

CSV: a header with a timestamp column (ms) and the x, y, z columns of the accelerometer
and the gyroscope named as in the API (``Timestamp,AccX,AccY,AccZ,GyroX,GyroY,GyroZ``
and spellings such as ``acc_x`` or ``ArrayAcc.x``), in the API's units.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from hingecoach.core.errors import InputError
from hingecoach.sources._table import check_text_file
from hingecoach.sources.devices import (
    DeviceRecording,
    Stream,
    combine,
    parse_columns,
    split_header,
    stream_from,
)

ARRAYS = {"ArrayAcc": ("acc", 1.0), "ArrayGyro": ("gyr", np.pi / 180.0), "ArrayMagn": ("mag", 1.0)}
_CSV_NAMES = {"acc": ("acc", "arrayacc", "accelerometer", "linearacc"), "gyr": ("gyro", "gyr", "arraygyro"),
              "mag": ("magn", "mag", "arraymagn")}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower().split("(")[0])


def _csv_columns(names: list[str]) -> tuple[str, dict[str, list[str]]] | None:
    """The timestamp column and each stream's x, y, z columns, or None."""
    normed = {_norm(n): n for n in names}
    stamp = next((n for k, n in normed.items() if k in ("timestamp", "timestampms", "time")), None)
    if stamp is None:
        return None
    found = {}
    for kind, prefixes in _CSV_NAMES.items():
        for p in prefixes:
            cols = [normed.get(f"{p}{a}") for a in "xyz"]
            if all(cols):
                found[kind] = [c for c in cols if c]
                break
    return (stamp, found) if "acc" in found and "gyr" in found else None


def looks_like(head: str) -> bool:
    """True for the start of a Movesense JSON log or a CSV with its column names."""
    s = head.lstrip("\ufeff").lstrip()
    if s.startswith(("{", "[")):
        return "ArrayAcc" in head or "ArrayGyro" in head
    first = s.splitlines()[0] if s else ""
    return _csv_columns(split_header(first)[0]) is not None


def _packets(doc: Any, out: dict[str, list[tuple[float, list[Any]]]]) -> None:
    if isinstance(doc, dict):
        ts = doc.get("Timestamp")
        for key, (kind, _) in ARRAYS.items():
            if key in doc and isinstance(ts, (int, float)) and isinstance(doc[key], list):
                out.setdefault(kind, []).append((float(ts), doc[key]))
        for v in doc.values():
            if isinstance(v, (dict, list)):
                _packets(v, out)
    elif isinstance(doc, list):
        for v in doc:
            _packets(v, out)


def _json_stream(path: Path, kind: str, packets: list[tuple[float, list[Any]]]) -> Stream:
    packets.sort(key=lambda p: p[0])
    stamps = np.array([p[0] for p in packets])
    counts = np.array([len(p[1]) for p in packets])
    if stamps.size < 2 or np.any(np.diff(stamps) <= 0):
        raise InputError(path, f"{kind} packets with increasing Timestamp", "repeated or too few")
    # the period: packet spacing over samples per packet (the median: robust to a lost packet)
    period = float(np.median(np.diff(stamps) / counts[:-1])) / 1000.0
    try:
        xyz = np.array([[float(s["x"]), float(s["y"]), float(s["z"])] for p in packets for s in p[1]])
    except (KeyError, TypeError, ValueError):
        raise InputError(path, f"{kind} samples as {{'x': .., 'y': .., 'z': ..}} numbers",
                         "another shape") from None
    t = np.concatenate([(st - stamps[0]) / 1000.0 + period * np.arange(n)
                        for st, n in zip(stamps, counts, strict=True)])
    scale = next(sc for k, sc in ARRAYS.values() if k == kind)
    return Stream(t, xyz * scale, str(path))


def _read_json(path: Path, text: str) -> dict[str, Stream]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(path, "valid JSON", f"{e.msg}", line=e.lineno) from None
    found: dict[str, list[tuple[float, list[Any]]]] = {}
    _packets(doc, found)
    return {k: _json_stream(path, k, v) for k, v in found.items()}


def _read_csv(path: Path, text: str) -> dict[str, Stream]:
    lines = text.splitlines()
    names, delim = split_header(lines[0])
    cols = _csv_columns(names)
    if cols is None:
        raise InputError(path, "a Movesense CSV header (Timestamp, AccX..Z, GyroX..Z)", repr(lines[0][:60]),
                         line=1)
    stamp, found = cols
    wanted = [stamp, *[c for v in found.values() for c in v]]
    table = parse_columns(str(path), text, header_line=0, names=names, wanted=wanted, delimiter=delim)
    t = (table.columns[stamp] - table.columns[stamp][0]) / 1000.0
    scale = {"acc": 1.0, "gyr": np.pi / 180.0, "mag": 1.0}
    return {k: stream_from(str(path), table, t, v, scale[k]) for k, v in found.items()}


def read_device(path: str | Path) -> DeviceRecording:
    """One Movesense sensor's log (JSON or CSV) in SI units on its own clock."""
    path = Path(path)
    text = check_text_file(path, what="a Movesense log (JSON or CSV)")
    is_json = text.lstrip().startswith(("{", "["))
    streams = _read_json(path, text) if is_json else _read_csv(path, text)
    for kind, what in (("acc", "ArrayAcc"), ("gyr", "ArrayGyro")):
        if kind not in streams:
            raise InputError(path, f"accelerometer and gyroscope samples ({what})", "none")
    serial = re.search(r"\d{9,}", path.stem)
    return combine(streams["acc"], streams["gyr"], streams.get("mag"), source=str(path), fmt="movesense",
                   device=serial.group(0) if serial else path.stem)
