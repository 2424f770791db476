"""A camera session's rep stills in the web app: served from the store by
``/sessions/{sid}/stills/{seq}``, listed in ``/api/sessions/{sid}``, and every still of
the session's report loaded in headless chromium (Playwright, /usr/bin/chromium). A
simulated clip, the pose model replayed (no MediaPipe)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hingecoach.web.app import create_app
from stills_helpers import analyse, sim_clip
from web_helpers import LiveServer

pytestmark = pytest.mark.camera
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, int, list]:
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    from hingecoach.stills import with_stills
    from hingecoach.store import open_store
    from hingecoach.store.files import save_file_analysis

    d = tmp_path_factory.mktemp("webstills")
    path, poses = sim_clip(d / "sim.mp4", ["good", "rounded", "good"])
    a = with_stills(path, analyse(path, poses))
    with open_store(d / "web.db") as st:
        sid = save_file_analysis(st, a, path, person="Anna")
    return d / "web.db", sid, a.stills


def test_the_stills_are_served_from_the_store(saved):
    db, sid, stills = saved
    with LiveServer(create_app(str(db))) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        listed = c.get(f"/api/sessions/{sid}").json()["stills"]
        assert [x["verdict"] for x in listed] == ["ok", "lumbar_rounding", "ok"]
        assert [x["caption"] for x in listed] == [s.caption() for s in stills]
        for x, s in zip(listed, stills, strict=True):
            r = c.get(x["url"])
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content == s.data
        assert c.get(f"/sessions/{sid}/stills/4").status_code == 404
        assert c.get(f"/sessions/{sid + 100}/stills/1").status_code == 404


def test_every_still_of_the_report_loads_in_the_browser(saved):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM} (apt-get install chromium)")
    pw = pytest.importorskip("playwright.sync_api")
    db, sid, stills = saved
    with LiveServer(create_app(str(db))) as srv, pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{srv.url}/sessions/{sid}/report")
            page.wait_for_load_state("load")
            sizes = page.eval_on_selector_all("figure.still img", "els => els.map(e => [e.complete, e.naturalWidth])")
            captions = page.eval_on_selector_all("figure.still figcaption", "els => els.map(e => e.textContent)")
        finally:
            browser.close()
    assert len(sizes) == len(stills) + 2  # the correct-next-to-rounded pair, then every rep
    assert all(done and w > 0 for done, w in sizes), sizes
    assert {w for _, w in sizes} == {s.width for s in stills}
    assert captions[2:] == [s.caption() for s in stills] and not errors
