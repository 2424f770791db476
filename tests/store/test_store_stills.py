"""A camera session's rep stills in the store: saved with the session, read back
byte for byte, carried by export and import (JSON, CSV, Parquet), removed by forget,
and added to an older database by migration 4. The analysis is simulated (no
MediaPipe); the stills are hand-made blobs (their drawing is tested in
tests/report/test_rep_stills.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hingecoach.core.stills import JPEG, RepStill
from hingecoach.store import SCHEMA_VERSION, open_store
from hingecoach.store.backend import PostgresBackend, SQLiteBackend
from hingecoach.store.exchange import import_bundle, read_bundle, session_bundle, write_bundle
from hingecoach.store.files import save_file_analysis
from hingecoach.store.migrations import current_version, migrate
from stills_helpers import sim_camera_analysis
from store_helpers import BACKENDS, make_url


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    return make_url(request.param, tmp_path, request)


@pytest.fixture(scope="module")
def camera_analysis():
    """A simulated side-view session (a good rep, a rounded one) with two stills."""
    pytest.importorskip("cv2")
    a = sim_camera_analysis(["good", "rounded"])
    rng = np.random.default_rng(7)
    a.stills = [RepStill(k + 1, m.index, True, m.bottom_s, 10 * k, k == 0,
                         None if k == 0 else "the camera saw the lifter at an angle", tuple(m.faults), JPEG,
                         200, 300, b"\xff\xd8" + rng.bytes(3000 + k) + b"\xff\xd9")
                for k, m in enumerate(a.reps)]
    assert len(a.stills) == 2
    return a


def test_the_stills_are_saved_and_read_back_exactly(url, camera_analysis):
    with open_store(url) as st:
        sid = save_file_analysis(st, camera_analysis, "sim.mp4", person="ben")
        got = st.stills(sid)
        assert got == camera_analysis.stills
        assert st.still(sid, 2) == camera_analysis.stills[1] and st.still(sid, 3) is None
        assert not got[1].judged and got[1].not_judged_because == "the camera saw the lifter at an angle"


def test_an_imu_session_has_no_stills(tmp_path):
    from store_helpers import saved_store

    st, (sid,) = saved_store(str(tmp_path / "h.db"))
    assert st.stills(sid) == []
    st.close()


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_export_and_import_carry_the_stills(tmp_path, camera_analysis, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    with open_store(tmp_path / "a.db") as st:
        sid = save_file_analysis(st, camera_analysis, "sim.mp4", person="ben")
        out = tmp_path / ("s.json" if fmt == "json" else f"s-{fmt}")
        files = write_bundle(session_bundle(st, sid), fmt, out)
    if fmt == "json":
        doc = json.loads(out.read_text())
        assert [x["seq"] for x in doc["stills"]] == [1, 2]
        assert [x["faults"] for x in doc["stills"]] == [list(m.faults) for m in camera_analysis.reps]
    else:  # one image file per still, listed in session.json
        names = sorted(p.name for p in (out / "stills").iterdir())
        assert names == sorted(s.file_name() for s in camera_analysis.stills)
        assert {out / "stills" / n for n in names} <= set(files)
        assert (out / "stills" / names[0]).read_bytes()[:2] == b"\xff\xd8"
    with open_store(tmp_path / "b.db") as st2:
        new = import_bundle(st2, read_bundle(out), origin=str(out))
        assert st2.stills(new) == camera_analysis.stills


def test_an_export_whose_still_points_outside_its_folder_is_refused(tmp_path, camera_analysis):
    from hingecoach.store import StoreError

    with open_store(tmp_path / "a.db") as st:
        sid = save_file_analysis(st, camera_analysis, "sim.mp4")
        out = tmp_path / "s-csv"
        write_bundle(session_bundle(st, sid), "csv", out)
    head = json.loads((out / "session.json").read_text())
    (tmp_path / "secret.jpg").write_bytes(b"not yours")
    head["stills"][0]["file"] = "../secret.jpg"
    (out / "session.json").write_text(json.dumps(head))
    with pytest.raises(StoreError, match=r"rep still 1: .*outside the export folder"):
        read_bundle(out)


def test_forget_removes_the_stills(url, camera_analysis):
    with open_store(url) as st:
        gone = save_file_analysis(st, camera_analysis, "sim.mp4", person="ben")
        kept = save_file_analysis(st, camera_analysis, "sim.mp4", person="cleo")
        report = st.forget("ben")
        assert report.recording_bytes >= sum(len(s.data) for s in camera_analysis.stills)
        assert report.stills == 2 and "event(s), 2 rep still(s) and " in report.describe()
        assert st.db.execute("SELECT COUNT(*) FROM stills WHERE session_id = ?", (gone,)).fetchone()[0] == 0
        assert st.stills(kept) == camera_analysis.stills


def test_a_schema_3_database_is_upgraded_and_takes_stills(url, camera_analysis):
    db = PostgresBackend(url) if url.startswith("postgresql") else SQLiteBackend(url, 3.0)
    assert migrate(db, None, target=3) == [1, 2, 3]
    assert "stills" not in db.tables()
    db.close()
    with open_store(url) as st:
        assert current_version(st.db) == SCHEMA_VERSION >= 4 and "stills" in st.db.tables()
        sid = save_file_analysis(st, camera_analysis, "sim.mp4")
        assert st.stills(sid) == camera_analysis.stills
