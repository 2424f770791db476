"""Speed: one hour of two 100 Hz sensors, end to end (reading the CSV included), against
a bare imufusion 6-axis loop over the same samples. Prints a table.

Run: python benchmarks/speed.py   (writes a 47 MB CSV to a temporary folder first)
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imufusion
import numpy as np

HOUR_S = 3600.0
RUNS = 5  # end-to-end runs; the best counts (the machine may be shared)

CHILD = """
import resource, sys, time
t = time.perf_counter()
from hingecoach.analysis import analyze_file
a = analyze_file(sys.argv[1])
dt = time.perf_counter() - t
me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
print(f"{dt:.3f} {me.ru_maxrss / 1024:.1f} {len(a.reps)} {cpu:.3f} {kids.ru_maxrss / 1024:.1f}")
"""


def make_hour(path: Path) -> int:
    """Write one simulated hour (two sensors, 100 Hz) as a hingecoach CSV; returns its rows."""
    from hingecoach.sources.imu_csv import write_imu_csv
    from hingecoach.sources.simulator import SimSettings, simulate

    rec, _, _reps = simulate(SimSettings(pattern="mixed", reps=540, seed=1, walk_s=20.0))
    rec = rec.slice_time(0.0, HOUR_S)  # 540 reps of about 6.7 s: a little over an hour
    write_imu_csv(path, rec)
    return len(rec)


def bare_loop(path: Path) -> float:
    """Seconds for a bare imufusion 6-axis loop over both sensors of the CSV (the floor)."""
    data = np.loadtxt(path, delimiter=",", skiprows=2)
    n = data.shape[0]
    t = time.perf_counter()
    for cols in ((4, 5, 6, 1, 2, 3), (10, 11, 12, 7, 8, 9)):
        gyr = np.rad2deg(data[:, cols[:3]])
        acc = data[:, cols[3:]] / 9.80665
        ahrs = imufusion.Ahrs()
        ahrs.set_settings(imufusion.AhrsSettings(sample_rate=100.0))
        q = np.empty((n, 4))
        for i in range(n):
            ahrs.update_no_magnetometer(gyr[i], acc[i])
            q[i] = ahrs.get_quaternion()
    return time.perf_counter() - t


def main() -> None:
    """Time the end-to-end analysis (best of RUNS subprocesses) against the bare loop; print a table."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.csv"
        n = make_hour(path)
        size = path.stat().st_size / 1e6
        bare = min(bare_loop(path) for _ in range(2))
        runs = []
        for _ in range(RUNS):
            r = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                               text=True, check=True)
            runs.append([float(x) for x in r.stdout.split()])
        best = min(runs, key=lambda x: x[0])
        walls = sorted(r[0] for r in runs)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"one hour of two 100 Hz sensors: {n} rows x 2 sensors, CSV {size:.0f} MB "
          f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {load:.2f})")
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| bare imufusion 6-axis loop, both sensors | {bare:.2f} s | |")
    print(f"| hingecoach analyze, end to end (best of {RUNS}; all: "
          f"{', '.join(f'{w:.2f}' for w in walls)}) | {best[0]:.2f} s | |")
    print(f"| ratio | {best[0] / bare:.2f} | <= 1.5 |")
    print(f"| CPU time of that run, both processes | {best[3]:.2f} s | |")
    print(f"| peak memory (max RSS, main process; helper process) | {best[1]:.0f} MB; {best[4]:.0f} MB "
          "| < 600 MB |")
    print(f"| reps found | {int(best[2])} | |")
    _ = resource  # imported for the child; keeps the dependency visible


if __name__ == "__main__":
    main()
