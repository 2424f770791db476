"""hingecoach train and plan as a person (or a clinician's script) runs them; the live
bridge and the scripted stand-in for hingecoach.live's live session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result
from typer.testing import CliRunner

from coach_helpers import NO_FLAGS, clean_sets, run_session, session_doc, toml
from hingecoach.analysis import analyze_file
from hingecoach.cli import app
from hingecoach.coach import live_bridge
from hingecoach.core.errors import HingecoachError
from hingecoach.live import LiveSession
from hingecoach.report import gather, render_html
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.store import open_store
from hingecoach.testing.scripted import ScriptedLiveSession, events_from_analysis, scripted_factory


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess (exit codes, stderr lines, no traceback)."""
    env = {**os.environ, "HINGECOACH_HOME": str(home)}
    env.pop("HINGECOACH_DB", None)
    return subprocess.run([sys.executable, "-m", "hingecoach.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env, input=stdin)


def run_in_process(home: Path, *args: str, stdin: str | None = None) -> Result:
    """The command in this process, so a test can inject a live-session factory."""
    runner = CliRunner(env={"HINGECOACH_HOME": str(home), "HINGECOACH_DB": None})
    return runner.invoke(app, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture
def scripted_live():
    """The scripted stand-in replaces hingecoach.live for this test only (20x real time)."""
    live_bridge.install(scripted_factory(speed=20))
    try:
        yield
    finally:
        live_bridge.install(None)


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """A simulated two-IMU session: 12 hinges, some rounded (seeded)."""
    d = tmp_path_factory.mktemp("rec")
    rec = simulate(SimSettings(pattern="mixed", reps=12, seed=2))[0]
    write_imu_csv(d / "rec.csv", rec)
    return d / "rec.csv"


def test_train_script_then_plan(tmp_path):
    home = tmp_path / "home"
    r = run(home, "plan", "--person", "anna")
    assert r.returncode == 0 and "stage 1 of 4" in r.stdout and "safety screen" in r.stdout
    assert not home.exists()  # a plan never creates a database
    script = tmp_path / "s.toml"
    script.write_text(toml({"person": "anna", **session_doc(clean_sets(2), pain_now=2)}))
    r = run(home, "train", "--script", str(script))
    assert r.returncode == 0, r.stderr
    assert "A clean set of 5: step out an inch or two, to 14 cm (5.5 in)" in r.stdout
    assert "saved as session 1" in r.stdout and "not a diagnosis" in r.stdout
    r = run(home, "plan", "--person", "anna", "--json")
    p = json.loads(r.stdout)
    assert (p["stage"], p["wall_distance_cm"], p["rule"]) == (2, 18.0, "clean_step_out")
    assert p["threshold_deg"] == 20.0 and p["threshold_source"] == "the default for an upper sensor at T12"
    r = run(home, "plan", "--person", "anna")
    assert "next session at stage 2 of 4" in r.stdout and "18 cm (7.1 in)" in r.stdout
    assert "why: A clean set of 5: step out another inch or two" in " ".join(r.stdout.split())
    r = run(home, "sessions", "--json")
    (s,) = json.loads(r.stdout)
    assert (s["person"], s["kind"], s["pain_before"], s["pain_after"]) == ("anna", "programme", 2, 1)


def test_train_maximum_flexion_sets_the_personal_threshold_unless_a_clinician_did(tmp_path):
    home = tmp_path / "home"
    script = tmp_path / "s.toml"
    script.write_text(toml(session_doc(clean_sets(1), max_flexion=True, max_flexion_deg=40.0)))
    assert run(home, "train", "--person", "bo", "--script", str(script)).returncode == 0
    p = json.loads(run(home, "plan", "--person", "bo", "--json").stdout)
    assert p["threshold_deg"] == 24.0 and "60% of your maximum flexion of 40°" in p["threshold_source"]
    assert run(home, "person", "bo", "--rounding-deg", "15", "--set-by", "PT Lee").returncode == 0
    script.write_text(toml(session_doc(clean_sets(1), max_flexion=True, max_flexion_deg=50.0, screen=False)))
    assert run(home, "train", "--person", "bo", "--script", str(script)).returncode == 0
    p = json.loads(run(home, "plan", "--person", "bo", "--json").stdout)
    assert p["threshold_deg"] == 15.0 and p["threshold_source"].startswith("set by PT Lee")


def test_a_clinician_prepares_a_plan_with_a_script(tmp_path):
    home = tmp_path / "home"
    script = tmp_path / "plan.toml"
    script.write_text(toml({"plan": {"stage": 3, "set_by": "PT Lee", "note": "hinges well"}}))
    r = run(home, "train", "--person", "cy", "--script", str(script))
    assert r.returncode == 0, r.stderr
    assert "plan recorded for cy" in r.stdout and "stage 3 of 4" in r.stdout
    assert "why: PT Lee set stage 3: hinges well" in r.stdout
    script.write_text(toml({"plan": {"stage": 7, "set_by": "PT Lee"}}))
    r = run(home, "train", "--person", "cy", "--script", str(script))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "[plan]: stage: expected 1, 2, 3 or 4" in r.stderr


@pytest.mark.parametrize(("doc", "needle"), [
    ({"screen": NO_FLAGS, "pain_now": 12}, "column 'pain_now': expected a whole number from 0 to 10, found 12"),
    ({"pain_now": 2, "colour": "red"}, "column 'colour': expected one of"),
])
def test_train_bad_script_is_one_line_exit_2(tmp_path, doc, needle):
    script = tmp_path / "s.toml"
    script.write_text(toml(doc))
    r = run(tmp_path / "home", "train", "--script", str(script))
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    script.write_text("pain_now = [\n")
    r = run(tmp_path / "home", "train", "--script", str(script))
    assert r.returncode == 2 and "expected TOML" in r.stderr


def test_train_needs_a_source_or_a_script(tmp_path):
    r = run(tmp_path / "home", "train")
    assert r.returncode == 2 and "expected --source" in r.stderr


def test_the_real_live_session_is_the_default_and_no_environment_variable_swaps_it(monkeypatch):
    monkeypatch.setenv("HINGECOACH_FAKE_LIVE", "1")  # no environment switch may swap in a stand-in
    s = live_bridge.start_live("replay:x.csv", None, lambda ev: None, None, None)
    assert type(s) is LiveSession and s.source == "replay:x.csv"


def test_train_from_the_keyboard_with_a_replayed_live_source(tmp_path, recording, scripted_live):
    """The keyboard flow with the scripted stand-in for the live session (20x real time):
    the sets' reps come from the stream; pain, sets and rules land in the live session."""
    home = tmp_path / "home"
    keys = "n\n" * 6 + "2\n" + "\n" + "n\n" + "\n" + "2\n" + "y\n" + "\n" + "2\n" + "n\n" + "2\n"
    r = run_in_process(home, "train", "--person", "dee", "--source", f"replay:{recording}", stdin=keys)
    assert r.exit_code == 0, r.stderr
    a = analyze_file(recording)
    by_index = {m.index: m for m in a.reps}
    with open_store(home / "hingecoach.db") as st:
        (s,) = st.sessions("dee")
        rec = st.session(s.id)
    assert s.kind == "live" and s.complete and rec.extra["programme"]["outcome"] == "completed"
    assert s.device == "scripted replay"  # the injected stand-in served the source
    assert [x.idx for x in rec.sets] == [1, 2]
    for x in rec.sets:
        idx = x.data["rep_indexes"]
        assert len(idx) == 5 and idx == list(range(idx[0], idx[0] + 5))  # five reps in a row
        assert x.data["faulty_reps"] == sum(1 for i in idx if by_index[i].faults)
        assert x.data["outcome_from"] == "live"
    assert [p.moment for p in rec.pain] == ["before", "set", "set", "after"]
    assert {e.kind for e in rec.events} >= {"red_flag_screen", "calibration", "programme_rule"}
    assert len(rec.cues) == sum("lumbar_rounding" in m.faults for m in a.reps if m.end_s < rec.reps[-1].end_s + 1)
    assert "cue Your lower back rounded" in r.stdout and "rep 5/5" in r.stdout
    html = render_html(gather(open_store(home / "hingecoach.db"), s.id))
    assert "data:image/png;base64" in html


def test_a_script_without_reps_takes_them_from_the_live_session_passed_to_drive(tmp_path, recording):
    """The stand-in goes in as a parameter of drive(), nothing installed: the sets' reps come
    from its stream, the pain from the script, and all of it lands in its live session."""
    a = analyze_file(recording)
    faulty = {m.index: bool(m.faults) for m in a.reps}
    with open_store(tmp_path / "s.db") as st:
        out, text = run_session(st, "fay", session_doc([{"pain": 1}, {"pain": 2}]), tmp_path,
                                source=f"replay:{recording}", factory=scripted_factory(speed=20))
        assert out.outcome == "completed" and out.sets == 2, text
        rec = st.session(out.session_id)
    assert rec.summary.device == "scripted replay"  # the injected stand-in, not hingecoach.live
    assert rec.summary.kind == "live" and rec.extra["programme"]["outcome"] == "completed"
    assert [x.data["outcome_from"] for x in rec.sets] == ["live", "live"]
    for x in rec.sets:
        idx = x.data["rep_indexes"]
        assert len(idx) == 5 and idx == list(range(idx[0], idx[0] + 5))
        assert x.data["faulty_reps"] == sum(faulty[i] for i in idx)
    assert [p.value for p in rec.pain if p.moment == "set"] == [1, 2]


# -- the scripted stand-in ----------------------------------------------------------------------
def test_scripted_events_match_the_offline_analysis(recording):
    a = analyze_file(recording)
    evs = events_from_analysis(a, rate_hz=25)
    ts = [e.t for e in evs]
    assert ts == sorted(ts)
    angles = [e.event for e in evs if e.event["type"] == "angles"]
    dt = np.diff([e["t"] for e in angles])
    assert abs(np.median(dt) - 0.04) < 0.006 and len(angles) >= 24 * a.info["duration_s"]
    cues = [e.event for e in evs if e.event["type"] == "cue"]
    rounded = [m for m in a.reps if "lumbar_rounding" in m.faults]
    assert len(cues) == len(rounded) > 0  # one cue per rounded rep, none for the others
    for c, m in zip(cues, rounded, strict=True):
        assert m.start_s <= c["sample_time_s"] <= m.bottom_s + 1e-6
        assert c["value_deg"] > c["threshold_deg"] == round(a.thresholds.lumbar_rounding_deg, 2)
    reps = [e for e in evs if e.event["type"] == "rep"]
    assert [e.event["index"] for e in reps] == [m.index for m in a.reps]
    assert all(e.t >= m.end_s for e, m in zip(reps, a.reps, strict=True))
    states = [e.event["state"] for e in evs if e.event["type"] == "status"]
    assert states == ["calibrating", "calibrated", "running"]


def test_scripted_session_writes_a_live_session_and_stops_on_request(tmp_path, recording):
    st = open_store(tmp_path / "s.db")
    seen: list[dict] = []
    s = scripted_factory(speed=0)(f"replay:{recording}", None, seen.append, st, "eli")
    summary = s.run()
    a = analyze_file(recording)
    rec = st.session(summary.session_id)
    assert rec.summary.complete and rec.summary.kind == "live" and len(rec.reps) == len(a.reps)
    assert [c.t_s for c in rec.cues] == [e["sample_time_s"] for e in seen if e["type"] == "cue"]
    assert seen[-1] == {"type": "status", "state": "ended", "stopped": False}
    ang = st.stream(summary.session_id, "angles")
    assert ang is not None and len(ang) > 0.95 * len(a.angles)
    # stop() from another thread ends a real-time replay at once; what was written stays
    s2 = scripted_factory(speed=1)(f"replay:{recording}", None, lambda ev: None, st, "eli")
    threading.Timer(0.3, s2.stop).start()
    summary2 = s2.run()
    assert summary2.stopped and summary2.reps == 0 and st.session(summary2.session_id).summary.complete
    st.close()


def test_installed_factory_wins_and_unknown_sources_are_refused(tmp_path, recording):
    calls = []

    def factory(source, settings, on_event, store, person):
        calls.append(source)
        return ScriptedLiveSession([], on_event=on_event)

    live_bridge.install(factory)
    try:
        assert isinstance(live_bridge.start_live("udp:127.0.0.1:9999", None, print, None, None),
                          ScriptedLiveSession)
    finally:
        live_bridge.install(None)
    assert calls == ["udp:127.0.0.1:9999"]
    with pytest.raises(HingecoachError, match="replays recordings only"):
        scripted_factory()("webcam:0", None, print, None, None)
    with pytest.raises(HingecoachError, match="no such file"):
        scripted_factory()(f"replay:{tmp_path / 'nope.csv'}", None, print, None, None)
