import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import run_cli


def test_demo_runs_and_explains():
    r = run_cli("demo")
    assert r.returncode == 0, r.stderr
    assert "8 reps" in r.stdout
    assert "lumbar_rounding" in r.stdout and "not a diagnosis" in r.stdout


def test_simulate_then_analyze_json(tmp_path):
    out = tmp_path / "sim.csv"
    r = run_cli("simulate", str(out), "--pattern", "rounded", "--reps", "3", "--rate", "50",
                "--seed", "4")
    assert r.returncode == 0, r.stderr
    truth = json.loads(out.with_suffix(".truth.json").read_text())
    assert len(truth["reps"]) == 3
    angles = tmp_path / "angles.csv"
    r = run_cli("analyze", str(out), "--json", "--angles-csv", str(angles))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [m["index"] for m in doc["reps"]] == [1, 2, 3]
    assert set(doc["reps"][0]) >= {"index", "start_s", "bottom_s", "end_s",
                                   "peak_lumbar_flexion_deg", "peak_pelvis_tilt_deg", "faults"}
    assert all("lumbar_rounding" in m["faults"] for m in doc["reps"])
    header = angles.read_text().splitlines()[0]
    assert header == "time_s,lumbar_flexion_deg,pelvis_tilt_deg,trunk_inclination_deg"
    assert len(angles.read_text().splitlines()) - 1 == len(out.read_text().splitlines()) - 2


def test_help_and_bad_options():
    r = run_cli("--help")
    assert r.returncode == 0 and "analyze" in r.stdout
    r = run_cli("analyze", "x.csv", "--placement", "knee")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_ctrl_c_at_any_moment_of_start_up_is_quiet():
    """An interrupt while the command is still importing (or already analysing) ends with
    'interrupted' and exit code 130 (or the finished analysis), never a traceback. (The
    first few tens of ms belong to the interpreter's own start and pip's launcher script,
    which no package code can guard.)"""
    import shutil
    import signal
    import subprocess
    import sys
    import time

    exe = shutil.which("hingecoach") or str(Path(sys.executable).with_name("hingecoach"))
    for delay in (0.05, 0.1, 0.2, 0.35):
        p = subprocess.Popen([exe, "analyze", "src/hingecoach/data/demo.csv"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        assert "Traceback" not in err
        if p.returncode == -signal.SIGINT:  # before Python set its handler: gone, silently
            assert err == ""
        elif p.returncode == 130:
            assert err.strip().endswith("interrupted")
        else:
            assert p.returncode == 0, err


def test_an_error_raised_by_a_ctrl_c_counts_as_the_interrupt():
    from hingecoach._entry import caused_by_interrupt

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as k:
            raise ImportError("numpy failed to import") from k  # what NumPy does
    except ImportError as e:
        assert caused_by_interrupt(e)
    assert not caused_by_interrupt(ImportError("no module named x"))


def test_a_ctrl_c_swallowed_inside_an_import_still_ends_quietly():
    """NumPy's C-extension import prints the traceback of a Ctrl-C that lands in it and
    raises an ImportError that does not carry it (seen once in CI on a cold start). Here
    an import does the same: the Ctrl-C is held while the CLI imports, so nothing is
    printed, and the command ends with 'interrupted' and exit code 130."""
    import subprocess
    import sys

    code = """
import importlib.abc, os, signal, sys, time, traceback
class LikeNumpy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "hingecoach.cli":
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
            except KeyboardInterrupt:
                traceback.print_exc()
            raise ImportError("numpy.core.multiarray failed to import")
sys.meta_path.insert(0, LikeNumpy())
from hingecoach._entry import main
main()
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 130 and r.stderr == "interrupted\n", r.stderr


@pytest.mark.camera
def test_a_reference_clip_without_an_upright_back_is_one_line_and_exit_2(tmp_path, monkeypatch):
    av = pytest.importorskip("av")
    pytest.importorskip("cv2")
    from typer.testing import CliRunner

    from hingecoach import cli
    from hingecoach.pose import estimator
    from hingecoach.testing.camera_sim import FramesModel, simulate_frames

    # the "reference" clip shows the person bent over, never standing tall
    bent = [f for _, _, p, f in simulate_frames(["good"]) if p.pelvis_deg > 30][:20]
    assert len(bent) == 20
    clip = tmp_path / "ref.mp4"
    with av.open(str(clip), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 96, "yuv420p"
        for _ in bent:
            for p in s.encode(av.VideoFrame.from_ndarray(np.zeros((96, 64, 3), np.uint8), format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    monkeypatch.setattr(estimator, "BlazePose", lambda model=None: FramesModel(bent))
    res = CliRunner().invoke(cli.app, ["analyze", str(clip), "--reference", str(clip), "--json"])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --reference {clip}: no upright frames")


def test_reference_needs_a_video():
    from typer.testing import CliRunner

    from hingecoach import cli

    res = CliRunner().invoke(cli.app, ["analyze", "src/hingecoach/data/demo.csv", "--reference", "x.mp4"])
    assert res.exit_code == 2 and "--reference x.mp4: needs a video" in res.output


def test_pose_model_needs_a_video_or_a_camera_source(tmp_path):
    """--pose-model with an IMU recording or an IMU live source is an error, not ignored."""
    from typer.testing import CliRunner

    from hingecoach import cli

    res = CliRunner().invoke(cli.app, ["analyze", "src/hingecoach/data/demo.csv", "--pose-model", "heavy"])
    assert res.exit_code == 2
    assert res.output.strip() == ("error: --pose-model heavy: needs a video, and src/hingecoach/data/demo.csv "
                                  "is an IMU recording")
    res = CliRunner().invoke(cli.app, ["live", "--source", "replay:src/hingecoach/data/demo.csv",
                                       "--pose-model", "lite", "--db", str(tmp_path / "s.db")])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        "error: --pose-model lite: needs a webcam or a video, and replay:src/hingecoach/data/demo.csv is an IMU source"]
