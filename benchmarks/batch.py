"""Batch speed and correctness on a cohort of one-hour work shifts. Prints a markdown table.

- identical results: every recording's reps (times, peaks) and faults from ``batch``
  equal ``analyze_file``'s, with 1 worker and with 2;
- speed-up: recordings per minute with 2 local workers against 1;
- overhead: a batch on 1 worker against the sum of the recordings' ``analyze_file``
  times (one core: the in-process fork that fuses the two sensors side by side is off,
  as it is in a Dask worker);
- planning 10,000 manifest rows (no file read), a second run over unchanged inputs,
  and the client's peak memory (RSS of the process that runs the batch).

Run: python benchmarks/batch.py [--recordings 100] [--distinct 20] [--hours 1]
The shifts are simulated once and cached (``$TMPDIR/hingecoach-bench/shifts``); a cohort
of N recordings is ``--distinct`` shifts, each copied N/distinct times (distinct paths).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from hingecoach.analysis import analyze_file
from hingecoach.batch import plan_batch
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.shift import ShiftSettings, simulate_shift

CACHE = Path(tempfile.gettempdir()) / "hingecoach-bench" / "shifts"
RUNNER = """
import json, resource, sys, time
from pathlib import Path
from hingecoach.batch import BatchOptions, plan_batch, run_batch
def hwm_mb():  # this process's own peak (ru_maxrss would keep the parent's peak across fork and exec)
    line = next(x for x in open("/proc/self/status") if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
t = time.perf_counter(); c = time.process_time()
plan = plan_batch([sys.argv[1]])
r = run_batch(plan, BatchOptions(out=Path(sys.argv[2]), workers=int(sys.argv[3]), summary=True))
print(json.dumps({"seconds": time.perf_counter() - t, "client_cpu_s": time.process_time() - c,
                  "workers_cpu_s": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
                  + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime,
                  "client_rss_mb": hwm_mb(), "startup_s": r.startup_s,
                  "ok": r.ok, "failed": r.failed, "unchanged": r.unchanged, "analysed": r.analysed}))
"""


def cohort(n: int, distinct: int, hours: float) -> Path:
    """``n`` recordings: ``distinct`` simulated shifts (cached), copied to distinct paths."""
    CACHE.mkdir(parents=True, exist_ok=True)
    sources = []
    for seed in range(distinct):
        p = CACHE / f"shift-{hours:g}h-{seed:03d}.csv"
        if not p.exists():
            rec = simulate_shift(ShiftSettings(hours=hours, seed=seed))[0]
            tmp = p.with_suffix(".tmp")
            write_imu_csv(tmp, rec)
            tmp.replace(p)
        sources.append(p)
    folder = CACHE / f"cohort-{n}-{distinct}-{hours:g}h"
    folder.mkdir(exist_ok=True)
    for i in range(n):
        dst = folder / f"worker{i:04d}.csv"
        if not dst.exists():
            os.link(sources[i % distinct], dst)  # same bytes, its own path (and no extra disk)
    return folder


def analyze_times(files: list[Path]) -> tuple[float, float, dict[str, Any]]:
    """Sum of analyze_file wall and CPU times on one core, and each file's reps. Copies of
    one shift hold the same bytes: each distinct source is analysed once and counted once
    per copy."""
    keep = threading.Event()
    t = threading.Thread(target=keep.wait, daemon=True)  # a second thread: no forked fusion (one core)
    t.start()
    wall = cpu = 0.0
    reps: dict[str, Any] = {}
    done: dict[Path, tuple[float, float, Any]] = {}
    try:
        for f in files:
            src = f.resolve() if f.is_symlink() else _source_of(f)
            if src not in done:
                w0, c0 = time.perf_counter(), time.process_time()
                a = analyze_file(src)
                done[src] = (time.perf_counter() - w0, time.process_time() - c0,
                             [(m.index, round(m.start_s, 3), round(m.end_s, 3), round(m.peak_lumbar_flexion_deg, 3),
                               tuple(m.faults)) for m in a.reps])
            w, c, r = done[src]
            wall += w
            cpu += c
            reps[str(f)] = r
    finally:
        keep.set()
    return wall, cpu, reps


def _source_of(f: Path) -> Path:
    """The cached shift a cohort file is a hard link of."""
    ino = f.stat().st_ino
    return next(p for p in sorted(CACHE.glob("shift-*.csv")) if p.stat().st_ino == ino)


def run(folder: Path, out: Path, workers: int) -> dict[str, Any]:
    """One batch in a fresh process (its own memory figure)."""
    p = subprocess.run([sys.executable, "-c", RUNNER, str(folder), str(out), str(workers)],
                       capture_output=True, text=True, check=True)
    return dict(json.loads(p.stdout.strip().splitlines()[-1]))


def batch_reps(out: Path) -> dict[str, Any]:
    t = pq.read_table(out / "reps.parquet").to_pylist()
    got: dict[str, Any] = {}
    for r in sorted(t, key=lambda r: (r["path"], r["index"])):
        if r["complete"]:
            got.setdefault(r["path"], []).append(
                (r["index"], round(r["start_s"], 3), round(r["end_s"], 3), round(r["peak_lumbar_flexion_deg"], 3),
                 tuple(r["faults"])))
    return got


def planning(folder: Path, rows: int, work: Path) -> float:
    """Seconds to plan ``rows`` manifest rows (symlinks to the cohort: no file is read)."""
    links = work / "links"
    links.mkdir()
    files = sorted(folder.glob("*.csv"))
    with (work / "manifest.csv").open("w") as f:
        f.write("path,person,exercise,site,age:int\n")
        for i in range(rows):
            link = links / f"r{i:05d}.csv"
            link.symlink_to(files[i % len(files)])
            f.write(f"links/r{i:05d}.csv,p{i % 500},hinge,site{i % 7},{20 + i % 40}\n")
    t = time.perf_counter()
    plan = plan_batch([], work / "manifest.csv")
    dt = time.perf_counter() - t
    assert len(plan.jobs) == rows
    return dt


def _row(name: str, value: str, target: str = "") -> None:
    print(f"| {name} | {value} | {target} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recordings", type=int, default=100)
    ap.add_argument("--distinct", type=int, default=20)
    ap.add_argument("--hours", type=float, default=1.0)
    args = ap.parse_args()
    folder = cohort(args.recordings, args.distinct, args.hours)
    files = sorted(folder.glob("*.csv"))
    n = len(files)
    print(f"{n} recordings of {args.hours:g} h ({args.distinct} distinct simulated shifts); "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.1f} at the start\n")
    print("| measure | value | target |\n|---|---|---|", flush=True)
    work = Path(tempfile.mkdtemp(prefix="hc-bench-batch-"))
    try:
        _row("planning 10,000 manifest rows", f"{planning(folder, 10_000, work):.2f} s", "< 5 s")
        a_wall, a_cpu, truth = analyze_times(files)
        _row("sum of analyze_file times (one core): wall / CPU", f"{a_wall:.1f} s / {a_cpu:.1f} s")
        one = run(folder, work / "one", 1)
        _row("batch on 1 worker: wall (of which starting the cluster) / workers' CPU",
             f"{one['seconds']:.1f} s ({one['startup_s']:.1f} s) / {one['workers_cpu_s']:.1f} s")
        _row("recordings/min, 1 worker", f"{n / one['seconds'] * 60:.1f}")
        _row("overhead: batch 1 worker / sum of analyze (wall)", f"{one['seconds'] / a_wall:.2f}x", "<= 1.15x")
        two = run(folder, work / "two", 2)
        _row("batch on 2 workers: wall (of which starting the cluster) / workers' CPU",
             f"{two['seconds']:.1f} s ({two['startup_s']:.1f} s) / {two['workers_cpu_s']:.1f} s")
        _row("recordings/min, 2 workers", f"{n / two['seconds'] * 60:.1f}")
        _row("speed-up, 2 workers vs 1", f"{one['seconds'] / two['seconds']:.2f}x", ">= 1.7x on 2 free cores")
        same = batch_reps(work / "one") == truth and batch_reps(work / "two") == truth
        _row("results identical to analyze (reps, faults), 1 and 2 workers", "yes" if same else "NO", "yes")
        again = run(folder, work / "two", 2)
        _row("second run over unchanged inputs", f"{again['seconds']:.2f} s ({again['seconds'] / two['seconds']:.1%} "
             f"of the first, {again['unchanged']} unchanged)", "< 10 %")
        _row("client peak memory (RSS), 1 / 2 workers", f"{one['client_rss_mb']:.0f} / {two['client_rss_mb']:.0f} MB",
             "< 300 MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nstatus: 1 worker {one['ok']} ok / {one['failed']} failed; "
          f"2 workers {two['ok']} ok / {two['failed']} failed; load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
