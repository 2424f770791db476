"""Fuzz targets for what reaches the program outside the web app: recordings (our CSV,
SpineWise, QSense folders, each sensor app's export, zips), BVH clips, --script files,
batch manifests, export bundles, live data (UDP datagrams, serial lines, BLE
notifications, a phyphox phone's replies), --source specs and command-line arguments.

A recording that is read is also analysed, as ``hingecoach analyze`` would: a file that
reads but breaks the analysis is a finding too. Inputs of several files (a QSense
folder, an export) are one byte string (``fuzz_seeds.parts``). Every seed is generated
here or in ``fuzz_seeds`` (small, so that a case costs milliseconds).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hingecoach.sources.live import BadInput, LineAssembler, LineParser, decode_datagram, encode_datagram
from hingecoach.testing.fuzz import Malformed, Rejected, Target, one_line
from hingecoach.testing.fuzz_seeds import (
    DEVICE_SEEDS,
    PART,
    join_files,
    parts,
    seed_csv,
    seed_movella,
    seed_movesense_json,
    seed_qsense,
    seed_spinewise,
    seed_zip,
)


def _analyse(rec: Any) -> None:
    from hingecoach.analysis import analyze_recording

    analyze_recording(rec)


# -- files and folders ------------------------------------------------------------------------------------
def in_file(name: str, reader: Callable[[Path], Any]) -> Callable[[bytes], None]:
    """A target writing the bytes to ``name`` in a fresh folder and reading it."""
    def target(data: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="hc-fuzz-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            reader(path)
    return target


def _materialise(path: Path, data: bytes, as_zip: bool) -> None:
    """Write a multi-file input as the folder or zip ``path``."""
    files = parts(data)
    if as_zip:
        with zipfile.ZipFile(path, "w") as z:
            for n, body in files:
                z.writestr(n, body)
        return
    path.mkdir()
    for n, body in files:
        (path / n).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(IsADirectoryError, NotADirectoryError):
            (path / n).write_bytes(body)


def in_folder(name: str, reader: Callable[[Path], Any], *, as_zip: bool = False) -> Callable[[bytes], None]:
    """A target writing the input's files into the folder (or zip) ``name`` and reading it."""
    def target(data: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="hc-fuzz-") as tmp:
            path = Path(tmp) / name
            _materialise(path, data, as_zip)
            reader(path)
    return target


def read_and_analyse(fmt: str) -> Callable[[Path], None]:
    """``hingecoach analyze --format fmt``: read the recording, then analyse it."""
    def reader(path: Path) -> None:
        from hingecoach.sources.detect import read_recording

        _analyse(read_recording(path, fmt=fmt))
    return reader


def read_device_export(fmt: str) -> Callable[[Path], None]:
    """One sensor's export read (``analyze --lower FILE``, first step)."""
    def reader(path: Path) -> None:
        from hingecoach.sources.detect import read_device

        read_device(path, fmt=fmt)
    return reader


def device_then_pair(fmt: str) -> Callable[[Path], None]:
    """One sensor's export read, then paired with a clean export of the same app (the
    clocks aligned) and analysed: ``analyze --lower FUZZED --upper CLEAN``."""
    def reader(path: Path) -> None:
        from hingecoach.sources.detect import read_device
        from hingecoach.sources.devices import join_devices

        lo = read_device(path, fmt=fmt)
        up = _clean_device(fmt)
        _analyse(join_devices(lo, up, placement=None, source=str(path)))
    return reader


_CLEAN: dict[str, Any] = {}


def _clean_device(fmt: str) -> Any:
    """The seed export of ``fmt``, read once (the partner of a fuzzed one)."""
    if fmt not in _CLEAN:
        from hingecoach.sources.detect import read_device

        name, seed, folder = DEVICE_SEEDS["sensorlogger" if fmt == "auto" else fmt]
        with tempfile.TemporaryDirectory(prefix="hc-fuzz-") as tmp:
            p = Path(tmp) / name
            if folder:
                _materialise(p, seed(), name.endswith(".zip"))
            else:
                p.write_bytes(seed())
            _CLEAN[fmt] = read_device(p, fmt=fmt)
    return _CLEAN[fmt]


# -- other files ------------------------------------------------------------------------------------------
def read_bvh_clip(path: Path) -> None:
    """A BVH clip parsed (``simulate --from-bvh`` starts here)."""
    from hingecoach.sources.bvh import read_bvh

    read_bvh(path)


def load_script(path: Path) -> None:
    """A ``--script`` file loaded and checked."""
    from hingecoach.coach.script import Script

    Script.load(path)


def read_manifest_file(path: Path) -> None:
    """A batch manifest read (``hingecoach batch MANIFEST``)."""
    from hingecoach.batch import read_manifest

    read_manifest(path)


def import_export(path: Path) -> None:
    """``hingecoach import FILE``: an export bundle read and imported into a new store,
    then the session read back (as ``sessions`` and ``report`` do)."""
    from hingecoach.store import open_store
    from hingecoach.store.exchange import import_bundle, read_bundle

    doc = read_bundle(path)
    with contextlib.closing(open_store(str(path.parent / "fuzz.db"))) as st:
        sid = import_bundle(st, doc, str(path))
        st.summary(sid)
        rec = st.session(sid)
        for name in rec.streams:
            st.stream(sid, name)


def seed_bvh() -> bytes:
    """A two-joint clip of four frames."""
    return b"""HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Chest3
  {
    OFFSET 0 30 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 20 0
    }
  }
}
MOTION
Frames: 4
Frame Time: 0.0166667
0 90 0 0 0 0 0 0 0
0 90 0 0 5 0 0 3 0
0 90 0 0 10 0 0 6 0
0 90 0 0 15 0 0 9 0
"""


def seed_script() -> bytes:
    """A coach script: the answers, the screen and one set."""
    return b"""person = "anna"
sensor = "imu"
pain_now = 2
max_flexion = false
max_flexion_deg = 34.0
pain_after = 2
next_morning = 1

[screen]
saddle_numbness = false
bladder_bowel = false
leg_weakness = false
recent_trauma = false
fever_weight_loss = false
cancer_history = false

[[sets]]
reps = ["ok", "lumbar_rounding", "ok"]
pain = 3
"""


def seed_manifest() -> bytes:
    """A batch manifest: paths, settings columns and typed labels."""
    return (b"path,person,placement,exercise,calibration,site:str,age:int,weight:float\n"
            b"a/rec1.csv,anna,T12,hinge,cal.csv,north,34,71.5\n"
            b"b/rec2.csv,ben,L1,deadlift,,south,51,80\n")


def seed_bundle(fmt: str = "json") -> bytes:
    """An export of one stored session without its raw recording (``export N --format
    json``; ``csv``: the export folder's files)."""
    from hingecoach.analysis import analyze_recording
    from hingecoach.sources.simulator import SimSettings, simulate
    from hingecoach.store import open_store
    from hingecoach.store.exchange import session_bundle, write_bundle

    rec, _, _ = simulate(SimSettings(pattern="rounded", reps=1, seed=2, sample_rate_hz=10, calibration_s=2.5))
    a = analyze_recording(rec)
    with tempfile.TemporaryDirectory() as tmp, contextlib.closing(open_store(f"{tmp}/s.db")) as st:
        sid = st.save_analysis(a, person="anna")
        out = Path(tmp) / ("e.json" if fmt == "json" else "e")
        files = write_bundle(session_bundle(st, sid), fmt, out)
        if fmt == "json":
            return out.read_bytes()
        return join_files({f.name: f.read_bytes() for f in files})


def seed_bundle_folder() -> bytes:
    """The files of a CSV export folder."""
    return seed_bundle("csv")


def export_markers(path: Path) -> None:
    """A camera session's export imported, then exported again as ``.trc`` and ``.c3d``
    (``hingecoach import FILE``, ``hingecoach export N --format trc|c3d``): what a C3D
    file is made from. (hingecoach writes C3D and TRC; it reads neither.)"""
    from hingecoach.cli_store import _markers_of
    from hingecoach.store import open_store
    from hingecoach.store.exchange import import_bundle, read_bundle
    from hingecoach.store.markers import write_c3d, write_trc

    doc = read_bundle(path)
    with contextlib.closing(open_store(str(path.parent / "fuzz.db"))) as st:
        sid = import_bundle(st, doc, str(path))
        m = _markers_of(st, sid)
    write_trc(path.parent / "m.trc", m)
    write_c3d(path.parent / "m.c3d", m)


def seed_camera_bundle() -> bytes:
    """The export of a simulated side-view camera session (one good rep, 10 frames/s, its
    landmarks stored), made without MediaPipe."""
    import numpy as np

    from hingecoach.analysis import analyze_camera
    from hingecoach.pose.camera import video_angles
    from hingecoach.store import open_store
    from hingecoach.store.exchange import session_bundle, write_bundle
    from hingecoach.store.files import save_file_analysis
    from hingecoach.testing.camera_sim import FramesModel, simulate_frames

    frames = list(simulate_frames(["good"], fps=10, width=120, height=160, px_per_m=75))
    result = video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames),
                          FramesModel([f for *_, f in frames]), source="sim.mp4")
    a = analyze_camera(result, None, {"video": {"width": 120, "height": 160, "nominal_fps": 10.0}})
    with tempfile.TemporaryDirectory() as tmp, contextlib.closing(open_store(f"{tmp}/s.db")) as st:
        sid = save_file_analysis(st, a, "sim.mp4", person="ben")
        out = Path(tmp) / "e.json"
        write_bundle(session_bundle(st, sid), "json", out)
        return out.read_bytes()


# -- live data --------------------------------------------------------------------------------------------
def datagram(data: bytes) -> None:
    """One UDP datagram decoded."""
    decode_datagram(data, 0.0)


def serial_lines(data: bytes) -> None:
    """Serial lines parsed; a bad line is refused (counted and skipped), the next must work."""
    p = LineParser()
    for line in data.decode("utf-8", errors="replace").split("\n"):
        _parse_counted(p, line)


def ble_notifications(data: bytes) -> None:
    """20-byte BLE notifications (the default MTU) assembled into lines and parsed."""
    asm, p = LineAssembler(), LineParser()
    for k in range(0, len(data), 20):
        for line in asm.feed(data[k:k + 20]):
            _parse_counted(p, line)


def _parse_counted(p: LineParser, line: str) -> None:
    try:
        p.parse(line, 0.0)
    except BadInput as e:  # the live loop counts it under e.kind and goes on: it must say why on one line
        if not (one_line(e) and e.kind and e.detail.strip()):
            raise Malformed(f"a line refused as {str(e)[:200]!r}") from None


def phyphox_replies(data: bytes) -> None:
    """A phone's phyphox replies (JSON, one per poll) turned into datagrams, each decoded."""
    from hingecoach.sources.phyphox_live import PhyphoxTransport

    replies = data.split(PART)
    clock = [0.0]

    def fetch(url: str, _timeout: float) -> bytes:
        if "/control" in url:
            return b'{"result": true}'
        return replies.pop(0) if replies else b""

    def sleep(s: float) -> None:
        clock[0] += s

    tr = PhyphoxTransport("http://192.0.2.1:8080", "lower", fetch=fetch, clock=lambda: clock[0], sleep=sleep)
    for _ in range(len(replies) + 1):
        clock[0] += 0.1
        for payload, _arrival in tr.receive(0.1):
            decode_datagram(payload, 0.0)


def source_spec(data: bytes) -> None:
    """A ``--source`` spec parsed (``hingecoach live --source SPEC``)."""
    from hingecoach.sources.live import parse_source

    parse_source(data.decode("utf-8", errors="replace"))


def seed_datagram() -> bytes:
    """One sample's datagram."""
    return encode_datagram("upper", 12.345, [0.1, 9.7, 0.3], [0.01, -0.02, 0.5], seq=7)


def seed_lines() -> bytes:
    """Thirty CSV rows of both sensors."""
    rows = [f"{0.01 * i:.2f},0.1,0.2,9.8,0.01,0.02,0.03,0.1,0.2,9.8,0.01,0.02,0.03" for i in range(30)]
    return ("\n".join(rows) + "\n").encode()


def seed_phyphox_replies() -> bytes:
    """Three polls of a measuring experiment, 10 samples each."""
    out = []
    for k in range(3):
        ts = [0.02 * (10 * k + i) for i in range(10)]
        bufs: dict[str, Any] = {"acc_time": {"buffer": ts}, "gyr_time": {"buffer": [t + 0.004 for t in ts]}}
        for n, v in (("accX", 0.1), ("accY", 9.8), ("accZ", 0.3), ("gyrX", 0.01), ("gyrY", 0.02), ("gyrZ", 0.5)):
            bufs[n] = {"buffer": [v] * 10}
        out.append(json.dumps({"buffer": bufs, "status": {"session": "a1", "measuring": True}}).encode())
    return PART.join(out)


def seed_sources() -> list[bytes]:
    """Each form of ``--source``."""
    return [b"udp:127.0.0.1:9000", b"udp:9000", b"serial:/dev/ttyUSB0@115200", b"ble:AA:BB:CC:DD:EE:FF",
            b"replay:rec.csv", b"webcam:0", b"phyphox:lower=http://10.0.0.2:8080,upper=http://10.0.0.3:8080",
            b"lower=udp:9001,upper=udp:9002"]


# -- the command line -------------------------------------------------------------------------------------
def cli_args(data: bytes) -> None:
    """Command-line arguments: the bytes split on NUL and whitespace, run through the real
    entry point in a throw-away folder. Exit 0, or 2 with one ``error:`` line (or click's
    usage message) and never a traceback."""
    from typer.testing import CliRunner

    from hingecoach.cli import app
    text = data.decode("utf-8", errors="replace")
    args = [a for a in text.replace("\x00", " ").split() if a][:12]
    if args and args[0] in ("serve", "train", "live", "demo"):  # long-running: not fuzzed here
        args[0] = "plan"
    # a fuzzed command may write files by relative names (simulate out.csv): keep them out of the checkout
    with tempfile.TemporaryDirectory(prefix="hc-fuzz-") as tmp, contextlib.chdir(tmp):
        res = CliRunner().invoke(app, args, env={"HINGECOACH_HOME": tmp, "HINGECOACH_DB": f"sqlite:///{tmp}/db"},
                                 catch_exceptions=True)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    if res.exit_code == 0:
        return
    err = res.stderr.strip()
    if res.exit_code == 2 and not err and "Usage:" in res.stdout:  # no command: click shows the help
        raise Rejected("no command given: the help is shown")
    if "Traceback" in err:
        raise Malformed(f"exit {res.exit_code} with a traceback: {err[-300:]}")
    if res.exit_code == 2 and (_one_error_line(err) or _usage_error(err)):
        raise Rejected(err.splitlines()[-1] if _one_error_line(err) else _usage_line(err))
    raise Malformed(f"exit {res.exit_code}: {err[:300]!r}")


def _one_error_line(err: str) -> bool:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return len(lines) == 1 and lines[0].startswith("error: ")


def _usage_error(err: str) -> bool:
    """click's usage error, as typer prints it: the error in a box (after ``Usage: ...``
    and ``Try ...`` when the command is known), nothing else."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    box = [i for i, ln in enumerate(lines) if ln.startswith("╭─ Error")]
    return bool(box) and all(ln.startswith(("Usage: ", "Try ")) for ln in lines[:box[0]]) \
        and all(ln.startswith(("│", "╰")) for ln in lines[box[0] + 1:])


def _usage_line(err: str) -> str:
    inside = [ln.strip("│ ").strip() for ln in err.splitlines() if ln.startswith("│")]
    return " ".join(inside) or err.splitlines()[0]


def seed_cli() -> list[bytes]:
    """A few commands with their usual options."""
    return [b"simulate out.csv --pattern rounded --reps 1 --rate 25 --seed 3",
            b"plan anna", b"sessions --json", b"analyze --help", b"export --help"]


def _targets() -> tuple[Target, ...]:
    rec = [Target("hingecoach CSV", in_file("rec.csv", read_and_analyse("hingecoach")), seed_csv, "rec.csv"),
           Target("any CSV (format detection)", in_file("rec.csv", read_and_analyse("auto")), seed_csv, "rec.csv"),
           Target("SpineWise CSV", in_file("movement.csv", read_and_analyse("spinewise")), seed_spinewise,
                  "movement.csv"),
           Target("QSense folder", in_folder("qsense-rec", read_and_analyse("qsense")), seed_qsense, "qsense-rec")]
    dev = [Target(f"{fmt} export", (in_folder(name, read_device_export(fmt), as_zip=name.endswith(".zip"))
                                    if folder else in_file(name, read_device_export(fmt))), seed, name)
           for fmt, (name, seed, folder) in DEVICE_SEEDS.items()]
    dev.insert(2, Target("movesense JSON export", in_file("movesense.json", read_device_export("movesense")),
                         seed_movesense_json, "movesense.json"))
    dev.append(Target("zip bytes (format detection)", in_file("export.zip", read_device_export("auto")), seed_zip,
                      "export.zip"))
    # the step after reading: the clocks of the two exports aligned, then the analysis
    dev.append(Target("device pair (clock alignment)", in_file("dot.csv", device_then_pair("movella")),
                      seed_movella, "dot.csv"))
    other = [Target("BVH", in_file("clip.bvh", read_bvh_clip), seed_bvh, "clip.bvh"),
             Target("--script TOML", in_file("script.toml", load_script), seed_script, "script.toml"),
             Target("batch manifest", in_file("manifest.csv", read_manifest_file), seed_manifest, "manifest.csv"),
             Target("export bundle (import)", in_file("export.json", import_export), seed_bundle, "export.json"),
             Target("export folder, CSV (import)", in_folder("export", import_export), seed_bundle_folder, "export"),
             Target("C3D and TRC export (camera export imported)", in_file("camera.json", export_markers),
                    seed_camera_bundle, ("camera.json", "session 1", "landmarks"))]
    live = [Target("UDP datagram", datagram, seed_datagram),
            Target("serial lines", serial_lines, seed_lines),
            Target("BLE notifications", ble_notifications, seed_lines),
            Target("phyphox replies", phyphox_replies, seed_phyphox_replies),
            Target("--source spec", source_spec, seed_sources),
            Target("CLI arguments", cli_args, seed_cli)]
    return (*rec, *dev, *other, *live)


INPUT_TARGETS = _targets()
