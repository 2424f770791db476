"""The shape of the back's outline in one frame, from the person mask.

The outline is found as in the virtual dowel (``dowel.back_offsets``): rays cast from the
hip->shoulder landmark line, perpendicular to it and towards the back, stop at the mask's
edge. The landmarks only say *where along the back* to look; the shape is read from the
outline itself, so that a landmark that drifts (BlazePose's hip and shoulder move in deep
flexion) moves the sampling points a little along the back but does not bend the measure.

In trunk coordinates (``s`` along hip->shoulder, ``d`` out of the back, both in units of
the hip-shoulder length) the outline is the profile ``d(s)``. From it:

- ``bow``: the median of ``d`` over s in [0.35, 0.75] (the dowel's measure, kept for the
  angle channels);
- ``hump``: the dowel check done on the outline. The dowel touches the sacrum and the
  upper back between the shoulder blades; a neutral lumbar spine keeps a gap under it
  (the lordosis: a hand fits between dowel and low back), a rounded one pushes the
  lumbar outline out to or beyond it. ``hump`` is the lumbar outline's largest distance
  outwards from the chord joining the outline at the sacrum level and at the upper back,
  over the chord's length: negative for a hollow (neutral) low back, positive when the
  back is one convex arc (rounded). See docs/references.md#dowel-check.
- ``bend_deg``: the angle between the straight-line fits of the lower back (s 0.05-0.45:
  sacrum and lumbar spine) and the upper back (s 0.6-1.05: thoracic spine up to the base
  of the neck). Standing tall it is negative (the lumbar outline runs in towards the
  lordosis, the upper back out over the kyphosis: -8 to -24 deg on the sample clips);
  a neutral hinge keeps it negative; 0 is a back whose outline is one straight line from
  sacrum to neck (the lordosis is gone), positive a back folded into one convex arc:
  rounded (see ``verdict``).

Levels along the trunk (fractions of hip->shoulder, from the hip joint): the sacrum sits
just above the hip joints, the lumbar spine spans roughly the middle third of the trunk and
the upper back between the shoulder blades lies below the shoulder joints
(docs/references.md#segment-proportions); the lower-back line (0.05-0.45) and the
upper-back line (0.6-1.05) are read there. The rounding rule on ``bend_deg`` is in
``verdict`` (docs/references.md#dowel-check).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hingecoach.core.timeseries import FloatArray
from hingecoach.pose.dowel import DowelSettings, back_normal, back_offsets


@dataclass(frozen=True)
class BackShapeSettings:
    """Where along the trunk each part of the outline is read (fractions of hip->shoulder)."""

    s_min: float = -0.1  # the outline profile runs from just below the hip joint ...
    s_max: float = 1.1  # ... to just above the shoulder (overlay)
    s_step: float = 0.05
    sacrum: tuple[float, float] = (0.1, 0.25)  # the chord's lower end: median over this span
    upper_back: tuple[float, float] = (0.7, 0.9)  # the chord's upper end
    lumbar: tuple[float, float] = (0.3, 0.6)  # where the hump is looked for
    bow: tuple[float, float] = (0.35, 0.75)  # the dowel's bow span
    lower_line: tuple[float, float] = (0.05, 0.45)  # bend: the lower back's line fit
    upper_line: tuple[float, float] = (0.6, 1.05)  # bend: the upper back's line fit
    min_seen: float = 0.7  # share of the rays over the back (lower_line..upper_line) that must find the edge


@dataclass(frozen=True)
class BackShape:
    """One frame's back outline and its shape measures (NaN where the back was not found)."""

    bow: float  # median outline distance from the hip->shoulder line, / hip-shoulder length
    hump: float  # lumbar outline beyond the sacrum->upper-back chord, / chord; + convex
    bend_deg: float  # angle between lower- and upper-back line fits, flexion +
    seen: float  # share of rays over the back (s 0.05-1.05) that found the edge, 0-1
    trunk_px: float  # hip-shoulder length, frame pixels
    contour_xy: FloatArray  # (k, 2) outline points in frame pixels, NaN where not found


NAN = float("nan")


def _span(s: FloatArray, d: FloatArray, lo_hi: tuple[float, float]) -> FloatArray:
    sel = (s >= lo_hi[0] - 1e-9) & (s <= lo_hi[1] + 1e-9)
    return np.asarray(d[sel & np.isfinite(d)])


def _slope(x: FloatArray, y: FloatArray) -> float:
    """The least-squares slope of y on x (``np.polyfit(x, y, 1)[0]``, without its cost)."""
    dx = x - x.mean()
    return float(np.dot(dx, y - y.mean()) / np.dot(dx, dx))


def shape_from_profile(s: FloatArray, d: FloatArray, st: BackShapeSettings) -> tuple[float, float, float, float]:
    """(bow, hump, bend_deg, seen) from an outline profile d(s) in trunk-length units
    (NaN for what the outline does not show)."""
    core = (s >= st.lower_line[0] - 1e-9) & (s <= st.upper_line[1] + 1e-9)
    seen = float(np.count_nonzero(np.isfinite(d[core])) / max(np.count_nonzero(core), 1))
    b = _span(s, d, st.bow)
    bow = float(np.median(b)) if b.size >= 3 else NAN
    lo_ok = (s >= st.sacrum[0] - 1e-9) & (s <= st.sacrum[1] + 1e-9) & np.isfinite(d)
    hi_ok = (s >= st.upper_back[0] - 1e-9) & (s <= st.upper_back[1] + 1e-9) & np.isfinite(d)
    if seen < st.min_seen or not lo_ok.any() or not hi_ok.any():
        return bow, NAN, NAN, seen
    a = np.array([np.median(s[lo_ok]), np.median(d[lo_ok])])
    c = np.array([np.median(s[hi_ok]), np.median(d[hi_ok])])
    chord = c - a
    length = float(np.hypot(*chord))
    lum = (s >= st.lumbar[0] - 1e-9) & (s <= st.lumbar[1] + 1e-9) & np.isfinite(d)
    if length < 1e-6 or not lum.any():
        return bow, NAN, NAN, seen
    # signed distance from the chord, + out of the back (towards +d): the chord's left
    # normal in (s, d) coordinates is (-chord_d, chord_s)
    nrm = np.array([-chord[1], chord[0]]) / length
    dev = (s[lum] - a[0]) * nrm[0] + (d[lum] - a[1]) * nrm[1]
    hump = float(np.max(dev)) / length
    low = np.isfinite(d) & (s >= st.lower_line[0] - 1e-9) & (s <= st.lower_line[1] + 1e-9)
    up = np.isfinite(d) & (s >= st.upper_line[0] - 1e-9) & (s <= st.upper_line[1] + 1e-9)
    if np.count_nonzero(low) < 3 or np.count_nonzero(up) < 3:
        return bow, hump, NAN, seen
    k_low = _slope(s[low], d[low])
    k_up = _slope(s[up], d[up])
    # the lower half rising outwards and the upper half turning back in = folded forward
    bend = float(np.degrees(np.arctan(k_low) - np.arctan(k_up)))
    return bow, hump, bend, seen


def back_profile(mask: NDArray[Any], hip: FloatArray, shoulder: FloatArray, facing: float, *,
                 mask_scale: float = 1.0, settings: BackShapeSettings | None = None
                 ) -> tuple[FloatArray, FloatArray, float]:
    """(s, d, trunk length in frame px): the outline's distance from the hip->shoulder line
    (trunk-length units, NaN where no edge) at fractions ``s`` of the line."""
    st = settings or BackShapeSettings()
    m = np.asarray(mask, dtype=np.float32)
    if mask.dtype == np.uint8:
        m = m / 255.0
    s = np.round(np.arange(st.s_min, st.s_max + 1e-9, st.s_step), 6)
    hip_m = np.asarray(hip, dtype=np.float64) * mask_scale
    sh_m = np.asarray(shoulder, dtype=np.float64) * mask_scale
    length = float(np.linalg.norm(sh_m - hip_m))
    if not (np.isfinite(length) and length > 0):
        return s, np.full(s.size, np.nan), NAN
    ds = DowelSettings(step_px=max(0.25, min(0.5, length / 200.0)))
    d = back_offsets(m, hip_m, sh_m, facing, s, ds)
    return s, d, length / mask_scale


def measure_back_shape(mask: NDArray[Any], hip: FloatArray, shoulder: FloatArray, facing: float, *,
                       mask_scale: float = 1.0, settings: BackShapeSettings | None = None) -> BackShape:
    """The back's shape in one frame; ``hip``/``shoulder`` are the near side's landmarks in
    frame pixels, ``mask`` a person probability (0-1 float or 0-255 uint8) with
    ``mask_scale`` mask pixels per frame pixel. Never raises: unseen parts are NaN."""
    st = settings or BackShapeSettings()
    s, d, trunk_px = back_profile(mask, hip, shoulder, facing, mask_scale=mask_scale, settings=st)
    if not np.isfinite(trunk_px):
        return BackShape(NAN, NAN, NAN, 0.0, NAN, np.full((s.size, 2), np.nan))
    bow, hump, bend, seen = shape_from_profile(s, d, st)
    hip_f = np.asarray(hip, dtype=np.float64)
    sh_f = np.asarray(shoulder, dtype=np.float64)
    _, n, _ = back_normal(hip_f, sh_f, facing)
    pts = hip_f[None, :] + s[:, None] * (sh_f - hip_f)[None, :] + (d * trunk_px)[:, None] * n[None, :]
    return BackShape(bow, hump, bend, seen, trunk_px, pts)
