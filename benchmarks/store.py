"""Store and report speed: saving a one-hour two-sensor session, making its report, and
listing a store of 1,000 sessions. Prints a markdown table (best of N, and the spread).

Run: python benchmarks/store.py   (the simulated hour is cached in a temporary folder;
the first run spends about a minute simulating it)
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hingecoach.analysis import AnalysisSettings, analyze_recording
from hingecoach.core.timeseries import TimeSeries
from hingecoach.report import write_report
from hingecoach.sources.detect import read_recording
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.store import open_store

HOUR_S = 3600.0
CACHE = Path(tempfile.gettempdir()) / "hingecoach-bench"
HOUR = SimSettings(pattern="mixed", reps=540, walk_s=20.0, seed=1)


def hour_recording() -> TimeSeries:
    """The simulated hour, as 'analyze --save' sees it: written to a CSV (6 decimals, as
    sensors and the simulator write them) and read back. Cached."""
    path = CACHE / f"hour-{zlib.crc32(repr(HOUR).encode()):08x}.csv"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        write_imu_csv(path, simulate(HOUR)[0].slice_time(0.0, HOUR_S))
    return read_recording(path)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(best, spread) in seconds."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), max(times) - min(times)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="hc-bench-store-"))
    try:
        rec = hour_recording()
        a = analyze_recording(rec, None, AnalysisSettings())
        rows: list[tuple[str, str, str]] = []

        counter = iter(range(10**6))

        def save() -> None:
            with open_store(work / f"save-{next(counter)}.db") as st:
                st.save_analysis(a, raw=rec, person="bench", settings=AnalysisSettings())

        best, spread = timed(save, 3)
        db = work / "save-0.db"
        raw_mb = sum(v.nbytes for v in rec.data.values()) / 1e6 + rec.time_s.nbytes / 1e6
        rows.append(("save a one-hour two-sensor session (raw + angles + reps)",
                     f"{best:.2f} s (spread {spread:.2f})", "< 5 s"))
        rows.append(("its size in the database", f"{db.stat().st_size / 1e6:.1f} MB "
                     f"(raw float64 in memory {raw_mb:.1f} MB)", ""))

        st = open_store(db)
        sid = st.sessions()[0].id
        best, spread = timed(lambda: write_report(st, sid, html=work / "r.html"), 3)
        rows.append(("its HTML report (read, plot, write)", f"{best:.2f} s (spread {spread:.2f})", "< 5 s"))
        rows.append(("HTML size", f"{(work / 'r.html').stat().st_size / 1e6:.1f} MB", ""))
        best, spread = timed(lambda: write_report(st, sid, pdf=work / "r.pdf"), 2)
        rows.append(("its PDF report", f"{best:.2f} s (spread {spread:.2f})", ""))
        best, spread = timed(lambda: st.reanalyze(sid), 1)
        rows.append(("re-analysis from the stored raw", f"{best:.2f} s", ""))
        st.close()

        # 1,000 sessions of ten minutes' worth of reps each (angles, no raw: listing never reads them)
        short = simulate(SimSettings(pattern="mixed", reps=10, seed=2))[0]
        sa = analyze_recording(short)
        many = work / "many.db"
        t = time.perf_counter()
        with open_store(many) as st:
            people = [f"person {k}" for k in range(50)]
            for k in range(1000):
                st.save_analysis(sa, person=people[k % 50],
                                 started_at=f"2026-{1 + k % 12:02d}-{1 + k % 28:02d}T10:{k % 60:02d}:00+00:00")
        fill = time.perf_counter() - t
        with open_store(many) as st:
            best, spread = timed(lambda: st.sessions(), 5)
            pbest, _ = timed(lambda: st.sessions("person 7"), 5)
        rows.append(("list 1,000 sessions (open store excluded)", f"{best * 1000:.0f} ms (spread "
                     f"{spread * 1000:.0f})", "< 1 s"))
        rows.append(("list one person's 20 of them", f"{pbest * 1000:.1f} ms", ""))
        env = {**os.environ, "HINGECOACH_DB": str(many)}

        def cli() -> None:
            subprocess.run([sys.executable, "-m", "hingecoach.cli", "sessions", "--json"], env=env,
                           check=True, capture_output=True)

        best, spread = timed(cli, 3)
        rows.append(("`hingecoach sessions --json` on them, whole process", f"{best:.2f} s (spread "
                     f"{spread:.2f})", "< 1 s"))
        rows.append(("(filling the 1,000 sessions, one transaction each)", f"{fill:.1f} s", ""))

        n = len(rec)
        print(f"session store, one hour = {n} samples x 2 sensors at 100 Hz, {len(a.reps)} reps "
              f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"numpy {np.__version__})")
        print("| measure | value | target |\n|---|---|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
