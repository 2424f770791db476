"""Running batches on a real dask.distributed cluster (a scheduler and two worker
processes on 127.0.0.1) and on a local one: results identical to ``analyze_file``, a
worker or the client killed mid-batch loses and duplicates nothing, a second run
analyses only what changed, ``--save`` and ``--angles``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from hingecoach.analysis import AnalysisSettings, analyze_file
from hingecoach.batch import BatchError, BatchOptions, plan_batch, run_batch
from hingecoach.cli import app
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate, write_truth
from hingecoach.store import open_store

distributed = pytest.importorskip("distributed")

N = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """``dask scheduler`` and two ``dask worker`` processes (with nannies) on 127.0.0.1."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    procs += [subprocess.Popen([*dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                "--no-dashboard", "--name", f"w{i}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
              for i in range(2)]
    try:
        with distributed.Client(address, timeout="60s", set_as_default=False) as c:
            c.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """N simulated recordings in two folders (with their truth files), a broken one and
    a CSV that is no recording."""
    root = tmp_path_factory.mktemp("cohort")
    for i in range(N):
        s = SimSettings(pattern="mixed", reps=5, seed=100 + i)
        rec, truth, reps = simulate(s)
        path = root / ("site-a" if i % 2 else "site-b") / f"r{i}.csv"
        path.parent.mkdir(exist_ok=True)
        write_imu_csv(path, rec)
        write_truth(path, truth, reps, s)
    (root / "site-a" / "broken.csv").write_text("time_s,lower_acc_x\n0,1\n")
    (root / "notes.csv").write_text("visit,comment\n1,fine\n")
    return root


def _expected(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for p in sorted(root.rglob("r*.csv")):
        if p.name.endswith(".truth.csv"):
            continue
        a = analyze_file(p, settings=AnalysisSettings()).to_json()
        out[str(p)] = [(r["index"], r["start_s"], r["bottom_s"], r["end_s"], r["peak_lumbar_flexion_deg"],
                        r["lumbar_share"], tuple(r["faults"])) for r in a["reps"]]
    return out


@pytest.fixture(scope="module")
def expected(cohort: Path) -> dict[str, list[tuple[Any, ...]]]:
    return _expected(cohort)


def _got(out: Path) -> dict[str, list[tuple[Any, ...]]]:
    reps = pq.read_table(out / "reps.parquet").to_pylist()
    got: dict[str, list[tuple[Any, ...]]] = {}
    for r in sorted(reps, key=lambda r: (r["path"], r["index"])):
        if r["complete"]:
            got.setdefault(r["path"], []).append(
                (r["index"], r["start_s"], r["bottom_s"], r["end_s"], r["peak_lumbar_flexion_deg"],
                 r["lumbar_share"], tuple(r["faults"])))
    return got


def _rows(out: Path) -> dict[str, dict[str, Any]]:
    rows = pq.read_table(out / "recordings.parquet").to_pylist()
    assert len({r["path"] for r in rows}) == len(rows)  # one row per recording
    return {Path(r["path"]).name: r for r in rows}


def _check_complete(out: Path, cohort: Path, expected: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = _rows(out)
    assert sorted(rows) == sorted([f"r{i}.csv" for i in range(N)] + ["broken.csv", "notes.csv"])
    assert _got(out) == expected
    reps = pq.read_table(out / "reps.parquet").to_pylist()
    keys = [(r["path"], r["index"], r["complete"]) for r in reps]
    assert len(keys) == len(set(keys))  # no rep twice
    current = {r["result_id"] for r in rows.values()}
    assert {r["result_id"] for r in reps} <= current
    return rows


def test_results_identical_to_analyze_and_broken_files_are_rows(cluster: str, cohort: Path, expected: Any,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = run_batch(plan_batch([str(cohort)]), BatchOptions(out=out, scheduler=cluster))
    assert (report.ok, report.failed, report.skipped, report.workers) == (N, 1, 1, 2)
    rows = _check_complete(out, cohort, expected)
    assert rows["broken.csv"]["status"] == "failed" and "broken.csv" in rows["broken.csv"]["error"]
    assert "\n" not in rows["broken.csv"]["error"]
    assert rows["notes.csv"]["status"] == "skipped" and rows["notes.csv"]["error"].startswith("not a recording")
    r0 = rows["r0.csv"]
    assert r0["status"] == "ok" and r0["format"] == "hingecoach-csv" and r0["reps"] == 5
    assert r0["hinges_per_hour"] == pytest.approx(5 / (r0["duration_s"] / 3600))
    assert r0["rounding_share"] == pytest.approx(r0["n_lumbar_rounding"] / 5)
    assert len(r0["content_hash"]) == 32 and r0["hingecoach_version"] and r0["seconds"] > 0
    html = (out / "summary.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "Per person" in html and "broken.csv" in html
    assert not list(out.glob("parts/*")) and not list(out.glob(".*.tmp-*"))


def test_a_second_run_analyses_only_new_or_changed_recordings(cluster: str, cohort: Path, expected: Any,
                                                               tmp_path: Path) -> None:
    work = tmp_path / "cohort"
    subprocess.run(["cp", "-a", str(cohort), str(work)], check=True)
    out = tmp_path / "out"
    opts = BatchOptions(out=out, scheduler=cluster)
    first = run_batch(plan_batch([str(work)]), opts)
    assert first.analysed == N + 2
    before = _rows(out)
    again = run_batch(plan_batch([str(work)]), opts)
    assert (again.analysed, again.unchanged) == (0, N + 2)
    os.utime(work / "site-b" / "r0.csv")  # touched, same bytes: hashed again, not analysed
    r1 = work / "site-a" / "r1.csv"
    r1.write_bytes(Path(str(work / "site-b" / "r2.csv")).read_bytes())  # changed bytes
    third = run_batch(plan_batch([str(work)]), opts)
    assert (third.analysed, third.unchanged) == (1, N + 1)
    after = _rows(out)
    assert after["r0.csv"]["result_id"] == before["r0.csv"]["result_id"]
    assert after["r1.csv"]["content_hash"] == after["r2.csv"]["content_hash"] != before["r1.csv"]["content_hash"]
    got = _got(out)
    strip = [x[1:] for x in got[str(work / "site-b" / "r2.csv")]]
    assert [x[1:] for x in got[str(r1)]] == strip  # the new content's reps, the old ones gone


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(cluster: str, cohort: Path, expected: Any,
                                                                tmp_path: Path) -> None:
    with distributed.Client(cluster, set_as_default=False) as c:
        pids = c.run(os.getpid)
    killed: list[str] = []

    def kill_the_other_worker(report: Any, job: Any, row: dict[str, Any]) -> None:
        if not killed and row.get("worker") in pids:
            victim = next(a for a in pids if a != row["worker"])  # busy with another recording now
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(victim)

    out = tmp_path / "out"
    report = run_batch(plan_batch([str(cohort)]), BatchOptions(out=out, scheduler=cluster),
                       progress=kill_the_other_worker)
    assert killed and report.analysed == N + 2
    rows = _check_complete(out, cohort, expected)
    assert sum(r["status"] == "ok" for r in rows.values()) == N


CLIENT = """
import sys, time
from pathlib import Path
from hingecoach.batch import BatchOptions, plan_batch, run_batch
def slow(report, job, row):
    print("done", job.path, flush=True)
    time.sleep(0.3)
run_batch(plan_batch([sys.argv[1]]), BatchOptions(out=Path(sys.argv[2]), scheduler=sys.argv[3],
          in_flight_per_worker=1, flush_rows=1), progress=slow)  # a part per result
"""


def test_a_client_killed_mid_batch_leaves_whole_files_and_the_next_run_finishes(
        cluster: str, cohort: Path, expected: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with subprocess.Popen([sys.executable, "-c", CLIENT, str(cohort), str(out), cluster], stdout=subprocess.PIPE,
                          text=True) as p:
        assert p.stdout is not None
        done = 0
        for line in p.stdout:
            done += line.startswith("done")
            if done == 3:
                p.send_signal(signal.SIGKILL)
                break
        p.wait()
    assert p.returncode == -signal.SIGKILL
    visible = [f for f in out.rglob("*.parquet") if not f.name.startswith(".")]
    assert visible and not (out / "recordings.parquet").exists()
    for f in visible:
        pq.read_table(f)  # every visible file is whole
    report = run_batch(plan_batch([str(cohort)]), BatchOptions(out=out, scheduler=cluster))
    assert (report.unchanged, report.analysed) == (3, N + 2 - 3)  # the 3 written are kept, not redone
    _check_complete(out, cohort, expected)


def test_save_stores_each_session_and_angles_are_a_dataset(cluster: str, cohort: Path, tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,person,site,age:int\n{cohort}/site-b/r0.csv,ann,north,40\n"
                        f"{cohort}/site-a/r1.csv,bob,south,\n")
    out = tmp_path / "out"
    with open_store(db, create=True) as st:
        report = run_batch(plan_batch([], manifest), BatchOptions(out=out, scheduler=cluster, save=True, angles=True),
                           store=st)
        assert report.saved == 2
        rows = _rows(out)
        for name, person in (("r0.csv", "ann"), ("r1.csv", "bob")):
            sid = rows[name]["session_id"]
            rec = st.session(sid)
            assert rec.summary.person == person and len(rec.reps) == rows[name]["reps"] + rows[name]["incomplete_reps"]
            assert st.stream(sid, "raw") is not None
        assert sorted(s.person for s in st.sessions()) == ["ann", "bob"]
    assert rows["r0.csv"]["site"] == "north" and rows["r0.csv"]["age"] == 40 and rows["r1.csv"]["age"] is None
    html = (out / "summary.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "Faulty-rep share per person" in html  # and per person
    reps = pq.read_table(out / "reps.parquet").to_pylist()
    assert {r["site"] for r in reps} == {"north", "south"} and {r["person"] for r in reps} == {"ann", "bob"}
    angles = ds.dataset(out / "angles", format="parquet", partitioning="hive").to_table()
    by_rec = angles.group_by("recording_id").aggregate([("time_s", "count")]).to_pylist()
    n0 = analyze_file(cohort / "site-b" / "r0.csv").angles
    assert {r["recording_id"]: r["time_s_count"] for r in by_rec}[rows["r0.csv"]["recording_id"]] == len(n0)
    assert "lumbar_flexion_deg" in angles.column_names
    # stored once: a second run with --save analyses and stores nothing again
    with open_store(db) as st:
        again = run_batch(plan_batch([], manifest), BatchOptions(out=out, scheduler=cluster, save=True), store=st)
        assert (again.analysed, again.saved, len(st.sessions())) == (0, 0, 2)


def test_a_local_cluster_gives_the_same_results(cohort: Path, expected: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = run_batch(plan_batch([str(cohort)]), BatchOptions(out=out, workers=2))
    assert report.workers == 2 and report.ok == N
    _check_complete(out, cohort, expected)


def test_an_unreachable_scheduler_is_one_line_and_exit_2(cohort: Path, tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(BatchError, match="expected a reachable dask scheduler"):
        run_batch(plan_batch([str(cohort)]), BatchOptions(out=tmp_path / "o", scheduler=address,
                                                           connect_timeout_s=1.0))
    assert not (tmp_path / "o" / "recordings.parquet").exists()


def test_a_scheduler_without_workers_is_a_bad_argument(cohort: Path, tmp_path: Path) -> None:
    port = _free_port()
    with subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                           "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as sched:
        try:
            with pytest.raises(BatchError, match="expected a cluster with workers"):
                deadline = time.monotonic() + 60
                while True:  # the scheduler takes a moment to listen
                    try:
                        run_batch(plan_batch([str(cohort)]), BatchOptions(out=tmp_path / "o", connect_timeout_s=1.0,
                                                                           scheduler=f"tcp://127.0.0.1:{port}"))
                    except BatchError as e:
                        if "reachable" in str(e) and time.monotonic() < deadline:
                            time.sleep(0.5)
                            continue
                        raise
        finally:
            sched.kill()


def test_the_command_exits_0_with_failed_rows(cluster: str, cohort: Path, tmp_path: Path) -> None:
    p = CliRunner().invoke(app, ["batch", str(cohort / "site-a"), "--out", str(tmp_path / "out"),
                                 "--scheduler", cluster])
    assert p.exit_code == 0, p.stderr
    assert "1 failed" in p.stderr and "recordings.parquet" in p.stdout
    rows = _rows(tmp_path / "out")
    assert rows["broken.csv"]["status"] == "failed"
    assert json.dumps(sorted(rows)) == json.dumps(sorted(["broken.csv", "r1.csv", "r3.csv", "r5.csv"]))


def test_a_manifest_row_without_its_file_is_a_failed_row_and_needs_no_cluster(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("path,site\ngone.csv,north\n")
    report = run_batch(plan_batch([], m), BatchOptions(out=tmp_path / "out", workers=2))
    assert (report.failed, report.workers) == (1, 0)  # no local cluster was started for it
    (row,) = _rows(tmp_path / "out").values()
    assert row["status"] == "failed" and "no such file" in row["error"] and row["site"] == "north"
