"""Real-motion check: virtual IMUs driven by the Xsens box lifts in ../shared/data/mocap.

Each BVH clip moves a virtual sacrum sensor (on Hips) and an upper-back sensor (Chest3 =
T12, or Chest4 = T8), with random mountings, noise and gyroscope bias as in the simulator;
the full pipeline (``analyze_recording``) runs on the result and is compared with the
truth computed from the clip's segment orientations. The clips start bent over, so the
fixture prepends a standing stance and a synthetic descent: RMSE is given on the clip's
own (real) frames, and over the whole recording for comparison.

Run: python benchmarks/bvh.py [SHARED_DATA_DIR]   (default: ../shared/data beside the repo)
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from hingecoach.analysis import analyze_recording
from hingecoach.core.timeseries import TimeSeries
from hingecoach.reps import detect_reps
from hingecoach.sources.bvh import VirtualImuSettings, read_bvh, virtual_recording

FILES = ("S01_T01", "S01_T02", "S01_T03")
SEEDS = range(5)
CONDITIONS = (("T12", 100.0), ("T12", 60.0), ("T8", 100.0))
ANGLES = ("lumbar_flexion_deg", "pelvis_tilt_deg", "trunk_inclination_deg")
TARGETS = (0.7, 1.5, 1.5)  # lumbar: the two-IMU target on real motion


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def reps_text(complete: int, incomplete: int) -> str:
    return f"{complete}" + (f" (+{incomplete} incomplete)" if incomplete else "")


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    folder = root / "mocap" / "boxlift-xsens-bvh"
    if not folder.is_dir():
        sys.exit(f"error: {folder}: expected the box-lift BVH folder, found nothing there")
    t0 = time.perf_counter()
    rows = []
    for placement, rate in CONDITIONS:
        for name in FILES:
            path = folder / f"{name}.bvh"
            clip = read_bvh(path)
            real_err, all_err, found, gap = [], [], set(), []
            for seed in SEEDS:
                rec, truth, info = virtual_recording(
                    clip, VirtualImuSettings(seed=seed, sample_rate_hz=rate, placement=placement))
                a = analyze_recording(rec)
                real = truth.time_s >= info.real_from_s
                real_err.append([rmse(a.angles[k][real], truth[k][real]) for k in ANGLES])
                all_err.append([rmse(a.angles[k], truth[k]) for k in ANGLES])
                found.add(reps_text(len(a.reps), len(a.incomplete)))
                gap.append(float(np.max(np.abs(truth["lumbar_flexion_deg"]
                                                - truth["lumbar_joint_flexion_deg"]))))
            true_reps = detect_reps(TimeSeries(truth.time_s, {k: truth[k] for k in ANGLES},
                                               meta={"placement": placement}))
            expected = reps_text(sum(r.complete for r in true_reps),
                                 sum(not r.complete for r in true_reps))
            r_max, a_max = np.max(real_err, axis=0), np.max(all_err, axis=0)
            rows.append((name, placement, f"{rate:g}", f"{clip.n_frames * clip.frame_time_s:.2f}",
                         f"{info.real_to_s:.2f}", expected, " / ".join(sorted(found)),
                         *(f"{v:.2f}" for v in r_max), *(f"{v:.2f}" for v in a_max),
                         f"{max(gap):.1f}", bool(np.all(r_max <= TARGETS))))
    print(f"virtual IMUs on real box lifts (Xsens BVH, 60 Hz), {len(SEEDS)} seeds each: random "
          f"mountings, noise, gyroscope bias ({platform.machine()}, {time.perf_counter() - t0:.0f} s, "
          f"load average {os.getloadavg()[0]:.1f})")
    hdr = ("file", "upper", "rate Hz", "clip s", "recording s", "reps in truth", "reps found",
           "lumbar RMSE real", "pelvis RMSE real", "trunk RMSE real", "lumbar all", "pelvis all",
           "trunk all", "lumbar: gravity vs joint, max deg", "targets met")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for r in rows:
        print("| " + " | ".join(str(v) if not isinstance(v, bool) else ("yes" if v else "NO")
                                for v in r) + " |")
    print("\nRMSE in deg, the largest over the seeds; 'real': the clip's own frames, 'all': with the "
          "prepended stance and synthetic descent. targets: lumbar <= 0.7, pelvis and trunk <= 1.5")


if __name__ == "__main__":
    main()
