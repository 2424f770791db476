"""Per-rep rounding and squat verdicts (``hingecoach.pose.verdict``) on cached BlazePose
output: the labelled side/oblique clips and the wild clips with their informal notes.

Reads the pose cache (one npz per clip: landmarks, times, person masks; format in the
cache's README), so it runs in seconds and never runs the pose model. Rep bottoms here
are the peaks of hip flexion above 45 deg with 30 deg of prominence (a start at the
bottom counts), independent of the product's rep segmentation.

Run: PYTHONPATH=src python benchmarks/camera_verdicts.py [--cache DIR] [--reps]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import find_peaks

from hingecoach.core.pose_types import HIP, SHOULDER, PoseFrame
from hingecoach.pose.back_shape import BackShape, measure_back_shape
from hingecoach.pose.keypoints import choose_orientation, keypoint_angles, side_view_ratio
from hingecoach.pose.verdict import (
    BOTTOM_HALF_WINDOW_S,
    back_reference,
    judge_rounding,
    judge_squat,
)

CACHE = Path("/work/scratch/posecache/full")

# What the clip should read, from the labels (shared clips) or the informal notes (wild):
# "rounded", "neutral", "squat", "n/j" (the note itself does not judge it), or
# "rounded<T" / ... for clips whose reading changes at time T.
EXPECT = {
    "0016c_1": "neutral", "0016a_1": "neutral", "0016h_1": "neutral", "0016r_1": "rounded",
    "0016k_1": "squat",
    "0016c_2": "neutral", "0016a_2": "neutral", "0016h_2": "neutral", "0016r_2": "rounded",
    "0016k_2": "squat",
    "deadlift_side_posereader_1": "neutral", "stifflegdeadlift_side_posereader_2": "rounded",
    "deadlift_side_posereader_3": "neutral", "deadlift_side_posereader_4": "neutral",
    "deadlift_side_formfit_1": "neutral", "trapbardeadlift_side_aigymrfn_2": "neutral",
    "deadlift_side_aigymrfn_1": "rounded<7.4 neutral",
    "kbdeadlift_side_tobefrank_2": "rounded (upper back, somewhat)",
    "rdl_side_entrenamiento_1": "split screen: left neutral, right rounded shoulders",
    "banddeadlift_oblique_fittransformer_1": "rounded (upper back, informal)",
    "deadlift_oblique_exanalyzer_1": "neutral", "rdl_oblique_tobefrank_3": "neutral",
}


@dataclass
class Clip:
    name: str
    t: np.ndarray
    hip: np.ndarray
    trunk: np.ndarray
    knee: np.ndarray
    side: np.ndarray
    shape_at: dict[int, BackShape]


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    ok = np.isfinite(x)
    if not ok.any():
        return x
    y = np.interp(np.arange(x.size), np.flatnonzero(ok), x[ok])
    return np.convolve(np.pad(y, n // 2, mode="edge"), np.ones(n) / n, mode="valid")


def bottoms(t: np.ndarray, hip: np.ndarray) -> list[int]:
    """Peaks of the (lightly smoothed) hip flexion over 45 deg, 30 deg prominent."""
    fps = 1.0 / float(np.median(np.diff(t)))
    h = _smooth(hip, max(3, int(fps * 0.15)) | 1)
    pad = np.concatenate([[-1e9], h, [-1e9]])
    pk, _ = find_peaks(pad, prominence=30, distance=max(1, int(0.8 * fps)))
    # complete reps only: the hips open again (below 30 deg, lockout) after the bottom
    return [int(p - 1) for p in pk if h[p - 1] > 45]


def complete(hip: np.ndarray, b: int) -> bool:
    """The hips open again (under 30 deg: lockout) after the bottom."""
    return bool(np.nanmin(hip[b:], initial=np.inf) < 30)


def load(path: Path) -> tuple[Clip, list[int]]:
    d = dict(np.load(path))
    xy, z, vis, found = d["xy"].astype(float), d["z"].astype(float), d["visibility"].astype(float), d["found"]
    w, h, sc = int(d["width"]), int(d["height"]), float(d["mask_scale"])
    n = len(found)
    frames = [PoseFrame(xy[i], z[i], vis[i], None, w, h) for i in range(n)]
    fi = np.flatnonzero(found)
    # side and facing by majority over the whole clip (the product decides on the first
    # frames; here the verdicts, not that choice, are under test)
    o = choose_orientation([frames[i] for i in fi[:: max(1, fi.size // 60)]])
    a = {k: np.full(n, np.nan) for k in ("hip", "trunk", "knee", "side")}
    for i in fi:
        k = keypoint_angles(frames[i], o)
        a["hip"][i], a["trunk"][i], a["knee"][i] = k.hip_flexion_deg, k.trunk_inclination_deg, k.knee_flexion_deg
        a["side"][i] = side_view_ratio(frames[i])
    t = d["time_s"]
    bs = bottoms(t, a["hip"])
    need: set[int] = set()
    for b in bs:
        need.update(np.flatnonzero(np.abs(t - t[b]) <= BOTTOM_HALF_WINDOW_S + 1e-9).tolist())
    upright = np.flatnonzero((np.abs(a["hip"]) < 20) & (np.abs(a["trunk"]) < 15))
    need.update(upright[:: max(1, upright.size // 60)].tolist())
    shape_at = {i: measure_back_shape(d["mask"][i], xy[i][HIP[o.side]], xy[i][SHOULDER[o.side]], o.facing,
                                      mask_scale=sc) for i in sorted(need) if found[i]}
    return Clip(path.stem, t, a["hip"], a["trunk"], a["knee"], a["side"], shape_at), bs


def clip_verdicts(c: Clip, bs: list[int], show_reps: bool, view_guard: bool = True) -> dict[str, object]:
    nan_shape = BackShape(np.nan, np.nan, np.nan, 0.0, np.nan, np.empty((0, 2)))
    up = sorted(i for i in c.shape_at if abs(c.hip[i]) < 20 and abs(c.trunk[i]) < 15)
    ref = back_reference([c.shape_at[i] for i in up], c.hip[up], c.trunk[up], source="upright frames")
    rows = []
    for b in bs:
        w = np.flatnonzero(np.abs(c.t - c.t[b]) <= 0.5)
        shapes = [c.shape_at.get(int(i), nan_shape) for i in w]
        bi = int(np.flatnonzero(w == b)[0])
        side = float(np.nanmedian(c.side[w]))
        guard = side if view_guard else None
        rv = judge_rounding(shapes, bi, ref, time_s=c.t[w], side_ratio=guard)
        sv = judge_squat(c.trunk, c.hip, c.knee, None, b, side_ratio=guard)
        rows.append((b, rv, sv, side))
        if show_reps:
            r = ("ROUNDED" if rv.rounded else "ok") if rv.judged else f"n/j ({rv.not_judged_because})"
            s = ("SQUAT" if sv.squatting else "hinge") if sv.judged else f"n/j ({sv.not_judged_because})"
            part = "" if complete(c.hip, b) else "(partial) "
            print(f"    {part}t={c.t[b]:6.2f} hip {c.hip[b]:4.0f} trunk {c.trunk[b]:4.0f} side {side:.2f} | "
                  f"bend {rv.score:+6.1f} (thr {rv.threshold:+.1f}) {r} | sq {sv.score:+5.0f} {s}")
    done = [r for r in rows if complete(c.hip, r[0])]
    rows = done or rows  # a clip with no complete rep: judge its partial pulls
    judged = [r for r in rows if r[1].judged]
    rounded = [r for r in judged if r[1].rounded]
    sq_j = [r for r in rows if r[2].judged]
    squat = [r for r in sq_j if r[2].squatting]
    margins = [abs(r[1].margin) for r in judged]
    return {"reps": len(rows), "judged": len(judged), "rounded": len(rounded),
            "sq_judged": len(sq_j), "squat": len(squat),
            "min_margin": min(margins) if margins else float("nan"),
            "ref": None if ref is None else round(ref.bend_deg, 1),
            "side": float(np.nanmedian(c.side)),
            "verdict": ("n/j" if not judged else
                        "rounded" if len(rounded) * 2 > len(judged) else
                        "neutral" if not rounded else "mixed"),
            "why": sorted({r[1].not_judged_because.split(" (")[0] for r in rows
                           if r[1].not_judged_because})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--reps", action="store_true", help="print every rep")
    ap.add_argument("--no-view-guard", action="store_true",
                    help="judge oblique views too (to see what the measure would say)")
    ap.add_argument("clips", nargs="*")
    a = ap.parse_args()
    paths = sorted(p for p in a.cache.glob("*.npz") if not p.name.startswith("."))
    if a.clips:
        paths = [p for p in paths if p.stem in a.clips]
    print(f"{'clip':40s} {'side':>5s} {'reps':>4s} {'judg':>4s} {'rnd':>3s} {'sqJ':>3s} {'sq':>3s} "
          f"{'margin':>6s} {'refbend':>7s}  verdict   expected / why not judged")
    for p in paths:
        if a.reps:
            print(f"  {p.stem}")
        c, bs = load(p)
        v = clip_verdicts(c, bs, a.reps, view_guard=not a.no_view_guard)
        print(f"{p.stem[:40]:40s} {v['side']:5.2f} {v['reps']:4d} {v['judged']:4d} {v['rounded']:3d} "
              f"{v['sq_judged']:3d} {v['squat']:3d} {v['min_margin']:6.1f} {v['ref']!s:>7s}  "
              f"{v['verdict']:9s} {EXPECT.get(p.stem, 'n/j')} {'; '.join(v['why'])}")


if __name__ == "__main__":
    main()
