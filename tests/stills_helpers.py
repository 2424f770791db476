"""Simulated camera clips for the rep-still tests: a side-view person (the camera
simulator's silhouette painted into real video frames, written with PyAV) and the pose
model that replays the simulator's landmarks for them, so the whole video path runs
without MediaPipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np

BACKGROUND = (90, 90, 90)
SKIN = (200, 170, 140)


def sim_clip(path: Path, patterns: list[str], *, width: int = 240, height: int = 320, fps: int = 15,
             px_per_m: float = 150.0) -> tuple[Path, list]:
    """Write the clip; returns (its path, the PoseFrames a perfect pose model would give)."""
    import av

    from hingecoach.testing.camera_sim import simulate_frames

    frames = list(simulate_frames(patterns, fps=fps, width=width, height=height, px_per_m=px_per_m))
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        for *_, f in frames:
            img = np.full((height, width, 3), BACKGROUND, np.uint8)
            img[f.mask > 0.5] = SKIN
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path, [f for *_, f in frames]


def analyse(path: Path, poses: list, rule: str = "bow"):
    """``analyze_video`` on the clip with the replaying pose model; ``rule``: the camera's
    rounding rule (the simulator's silhouette has no lumbar hollow: ``bow`` reads it)."""
    from hingecoach.analysis import AnalysisSettings, analyze_video
    from hingecoach.pose.camera import CameraSettings
    from hingecoach.testing.camera_sim import FramesModel

    st = AnalysisSettings(camera=CameraSettings(rounding_rule=rule))
    return analyze_video(path, st, model=FramesModel(poses))


def sim_camera_analysis(patterns: list[str]):
    """The camera analysis of a simulated 240 x 320, 15 fps side view with ``patterns``
    reps, straight from the simulator's poses (no video, no MediaPipe)."""
    from hingecoach.analysis import analyze_camera
    from hingecoach.pose.camera import video_angles
    from hingecoach.testing.camera_sim import FramesModel, simulate_frames

    frames = list(simulate_frames(patterns, fps=15, width=240, height=320, px_per_m=150))
    result = video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames),
                          FramesModel([f for *_, f in frames]), source="sim.mp4")
    return analyze_camera(result, None, {"video": {"width": 240, "height": 320, "nominal_fps": 15.0}})
