"""The sensor apps' exports: detected from content, SI units, two devices joined and
analysed end to end, bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import run_cli
from device_exports import (
    simulated_pair,
    write_metamotion,
    write_movella,
    write_movesense_csv,
    write_movesense_json,
    write_phyphox,
    write_sensorlogger,
)
from hingecoach.analysis import analyze_recording
from hingecoach.core.errors import HingecoachError, InputError
from hingecoach.sources import read_recording
from hingecoach.sources.detect import detect_format, read_device


def _movella(d, folder, name):
    return write_movella(folder / f"{name}.csv", d, tag=name)


def _movella_delta(d, folder, name):
    return write_movella(folder / f"{name}.csv", d, tag=name, delta=True)


def _metamotion(d, folder, name):
    mac = "C4:C2:E5:B7:E3:2A" if name == "lower" else "D1:02:03:04:05:06"
    return write_metamotion(folder / name, d, mac=mac)[0]  # one file: its sibling is found


def _metamotion_folder(d, folder, name):
    write_metamotion(folder / name, d)
    return folder / name


def _phyphox(sep, as_zip=True):
    def w(d, folder, name):
        p = folder / (f"{name}.zip" if as_zip else name)
        if not as_zip:
            p.mkdir()
        return write_phyphox(p, d, sep=sep, as_zip=as_zip)
    return w


def _sensorlogger(platform):
    def w(d, folder, name):
        return write_sensorlogger(folder / f"{name}.zip", d, platform=platform)
    return w


def _movesense_json(d, folder, name):
    return write_movesense_json(folder / f"{name}.json", d)


def _movesense_csv(d, folder, name):
    return write_movesense_csv(folder / f"{name}.csv", d)


WRITERS = {
    "movella": (_movella, 60.0),
    "movella-delta": (_movella_delta, 60.0),
    "metamotion": (_metamotion, 100.0),
    "metamotion-folder": (_metamotion_folder, 100.0),
    "phyphox-comma-zip": (_phyphox(","), 100.0),
    "phyphox-tab-folder": (_phyphox("\t", as_zip=False), 100.0),
    "phyphox-semicolon": (_phyphox(";"), 100.0),
    "sensorlogger-android": (_sensorlogger("android"), 100.0),
    "sensorlogger-ios": (_sensorlogger("ios"), 100.0),
    "movesense-json": (_movesense_json, 104.0),
    "movesense-csv": (_movesense_csv, 104.0),
}
FORMAT_OF = {"movella": "movella", "metamotion": "metamotion", "phyphox": "phyphox",
             "sensorlogger": "sensorlogger", "movesense": "movesense"}


def _pair(kind: str, tmp_path: Path, **kw):
    writer, rate = WRITERS[kind]
    lower, upper, n_reps = simulated_pair(rate_lower=rate, rate_upper=rate, **kw)
    return writer(lower, tmp_path, "lower"), writer(upper, tmp_path, "upper"), lower, upper, n_reps


@pytest.mark.parametrize("kind", list(WRITERS))
def test_each_format_is_detected_read_in_si_units_and_analysed_end_to_end(kind, tmp_path):
    lo_path, up_path, lower, _upper, n_reps = _pair(kind, tmp_path)
    fmt = FORMAT_OF[kind.split("-")[0]]
    assert detect_format(lo_path) == fmt
    dev = read_device(lo_path)
    assert dev.fmt.startswith(fmt.split("-")[0])
    # the same samples in SI units (MetaBase writes 4 decimals of g and deg/s)
    n = min(dev.time_s.size, lower.time_s.size) - 2
    acc = np.column_stack([np.interp(lower.time_s[5:n], dev.time_s, dev.acc[:, j]) for j in range(3)])
    gyr = np.column_stack([np.interp(lower.time_s[5:n], dev.time_s, dev.gyr[:, j]) for j in range(3)])
    assert np.percentile(np.abs(acc - lower.acc[5:n]), 99) < 0.05
    assert np.percentile(np.abs(gyr - lower.gyr[5:n]), 99) < 0.02
    rec = read_recording(None, lower=lo_path, upper=up_path)
    assert abs(rec.meta["clock_alignment"]["offset_s"] - 0.8) < 1.0 / rate_of(kind)
    a = analyze_recording(rec)
    assert len(a.reps) == n_reps
    assert a.info["placement"] == "T12"


def rate_of(kind: str) -> float:
    return WRITERS[kind][1]


def test_one_sensor_alone_is_refused_with_what_to_do(tmp_path):
    lo_path, *_ = _pair("movella", tmp_path, reps=2)
    with pytest.raises(InputError, match="--lower FILE --upper FILE"):
        read_recording(lo_path)


def test_phyphox_without_the_gyroscope_says_what_is_missing(tmp_path):
    lower, _, _ = simulated_pair(reps=1)
    p = write_phyphox(tmp_path / "acc.zip", lower, with_gyro=False)
    with pytest.raises(InputError, match="Gyroscope x"):
        read_device(p)


def test_dot_euler_export_is_refused_naming_the_output_mode(tmp_path):
    p = tmp_path / "dot.csv"
    p.write_text("DeviceTag: 1\nPacketCounter,SampleTimeFine,Euler_X,Euler_Y,Euler_Z,FreeAcc_X,FreeAcc_Y,"
                 "FreeAcc_Z,Status\n1,100,1.0,2.0,3.0,0.1,0.2,0.3,0\n")
    with pytest.raises(InputError, match="rate quantities"):
        read_device(p)


def _damage(kind: str, path: Path) -> None:
    """Break the middle of a text export: more bad rows than the reader may drop."""
    lines = path.read_text().splitlines()
    for i in range(len(lines) // 3, len(lines) // 3 + 40):
        lines[i] = lines[i].replace("0", "x", 1) if kind != "json" else lines[i]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("kind", ["movella", "metamotion", "movesense-csv"])
def test_bad_rows_are_one_line_and_exit_2(kind, tmp_path):
    lo_path, up_path, *_ = _pair(kind, tmp_path, reps=2)
    _damage(kind, lo_path)
    with pytest.raises(InputError, match=r"line \d+"):
        read_device(lo_path)
    r = run_cli("analyze", "--lower", str(lo_path), "--upper", str(up_path))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "line" in r.stderr and "Traceback" not in r.stderr


def test_a_truncated_last_row_is_a_warning(tmp_path):
    lo_path, up_path, *_ = _pair("movella", tmp_path, reps=2)
    text = lo_path.read_text()
    lo_path.write_text(text[: text.rstrip().rfind(",")] + "\n")  # the last row cut mid-way
    rec = read_recording(None, lower=lo_path, upper=up_path)
    assert any("truncated last row" in w for w in rec.meta["warnings"])


@pytest.mark.parametrize("blob", [b"", b"\x00\x01garbage", b"PK\x03\x04not a zip", b"{\"ArrayAcc\": 3",
                                  b"epoc (ms),timestamp (+0100),elapsed (s),x-axis (furlong),y-axis (g)\n"])
def test_garbage_is_a_hingecoach_error_never_a_crash(blob, tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(blob)
    with pytest.raises(HingecoachError):
        read_device(p)


def test_json_movesense_damage_is_one_line(tmp_path):
    lo_path, _up_path, *_ = _pair("movesense-json", tmp_path, reps=1)
    lo_path.write_text(lo_path.read_text()[:-200])
    with pytest.raises(InputError, match="valid JSON"):
        read_device(lo_path)


def test_a_pair_is_analysed_and_saved_from_the_cli_with_its_raw_samples(tmp_path):
    lo_path, up_path, _, _, n_reps = _pair("sensorlogger-android", tmp_path, reps=2)
    url = f"sqlite:///{tmp_path / 's.db'}"
    r = run_cli("analyze", "--lower", str(lo_path), "--upper", str(up_path), "--json", "--save", "--db", url)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["reps"]) == n_reps
    from hingecoach.store import open_store

    st = open_store(url)
    try:
        sid = st.sessions()[0].id
        raw = st.stream(sid, "raw")
        assert raw is not None and {"lower_acc", "upper_gyr"} <= set(raw.channels)
        assert raw.meta["clock_alignment"]["windows"] >= 1
    finally:
        st.close()


def test_file_and_pair_together_or_half_a_pair_is_one_line(tmp_path):
    lo_path, up_path, *_ = _pair("movella", tmp_path, reps=1)
    for args in (["--lower", str(lo_path)], [str(lo_path), "--lower", str(lo_path), "--upper", str(up_path)]):
        r = run_cli("analyze", *args)
        assert r.returncode == 2
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
