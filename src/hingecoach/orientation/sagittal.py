"""The sagittal plane of each sensor, found from the data, and the signed tilt in it.

When a segment tilts by theta about a body axis a (sensor frame), the "up" vector seen in
the sensor frame turns by -theta about a, so ``up0 x up(t)`` lies along a. The dominant
direction of these cross products over the recording (principal component, weighted by
tilt) is the flexion axis; the second one is side bending. The signed tilt is the angle,
about that axis, from the neutral ``up0`` to ``up(t)`` projected on the sagittal plane,
so side bending and twisting drop out, and the heading never enters.

Sign: a forward bend is positive. People bend forward much further than they lean back,
so the axis is oriented to make the larger excursion positive. The pelvis (whose tilt may
be small) is oriented to move with the upper segment when its own excursions do not
decide it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hingecoach.core.timeseries import FloatArray

MIN_TILT_DEG = 5.0  # cross products of smaller tilts are mostly sway and noise
CONFIDENT_RATIO = 3.0  # first/second principal value below this: the plane is uncertain
OWN_SIGN_RANGE_DEG = 15.0  # a sensor whose tilt range exceeds this decides its own sign


@dataclass(frozen=True)
class SagittalAxis:
    """The estimated flexion axis of one sensor and how well the tilts determined it."""

    axis: FloatArray  # unit flexion axis in the sensor frame, perpendicular to up0
    ratio: float  # first / second principal value: how planar the tilts are
    tilted_samples: int  # samples beyond MIN_TILT_DEG that determined it


def estimate_axis(up0: FloatArray, ups: FloatArray) -> SagittalAxis:
    """Principal axis of the tilts, unsigned: the caller fixes the sign from the tilts it
    gives (``excursion_sign``: the larger excursions are forward flexion)."""
    c = np.cross(up0, ups)
    sel = np.einsum("ij,ij->i", c, c) > np.sin(np.deg2rad(MIN_TILT_DEG)) ** 2  # |c| = sin(tilt)
    n_sel = int(np.count_nonzero(sel))
    use = c[sel] if n_sel >= 3 else c
    m = use.T @ use
    w, v = np.linalg.eigh(m)
    axis = v[:, 2] - np.dot(v[:, 2], up0) * up0
    axis = axis / np.linalg.norm(axis)
    ratio = float(w[2] / max(w[1], 1e-12))
    return SagittalAxis(axis=axis, ratio=ratio, tilted_samples=n_sel)


def sagittal_tilt_deg(up0: FloatArray, axis: FloatArray, ups: FloatArray) -> FloatArray:
    """Signed rotation (deg) about ``axis`` from ``up0`` to each ``ups`` row, projected on
    the plane perpendicular to ``axis``.

    With p = up - (up . axis) axis, the projection: the sine part is (p x up0) . axis =
    p . (up0 x axis) = up . (up0 x axis) (the axis part of p is perpendicular to
    up0 x axis) and the cosine part is p . up0 = up . up0 - (up . axis)(axis . up0); one
    (n, 3) x (3, 3) product gives all three dot products."""
    w = np.cross(up0, axis)
    d = ups @ np.column_stack([w, up0, axis])
    sin_part = d[:, 0]  # the up vector turns by -theta about the axis
    cos_part = d[:, 1] - d[:, 2] * float(axis @ up0)
    return np.rad2deg(np.arctan2(sin_part, cos_part))


def excursion_sign(theta_deg: FloatArray, lo_hi: tuple[float, float] | None = None) -> float:
    """+1 when the larger excursions are positive (forward), else -1. ``lo_hi``: the
    0.5 and 99.5 percentiles, if already known (``tilt_percentiles``)."""
    lo, hi = tilt_percentiles(theta_deg) if lo_hi is None else lo_hi
    return 1.0 if hi >= -lo else -1.0


def tilt_range_deg(theta_deg: FloatArray, lo_hi: tuple[float, float] | None = None) -> float:
    """Range (deg) between the 0.5 and 99.5 percentiles of the tilts (``lo_hi`` if already known)."""
    lo, hi = tilt_percentiles(theta_deg) if lo_hi is None else lo_hi
    return hi - lo


def tilt_percentiles(theta_deg: FloatArray) -> tuple[float, float]:
    """The 0.5 and 99.5 percentiles: the excursions, robust to a few outliers."""
    lo, hi = np.percentile(theta_deg, [0.5, 99.5])
    return float(lo), float(hi)
