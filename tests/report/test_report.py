"""Session reports: the HTML file's content, incomplete and empty sessions, the PDF, and
the HTML rendered in a real browser (headless Debian chromium through Playwright)."""

from __future__ import annotations

import base64
import os
import re
from html import escape
from pathlib import Path

import numpy as np
import pytest

from hingecoach.core.timeseries import TimeSeries
from hingecoach.core.vocabulary import fault_labels
from hingecoach.faults import MESSAGES, RepMetrics
from hingecoach.report import EXPLANATIONS, gather, render_html, write_report
from hingecoach.store import open_store
from store_helpers import BACKENDS, make_url, recording, saved_store

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync"]
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(params=BACKENDS)
def three_sessions(request, tmp_path):
    st, ids = saved_store(make_url(request.param, tmp_path, request), "anna", 3)
    st.add_pain(ids[-1], 4, "before")
    st.add_pain(ids[-1], 6, "after", note="sharp at the end")
    st.add_note(ids[-1], "Keep the wall drill <one more week> & recheck", "PT Lee")
    yield st, ids
    st.close()


def _pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_html_report_shows_everything(three_sessions, tmp_path):
    st, ids = three_sessions
    _, a = recording()
    out = tmp_path / "r.html"
    write_report(st, ids[-1], html=out)
    html = out.read_text()
    pngs = _pngs(html)
    assert len(pngs) == 2  # the angle page (60 s) and the progress page
    assert all(p.startswith(b"\x89PNG") and len(p) > 5000 for p in pngs)
    # self-contained: no script, no external resource, nothing fetched
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(https?:)?//', html)
    # the rep table: one row per rep with its verdict
    body = html.split('<table class="reps">')[1].split("</table>")[0]
    assert body.count("<tr>") == 1 + len(a.reps) + len(a.incomplete)
    for m in a.reps:
        assert (escape(fault_labels(m.faults)) if m.faults else ">ok<") in body
    # each fault seen, explained in plain language (the common-mistakes list) with its cue
    for f in {f for m in a.reps for f in m.faults}:
        assert EXPLANATIONS[f].mistake in html and MESSAGES[f].replace("'", "&#x27;") in html
    assert "sharp at the end" in html and "4 → 6" in html
    assert "&lt;one more week&gt; &amp; recheck" in html  # notes are escaped
    assert "not a diagnosis" in html and "see a doctor or physical therapist" in html
    assert 'class="progress"' in html and "@media print" in html and "page-break-before" in html
    assert "Incomplete session" not in html
    assert " · recorded file · source hinges-" in html and "offline" not in html  # the kind in plain words


def test_report_of_an_incomplete_session_without_reps(tmp_path):
    st = open_store(tmp_path / "x.db")
    w = st.writer(person="eve", source="udp:127.0.0.1:9000")
    w.append_angles(TimeSeries(np.arange(0, 20, 0.01), {"lumbar_flexion_deg": np.sin(np.arange(2000) / 50) * 5}))
    w.flush()  # then the process dies: never closed
    d = gather(st, w.id)
    html = render_html(d)
    assert "Incomplete session" in html and "No repetitions were recorded" in html
    assert "No pain ratings" in html and len(_pngs(html)) == 1  # angles; no reps, so no progress plot
    write_report(st, w.id, html=tmp_path / "r.html", pdf=tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    # and a session with nothing at all
    empty = st.writer(source="replay")
    html = render_html(gather(st, empty.id))
    assert "No angle samples" in html and "No repetitions" in html


def test_camera_channels_and_unknown_faults_are_shown(tmp_path):
    st = open_store(tmp_path / "x.db")
    w = st.writer(source="webcam:0")
    t = np.arange(0, 30, 1 / 30)
    w.append_angles(TimeSeries(t, {"lumbar_flexion_deg": 10 * np.sin(t), "hip_flexion_deg": 60 * np.sin(t) ** 2,
                                   "knee_flexion_deg": 5 * np.ones_like(t)}))
    w.add_rep(RepMetrics(1, 1.0, 2.0, 3.0, True, 12.0, 50.0, 55.0, 0.2, 0.0, 1.0,
                         faults=("squatting", "brand_new_rule")))
    w.close()
    html = render_html(gather(st, w.id))
    assert "Squatting instead of hinging" in html and "Brand new rule" in html


def test_long_sessions_are_split_into_readable_pages(tmp_path):
    st = open_store(tmp_path / "x.db")
    w = st.writer(source="replay")
    t = np.arange(0, 1000, 0.05)
    w.append_angles(TimeSeries(t, {"lumbar_flexion_deg": 10 * np.sin(t)}))
    w.close()
    html = render_html(gather(st, w.id))
    # 1000 s in 180 s rows, 3 rows per picture: 6 rows, 2 pictures
    assert len(_pngs(html)) == 2 and "time (min)" not in html  # (axis labels are in the image)


def test_pdf_report(three_sessions, tmp_path):
    st, ids = three_sessions
    write_report(st, ids[-1], pdf=tmp_path / "r.pdf")
    pdf = (tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages == 4  # summary, angles, rep table, progress


def _browser():
    pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM} (apt-get install chromium)")
    return pw


def test_report_renders_in_a_real_browser(three_sessions, tmp_path):
    pw = _browser()
    st, ids = three_sessions
    _, a = recording()
    out = tmp_path / "report.html"
    write_report(st, ids[-1], html=out)
    requests: list[str] = []
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1300})
            page.on("request", lambda r: requests.append(r.url))
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(out.as_uri())
            page.wait_for_load_state("load")
            sizes = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
                                  "i.naturalHeight, i.getBoundingClientRect().width])")
            assert len(sizes) == 2
            assert all(done and w > 500 and h > 200 and shown > 500 for done, w, h, shown in sizes)
            rows = page.locator("table.reps tbody tr")
            assert rows.count() == len(a.reps) + len(a.incomplete)
            assert rows.first.is_visible()
            assert page.locator("table.reps tbody tr .bad").count() == sum(1 for m in a.reps if m.faults)
            assert page.locator("h1").inner_text().startswith("Hip hinge session")
            shot = page.screenshot(clip={"x": 0, "y": 0, "width": 1000, "height": 1300})
            assert len(shot) > 20_000
            if os.environ.get("HINGECOACH_WRITE_DOCS") == "1":
                DOCS.mkdir(exist_ok=True)
                page.screenshot(path=str(DOCS / "report.png"), type="png",
                                clip={"x": 0, "y": 0, "width": 1000, "height": 1300})
            page.emulate_media(media="print")
            pdf = page.pdf(format="A4")
            assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2  # the progress page breaks apart
        finally:
            browser.close()
    assert errors == []
    assert requests and all(u.startswith(("file:", "data:")) for u in requests), requests


def test_docs_screenshot_is_small():
    png = DOCS / "report.png"
    assert png.exists(), "docs/report.png: run HINGECOACH_WRITE_DOCS=1 pytest tests/test_report.py"
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size < 300_000



def _camera_session(tmp_path, front_view: bool):
    """A simulated side-view clip (a good rep, a rounded one) analysed and stored; with
    ``front_view`` the person faces the camera instead."""
    from dataclasses import replace

    pytest.importorskip("cv2")
    from hingecoach.analysis import AnalysisSettings, analyze_camera
    from hingecoach.pose.camera import video_angles
    from hingecoach.testing.camera_sim import FramesModel, simulate_frames

    frames = list(simulate_frames(["good", "rounded"]))
    poses = []
    for *_, f in frames:
        xy = f.xy.copy()
        if front_view:
            xy[[12, 24]] += (150.0, 0.0)  # right shoulder and hip well apart: facing the camera
        poses.append(replace(f, xy=xy))
    r = video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames), FramesModel(poses),
                     source="sim.mp4")
    st = AnalysisSettings()
    # the simulator's silhouette has no lumbar hollow: the bow rule judges its backs
    a = analyze_camera(r, replace(st, camera=replace(st.camera, rounding_rule="bow")))
    store = open_store(tmp_path / "cam.db")
    sid = store.save_analysis(a, source="sim.mp4")
    html = render_html(gather(store, sid))
    store.close()
    return a, html


@pytest.mark.camera
def test_camera_report_shows_the_clip_verdict_and_each_rep_judged(tmp_path):
    a, html = _camera_session(tmp_path, front_view=False)
    assert a.camera_verdict.verdict == "faults" and [m.faults for m in a.reps] == [(), ("lumbar_rounding",)]
    assert "<h2>The clip's verdict</h2>" in html
    assert "faults: a judged repetition has a form fault</span> (2 of 2 repetitions judged, side view)" in html
    table = html[html.index('<table class="reps">'):]
    table = table[:table.index("</table>")]
    assert table.count('<span class="small">judged</span>') == 2 and "not judged" not in table


@pytest.mark.camera
def test_camera_report_says_why_reps_were_not_judged(tmp_path):
    a, html = _camera_session(tmp_path, front_view=True)
    assert a.camera_verdict.verdict == "cannot_judge"
    assert "cannot judge: the camera could not see, or could not confirm, what the verdicts need</span> (0 of 2" in html
    why = escape(a.camera_verdict.reps[0].not_judged_because)
    assert "film from the side, at hip height" in why
    assert f"<li>{why}</li>" in html  # the clip's reason
    table = html[html.index('<table class="reps">'):]
    table = table[:table.index("</table>")]
    assert table.count(f'<span class="small">not judged: {why}</span>') == 2
    assert '<span class="ok">ok</span>' not in table  # an unjudged rep is not "ok"
