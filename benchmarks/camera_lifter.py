"""Does the pose stay on the lifter when someone else is in view? BlazePose with and
without the lifter crop (``pose.lifter``) on the labelled side views with a second person
added, frame by frame against the pose of the clip alone. Prints a markdown table.

Run: python benchmarks/camera_lifter.py [DATA_DIR] [--clips 0016c_1 ...] [--seconds 9]

Each clip: its first ``--seconds`` at 30 frames/s (every second frame), letterboxed into
16:9 (the lifter in the middle), and
- double: a still double of the lifter (the clip's first frame, the lifter standing, with
  its background) in the left margin, as large as the lifter: a person standing beside them;
- walker: the same double walking across the whole width behind the lifter in 3 s from 2 s
  on (the lifter's own pixels, from their mask, stay in front).
A frame is off the lifter when the tracked hips are more than half a trunk length from the
hips found in the clip alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def frames(path: Path, seconds: float) -> list[np.ndarray]:
    """The clip's RGB frames, every second one, up to ``seconds``."""
    from hingecoach.sources.video import VideoReader

    return [rgb for i, t, rgb in VideoReader(path) if i % 2 == 0 and t < seconds]


def alone(rgbs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Hips, trunk lengths and masks of the clip alone (no crop needed: one person)."""
    from hingecoach.pose.estimator import BlazePose

    m = BlazePose(follow_lifter=False)
    hips, trunks, masks = [], [], []
    for rgb in rgbs:
        p = m.process(rgb)
        if p is None or p.mask is None:
            hips.append((np.nan, np.nan))
            trunks.append(np.nan)
            masks.append(np.zeros(rgb.shape[:2], np.float32))
            continue
        hip, sh = 0.5 * (p.xy[23] + p.xy[24]), 0.5 * (p.xy[11] + p.xy[12])
        hips.append(hip)
        trunks.append(float(np.linalg.norm(sh - hip)))
        masks.append(p.mask)
    m.close()
    return np.array(hips), np.array(trunks), masks


def scene(rgbs: list[np.ndarray], masks: list[np.ndarray], kind: str, fps: float = 30.0) -> list[np.ndarray]:
    """The letterboxed frames with the double added (``kind``: double or walker)."""
    h, w = rgbs[0].shape[:2]
    big_w = round(h * 16 / 9)
    x_off = (big_w - w) // 2
    twin, twin_mask = rgbs[0], masks[0][..., None]
    out = []
    for k, rgb in enumerate(rgbs):
        img = np.zeros((h, big_w, 3), np.uint8)
        if kind == "double":
            img[:, :w] = twin
            img[:, x_off:x_off + w] = rgb
        else:
            img[:, x_off:x_off + w] = rgb
            u = (k / fps - 2.0) / 3.0
            if 0 <= u <= 1:
                x = int(-w + u * (big_w + w))
                a, b = max(0, x), min(big_w, x + w)
                if a < b:
                    m = twin_mask[:, a - x:b - x]
                    img[:, a:b] = (img[:, a:b] * (1 - m) + twin[:, a - x:b - x] * m).astype(np.uint8)
            m = masks[k][..., None]
            img[:, x_off:x_off + w] = (img[:, x_off:x_off + w] * (1 - m) + rgb * m).astype(np.uint8)
        out.append(img)
    return out


def run(imgs: list[np.ndarray], x_off: int, hips: np.ndarray, trunks: np.ndarray, follow: bool
        ) -> tuple[int, int, float]:
    """(frames off the lifter, frames without a pose, frames/s)."""
    from hingecoach.pose.estimator import BlazePose

    m = BlazePose(follow_lifter=follow)
    off = none = 0
    t0 = time.perf_counter()
    for k, img in enumerate(imgs):
        p = m.process(img)
        if p is None:
            none += 1
            continue
        hip = 0.5 * (p.xy[23] + p.xy[24]) - (x_off, 0)
        if np.isfinite(trunks[k]) and np.linalg.norm(hip - hips[k]) > 0.5 * trunks[k]:
            off += 1
    dt = time.perf_counter() - t0
    m.close()
    return off, none, len(imgs) / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", type=Path, default=HERE.parents[1] / "shared" / "data")
    ap.add_argument("--clips", nargs="*", default=["0016c_1", "0016r_1", "0016a_1", "0016h_1", "0016k_1"])
    ap.add_argument("--seconds", type=float, default=9.0)
    a = ap.parse_args()
    print(f"the lifter crop ({platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    print("| clip | second person | frames | off the lifter, no crop | off the lifter, crop | "
          "no pose, crop | frames/s no crop / crop |")
    print("|---|---|---|---|---|---|---|")
    for stem in a.clips:
        rgbs = frames(a.data / "video" / "deadlift-side-and-oblique" / f"{stem}.mp4", a.seconds)
        hips, trunks, masks = alone(rgbs)
        h, w = rgbs[0].shape[:2]
        x_off = (round(h * 16 / 9) - w) // 2
        for kind in ("double", "walker"):
            imgs = scene(rgbs, masks, kind)
            off0, _, f0 = run(imgs, x_off, hips, trunks, False)
            off1, none1, f1 = run(imgs, x_off, hips, trunks, True)
            print(f"| {stem} | {kind} | {len(imgs)} | {off0} | {off1} | {none1} | {f0:.1f} / {f1:.1f} |", flush=True)


if __name__ == "__main__":
    main()
