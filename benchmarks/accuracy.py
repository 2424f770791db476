"""Accuracy against simulator ground truth: prints a table and the targets it is held to.

One row per condition, so the error can be traced to it: the sample rate (50, 100 Hz),
the motion (slow, fast, rounded, over-extended hinges, kettlebell swings, walking), the
mounting (random, square on the back), the gyroscope bias (none, 1.5, 3 deg/s), the
sensor errors (noise or none, dropouts, clock jitter) and the placement of the upper
sensor (L1, T12, T8, the neck). 10 seeds per condition, held out (the fusion settings
and the bias learning were chosen on seeds 1-10), the worst seed's RMSE shown; reps,
spurious reps and fault flags summed over the seeds. Run: nice python benchmarks/accuracy.py
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from hingecoach.analysis import AnalysisSettings, analyze_recording
from hingecoach.sources.simulator import SimSettings, simulate

CONDITIONS = {
    "mixed 100 Hz, walk, dropouts, jitter": dict(pattern="mixed", reps=8, walk_s=6, dropouts=3,
                                                 clock_jitter=0.25),
    "mixed 100 Hz": dict(pattern="mixed", reps=8),
    "mixed 50 Hz": dict(pattern="mixed", reps=8, sample_rate_hz=50),
    "slow hinges 50 Hz": dict(pattern="slow", reps=4, sample_rate_hz=50),
    "slow hinges 100 Hz": dict(pattern="slow", reps=4),
    "fast hinges 100 Hz": dict(pattern="fast", reps=6),
    "rounded 50 Hz": dict(pattern="rounded", reps=6, sample_rate_hz=50),
    "over-extended 50 Hz": dict(pattern="overextended", reps=6, sample_rate_hz=50),
    "swings 100 Hz": dict(pattern="swing", reps=15),
    "swings 50 Hz": dict(pattern="swing", reps=15, sample_rate_hz=50),
    "gyro bias 3 deg/s": dict(pattern="mixed", reps=8, gyro_bias_dps=3.0),
    "no gyro bias, no noise": dict(pattern="mixed", reps=8, gyro_bias_dps=0.0, noise=False),
    "sensors square on the back": dict(pattern="mixed", reps=8, random_mounting=False),
    "upper sensor at L1": dict(pattern="mixed", reps=8, placement="L1"),
    "upper sensor at T8": dict(pattern="mixed", reps=8, placement="T8"),
    "upper sensor at the neck": dict(pattern="mixed", reps=8, placement="neck"),
}
# Shown but outside the targets: samples lost in the middle of a kettlebell swing (200
# deg/s, turning round in 0.1 s) cannot be bridged by integrating across the gap.
BEYOND = {"swings 100 Hz with dropouts": dict(pattern="swing", reps=15, dropouts=3)}
# The fusion settings were chosen on seeds 1-10; the table uses seeds never looked at then.
SEEDS = range(100, 110)


def main() -> None:
    """Run every condition over the seeds; print its worst RMSEs and summed rep and flag counts (Markdown)."""
    rows = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    for name, kw in [*CONDITIONS.items(), *BEYOND.items()]:
        err = {k: [] for k in ("lumbar_flexion_deg", "pelvis_tilt_deg", "trunk_inclination_deg")}
        reps_true = reps_found = flagged_ok = flag_needed = false_flags = good_reps = extra = 0
        for seed in SEEDS:
            rec, truth, reps = simulate(SimSettings(seed=seed, **kw))
            ex = "swing" if kw["pattern"] == "swing" else "hinge"
            a = analyze_recording(rec, settings=AnalysisSettings(exercise=ex))
            for k in err:
                err[k].append(float(np.sqrt(np.mean((a.angles[k] - truth[k]) ** 2))))
            reps_true += len(reps)
            matched = []
            for r in reps:
                m = next((m for m in a.reps if r.start_s <= m.bottom_s <= r.end_s), None)
                if m is not None:
                    reps_found += 1
                    matched.append((r, m))
            # a detected rep whose bottom lies in no scripted rep was counted while standing
            # or walking: a spurious rep
            extra += sum(1 for m in a.reps if not any(r.start_s <= m.bottom_s <= r.end_s for r in reps))
            for r, m in matched:
                flag_needed += len(r.must_flag)
                flagged_ok += sum(f in m.faults for f in r.must_flag)
                bad = [f for f in m.faults if f in r.must_not_flag]
                false_flags += bool(bad)
                good_reps += 1
        rows.append((name + (" (beyond the targets)" if name in BEYOND else ""),
                     *(max(v) for v in err.values()), f"{reps_found}/{reps_true}", str(extra),
                     f"{flagged_ok}/{flag_needed}", f"{false_flags}/{good_reps}"))
    print(f"accuracy against simulator ground truth, {len(SEEDS)} seeds per condition "
          f"({platform.processor() or platform.machine()}, {time.perf_counter() - t0:.0f} s)")
    hdr = ("condition", "lumbar RMSE max", "pelvis RMSE max", "trunk RMSE max", "reps found",
           "spurious reps", "required flags", "reps with a wrong flag")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for r in rows:
        print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.2f} | {r[4]} | {r[5]} | {r[6]} | {r[7]} |")
    print(f"\nload average {os.getloadavg()[0]:.1f}, CPU {time.process_time() - c0:.0f} s")
    print("targets: lumbar <= 0.5 deg, pelvis and trunk <= 0.7 deg, every rep found and no "
          "other, every required flag, no wrong flag")


if __name__ == "__main__":
    main()
