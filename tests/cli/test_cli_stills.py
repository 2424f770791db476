"""``hingecoach analyze VIDEO --stills DIR``: one JPEG per rep named by rep and verdict,
without a store; with --save the same stills are stored with the session; bad folders and
inputs that are not a video are one line and exit 2. A simulated clip, the pose model
replayed (no MediaPipe)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from stills_helpers import sim_clip

pytestmark = pytest.mark.camera
runner = CliRunner()


@pytest.fixture
def clip(tmp_path, monkeypatch):
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    from hingecoach.pose import estimator
    from hingecoach.testing.camera_sim import FramesModel

    path, poses = sim_clip(tmp_path / "sim.mp4", ["good", "rounded"])
    monkeypatch.setattr(estimator, "BlazePose", lambda model=None: FramesModel(poses))
    return path


def _app():
    from hingecoach.cli import app

    return app


def test_stills_are_written_without_a_store_and_stored_with_save(clip, tmp_path, monkeypatch):
    from hingecoach.store import open_store

    monkeypatch.setenv("HINGECOACH_HOME", str(tmp_path / "home"))
    out = tmp_path / "stills" / "new"
    res = runner.invoke(_app(), ["analyze", str(clip), "--stills", str(out), "--json"])
    assert res.exit_code == 0, res.output
    files = sorted(out.iterdir())
    assert [f.name[:6] for f in files] == ["rep01_", "rep02_"]
    assert all(f.suffix == ".jpg" and f.read_bytes()[:2] == b"\xff\xd8" for f in files)
    assert not (tmp_path / "home").exists()  # no store was made
    db = tmp_path / "h.db"
    res = runner.invoke(_app(), ["analyze", str(clip), "--save", "--db", str(db), "--stills", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    with open_store(db, create=False) as st:
        (s,) = st.sessions()
        stored = st.stills(s.id)
    assert [x.file_name() for x in stored] == [f.name for f in files]
    assert [x.data for x in stored] == [f.read_bytes() for f in sorted((tmp_path / "b").iterdir())]


def test_save_alone_stores_the_stills(clip, tmp_path):
    from hingecoach.store import open_store

    db = tmp_path / "h.db"
    res = runner.invoke(_app(), ["analyze", str(clip), "--save", "--db", str(db)])
    assert res.exit_code == 0, res.output
    with open_store(db, create=False) as st:
        assert [x.seq for x in st.stills(st.sessions()[0].id)] == [1, 2]


def test_stills_need_a_video():
    res = runner.invoke(_app(), ["analyze", "src/hingecoach/data/demo.csv", "--stills", "x"])
    assert res.exit_code == 2
    assert res.output.strip() == ("error: --stills x: needs a video, and src/hingecoach/data/demo.csv is an "
                                  "IMU recording")


def test_a_webcam_cannot_give_stills():
    res = runner.invoke(_app(), ["analyze", "webcam:7", "--stills", "x"])
    assert res.exit_code == 2 and "--stills x: needs a video file; a webcam's frames are not kept" in res.output


def test_a_read_only_folder_is_one_line_before_the_analysis(clip, tmp_path, monkeypatch):
    from hingecoach import stills

    ro = tmp_path / "ro"
    ro.mkdir(0o500)
    # root may write into a 0o500 folder: the folder's access is asked as a user would see it
    seen_by_a_user = SimpleNamespace(W_OK=os.W_OK, X_OK=os.X_OK,
                                     access=lambda p, mode: Path(p) != ro and os.access(p, mode))
    monkeypatch.setattr(stills, "os", seen_by_a_user)
    res = runner.invoke(_app(), ["analyze", str(clip), "--stills", str(ro)])
    assert res.exit_code == 2 and res.output.strip() == f"error: --stills {ro}: cannot write there: permission denied"


def test_a_folder_that_is_a_file_is_one_line_before_the_analysis(clip, tmp_path):
    f = tmp_path / "taken"
    f.write_text("a file")
    res = runner.invoke(_app(), ["analyze", str(clip), "--stills", str(f / "sub")])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --stills {f / 'sub'}: cannot write there")


def test_a_filmed_persons_settings_are_the_cameras(clip, tmp_path):
    """analyze --person on a clip listed 'share_of_max = 0.6' (a sensor calibration's
    share, unused by the camera) and 'too_fast_s = 0.6', where the camera's own default
    is 0.35 s; a too_fast_s set on the command line or by a clinician stays as set."""
    from hingecoach.pose.judgement import CAMERA_TOO_FAST_S

    db = tmp_path / "h.db"
    res = runner.invoke(_app(), ["analyze", str(clip), "--save", "--person", "cam", "--db", str(db), "--json"])
    assert res.exit_code == 0, res.output
    assert "share_of_max" not in res.stderr
    assert f"setting: too_fast_s = {CAMERA_TOO_FAST_S} (camera default)" in res.stderr
    res = runner.invoke(_app(), ["person", "cam", "--too-fast-s", "0.5", "--db", str(db)])
    assert res.exit_code == 0, res.output  # a clinician's too_fast_s is shown as theirs
    res = runner.invoke(_app(), ["analyze", str(clip), "--person", "cam", "--db", str(db), "--json"])
    assert "setting: too_fast_s = 0.5 (person 'cam'" in res.stderr
