"""``hingecoach live`` as a person runs it: the event stream, one-line errors with exit
code 2, the session stored by default, and Ctrl-C ending a live UDP session cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from cli_helpers import run_cli
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.store import open_store
from test_live import free_udp_port, send_realtime


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("live") / "sim.csv"
    rec, _, _truth = simulate(SimSettings(pattern=["good", "rounded", "rounded"], seed=21))
    write_imu_csv(path, rec)
    return path


def test_events_jsonl_to_stdout(sim_csv, tmp_path):
    r = run_cli("live", "--source", f"replay:{sim_csv}", "--speed", "0", "--no-save", "--no-sound",
                "--events-jsonl", "-")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    cues = [e for e in events if e["type"] == "cue"]
    assert len(cues) == 2
    assert set(cues[0]) == {"type", "fault", "sample_time_s", "value_deg", "threshold_deg", "message", "phrase"}
    assert cues[0]["fault"] == "lumbar_rounding" and cues[0]["threshold_deg"] == 20.0
    reps = [e for e in events if e["type"] == "rep"]
    off = json.loads(run_cli("analyze", str(sim_csv), "--json").stdout)["reps"]
    assert [e["faults"] for e in reps] == [m["faults"] for m in off]
    assert events[-1]["type"] == "status" and events[-1]["state"] == "ended"
    # the person-facing lines go to stderr: cues, reps, the summary
    assert "cue at" in r.stderr and "ended (source ended): 3 reps, 2 cues" in r.stderr
    assert not (tmp_path / "hingecoach.db").exists()


def test_events_jsonl_to_a_file_and_saved_by_default(sim_csv, tmp_path):
    out = tmp_path / "events.jsonl"
    env = {**os.environ, "HINGECOACH_HOME": str(tmp_path)}
    env.pop("HINGECOACH_DB", None)
    r = subprocess.run([sys.executable, "-m", "hingecoach.cli", "live", "--source", f"replay:{sim_csv}",
                        "--speed", "0", "--no-sound", "--events-jsonl", str(out), "--person", "cara"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    kinds = {json.loads(line)["type"] for line in out.read_text().splitlines()}
    assert {"status", "angles", "cue", "rep"} <= kinds
    assert "saved as session 1" in r.stderr
    with open_store(tmp_path / "hingecoach.db", create=False) as st:
        (s,) = st.sessions("cara")
        assert s.complete and s.reps == 3


@pytest.mark.parametrize(("args", "message"), [
    (["--source", "tcp:1.2.3.4:5"], "--source: expected one of udp:HOST:PORT"),
    (["--source", "replay:/nonexistent/rec.csv"], "no such file"),
    (["--source", "udp:127.0.0.1:70000"], "a port number 1-65535"),
    (["--source", "serial:/dev/nonexistent-tty"], "a serial port that opens"),
    (["--source", "replay:x.csv", "--speed", "-2"], "--speed"),
    (["--source", "replay:x.csv", "--placement", "knee"], "placement"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    r = run_cli("live", "--no-save", "--no-sound", *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("error:")]) == 1


def test_busy_udp_port_exit_2():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        r = run_cli("live", "--source", f"udp:127.0.0.1:{s.getsockname()[1]}", "--no-save", "--no-sound")
    assert r.returncode == 2 and "a free UDP port" in r.stderr and "Traceback" not in r.stderr


def test_ctrl_c_ends_a_live_udp_session_cleanly(tmp_path):
    """A sender streams in real time; the live process gets SIGINT mid-session: it exits
    0, the event stream ends with 'ended', and the stored session is complete with the
    reps it saw."""
    rec, _, _truth = simulate(SimSettings(pattern=["rounded", "good", "rounded", "good"], seed=22, calibration_s=2.5))
    port = free_udp_port()
    db = tmp_path / "h.db"
    proc = subprocess.Popen([sys.executable, "-m", "hingecoach.cli", "live", "--source", f"udp:127.0.0.1:{port}",
                             "--db", str(db), "--no-sound", "--events-jsonl", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events: list[dict] = []
    got_rep = threading.Event()

    def read():
        assert proc.stdout is not None
        for line in proc.stdout:
            ev = json.loads(line)
            events.append(ev)
            if ev["type"] == "rep":
                got_rep.set()

    reader = threading.Thread(target=read)
    reader.start()
    stop = threading.Event()
    sender = threading.Thread(target=send_realtime, args=(rec, port, stop))
    try:
        deadline = time.monotonic() + 30
        while not any(e.get("state") == "waiting" for e in events) and time.monotonic() < deadline:
            time.sleep(0.05)
        sender.start()
        assert got_rep.wait(40), proc.stderr.read() if proc.poll() is not None else "no rep"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        stop.set()
        if sender.is_alive():
            sender.join()
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=10)
    err = proc.stderr.read() if proc.stderr else ""
    for f in (proc.stdout, proc.stderr):
        if f is not None:
            f.close()
    assert proc.returncode == 0, err
    assert "ended (stopped)" in err and "saved as session 1" in err
    assert events[-1]["state"] == "ended" and events[-1]["reason"] == "stopped"
    n_reps = len([e for e in events if e["type"] == "rep"])
    assert n_reps >= 1
    with open_store(db, create=False) as st:
        (s,) = st.sessions()
        assert s.complete
        r = st.session(s.id)
        assert len(r.reps) >= n_reps and r.cues and r.cues[0].fault == "lumbar_rounding"
        assert "raw" in r.streams and "angles" in r.streams


def test_sigkill_loses_at_most_the_last_second(sim_csv, tmp_path):
    """A crash (SIGKILL) in the middle of a live session: the session opens, marked
    incomplete, with every rep that was reported and the samples up to a second before."""
    db = tmp_path / "h.db"
    proc = subprocess.Popen([sys.executable, "-m", "hingecoach.cli", "live", "--source", f"replay:{sim_csv}",
                             "--db", str(db), "--no-sound", "--events-jsonl", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    reps: list[dict] = []
    last_t = 0.0
    assert proc.stdout is not None
    for line in proc.stdout:
        ev = json.loads(line)
        if ev["type"] == "angles":
            last_t = ev["t"]
        if ev["type"] == "rep":
            reps.append(ev)
        if reps and last_t > reps[0]["end_s"] + 3.0:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    with open_store(db, create=False) as st:
        (s,) = st.sessions()
        assert not s.complete
        r = st.session(s.id)
        assert len(r.reps) >= len(reps) and r.reps[0].faults == tuple(reps[0]["faults"])
        raw = st.stream(s.id, "raw")
        assert raw is not None and raw.time_s[-1] >= last_t - 1.0
