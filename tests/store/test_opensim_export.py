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
