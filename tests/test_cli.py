import json

from test_readers import run_cli


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
