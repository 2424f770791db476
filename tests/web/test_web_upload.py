"""Uploading a recording to the web app (``POST /api/analyses``) over a real uvicorn server:
the job's life to a stored session with the same document as ``analyze --json``, the
WebSocket's progress, bad files with the command line's messages (nothing left in the
upload folder, the server still answering), the size limit, the upload's security rules,
and adding people."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from hingecoach.analysis import analyze_file
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.web import uploads
from hingecoach.web.app import create_app
from web_helpers import LiveServer

UPLOAD = {"X-Requested-With": "hingecoach"}
POLL_S = 0.05
POLLS = 2400  # a bounded wait (120 s) for a job, never a timing assert


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """Eight simulated hinges, reps 3-5 rounding the lower back (seeded)."""
    d = tmp_path_factory.mktemp("upload")
    write_imu_csv(d / "hinges.csv", simulate(SimSettings(pattern="mixed", reps=8, seed=3))[0])
    return d / "hinges.csv"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("uploadsrv")
    app = create_app(str(d / "web.db"), media_dir=d / "media")
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        srv.client = client  # type: ignore[attr-defined]
        srv.app = app  # type: ignore[attr-defined]
        yield srv
    assert not app.state.hc.upload_dir.exists()  # the server removed its upload folder at shutdown


def upload(client: httpx.Client, name: str, content: bytes, **fields: str) -> httpx.Response:
    return client.post("/api/analyses", files={"file": (name, content)}, data=fields, headers=UPLOAD)


def wait_done(client: httpx.Client, job_id: str) -> dict[str, Any]:
    for _ in range(POLLS):
        job = client.get(f"/api/analyses/{job_id}").json()
        if job["status"] in ("done", "failed") and job["phase"] == "finished":
            return job
        time.sleep(POLL_S)
    raise AssertionError(f"analysis {job_id} never finished: {job}")


def test_a_recording_becomes_a_session_with_the_analyze_document(server, recording):
    c = server.client
    r = upload(c, "../../etc/my hinges.csv", recording.read_bytes(), person="Anna", exercise="hinge")
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert r.json()["file"] == "my hinges.csv"  # the name is shown, its folders dropped
    job = wait_done(c, job_id)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and job["error"] is None and job["overlay"] is None
    expected = analyze_file(recording).to_json()
    got = job["result"]
    assert got["summary"] == expected["summary"]
    assert [x["faults"] for x in got["reps"]] == [x["faults"] for x in expected["reps"]]
    assert got["recording"]["source"] == "my hinges.csv"
    sid = job["session_id"]
    s = c.get(f"/api/sessions/{sid}").json()
    assert s["summary"]["reps"] == expected["summary"]["reps"] and s["summary"]["person"] == "Anna"
    assert s["report"] == job["report"] == f"/sessions/{sid}/report"
    assert c.get(job["report"]).status_code == 200
    assert [p["name"] for p in c.get("/api/people").json()] == ["Anna"]
    hist = c.get("/api/people/Anna/history").json()
    assert [x["id"] for x in hist["sessions"]] == [sid]
    assert hist["sessions"][0]["kind"] == "offline" and hist["sessions"][0]["what"] == "recorded file"
    assert not list(server.app.state.hc.upload_dir.iterdir())  # the upload was deleted
    assert any(j["id"] == job_id for j in c.get("/api/analyses").json())


def test_progress_over_the_websocket(server, recording):
    with connect(f"{server.ws_url}/ws/analyses", open_timeout=10) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "analyses"
        job_id = upload(server.client, "walk.csv", recording.read_bytes()).json()["id"]
        seen = []
        while not seen or seen[-1]["phase"] != "finished":
            m = json.loads(ws.recv(timeout=120))
            if m.get("id") == job_id:
                seen.append(m)
    assert seen[0]["status"] == "queued"
    assert "running" in [m["status"] for m in seen] and seen[-1]["status"] == "done"
    assert seen[-1]["session_id"] is not None and seen[-1]["result"] is None  # fetch it with GET


BAD = [("empty.csv", b"", "empty.csv: expected a recording with a header and data rows, found an empty file"),
       ("empty.mov", b"", "empty.mov: expected a video file, found an empty file"),
       ("garbage.csv", b"hello,world\n1,2\n", "garbage.csv: expected a hingecoach CSV"),
       ("noise.mp4", bytes(range(256)) * 64, "noise.mp4: expected a video file"),
       ("photo", b"\x00\x01binary" * 100, "photo: expected a text recording (CSV), found binary data")]


@pytest.mark.parametrize(("name", "content", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_files_get_the_command_lines_message(server, name, content, message):
    r = upload(server.client, name, content)
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith(message)
    assert "hingecoach-uploads" not in r.json()["detail"]  # never the temporary path
    assert not list(server.app.state.hc.upload_dir.iterdir())


def test_a_recording_that_fails_in_the_analysis_fails_its_job(server):
    text = "time_s,lower_acc_x\n0,abc\n"  # a hingecoach header, but not its columns
    r = upload(server.client, "short.csv", text.encode())
    assert r.status_code == 202, r.text
    job = wait_done(server.client, r.json()["id"])
    assert job["status"] == "failed" and job["session_id"] is None
    assert job["error"].startswith("short.csv") and "\n" not in job["error"]
    assert not list(server.app.state.hc.upload_dir.iterdir())


def test_the_size_limit(server, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 10_000)
    r = upload(server.client, "big.csv", b"time_s\n" + b"0\n" * 20_000)
    assert r.status_code == 413 and "up to 0 MB" in r.json()["detail"]

    def chunks():  # no Content-Length: the limit stops the stream itself
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n"
        for _ in range(50):
            yield b"0\n" * 1000
        yield b"\r\n--b--\r\n"

    r = server.client.post("/api/analyses", content=chunks(),
                           headers={**UPLOAD, "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413, r.text
    assert not list(server.app.state.hc.upload_dir.iterdir())


def test_upload_requests_the_server_refuses(server, recording):
    c = server.client
    data = recording.read_bytes()
    r = c.post("/api/analyses", files={"file": ("a.csv", data)})  # a plain form could send this
    assert r.status_code == 415
    r = c.post("/api/analyses", files={"file": ("a.csv", data)}, headers={**UPLOAD, "Origin": "http://evil.example"})
    assert r.status_code == 403
    assert c.post("/api/people", files={"file": ("a.csv", data)}, headers=UPLOAD).status_code == 415
    assert upload(c, "a.csv", data, person="<script>").status_code == 400
    assert upload(c, "a.csv", data, exercise="squat").json()["detail"].startswith("exercise: expected one of")
    r = c.post("/api/analyses", files={"other": ("a.csv", data)}, headers=UPLOAD)
    assert r.status_code == 400 and "expected the fields" in r.json()["detail"]
    r = c.post("/api/analyses", files={"person": (None, "Anna")}, headers=UPLOAD)
    assert r.status_code == 400 and "found none" in r.json()["detail"]
    assert c.post("/api/analyses", data={"person": "Anna"}, headers=UPLOAD).status_code == 415  # not multipart
    assert c.get("/api/analyses/nope").status_code == 404
    assert c.get("/sessions/999/overlay.mp4").status_code == 404
    assert not list(server.app.state.hc.upload_dir.iterdir())


def test_adding_people(server):
    c = server.client
    r = c.post("/api/people", json={"name": " Ben "})
    assert r.status_code == 201 and r.json()["name"] == "Ben"
    assert c.post("/api/people", json={"name": "Ben"}).status_code == 201  # already there: fine
    assert c.post("/api/people", json={"name": "<b>"}).status_code == 422
    assert "Ben" in [p["name"] for p in c.get("/api/people").json()]


def test_names_and_suffixes():
    assert uploads.shown_name("C:\\Users\\a\\clip.MOV") == "clip.MOV"
    assert uploads.shown_name("../../x/\x00evil\n.csv") == "evil.csv"
    assert uploads.shown_name("") == "upload"
    assert uploads.safe_suffix("clip.MOV", b"") == ".mov"
    assert uploads.safe_suffix("clip.exe", b"\x00\x00\x00\x18ftypmp42") == ".mp4"
    assert uploads.safe_suffix("clip", b"\x1a\x45\xdf\xa3....") == ".webm"
    assert uploads.safe_suffix("a.sh", b"time_s,") == ".csv"
    assert uploads.safe_suffix("export", b"PK\x03\x04....") == ".zip"


def test_a_worker_that_dies_fails_its_job_and_the_next_one_runs(server, recording):
    """A decoder crash kills the worker process: its job fails with a one-line message, the
    upload is deleted, and a fresh worker takes the next job."""
    import os
    import signal

    jobs = server.app.state.hc.jobs
    old = jobs.proc
    if old is not None:  # a worker left idle by the tests before: the job starts a new one
        old.kill()
        old.join(10)
    job_id = upload(server.client, "crash.csv", recording.read_bytes()).json()["id"]
    for _ in range(POLLS * 10):  # the worker is being started for this job (spawn + imports)
        proc = jobs.proc
        if proc is not None and proc is not old and proc.pid is not None:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    job = wait_done(server.client, job_id)
    assert job["status"] == "failed", job
    assert job["error"].startswith("crash.csv: the analysis stopped unexpectedly"), job["error"]
    assert not list(server.app.state.hc.upload_dir.iterdir())
    again = wait_done(server.client, upload(server.client, "after.csv", recording.read_bytes()).json()["id"])
    assert again["status"] == "done", again


def test_off_this_computer_an_upload_needs_the_token(tmp_path):
    token = "upload-token-0123456789"
    app = create_app(str(tmp_path / "web.db"), token=token, loopback=False, media_dir=tmp_path / "media")
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        assert upload(c, "notes.csv", b"shopping list\n").status_code == 401
        c.headers["Authorization"] = f"Bearer {token}"
        r = upload(c, "notes.csv", b"shopping list\n")
        assert r.status_code == 400 and r.json()["detail"].startswith("notes.csv: expected")
        assert c.get("/api/analyses").json() == []
