"""The session commands end to end, as a person types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HINGECOACH_HOME": str(home)}
    env.pop("HINGECOACH_DB", None)
    return subprocess.run([sys.executable, "-m", "hingecoach.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env, input=stdin)


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sim")
    r = run(d / "home", "simulate", str(d / "sim.csv"), "--pattern", "mixed", "--reps", "6", "--seed", "4")
    assert r.returncode == 0, r.stderr
    return d / "sim.csv"


def test_save_list_pain_report_export_import_forget(sim, tmp_path):
    home = tmp_path / "home"
    r = run(home, "analyze", str(sim), "--save", "--person", "anna", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # stdout stays pure JSON
    assert "saved as session 1" in r.stderr and (home / "hingecoach.db").exists()
    assert "lumbar_rounding_deg" not in r.stderr or "default" in r.stderr
    r = run(home, "pain", "1", "--before", "2", "--after", "7")
    assert r.returncode == 0 and "above 5" in r.stdout
    r = run(home, "sessions", "--json")
    (s,) = json.loads(r.stdout)
    assert (s["id"], s["person"], s["reps"], s["pain_before"], s["pain_after"]) == (1, "anna", len(doc["reps"]), 2, 7)
    assert s["faulty_reps"] == doc["summary"]["faulty_reps"] and s["complete"]
    r = run(home, "sessions")
    assert r.returncode == 0 and "anna" in r.stdout and "2 → 7" in r.stdout
    r = run(home, "report", "1", "-o", str(tmp_path / "r.html"), "--pdf", str(tmp_path / "r.pdf"))
    assert r.returncode == 0, r.stderr
    assert "data:image/png;base64" in (tmp_path / "r.html").read_text()
    assert (tmp_path / "r.pdf").read_bytes()[:4] == b"%PDF"
    r = run(home, "export", "1", "--format", "csv", "-o", str(tmp_path / "exp"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "exp" / "reps.csv").read_text().count("\n") == 1 + len(doc["reps"]) + len(doc["incomplete_reps"])
    r = run(home, "export", "1", "-o", str(tmp_path / "exp.json"))
    assert r.returncode == 0
    # a clinician imports it into their own store
    clinic = tmp_path / "clinic"
    r = run(clinic, "import", str(tmp_path / "exp.json"))
    assert r.returncode == 0 and "as session 1 (anna" in r.stdout, r.stderr
    r = run(clinic, "import", str(tmp_path / "exp"))
    assert r.returncode == 2 and "already in" in r.stderr
    # forget asks first
    r = run(home, "forget", "anna")
    assert r.returncode == 2 and "--yes" in r.stderr
    r = run(home, "forget", "anna", "--yes")
    assert r.returncode == 0 and "removed 'anna': 1 session(s)" in r.stdout and "2 pain rating(s)" in r.stdout
    assert json.loads(run(home, "sessions", "--json").stdout) == []


def test_person_thresholds_are_used_and_their_origin_is_told(sim, tmp_path):
    home = tmp_path / "home"
    r = run(home, "person", "bo", "--rounding-deg", "9.5", "--set-by", "PT Lee")
    assert r.returncode == 0 and "lumbar_rounding_deg = 9.5 (set by PT Lee" in r.stdout
    r = run(home, "analyze", str(sim), "--person", "bo", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["thresholds"]["lumbar_rounding_deg"] == 9.5
    assert "lumbar_rounding_deg = 9.5 (person 'bo' (set by PT Lee" in r.stderr
    r = run(home, "analyze", str(sim), "--person", "bo", "--rounding-deg", "30", "--json")
    assert json.loads(r.stdout)["thresholds"]["lumbar_rounding_deg"] == 30.0
    assert "lumbar_rounding_deg = 30.0 (command line)" in r.stderr
    assert json.loads(run(home, "sessions", "--json").stdout) == []  # nothing saved without --save
    r = run(home, "analyze", str(sim), "--person", "nobody")
    assert r.returncode == 2 and "no such person" in r.stderr
    r = run(home, "person", "bo", "--share-of-max", "7")
    assert r.returncode == 2 and "share_of_max" in r.stderr and "Traceback" not in r.stderr


def test_reanalyze_and_bad_ids(sim, tmp_path):
    home = tmp_path / "home"
    assert run(home, "analyze", str(sim), "--save").returncode == 0
    r = run(home, "reanalyze", "1", "--save")
    assert r.returncode == 0 and "the same reps and faults" in r.stdout and "saved as session 2" in r.stdout
    for args in (("report", "7"), ("export", "7"), ("pain", "7", "--after", "3"), ("reanalyze", "7")):
        r = run(home, *args)
        assert r.returncode == 2 and "no session 7" in r.stderr and "Traceback" not in r.stderr, args
    r = run(home, "pain", "1", "--after", "11")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_bad_database_files_are_one_line_errors(sim, tmp_path):
    png = tmp_path / "x.db"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    for args in (("sessions", "--db", str(png)), ("analyze", str(sim), "--save", "--db", str(png))):
        r = run(tmp_path / "home", *args)
        assert r.returncode == 2 and "expected a hingecoach database" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_listing_on_a_fresh_machine_creates_nothing(tmp_path):
    home = tmp_path / "home"
    r = run(home, "sessions")
    assert r.returncode == 0 and "no sessions yet" in r.stdout
    assert json.loads(run(home, "sessions", "--json").stdout) == []
    r = run(home, "report", "1")
    assert r.returncode == 2 and "no such database" in r.stderr
    assert not home.exists()


def test_commands_on_a_postgres_server(sim, tmp_path, pg_server):
    url = pg_server.new_database()
    home = tmp_path / "home"
    r = run(home, "analyze", str(sim), "--save", "--person", "clinic patient 7", "--db", url)
    assert r.returncode == 0 and "saved as session 1" in r.stderr, r.stderr
    (s,) = json.loads(run(home, "sessions", "--json", "--db", url).stdout)
    assert s["person"] == "clinic patient 7" and s["reps"] == 6
    r = run(home, "report", "1", "--db", url, "-o", str(tmp_path / "r.html"))
    assert r.returncode == 0 and "data:image/png" in (tmp_path / "r.html").read_text()
    assert not home.exists()  # nothing local was written
