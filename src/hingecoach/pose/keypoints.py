"""Sagittal angles from the landmarks of one body side, and checks of the view.

Image coordinates: x right, y down, pixels. ``facing`` is +1 when the person faces +x
(the nose is to the right of the ear), -1 otherwise; "forward" is the facing direction.
All angles are degrees, flexion positive, in the image plane (a side view is required:
a frontal view foreshortens every sagittal angle).

    trunk_inclination_deg  hip->shoulder line from vertical, forward +
    thigh angle            hip->knee line from vertical-down, knee forward +
    shank angle            knee->ankle line from vertical-down, ankle forward +
    hip_flexion_deg        trunk inclination + thigh angle   (0 standing tall)
    knee_flexion_deg       thigh angle - shank angle         (0 with a straight leg)
    neck_flexion_deg       head pitch (the ear->nose line below forward-horizontal) minus
                           the trunk inclination: the head tipping with the trunk reads 0,
                           looking up or ahead while bent reads negative (craning);
                           zeroed later on standing (the ear->nose line points ~35 deg
                           down in a level gaze)

The camera is assumed upright (image vertical = gravity): tilt it and every inclination
is off by the tilt (the relative angles, hip, knee and neck, are not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hingecoach.core.pose_types import ANKLE, EAR, HIP, KNEE, NOSE, SHOULDER, PoseFrame
from hingecoach.core.timeseries import FloatArray

SIDES = ("left", "right")
#: Landmarks that must be in view (of the side facing the camera) for the angles.
KEY_POINTS = {"ear": EAR, "shoulder": SHOULDER, "hip": HIP, "knee": KNEE, "ankle": ANKLE}


def _incl(v: np.ndarray, facing: float, down: bool = False) -> float:
    """Angle of a 2-D image vector from vertical (up, or down), forward positive."""
    vy = v[1] if down else -v[1]
    return float(np.degrees(np.arctan2(facing * v[0], vy)))


@dataclass(frozen=True)
class Orientation:
    side: str  # "left" or "right": the body side nearer the camera
    facing: float  # +1: the person faces +x (image right)


def choose_orientation(frames: list[PoseFrame]) -> Orientation:
    """The side nearer the camera (smaller MediaPipe depth, then higher visibility) and
    the facing direction, by majority over ``frames``: the nose ahead of the ear, or,
    in a frame where the trunk is tipped (shoulders ahead of the hips by more than a
    third of the trunk length, as at the bottom of a lift a clip may start with), the
    shoulders' side: a hinge tips the trunk forward, and a bent head points down, so its
    nose is no longer ahead of the ear."""
    votes_side = 0.0
    votes_face = 0.0
    for f in frames:
        zl = np.mean(f.z[[SHOULDER["left"], HIP["left"], KNEE["left"]]])
        zr = np.mean(f.z[[SHOULDER["right"], HIP["right"], KNEE["right"]]])
        vl = np.mean(f.visibility[[SHOULDER["left"], HIP["left"], KNEE["left"]]])
        vr = np.mean(f.visibility[[SHOULDER["right"], HIP["right"], KNEE["right"]]])
        votes_side += np.sign(zr - zl) if abs(zr - zl) > 1e-6 else np.sign(vl - vr)
        votes_face += facing_vote(f.xy)
    return Orientation("left" if votes_side >= 0 else "right", 1.0 if votes_face >= 0 else -1.0)


def facing_vote(xy: FloatArray) -> float:
    """One frame's vote for the facing direction (+1: faces +x) from its (33, 2)
    landmarks: the shoulders' side when the trunk is tipped, else the nose's side of the
    ear (see ``choose_orientation``)."""
    sh = 0.5 * (xy[SHOULDER["left"]] + xy[SHOULDER["right"]])
    hp = 0.5 * (xy[HIP["left"]] + xy[HIP["right"]])
    if abs(sh[0] - hp[0]) > np.linalg.norm(sh - hp) / 3:
        return float(np.sign(sh[0] - hp[0]))
    ear = 0.5 * (xy[EAR["left"]] + xy[EAR["right"]])
    return float(np.sign(xy[NOSE][0] - ear[0]))


@dataclass(frozen=True)
class KeypointAngles:
    trunk_inclination_deg: float
    hip_flexion_deg: float
    knee_flexion_deg: float
    neck_raw_deg: float  # head pitch minus trunk inclination: zeroed later on standing
    trunk_length_px: float


def keypoint_angles(f: PoseFrame, o: Orientation) -> KeypointAngles:
    sh, hp = f.point(SHOULDER[o.side]), f.point(HIP[o.side])
    kn, an, ear = f.point(KNEE[o.side]), f.point(ANKLE[o.side]), f.point(EAR[o.side])
    trunk = _incl(sh - hp, o.facing)
    thigh = _incl(kn - hp, o.facing, down=True)
    shank = _incl(an - kn, o.facing, down=True)
    face = f.point(NOSE) - ear
    pitch = float(np.degrees(np.arctan2(face[1], o.facing * face[0])))  # below forward, down +
    return KeypointAngles(trunk, trunk + thigh, thigh - shank, pitch - trunk,
                          float(np.linalg.norm(sh - hp)))


def trunk_px(xy: FloatArray) -> float:
    """The shoulder-to-hip length (px) of landmarks ``xy``, the mean of the left and right
    sides."""
    return float(0.5 * (np.linalg.norm(xy[SHOULDER["left"]] - xy[HIP["left"]])
                        + np.linalg.norm(xy[SHOULDER["right"]] - xy[HIP["right"]])))


def _mean_trunk_px(f: PoseFrame) -> float:
    """The shoulder-to-hip length (px), the mean of the left and right sides."""
    return trunk_px(f.xy)


def separation_px(xy: FloatArray) -> float:
    """The left-right separation of the shoulders and of the hips (px, their mean) of
    landmarks ``xy``: ``side_view_ratio``'s numerator."""
    return float(0.5 * (np.linalg.norm(xy[SHOULDER["left"]] - xy[SHOULDER["right"]])
                        + np.linalg.norm(xy[HIP["left"]] - xy[HIP["right"]])))


def side_view_ratio(f: PoseFrame) -> float:
    """Left-right separation of the shoulders and of the hips over the trunk length:
    about 0 in a true side view, 0.6-0.8 facing the camera."""
    trunk = _mean_trunk_px(f)
    return separation_px(f.xy) / trunk if trunk > 1e-6 else float("inf")


def turn_toward_camera(f: PoseFrame) -> float:
    """Signed left-right separation of the shoulders and of the hips along the image x axis
    over the trunk length: positive when the person's left side is to the image right of
    their right side (the chest turned toward the camera, as a face seen in a mirror),
    negative when the back is turned to it, about 0 in a true side view."""
    trunk = _mean_trunk_px(f)
    sep = 0.5 * ((f.xy[SHOULDER["left"], 0] - f.xy[SHOULDER["right"], 0])
                 + (f.xy[HIP["left"], 0] - f.xy[HIP["right"], 0]))
    return float(sep / trunk) if trunk > 1e-6 else float("nan")


def nose_depth(f: PoseFrame) -> float:
    """The nose's depth minus the ears' mean depth (MediaPipe's relative z, in image
    pixels) over the trunk length: negative when the face is nearer the camera than the
    back of the head (the face turned toward it), positive when turned away, about 0 from
    the side."""
    trunk = _mean_trunk_px(f)
    dz = float(f.z[NOSE] - 0.5 * (f.z[EAR["left"]] + f.z[EAR["right"]])) * f.width
    return dz / float(trunk) if trunk > 1e-6 else float("nan")


def missing_points(f: PoseFrame, o: Orientation, min_visibility: float, margin_px: float = 2.0
                   ) -> list[str]:
    """Key points of the near side that are out of the image or not visible."""
    out = []
    for name, idx in KEY_POINTS.items():
        i = idx[o.side]
        x, y = f.xy[i]
        inside = -margin_px <= x <= f.width + margin_px and -margin_px <= y <= f.height + margin_px
        if not inside or f.visibility[i] < min_visibility:
            out.append(name)
    return out
