"""Fuzzing: 10,000 inputs per target (mutations of a valid input, a tenth random bytes),
each accepted or rejected with the usual one-line error, never a traceback or a hang
(over 5 s). Prints a table; the first tracebacks and hangs below it.

Run: nice python benchmarks/fuzz.py [--n 10000] [--only NAME]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from hingecoach.testing.fuzz import HANG_S, TARGETS, fuzz


def main() -> None:
    """Fuzz every target; exit 1 on any traceback or hang."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    print(f"fuzzing, {args.n} inputs per target, hang = over {HANG_S:g} s")
    print("| target | accepted | rejected (one line) | tracebacks | hangs | slowest (s) | wall (s) | CPU (s) |")
    print("|---|---|---|---|---|---|---|---|")
    bad = []
    for t in TARGETS:
        if args.only and args.only.lower() not in t.name.lower():
            continue
        w0, c0 = time.perf_counter(), time.process_time()
        r = fuzz(t, args.n, seed=10_000)
        c = r["counts"]
        print(f"| {t.name} | {c['ok']} | {c['rejected']} | {c['traceback']} | {c['hang']} | "
              f"{r['slowest_s']:.2f} | {time.perf_counter() - w0:.0f} | {time.process_time() - c0:.0f} |",
              flush=True)
        bad += [(t.name, *b) for b in r["bad"]]
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    for name, kind, data, detail in bad:
        print(f"{name}: {kind}: {detail}\n  input: {data!r}")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
