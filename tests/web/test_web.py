"""The web app over a real uvicorn server on 127.0.0.1: a session through the JSON API
and the WebSocket (fed by the scripted stand-in for the live session at two 100 Hz
sensors' rate), input validation, the token and host rules, 50 concurrent history
requests, a client that disconnects mid-session, stopping, and the OpenAPI description."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from coach_helpers import NO_FLAGS
from hingecoach.analysis import analyze_file
from hingecoach.core.errors import HingecoachError, ParameterError
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.testing.scripted import scripted_factory
from hingecoach.web.app import create_app
from hingecoach.web.routes.pages import PAGES, STATIC, TEMPLATES
from hingecoach.web.server import check_binding
from web_helpers import LiveServer

SPEED = 8.0  # the replay runs 8 times faster than real time (the pages see the same events)
POLL_S = 0.05
POLLS = 1200  # a bounded wait (60 s) for the next step; never a timing assert


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("webrec")
    rec = simulate(SimSettings(pattern="mixed", reps=12, seed=2))[0]
    write_imu_csv(d / "rec.csv", rec)
    return d / "rec.csv"


@pytest.fixture
def server(tmp_path):
    app = create_app(str(tmp_path / "web.db"), live_factory=scripted_factory(speed=SPEED, rate_hz=100))
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        srv.client = client  # type: ignore[attr-defined]
        srv.app = app  # type: ignore[attr-defined]
        yield srv


def wait_for(client: httpx.Client, key: str | None) -> dict[str, Any]:
    """Poll today's session until its prompt is ``key`` (None: until it ended)."""
    for _ in range(POLLS):
        st = client.get("/api/session").json()
        if (st["prompt"] or {}).get("key") == key if key else not st["active"]:
            return st
        time.sleep(POLL_S)
    raise AssertionError(f"the session never reached {key!r}: {st}")


def answer(client: httpx.Client, key: str, value: Any) -> dict[str, Any]:
    r = client.post("/api/session/answer", json={"key": key, "value": value})
    assert r.status_code == 200, r.text
    return r.json()


def to_calibration(client: httpx.Client, person: str, recording: Path) -> dict[str, Any]:
    r = client.post("/api/session", json={"person": person, "source": f"replay:{recording}"})
    assert r.status_code == 200, r.text
    st = r.json()
    if st["prompt"]["key"].startswith("screen."):
        for k in NO_FLAGS:
            st = answer(client, f"screen.{k}", False)
    answer(client, "pain_now", 2)
    return answer(client, "setup", None)


def finish(client: httpx.Client, pain: int = 2) -> dict[str, Any]:
    st = answer(client, "pain_set", pain)
    if st["prompt"]["key"] == "another_set":
        st = answer(client, "another_set", False)
    return answer(client, "pain_after", pain)


def test_a_session_through_the_api_and_the_websocket_at_two_100hz_sensors(server, recording):
    c = server.client
    to_calibration(c, "anna", recording)
    msgs: list[dict[str, Any]] = []
    with connect(f"{server.ws_url}/ws/session", open_timeout=30) as ws:
        first = json.loads(ws.recv(timeout=30))
        assert first["type"] == "session" and first["prompt"]["key"] == "calibrate_max"
        answer(c, "calibrate_max", False)
        while True:
            m = json.loads(ws.recv(timeout=30))
            msgs.append(m)
            if m["type"] == "session" and (m["prompt"] or {}).get("key") == "pain_set":
                break
    angles = [m for m in msgs if m["type"] == "angles"]
    samples = [s for m in angles for s in m["samples"]]
    t = [s[0] for s in samples]
    span = angles[-1]["t"] - angles[0]["samples"][0][0]
    # the page gets >= 20 updates per second of the session (25 by design), each with every
    # 100 Hz sample since the last: none lost, none out of order
    assert len(angles) / span >= 20, (len(angles), span)
    assert all(0.0 < b - a < 0.0105 for a, b in itertools.pairwise(t))
    assert all(len(m["samples"]) <= 6 for m in angles[1:])  # 0.04 s of 100 Hz, +1 for rounding
    reps = [m for m in msgs if m["type"] == "rep"]
    cues = [m for m in msgs if m["type"] == "cue"]
    assert len(reps) == 5
    assert len(cues) == sum("lumbar_rounding" in r["faults"] for r in reps)
    counts = [m["set"]["reps"] for m in msgs if m["type"] == "session" and m.get("set")]
    assert counts == sorted(counts) and counts[-1] == 4  # the counter moved rep by rep
    st = c.get("/api/session").json()
    sid = st["session_id"]
    done = finish(c)
    assert done["outcome"]["outcome"] == "completed" and done["session_id"] == sid
    r = c.get(f"/sessions/{sid}/report")
    assert r.status_code == 200 and "data:image/png;base64" in r.text and "<script" not in r.text.lower()
    a = analyze_file(recording)
    idx = [x["index"] for x in reps]
    assert [x["faults"] for x in reps] == [list(m.faults) for m in a.reps if m.index in idx]
    detail = c.get(f"/api/sessions/{sid}").json()
    assert detail["sets"][0]["data"]["rep_indexes"] == idx
    assert [p["moment"] for p in detail["pain"]] == ["before", "set", "after"]


def test_browser_input_is_validated(server, recording):
    c = server.client
    bad_people = ["", " ", "a" * 65, "<script>", "../etc", "_x", "x\ty", "anna;drop"]
    for name in bad_people:
        r = c.post("/api/session", json={"person": name, "source": f"replay:{recording}"})
        assert r.status_code == 422, (name, r.text)
    assert c.get("/api/people/%3Cscript%3E").status_code == 422
    assert c.get("/api/people/" + "a" * 65).status_code == 422
    for src in ["replay:/etc/passwd", "replay:/nonexistent.csv", "http://example.com", "udp:host", "webcam:x",
                "replay:" + "a" * 600]:
        assert c.post("/api/session", json={"person": "anna", "source": src}).status_code == 422, src
    assert c.post("/api/session", json={"person": "anna", "source": f"replay:{recording}", "x": 1}).status_code == 422
    ok = c.post("/api/session", json={"person": "Zoë O'Neil-2", "source": f"replay:{recording}"})
    assert ok.status_code == 200  # names in any script, with spaces, apostrophes and hyphens
    for k in NO_FLAGS:
        answer(c, f"screen.{k}", False)
    for v in (11, -1, 2.5, "3", True, None, [], {"v": 1}):
        r = c.post("/api/session/answer", json={"key": "pain_now", "value": v})
        assert r.status_code == 422, (v, r.text)
    assert c.post("/api/session/answer", json={"key": "setup", "value": None}).status_code == 409  # wrong step
    assert c.post("/api/session/answer", json={"key": "pain_now", "value": 4}).status_code == 200
    assert c.post("/api/session/pain", json={"value": 3}).status_code == 409  # no set running
    r = c.post("/api/session/answer", content=b'{"key": "setup", "value": null}',
               headers={"content-type": "text/plain"})
    assert r.status_code == 415  # a plain form from another site cannot post
    assert c.post("/api/session/stop", json={}).json()["outcome"]["outcome"] == "stopped"
    for body in ({"lumbar_rounding_deg": 2, "set_by": "PT Lee"}, {"lumbar_rounding_deg": 91, "set_by": "PT Lee"},
                 {"share_of_max": 1.5, "set_by": "PT Lee"}, {"too_fast_s": 0, "set_by": "PT Lee"},
                 {"placement": "T3", "set_by": "PT Lee"}, {"lumbar_rounding_deg": 18}, {"set_by": "PT Lee"},
                 {"lumbar_rounding_deg": 18, "set_by": "<b>"}, {"clear": ["colour"], "set_by": "PT Lee"},
                 {"lumbar_rounding_deg": "NaN", "set_by": "PT Lee"}):
        assert c.put("/api/people/anna/thresholds", json=body).status_code == 422, body
    r = c.put("/api/people/anna/thresholds", json={"lumbar_rounding_deg": 17.5, "placement": "T8",
                                                    "set_by": "PT Lee"})
    assert r.status_code == 200
    th = r.json()["thresholds"]
    assert th["lumbar_rounding_deg"]["value"] == 17.5 and th["lumbar_rounding_deg"]["set_by"] == "PT Lee"
    assert th["placement"]["value"] == "T8"
    for body in ({"stage": 5, "set_by": "PT Lee"}, {"stage": 3, "wall_distance_cm": 20, "set_by": "PT Lee"},
                 {"stage": 1, "wall_distance_cm": 1, "set_by": "PT Lee"}, {"stage": "2", "set_by": "PT Lee"},
                 {"stage": 2, "set_by": ""}, {"stage": 2, "set_by": "PT Lee", "note": "a\x00b"}):
        assert c.post("/api/people/anna/plan", json=body).status_code == 422, body
    r = c.post("/api/people/anna/plan", json={"stage": 2, "wall_distance_cm": 18, "set_by": "PT Lee"})
    assert r.status_code == 200 and (r.json()["stage"], r.json()["wall_distance_cm"]) == (2, 18.0)


def test_fifty_concurrent_history_requests_while_a_session_streams(server, recording, tmp_path):
    c = server.client
    st = server.app.state.hc.store
    from store_helpers import recording as sim_recording

    rec, a = sim_recording()
    for k in range(8):
        st.save_analysis(a, raw=rec, person="anna", source=f"s{k}.csv",
                         started_at=f"2026-10-{10 + k:02d}T09:00:00+00:00")
    to_calibration(c, "anna", recording)
    answer(c, "calibrate_max", False)
    wait_for(c, "set")  # the live session streams and writes while the requests come in

    async def hammer() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as ac:
            return await asyncio.gather(*(ac.get("/api/people/anna/history") for _ in range(50)))

    responses = asyncio.run(hammer())
    assert [r.status_code for r in responses] == [200] * 50
    bodies = [r.json() for r in responses]
    assert all(len(b["sessions"]) >= 9 for b in bodies)
    assert all([s["id"] for s in b["sessions"]][:8] == [s["id"] for s in bodies[0]["sessions"]][:8] for b in bodies)
    c.post("/api/session/stop", json={})


def test_the_server_survives_a_client_that_disconnects_mid_session(server, recording):
    c = server.client
    to_calibration(c, "ben", recording)
    with contextlib.suppress(ConnectionClosed), connect(f"{server.ws_url}/ws/session", open_timeout=30) as ws:
        answer(c, "calibrate_max", False)
        got = [json.loads(ws.recv(timeout=30)) for _ in range(20)]
        assert any(m["type"] == "angles" for m in got)
        ws.socket.shutdown(socket.SHUT_RDWR)  # gone without a closing handshake (a closed laptop lid)
        ws.socket.close()
    st = wait_for(c, "pain_set")  # the session went on
    assert st["set"] is None and st["live"]["reps"] >= 5
    with connect(f"{server.ws_url}/ws/session", open_timeout=30) as ws2:
        first = json.loads(ws2.recv(timeout=30))
        assert first["type"] == "session" and first["prompt"]["key"] == "pain_set"
        assert any(json.loads(ws2.recv(timeout=30))["type"] == "angles" for _ in range(10))
    for _ in range(POLLS):
        if server.app.state.hc.hub.clients == 0:
            break
        time.sleep(POLL_S)
    assert server.app.state.hc.hub.clients == 0  # both clients were dropped
    done = finish(c)
    assert done["outcome"]["outcome"] == "completed"
    assert c.get(f"/sessions/{done['session_id']}/report").status_code == 200


def test_pain_during_a_set_ends_it_and_stop_keeps_everything(server, recording):
    c = server.client
    to_calibration(c, "cy", recording)
    answer(c, "calibrate_max", False)
    wait_for(c, "set")
    r = c.post("/api/session/pain", json={"value": 7})
    assert r.status_code == 200
    st = r.json()
    # pain above 5 at the first stage: the set ends and so does the exercise for today
    assert st["decisions"][-1]["rule"] == "pain_at_first_stage" and st["prompt"]["key"] == "pain_after"
    st = c.post("/api/session/stop", json={}).json()
    assert st["outcome"]["outcome"] == "stopped" and not st["active"]
    detail = c.get(f"/api/sessions/{st['session_id']}").json()
    assert [(p["moment"], p["value"]) for p in detail["pain"]] == [("before", 2), ("during", 7)]
    assert detail["sets"][0]["data"]["ended_by"] == "pain"
    assert detail["summary"]["complete"]  # the live session was stopped and closed
    assert c.post("/api/session/answer", json={"key": "pain_after", "value": 1}).status_code == 409


# -- access -----------------------------------------------------------------------------
TOKEN = "k9Q2vX7mL4pR8sT1wY6zA3bC"


def test_token_required_off_loopback(tmp_path):
    app = create_app(str(tmp_path / "t.db"), token=TOKEN, loopback=False)
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url) as c:
        for path in ("/", "/api/people", "/openapi.json", "/static/app.css", "/history"):
            r = c.get(path)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
        assert c.post("/api/session/stop", json={}).status_code == 401
        assert c.get("/api/people", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
        assert c.get("/api/people", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        with pytest.raises(InvalidStatus) as e:
            connect(f"{srv.ws_url}/ws/session", open_timeout=30)
        assert e.value.response.status_code == 403
        # the browser: /?token=T once, then a cookie (the token leaves the address bar)
        r = c.get(f"/history?token={TOKEN}&person=anna")
        assert r.status_code == 303 and r.headers["location"] == "/history?person=anna"
        assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
        assert c.get("/api/people").status_code == 200  # the cookie jar carries it now
        with connect(f"{srv.ws_url}/ws/session", open_timeout=30,
                     additional_headers={"Cookie": f"hingecoach_token={TOKEN}"}) as ws:
            assert json.loads(ws.recv(timeout=30))["type"] == "session"


def test_loopback_refuses_other_hosts_and_other_sites(tmp_path):
    app = create_app(str(tmp_path / "l.db"))
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url) as c:
        assert c.get("/api/people").status_code == 200
        assert c.get("/api/people", headers={"Host": "localhost:1"}).status_code == 200
        assert c.get("/api/people", headers={"Host": "evil.example"}).status_code == 403  # DNS rebinding
        r = c.post("/api/session/stop", json={}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        with pytest.raises(InvalidStatus):
            connect(f"{srv.ws_url}/ws/session", open_timeout=30, origin="http://evil.example")  # type: ignore[arg-type]
        r = c.get("/")
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"


def test_serve_refuses_to_bind_beyond_this_computer_without_a_token():
    assert check_binding("127.0.0.1", None) and check_binding("::1", None) and check_binding("localhost", None)
    with pytest.raises(HingecoachError, match=r"give a --token"):
        check_binding("0.0.0.0", None)
    with pytest.raises(HingecoachError, match="--token"):
        check_binding("192.168.1.20", None)
    assert check_binding("0.0.0.0", TOKEN) is False
    for weak in ("", "short", "has space in it 0123456789", "semi;colon0123456789"):
        with pytest.raises(ParameterError):
            check_binding("0.0.0.0", weak)


def test_serve_cli_refuses_without_a_token(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "HINGECOACH_HOME": str(tmp_path)}
    env.pop("HINGECOACH_TOKEN", None)
    r = subprocess.run([sys.executable, "-m", "hingecoach.cli", "serve", "--host", "0.0.0.0", "--port", "1"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and "--token" in r.stderr and "Traceback" not in r.stderr


# -- what the pages are made of ----------------------------------------------------------------------
def test_openapi_describes_the_api_and_no_page_loads_anything_from_elsewhere(server):
    c = server.client
    spec = c.get("/openapi.json").json()
    for path in ("/api/session", "/api/session/answer", "/api/session/pain", "/api/people/{name}/history",
                 "/api/people/{name}/thresholds", "/api/people/{name}/plan", "/sessions/{sid}/report"):
        assert path in spec["paths"], path
    body = spec["components"]["schemas"]["PainIn"]["properties"]["value"]
    assert (body["minimum"], body["maximum"]) == (0, 10)
    assert c.get("/docs").status_code == 404 and c.get("/redoc").status_code == 404
    for f in STATIC.iterdir():
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)\s*=\s*[\"'](https?:)?//", text), f.name
        assert "cdn" not in text.lower() and "<script>" not in text, f.name  # no inline script (CSP)
        assert c.get(f"/static/{f.name}").status_code == 200
    # the pages as served, from the templates: the same rules, and every script they name is served
    assert sorted(f.name for f in TEMPLATES.iterdir()) == sorted(["base.html", *(p.template for p in PAGES)])
    for page in PAGES:
        r = c.get(page.path)
        assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8", page.path
        assert not re.search(r"(src|href)\s*=\s*[\"'](https?:)?//", r.text), page.path
        assert "cdn" not in r.text.lower() and "<script>" not in r.text, page.path
        assert r.text.count('<a data-page href="') == len(PAGES), page.path  # the one navigation
        scripts = re.findall(r'<script src="(/static/[\w.]+)"></script>', r.text)
        assert scripts[0] == "/static/common.js" and len(scripts) >= 2, page.path
        assert all(c.get(s).status_code == 200 for s in scripts), page.path
