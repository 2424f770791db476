"""A camera session's range of hinge (the median of its reps' peak hip flexion) is kept
in its own summary column, beside the IMUs' median peak pelvis tilt: stored when the
session is saved, imported or closed live, filled in by migration 5 for the sessions
saved before, listed by ``sessions`` under its own name, and read by the report's
progress without decoding any angles. The camera analysis is simulated (no MediaPipe)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from hingecoach.core.timeseries import TimeSeries
from hingecoach.faults import median_peak_hip_flexion
from hingecoach.store import SCHEMA_VERSION, open_store
from hingecoach.store.backend import PostgresBackend, SQLiteBackend
from hingecoach.store.exchange import import_bundle, read_bundle, session_bundle, write_bundle
from hingecoach.store.files import save_file_analysis
from hingecoach.store.migrations import current_version
from stills_helpers import sim_camera_analysis
from store_helpers import BACKENDS, make_url, recording


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    return make_url(request.param, tmp_path, request)


@pytest.fixture(scope="module")
def camera_analysis():
    """A simulated side-view session: a good rep, a rounded one, a good one."""
    pytest.importorskip("cv2")
    a = sim_camera_analysis(["good", "rounded", "good"])
    assert len(a.reps) == 3
    return a


def _expected(a) -> float:
    hip = a.angles["hip_flexion_deg"]
    peaks = []
    for m in a.reps:
        inside = (a.angles.time_s >= m.start_s) & (a.angles.time_s <= m.end_s)
        peaks.append(np.nanmax(hip[inside]))
    return float(np.median(peaks))


def test_a_camera_session_stores_its_median_peak_hip_flexion_apart_from_pelvis_tilt(url, camera_analysis):
    a = camera_analysis
    want = _expected(a)
    assert 40 < want < 150  # a hinge's hip flexion, degrees
    with open_store(url) as st:
        cam = save_file_analysis(st, a, "sim.mp4", person="ben")
        rec, imu_a = recording()
        imu = st.save_analysis(imu_a, raw=rec, person="ben")
        got = {s.id: s for s in st.sessions("ben")}
    assert got[cam].hip_flexion_deg == pytest.approx(want, abs=1e-6)
    assert got[cam].hinge_range_deg is None  # a camera has no pelvis sensor
    assert got[imu].hip_flexion_deg is None
    assert got[imu].hinge_range_deg == pytest.approx(np.median([m.peak_pelvis_tilt_deg for m in imu_a.reps]))
    assert got[cam].to_json()["hip_flexion_deg"] == pytest.approx(want, abs=1e-6)


def test_only_complete_reps_count():
    t = np.arange(0.0, 10.0, 0.1)
    hip = np.where(t < 5, 60.0, 90.0)
    from hingecoach.faults import RepMetrics

    def rep(a, b, complete=True):
        return RepMetrics(1, a, (a + b) / 2, b, complete, 0, 0, 0, 0, 0, 0)

    ts = TimeSeries(t, {"hip_flexion_deg": hip})
    assert median_peak_hip_flexion(ts, [rep(1, 2), rep(2, 3), rep(6, 7)]) == 60.0
    assert median_peak_hip_flexion(TimeSeries(t, {"pelvis_tilt_deg": hip}), [rep(1, 2)]) is None


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_and_import_carry_it(tmp_path, camera_analysis, fmt):
    with open_store(tmp_path / "a.db") as st:
        sid = save_file_analysis(st, camera_analysis, "sim.mp4", person="ben")
        want = st.summary(sid).hip_flexion_deg
        out = tmp_path / ("s.json" if fmt == "json" else "s-csv")
        write_bundle(session_bundle(st, sid), fmt, out)
    with open_store(tmp_path / "b.db") as st2:
        new = import_bundle(st2, read_bundle(out), origin=str(out))
        # recomputed from the angles as stored (float32)
        assert st2.summary(new).hip_flexion_deg == pytest.approx(want, abs=1e-3)


def test_a_schema_4_database_gets_it_filled_in(url, camera_analysis):
    """Sessions saved before migration 5: the column is filled from their stored angles
    and reps, on SQLite and PostgreSQL alike; IMU sessions stay empty."""
    with open_store(url) as st:
        cam = save_file_analysis(st, camera_analysis, "sim.mp4", person="ben")
        rec, imu_a = recording()
        imu = st.save_analysis(imu_a, raw=rec, person="ben")
        want = st.summary(cam).hip_flexion_deg
    db = PostgresBackend(url) if url.startswith("postgresql") else SQLiteBackend(url, 3.0)
    with db.transaction():  # back to how version 4 left the database
        db.execute("ALTER TABLE sessions DROP COLUMN hip_flexion_deg")
        db.execute("UPDATE hingecoach_meta SET value = '4' WHERE key = 'schema_version'")
    db.close()
    with open_store(url) as st:
        assert current_version(st.db) == SCHEMA_VERSION >= 5
        assert st.summary(cam).hip_flexion_deg == pytest.approx(want, abs=1e-3)
        assert st.summary(imu).hip_flexion_deg is None


def test_a_live_camera_session_has_it_once_closed(tmp_path, camera_analysis):
    a = camera_analysis
    with open_store(tmp_path / "h.db") as st:
        w = st.writer(person="ben", source="webcam:0", autoflush=False)
        half = len(a.angles) // 2
        w.append_angles(a.angles.slice_index(0, half))
        w.append_angles(a.angles.slice_index(half, len(a.angles)))
        for m in a.reps:
            w.add_rep(m)
        w.close()
        assert st.summary(w.id).hip_flexion_deg == pytest.approx(_expected(a), abs=1e-3)


def _listing(rows, width: int = 80) -> str:
    from hingecoach.cli_store import session_table

    console = Console(width=width, record=True, color_system=None)
    console.print(session_table(rows, "sessions", width))
    return console.export_text()


def test_the_listing_names_each_measure(tmp_path, camera_analysis):
    with open_store(tmp_path / "h.db") as st:
        cam = save_file_analysis(st, camera_analysis, "sim.mp4", person="ben")
        only_camera = _listing(st.sessions("ben"))
        rec, imu_a = recording()
        st.save_analysis(imu_a, raw=rec, person="ben")
        both = _listing(st.sessions("ben"))
        value = st.summary(cam).hip_flexion_deg
        pelvis = st.sessions("ben")[1].hinge_range_deg
    assert "hip" in only_camera and "pelvis" not in only_camera.split("hinge°:")[0]
    assert f"{value:.1f}" in only_camera
    assert "median of the reps' peak hip flexion (camera)" in " ".join(only_camera.split())
    assert "back bow" in only_camera
    assert "pelvis" in both and f"{value:.1f}" in both and f"{pelvis:.1f}" in both
    assert "peak pelvis tilt (sensors) / hip flexion (camera)" in " ".join(both.split())


def test_the_listing_fits_80_columns_without_losing_a_column(tmp_path, camera_analysis):
    """In an 80-column terminal every column stays (the id first: ``report`` needs it),
    every value whole on its row, nothing cut off at the right; a wide terminal keeps
    the one-line layout."""
    with open_store(tmp_path / "h.db") as st:
        for k in range(3):
            save_file_analysis(st, camera_analysis, f"a-rather-long-clip-name-{k}.mp4", person="bea")
        rec, imu_a = recording()
        st.save_analysis(imu_a, raw=rec, person="bea", source="hinges.csv")
        st.add_pain(4, 4, "before")
        st.add_pain(4, 10, "after")
        rows = st.sessions()
    text = _listing(rows, 80)
    lines = text.splitlines()
    assert max(len(x) for x in lines) <= 80
    words = text.split()  # the headers wrap, each word whole
    for word in ("id", "date", "(UTC)", "person", "source", "status", "reps", "faulty", "peak", "lumbar°",
                 "hinge°", "pelvis", "hip", "pain", "before", "after", "complete", "bea"):
        assert word in words, word
    assert "4 → 10" in text
    for r in rows:
        row = next(x for x in lines if x.lstrip().startswith(f"{r.id} 20"))
        for v in (r.peak_lumbar_flexion_deg, r.hinge_range_deg or r.hip_flexion_deg):
            assert f"{v:.1f}" in row.split()
    wide = _listing(rows, 200)
    assert "a-rather-long-clip-name-0.mp4" in wide and "pain before→after" in wide


def test_sessions_command_lists_it(tmp_path, camera_analysis, monkeypatch):
    from hingecoach.cli import app

    db = tmp_path / "h.db"
    with open_store(db) as st:
        sid = save_file_analysis(st, camera_analysis, "sim.mp4", person="ben")
        value = st.summary(sid).hip_flexion_deg
    r = CliRunner().invoke(app, ["sessions", "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["hip_flexion_deg"] == pytest.approx(value)
    monkeypatch.setenv("COLUMNS", "80")
    r = CliRunner().invoke(app, ["sessions", "--db", str(db)])
    assert r.exit_code == 0 and f"{value:.1f}" in r.stdout and "hip flexion (camera)" in " ".join(r.stdout.split())
