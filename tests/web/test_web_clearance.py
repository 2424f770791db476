"""A clinician clears a red flag in the web app: the JSON API (clear, refuse an emergency
sign, revoke), today's session asking what changed since, and the Settings page in
headless Debian chromium (Playwright)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from coach_helpers import NO_FLAGS, clean_sets, run_session, session_doc
from hingecoach.coach.safety import CHANGED_QUESTION
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.testing.scripted import scripted_factory
from hingecoach.web.app import create_app
from web_helpers import LiveServer

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync"]
WAIT_MS = 60_000  # a bounded wait for the next step, not a timing assert


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clearance")
    write_imu_csv(d / "rec.csv", simulate(SimSettings(pattern="good", reps=4, seed=5))[0])
    return d / "rec.csv"


@pytest.fixture
def server(tmp_path):
    app = create_app(str(tmp_path / "web.db"), live_factory=scripted_factory(speed=8, rate_hz=100))
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        srv.client = client  # type: ignore[attr-defined]
        srv.app = app  # type: ignore[attr-defined]
        yield srv


def cancer_yes(app: Any, person: str, tmp_path: Path) -> None:
    """A scripted first session that ends on the cancer-history question."""
    st = app.state.hc.store
    doc = session_doc(clean_sets(1))
    doc["screen"] = dict(NO_FLAGS, cancer_history=True)
    with st.db.lock:
        out, _ = run_session(st, person, doc, tmp_path)
    assert out.urgency == "review"


def test_clearance_through_the_api_and_the_change_question_today(server, recording, tmp_path):
    c = server.client
    cancer_yes(server.app, "Rae", tmp_path)
    p = c.get("/api/people/Rae").json()
    assert p["plan"]["red_flags"] == [{"id": "cancer_history", "urgency": "review"}] and p["clearances"] == []
    flags = {f["id"]: f for f in c.get("/api/programme").json()["red_flags"]}
    assert flags["cancer_history"]["clearable"] and not flags["leg_weakness"]["clearable"]
    assert flags["leg_weakness"]["urgency"] == "emergency"
    # refused: an emergency sign, an unknown flag, nobody named; revoking what does not hold
    r = c.post("/api/people/Rae/red-flags/leg_weakness/clearance", json={"set_by": "Dr Rao"})
    assert r.status_code == 422 and "emergency sign" in r.text
    r = c.post("/api/people/Rae/red-flags/cancer/clearance", json={"set_by": "Dr Rao"})
    assert r.status_code == 422 and "did you mean 'cancer_history'" in r.text
    assert c.post("/api/people/Rae/red-flags/cancer_history/clearance", json={"set_by": ""}).status_code == 422
    r = c.post("/api/people/Rae/red-flags/cancer_history/clearance/revoke", json={"set_by": "Dr Rao"})
    assert r.status_code == 404
    r = c.post("/api/people/Rae/red-flags/cancer_history/clearance",
               json={"set_by": "Dr Rao", "note": "in remission"})
    assert r.status_code == 200, r.text
    pl = r.json()
    assert pl["blocked"] is None and [(x["flag"], x["set_by"], x["note"]) for x in pl["clearances"]] == [
        ("cancer_history", "Dr Rao", "in remission")]
    # today's session: emergency signs and the other flags, then the change question, not the cancer one
    r = c.post("/api/session", json={"person": "Rae", "source": f"replay:{recording}"})
    assert r.status_code == 200, r.text
    st, keys = r.json(), []
    while st["prompt"]["key"].startswith("screen."):
        keys.append(st["prompt"]["key"])
        if st["prompt"]["key"] == "screen.changed_since_clearance":
            assert st["prompt"]["text"] == CHANGED_QUESTION and "Dr Rao" in " ".join(st["prompt"]["details"])
        r = c.post("/api/session/answer", json={"key": st["prompt"]["key"], "value": False})
        assert r.status_code == 200, r.text
        st = r.json()
    assert keys == [f"screen.{k}" for k in NO_FLAGS if k != "cancer_history"] + ["screen.changed_since_clearance"]
    assert st["prompt"]["key"] == "pain_now"
    assert c.post("/api/session/stop", json={}).json()["outcome"]["outcome"] == "stopped"
    # revoked: kept with who and why, no longer holds
    r = c.post("/api/people/Rae/red-flags/cancer_history/clearance/revoke",
               json={"set_by": "Dr Rao", "note": "wrong person"})
    assert r.status_code == 200 and r.json()["clearances"] == []
    (old,) = c.get("/api/people/Rae").json()["clearances"]
    assert (old["active"], old["revoked_by"], old["revoke_reason"]) == (False, "Dr Rao", "wrong person")


def test_the_settings_page_clears_and_revokes_a_red_flag(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM} (apt-get install chromium)")
    pw = pytest.importorskip("playwright.sync_api")
    app = create_app(str(tmp_path / "web.db"), live_factory=scripted_factory(speed=8, rate_hz=100))
    cancer_yes(app, "Rae", tmp_path)
    with LiveServer(app) as srv, pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        errors: list[str] = []
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{srv.url}/settings?person=Rae")
            page.locator("#flags-pending", has_text="cancer_history (review)").wait_for()
            assert page.locator("#clear-form").count() == 1 and "<" not in page.title()  # the card once, in place
            assert "waiting for a doctor's review" in page.inner_text("#plan")
            options = page.eval_on_selector_all("#flag option", "os => os.map(o => o.value)")
            assert options == ["recent_trauma", "fever_weight_loss", "cancer_history"]  # no emergency sign
            page.select_option("#flag", "cancer_history")
            page.click("#clear-form button[type=submit]")
            page.locator("#clear-msg", has_text="set_by").wait_for()  # nobody named: refused, says why
            page.fill("#clear_set_by", "Dr Rao")
            page.fill("#clear_note", "in remission since 2019")
            page.click("#clear-form button[type=submit]")
            row = page.locator("#clearances tr[data-flag='cancer_history'][data-active='true']")
            row.wait_for()
            assert "Dr Rao" in row.inner_text() and "in remission since 2019" in row.inner_text()
            assert "waiting for a doctor's review" not in page.inner_text("#plan")
            with app.state.hc.store.db.lock:
                (c,) = app.state.hc.store.clearances("Rae")
            assert (c.flag, c.set_by, c.note) == ("cancer_history", "Dr Rao", "in remission since 2019")
            row.locator("button.revoke").click()
            page.locator("#clearances tr[data-flag='cancer_history'][data-active='false']").wait_for()
            assert "revoked" in page.inner_text("#clearances")
            with app.state.hc.store.db.lock:
                assert app.state.hc.store.clearances("Rae") == []
        finally:
            browser.close()
    assert errors == []
