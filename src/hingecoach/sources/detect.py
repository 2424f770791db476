"""Open any supported recording: the format is detected from the content."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hingecoach.core.conventions import normalise_placement
from hingecoach.core.errors import InputError, ParameterError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.sources import metamotion, movella, movesense, phyphox, qsense, sensorlogger, spinewise
from hingecoach.sources.devices import DeviceRecording, is_zip, join_devices, listing
from hingecoach.sources.imu_csv import read_imu_csv
from hingecoach.sources.video import VIDEO_SUFFIXES

# one sensor per export (file, zip or folder), each on its own clock: two make a recording
DEVICE_READERS = {"movella": movella.read_device, "movesense": movesense.read_device,
                  "metamotion": metamotion.read_device, "phyphox": phyphox.read_device,
                  "sensorlogger": sensorlogger.read_device}
FORMATS = ("auto", "hingecoach", "spinewise", "qsense", *DEVICE_READERS)


def detect_format(path: Path) -> str:
    """The format of ``path`` from its content: "hingecoach", "spinewise", "qsense" or "video"."""
    if not path.exists():
        raise InputError(path, "an existing file or folder", "no such file or folder")
    if path.is_dir() or is_zip(path):
        return _detect_export(path)
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
    for name, test in (("movella", lambda: movella.looks_like(text)),
                       ("metamotion", lambda: metamotion.looks_like(first)),
                       ("phyphox", lambda: phyphox.looks_like(first)),
                       ("movesense", lambda: movesense.looks_like(text))):
        if test():
            return name
    raise InputError(path, "a hingecoach CSV (header starting with time_s), a SpineWise CSV, "
                     "a QSense folder, a sensor app's export (Movella DOT, Movesense, MetaMotion, "
                     "phyphox, Sensor Logger) or a video (mp4, mov, avi, webm, mkv)",
                     f"first line {first[:60]!r}")


def _detect_export(path: Path) -> str:
    """The format of a folder or a zip: QSense, Sensor Logger, phyphox or MetaMotion."""
    if path.is_dir() and qsense.folder_of(path):
        return "qsense"
    names = list(listing(path))
    if sensorlogger.looks_like_listing(names):
        return "sensorlogger"
    if any(n.replace("\\", "/").startswith("meta/") for n in names) or (
            path.is_dir() and any(_first_line(path / n, phyphox.looks_like) for n in names
                                  if n.lower().endswith(".csv"))):
        return "phyphox"
    if path.is_dir() and any(_first_line(path / n, metamotion.looks_like) for n in names
                             if n.lower().endswith(".csv")):
        return "metamotion"
    raise InputError(path, "a QSense folder ('Sensor N.csv'), a Sensor Logger or phyphox export, or "
                     "a folder of one MetaMotion device's CSV files", "none of them")


def _first_line(p: Path, test: Callable[[str], bool]) -> bool:
    try:
        with p.open("r", encoding="utf-8-sig", errors="replace") as f:
            return test(f.readline())
    except OSError:
        return False


def read_device(path: str | Path, *, fmt: str = "auto") -> DeviceRecording:
    """One sensor's export (Movella DOT, Movesense, MetaMotion, phyphox, Sensor Logger) in SI
    units on its own clock."""
    path = Path(path)
    kind = detect_format(path) if fmt == "auto" else fmt
    if kind not in DEVICE_READERS:
        raise InputError(path, "one sensor's export (Movella DOT, Movesense, MetaMotion, phyphox, "
                         "Sensor Logger) for --lower/--upper", f"a {kind} recording")
    return DEVICE_READERS[kind](path)


def read_pair(lower: str | Path, upper: str | Path, *, fmt: str = "auto",
              placement: str | None = None) -> TimeSeries:
    """Two sensors' exports (the sacrum's and the upper back's) as one recording on the lower
    sensor's clock, the clocks aligned (``clock_align``)."""
    lo = read_device(lower, fmt=fmt)
    up = read_device(upper, fmt=fmt)
    placement = normalise_placement(placement) if placement else None
    return join_devices(lo, up, placement=placement, source=str(lower))


def read_recording(path: str | Path | None, *, fmt: str = "auto", placement: str | None = None,
                   lower: str | Path | None = None, upper: str | Path | None = None) -> TimeSeries:
    """Read an IMU recording in any supported format, in SI units: one file (or folder) with
    both sensors, or ``lower`` and ``upper``, one sensor's export each."""
    if fmt not in FORMATS:
        raise ParameterError("format", f"one of {', '.join(FORMATS)}", fmt)
    if lower is not None or upper is not None:
        if lower is None or upper is None or path is not None:
            raise ParameterError("--lower/--upper", "both, and no recording file besides them",
                                 f"lower={lower}, upper={upper}, file={path}")
        return read_pair(lower, upper, fmt=fmt, placement=placement)
    if path is None:
        raise ParameterError("file", "a recording, or --lower FILE --upper FILE", None)
    path = Path(path)
    placement = normalise_placement(placement) if placement else None
    kind = detect_format(path) if fmt == "auto" else fmt
    if kind in DEVICE_READERS:
        raise InputError(path, "a recording of both sensors, or one export per sensor given as "
                         "--lower FILE --upper FILE", f"one sensor's {kind} export")
    if kind == "video":
        raise InputError(path, "an IMU recording (camera analysis is not available in this "
                         "version)", "a video file")
    if kind == "spinewise":
        return spinewise.read_spinewise(path, placement=placement)
    if kind == "qsense":
        return qsense.read_qsense(path, placement=placement)
    return read_imu_csv(path, placement=placement)
