"""A camera session keeps its landmarks: stored with the session as compressed chunks,
exported as .trc (read back by the tests' parser of the published format) and .c3d
(read back by ezc3d), in metres from the person's height or in pixels, carried by
export/import and removed by forget. A simulated camera session, no MediaPipe."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_marker_export import parse_trc

from cli_helpers import run_cli
from hingecoach.analysis import analyze_camera, analyze_file
from hingecoach.core.pose_types import ANKLE, SHOULDER
from hingecoach.pose.camera import video_angles
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.store import open_store
from hingecoach.store.exchange import import_bundle, read_bundle, session_bundle, write_bundle
from hingecoach.store.files import save_file_analysis
from hingecoach.store.markers import BLAZEPOSE_NAMES, SHOULDER_TO_ANKLE_SHARE

W, H = 240, 320


@pytest.fixture(scope="module")
def camera_analysis():
    """A simulated side-view session (one good rep, one rounded) as analyze_camera gives it."""
    pytest.importorskip("cv2")
    from hingecoach.testing.camera_sim import FramesModel, simulate_frames

    frames = list(simulate_frames(["good", "rounded"], fps=15, width=W, height=H, px_per_m=150))
    result = video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames),
                          FramesModel([f for *_, f in frames]), source="sim.mp4")
    return analyze_camera(result, None, {"video": {"width": W, "height": H, "nominal_fps": 15.0}})


def _expected(a) -> tuple[np.ndarray, np.ndarray]:
    frames = a.camera.frames
    return np.array([f.time_s for f in frames]), np.stack([f.xy for f in frames])


@pytest.fixture
def stored(tmp_path, camera_analysis):
    db = tmp_path / "h.db"
    with open_store(db) as st:
        sid = save_file_analysis(st, camera_analysis, "sim.mp4", person="ben")
    return db, sid


def test_the_landmarks_are_stored_with_the_session(stored, camera_analysis):
    db, sid = stored
    t, xy = _expected(camera_analysis)
    with open_store(db, create=False) as st:
        assert "landmarks" in st.session(sid).streams
        lm = st.stream(sid, "landmarks")
        n_chunks = st.db.execute("SELECT COUNT(*) FROM chunks WHERE session_id = ? AND stream = 'landmarks'",
                                 (sid,)).fetchone()[0]
    assert n_chunks >= 1
    np.testing.assert_array_equal(lm.time_s, t)
    got = np.stack([lm[n] for n in BLAZEPOSE_NAMES], axis=1)
    np.testing.assert_allclose(got, xy, atol=1e-3)  # float32 pixels
    assert lm.meta["image_height"] == H and lm.meta["side"] == camera_analysis.camera.orientation.side
    assert lm.info["nose"].unit == "px"


def test_trc_in_pixels_without_a_height_reads_back(stored, camera_analysis, tmp_path):
    db, sid = stored
    out = tmp_path / "s.trc"
    r = run_cli("export", str(sid), "--format", "trc", "-o", str(out), "--db", str(db))
    assert r.returncode == 0, r.stderr
    header, names, rows = parse_trc(out.read_text())
    t, xy = _expected(camera_analysis)
    assert header["Units"] == "px" and names == list(BLAZEPOSE_NAMES)
    assert int(header["NumFrames"]) == len(t) and float(header["DataRate"]) == pytest.approx(15.0, abs=0.01)
    np.testing.assert_allclose(rows[:, 1], t, atol=1e-6)
    pos = rows[:, 2:].reshape(len(t), 33, 3)
    np.testing.assert_allclose(pos[..., 0], xy[..., 0], atol=2e-3)
    np.testing.assert_allclose(pos[..., 1], H - xy[..., 1], atol=2e-3)  # Y up
    assert np.all(pos[..., 2] == 0)


def test_trc_and_c3d_in_metres_from_the_persons_height(stored, camera_analysis, tmp_path):
    ezc3d = pytest.importorskip("ezc3d")
    db, sid = stored
    r = run_cli("person", "ben", "--height-cm", "180", "--db", str(db))
    assert r.returncode == 0 and "height_cm = 180" in r.stdout, r.stdout + r.stderr
    trc, c3d = tmp_path / "s.trc", tmp_path / "s.c3d"
    for fmt, path in (("trc", trc), ("c3d", c3d)):
        r = run_cli("export", str(sid), "--format", fmt, "-o", str(path), "--db", str(db))
        assert r.returncode == 0, r.stderr
    header, _names, rows = parse_trc(trc.read_text())
    assert header["Units"] == "m"
    t, _ = _expected(camera_analysis)
    pos = rows[:, 2:].reshape(len(t), 33, 3)
    side = camera_analysis.camera.orientation.side
    first = t <= t[0] + 1.0
    span = np.linalg.norm(pos[first, SHOULDER[side]] - pos[first, ANKLE[side]], axis=-1)
    assert np.median(span) == pytest.approx(SHOULDER_TO_ANKLE_SHARE * 1.80, rel=1e-4)
    c = ezc3d.c3d(str(c3d))
    assert c["parameters"]["POINT"]["UNITS"]["value"] == ["m"]
    assert c["parameters"]["POINT"]["LABELS"]["value"] == list(BLAZEPOSE_NAMES)
    assert c["parameters"]["POINT"]["RATE"]["value"][0] == pytest.approx(15.0, abs=0.01)
    pts = c["data"]["points"][:3]  # (3, markers, frames)
    np.testing.assert_allclose(np.transpose(pts, (2, 1, 0)), pos, atol=1e-5)


def test_an_imu_session_asked_for_markers_is_one_line(tmp_path):
    rec, _, _ = simulate(SimSettings(reps=2, seed=1))
    path = tmp_path / "imu.csv"
    write_imu_csv(path, rec)
    db = tmp_path / "h.db"
    with open_store(db) as st:
        sid = save_file_analysis(st, analyze_file(path), path)
    for fmt in ("trc", "c3d"):
        r = run_cli("export", str(sid), "--format", fmt, "-o", str(tmp_path / f"x.{fmt}"), "--db", str(db))
        assert r.returncode == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "camera sessions" in lines[0] and "--format mot" in lines[0], r.stderr
        assert not (tmp_path / f"x.{fmt}").exists()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_and_import_carry_the_landmarks(stored, tmp_path, fmt):
    db, sid = stored
    out = tmp_path / f"export-{fmt}"
    with open_store(db, create=False) as st:
        before = st.stream(sid, "landmarks")
        write_bundle(session_bundle(st, sid), fmt, out)
    if fmt == "json":
        assert "landmarks" in json.loads(out.read_text())["streams"]
    other = tmp_path / "other.db"
    with open_store(other) as st2:
        new = import_bundle(st2, read_bundle(out), origin=str(out))
        after = st2.stream(new, "landmarks")
    assert after is not None
    np.testing.assert_array_equal(after.time_s, before.time_s)
    for n in BLAZEPOSE_NAMES:
        np.testing.assert_array_equal(after[n], before[n])
    assert after.meta["image_height"] == H


def test_forget_removes_the_landmarks(stored):
    db, sid = stored
    with open_store(db, create=False) as st:
        st.forget("ben")
        assert st.stream(sid, "landmarks") is None
        left = st.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        assert left == 0
