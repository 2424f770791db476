"""export --format mot: an OpenSim motion file that a plain reader of the published
Storage format reads back (header keys, endheader, tab-separated table, OpenSim signs)."""

from __future__ import annotations

import numpy as np
import pytest

from cli_helpers import run_cli
from hingecoach.store import open_store
from hingecoach.store.backend import StoreError
from hingecoach.store.opensim import mot_text
from store_helpers import recording


def parse_mot(text: str) -> tuple[dict[str, str], list[str], np.ndarray]:
    """OpenSim Storage (.mot/.sto) as published: a name line, key=value lines and comments up
    to ``endheader``, a column-label line, then rows of numbers (tab or space separated)."""
    lines = text.splitlines()
    end = lines.index("endheader")
    header = {}
    for ln in lines[1:end]:
        key, sep, value = ln.partition("=")
        if sep and " " not in key:
            header[key.strip()] = value.strip()
    labels = lines[end + 1].split("\t")
    rows = np.array([[float(v) for v in ln.split()] for ln in lines[end + 2:] if ln.strip()])
    return header, labels, rows


def test_mot_round_trip_with_opensim_names_and_signs(tmp_path):
    _rec, a = recording(seed=3, reps=3, pattern="good")
    header, labels, rows = parse_mot(mot_text(a.angles, "s1"))
    assert header["inDegrees"] == "yes"
    assert int(header["nRows"]) == rows.shape[0] == len(a.angles)
    assert int(header["nColumns"]) == rows.shape[1] == len(labels)
    assert labels[:3] == ["time", "pelvis_tilt", "lumbar_extension"]
    assert np.allclose(rows[:, 0], a.angles.time_s, atol=1e-6)
    # flexion forward is OpenSim's negative lumbar_extension and negative (anterior) pelvis_tilt
    assert np.allclose(rows[:, 1], -a.angles["pelvis_tilt_deg"], atol=1e-5)
    assert np.allclose(rows[:, 2], -a.angles["lumbar_flexion_deg"], atol=1e-5)
    assert rows[:, 2].min() < -5.0


def test_export_mot_from_the_cli(tmp_path):
    rec, a = recording(seed=3, reps=2, pattern="good")
    url = f"sqlite:///{tmp_path / 's.db'}"
    st = open_store(url, create=True)
    sid = st.save_analysis(a, raw=rec, person=None, source="sim")
    st.close()
    out = tmp_path / "s.mot"
    r = run_cli("export", str(sid), "--format", "mot", "-o", str(out), "--db", url)
    assert r.returncode == 0, r.stderr
    header, _labels, rows = parse_mot(out.read_text())
    assert rows.shape == (len(a.angles), int(header["nColumns"]))


def test_a_camera_session_has_no_lumbar_angle_for_mot():
    from hingecoach.core.timeseries import TimeSeries

    cam = TimeSeries(np.arange(3.0), {"hip_flexion_deg": np.zeros(3)})
    with pytest.raises(StoreError, match="needs the IMU angles"):
        mot_text(cam, "cam")


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """v (3,) rotated by each unit quaternion q (n, 4) w x y z."""
    w, u = q[:, :1], q[:, 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def test_sto_orientations_of_a_nine_axis_session_read_back(tmp_path):
    from hingecoach.analysis import AnalysisSettings, analyze_recording
    from hingecoach.angles import AngleSettings
    from hingecoach.orientation.fusion import FusionSettings
    from hingecoach.sources.simulator import SimSettings, simulate

    rec = simulate(SimSettings(pattern="good", reps=2, seed=5, magnetometer=True))[0]
    settings = AnalysisSettings(angles=AngleSettings(fusion=FusionSettings(magnetometer=True)))
    a = analyze_recording(rec, None, settings)
    url = f"sqlite:///{tmp_path / 's.db'}"
    st = open_store(url, create=True)
    sid = st.save_analysis(a, raw=rec, person=None, settings=settings, source="sim")
    st.close()
    out = tmp_path / "s.sto"
    r = run_cli("export", str(sid), "--format", "sto", "-o", str(out), "--db", url)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    header, labels, _ = parse_mot(text.replace(",", " "))  # a cell is "w,x,y,z"
    assert header["DataType"] == "Quaternion" and abs(float(header["DataRate"]) - 100.0) < 0.5
    assert labels == ["time", "pelvis_imu", "torso_imu"]
    body = text.splitlines()[text.splitlines().index("endheader") + 2:]
    cells = [ln.split("\t") for ln in body]
    assert len(cells) == len(rec)
    q = {k: np.array([[float(v) for v in c[i].split(",")] for c in cells]) for i, k in ((1, "lower"), (2, "upper"))}
    for side, qs in q.items():
        assert np.allclose(np.linalg.norm(qs, axis=1), 1.0, atol=1e-6)
        # standing still at the start, each sensor's measured "up" points up in the earth frame
        up = rec[f"{side}_acc"][:100].mean(axis=0)
        assert _rotate(qs[:100], up / np.linalg.norm(up))[:, 2].min() > np.cos(np.deg2rad(3.0))


def test_sto_of_a_six_axis_session_says_why_not(tmp_path):
    rec, a = recording(seed=3, reps=2, pattern="good")
    url = f"sqlite:///{tmp_path / 's.db'}"
    st = open_store(url, create=True)
    sid = st.save_analysis(a, raw=rec, person=None, source="sim")
    st.close()
    r = run_cli("export", str(sid), "--format", "sto", "-o", str(tmp_path / "x.sto"), "--db", url)
    assert r.returncode == 2
    assert "9-axis" in r.stderr and len(r.stderr.strip().splitlines()) == 1
