"""A side-view camera simulator: what a pose model would see of a person doing hinges,
with the true spine angles known.

The body is the same planar chain as the IMU simulator (``hingecoach.sources.simulator``): shank, thigh,
pelvis, a lumbar segment that bends as a uniform arc (lumbar flexion), a thoracic segment
(thoracic flexion), neck and head, and an arm hanging from the shoulder. It is drawn as a
filled silhouette (the person mask) with the back's surface a fixed depth behind the
spine, and BlazePose-like landmarks are placed at the joints (hip and shoulder joints in
front of the spine, as in a real body). The pose model's own errors are not simulated:
this checks the geometry and the pipeline after the pose model (dowel, angles, reps,
faults), not MediaPipe.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hingecoach.core.pose_types import (
    ANKLE,
    EAR,
    HIP,
    KNEE,
    N_LANDMARKS,
    NOSE,
    SHOULDER,
    WRIST,
    PoseFrame,
)
from hingecoach.core.timeseries import FloatArray

# Segment lengths (m) for a 1.75 m adult (Winter's anthropometric table), and depths.
SHANK_M, THIGH_M = 0.43, 0.43
LUMBAR_M, THORAX_M, NECK_M = 0.18, 0.30, 0.10
HEAD_R_M = 0.11
BACK_DEPTH_M = 0.05  # skin of the back behind the spine
FRONT_DEPTH_M = 0.20  # belly and chest in front of the spine
HIP_FORWARD_M = 0.08  # the hip joint is in front of the sacrum...
HIP_DOWN_M = 0.08  # ...and below it
SHOULDER_FORWARD_M = 0.06  # the shoulder joint in front of the upper thoracic spine
THIGH_HALF_M, SHANK_HALF_M, ARM_HALF_M = 0.08, 0.055, 0.045
ARM_M = 0.60


@dataclass(frozen=True)
class CameraPose:
    """One instant of the model (degrees): pelvis tilt forward, lumbar and thoracic
    flexion, knee flexion, head pitch against the trunk (extension -)."""

    pelvis_deg: float
    lumbar_deg: float
    thoracic_deg: float
    knee_deg: float
    neck_deg: float = 0.0


def _rot(v: FloatArray, deg: float) -> FloatArray:
    """Turn a body-frame 2-D vector (x forward, z up) forward by ``deg`` (a forward tilt
    turns +z towards +x)."""
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])


def body_points(p: CameraPose) -> dict[str, FloatArray]:
    """Key points of the body in metres, x forward, z up, ankle at the origin; and the
    spine polyline with its back and front outlines."""
    shank_tilt = 0.45 * p.knee_deg  # the knee travels forward...
    thigh_tilt = p.knee_deg - shank_tilt  # ...and the hips back
    knee = _rot(np.array([0.0, SHANK_M]), shank_tilt)
    hip = knee + _rot(np.array([0.0, THIGH_M]), -thigh_tilt)
    sacrum = hip + _rot(np.array([-HIP_FORWARD_M, HIP_DOWN_M]), p.pelvis_deg)
    spine = [sacrum]
    n_l, n_t = 12, 12
    for k in range(n_l):  # lumbar: a uniform arc
        tilt = p.pelvis_deg + p.lumbar_deg * (k + 0.5) / n_l
        spine.append(spine[-1] + _rot(np.array([0.0, LUMBAR_M / n_l]), tilt))
    for k in range(n_t):
        tilt = p.pelvis_deg + p.lumbar_deg + p.thoracic_deg * (k + 0.5) / n_t
        spine.append(spine[-1] + _rot(np.array([0.0, THORAX_M / n_t]), tilt))
    sp = np.array(spine)
    d = np.gradient(sp, axis=0)
    d /= np.linalg.norm(d, axis=1)[:, None]
    normal_back = np.stack([-d[:, 1], d[:, 0]], 1)  # left of the upward direction: backwards
    back = sp + BACK_DEPTH_M * normal_back
    front = sp - FRONT_DEPTH_M * normal_back
    top_tilt = p.pelvis_deg + p.lumbar_deg + p.thoracic_deg
    shoulder = sp[-1] + _rot(np.array([SHOULDER_FORWARD_M, -0.04]), top_tilt)
    neck_tilt = top_tilt + p.neck_deg
    head = sp[-1] + _rot(np.array([0.0, NECK_M + HEAD_R_M]), neck_tilt)
    ear = head + _rot(np.array([-0.01, 0.0]), neck_tilt)
    nose = head + _rot(np.array([HEAD_R_M, -0.035]), neck_tilt)
    wrist = shoulder + np.array([0.0, -ARM_M])  # the arm hangs
    return {"knee": knee, "hip": hip, "ankle": np.zeros(2), "shoulder": shoulder, "head": head,
            "ear": ear, "nose": nose, "wrist": wrist, "spine": sp, "back": back, "front": front,
            "elbow": shoulder + np.array([0.0, -ARM_M / 2])}


def render(p: CameraPose, *, width: int = 480, height: int = 640, px_per_m: float = 300.0,
           facing: float = -1.0) -> PoseFrame:
    """The PoseFrame (landmarks, person mask) a perfect pose model would give."""
    import cv2

    b = body_points(p)
    origin = np.array([width * (0.62 if facing < 0 else 0.38), height * 0.93])

    def px(v: FloatArray) -> FloatArray:
        v = np.atleast_2d(v)
        return np.stack([origin[0] + facing * v[:, 0] * px_per_m, origin[1] - v[:, 1] * px_per_m], 1)

    mask = np.zeros((height, width), np.uint8)
    trunk = np.vstack([px(b["back"]), px(b["front"])[::-1]])
    cv2.fillPoly(mask, [np.round(trunk).astype(np.int32)], (255,))
    for a, c, half in (("hip", "knee", THIGH_HALF_M), ("knee", "ankle", SHANK_HALF_M),
                       ("shoulder", "elbow", ARM_HALF_M), ("elbow", "wrist", ARM_HALF_M),
                       ("spine_top", "head", 0.05)):
        pa = px(b["spine"][-1] if a == "spine_top" else b[a])[0]
        pc = px(b[c])[0]
        cv2.line(mask, (int(pa[0]), int(pa[1])), (int(pc[0]), int(pc[1])), (255,),
                 int(2 * half * px_per_m))
    head = px(b["head"])[0]
    cv2.circle(mask, (int(head[0]), int(head[1])), int(HEAD_R_M * px_per_m), (255,), -1)
    # the pelvis and buttocks: a disc around the hip joint reaching the back outline
    hip = px(b["hip"])[0]
    cv2.circle(mask, (int(hip[0]), int(hip[1])), int(0.13 * px_per_m), (255,), -1)
    soft = np.asarray(cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (5, 5), 1.0), dtype=np.float32)
    xy = np.zeros((N_LANDMARKS, 2))
    for name, idx in (("shoulder", SHOULDER), ("hip", HIP), ("knee", KNEE), ("ankle", ANKLE),
                      ("ear", EAR), ("wrist", WRIST)):
        for side in ("left", "right"):
            xy[idx[side]] = px(b[name])[0]
    xy[NOSE] = px(b["nose"])[0]
    z = np.zeros(N_LANDMARKS)
    for idx in (SHOULDER, HIP, KNEE, ANKLE, EAR, WRIST):
        z[idx["left"]], z[idx["right"]] = -0.1, 0.1  # the left side is nearer the camera
    return PoseFrame(xy=xy, z=z, visibility=np.ones(N_LANDMARKS), mask=soft, width=width, height=height)


def _min_jerk(a: float, b: float, u: FloatArray) -> FloatArray:
    u = np.clip(u, 0.0, 1.0)
    return np.asarray(a + (b - a) * u**3 * (10 - 15 * u + 6 * u**2))


#: Rep patterns at the bottom (pelvis, lumbar, thoracic, knee, neck), degrees. "rounded"
#: is gross rounding, near the end of the spine's range (lumbar 45 + thoracic 25): in this
#: artifact-free geometry the virtual dowel's rule needs about 65 deg (pose.dowel).
PATTERNS: dict[str, CameraPose] = {
    "good": CameraPose(65.0, 8.0, 3.0, 20.0, 0.0),
    "rounded": CameraPose(30.0, 45.0, 25.0, 12.0, 0.0),
    "squat": CameraPose(30.0, 10.0, 3.0, 100.0, 0.0),
    "craning": CameraPose(65.0, 8.0, 3.0, 20.0, -45.0),
}


def simulate_frames(patterns: Sequence[str], *, fps: float = 30.0, stand_s: float = 1.5,
                    down_s: float = 1.5, hold_s: float = 0.4, up_s: float = 1.3, pause_s: float = 1.0,
                    **render_kw: Any) -> Iterator[tuple[int, float, CameraPose, PoseFrame]]:
    """Frames of a person standing, then doing one rep per pattern."""
    keys: list[tuple[float, CameraPose]] = [(0.0, CameraPose(0, 0, 0, 0)), (stand_s, CameraPose(0, 0, 0, 0))]
    t = stand_s
    for name in patterns:
        bottom = PATTERNS[name]
        keys += [(t + down_s, bottom), (t + down_s + hold_s, bottom),
                 (t + down_s + hold_s + up_s, CameraPose(0, 0, 0, 0)),
                 (t + down_s + hold_s + up_s + pause_s, CameraPose(0, 0, 0, 0))]
        t += down_s + hold_s + up_s + pause_s
    times = np.array([k[0] for k in keys])
    fields = ("pelvis_deg", "lumbar_deg", "thoracic_deg", "knee_deg", "neck_deg")
    n = int(t * fps)
    for i in range(n):
        ti = i / fps
        k = min(int(np.searchsorted(times, ti, side="right")) - 1, len(keys) - 2)
        u = (ti - times[k]) / (times[k + 1] - times[k])
        vals = {f: float(_min_jerk(getattr(keys[k][1], f), getattr(keys[k + 1][1], f), np.asarray(u)))
                for f in fields}
        pose = CameraPose(**vals)
        yield i, ti, pose, render(pose, **render_kw)


class FramesModel:
    """A PoseModel that replays pre-rendered PoseFrames (the frames' RGB is ignored)."""

    def __init__(self, frames: Sequence[PoseFrame | None]) -> None:
        self._frames = list(frames)
        self._i = 0

    def process(self, rgb: np.ndarray) -> PoseFrame | None:
        """The next pre-rendered frame (``rgb`` is ignored)."""
        f = self._frames[self._i]
        self._i += 1
        return f

    def close(self) -> None:
        """Nothing to release."""
