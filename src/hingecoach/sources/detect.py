"""Open any supported recording: the format is detected from the content."""

from __future__ import annotations

from pathlib import Path

from hingecoach.core.conventions import normalise_placement
from hingecoach.core.errors import InputError, ParameterError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.sources import qsense, spinewise
from hingecoach.sources.imu_csv import read_imu_csv

FORMATS = ("auto", "hingecoach", "spinewise", "qsense")
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".webm", ".mkv")


def detect_format(path: Path) -> str:
    """The format of ``path`` from its content: "hingecoach", "spinewise", "qsense" or "video"."""
    if not path.exists():
        raise InputError(path, "an existing file or folder", "no such file or folder")
    if path.is_dir():
        if qsense.folder_of(path):
            return "qsense"
        raise InputError(path, "a recording file, or a QSense folder with 'Sensor N.csv' files",
                         "a folder without them")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return "video"
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as e:
        raise InputError(path, "a readable file", e.strerror or str(e)) from None
    if not head.strip():
        raise InputError(path, "a recording with a header and data rows", "an empty file")
    if b"\x00" in head:
        raise InputError(path, "a text recording (CSV)", "binary data")
    text = head.decode("utf-8", errors="replace")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    if spinewise.looks_like(first):
        return "spinewise"
    if qsense.looks_like(first):
        return "qsense"
    if first.split(",")[0].strip() == "time_s":
        return "hingecoach"
    raise InputError(path, "a hingecoach CSV (header starting with time_s), a SpineWise CSV, "
                     "a QSense folder or a video (mp4, mov, avi, webm, mkv)", f"first line {first[:60]!r}")


def read_recording(path: str | Path, *, fmt: str = "auto", placement: str | None = None) -> TimeSeries:
    """Read an IMU recording in any supported format, in SI units."""
    path = Path(path)
    placement = normalise_placement(placement) if placement else None
    if fmt not in FORMATS:
        raise ParameterError("format", f"one of {', '.join(FORMATS)}", fmt)
    kind = detect_format(path) if fmt == "auto" else fmt
    if kind == "video":
        raise InputError(path, "an IMU recording (camera analysis is not available in this "
                         "version)", "a video file")
    if kind == "spinewise":
        return spinewise.read_spinewise(path, placement=placement)
    if kind == "qsense":
        return qsense.read_qsense(path, placement=placement)
    return read_imu_csv(path, placement=placement)
