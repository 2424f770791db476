import json
from pathlib import Path

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
