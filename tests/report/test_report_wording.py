"""A camera session is described as a camera session: the HTML report, the PDF's strings,
``plan`` and the web session page carry no sensor words, and its range of hinge is the
median peak hip flexion; an IMU session keeps its own wording. The charts: the rounding
zone spans only from the threshold up, reps are marked along the chart's foot, and a
camera's chart has no pelvis-tilt line. The ``analyze`` rep table never cuts a fault id in
an 80-column terminal."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import httpx
import matplotlib.text
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from rich.console import Console

import hingecoach.report.pdf as report_pdf
from hingecoach.analysis import Analysis, AnalysisSettings
from hingecoach.cli import _fault_abbreviations, _rep_tables
from hingecoach.coach import load, plan, plan_lines
from hingecoach.report import gather, render_html, write_pdf
from hingecoach.report.figures import REP_BAR, ZONE_GID, angle_plots
from hingecoach.store import open_store
from store_helpers import recording, saved_store
from web_helpers import LiveServer

#: Words that belong to the two-IMU path and must not describe a camera session.
SENSOR_WORDS = re.compile(r"sensor|\bIMUs?\b|placement|pelvis|calibrat", re.IGNORECASE)
CAMERA_PERSON = "cam"
LONG_FAULTS = ("lumbar_rounding", "neck_craning", "upper_back_bending", "top_overextension")


def _camera_analysis() -> Analysis:
    """The camera simulator's side view (a good rep, a rounded one) through the pose stage."""
    pytest.importorskip("cv2")
    from hingecoach.analysis import analyze_camera
    from hingecoach.pose.camera import video_angles
    from hingecoach.testing.camera_sim import FramesModel, simulate_frames

    frames = list(simulate_frames(["good", "rounded"]))
    r = video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames),
                     FramesModel([f for *_, f in frames]), source="sim.mp4")
    st = AnalysisSettings()
    # the simulator's silhouette has no lumbar hollow: the bow rule judges its backs
    return analyze_camera(r, replace(st, camera=replace(st.camera, rounding_rule="bow")), info={
        "video": {"width": 480, "height": 640, "nominal_fps": 30.0, "declared_frames": len(frames),
                  "rotation_deg": 0, "codec": "h264"}})


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    """A store with one camera session of the person ``cam``: (db path, session id, analysis)."""
    a = _camera_analysis()
    db = tmp_path_factory.mktemp("wording") / "cam.db"
    with open_store(db) as st:
        sid = st.save_analysis(a, person=CAMERA_PERSON, settings=AnalysisSettings(), source="sim.mp4")
    return db, sid, a


def _visible(html: str) -> str:
    """The report's words: without its CSS and the PNG data."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)


def _hip_median(a: Analysis) -> float:
    """The median over the complete reps of the peak hip flexion (deg), computed here on its own."""
    t, hip = a.angles.time_s, a.angles["hip_flexion_deg"]
    return float(np.median([np.nanmax(hip[(t >= m.start_s) & (t <= m.end_s)]) for m in a.reps]))


def _standing_share(a: Analysis) -> float:
    """The standing person's nose-to-lowest-foot span over the 640 px frame height, from the
    pose frames themselves (BlazePose indices: nose 0, ankles 27-28, heels 29-30, toes 31-32)."""
    w0, w1 = a.info["calibration_window_s"]
    spans = [np.nanmax(f.xy[27:33, 1]) - f.xy[0, 1] for f in a.camera.frames if w0 <= f.time_s <= w1]
    return float(np.median(spans)) / 640


def _figure_strings(fig: Figure) -> list[str]:
    """Every string drawn in a matplotlib figure (titles, labels, ticks, legends, texts)."""
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


@pytest.mark.camera
def test_camera_html_report_has_no_sensor_words(camera):
    db, sid, a = camera
    with open_store(db) as st:
        html = render_html(gather(st, sid))
    words = _visible(html)
    assert not SENSOR_WORDS.search(words), SENSOR_WORDS.findall(words)
    assert "Camera session (video): side view" in words and "pose model BlazePose full" in words
    assert "480×640 px, 30 frames/s" in words
    # the standing person's size in the frame, from the stored landmarks (nose to feet)
    m = re.search(r"standing, nose to feet about (\d+) % of the frame height", words)
    assert m is not None and int(m.group(1)) == round(100 * _standing_share(a))
    m = re.search(r"<b>(\d+)°</b><span>range of hinge \(median peak hip flexion\)</span>", words)
    assert m is not None and int(m.group(1)) == round(_hip_median(a))
    assert "back bow (°)</th>" in words and "hip flexion (°)</th>" in words  # the camera's rep table


@pytest.mark.camera
def test_camera_pdf_strings_have_no_sensor_words(camera, tmp_path, monkeypatch):
    db, sid, a = camera
    drawn: list[str] = []
    real = report_pdf.PdfPages

    class Recording(real):  # type: ignore[misc, valid-type]
        def savefig(self, figure=None, **kw):
            drawn.extend(_figure_strings(figure))
            return super().savefig(figure, **kw)

    monkeypatch.setattr(report_pdf, "PdfPages", Recording)
    with open_store(db) as st:
        d = gather(st, sid)
    write_pdf(d, tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    text = " ".join(" ".join(drawn).split())  # the text pages wrap long lines
    assert "Repetitions" in text and "degrees" in text  # the text pages and the angle page were seen
    assert not SENSOR_WORDS.search(text), SENSOR_WORDS.findall(text)
    assert f"range of hinge (median peak hip flexion): {_hip_median(a):.1f} deg" in text
    assert "Camera session (video): side view" in text


@pytest.mark.camera
def test_plan_of_a_filmed_person_has_no_sensor_words(camera):
    db, _, a = camera
    with open_store(db) as st:
        p = plan(load(st, CAMERA_PERSON))
    text = "\n".join(plan_lines(p))
    assert not SENSOR_WORDS.search(text), text
    assert "lumbar rounding cue from the camera" in text
    assert p["placement"] == "camera" and p["threshold_deg"] == round(a.thresholds.lumbar_rounding_deg, 1)
    assert f"({a.thresholds.lumbar_rounding_deg:.0f}° in session" in text


def test_plan_of_a_sensor_person_keeps_its_wording(tmp_path):
    st, _ = saved_store(str(tmp_path / "imu.db"), "anna")
    with st:
        lines = plan_lines(plan(load(st, "anna")))
    assert "  lumbar rounding cue above 20° (the default for an upper sensor at T12)" in lines


@pytest.mark.camera
def test_web_session_page_of_a_camera_session_has_no_sensor_words(camera):
    from hingecoach.web.app import create_app

    db, sid, _ = camera
    with LiveServer(create_app(str(db))) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.get(f"/sessions/{sid}/report")
        who = c.get(f"/api/people/{CAMERA_PERSON}").json()
    assert r.status_code == 200
    words = _visible(r.text)
    assert not SENSOR_WORDS.search(words), SENSOR_WORDS.findall(words)
    assert "range of hinge (median peak hip flexion)" in words
    assert not SENSOR_WORDS.search(who["plan"]["threshold_source"])


def test_imu_report_keeps_its_sensor_wording(tmp_path):
    st, ids = saved_store(str(tmp_path / "imu.db"), "anna")
    with st:
        html = render_html(gather(st, ids[0]))
    assert "Upper sensor at T12." in html and "range of hinge (median pelvis tilt)" in html
    assert "<th>pelvis tilt (°)</th>" in html and "Camera session" not in html


def _zone_and_lines(fig: Figure) -> tuple[list[Rectangle | object], list[str]]:
    ax = fig.axes[0]
    return [p for p in ax.patches if p.get_gid() == ZONE_GID], [ln.get_gid() for ln in ax.lines if ln.get_gid()]


@pytest.mark.camera
def test_camera_chart_zone_is_the_band_above_the_threshold_and_has_no_pelvis_line(camera):
    _, _, a = camera
    # a channel the camera never measures, as an empty pelvis tilt, is not drawn either
    empty = replace(a, angles=a.angles.with_channels({"pelvis_tilt_deg": np.full(len(a.angles), np.nan)}))
    for analysis in (a, empty):
        fig, _ = angle_plots(analysis)[0]
        ax = fig.axes[0]
        zones, lines = _zone_and_lines(fig)
        assert len(zones) == 1
        ext = zones[0].get_path().get_extents(zones[0].get_patch_transform())
        th = analysis.thresholds.lumbar_rounding_deg
        assert ext.y0 == pytest.approx(th) and ext.y1 == pytest.approx(ax.get_ylim()[1])
        assert "pelvis_tilt_deg" not in lines and "hip_flexion_deg" in lines
        assert "back_curvature_deg" not in lines  # the lumbar line is the dowel's bow already
        assert not any(SENSOR_WORDS.search(s) for s in _figure_strings(fig))
        assert "back bow (virtual dowel)" in _figure_strings(fig)
        # the reps are bars along the foot of the axes (axes fractions), never over the zone
        bars = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_gid() == "reps"]
        assert bars and all(c.get_transform() == ax.get_xaxis_transform() for c in bars)
        for c in bars:
            ys = np.concatenate([p.vertices[:, 1] for p in c.get_paths()])
            assert ys.min() >= 0.0 and ys.max() <= REP_BAR + 1e-9


def test_imu_chart_keeps_pelvis_tilt_and_the_zone_above_the_threshold():
    _, a = recording()
    fig, _ = angle_plots(a)[0]
    ax = fig.axes[0]
    zones, lines = _zone_and_lines(fig)
    assert {"lumbar_flexion_deg", "pelvis_tilt_deg", "trunk_inclination_deg"} <= set(lines)
    ext = zones[0].get_path().get_extents(zones[0].get_patch_transform())
    assert ext.y0 == pytest.approx(a.thresholds.lumbar_rounding_deg) and ext.y1 == pytest.approx(ax.get_ylim()[1])
    assert ext.y0 > ax.get_ylim()[0]  # a band, not the whole chart
    assert "pelvis tilt" in _figure_strings(fig) and "lumbar flexion" in _figure_strings(fig)


def _table_text(a: Analysis, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    for part in _rep_tables(a, console):
        console.print(part)
    return console.export_text()


@pytest.mark.parametrize("source", ["imu", "camera"])
def test_rep_table_never_cuts_a_fault_name_at_80_columns(source):
    a = recording()[1] if source == "imu" else _camera_analysis()
    a = replace(a, reps=[replace(m, faults=LONG_FAULTS if k == 0 else ("neck_craning",))
                         for k, m in enumerate(a.reps)])
    text = _table_text(a, 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    short = _fault_abbreviations(LONG_FAULTS)
    table, _, legend = text.partition("faults: ")
    for name in LONG_FAULTS:
        if name in table:
            continue  # shown in full
        assert re.search(rf"\b{short[name]}\b", table), (name, text)
        # the legend spells the code out (it may wrap between the code and the name)
        assert re.search(rf"\b{short[name]} =\s+{name}\b", legend), (name, text)
    assert not re.search(r"lumbar_roun(?!ding)|neck_cranin(?!g)", text)  # no cut name anywhere
    wide = _table_text(a, 200)
    assert all(name in wide for name in LONG_FAULTS) and "faults: " not in wide


def test_fault_abbreviations_are_unique():
    short = _fault_abbreviations(["too_fast", "top_overextension", "two_feet", "squatting", "shallow_hinge"])
    assert len(set(short.values())) == 5 and short["too_fast"] == "TF" and short["two_feet"] == "TF2"


@pytest.mark.camera
def test_history_page_of_a_filmed_person_has_no_sensor_words(camera):
    """The History page's plan line, in headless Debian chromium (skipped without it)."""
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    pw = pytest.importorskip("playwright.sync_api")
    from hingecoach.web.app import create_app

    db, _, _ = camera
    with LiveServer(create_app(str(db))) as srv, pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(f"{srv.url}/history?person={CAMERA_PERSON}")
            page.locator("#plan", has_text="next session").wait_for(timeout=60_000)
            text = page.inner_text("#plan")
        finally:
            browser.close()
    assert "Lumbar rounding cue from the camera" in text
    assert not SENSOR_WORDS.search(text), text


def test_person_share_needs_landmarks_and_the_frame_height():
    from hingecoach.core.timeseries import TimeSeries
    from hingecoach.report.wording import person_share

    t = np.arange(0, 3, 0.5)
    ts = TimeSeries(t, {"nose": np.column_stack([t * 0, np.full(t.size, 100.0)]),
                        "left_heel": np.column_stack([t * 0, np.full(t.size, 420.0)]),
                        "right_heel": np.column_stack([t * 0, np.full(t.size, np.nan)])},
                    meta={"image_height": 640})
    assert person_share(ts, (0.0, 1.0)) == pytest.approx(0.5)
    assert person_share(None, (0.0, 1.0)) is None  # an IMU session, or no landmarks stored
    assert person_share(ts.with_meta(image_height=None), (0.0, 1.0)) is None  # a webcam: no frame size kept
    assert person_share(ts, (10.0, 11.0)) is None  # no standing frame


@pytest.mark.camera
def test_source_sentence_names_the_kind_of_camera(camera):
    from hingecoach.report.wording import source_sentence

    _, _, a = camera
    settings = {"camera": {"pose_model": "heavy"}}
    webcam = replace(a, info={**a.info, "format": "webcam"})
    live = replace(a, info={"placement": "camera", "format": "live-webcam", "sample_rate_hz": 29.8})
    assert source_sentence(webcam, settings, None).startswith("Camera session (webcam): the person's")
    assert (source_sentence(live, settings, None)
            == "Camera session (live webcam): 30 frames/s; pose model BlazePose heavy.")
    imu = replace(a, info={**a.info, "placement": "T8"})
    assert source_sentence(imu, settings, None) == "Upper sensor at T8."
