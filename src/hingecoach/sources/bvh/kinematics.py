"""Forward kinematics of a parsed BVH skeleton, and the body's axes and length unit.

Each joint's rotation channels are Euler angles in degrees, applied in the order they are
listed: ``Zrotation Xrotation Yrotation`` means ``R = Rz Rx Ry`` (rotations about the
joint's own, moving axes), and ``R`` takes a vector from the joint's frame to its
parent's. A joint's origin sits at its ``OFFSET`` in the parent's frame; position
channels move the root (added to its offset, which is normally zero) and, where a file
gives them for other joints, replace that joint's offset (MotionBuilder writes them so).
With every channel zero the skeleton is in its rest pose and every joint's frame is the
file's frame.

The file does not say which axis is up, nor its length unit: :func:`body_axes` works out
up from the joints' names (head above feet, over the frames) and left from the ``Left``
and ``Right`` joints, and :func:`to_world` turns the motion into the project's earth
frame (z up, ``core.conventions``) in metres.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from hingecoach.core.errors import InputError, ParameterError
from hingecoach.core.timeseries import FloatArray
from hingecoach.sources.bvh.parser import POSITION_CHANNELS, ROTATION_CHANNELS, Bvh

#: Candidate length units (metres per file unit) and the stature range that picks one.
LENGTH_UNITS_M: Final = {"m": 1.0, "cm": 0.01, "mm": 0.001}
STATURE_RANGE_M: Final = (0.9, 2.5)  # rest-pose extent along up, head end to toe end


def euler_matrix(order: str, angles_deg: FloatArray) -> FloatArray:
    """Rotation matrices ``R_order[0](a0) @ R_order[1](a1) @ ...`` for angles (n, len(order)).

    This is BVH's rule: the channels are applied in the order listed, each about the
    joint's moving axes (intrinsic), so the first listed is the outermost factor.
    """
    a = np.atleast_2d(np.asarray(angles_deg, dtype=np.float64))
    out = np.broadcast_to(np.eye(3), (a.shape[0], 3, 3)).copy()
    for k, ax in enumerate(order):
        out = out @ _axis_rotation(ax, np.deg2rad(a[:, k]))
    return out


def _axis_rotation(axis: str, rad: FloatArray) -> FloatArray:
    c, s = np.cos(rad), np.sin(rad)
    o, z = np.ones_like(rad), np.zeros_like(rad)
    if axis == "x":
        rows = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == "y":
        rows = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        rows = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.stack([np.stack(r, -1) for r in rows], -2)


@dataclass(frozen=True)
class Pose:
    """World rotation (segment frame -> world) and origin of every joint, per frame."""

    rotation: FloatArray  # (frames, joints, 3, 3)
    position: FloatArray  # (frames, joints, 3), file units (or metres after to_world)
    end_sites: dict[int, FloatArray] = field(default_factory=dict)  # joint -> (frames, 3)


def forward_kinematics(bvh: Bvh, frames: FloatArray | None = None) -> Pose:
    """Every joint's world rotation and position, in the file's frame and units.

    ``frames`` defaults to the file's motion; pass zeros for the rest pose.
    """
    m = bvh.motion if frames is None else np.atleast_2d(frames)
    n, nj = m.shape[0], len(bvh.joints)
    rot = np.empty((n, nj, 3, 3))
    pos = np.empty((n, nj, 3))
    ends: dict[int, FloatArray] = {}
    for i, j in enumerate(bvh.joints):
        cols = m[:, j.first_channel:j.first_channel + len(j.channels)]
        order = "".join(ROTATION_CHANNELS[c.lower()] for c in j.channels
                        if c.lower() in ROTATION_CHANNELS)
        rcols = [k for k, c in enumerate(j.channels) if c.lower() in ROTATION_CHANNELS]
        local_r = euler_matrix(order, cols[:, rcols]) if order else np.broadcast_to(np.eye(3), (n, 3, 3))
        trans = np.broadcast_to(j.offset, (n, 3)).copy()
        pcols = {POSITION_CHANNELS[c.lower()]: k for k, c in enumerate(j.channels)
                 if c.lower() in POSITION_CHANNELS}
        for axis, k in pcols.items():
            trans[:, axis] = (j.offset[axis] if j.parent < 0 else 0.0) + cols[:, k]
        if j.parent < 0:
            rot[:, i] = local_r
            pos[:, i] = trans
        else:
            rp = rot[:, j.parent]
            rot[:, i] = rp @ local_r
            pos[:, i] = pos[:, j.parent] + np.einsum("nij,nj->ni", rp, trans)
        if j.end_site is not None:
            ends[i] = pos[:, i] + np.einsum("nij,j->ni", rot[:, i], j.end_site)
    return Pose(rot, pos, ends)


# ----------------------------------------------------------------- axes and units

_HEAD = re.compile(r"head|neck", re.IGNORECASE)
_FOOT = re.compile(r"foot|toe|ankle", re.IGNORECASE)


def foot_joints(bvh: Bvh) -> list[int]:
    """Indices of the joints named like a foot, toe or ankle."""
    return [i for i, j in enumerate(bvh.joints) if _FOOT.search(j.name)]


def _side_of(name: str) -> int:
    """+1 for a left joint, -1 for a right one, 0 otherwise: LeftHip, mixamorig:LeftArm,
    lHip, L_Hip, hip.L (but not Lumbar or Root)."""
    for side, word, letter in ((1, "left", "lL"), (-1, "right", "rR")):
        if (re.search(word, name, re.IGNORECASE)
                or re.match(f"[{letter}][_.]|{letter[0]}[A-Z]", name)
                or re.search(f"[_.][{letter}]$", name)):
            return side
    return 0


@dataclass(frozen=True)
class BodyAxes:
    """Where the body's up, left and forward point: in the file's world frame
    (``up_world``, a signed coordinate axis) and in every segment's own frame at rest
    (``up_rest``, ``left_rest``, ``forward_rest``: in BVH every joint frame equals the
    file frame in the rest pose, so these are the anatomical axes of every segment)."""

    up_world: FloatArray
    up_axis: str  # e.g. "+y"
    up_rest: FloatArray
    left_rest: FloatArray
    forward_rest: FloatArray
    unit_m: float  # metres per file unit
    unit: str


def _snap(v: FloatArray) -> tuple[FloatArray, str]:
    k = int(np.argmax(np.abs(v)))
    out = np.zeros(3)
    out[k] = np.sign(v[k])
    return out, ("+" if v[k] > 0 else "-") + "xyz"[k]


def _snap_if_close(v: FloatArray, max_deg: float = 15.0) -> FloatArray:
    axis, _ = _snap(v)
    return axis if float(np.dot(axis, v)) >= np.cos(np.deg2rad(max_deg)) else v


def body_axes(bvh: Bvh, pose: Pose | None = None, length_unit_m: float | None = None) -> BodyAxes:
    """Work out up (world and segment frames), left, forward and the length unit.

    Up in the world is the coordinate axis closest to the median direction from the feet
    joints (names with foot, toe or ankle) to the head joints (head, neck) over all
    frames: BVH files are Y-up by habit but not by rule. Left comes from joints named
    Left*/Right* in the rest pose, forward = left x up. The unit (m, cm or mm) is the
    one that makes the rest-pose stature 0.9-2.5 m, unless ``length_unit_m`` is given.
    """
    pose = pose or forward_kinematics(bvh)
    rest = forward_kinematics(bvh, np.zeros((1, bvh.motion.shape[1])))
    heads = [i for i, j in enumerate(bvh.joints) if _HEAD.search(j.name)]
    feet = foot_joints(bvh)
    lefts = [i for i, j in enumerate(bvh.joints) if _side_of(j.name) > 0]
    rights = [i for i, j in enumerate(bvh.joints) if _side_of(j.name) < 0]
    if not heads or not feet or not lefts or not rights:
        raise InputError(bvh.source, "joints named like Head or Neck, Foot, Toe or Ankle, "
                         "and Left*/Right* (to find up and left)", "joints " + ", ".join(bvh.names))
    d = pose.position[:, heads].mean(1) - pose.position[:, feet].mean(1)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    up_world, up_axis = _snap(np.median(d, axis=0))
    rp = rest.position[0]
    up_r = rp[heads].mean(0) - rp[feet].mean(0)
    up_r /= np.linalg.norm(up_r)
    left = rp[lefts].mean(0) - rp[rights].mean(0)
    left = left - np.dot(left, up_r) * up_r
    if np.linalg.norm(left) < 1e-9:
        raise InputError(bvh.source, "left joints beside the right ones in the rest pose",
                         "them on top of each other")
    left /= np.linalg.norm(left)
    # Rest poses are built along the file's axes; the head-to-feet line is not quite
    # vertical (the toes sit forward), so take the nearest axis when it is close.
    up_r, left = _snap_if_close(up_r), _snap_if_close(left)
    left = left - np.dot(left, up_r) * up_r
    left /= np.linalg.norm(left)
    forward = np.cross(left, up_r)
    ends = np.array([rp[i] + (j.end_site if j.end_site is not None else 0.0)
                     for i, j in enumerate(bvh.joints)])
    pts = np.vstack([rp, ends]) @ up_r
    stature = float(pts.max() - pts.min())
    if length_unit_m is not None:
        if not length_unit_m > 0:
            raise ParameterError("length_unit_m", "metres per file unit, above 0", length_unit_m)
        unit_m, unit = float(length_unit_m), f"{length_unit_m:g} m"
    else:
        fits = [(k, u) for k, u in LENGTH_UNITS_M.items()
                if STATURE_RANGE_M[0] <= stature * u <= STATURE_RANGE_M[1]]
        if not fits:
            raise InputError(bvh.source, f"a skeleton {STATURE_RANGE_M[0]}-{STATURE_RANGE_M[1]} m "
                             "tall in m, cm or mm (else give length_unit_m)",
                             f"{stature:.4g} file units")
        unit, unit_m = fits[0]
    return BodyAxes(up_world, up_axis, up_r, left, forward, unit_m, unit)


def world_rotation(axes: BodyAxes) -> FloatArray:
    """The rotation C taking file-frame vectors to the project's earth frame (z up).

    Rows: a horizontal file axis h, up x h, up; a proper rotation (det +1). The heading
    it gives is arbitrary, which nothing downstream depends on.
    """
    u = axes.up_world
    k = int(np.argmax(np.abs(u)))
    h = np.zeros(3)
    h[(k + 1) % 3] = 1.0
    return np.stack([h, np.cross(u, h), u])


def to_world(pose: Pose, axes: BodyAxes) -> Pose:
    """The pose in the project's earth frame (z up) and metres. Segment frames keep
    their own axes (``R_world = C R_file``), so ``axes.*_rest`` still describe them."""
    c = world_rotation(axes)
    rot = np.einsum("ij,...jk->...ik", c, pose.rotation)
    pos = np.einsum("ij,...j->...i", c, pose.position) * axes.unit_m
    ends = {k: np.einsum("ij,nj->ni", c, v) * axes.unit_m for k, v in pose.end_sites.items()}
    return Pose(rot, pos, ends)
