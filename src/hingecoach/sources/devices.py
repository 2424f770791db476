"""One sensor's recording from a device app, and two of them joined into a recording.

The phone and wearable apps (Movella DOT, Movesense, MetaMotion, phyphox, Sensor Logger)
write one device per file or folder, each on its own clock. A reader turns one device's
export into a :class:`DeviceRecording` in SI units (specific force in m/s^2, rate in
rad/s, field in uT, time in s on the device's clock); :func:`join_devices` puts a lower
and an upper device on one time base (``clock_align``) and makes the usual two-sensor
recording (``imu_csv.make_recording``).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hingecoach.core.errors import InputError
from hingecoach.core.timeseries import FloatArray, TimeSeries
from hingecoach.sources._table import Table, clean_time, read_numeric
from hingecoach.sources.clock_align import align_clocks
from hingecoach.sources.imu_csv import make_recording

ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class DeviceRecording:
    """One sensor: time (s, device clock, from about the export's start), specific force (n, 3)
    m/s^2, angular rate (n, 3) rad/s, optional field (n, 3) uT, all in the sensor's frame."""

    time_s: FloatArray
    acc: FloatArray
    gyr: FloatArray
    mag: FloatArray | None
    source: str
    fmt: str
    device: str  # the device's id (MAC, serial, tag) or the file's name
    warnings: list[str] = field(default_factory=list)

    @property
    def rate_hz(self) -> float:
        """The median sample rate (Hz)."""
        return float(1.0 / np.median(np.diff(self.time_s)))


@dataclass(frozen=True)
class Stream:
    """One sensor stream from a file: time (s) and an (n, 3) array in the file's units."""

    time_s: FloatArray
    xyz: FloatArray
    source: str
    warnings: tuple[str, ...] = ()


def read_text_member(path: Path, member: str | None = None) -> str:
    """The UTF-8 text of a file, or of ``member`` inside the zip ``path``; one-line errors."""
    try:
        if member is None:
            raw = path.read_bytes()
        else:
            with zipfile.ZipFile(path) as z:
                raw = z.read(member)
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        where = f"{path}:{member}" if member else path
        raise InputError(where, "a readable file", str(getattr(e, "strerror", None) or e)) from None
    if b"\x00" in raw[:65536]:
        raise InputError(f"{path}:{member}" if member else path, "a text (CSV) file", "binary data")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(path, "UTF-8 text", f"undecodable byte at offset {e.start}") from None


def listing(path: Path) -> dict[str, tuple[Path, str | None]]:
    """The files of a folder (recursively) or a zip: relative name -> (path, zip member)."""
    if path.is_dir():
        return {str(p.relative_to(path)): (p, None) for p in sorted(path.rglob("*")) if p.is_file()}
    try:
        with zipfile.ZipFile(path) as z:
            return {n: (path, n) for n in z.namelist() if not n.endswith("/")}
    except (OSError, zipfile.BadZipFile) as e:
        raise InputError(path, "a zip archive", str(e)) from None


def is_zip(path: Path) -> bool:
    """True when ``path`` is a file that starts like a zip archive."""
    try:
        with path.open("rb") as f:
            return f.read(4) == ZIP_MAGIC
    except OSError:
        return False


def parse_columns(source: str, text: str, *, header_line: int, names: list[str], wanted: list[str],
                  delimiter: str | None) -> Table:
    """Numeric columns ``wanted`` of a delimited text (the header at 0-based ``header_line``),
    with the bad-row promises of ``_table.read_numeric``."""
    return read_numeric(Path(source), text, header_line=header_line, names=names, wanted=wanted,
                        delimiter=delimiter, first_data_line=header_line + 1)


def stream_from(source: str, table: Table, time_s: FloatArray, cols: list[str], scale: float
                ) -> Stream:
    """A stream from parsed columns: duplicate times dropped (warned), values times ``scale``."""
    keep, notes = clean_time(Path(source), table, time_s)
    xyz = np.column_stack([table.columns[c] for c in cols])[keep] * scale
    return Stream(time_s[keep], xyz, source, tuple(table.warnings + notes))


def combine(acc: Stream, gyr: Stream, mag: Stream | None, *, source: str, fmt: str, device: str,
            extra_warnings: list[str] | None = None) -> DeviceRecording:
    """One device from streams on the same clock: gyroscope (and field) interpolated to the
    accelerometer's instants, trimmed to where all streams overlap; the streams' times kept."""
    streams = [s for s in (acc, gyr, mag) if s is not None]
    for s in streams:
        if s.time_s.size < 2:
            raise InputError(s.source, "at least 2 samples", f"{s.time_s.size}")
    t0 = max(float(s.time_s[0]) for s in streams)
    t1 = min(float(s.time_s[-1]) for s in streams)
    sel = (acc.time_s >= t0) & (acc.time_s <= t1)
    if np.count_nonzero(sel) < 2:
        raise InputError(source, "accelerometer and gyroscope samples over the same time span",
                         "streams that do not overlap")
    t = acc.time_s[sel]

    def at(s: Stream) -> FloatArray:
        if s is acc:
            return np.ascontiguousarray(s.xyz[sel])
        return np.column_stack([np.interp(t, s.time_s, s.xyz[:, j]) for j in range(3)])

    warns = [w for s in streams for w in s.warnings] + list(extra_warnings or [])
    return DeviceRecording(t, at(acc), at(gyr), at(mag) if mag is not None else None,
                           source, fmt, device, warns)


def join_devices(lower: DeviceRecording, upper: DeviceRecording, *, placement: str | None,
                 source: str) -> TimeSeries:
    """Two devices as one recording on the lower device's clock: the upper device's clock
    is aligned (offset and drift, ``clock_align``) and its samples interpolated to the
    lower device's instants; the alignment and its residual go in ``meta``."""
    al = align_clocks(lower.time_s, lower.gyr, upper.time_s, upper.gyr,
                      names=(lower.source, upper.source))
    t_up = al.to_reference(upper.time_s)
    sel = (lower.time_s >= t_up[0]) & (lower.time_s <= t_up[-1])
    if np.count_nonzero(sel) < 2:
        raise InputError(upper.source, "a recording overlapping the lower sensor's in time",
                         "none after aligning the clocks")
    t = lower.time_s[sel]

    def up(x: FloatArray) -> FloatArray:
        return np.column_stack([np.interp(t, t_up, x[:, j]) for j in range(3)])

    channels = {"lower_acc": np.ascontiguousarray(lower.acc[sel]),
                "lower_gyr": np.ascontiguousarray(lower.gyr[sel]),
                "upper_acc": up(upper.acc),
                # rates counted on the upper clock: per second of the lower clock
                "upper_gyr": up(upper.gyr) / al.scale}
    if lower.mag is not None and upper.mag is not None:
        channels["lower_mag"] = np.ascontiguousarray(lower.mag[sel])
        channels["upper_mag"] = up(upper.mag)
    warnings = [*lower.warnings, *upper.warnings, *al.warnings]
    if al.residual_s > 1.0 / lower.rate_hz:  # (NaN, unmeasured, compares False)
        warnings.append(f"{Path(upper.source).name}: the two clocks agree to {al.residual_s * 1000:.0f} ms "
                        f"only (more than one sample) after aligning them on the bends")
    fmt = lower.fmt if lower.fmt == upper.fmt else f"{lower.fmt}+{upper.fmt}"
    return make_recording(t - t[0], channels, source=source, fmt=fmt,
                          placement=placement or "T12", warnings=warnings,
                          devices={"lower": {"source": lower.source, "device": lower.device,
                                             "format": lower.fmt, "rate_hz": round(lower.rate_hz, 3)},
                                   "upper": {"source": upper.source, "device": upper.device,
                                             "format": upper.fmt, "rate_hz": round(upper.rate_hz, 3)}},
                          clock_alignment=al.to_json())


def split_header(line: str) -> tuple[list[str], str | None]:
    """Column names of a header line and its delimiter (tab, ";" or ","); quotes removed."""
    delim = "\t" if "\t" in line else ";" if line.count(";") > line.count(",") else ","
    return [c.strip().strip('"').strip() for c in line.split(delim)], delim


def decimal_comma(text: str) -> str:
    """Semicolon-separated text with decimal commas as plain decimals (phyphox's
    "semicolon, decimal comma" export)."""
    return text.replace(",", ".")

