"""BVH motion capture files, and virtual back-worn IMUs driven by their motion.

A BVH file (Biovision Hierarchy) holds a skeleton and its motion:

    HIERARCHY
    ROOT Hips
    {
      OFFSET 0 0 0
      CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
      JOINT Chest
      { OFFSET 0 10 0  CHANNELS 3 Zrotation Xrotation Yrotation  End Site { OFFSET 0 5 0 } }
    }
    MOTION
    Frames: 2
    Frame Time: 0.016667
    <one line per frame: every joint's channels, in hierarchy order>

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

:func:`virtual_recording` puts virtual IMUs on two segments and computes what they would
measure, with the simulator's maths (``simulator.imu_signals``), and the ground truth
that the analysis must recover, defined as the analysis defines its angles (see
:func:`sagittal_tilt_truth_deg`).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation, RotationSpline

from hingecoach.core.conventions import normalise_placement
from hingecoach.core.errors import InputError, ParameterError
from hingecoach.core.timeseries import ChannelInfo, FloatArray, TimeSeries
from hingecoach.sources._table import check_text_file
from hingecoach.sources.simulator import FINE_RATE_HZ, add_sensor_errors, imu_signals, random_mounts

ROTATION_CHANNELS: Final = {"xrotation": "x", "yrotation": "y", "zrotation": "z"}
POSITION_CHANNELS: Final = {"xposition": 0, "yposition": 1, "zposition": 2}

#: Candidate length units (metres per file unit) and the stature range that picks one.
LENGTH_UNITS_M: Final = {"m": 1.0, "cm": 0.01, "mm": 0.001}
STATURE_RANGE_M: Final = (0.9, 2.5)  # rest-pose extent along up, head end to toe end


@dataclass(frozen=True)
class BvhJoint:
    """One joint: its parent (index, -1 for the root), offset and channels."""

    name: str
    parent: int
    offset: FloatArray  # (3,) in the parent's frame, file units
    channels: tuple[str, ...]  # as written, e.g. ("Zrotation", "Xrotation", "Yrotation")
    first_channel: int  # column of its first channel in a frame row
    end_site: FloatArray | None = None  # offset of its End Site, if any


@dataclass(frozen=True)
class Bvh:
    """A parsed BVH file: the skeleton, the frame time and one row of channels per frame."""

    joints: tuple[BvhJoint, ...]
    frame_time_s: float
    motion: FloatArray  # (frames, channels)
    source: str = "<string>"

    @property
    def n_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    def index(self, name: str) -> int:
        """The joint called ``name``, or an InputError that lists the joints there are."""
        for i, j in enumerate(self.joints):
            if j.name == name:
                return i
        raise InputError(self.source, f"a joint named {name!r}",
                         "joints " + ", ".join(self.names))


# ----------------------------------------------------------------------------- parsing

class _Tokens:
    """Whitespace-separated tokens of the hierarchy, each with its line number."""

    def __init__(self, lines: list[str], source: str) -> None:
        self.source = source
        self.items: list[tuple[str, int]] = []
        self.motion_line = 0  # index into lines of the MOTION keyword
        for i, line in enumerate(lines):
            words = line.split()
            if words and words[0].upper() == "MOTION":
                self.items.append(("MOTION", i + 1))
                self.motion_line = i
                break
            # braces may touch words: "{OFFSET" or "Site{"
            for w in re.findall(r"[{}]|[^\s{}]+", line):
                self.items.append((w, i + 1))
        self.pos = 0
        self.last_line = len(lines)

    def peek(self) -> str:
        return self.items[self.pos][0] if self.pos < len(self.items) else ""

    def line(self) -> int:
        return self.items[self.pos][1] if self.pos < len(self.items) else self.last_line

    def next(self, expected: str) -> str:
        if self.pos >= len(self.items):
            raise InputError(self.source, expected, "the end of the file", line=self.last_line)
        tok = self.items[self.pos][0]
        self.pos += 1
        return tok

    def expect(self, word: str) -> None:
        line = self.line()
        tok = self.next(repr(word))
        if tok.upper() != word.upper():
            raise InputError(self.source, repr(word), repr(tok), line=line)

    def number(self, what: str) -> float:
        line = self.line()
        tok = self.next(what)
        try:
            v = float(tok)
        except ValueError:
            raise InputError(self.source, what, repr(tok), line=line) from None
        if not np.isfinite(v):
            raise InputError(self.source, f"a finite {what}", repr(tok), line=line)
        return v

    def offset(self) -> FloatArray:
        self.expect("OFFSET")
        return np.array([self.number(f"a number ({a} of OFFSET)") for a in "xyz"])


def _parse_joint(tok: _Tokens, name: str, parent: int, joints: list[BvhJoint],
                 n_channels: int) -> int:
    """Parse ``{ OFFSET .. CHANNELS .. children }`` of joint ``name``; returns channels used."""
    tok.expect("{")
    offset = tok.offset()
    line = tok.line()
    tok.expect("CHANNELS")
    n = tok.number("a channel count")
    if n != int(n) or not 0 <= n <= 6:
        raise InputError(tok.source, "a channel count of 0 to 6", repr(n), line=line)
    channels: list[str] = []
    for _ in range(int(n)):
        line = tok.line()
        ch = tok.next("a channel name")
        if ch.lower() not in ROTATION_CHANNELS and ch.lower() not in POSITION_CHANNELS:
            raise InputError(tok.source, "a channel name (Xposition .. Zrotation)", repr(ch),
                             line=line)
        if ch.lower() in (c.lower() for c in channels):
            raise InputError(tok.source, f"each channel once in joint {name!r}", f"{ch} twice",
                             line=line)
        channels.append(ch)
    me = len(joints)
    joints.append(BvhJoint(name, parent, offset, tuple(channels), n_channels))
    n_channels += len(channels)
    while True:
        line = tok.line()
        word = tok.next("JOINT, End Site or '}'")
        key = word.upper()
        if key == "}":
            return n_channels
        if key == "JOINT":
            child = tok.next("a joint name")
            n_channels = _parse_joint(tok, child, me, joints, n_channels)
        elif key == "END":
            tok.expect("Site")
            tok.expect("{")
            end = tok.offset()
            tok.expect("}")
            j = joints[me]
            joints[me] = BvhJoint(j.name, j.parent, j.offset, j.channels, j.first_channel, end)
        else:
            raise InputError(tok.source, "JOINT, End Site or '}'", repr(word), line=line)


def parse_bvh(text: str, source: str = "<string>") -> Bvh:
    """Parse BVH text. Malformed input raises a one-line InputError (line, expected, found)."""
    lines = text.splitlines()
    tok = _Tokens(lines, source)
    if not tok.items:
        raise InputError(source, "a BVH file starting with HIERARCHY", "no text", line=1)
    tok.expect("HIERARCHY")
    tok.expect("ROOT")
    root = tok.next("a root joint name")
    joints: list[BvhJoint] = []
    n_channels = _parse_joint(tok, root, -1, joints, 0)
    line = tok.line()
    word = tok.next("MOTION")
    if word.upper() != "MOTION":
        raise InputError(source, "MOTION after the root joint's '}' (only one ROOT)", repr(word),
                         line=line)
    names = [j.name for j in joints]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise InputError(source, "unique joint names", f"{dup!r} twice")
    n_frames, frame_time, first = _motion_header(lines, tok.motion_line + 1, source)
    motion = _frames(lines, first, n_frames, n_channels, source)
    return Bvh(tuple(joints), frame_time, motion, source)


def _motion_header(lines: list[str], i: int, source: str) -> tuple[int, float, int]:
    """``Frames: N`` and ``Frame Time: DT`` after MOTION; returns them and the next line index."""
    found: dict[str, str] = {}
    for key, pattern in (("Frames:", r"frames\s*:\s*(\S+)\s*$"),
                         ("Frame Time:", r"frame\s+time\s*:\s*(\S+)\s*$")):
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines):
            raise InputError(source, f"'{key} ...'", "the end of the file", line=len(lines))
        m = re.match(pattern, lines[i].strip(), flags=re.IGNORECASE)
        if m is None:
            raise InputError(source, f"'{key} ...'", repr(lines[i].strip()[:40]), line=i + 1)
        found[key] = m.group(1)
        i += 1
    try:
        n = int(found["Frames:"])
    except ValueError:
        raise InputError(source, "a whole number of frames", repr(found["Frames:"]), line=i - 1) from None
    try:
        dt = float(found["Frame Time:"])
    except ValueError:
        dt = float("nan")
    if n < 1:
        raise InputError(source, "at least 1 frame", str(n), line=i - 1)
    if not (np.isfinite(dt) and 0 < dt <= 1.0):
        raise InputError(source, "a frame time in seconds, above 0 and at most 1",
                         repr(found["Frame Time:"]), line=i)
    return n, dt, i


def _frames(lines: list[str], first: int, n_frames: int, n_channels: int, source: str) -> FloatArray:
    body = [(k + 1, s) for k, s in enumerate(lines[first:], start=first) if s.strip()]
    if len(body) != n_frames:
        where = body[-1][0] if body else len(lines)
        raise InputError(source, f"{n_frames} frame lines (as 'Frames:' says)",
                         f"{len(body)}" + (" (truncated?)" if len(body) < n_frames else ""),
                         line=where)
    rows = [s.split() for _, s in body]
    for (ln, _), words in zip(body, rows, strict=True):
        if len(words) != n_channels:
            raise InputError(source, f"{n_channels} numbers per frame", f"{len(words)}", line=ln)
    if n_channels == 0:
        return np.zeros((n_frames, 0))
    try:
        out = np.array(rows, dtype=np.float64)
        if np.all(np.isfinite(out)):
            return out
    except ValueError:
        pass
    for (ln, _), words in zip(body, rows, strict=True):  # name the first bad value
        for w in words:
            try:
                v = float(w)
            except ValueError:
                raise InputError(source, "a number", repr(w[:20]), line=ln) from None
            if not np.isfinite(v):
                raise InputError(source, "a finite number", repr(w[:20]), line=ln)
    raise AssertionError("unreachable: the fast path failed but every line parsed")


def read_bvh(path: str | Path) -> Bvh:
    """Read a BVH file; bad files raise a one-line InputError."""
    p = Path(path)
    text = check_text_file(p, what="a BVH file starting with HIERARCHY", text="a BVH text file")
    return parse_bvh(text, str(p))


# ---------------------------------------------------------------------- kinematics

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
    feet = [i for i, j in enumerate(bvh.joints) if _FOOT.search(j.name)]
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


# ------------------------------------------------------------------ virtual IMUs

#: The segment carrying the upper sensor in an Xsens skeleton, by placement: Chest3
#: starts at T12, Chest4 at T8, Neck at C7 (the joint names of Xsens MVN's BVH export).
XSENS_UPPER: Final = {"L1": "Chest3", "T12": "Chest3", "T8": "Chest4", "neck": "Neck"}
XSENS_LOWER: Final = "Hips"


@dataclass(frozen=True)
class VirtualImuSettings:
    """How to put two virtual IMUs on a BVH skeleton. Units in names; the sensor errors
    are the simulator's (``simulator.add_sensor_errors``)."""

    sample_rate_hz: float = 100.0
    placement: str = "T12"
    seed: int = 0
    noise: bool = True  # accelerometer 0.03 m/s^2, gyroscope 0.2 deg/s white noise
    gyro_bias_dps: float = 1.5  # constant bias per axis, uniform in +-this
    random_mounting: bool = True
    lower_segment: str = XSENS_LOWER
    upper_segment: str | None = None  # None: XSENS_UPPER[placement]
    # Sensor on its segment, (forward, up) in metres from the joint. The sacrum (S1-S2) lies
    # about 10 cm behind and 10 cm above the hip joint centres, the sensor 3 cm out on the
    # skin (as in the simulator); the skin over T12/T8 about 8 cm behind the spine joint.
    lower_sensor_m: tuple[float, float] = (-0.13, 0.10)
    upper_sensor_m: tuple[float, float] = (-0.08, 0.0)
    # Test-fixture choice: a clip that does not start with 2 s of standing still gets a
    # still standing stance (the calibration the analysis needs) prepended: its first frame
    # held, if upright; otherwise the skeleton's rest pose (upright; feet on the first
    # frame's floor, turned to its heading) joined to the first frame by a synthetic
    # minimum-jerk descent that arrives with the clip's own velocity.
    stance_s: float = 3.0
    descent_s: float = 1.5
    upright_deg: float = 15.0  # a segment within this of its rest-pose "up" is upright
    length_unit_m: float | None = None  # None: m, cm or mm from the skeleton's size


@dataclass(frozen=True)
class VirtualInfo:
    """What the fixture added to the clip, so results can be judged on the real part."""

    prepended: str  # "none", "stance from the first frame", "rest stance and synthetic descent"
    real_from_s: float  # recording time where the clip's own first frame is
    real_to_s: float
    up_axis: str
    unit: str
    lower_segment: str
    upper_segment: str
    fit: str = "cubic spline (not-a-knot) of positions, RotationSpline of orientations"


def _upright(rot: FloatArray, axes: BodyAxes, deg: float) -> FloatArray:
    up = np.einsum("nij,j->ni", rot, axes.up_rest)
    return np.asarray(up @ axes.up_world >= np.cos(np.deg2rad(deg)))


def _still(rot: FloatArray, deg: float = 3.0) -> bool:
    rel = Rotation.from_matrix(np.einsum("ji,njk->nik", rot[0], rot))
    return bool(np.all(rel.magnitude() <= np.deg2rad(deg)))


def _quintic(c0: FloatArray, c1: FloatArray, v1: FloatArray, s: FloatArray, span_s: float) -> FloatArray:
    """Quintic Hermite from c0 (at rest) to c1 arriving with velocity v1 (per second) and
    no acceleration: a minimum-jerk move that joins the clip without a velocity jump."""
    s = s[:, None]
    h5 = 10 * s**3 - 15 * s**4 + 6 * s**5
    h4 = -4 * s**3 + 7 * s**4 - 3 * s**5
    return c0 + (c1 - c0) * h5 + v1 * span_s * h4


def _lowest_foot(pose: Pose, axes: BodyAxes, feet: list[int]) -> FloatArray:
    pts = [pose.position[:, i] for i in feet] + [pose.end_sites[i] for i in feet if i in pose.end_sites]
    return np.min(np.stack(pts, 1) @ axes.up_world, axis=1)


def _with_stance(bvh: Bvh, pose: Pose, axes: BodyAxes, segs: list[int], st: VirtualImuSettings
                 ) -> tuple[Bvh, str, float, float]:
    """Prepend the calibration stance the analysis needs (see VirtualImuSettings).
    Returns the clip, what was added, where the clip's own frames start and where the
    still stance ends (s)."""
    dt = bvh.frame_time_s
    n2 = int(np.ceil(2.0 / dt))
    rots = [pose.rotation[:, i] for i in segs]
    if bvh.n_frames > n2 and all(np.all(_upright(r[:n2], axes, st.upright_deg)) and _still(r[:n2])
                                 for r in rots):
        return bvh, "none", 0.0, n2 * dt
    ns = round(st.stance_s / dt)
    first = bvh.motion[0]
    if all(bool(_upright(r[:1], axes, st.upright_deg)[0]) for r in rots):
        motion = np.vstack([np.repeat(first[None], ns, 0), bvh.motion])
        return Bvh(bvh.joints, dt, motion, bvh.source), "stance from the first frame", ns * dt, ns * dt
    # Rest pose (the standing posture BVH skeletons are built in), turned to the first
    # frame's heading, feet at the first frame's floor height.
    root = bvh.joints[0]
    rcols = [k for k, c in enumerate(root.channels) if c.lower() in ROTATION_CHANNELS]
    if len(rcols) != 3:
        raise InputError(bvh.source, "a root joint with three rotation channels (to build a "
                         "standing stance)", f"{len(rcols)}")
    order = "".join(ROTATION_CHANNELS[root.channels[k].lower()] for k in rcols).upper()
    f0 = axes.forward_rest - np.dot(axes.forward_rest, axes.up_world) * axes.up_world
    f1 = pose.rotation[0, 0] @ axes.forward_rest
    f1 = f1 - np.dot(f1, axes.up_world) * axes.up_world
    psi = np.arctan2(np.dot(np.cross(f0, f1), axes.up_world), np.dot(f0, f1))
    stance = first.copy()
    for j in bvh.joints:
        for k, c in enumerate(j.channels):
            if c.lower() in ROTATION_CHANNELS:
                stance[j.first_channel + k] = 0.0
    heading = Rotation.from_rotvec(axes.up_world * psi).as_euler(order, degrees=True)
    for k, v in zip(rcols, heading, strict=True):
        stance[root.first_channel + k] = v
    feet = [i for i, j in enumerate(bvh.joints) if _FOOT.search(j.name)]
    up_k = int(np.argmax(np.abs(axes.up_world)))
    pcol = {POSITION_CHANNELS[c.lower()]: k for k, c in enumerate(root.channels)
            if c.lower() in POSITION_CHANNELS}
    if up_k in pcol:
        lift = _lowest_foot(pose, axes, feet)[0] - _lowest_foot(
            forward_kinematics(bvh, stance[None]), axes, feet)[0]
        stance[root.first_channel + pcol[up_k]] += axes.up_world[up_k] * lift
    # joined to the clip by a minimum-jerk move arriving with the clip's own velocity
    rot_cols = np.array([c.lower() in ROTATION_CHANNELS for j in bvh.joints for c in j.channels])
    delta = first - stance
    delta[rot_cols] = (delta[rot_cols] + 180.0) % 360.0 - 180.0
    c0 = first - delta
    m = bvh.motion
    head = m[:3].copy()
    head[:, rot_cols] = np.unwrap(head[:, rot_cols], period=360.0, axis=0)
    v1 = (-3 * head[0] + 4 * head[1] - head[2]) / (2 * dt)  # the clip's velocity at its start
    nd = max(round(st.descent_s / dt), 2)
    s = np.arange(1, nd) / nd
    descent = _quintic(c0, first, v1, s, nd * dt)
    motion = np.vstack([np.repeat(c0[None], ns, 0), descent, m])
    real_from = (ns + nd - 1) * dt
    return (Bvh(bvh.joints, dt, motion, bvh.source), "rest stance and synthetic descent", real_from,
            (ns - 1) * dt)


def sagittal_tilt_truth_deg(up0: FloatArray, axis: FloatArray, ups: FloatArray) -> FloatArray:
    """The analysis's tilt (``orientation.sagittal.sagittal_tilt_deg``), computed from
    true segment orientations: the signed rotation about the segment's flexion ``axis``
    from its neutral "up" ``up0`` to ``ups`` (world up seen in the segment frame),
    projected on the sagittal plane so side bending and twist drop out. The formula is
    repeated here (sources may not import orientation); a test checks they agree."""
    p = ups - np.outer(ups @ axis, axis)
    return np.rad2deg(np.arctan2(np.cross(p, up0) @ axis, p @ up0))


def virtual_recording(source: Bvh | str | Path, settings: VirtualImuSettings | None = None
                      ) -> tuple[TimeSeries, TimeSeries, VirtualInfo]:
    """Two virtual IMUs (sacrum and upper back) driven by a BVH clip's motion.

    Returns the recording (channels ``lower_acc``, ``lower_gyr``, ``upper_acc``,
    ``upper_gyr`` in SI units, like ``simulate``), the true angles at the sample times,
    and what the fixture added. The segments' orientations are interpolated with scipy's
    ``RotationSpline`` (continuous angular rate and acceleration), the sensor positions
    with an interpolating cubic spline (``CubicSpline``, not-a-knot: continuous
    acceleration), evaluated on a 1 kHz grid, then measured with ``imu_signals`` exactly
    as the simulator measures its body, sampled at ``sample_rate_hz``, with its noise and
    bias. Interpolating rather than smoothing: the Xsens box-lift positions hold about 2 %
    of their acceleration power above 15 Hz and none above 20 Hz, so there is no noise
    floor for differentiation to amplify; what they hold (lifting, steps) a real sensor
    would feel too.

    Truth (the analysis's definitions, from the true orientations): each segment's tilt is
    ``sagittal_tilt_truth_deg`` about its anatomical left axis (from the skeleton's
    Left/Right joints) from its posture in the calibration stance; ``lumbar_flexion_deg``
    is tilt(upper) - tilt(lower). ``lumbar_joint_flexion_deg`` (the two segments' relative
    rotation about their left axis, not gravity-referenced: what a joint-angle definition
    would say) is there to show how far the two definitions part, e.g. with a twist.
    """
    st = settings or VirtualImuSettings()
    if not 5.0 <= st.sample_rate_hz <= 1000.0:
        raise ParameterError("sample_rate_hz", "5 to 1000", st.sample_rate_hz)
    placement = normalise_placement(st.placement)
    if not st.stance_s >= 2.0:
        raise ParameterError("stance_s", "at least 2 s (the calibration needs 2 s of standing)",
                             st.stance_s)
    if not st.descent_s > 0:
        raise ParameterError("descent_s", "above 0 s", st.descent_s)
    bvh = source if isinstance(source, Bvh) else read_bvh(source)
    if bvh.n_frames < 4:
        raise InputError(bvh.source, "at least 4 frames of motion", str(bvh.n_frames))
    upper_name = st.upper_segment or XSENS_UPPER[placement]
    segs = [bvh.index(st.lower_segment), bvh.index(upper_name)]
    pose = forward_kinematics(bvh)
    axes = body_axes(bvh, pose, st.length_unit_m)
    ext, prepended, real_from, stance_end = _with_stance(bvh, pose, axes, segs, st)
    wpose = to_world(forward_kinematics(ext), axes)
    t_frames = np.arange(ext.n_frames) * ext.frame_time_s
    duration = float(t_frames[-1])
    rng = np.random.default_rng(st.seed)
    mounts = random_mounts(rng, st.random_mounting)
    t_s = np.arange(0.0, duration, 1.0 / st.sample_rate_hz)
    rot_splines, pos_splines = [], []
    for i, (fwd, up) in zip(segs, (st.lower_sensor_m, st.upper_sensor_m), strict=True):
        r = wpose.rotation[:, i]
        p = wpose.position[:, i] + r @ (fwd * axes.forward_rest + up * axes.up_rest)
        rot_splines.append(RotationSpline(t_frames, Rotation.from_matrix(r)))
        pos_splines.append(CubicSpline(t_frames, p, axis=0))
    out = {k: np.empty((t_s.size, 3)) for k in ("lower_acc", "lower_gyr", "upper_acc", "upper_gyr")}
    h = 1.0 / FINE_RATE_HZ
    chunk = 60.0
    start = 0.0
    while start < duration:
        stop = min(start + chunk, duration)
        sel = (t_s >= start) & (t_s < stop)
        fine = np.arange(max(start - 3 * h, 0.0), min(stop + 4 * h, duration), h)
        for side, rs, ps, mount in zip(("lower", "upper"), rot_splines, pos_splines, mounts,
                                       strict=True):
            f, w = imu_signals(rs(fine).as_matrix(), ps(fine), mount, h)
            ts = t_s[sel]
            out[f"{side}_acc"][sel] = np.stack([np.interp(ts, fine, f[:, j]) for j in range(3)], -1)
            out[f"{side}_gyr"][sel] = np.stack([np.interp(ts, fine, w[:, j]) for j in range(3)], -1)
        start = stop
    add_sensor_errors(out, rng, noise=st.noise, gyro_bias_dps=st.gyro_bias_dps)
    truth = _truth(t_s, rot_splines, axes, calibration_end_s=stance_end)
    info = VirtualInfo(prepended, real_from, duration, axes.up_axis, axes.unit,
                       st.lower_segment, upper_name)
    name = Path(bvh.source).name
    meta: dict[str, Any] = {"format": "bvh", "source": bvh.source, "placement": placement,
                            "warnings": [], "fixture": info.prepended, "real_from_s": real_from}
    ch_info = {k: ChannelInfo("m/s^2" if "acc" in k else "rad/s", f"sensor:{k.split('_')[0]}",
                              f"virtual IMU on {name}") for k in out}
    rec = TimeSeries(t_s, out, info=ch_info, meta=meta)
    truth_ts = TimeSeries(t_s, truth, meta={"placement": placement, "real_from_s": real_from},
                          info={k: ChannelInfo("deg", "body", f"{name} truth") for k in truth})
    return rec, truth_ts, info


def _truth(t_s: FloatArray, rot_splines: list[RotationSpline], axes: BodyAxes,
           calibration_end_s: float) -> dict[str, FloatArray]:
    rots = [rs(t_s).as_matrix() for rs in rot_splines]
    cal = t_s < calibration_end_s
    tilts = []
    for r in rots:
        ups = r[:, 2, :]  # world z seen in the segment frame: R^T e_z
        up0 = ups[cal].mean(0)
        up0 /= np.linalg.norm(up0)
        axis = axes.left_rest - np.dot(axes.left_rest, up0) * up0
        axis /= np.linalg.norm(axis)
        tilts.append(sagittal_tilt_truth_deg(up0, axis, ups))
    lo, up = tilts
    # the lower segment's up seen from the upper segment turns by -flexion about left
    rel_up = np.einsum("nji,njk,k->ni", rots[1], rots[0], axes.up_rest)
    joint = sagittal_tilt_truth_deg(axes.up_rest, axes.left_rest, rel_up)
    return {"lumbar_flexion_deg": up - lo, "pelvis_tilt_deg": lo, "trunk_inclination_deg": up,
            "lumbar_joint_flexion_deg": joint - float(np.mean(joint[cal]))}



def write_virtual_truth(path: str | Path, truth: TimeSeries, info: VirtualInfo,
                        settings: VirtualImuSettings) -> None:
    """Ground truth beside a virtual recording: ``NAME.truth.csv`` (the true angles at
    every sample) and ``NAME.truth.json`` (what the fixture added, and the settings)."""
    path = Path(path)
    cols = ["lumbar_flexion_deg", "pelvis_tilt_deg", "trunk_inclination_deg", "lumbar_joint_flexion_deg"]
    arr = np.column_stack([truth.time_s] + [truth[c] for c in cols])
    np.savetxt(path.with_suffix(".truth.csv"), arr, delimiter=",", fmt="%.6f",
               header=",".join(["time_s", *cols]), comments="")
    meta = {"fixture": asdict(info), "settings": asdict(settings), "placement": truth.meta.get("placement")}
    path.with_suffix(".truth.json").write_text(json.dumps(meta, indent=1))
