"""Seeds for the fuzz targets of recordings: a small motion (a still start, one bend,
standing again) written as each format the readers know (our CSV, SpineWise, QSense, each
sensor app's export, a zip), generated here, never copied from real recordings. A
multi-file input is one byte string: parts split at ``PART``, each a name line then the
file's bytes (``parts``, ``join``), so that mutations also drop, merge and rename files.
"""

from __future__ import annotations

import io
import json
import math
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

PART = b"\n\x1e"  # between the files of a folder or zip input
RATE_HZ = 50.0
STILL_S, BEND_S, END_S = 2.5, 2.0, 0.5  # a still start (the calibration), one bend, standing again


# -- a small motion every seed is made of -----------------------------------------------------------------
def _motion(rate: float = RATE_HZ) -> Iterator[tuple[float, list[float], list[float]]]:
    """(t s, acc m/s^2, gyr rad/s) of one sensor: still, one forward bend of 35 deg and back, still."""
    n = round((STILL_S + BEND_S + END_S) * rate)
    for i in range(n):
        t = i / rate
        u = min(max((t - STILL_S) / BEND_S, 0.0), 1.0)
        a = math.radians(35.0) * math.sin(math.pi * u) ** 2
        da = math.radians(35.0) * math.pi / BEND_S * math.sin(2 * math.pi * u) if 0 < u < 1 else 0.0
        yield t, [9.81 * math.sin(a), 9.81 * math.cos(a), 0.05], [0.001, 0.002, da]


def parts(data: bytes) -> list[tuple[str, bytes]]:
    """The files of a multi-file input: (safe relative name, bytes), at most two levels deep."""
    out = []
    for chunk in data.split(PART):
        name_b, _, body = chunk.partition(b"\n")
        name = re.sub(r"[^\w .\-/]", "_", name_b.decode("utf-8", "replace"))[:80]
        bits = [p for p in name.split("/") if p not in ("", ".", "..")][:2]
        if bits:
            out.append(("/".join(bits), body))
    return out


def join_files(files: dict[str, str | bytes]) -> bytes:
    """The input holding ``files`` (name: content), as ``parts`` splits it."""
    return PART.join(n.encode() + b"\n" + (b if isinstance(b, bytes) else b.encode()) for n, b in files.items())


# -- seeds: recordings ------------------------------------------------------------------------------------
def seed_csv() -> bytes:
    """A hingecoach CSV: 4 s of the simulator (a still start, one hinge) at 25 Hz."""
    from hingecoach.sources.imu_csv import write_imu_csv
    from hingecoach.sources.simulator import SimSettings, simulate

    rec, _, _ = simulate(SimSettings(pattern="good", reps=1, seed=1, sample_rate_hz=25, calibration_s=2.5))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.csv"
        write_imu_csv(path, rec.slice_time(0.0, 6.0))
        return path.read_bytes()


def seed_spinewise() -> bytes:
    """A few SpineWise-format rows: its header and values in its units (g, deg/s, ms)."""
    cols = ["ts_r", "acc_x_r", "acc_y_r", "acc_z_r", "gyr_x_r", "gyr_y_r", "gyr_z_r",
            "ts_n", "acc_x_n", "acc_y_n", "acc_z_n", "gyr_x_n", "gyr_y_n", "gyr_z_n", "label"]
    out = io.StringIO()
    out.write(",".join(cols) + "\n")
    for i in range(120):
        ts = 1000 + 40 * i
        lab = "kalibratie" if i < 80 else "buiging"
        out.write(f"{ts},0.99,-0.08,-0.28,0.3,-0.4,-0.3,{ts + 5},1.0,-0.01,-0.07,0.1,0.2,-0.1,{lab}\n")
    return out.getvalue().encode()


def seed_qsense() -> bytes:
    """A QSense folder: Sensor 2.csv and Sensor 3.csv (six header lines, tab-separated g and
    deg/s) and info.txt (Start/Stop: 5 s for 250 rows, 50 Hz)."""
    head = "Sensor string: QS{k}\nFirmware: 1.2\nRange: 8g\nRate: 50\n\nax\tay\taz\tgx\tgy\tgz\tmx\tmy\tmz\tReference\n"
    files: dict[str, str | bytes] = {}
    for k in (2, 3):
        rows = [head.format(k=k)]
        for _, a, g in _motion():
            rows.append("\t".join(f"{v:.5f}" for v in (*(x / 9.80665 for x in a), *(math.degrees(x) for x in g),
                                                       0.1, 0.2, 0.3)) + "\t0\n")
        files[f"Sensor {k}.csv"] = "".join(rows)
    files["info.txt"] = "Subject: pp00\nStart: 2023-01-01 10:00:00\nStop: 2023-01-01 10:00:05\n"
    return join_files(files)


def seed_movella() -> bytes:
    """A Movella DOT export: metadata lines, then rate quantities (m/s^2, deg/s)."""
    lines = ["DeviceTag: 1", "FirmwareVersion: 2.4.0", "OutputRate: 60Hz",
             "PacketCounter,SampleTimeFine,Acc_X,Acc_Y,Acc_Z,Gyr_X,Gyr_Y,Gyr_Z"]
    for i, (t, a, g) in enumerate(_motion()):
        us = (2 ** 32 - 1_000_000 + round(t * 1e6)) % 2 ** 32
        lines.append(f"{1000 + i},{us}," + ",".join(f"{v:.5f}" for v in (*a, *(math.degrees(x) for x in g))))
    return ("\n".join(lines) + "\n").encode()


def seed_movesense_csv() -> bytes:
    """A Movesense CSV: Timestamp (ms), AccX..Z (m/s^2), GyroX..Z (deg/s)."""
    lines = ["Timestamp,AccX,AccY,AccZ,GyroX,GyroY,GyroZ"]
    for t, a, g in _motion():
        lines.append(f"{123456 + t * 1000:.1f}," + ",".join(f"{v:.5f}" for v in (*a, *(math.degrees(x) for x in g))))
    return ("\n".join(lines) + "\n").encode()


def seed_movesense_json() -> bytes:
    """Movesense IMU6 notifications: 4 samples a packet, the packet's Timestamp (ms)."""
    rows = list(_motion())
    packets = []
    for k in range(0, len(rows), 4):
        chunk = rows[k:k + 4]
        packets.append({"Body": {"Timestamp": 123456 + round(chunk[0][0] * 1000),
                                 "ArrayAcc": [dict(zip("xyz", (round(v, 4) for v in a), strict=True))
                                              for _, a, _ in chunk],
                                 "ArrayGyro": [dict(zip("xyz", (round(math.degrees(v), 3) for v in g), strict=True))
                                               for _, _, g in chunk]},
                        "Uri": "174630000192/Meas/IMU6/104", "Method": "PUT"})
    return json.dumps({"Data": packets}).encode()


def seed_metamotion() -> bytes:
    """A folder of one MetaMotion device's two MetaBase files (g and deg/s)."""
    files: dict[str, str | bytes] = {}
    for kind, unit in (("Accelerometer", "g"), ("Gyroscope", "deg/s")):
        lines = [f"epoc (ms),timestamp (+0100),elapsed (s),x-axis ({unit}),y-axis ({unit}),z-axis ({unit})"]
        for t, a, g in _motion():
            v = [x / 9.80665 for x in a] if kind == "Accelerometer" else [math.degrees(x) for x in g]
            ms = 1_700_000_000_000 + round(t * 1000) + (3 if kind == "Gyroscope" else 0)
            lines.append(f"{ms},2023-11-14T23.13.20.{ms % 1000:03d},{t:.3f},{v[0]:.4f},{v[1]:.4f},{v[2]:.4f}")
        files[f"MetaWear_2023_C4C2E5B7E32A_{kind}_50Hz.csv"] = "\n".join(lines) + "\n"
    return join_files(files)


def seed_phyphox() -> bytes:
    """A phyphox export (its zip's members): Accelerometer.csv, Gyroscope.csv, meta/."""
    def table(names: list[str], pick: int) -> str:
        out = [",".join(f'"{n}"' for n in names)]
        for t, a, g in _motion():
            v = a if pick == 0 else g
            out.append(",".join(f"{x:.9E}" for x in (t + 0.004 * pick, *v, math.hypot(*v))))
        return "\n".join(out) + "\n"
    return join_files({
        "Accelerometer.csv": table(["Time (s)", *[f"Acceleration {a} (m/s^2)" for a in "xyz"],
                                    "Absolute acceleration (m/s^2)"], 0),
        "Gyroscope.csv": table(["Time (s)", *[f"Gyroscope {a} (rad/s)" for a in "xyz"], "Absolute (rad/s)"], 1),
        "meta/device.csv": '"property","value"\n"deviceModel","Pixel 7"\n'})


def seed_sensorlogger() -> bytes:
    """A Sensor Logger export (its zip's members, Android): TotalAcceleration, Gyroscope, Metadata."""
    def table(pick: int) -> str:
        out = ["time,seconds_elapsed,z,y,x"]
        for t, a, g in _motion():
            v = a if pick == 0 else g
            out.append(f"{1_700_000_000_000_000_000 + round(t * 1e9)},{t:.6f},{v[2]:.6f},{v[1]:.6f},{v[0]:.6f}")
        return "\n".join(out) + "\n"
    return join_files({"TotalAcceleration.csv": table(0), "Gyroscope.csv": table(1),
                  "Metadata.csv": "version,device name,platform,standardisation\n3,phone,android,false\n"})


def seed_zip() -> bytes:
    """The bytes of a Sensor Logger zip (a zip's own structure, mutated)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, body in parts(seed_sensorlogger()):
            z.writestr(n, body)
    return buf.getvalue()


# file name (or folder/zip name), seed, several files
DEVICE_SEEDS: dict[str, tuple[str, Callable[[], bytes], bool]] = {
    "movella": ("dot.csv", seed_movella, False),
    "movesense": ("movesense.csv", seed_movesense_csv, False),
    "metamotion": ("metabase", seed_metamotion, True),
    "phyphox": ("phyphox.zip", seed_phyphox, True),
    "sensorlogger": ("sensorlogger.zip", seed_sensorlogger, True),
}
