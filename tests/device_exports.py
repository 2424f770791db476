"""Write simulated sensors as the device apps export them (the published formats), for
the reader tests: Movella DOT CSV, Movesense JSON/CSV, MetaBase CSV pairs, phyphox
exports (three separators), Sensor Logger zips (Android and iOS conventions)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from hingecoach.sources.devices import DeviceRecording
from hingecoach.sources.simulator import SimSettings, simulate

G = 9.80665
FINE_HZ = 400.0


def simulated_pair(seed: int = 3, *, reps: int = 4, pattern: str = "good", rate_lower: float = 60.0,
                   rate_upper: float = 60.0, offset_s: float = 0.8, drift_ppm: float = 50.0
                   ) -> tuple[DeviceRecording, DeviceRecording, int]:
    """Two devices on their own clocks (the upper starts ``offset_s`` later and runs
    ``drift_ppm`` slow), and the number of scripted reps."""
    sim, _, truth = simulate(SimSettings(pattern=pattern, reps=reps, seed=seed, sample_rate_hz=FINE_HZ))
    t = sim.time_s
    scale = 1.0 + drift_ppm * 1e-6

    def sample(side: str, t_true: np.ndarray, t_dev: np.ndarray) -> DeviceRecording:
        ch = {k: np.column_stack([np.interp(t_true, t, sim[f"{side}_{k}"][:, j]) for j in range(3)])
              for k in ("acc", "gyr")}
        return DeviceRecording(t_dev, ch["acc"], ch["gyr"], None, side, "sim", side)

    t_lo = np.arange(0.0, t[-1], 1.0 / rate_lower)
    t_up = np.arange(0.0, (t[-1] - 0.3 - offset_s) / scale, 1.0 / rate_upper)
    return sample("lower", t_lo, t_lo), sample("upper", offset_s + scale * t_up, t_up), len(truth)


def _f(x: float) -> str:
    return f"{x:.6f}"


def write_movella(path: Path, d: DeviceRecording, *, tag: str = "1", start_us: int = 2 ** 32 - 3_000_000,
                  delta: bool = False) -> Path:
    """A DOT app export: metadata lines, then rate quantities (Acc m/s^2, Gyr deg/s) or
    delta quantities; SampleTimeFine in us starting 3 s before the 32-bit wrap."""
    us = (start_us + np.round(d.time_s * 1e6).astype(np.int64)) % 2 ** 32
    lines = [f"DeviceTag: {tag}", "FirmwareVersion: 2.4.0", "AppVersion: 2023.6.0", "SyncStatus: Unsynced",
             "OutputRate: 60Hz", "FilterProfile: General", "Measurement Mode: Custom Mode 4"]
    if delta:
        lines.append("PacketCounter,SampleTimeFine,dq_W,dq_X,dq_Y,dq_Z,dv[1],dv[2],dv[3]")
        dt = np.diff(d.time_s, prepend=d.time_s[0] - np.median(np.diff(d.time_s)))[:, None]
        rot = d.gyr * dt
        ang = np.linalg.norm(rot, axis=1, keepdims=True)
        axis = np.divide(rot, ang, out=np.zeros_like(rot), where=ang > 0)
        dq = np.column_stack([np.cos(ang / 2), axis * np.sin(ang / 2)])
        rows = np.column_stack([dq, d.acc * dt])
        fmt = "%.9f"
    else:
        lines.append("PacketCounter,SampleTimeFine,Acc_X,Acc_Y,Acc_Z,Gyr_X,Gyr_Y,Gyr_Z")
        rows = np.column_stack([d.acc, np.rad2deg(d.gyr)])
        fmt = "%.6f"
    for i, (u, r) in enumerate(zip(us, rows, strict=True)):
        lines.append(f"{1000 + i},{u}," + ",".join(fmt % v for v in r))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_metamotion(folder: Path, d: DeviceRecording, *, mac: str = "C4:C2:E5:B7:E3:2A",
                     epoch_ms: int = 1_700_000_000_000) -> list[Path]:
    """MetaBase's two files of one device: accelerometer (g) and gyroscope (deg/s), the
    gyroscope sampled 3 ms after the accelerometer."""
    folder.mkdir(parents=True, exist_ok=True)
    m = mac.replace(":", "")
    out = []
    for kind, unit, scale, shift in (("Accelerometer", "g", 1 / G, 0.0), ("Gyroscope", "deg/s", 180 / np.pi, 0.003)):
        src = d.acc if kind == "Accelerometer" else d.gyr
        t = d.time_s[:-1] + shift
        vals = np.column_stack([np.interp(t, d.time_s, src[:, j]) for j in range(3)]) * scale
        lines = [f"epoc (ms),timestamp (+0100),elapsed (s),x-axis ({unit}),y-axis ({unit}),z-axis ({unit})"]
        for ti, v in zip(t, vals, strict=True):
            ms = epoch_ms + round(ti * 1000)
            stamp = f"2023-11-14T23.13.{20 + int(ti) % 40:02d}.{ms % 1000:03d}"
            lines.append(f"{ms},{stamp},{ti:.3f},{v[0]:.4f},{v[1]:.4f},{v[2]:.4f}")
        p = folder / f"MetaWear_2023-11-14T23.13.20.000_{m}_{kind}_100.000Hz_1.7.3.csv"
        p.write_text("\n".join(lines) + "\n")
        out.append(p)
    return out


def _java_e(x: float) -> str:
    """Scientific notation as phyphox writes it: ``9.364549000E-3``, ``1.003170490E0``."""
    mant, exp = f"{x:.9E}".split("E")
    return f"{mant}E{int(exp)}"


def _phyphox_table(t: np.ndarray, xyz: np.ndarray, names: list[str], sep: str) -> str:
    head = sep.join(f'"{n}"' for n in names)
    absval = np.linalg.norm(xyz, axis=1)
    rows = []
    for ti, v, a in zip(t, xyz, absval, strict=True):
        cells = [_java_e(x) for x in (ti, *v, a)]
        if sep == ";":
            cells = [c.replace(".", ",") for c in cells]
        rows.append(sep.join(cells))
    return head + "\n" + "\n".join(rows) + "\n"


def write_phyphox(path: Path, d: DeviceRecording, *, sep: str = ",", as_zip: bool = True,
                  with_gyro: bool = True) -> Path:
    """A phyphox export of an experiment with both sensors: Accelerometer.csv (Acceleration
    with g), Gyroscope.csv and meta/; the gyroscope sampled on its own instants."""
    files = {"Accelerometer.csv": _phyphox_table(
        d.time_s, d.acc, ["Time (s)", *[f"Acceleration {a} (m/s^2)" for a in "xyz"],
                          "Absolute acceleration (m/s^2)"], sep)}
    if with_gyro:
        tg = d.time_s[:-1] + 0.004
        g = np.column_stack([np.interp(tg, d.time_s, d.gyr[:, j]) for j in range(3)])
        files["Gyroscope.csv"] = _phyphox_table(
            tg, g, ["Time (s)", *[f"Gyroscope {a} (rad/s)" for a in "xyz"], "Absolute (rad/s)"], sep)
    files["meta/device.csv"] = '"property","value"\n"deviceModel","Pixel 7"\n"deviceBrand","google"\n'
    files["meta/time.csv"] = ('"event","experiment time","system time","system time text"\n'
                              '"START",0.000000000E0,1.700000000000E9,"2023-11-14 23:13:20.000 UTC+01:00"\n')
    if as_zip:
        with zipfile.ZipFile(path, "w") as z:
            for n, text in files.items():
                z.writestr(n, text)
    else:
        for n, text in files.items():
            (path / n).parent.mkdir(parents=True, exist_ok=True)
            (path / n).write_text(text)
    return path


def write_sensorlogger(path: Path, d: DeviceRecording, *, platform: str = "android",
                       epoch_ns: int = 1_700_000_000_000_000_000) -> Path:
    """A Sensor Logger zip: Android writes TotalAcceleration; iOS Accelerometer (gravity
    removed) and Gravity, both with the opposite sign (not standardised)."""
    t_ns = epoch_ns + np.round(d.time_s * 1e9).astype(np.int64)

    def table(xyz: np.ndarray) -> str:
        lines = ["time,seconds_elapsed,z,y,x"]
        for tn, ts, v in zip(t_ns, d.time_s, xyz, strict=True):
            lines.append(f"{tn},{ts + 0.013:.9f},{v[2]:.9f},{v[1]:.9f},{v[0]:.9f}")
        return "\n".join(lines) + "\n"

    files = {"Gyroscope.csv": table(d.gyr)}
    if platform == "android":
        files["TotalAcceleration.csv"] = table(d.acc)
        files["Accelerometer.csv"] = table(d.acc - np.median(d.acc[:60], axis=0))
    else:  # iOS: inertial-force signs; gravity from the still start held for the whole file
        grav = np.repeat(np.median(d.acc[:60], axis=0)[None, :], d.acc.shape[0], axis=0)
        files["Accelerometer.csv"] = table(-(d.acc - grav))
        files["Gravity.csv"] = table(-grav)
    # the header of a real export's Metadata.csv (schema version 3)
    files["Metadata.csv"] = (
        "version,device name,recording epoch time,recording time,recording timezone,platform,appVersion,"
        "device id,sensors,sampleRateMs,standardisation,platform version\n"
        f"3,phone-{platform},{epoch_ns // 1_000_000},2023-11-14_22-13-20,Europe/Amsterdam,{platform},1.64,"
        "abc123,Accelerometer|Gyroscope|Gravity|TotalAcceleration,10|10|10|10,false,17\n")
    with zipfile.ZipFile(path, "w") as z:
        for n, text in files.items():
            z.writestr(n, text)
    return path


def write_movesense_json(path: Path, d: DeviceRecording, *, per_packet: int = 8, start_ms: int = 123_456) -> Path:
    """IMU6 notifications as the Movesense API gives them: Timestamp (ms) of each packet's
    first sample, ArrayAcc (m/s^2) and ArrayGyro (deg/s)."""
    n = d.time_s.size // per_packet * per_packet
    packets = []
    for k in range(0, n, per_packet):
        sl = slice(k, k + per_packet)
        packets.append({"Body": {
            "Timestamp": start_ms + round(d.time_s[k] * 1000),
            "ArrayAcc": [dict(zip("xyz", map(float, v), strict=True)) for v in np.round(d.acc[sl], 5)],
            "ArrayGyro": [dict(zip("xyz", map(float, v), strict=True)) for v in np.round(np.rad2deg(d.gyr[sl]), 4)],
        }, "Uri": "174630000192/Meas/IMU6/104", "Method": "PUT"})
    path.write_text(json.dumps({"Data": packets}, indent=1))
    return path


def write_movesense_csv(path: Path, d: DeviceRecording, start_ms: int = 123_456) -> Path:
    """One row per sample: Timestamp (ms), AccX..Z (m/s^2), GyroX..Z (deg/s)."""
    lines = ["Timestamp,AccX,AccY,AccZ,GyroX,GyroY,GyroZ"]
    for t, a, g in zip(d.time_s, d.acc, np.rad2deg(d.gyr), strict=True):
        lines.append(f"{start_ms + t * 1000:.1f}," + ",".join(f"{v:.5f}" for v in (*a, *g)))
    path.write_text("\n".join(lines) + "\n")
    return path
