"""Frames where the back's outline is missing in some frames but not all (a mask that
drops out, a weight in front of the back) are filled from their neighbours."""

from dataclasses import replace

import numpy as np
import pytest

from hingecoach.analysis import AnalysisSettings, analyze_camera
from hingecoach.pose.camera import CameraSettings, video_angles

pytestmark = pytest.mark.camera
SIM = AnalysisSettings(camera=CameraSettings(rounding_rule="bow"))  # no lumbar hollow in the simulator


def test_some_frames_without_a_back_outline_are_interpolated():
    pytest.importorskip("cv2")
    from hingecoach.testing.camera_sim import FramesModel, simulate_frames

    frames = list(simulate_frames(["good", "rounded", "good"]))
    poses = [replace(f, mask=None) if 120 <= i < 140 or i % 7 == 0 else f for i, _, _, f in frames]
    r = video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames), FramesModel(poses),
                     source="gaps.mp4")
    lum = r.angles["lumbar_flexion_deg"]
    assert lum.shape == r.angles.time_s.shape and np.all(np.isfinite(lum))
    a = analyze_camera(r, SIM)
    assert [m.faults for m in a.reps] == [(), ("lumbar_rounding",), ()]


def test_a_misleading_start_does_not_fix_the_facing():
    """The first frames (a title shot, a cut) show the person mirrored: the facing is
    re-decided over the whole clip and the angles and the bow follow it."""
    pytest.importorskip("cv2")
    from hingecoach.testing.camera_sim import FramesModel, simulate_frames

    frames = list(simulate_frames(["good", "rounded"]))
    poses = []
    for i, _, _, f in frames:
        if i < 8:
            xy = f.xy.copy()
            xy[:, 0] = f.width - xy[:, 0]
            f = replace(f, xy=xy, mask=None if f.mask is None else f.mask[:, ::-1].copy())
        poses.append(f)
    r = video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames), FramesModel(poses),
                     source="cut.mp4")
    assert r.orientation.facing == -1.0  # the simulated person faces left
    a = analyze_camera(r, SIM)
    assert [m.faults for m in a.reps] == [(), ("lumbar_rounding",)]
    assert float(np.max(r.angles["hip_flexion_deg"])) > 60
