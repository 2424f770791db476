"""Fuzzing: 10,000 inputs per target (mutations of valid inputs, a tenth random bytes),
each accepted or rejected with the usual one-line error that names the file, field or
line; never another shape of rejection, a traceback or a hang (over 5 s). Prints a
table; the findings below it.

Run: nice python benchmarks/fuzz.py [--n 10000] [--only NAME[,NAME...]] [--seed 10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from hingecoach.testing.fuzz import HANG_S, all_targets, fuzz


def main() -> None:
    """Fuzz every target (or those named); exit 1 on any finding."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--only", default=None, help="comma-separated parts of target names")
    ap.add_argument("--seed", type=int, default=10_000)
    args = ap.parse_args()
    wanted = [w.strip().lower() for w in args.only.split(",")] if args.only else None
    print(f"fuzzing, {args.n} inputs per target, hang = over {HANG_S:g} s; {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    print("| target | cases | accepted | rejected (one line) | malformed rejections | tracebacks | hangs "
          "| slowest case (s) | wall (s) | CPU (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    bad = []
    w_all = time.perf_counter()
    for t in all_targets():
        if wanted and not any(w in t.name.lower() for w in wanted):
            continue
        w0, c0 = time.perf_counter(), time.process_time()
        r = fuzz(t, args.n, seed=args.seed)
        c = r["counts"]
        seeds = "" if r["seeds_ok"] else " (a seed is refused!)"
        print(f"| {t.name}{seeds} | {r['n']} | {c['ok']} | {c['rejected']} | {c['malformed']} | {c['traceback']} "
              f"| {c['hang']} | {r['slowest_s']:.2f} | {time.perf_counter() - w0:.0f} "
              f"| {time.process_time() - c0:.0f} |", flush=True)
        bad += [(t.name, *b) for b in r["bad"]]
        if not r["seeds_ok"]:
            bad.append((t.name, "seed", b"", "a valid seed is not accepted"))
    print(f"\n{time.perf_counter() - w_all:.0f} s in all; load average {os.getloadavg()[0]:.1f} at the end")
    for name, kind, data, detail in bad:
        print(f"{name}: {kind}: {detail}\n  input: {data!r}")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
