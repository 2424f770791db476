"""The session store on both backends: saving, reading back, re-analysis, live appends,
people and thresholds, pain and notes, export/import, forget, migrations."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from hingecoach.analysis import AnalysisSettings
from hingecoach.core.errors import ExtraMissingError, ParameterError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.faults import RepMetrics
from hingecoach.store import SCHEMA_VERSION, StoreError, codec, open_store, resolve_settings
from hingecoach.store.exchange import import_bundle, read_bundle, session_bundle, write_bundle
from hingecoach.store.paths import home_dir, sqlite_path
from store_helpers import BACKENDS, make_url, recording, saved_store


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    return make_url(request.param, tmp_path, request)


def test_save_and_read_back(url):
    rec, a = recording()
    st, (sid,) = saved_store(url)
    r = st.session(sid)
    assert r.summary.person == "anna" and r.summary.complete and r.summary.kind == "offline"
    assert r.reps == [*a.reps, *a.incomplete]  # every metric and fault, exactly
    assert r.summary.reps == len(a.reps)
    assert r.summary.faulty_reps == sum(1 for m in a.reps if m.faults) > 0
    assert r.summary.peak_lumbar_flexion_deg == pytest.approx(max(m.peak_lumbar_flexion_deg for m in a.reps))
    assert r.summary.hinge_range_deg == pytest.approx(np.median([m.peak_pelvis_tilt_deg for m in a.reps]))
    assert r.thresholds["lumbar_rounding_deg"] == a.thresholds.lumbar_rounding_deg
    assert r.settings["share_of_max"] == 0.6 and "reps" in r.settings
    raw = st.stream(sid, "raw")
    assert raw is not None and raw.channels == rec.channels
    assert np.array_equal(raw.time_s, rec.time_s)
    assert all(np.array_equal(raw[c], rec[c]) for c in rec.channels)  # raw is lossless
    assert raw.meta["placement"] == rec.meta["placement"] and raw.info["lower_acc"].unit == "m/s^2"
    ang = st.stream(sid, "angles")
    assert ang is not None and np.array_equal(ang.time_s, a.angles.time_s)
    for c in a.angles.channels:
        assert np.max(np.abs(ang[c] - a.angles[c])) < 1e-4  # float32
    back = st.load_analysis(sid)
    assert back.reps == a.reps and back.thresholds == a.thresholds
    assert st.stream(sid, "calibration") is None
    st.close()


def test_reanalysis_from_stored_raw_gives_the_same_reps(url):
    _, a = recording()
    st, (sid,) = saved_store(url)
    again = st.reanalyze(sid)
    assert [(m.index, m.start_s, m.bottom_s, m.end_s, m.faults) for m in again.reps] == \
        [(m.index, m.start_s, m.bottom_s, m.end_s, m.faults) for m in a.reps]
    assert [m.peak_lumbar_flexion_deg for m in again.reps] == [m.peak_lumbar_flexion_deg for m in a.reps]
    # the stored settings are used: a session saved with a fixed threshold keeps it
    st2_settings = AnalysisSettings(lumbar_rounding_deg=45.0)
    rec, _ = recording()
    sid2 = st.save_analysis(again, raw=rec, settings=st2_settings)
    assert st.reanalyze(sid2).thresholds.lumbar_rounding_deg == 45.0
    st.close()


def test_live_writer_appends_and_closes(url):
    rec, a = recording()
    st = open_store(url)
    w = st.writer(person="ben", source="udp:127.0.0.1:9000", device="two phones",
                  thresholds=a.thresholds, info=a.info, flush_interval_s=0.0)
    w.start_set(1, stage="wall_drill", exercise="hinge", started_s=0.0, distance_cm=8)
    step = 37  # odd chunk sizes
    for i in range(0, len(rec), step):
        w.append_samples(rec.slice_index(i, i + step))
        w.append_angles(a.angles.slice_index(i, i + step))
    w.append_samples(rec.slice_index(0, 10))  # a re-sent old packet is dropped, not an error
    for m in a.reps[:3]:
        w.add_rep(m, set_idx=1)
    w.add_cue(12.5, "lumbar_rounding", 24.0, 20.0, channel="lumbar_flexion_deg")
    w.add_event("sensor_dropout", 20.0, sensor="upper", duration_s=2.0)
    w.end_set(1, ended_s=30.0, clean=False)
    w.add_pain(2, "set", set_idx=1, note="a little stiff")
    sid = w.id
    mid = st.session(sid)
    assert not mid.summary.complete and mid.summary.reps == 3
    assert st.db.execute("SELECT COUNT(*) FROM chunks WHERE session_id = ?", (sid,)).fetchone()[0] > 20
    w.close()
    r = st.session(sid)
    assert r.summary.complete and r.summary.person == "ben" and r.summary.device == "two phones"
    assert r.reps == list(a.reps[:3]) and r.rep_sets == [1, 1, 1]
    assert r.cues[0].fault == "lumbar_rounding" and r.cues[0].data == {"channel": "lumbar_flexion_deg"}
    assert r.events[0].kind == "sensor_dropout" and r.events[0].data["duration_s"] == 2.0
    assert r.sets[0].stage == "wall_drill" and r.sets[0].ended_s == 30.0
    assert r.sets[0].data == {"distance_cm": 8, "clean": False}
    assert r.pain[0].value == 2 and r.pain[0].set_idx == 1 and r.pain[0].note == "a little stiff"
    raw = st.stream(sid, "raw")
    assert np.array_equal(raw.time_s, rec.time_s) and np.array_equal(raw["upper_gyr"], rec["upper_gyr"])
    # close() merged the many small live chunks into minute chunks
    n_chunks = st.db.execute("SELECT COUNT(*) FROM chunks WHERE session_id = ? AND stream = 'raw'",
                             (sid,)).fetchone()[0]
    assert n_chunks == int(np.ceil(rec.duration_s / 60.0 + 1e-9))
    with pytest.raises(StoreError, match="closed"):
        w.add_rep(a.reps[0])
    st.close()


def test_writer_context_marks_complete_or_records_the_error(tmp_path):
    st = open_store(tmp_path / "x.db")
    with st.writer(source="replay") as w:
        pass
    assert st.summary(w.id).complete
    with pytest.raises(RuntimeError), st.writer(source="replay") as w2:
        raise RuntimeError("sensor exploded")
    r = st.session(w2.id)
    assert not r.summary.complete and r.events[0].kind == "error"
    assert r.events[0].data["message"] == "sensor exploded"


def test_people_thresholds_and_where_settings_come_from(url):
    st = open_store(url)
    p = st.set_thresholds("cara", {"lumbar_rounding_deg": 18, "share_of_max": 0.7}, set_by="Dr Lee")
    assert p.values() == {"lumbar_rounding_deg": 18.0, "share_of_max": 0.7}
    assert p.thresholds["lumbar_rounding_deg"]["set_by"] == "Dr Lee"
    with pytest.raises(ParameterError, match="share_of_max"):
        st.set_thresholds("cara", {"share_of_max": 3.0})
    with pytest.raises(ParameterError, match="threshold"):
        st.set_thresholds("cara", {"lumbar_flex": 3.0})
    s, origin = resolve_settings({"share_of_max": 0.65}, "cara", p.thresholds)
    assert s.lumbar_rounding_deg == 18.0 and "Dr Lee" in origin["lumbar_rounding_deg"]
    assert s.share_of_max == 0.65 and origin["share_of_max"] == "command line"
    assert s.exercise == "hinge" and origin["exercise"] == "default"
    p = st.set_thresholds("cara", {}, clear=["lumbar_rounding_deg"])
    assert p.values() == {"share_of_max": 0.7}
    assert [x.name for x in st.people()] == ["cara"]
    st.close()


def test_pain_and_notes(url):
    st, (sid,) = saved_store(url)
    st.add_pain(sid, 4, "before", at="2026-10-10T09:00:00+00:00")
    st.add_pain(sid, 2, "after")
    st.add_note(sid, "kept the dowel contact well", author="PT")
    for bad in (11, -1, 2.5, True):
        with pytest.raises(ParameterError, match="pain"):
            st.add_pain(sid, bad, "after")
    with pytest.raises(ParameterError, match="moment"):
        st.add_pain(sid, 3, "lunchtime")
    with pytest.raises(StoreError, match="no session 999"):
        st.add_pain(999, 3, "after")
    s = st.summary(sid)
    assert (s.pain_before, s.pain_after) == (4, 2)
    r = st.session(sid)
    assert [p.moment for p in r.pain] == ["before", "after"] and r.notes[0].author == "PT"
    st.close()


def test_listing_by_person(url):
    st, ids = saved_store(url, "anna", 2)
    _, a = recording()
    other = st.save_analysis(a, person="dan", started_at="2026-01-01T00:00:00+00:00")
    assert [s.id for s in st.sessions("anna")] == ids
    assert [s.id for s in st.sessions()] == [other, *ids]  # by date
    with pytest.raises(StoreError, match="no person 'zoe'"):
        st.sessions("zoe")
    st.close()


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_export_import_round_trip(fmt, tmp_path, request, url):
    """Export from SQLite, import into each backend: the same session, exactly."""
    src, (sid,) = saved_store(str(tmp_path / "src.db"))
    src.add_pain(sid, 3, "before")
    src.add_note(sid, "first session, 'quoted', with, commas", "PT")
    out = tmp_path / ("s.json" if fmt == "json" else f"s-{fmt}")
    files = write_bundle(session_bundle(src, sid), fmt, out)
    assert files and all(f.stat().st_size > 0 for f in files)
    dst = open_store(url)
    nid = import_bundle(dst, read_bundle(out), str(out))
    a, b = src.session(sid), dst.session(nid)
    assert b.reps == a.reps and b.pain == a.pain and b.notes == a.notes
    assert dataclasses.replace(b.summary, id=a.summary.id) == a.summary
    assert b.thresholds == a.thresholds and b.settings == a.settings and b.info == a.info
    for name in ("raw", "angles"):
        x, y = src.stream(sid, name), dst.stream(nid, name)
        assert np.array_equal(x.time_s, y.time_s) and all(np.array_equal(x[c], y[c]) for c in x.channels)
        assert x.meta == y.meta and x.info == y.info
    with pytest.raises(StoreError, match="already in"):
        import_bundle(dst, read_bundle(out), str(out))
    assert len(dst.sessions()) == 1
    src.close()
    dst.close()


def test_export_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    st, (sid,) = saved_store(str(tmp_path / "x.db"))
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(StoreError, match=r"hingecoach\[parquet\]") as caught:
        write_bundle(session_bundle(st, sid), "parquet", tmp_path / "out")
    assert isinstance(caught.value, ExtraMissingError) and caught.value.extra == "parquet"


def test_import_rejects_foreign_files(tmp_path):
    st = open_store(tmp_path / "x.db")
    (tmp_path / "a.json").write_text(json.dumps({"format": "something-else"}))
    (tmp_path / "b.json").write_text("{not json")
    for f, msg in (("a.json", "hingecoach session export"), ("b.json", "unreadable"), ("c.json", "found nothing")):
        with pytest.raises(StoreError, match=msg):
            import_bundle(st, read_bundle(tmp_path / f))


def test_forget_removes_the_person_and_all_their_data(url, tmp_path):
    st, ids = saved_store(url, "Anna Example", 2)
    st.add_pain(ids[0], 3, "before")
    st.add_note(ids[0], "note about Anna Example")
    keep, _ = saved_store(url, "ben", 1)
    keep.close()
    rep = st.forget("Anna Example")
    assert (rep.sessions, rep.pain_ratings, rep.notes) == (2, 1, 1)
    assert rep.reps == 2 * len(recording()[1].reps + recording()[1].incomplete)
    assert rep.recording_bytes > 100_000 and "2 session(s)" in rep.describe()
    assert rep.stills == 0 and "still" not in rep.describe()  # an IMU session has no pictures
    assert st.person("Anna Example") is None and [s.person for s in st.sessions()] == ["ben"]
    for t in ("reps", "pain", "notes", "chunks", "streams"):
        n = st.db.execute(f"SELECT COUNT(*) FROM {t} WHERE session_id IN ({ids[0]}, {ids[1]})").fetchone()[0]
        assert n == 0, t
    with pytest.raises(StoreError, match="no person"):
        st.forget("Anna Example")
    st.close()
    if not url.startswith("postgresql"):
        # secure_delete + checkpoint: the name is gone from the file, not just unlinked
        for f in tmp_path.glob("hingecoach.db*"):
            assert b"Anna Example" not in f.read_bytes(), f.name


def test_home_folder_and_urls(monkeypatch, tmp_path):
    monkeypatch.setenv("HINGECOACH_HOME", str(tmp_path / "hc"))
    assert home_dir() == tmp_path / "hc"
    monkeypatch.delenv("HINGECOACH_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert home_dir() == tmp_path / "xdg" / "hingecoach"
    assert str(sqlite_path("sqlite:////abs/x.db")) == "/abs/x.db"
    assert str(sqlite_path("sqlite:///rel/x.db")) == "rel/x.db"
    monkeypatch.setenv("HINGECOACH_HOME", str(tmp_path / "hc"))
    st = open_store()
    assert (tmp_path / "hc" / "hingecoach.db").exists()
    assert (tmp_path / "hc").stat().st_mode & 0o077 == 0  # private folder
    assert (tmp_path / "hc" / "hingecoach.db").stat().st_mode & 0o077 == 0
    assert st.schema_version() == SCHEMA_VERSION
    st.close()
    with pytest.raises(StoreError, match="expected an existing folder"):
        open_store(tmp_path / "no" / "such" / "x.db")


@settings(max_examples=60, deadline=None)
@given(hs.integers(0, 300), hs.sampled_from(["<f8", "<f4", "<i4", "|u1", "<i8"]), hs.integers(1, 4),
       hs.integers(0, 2**31))
def test_codec_round_trip(n, dtype, width, seed):
    rng = np.random.default_rng(seed)
    cols = {"time_s": np.cumsum(rng.random(n)), "x": (rng.normal(size=(n, width)) * 100).astype(dtype),
            "y": rng.normal(size=n).astype(dtype)}
    back = codec.decode(codec.encode(cols))
    assert list(back) == list(cols)
    for k in cols:
        assert back[k].dtype == cols[k].dtype and np.array_equal(back[k], cols[k])


def test_codec_stores_decimal_numbers_as_integers_exactly():
    """Values read from a 6-decimal CSV come back bit for bit, and compress far better."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 9.81, size=(20000, 3))
    text_values = np.array([[float(f"{v:.6f}") for v in row] for row in x])
    blob = codec.encode({"a": text_values})
    assert np.array_equal(codec.decode(blob)["a"], text_values)
    assert len(blob) < 0.5 * len(codec.encode({"a": x}))
    assert json.loads(blob[8:8 + int.from_bytes(blob[4:8], "little")])["channels"][0]["decimals"] == 6
    for odd in (np.array([0.1 + 0.2, 1.0]), np.array([1e300, 1.0]), np.array([np.nan, 1.5]),
                np.array([0.5, 2.0**60])):
        assert np.array_equal(codec.decode(codec.encode({"a": odd}))["a"], odd, equal_nan=True)


def test_codec_refuses_damaged_blobs():
    blob = codec.encode({"time_s": np.arange(100.0), "x": np.ones((100, 3))})
    for bad in (b"", b"PNG\x00\x00\x00\x00\x00", blob[:-5], blob[:8] + b"{}" + blob[10:],
                blob[:4] + b"\xff\xff\xff\x00" + blob[8:]):
        with pytest.raises(codec.CodecError):
            codec.decode(bad)
    with pytest.raises(ValueError, match="samples"):
        codec.encode({"time_s": np.arange(3.0), "x": np.arange(4.0)})


def test_incomplete_reps_and_extra_metrics_are_kept(tmp_path):
    """A camera path's reps may carry extra metrics and new fault ids: stored as given."""

    @dataclasses.dataclass(frozen=True)
    class CameraRep(RepMetrics):
        peak_knee_flexion_deg: float = 0.0

    st = open_store(tmp_path / "x.db")
    w = st.writer(source="webcam:0")
    w.append_angles(TimeSeries(np.arange(0, 10, 0.1), {"hip_flexion_deg": np.linspace(0, 80, 100),
                                                       "neck_flexion_deg": np.zeros(100)}))
    rep = CameraRep(1, 1.0, 2.0, 3.0, True, 30.0, 50.0, 60.0, 0.4, 1.0, 0.8,
                    faults=("squatting", "neck_craning"), peak_knee_flexion_deg=75.0)
    w.add_rep(rep)
    w.close()
    r = st.session(w.id)
    assert r.reps[0].faults == ("squatting", "neck_craning")
    extra = st.db.execute("SELECT extra FROM reps WHERE session_id = ?", (w.id,)).fetchone()[0]
    assert json.loads(extra) == {"peak_knee_flexion_deg": 75.0}
    assert st.stream(w.id, "angles").channels == ["hip_flexion_deg", "neck_flexion_deg"]
    # the camera's own metrics are RepMetrics fields: they come back as they went in
    w2 = st.writer(source="clip.mp4")
    cam = RepMetrics(1, 1.0, 2.0, 3.0, True, 30.0, float("nan"), 60.0, float("nan"), 1.0, 0.8,
                     knee_hip_ratio=1.2, peak_neck_extension_deg=35.0, faults=("squatting",))
    w2.add_rep(cam)
    w2.close()
    assert st.session(w2.id).reps == [cam]
    assert sqlite3.connect(tmp_path / "x.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_writer_flushes_a_stalled_stream_in_the_background(url):
    """Samples that arrived before a sensor went silent are committed within the flush
    interval even though no further append comes to trigger it."""
    rec, _ = recording()
    st = open_store(url)
    w = st.writer(source="udp", flush_interval_s=0.3)
    w.append_samples(rec.slice_index(0, 50))
    w.append_samples(rec.slice_index(50, 80))  # then silence
    other = open_store(url)  # another connection sees only what was committed
    deadline = time.monotonic() + 10
    while other.stream(w.id, "raw") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    got = other.stream(w.id, "raw")
    assert got is not None and len(got) == 80 and w.flush_error is None
    with pytest.raises(ParameterError, match="channels"):
        w.append_samples(rec.select(["lower_acc"]).slice_index(100, 110))
    w.update(extra={"stage": 2, "distance_cm": 10})
    w.update(extra={"distance_cm": 12})
    w.close()
    assert other.session(w.id).extra == {"stage": 2, "distance_cm": 12}
    assert w._flusher is not None and not w._flusher.is_alive()
    other.close()
    st.close()


def test_postgres_url_without_psycopg_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError, match=r"hingecoach\[postgres\]") as caught:
        open_store("postgresql://someone@/somedb")
    assert isinstance(caught.value, ExtraMissingError) and caught.value.extra == "postgres"


@pytest.mark.realdata
def test_real_recording_with_a_separate_calibration_is_saved_and_reanalysed(shared_data, tmp_path):
    from hingecoach.analysis import analyze_file
    from hingecoach.store.files import save_file_analysis

    d = shared_data / "imu" / "spinewise"
    a = analyze_file(d / "movement.csv", calibration=d / "calibration.csv")
    st = open_store(tmp_path / "x.db")
    sid = save_file_analysis(st, a, d / "movement.csv", calibration=d / "calibration.csv", person="sw")
    assert st.stream(sid, "calibration") is not None
    b = st.reanalyze(sid)
    assert [(m.end_s, m.faults) for m in b.reps] == [(m.end_s, m.faults) for m in a.reps]
    assert b.thresholds == a.thresholds and b.max_flexion_deg == a.max_flexion_deg
    st.close()
