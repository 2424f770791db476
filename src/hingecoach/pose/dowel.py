"""The virtual dowel: how far the back bows away from a straight line, from the person
segmentation mask.

The dowel check (docs/references.md#dowel-check) holds a straight dowel along the back; a neutral spine keeps the
head, the upper back and the sacrum on it. A camera sees no spine, but it sees the back's
outline. Here the straight reference is the line through the hip and shoulder joints
(the near side's BlazePose landmarks): with a neutral spine the back runs parallel to it
at the trunk's depth; when the spine flexes, the back bows away from it.

Per frame:
1. Rays are cast from points on the hip->shoulder line, at fractions ``s`` of its length
   from the hip, perpendicular to it and towards the back (away from the facing
   direction). The last mask pixel of the first run of "person" (probability >= 0.5,
   interpolated to a sub-pixel edge) is the back's outline there.
2. The bow is the median distance of the outline from the line over ``s`` in
   [0.35, 0.75] (the lumbar and lower thoracic back: above the buttocks, below the
   shoulder blades and the hood or collar of clothing), divided by the hip-shoulder
   length. Standing, it is the trunk's half depth behind the joints (~0.2).
3. ``back_curvature_deg`` = 2 atan(2 (bow - bow_standing)), zero standing: if the back
   were two straight halves (the pelvis with the lower back, and the thorax) joined at
   mid-back, bowing it out by h over a chord c tilts each half by atan(2h/c), and this is
   the angle between them, the relative tilt that an IMU on each half would measure.
   The camera's ``lumbar_flexion_deg`` is this value.

The rounding criterion (``rounding_threshold_deg``): the back has bowed away from the
hip-shoulder line by more than the trunk's own standing depth, i.e. the bow is more than
twice its standing value; the straight line from hip to shoulder then no longer runs
through the trunk. It is relative to the person's own standing shape, so body size,
build and distance to the camera drop out.

In the camera simulator's geometry (``testing.camera_sim``: landmarks at the true joints)
the angle reads 0.60 of the true sacrum-to-neck flexion at 15 deg and 0.77 at 75 deg,
whatever the hip flexion, and the rounding criterion is met at about 65 deg of flexion:
gross rounding only.

On real video the measure is not the spine's angle, and not comparable with IMU degrees:
it spans the back from the hips to the shoulders, and it grows in every hinge, rounded or
not, because the landmarks are estimates that drift in deep flexion (the hip landmark
moves towards the hip crease and the shoulder landmark forward with the hanging arms):
correct kettlebell deadlifts read 25-40 deg and a bow ratio of 1.5-1.9 at the bottom,
rounded ones 45-80 deg and 2.1-3.3 on the sample clips (README). It is unreliable when
the outline is not the back: loose or bulky clothing (a hood up, a backpack), long hair
over the upper back, a weight or a hand behind the back, a background of the same colour
as the clothes (the mask bleeds), strong back-light, or a view that is not from the side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hingecoach.core.timeseries import FloatArray

MASK_LEVEL = 0.5


@dataclass(frozen=True)
class DowelSettings:
    s_low: float = 0.35  # lower end of the measured back, fraction of hip->shoulder
    s_high: float = 0.75  # upper end
    rays: int = 17
    reach: float = 0.8  # rays reach this far (fraction of the hip-shoulder length)
    step_px: float = 0.5
    contour_s: tuple[float, float] = (-0.1, 1.1)  # the outline kept for the overlay
    contour_rays: int = 25
    min_rays: int = 6  # fewer valid rays: no measure for this frame


def _bilinear(m: NDArray[np.floating[Any]], x: FloatArray, y: FloatArray) -> FloatArray:
    h, w = m.shape
    x = np.clip(x, 0.0, w - 1.001)
    y = np.clip(y, 0.0, h - 1.001)
    x0 = x.astype(np.intp)
    y0 = y.astype(np.intp)
    fx = x - x0
    fy = y - y0
    return np.asarray(m[y0, x0] * (1 - fx) * (1 - fy) + m[y0, x0 + 1] * fx * (1 - fy)
                      + m[y0 + 1, x0] * (1 - fx) * fy + m[y0 + 1, x0 + 1] * fx * fy)


def back_normal(hip: FloatArray, shoulder: FloatArray, facing: float) -> tuple[FloatArray, FloatArray, float]:
    """Unit vector along hip->shoulder, unit normal pointing out of the back, and length.

    The normal is the trunk axis turned by 90 deg towards the back (for a person facing
    +x, standing: image-up turned to -x), so it stays on the back's side however far the
    trunk tips, past horizontal too."""
    axis = shoulder - hip
    length = float(np.linalg.norm(axis))
    u = axis / max(length, 1e-9)
    n = facing * np.array([u[1], -u[0]])
    return u, n, length


def back_offsets(mask: NDArray[np.floating[Any]], hip: FloatArray, shoulder: FloatArray, facing: float,
                 s: FloatArray, settings: DowelSettings) -> FloatArray:
    """Distance (fraction of the hip-shoulder length) from the hip->shoulder line to the
    back's outline at each fraction ``s``; NaN where no edge is found."""
    _, n, length = back_normal(hip, shoulder, facing)
    out = np.full(s.size, np.nan)
    if length < 10.0:
        return out
    steps = np.arange(0.0, settings.reach * length, settings.step_px)
    base = hip[None, :] + s[:, None] * (shoulder - hip)[None, :]
    px = base[:, None, 0] + steps[None, :] * n[0]
    py = base[:, None, 1] + steps[None, :] * n[1]
    inside_img = (px >= 0) & (px <= mask.shape[1] - 1) & (py >= 0) & (py <= mask.shape[0] - 1)
    v = np.where(inside_img, _bilinear(mask, px, py), 0.0)
    inside = v >= MASK_LEVEL
    # per ray: the first step inside the body, then the first step out of it after that
    j0 = np.argmax(inside, axis=1)
    out_after = ~inside & (np.arange(steps.size)[None, :] >= j0[:, None])
    j = np.argmax(out_after, axis=1)
    # no body on the ray; the line far outside the body; the body reaching the end of the
    # ray or the image edge: no edge
    ok = inside.any(axis=1) & (j0 * settings.step_px <= 0.3 * length) & out_after.any(axis=1) & (j > 0)
    k = np.flatnonzero(ok)
    a, b = v[k, j[k] - 1], v[k, j[k]]
    frac = np.where(a != b, (a - MASK_LEVEL) / np.where(a != b, a - b, 1.0), 0.0)
    out[k] = (steps[j[k] - 1] + frac * settings.step_px) / length
    return out


@dataclass(frozen=True)
class DowelFrame:
    bow: float  # median back offset over [s_low, s_high], fraction of hip-shoulder length
    contour_xy: FloatArray  # (k, 2) back outline points in pixels (NaN where not found)


def back_bow(mask: NDArray[np.floating[Any]], hip: FloatArray, shoulder: FloatArray, facing: float,
             settings: DowelSettings | None = None) -> float:
    """The bow alone (no outline for the overlay): the median back offset over
    [s_low, s_high], fraction of the hip-shoulder length; NaN when too few rays hit."""
    st = settings or DowelSettings()
    s = np.linspace(st.s_low, st.s_high, st.rays)
    d = back_offsets(mask, hip, shoulder, facing, s, st)
    ok = np.isfinite(d)
    return float(np.median(d[ok])) if np.count_nonzero(ok) >= st.min_rays else float("nan")


def measure_back(mask: NDArray[np.floating[Any]], hip: FloatArray, shoulder: FloatArray, facing: float,
                 settings: DowelSettings | None = None) -> DowelFrame:
    """The bow and the back's outline of one frame (see the module's steps 1-2)."""
    st = settings or DowelSettings()
    bow = back_bow(mask, hip, shoulder, facing, st)
    sc = np.linspace(*st.contour_s, st.contour_rays)
    dc = back_offsets(mask, hip, shoulder, facing, sc, st)
    _, n, length = back_normal(hip, shoulder, facing)
    pts = hip[None, :] + sc[:, None] * (shoulder - hip)[None, :] + (dc * length)[:, None] * n[None, :]
    return DowelFrame(bow, pts)


#: The bow, relative to standing, beyond which the back counts as rounded (see above).
ROUNDING_BOW_RATIO = 2.0


def rounding_threshold_deg(bow_standing: float) -> float:
    """The back_curvature_deg at which the bow reaches ROUNDING_BOW_RATIO times standing
    (about 44 deg for a typical standing bow of 0.2)."""
    return float(bow_angle_deg((ROUNDING_BOW_RATIO - 1.0) * bow_standing))


def bow_angle_deg(bow: FloatArray | float) -> FloatArray:
    """Angle between two straight halves of a chord bowed out by ``bow`` times its length
    at the middle: 2 atan(2 bow)."""
    return np.asarray(np.degrees(2.0 * np.arctan(2.0 * np.asarray(bow, dtype=np.float64))))
