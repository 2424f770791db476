"""The store under bad conditions: the oldest schema upgraded, a newer database, foreign
and corrupt files, a locked database, a full disk, and a live session killed with
SIGKILL. In every case: a clear message, and nothing that was stored is overwritten."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from hingecoach.report import write_report
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.store import SCHEMA_VERSION, StoreError, StoreFullError, StoreLockedError, codec, open_store
from hingecoach.store.backend import PostgresBackend
from hingecoach.store.migrations import MIGRATIONS, migrate
from store_helpers import BACKENDS, digest, make_url, recording, saved_store

# Schema version 1 exactly as released (SQLite). Never edit: it is what old databases hold.
V1_SQLITE = """
CREATE TABLE hingecoach_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE people (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
    thresholds TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL);
CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE,
    person_id INTEGER REFERENCES people(id), started_at TEXT NOT NULL, kind TEXT NOT NULL,
    source TEXT NOT NULL, device TEXT NOT NULL DEFAULT '', complete INTEGER NOT NULL DEFAULT 0,
    software_version TEXT NOT NULL, settings TEXT NOT NULL DEFAULT '{}',
    calibration TEXT NOT NULL DEFAULT '{}', thresholds TEXT NOT NULL DEFAULT '{}',
    info TEXT NOT NULL DEFAULT '{}', warnings TEXT NOT NULL DEFAULT '[]');
CREATE TABLE reps (id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions(id), idx INTEGER NOT NULL,
    start_s REAL NOT NULL, bottom_s REAL NOT NULL, end_s REAL NOT NULL, complete INTEGER NOT NULL,
    peak_lumbar_flexion_deg REAL, peak_pelvis_tilt_deg REAL, peak_trunk_inclination_deg REAL,
    lumbar_share REAL, top_extension_deg REAL, descent_s REAL,
    faults TEXT NOT NULL DEFAULT '[]', extra TEXT NOT NULL DEFAULT '{}');
CREATE INDEX reps_session ON reps(session_id);
CREATE TABLE pain (id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions(id), moment TEXT NOT NULL,
    value INTEGER NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions(id), recorded_at TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '', text TEXT NOT NULL);
CREATE TABLE chunks (session_id INTEGER NOT NULL REFERENCES sessions(id), stream TEXT NOT NULL,
    seq INTEGER NOT NULL, t0 REAL NOT NULL, t1 REAL NOT NULL, n INTEGER NOT NULL,
    payload BLOB NOT NULL, PRIMARY KEY (session_id, stream, seq));
INSERT INTO hingecoach_meta VALUES ('application', 'hingecoach'), ('schema_version', '1');
"""


def _norm(sql: str) -> list[str]:
    return [" ".join(s.split()).replace("( ", "(").replace(" )", ")") for s in sql.split(";") if s.strip()]


def test_frozen_v1_matches_the_first_migration():
    """Migration 1 is released: it must keep creating exactly the frozen v1 schema."""
    assert _norm(V1_SQLITE)[:-1] == _norm(";".join(MIGRATIONS[0].statements("sqlite")))


def _fill_v1(execute) -> None:
    """A v1 database's content: a person, a session with reps, pain, a note, angles."""
    _, a = recording()
    execute("INSERT INTO people (name, thresholds, created_at) VALUES (?, ?, ?)",
            ("old anna", json.dumps({"lumbar_rounding_deg": {"value": 22.0, "set_by": "PT"}}), "2025-01-01"))
    execute("INSERT INTO sessions (uid, person_id, started_at, kind, source, complete, software_version, "
            "thresholds, info) VALUES ('u-1', 1, '2025-01-02T10:00:00+00:00', 'offline', 'old.csv', 1, "
            "'0.0.9', ?, ?)", (json.dumps({"lumbar_rounding_deg": 20.0, "lumbar_rounding_source": "default",
                                           "top_overextension_deg": 8.0, "too_fast_s": 0.6,
                                           "shallow_share": 0.5}), json.dumps({"placement": "T12"})))
    for m in a.reps:
        execute("INSERT INTO reps (session_id, idx, start_s, bottom_s, end_s, complete, "
                "peak_lumbar_flexion_deg, peak_pelvis_tilt_deg, peak_trunk_inclination_deg, lumbar_share, "
                "top_extension_deg, descent_s, faults) VALUES (1, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
                (m.index, m.start_s, m.bottom_s, m.end_s, m.peak_lumbar_flexion_deg, m.peak_pelvis_tilt_deg,
                 m.peak_trunk_inclination_deg, m.lumbar_share, m.top_extension_deg, m.descent_s,
                 json.dumps(list(m.faults))))
    execute("INSERT INTO pain (session_id, moment, value, recorded_at) VALUES (1, 'before', 5, '2025-01-02')")
    execute("INSERT INTO notes (session_id, recorded_at, text) VALUES (1, '2025-01-02', 'from v1')")
    cols = {"time_s": a.angles.time_s, **{k: v.astype(np.float32) for k, v in a.angles.data.items()}}
    execute("INSERT INTO chunks VALUES (1, 'angles', 0, ?, ?, ?, ?)",
            (float(a.angles.time_s[0]), float(a.angles.time_s[-1]), len(a.angles), codec.encode(cols)))


def _check_upgraded(st, tmp_path: Path) -> None:
    _, a = recording()
    assert st.schema_version() == SCHEMA_VERSION
    (s,) = st.sessions("old anna")
    # v2's summary columns were filled from the v1 reps
    assert (s.reps, s.faulty_reps, s.pain_before) == (len(a.reps), sum(1 for m in a.reps if m.faults), 5)
    assert s.peak_lumbar_flexion_deg == pytest.approx(max(m.peak_lumbar_flexion_deg for m in a.reps))
    r = st.session(s.id)
    assert [m.faults for m in r.reps] == [m.faults for m in a.reps]
    assert r.notes[0].text == "from v1" and r.pain[0].note == ""
    assert st.person("old anna").values() == {"lumbar_rounding_deg": 22.0}
    ang = st.stream(s.id, "angles")
    assert len(ang) == len(a.angles) and ang.info == {}
    d = write_report(st, s.id, html=tmp_path / "old.html")
    assert d.analysis.thresholds.lumbar_rounding_deg == 20.0
    # and the upgraded database takes new data of every kind
    w = st.writer(person="old anna")
    w.add_cue(1.0, "lumbar_rounding", 25.0, 20.0)
    w.close()


def test_oldest_sqlite_schema_is_upgraded_with_its_data(tmp_path):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(V1_SQLITE)
    _fill_v1(con.execute)
    con.commit()
    con.close()
    st = open_store(path)
    _check_upgraded(st, tmp_path)
    st.close()
    assert sqlite3.connect(path).execute("SELECT value FROM hingecoach_meta WHERE key = 'schema_version'"
                                         ).fetchone()[0] == str(SCHEMA_VERSION)


def test_oldest_postgres_schema_is_upgraded_with_its_data(pg_server, tmp_path):
    url = pg_server.new_database()
    db = PostgresBackend(url)
    assert migrate(db, None, target=1) == [1]
    with db.transaction():
        _fill_v1(db.execute)
    db.close()
    st = open_store(url)
    _check_upgraded(st, tmp_path)
    st.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_newer_database_is_refused_untouched(kind, tmp_path, request):
    url = make_url(kind, tmp_path, request)
    st, _ = saved_store(url)
    with st.db.transaction():
        st.db.execute("UPDATE hingecoach_meta SET value = ? WHERE key = 'schema_version'",
                      (str(SCHEMA_VERSION + 3),))
    st.close()
    before = digest(Path(url)) if kind == "sqlite" else None
    with pytest.raises(StoreError, match=rf"newer hingecoach .*version {SCHEMA_VERSION + 3}.*not changed"):
        open_store(url)
    if kind == "sqlite":
        assert digest(Path(url)) == before
    else:
        import psycopg
        with psycopg.connect(url) as c:
            assert c.execute("SELECT value FROM hingecoach_meta WHERE key = 'schema_version'"
                             ).fetchone()[0] == str(SCHEMA_VERSION + 3)
            assert c.execute("SELECT COUNT(*) FROM reps").fetchone()[0] > 0


def _png(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(np.random.default_rng(1).integers(0, 256, 3000,
                                                                                      dtype=np.uint8)))


@pytest.mark.parametrize("make,message", [
    (_png, "another kind of file"),
    (lambda p: p.write_text("time_s,lower_acc_x\n0,1\n"), "another kind of file"),
    (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200), "damaged"),
])
def test_corrupt_or_foreign_file_is_refused_untouched(tmp_path, make, message):
    path = tmp_path / "hingecoach.db"
    make(path)
    before = digest(path)
    with pytest.raises(StoreError, match=message) as e:
        open_store(path)
    assert "not changed" in str(e.value) and str(path) in str(e.value)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hingecoach.db"]


def test_sqlite_database_of_another_application_is_refused_untouched(tmp_path):
    path = tmp_path / "photos.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, album TEXT)")
    con.execute("INSERT INTO sessions (album) VALUES ('holiday')")
    con.commit()
    con.close()
    before = digest(path)
    with pytest.raises(StoreError, match=r"another application .*sessions.*not changed"):
        open_store(path)
    assert digest(path) == before


def test_postgres_database_of_another_application_is_refused(pg_server):
    import psycopg
    url = pg_server.new_database()
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE TABLE sessions (id int, album text)")
    with pytest.raises(StoreError, match="another application"):
        open_store(url)
    with psycopg.connect(url) as c:
        assert c.execute("SELECT to_regclass('hingecoach_meta')").fetchone()[0] is None


def test_unreachable_postgres_is_a_clear_error(tmp_path):
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        open_store(f"postgresql://nobody:secret@/nodb?host={tmp_path}")
    with pytest.raises(StoreError) as e:
        open_store(f"postgresql://nobody:secret@/nodb?host={tmp_path}")
    assert "secret" not in str(e.value)  # no password in messages


HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys, time
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    if sys.argv[2] == "exclusive-mode":
        con.execute("PRAGMA locking_mode = EXCLUSIVE")
        con.execute("BEGIN EXCLUSIVE")
        con.execute("UPDATE people SET name = name")
        con.execute("COMMIT")  # in exclusive locking mode the lock stays after the commit
    else:
        con.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("mode", ["transaction", "exclusive-mode"])
def test_locked_database_gives_a_clear_message_after_the_busy_timeout(tmp_path, mode):
    path = tmp_path / "hingecoach.db"
    st, (sid,) = saved_store(str(path))
    st.close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path), mode], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        _, a = recording()
        with pytest.raises(StoreLockedError, match=r"locked by another program .*waited 0.3 s.*nothing"):
            st = open_store(path, busy_timeout_s=0.3)  # WAL readers may still open it...
            try:
                st.save_analysis(a, person="anna")  # ...but no one can write
            finally:
                st.close()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    st = open_store(path)
    assert [s.id for s in st.sessions()] == [sid]  # nothing half-written
    st.save_analysis(a, person="anna")
    assert len(st.sessions()) == 2
    st.close()


def test_full_database_keeps_what_was_stored(tmp_path):
    """SQLITE_FULL from a page limit (the same error a full disk gives)."""
    path = tmp_path / "hingecoach.db"
    st, (sid,) = saved_store(str(path))
    pages = st.db.execute("PRAGMA page_count").fetchone()[0]
    st.db.execute(f"PRAGMA max_page_count = {pages + 4}")
    rec, a = recording()
    with pytest.raises(StoreFullError, match=r"disk is full.*nothing of this change was saved"):
        st.save_analysis(a, raw=rec, person="anna")
    w = st.writer(person="anna")  # a small write still fits
    with pytest.raises(StoreFullError):
        for i in range(0, len(rec), 200):
            w.append_samples(rec.slice_index(i, i + 200))
            w.flush()
    st.close()
    st = open_store(path)
    assert [s.id for s in st.sessions()] == [sid, w.id]  # the failed save left nothing
    assert st.session(sid).reps == [*a.reps, *a.incomplete]
    live = st.session(w.id)  # the live session keeps what was flushed before the disk filled
    assert not live.summary.complete and st.stream(w.id, "raw") is not None
    st.close()


FULL_DISK_CHILD = textwrap.dedent("""
    import json, sys
    print("started", flush=True)
    from hingecoach.sources.simulator import SimSettings, simulate
    from hingecoach.analysis import analyze_recording
    from hingecoach.store import open_store, StoreFullError
    small = simulate(SimSettings(pattern="good", reps=2, seed=1, noise=False))[0]
    big = simulate(SimSettings(pattern="good", reps=40, seed=2))[0]
    st = open_store(sys.argv[1] + "/hingecoach.db")
    first = st.save_analysis(analyze_recording(small), raw=small, person="anna")
    try:
        st.save_analysis(analyze_recording(big), raw=big, person="anna")
        out = {"error": None}
    except StoreFullError as e:
        out = {"error": str(e)}
    st.close()
    st = open_store(sys.argv[1] + "/hingecoach.db")
    out["sessions"] = [s.id for s in st.sessions()]
    out["first"] = first
    out["raw_ok"] = len(st.stream(first, "raw")) == len(small)
    print(json.dumps(out))
""")


def test_full_disk_on_a_small_tmpfs(tmp_path):
    """A real ENOSPC: a 1 MB tmpfs in a private mount namespace (root only)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a small tmpfs; the page-limit test covers SQLITE_FULL")
    mnt = tmp_path / "small"
    mnt.mkdir()
    script = tmp_path / "child.py"
    script.write_text(FULL_DISK_CHILD)
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        f"mount -t tmpfs -o size=1m tmpfs {mnt} && exec {sys.executable} {script} {mnt}"],
                       capture_output=True, text=True, timeout=300)
    if "started" not in r.stdout:  # unshare or mount refused: this machine does not allow it
        pytest.skip(f"cannot mount a tmpfs in a private mount namespace here: {r.stderr.strip()[:200]}")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["error"] and "disk is full" in out["error"]
    assert out["sessions"] == [out["first"]] and out["raw_ok"]


REPLAY_CHILD = textwrap.dedent("""
    import sys
    from hingecoach.sources.simulator import SimSettings, simulate
    from hingecoach.store import open_store
    from hingecoach.store.replay import replay_into_store
    rec = simulate(SimSettings(pattern="mixed", reps=int(sys.argv[3]), seed=int(sys.argv[4])))[0]
    st = open_store(sys.argv[1])
    replay_into_store(st, rec, speed=float(sys.argv[2]), person="live anna",
                      on_ready=lambda sid, wall: print("ready", sid, repr(wall), flush=True))
    print("finished", flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("kind", BACKENDS)
def test_sigkill_during_a_live_session_loses_at_most_the_last_second(kind, tmp_path, request):
    url = make_url(kind, tmp_path, request)
    speed, n_reps, seed = 2.0, 14, 5
    rng = random.Random(f"sigkill-{kind}")
    kill_after = rng.uniform(6.0, 16.0)
    rec = simulate(SimSettings(pattern="mixed", reps=n_reps, seed=seed))[0]
    from hingecoach.analysis import analyze_recording
    a = analyze_recording(rec)
    assert rec.duration_s / speed > kill_after + 5  # the kill lands in the middle
    child = subprocess.Popen([sys.executable, "-c", REPLAY_CHILD, url, str(speed), str(n_reps), str(seed)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        assert line[0] == "ready", line
        sid, wall0 = int(line[1]), float(line[2])
        time.sleep(max(0.0, wall0 + kill_after - time.time()))
        os.kill(child.pid, signal.SIGKILL)
        killed_at = time.time()
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    t0 = float(rec.time_s[0])
    st = open_store(url)
    (s,) = st.sessions()
    assert s.id == sid and not s.complete and s.person == "live anna"
    r = st.session(sid)
    stored = {m.index: m for m in r.reps}
    due = [m for m in a.reps if wall0 + (m.end_s - t0) / speed < killed_at - 1.0]
    assert due, "the kill came before any rep ended; pick a later moment"
    for m in due:
        ago = killed_at - wall0 - (m.end_s - t0) / speed
        assert stored.get(m.index) == m, f"rep {m.index} (ended {ago:.2f} s before the kill) lost"
    assert all(m in a.reps for m in r.reps)  # nothing invented or half-written
    angles = st.stream(sid, "angles")
    raw = st.stream(sid, "raw")
    reached = t0 + (killed_at - 1.0 - wall0) * speed
    assert angles is not None and raw is not None
    assert raw.time_s[-1] >= reached - 0.2 and angles.time_s[-1] >= reached - 0.2
    assert np.array_equal(raw["lower_acc"], rec["lower_acc"][:len(raw)])
    cues = [c for c in r.cues]
    assert len(cues) >= sum(1 for m in due if "lumbar_rounding" in m.faults)
    d = write_report(st, sid, html=tmp_path / "killed.html", pdf=tmp_path / "killed.pdf")
    html = (tmp_path / "killed.html").read_text()
    assert "Incomplete session" in html and len(d.analysis.reps) == len(r.reps)
    st.close()
