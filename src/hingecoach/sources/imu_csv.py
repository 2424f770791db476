"""The project's own IMU CSV schema.

One header line, then one row per sample, comma-separated::

    time_s, lower_acc_x, lower_acc_y, lower_acc_z, lower_gyr_x, lower_gyr_y, lower_gyr_z,
            upper_acc_x, upper_acc_y, upper_acc_z, upper_gyr_x, upper_gyr_y, upper_gyr_z
            [, lower_mag_x, lower_mag_y, lower_mag_z, upper_mag_x, upper_mag_y, upper_mag_z]

- ``time_s`` seconds, strictly increasing (gaps allowed).
- accelerometer m/s^2 (specific force: +9.81 along "up" at rest), gyroscope rad/s,
  magnetometer microtesla. Each sensor in its own frame; any mounting orientation.
- "lower" is the sensor on the sacrum, "upper" the one around L1/T12.
- Lines starting with ``#`` are comments; ``# placement: T8`` records where the upper
  sensor was (L1, T12, T8 or neck; default T12). Columns may come in any order; other
  columns are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hingecoach.core.conventions import STANDARD_GRAVITY, normalise_placement
from hingecoach.core.errors import HingecoachError, InputError
from hingecoach.core.timeseries import ChannelInfo, TimeSeries
from hingecoach.sources._table import clean_time, gap_warnings, read_numeric, read_text_bytes

SIDES = ("lower", "upper")
IMU_COLUMNS = ["time_s"] + [f"{s}_{k}_{a}" for s in SIDES for k in ("acc", "gyr") for a in "xyz"]
MAG_COLUMNS = [f"{s}_mag_{a}" for s in SIDES for a in "xyz"]
# beyond any body-worn sensor's range (high-g accelerometers reach 400 g, gyroscopes 4000 deg/s):
# a value past these is a broken file, and would overflow the fusion's float32 arithmetic
PLAUSIBLE = {"acc": (2000.0, "m/s^2"), "gyr": (200.0, "rad/s"), "mag": (1e4, "uT")}


def imu_info(source: str) -> dict[str, ChannelInfo]:
    """Unit and frame of every IMU channel (``lower_acc`` ... ``upper_mag``), from ``source``."""
    units = {"acc": "m/s^2", "gyr": "rad/s", "mag": "uT"}
    return {f"{s}_{k}": ChannelInfo(units[k], f"sensor:{s}", source)
            for s in SIDES for k in ("acc", "gyr", "mag")}


def make_recording(time_s: np.ndarray, channels: dict[str, np.ndarray], *, source: str,
                   fmt: str, placement: str, warnings: list[str], **meta: object) -> TimeSeries:
    """Assemble and sanity-check an IMU recording (SI units) from any reader."""
    name = Path(source).name
    info = {k: v for k, v in imu_info(source).items() if k in channels}
    for ch, v in channels.items():
        limit, unit = PLAUSIBLE[ch.rsplit("_", 1)[-1]]
        over = (np.abs(v) > limit).any(axis=1)  # NaN (a missing value) is not over
        if over.any():
            i = int(np.argmax(over))
            raise InputError(source, f"values within +-{limit:g} {unit} (a body-worn sensor's range)",
                             f"{np.abs(v[i]).max():.3g} at {time_s[i]:.3f} s", column=ch)
    for side in SIDES:
        acc = channels[f"{side}_acc"]
        med = float(np.median(np.sqrt(np.einsum("ij,ij->i", acc, acc))))  # |acc| per sample
        if not 0.5 * STANDARD_GRAVITY < med < 2.0 * STANDARD_GRAVITY:
            hint = " (is it in g?)" if 0.5 < med < 2.0 else ""
            raise InputError(source, "accelerometer in m/s^2 with a median magnitude near 9.81",
                             f"{med:.3g}{hint}", column=f"{side}_acc")
    warnings = [*warnings, *gap_warnings(name, time_s)]
    return TimeSeries(time_s, channels, info=info,
                      meta={"format": fmt, "source": str(source), "placement": placement,
                            "warnings": warnings, **meta})


def _lines(data: bytes, head_bytes: int = 65536) -> Iterator[str]:
    """``data.decode().splitlines()``, lazily: the header search stops after a few lines,
    and decoding and splitting a 45 MB file only to read its first few lines costs 0.1 s.
    The first ``head_bytes`` are cut at a line feed, so the numbering is the same."""
    cut = data.rfind(b"\n", 0, head_bytes) if len(data) > head_bytes else -1
    if cut < 0:
        yield from data.decode("utf-8").splitlines()
        return
    yield from data[:cut + 1].decode("utf-8").splitlines()
    yield from data[cut + 1:].decode("utf-8").splitlines()


def _header(path: Path, data: bytes) -> tuple[int, list[str], dict[str, str]]:
    comments: dict[str, str] = {}
    for i, line in enumerate(_lines(data)):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            key, sep, value = s.lstrip("#").partition(":")
            if sep:
                comments[key.strip().lower()] = value.strip()
            continue
        return i, [c.strip() for c in s.split(",")], comments
    raise InputError(path, "a header line starting with time_s", "only comments")


def read_imu_csv(path: str | Path, *, placement: str | None = None) -> TimeSeries:
    """Read a recording in the hingecoach CSV schema (see the module docstring)."""
    path = Path(path)
    data = read_text_bytes(path)
    hline, names, comments = _header(path, data)
    missing = [c for c in IMU_COLUMNS if c not in names]
    if missing:
        raise InputError(path, f"columns {', '.join(IMU_COLUMNS)}",
                         f"no column {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}",
                         line=hline + 1)
    has_mag = all(c in names for c in MAG_COLUMNS)
    wanted = IMU_COLUMNS + (MAG_COLUMNS if has_mag else [])
    table = read_numeric(path, data, header_line=hline, names=names, wanted=wanted,
                         delimiter=",", first_data_line=hline + 1)
    t = table.columns["time_s"]
    keep, tw = clean_time(path, table, t)
    sel = slice(None) if keep.all() else keep  # (indexing with an all-true mask copies)
    channels = {}
    for side in SIDES:
        for kind in ("acc", "gyr") + (("mag",) if has_mag else ()):
            channels[f"{side}_{kind}"] = table.block([f"{side}_{kind}_{a}" for a in "xyz"], sel)
    if keep.sum() < 2:
        raise InputError(path, "at least 2 data rows", f"{int(keep.sum())}")
    try:
        place = normalise_placement(placement or comments.get("placement", "T12"))
    except HingecoachError as e:
        raise InputError(path, "placement L1, T12, T8 or neck", comments.get("placement", "")) from e
    return make_recording(np.ascontiguousarray(t[sel]), channels, source=str(path), fmt="hingecoach-csv",
                          placement=place, warnings=table.warnings + tw)


def write_imu_csv(path: str | Path, rec: TimeSeries) -> None:
    """Write a recording in the hingecoach CSV schema."""
    path = Path(path)
    cols = [rec.time_s]
    names = ["time_s"]
    kinds = ["acc", "gyr"] + (["mag"] if "lower_mag" in rec and "upper_mag" in rec else [])
    for side in SIDES:
        for kind in kinds:
            cols.extend(rec[f"{side}_{kind}"].T)
            names.extend(f"{side}_{kind}_{a}" for a in "xyz")
    # keep the documented column order: all acc/gyr first, magnetometers last
    order = [names.index(c) for c in IMU_COLUMNS] + [
        names.index(c) for c in MAG_COLUMNS if c in names]
    arr = np.column_stack([cols[i] for i in order])
    header = f"# placement: {rec.meta.get('placement', 'T12')}\n" + ",".join(names[i] for i in order)
    np.savetxt(path, arr, delimiter=",", fmt="%.6f", header=header, comments="")
