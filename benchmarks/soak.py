"""Soak: a long day with few lifts, replayed through ``live`` as fast as it goes.

An 8-hour recording (50 Hz, both sensors) is built from simulated pieces: every 10
minutes two hinges (one good, one rounded), and standing in between (the simulator's
still start, repeated). It is replayed through the live session in this process (the
same loop as ``hingecoach live --source replay:FILE --speed 0``, storing into a
temporary SQLite database), and the process's resident memory is read at every hour of
sample time. Then ``analyze`` runs on the same file: the reps must be the same (start,
bottom and end within 0.05 s, the same faults).

Run: nice python benchmarks/soak.py [--hours 8] [--rate 50]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from hingecoach.analysis import analyze_file
from hingecoach.core.timeseries import TimeSeries
from hingecoach.live import LiveSession, LiveSettings
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate

BLOCK_S = 600.0  # one block: two lifts, then standing until the next block


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process, MB."""
    vals = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            vals[line.split(":")[0]] = float(line.split()[1]) / 1024
    return vals.get("VmRSS", float("nan")), vals.get("VmHWM", float("nan"))


def build(hours: float, rate: float, seed: int = 3) -> TimeSeries:
    """The long recording (see the module docstring)."""
    lifts, _, _ = simulate(SimSettings(pattern=["good", "rounded"], seed=seed, sample_rate_hz=rate))
    still = lifts.slice_time(0.0, 3.0)  # the still start: standing, swaying
    n_still = len(still)
    names = list(lifts.data)
    period = 1.0 / rate
    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    times: list[np.ndarray] = []
    t0 = 0.0
    for _ in range(round(hours * 3600 / BLOCK_S)):
        n_lift = len(lifts)
        n_stand = max(0, round((BLOCK_S - n_lift * period) / period))
        reps_needed = -(-n_stand // n_still)
        for k in names:
            parts[k].append(lifts[k])
            parts[k].append(np.tile(still[k], (reps_needed, 1))[:n_stand])
        times.append(t0 + np.arange(n_lift + n_stand) * period)
        t0 += (n_lift + n_stand) * period
    return TimeSeries(np.concatenate(times), {k: np.concatenate(v) for k, v in parts.items()},
                      info=lifts.info, meta={**lifts.meta, "source": "soak"})


def main() -> None:
    """Build, replay through live, compare with analyze; print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--build", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build:
        write_imu_csv(Path(args.build), build(args.hours, args.rate))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "day.csv"
        t_build = time.perf_counter()
        # built in a child process: the peak memory measured here is the live loop's
        subprocess.run([sys.executable, __file__, "--build", str(path), "--hours", str(args.hours),
                        "--rate", str(args.rate)], check=True)
        size_mb = path.stat().st_size / 1e6
        t_build = time.perf_counter() - t_build
        marks: list[tuple[float, float, float]] = []  # (hour, rss, peak)
        next_hour = [1.0]

        def on_event(ev: dict[str, Any]) -> None:
            t = ev.get("t")
            if ev.get("type") == "angles" and isinstance(t, float) and t >= next_hour[0] * 3600:
                marks.append((next_hour[0], *_rss_mb()))
                next_hour[0] += 1.0

        c0, w0 = time.process_time(), time.perf_counter()
        s = LiveSession(f"replay:{path}", LiveSettings(speed=0, db=f"sqlite:///{tmp}/soak.db"),
                        on_event=on_event).run()
        c_live, w_live = time.process_time() - c0, time.perf_counter() - w0
        marks.append((args.hours, *_rss_mb()))
        offline = analyze_file(path)
    same = len(s.reps) == len(offline.reps) and all(
        abs(a.start_s - b.start_s) <= 0.05 and abs(a.bottom_s - b.bottom_s) <= 0.05
        and abs(a.end_s - b.end_s) <= 0.05 and a.faults == b.faults
        for a, b in zip(offline.reps, s.reps, strict=False))
    print(f"soak: {args.hours:g} h at {args.rate:g} Hz ({size_mb:.0f} MB CSV, built in {t_build:.0f} s), "
          f"live replay {w_live:.0f} s wall, {c_live:.0f} s CPU, load average {os.getloadavg()[0]:.1f}")
    print("| hour of sample time | RSS MB | peak RSS MB |")
    print("|---|---|---|")
    for h, rss, peak in marks:
        print(f"| {h:g} | {rss:.1f} | {peak:.1f} |")
    first = next((m for m in marks if m[0] >= 1.0), marks[0])
    growth = marks[-1][2] - first[2]
    print(f"\npeak RSS growth from the first hour to the last: {growth:.1f} MB, resident "
          f"{marks[-1][1] - first[1]:.1f} MB (target < 20)")
    print(f"reps: live {len(s.reps)}, analyze {len(offline.reps)}, identical: {'yes' if same else 'NO'}")
    print(f"cues: {len(s.cues)}; rounded reps flagged offline: "
          f"{sum('lumbar_rounding' in m.faults for m in offline.reps)}")
    if growth >= 20 or not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
