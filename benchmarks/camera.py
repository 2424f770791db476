"""Camera analysis: speed against a bare MediaPipe loop, live latency, filter lag, and the
issue's numbers on the five side-view clips. Prints markdown tables.

Run: python benchmarks/camera.py [DATA_DIR] [--pose-model lite|full|heavy] [--speed-only [--runs N]]
(default ../shared/data beside the checkout; the model: full; ``--runs``: speed runs, 5)

- bare loop: decode (PyAV, RGB) + ``mediapipe.solutions.pose.Pose.process`` (the same
  model complexity, segmentation on), nothing else, over the same frames in the same run,
  run before and after hingecoach's pass and averaged (the machine's load drifts);
- hingecoach: ``analyze_video`` end to end (decode, pose, the people check every half
  second of video, keypoint angles, the back's outline, filtering, reps, faults). It decodes
  ahead, measures each pose and searches for other people on threads of their own while
  the pose model runs (``sources.video.read_ahead``, ``pose.camera._collect``,
  ``pose.estimator.BlazePose``);
- with ``--speed-only``, also for reference: the bare loop decoding ahead on a thread the
  way analyze does (what analyze would cost if its own work were free), once per run;
- 640x480: the first clip letterboxed into 640x480 (the issue's reference size);
- live latency: frames handed over at 30 frames/s, as a webcam would; from the moment a
  frame is captured (handed to the pipeline) to its filtered angles (pose + measure +
  One Euro). No camera on this machine: the capture itself (USB, driver) is not included.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
VALUED = ("--pose-model", "--runs")  # options that take a value
ARGS = [a for k, a in enumerate(sys.argv[1:], 1) if not a.startswith("--") and sys.argv[k - 1] not in VALUED]
MODEL = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--pose-model"), "full")
SPEED_ONLY = "--speed-only" in sys.argv
RUNS = int(next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--runs"), "5"))
DATA = Path(ARGS[0]) if ARGS else HERE.parents[1] / "shared" / "data"
VIDEOS = DATA / "video" / "deadlift-side-and-oblique"


def frames_of(path: Path) -> list[tuple[int, float, np.ndarray]]:
    from hingecoach.sources.video import VideoReader

    return list(VideoReader(path))


def bare_loop(path: Path, *, ahead: bool = False) -> tuple[float, int]:
    """(seconds, frames) of decode + pose; ``ahead``: decoding on a thread (read_ahead)."""
    import mediapipe as mp

    from hingecoach.pose.estimator import quiet_stderr, require_pose_model
    from hingecoach.sources.video import VideoReader, read_ahead

    with quiet_stderr():
        pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=require_pose_model(MODEL),
                                      enable_segmentation=True)
    n = 0
    t = time.perf_counter()
    frames = read_ahead(VideoReader(path)) if ahead else VideoReader(path)
    for _i, _t, rgb in frames:
        pose.process(rgb)
        n += 1
    dt = time.perf_counter() - t
    pose.close()
    return dt, n


def full(path: Path) -> tuple[float, Any]:
    from dataclasses import replace

    from hingecoach.analysis import AnalysisSettings, analyze_video

    st = AnalysisSettings()
    st = replace(st, camera=replace(st.camera, pose_model=MODEL))
    t = time.perf_counter()
    a = analyze_video(path, st)
    return time.perf_counter() - t, a


def interleaved(path: Path) -> tuple[float, float, int, Any]:
    """Bare loop, hingecoach, bare loop again: (bare s, hingecoach s, frames, analysis)."""
    b1, n = bare_loop(path)
    dt, a = full(path)
    b2, _ = bare_loop(path)
    return (b1 + b2) / 2, dt, n, a


def letterbox_640x480(src: Path, dst: Path) -> Path:
    import av
    import cv2

    from hingecoach.sources.video import VideoReader

    r = VideoReader(src)
    with av.open(str(dst), "w") as out:
        s = out.add_stream("libx264", rate=Fraction(round(r.info.fps)))
        s.width, s.height, s.pix_fmt = 640, 480, "yuv420p"
        for _i, _t, rgb in r:
            h, w = rgb.shape[:2]
            scale = min(640 / w, 480 / h)
            small = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            img = np.zeros((480, 640, 3), np.uint8)
            y0, x0 = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
            img[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return dst


def excerpt(src: Path, dst: Path, seconds: float) -> Path:
    """The first ``seconds`` of ``src`` re-encoded at its own frame times (a quick speed run)."""
    import av

    from hingecoach.sources.video import VideoReader

    with av.open(str(dst), "w") as out:
        s = None
        for _i, t, rgb in VideoReader(src):
            if t > seconds:
                break
            if s is None:
                s = out.add_stream("libx264", rate=60)
                s.height, s.width = rgb.shape[:2]
                s.pix_fmt = "yuv420p"
                s.codec_context.time_base = Fraction(1, 1000)
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts, f.time_base = round(t * 1000), Fraction(1, 1000)
            for p in s.encode(f):
                out.mux(p)
        assert s is not None
        for p in s.encode():
            out.mux(p)
    return dst


def live_latency(path: Path, fps: float = 30.0, seconds: float = 20.0) -> np.ndarray:
    """Per-frame latency (ms) from hand-over to filtered angles, frames arriving at ``fps``."""
    from hingecoach.core.pose_types import PoseFrame
    from hingecoach.pose.camera import CameraMeasurer
    from hingecoach.pose.estimator import BlazePose
    from hingecoach.pose.filters import OneEuroFilter
    from hingecoach.pose.keypoints import choose_orientation

    frames = [f for f in frames_of(path)][: int(seconds * 60)][::2]  # 60 -> 30 frames/s
    model = BlazePose()
    first: list[PoseFrame] = []
    for _, _, rgb in frames[:10]:
        p = model.process(rgb)
        if p is not None:
            first.append(p)
    measurer = CameraMeasurer(choose_orientation(first))
    filt = OneEuroFilter()
    lat = []
    t0 = time.perf_counter()
    for k, (i, _t, rgb) in enumerate(frames):
        due = t0 + k / fps
        while time.perf_counter() < due:  # the next frame is not captured yet
            time.sleep(0.0005)
        captured = time.perf_counter()
        pose = model.process(rgb)
        if pose is not None:
            m = measurer.measure(i, k / fps, pose)
            filt.update(k / fps, np.array([m.trunk, m.hip, m.knee, m.neck_raw, m.bow]))
            lat.append((time.perf_counter() - captured) * 1000)
    model.close()
    return np.asarray(lat)


def filter_lag_ms() -> float:
    from hingecoach.pose.filters import OneEuroFilter

    t = np.arange(0, 3, 1 / 60)
    u = np.clip(t - 1.0, 0, 1)
    x = np.asarray(90 * u**3 * (10 - 15 * u + 6 * u**2), dtype=np.float64)
    y = OneEuroFilter().run(t, x)
    return float((np.interp(45.0, y, t) - np.interp(45.0, x, t)) * 1000)


def main() -> None:
    if not VIDEOS.is_dir():
        print(f"no clips at {VIDEOS}")
        return
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"load {os.getloadavg()[0]:.1f}")
    rows = []
    results = {}
    if SPEED_ONLY:  # the first 8 s of one clip: per run bare / hingecoach / bare, then bare ahead
        print(f"camera analysis speed, BlazePose {MODEL} ({machine}), 0016c_1, first 8 s")
        print("| run | frames | bare loop, frames/s | hingecoach analyze, frames/s | ratio | "
              "reference: bare loop decoding ahead, frames/s | analyze / that |")
        print("|---|---|---|---|---|---|---|")
        ratios, refs = [], []
        with tempfile.TemporaryDirectory() as tmp:
            path = excerpt(VIDEOS / "0016c_1.mp4", Path(tmp) / "c_8s.mp4", 8.0)
            for run in range(1, RUNS + 1):
                bare, dt, n, a = interleaved(path)
                ahead, _ = bare_loop(path, ahead=True)
                ratios.append(bare / dt)
                refs.append(ahead / dt)
                print(f"| {run} | {n} | {n / bare:.1f} | {n / dt:.1f} | {bare / dt:.2f} | {n / ahead:.1f} | "
                      f"{ahead / dt:.2f} |", flush=True)
        print(f"| median of {RUNS} | | | | **{np.median(ratios):.2f}** ({min(ratios):.2f}-{max(ratios):.2f}) "
              f"| | {np.median(refs):.2f} ({min(refs):.2f}-{max(refs):.2f}) |")
        print(f"target: ratio >= 0.9 (load {os.getloadavg()[0]:.1f} at the end)")
        return
    for x in "cahkr":
        path = VIDEOS / f"0016{x}_1.mp4"
        bare, dt, n, a = interleaved(path)
        results[x] = a
        rows.append((path.name, n, n / bare, n / dt))
    with tempfile.TemporaryDirectory() as tmp:
        big = letterbox_640x480(VIDEOS / "0016c_1.mp4", Path(tmp) / "c_640x480.mp4")
        bare, dt, n, a640 = interleaved(big)
        rows.append((f"0016c_1 letterboxed 640x480 ({len(a640.reps)} reps found)", n, n / bare, n / dt))
    print(f"camera analysis speed, BlazePose {MODEL} ({machine})")
    print("| clip | frames | bare MediaPipe loop, frames/s | hingecoach analyze, frames/s | ratio | target |")
    print("|---|---|---|---|---|---|")
    for name, n, b, f in rows:
        print(f"| {name} | {n} | {b:.1f} | {f:.1f} | {f / b:.2f} | ratio >= 0.9 |")
    lat = live_latency(VIDEOS / "0016c_1.mp4")
    print()
    print("live: frames handed over at 30 frames/s, hand-over -> filtered angles (pose, measure, One Euro)")
    print("| frames | p50 ms | p95 ms | p99 ms | max ms | target |")
    print("|---|---|---|---|---|---|")
    print(f"| {lat.size} | {np.percentile(lat, 50):.1f} | {np.percentile(lat, 95):.1f} | "
          f"{np.percentile(lat, 99):.1f} | {lat.max():.1f} | < 60 ms |")
    print(f"\nOne Euro filter lag at the half-way point of a 90 deg, 1 s minimum-jerk bend at 60 frames/s: "
          f"{filter_lag_ms():.0f} ms")
    print("\nissue #3's numbers on the side views (10 complete reps each; lumbar_rounding from the dowel)")
    print("| clip | complete reps | incomplete | lumbar_rounding | squatting | neck_craning | too_fast | "
          "peak back angle, median (range) | knee/hip at bottom, median |")
    print("|---|---|---|---|---|---|---|---|---|")
    for x, a in results.items():
        reps = a.reps
        back = [m.peak_lumbar_flexion_deg for m in reps]
        kh = [m.knee_hip_ratio for m in reps]
        ids = ("lumbar_rounding", "squatting", "neck_craning", "too_fast")
        n_f = [sum(f in m.faults for m in reps) for f in ids]
        print(f"| 0016{x}_1 | {len(reps)} | {len(a.incomplete)} | {' | '.join(map(str, n_f))} | "
              f"{np.median(back):.0f} ({min(back):.0f}-{max(back):.0f}) | {np.median(kh):.2f} |")
    print("targets: 10 reps each; lumbar_rounding r >= 8, c/a/h <= 2; squatting k >= 8, c/h/r <= 2")


if __name__ == "__main__":
    main()
