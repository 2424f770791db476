"""The BVH parser: tokens, the joint hierarchy and its channels, the motion rows.

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

What the channels mean (Euler angles, offsets, the rest pose) is ``kinematics``' part.
Malformed input raises a one-line InputError that names the line, what was expected
and what was found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from hingecoach.core.errors import InputError
from hingecoach.core.timeseries import FloatArray
from hingecoach.sources._table import check_text_file

ROTATION_CHANNELS: Final = {"xrotation": "x", "yrotation": "y", "zrotation": "z"}
POSITION_CHANNELS: Final = {"xposition": 0, "yposition": 1, "zposition": 2}


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
        """Number of frames of motion."""
        return int(self.motion.shape[0])

    @property
    def names(self) -> tuple[str, ...]:
        """The joints' names, in hierarchy order."""
        return tuple(j.name for j in self.joints)

    def index(self, name: str) -> int:
        """The joint called ``name``, or an InputError that lists the joints there are."""
        for i, j in enumerate(self.joints):
            if j.name == name:
                return i
        raise InputError(self.source, f"a joint named {name!r}",
                         "joints " + ", ".join(self.names))


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
