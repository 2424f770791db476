"""How a report names what was measured, by source: two back IMUs or one side-view camera.

The camera and the IMUs meet at the angles, but they do not measure the same things: a
camera sees the back's outline (the virtual dowel's bow, on the camera's own scale), the
hips' flexion and the knees, and has no pelvis sensor; the IMUs measure the lumbar
segment against the sacrum and the sacrum's tilt. A camera session is therefore
described by its view, its frames and its pose model, and its range of hinge is the
median peak hip flexion of its reps; an IMU session keeps its sensor wording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hingecoach.analysis import Analysis
from hingecoach.core.timeseries import TimeSeries
from hingecoach.core.vocabulary import CAMERA, WEBCAM_FORMAT
from hingecoach.faults import HIP_FLEXION, RepMetrics, median_peak_hip_flexion
from hingecoach.faults import rep_peak as series_rep_peak

HIP = HIP_FLEXION
PELVIS = "pelvis_tilt_deg"
#: Channels a camera does not measure: never drawn nor tabled for a camera session.
NOT_CAMERA = frozenset({PELVIS})
CAMERA_LUMBAR_LABEL = "back bow (virtual dowel)"
FEET = ("left_heel", "right_heel", "left_ankle", "right_ankle", "left_foot_index", "right_foot_index")


#: A camera clip's verdict: (css class, the sentence), by the stored verdict's ``clip``.
CLIP_VERDICTS = {"good": ("ok", "good: no form fault in the judged repetitions"),
                 "faults": ("bad", "faults: a judged repetition has a form fault"),
                 "cannot_judge": ("bad", "cannot judge: the camera could not see, or could not confirm, what "
                                         "the verdicts need")}


def clip_verdict_lines(verdict: Mapping[str, Any] | None) -> list[str]:
    """A camera clip's stored verdict as plain lines: the verdict with how many reps were
    judged and the view, then each reason; none without a verdict (an IMU session)."""
    if not verdict:
        return []
    text = CLIP_VERDICTS.get(verdict["clip"], ("bad", verdict["clip"]))[1]
    view = (verdict.get("view") or {}).get("view")
    return [f"The clip's verdict: {text} ({verdict['judged_reps']} of {verdict['reps']} repetitions judged"
            f"{', ' + view + ' view' if view else ''})", *(f"- {r}" for r in verdict.get("reasons") or [])]


def is_camera(a: Analysis) -> bool:
    """True when the analysis came from a camera (a video file or a webcam)."""
    return a.info.get("placement") == CAMERA


def channels_to_draw(a: Analysis) -> list[str]:
    """The angle channels that apply to the session's source and hold a measured value.

    A camera has no pelvis sensor, and its ``lumbar_flexion_deg`` is a copy of
    ``back_curvature_deg``: both are left out of a camera session rather than drawn twice
    or empty, as is a channel the camera never measured (no finite sample). An IMU
    session draws every channel it has."""
    ang = a.angles
    chans = list(ang.channels)
    if is_camera(a):
        chans = [c for c in chans if c not in NOT_CAMERA and np.isfinite(ang[c]).any()]
        if "back_curvature_deg" in chans and "lumbar_flexion_deg" in chans and np.allclose(
                ang["back_curvature_deg"], ang["lumbar_flexion_deg"], equal_nan=True):
            chans.remove("back_curvature_deg")
    return chans


def channel_label(a: Analysis, channel: str) -> str:
    """A channel's name in a legend (``lumbar_flexion_deg`` -> ``lumbar flexion``; a
    camera's lumbar channel is the virtual dowel's bow)."""
    if channel == "lumbar_flexion_deg" and is_camera(a):
        return CAMERA_LUMBAR_LABEL
    return channel.removesuffix("_deg").replace("_", " ")


def lumbar_name(a: Analysis) -> str:
    """What the lumbar measure is called for the session's source."""
    return CAMERA_LUMBAR_LABEL if is_camera(a) else "lumbar flexion"


@dataclass(frozen=True)
class HingeRange:
    """The session's range of hinge (deg; None when no rep measured it) and how it was measured."""

    value: float | None
    measure: str  # "median peak hip flexion" or "median peak pelvis tilt"

    @property
    def label(self) -> str:
        """``range of hinge (median peak ...)``."""
        return f"range of hinge ({self.measure})"


def hinge_range(a: Analysis, stored: float | None) -> HingeRange:
    """The range of hinge: for a camera the median over the complete reps of each rep's
    peak hip flexion (trunk against thigh, deg); for IMUs ``stored``, the store's median
    peak pelvis tilt."""
    if not is_camera(a):
        return HingeRange(stored, "median peak pelvis tilt")
    return HingeRange(camera_hinge_deg(a), "median peak hip flexion")


def camera_hinge_deg(a: Analysis) -> float | None:
    """Median over the complete reps of each rep's peak hip flexion (deg); None without
    hip flexion or complete reps."""
    return median_peak_hip_flexion(a.angles, a.reps)


def rep_peak(a: Analysis, channel: str, rep: RepMetrics) -> float | None:
    """The largest finite value of ``channel`` in the rep (deg), or None when the channel
    is absent or never measured in the rep."""
    return series_rep_peak(a.angles, channel, rep)


def person_share(landmarks: TimeSeries | None, window_s: Sequence[float] | None) -> float | None:
    """How tall the standing person appears: the median over the frames of the standing
    window (s) of the nose-to-lowest-foot-point span over the image height (0-1), from a
    camera session's stored landmarks; None without landmarks, image height or standing frames."""
    if landmarks is None or not landmarks.meta.get("image_height") or not window_s or len(window_s) != 2:
        return None
    t = landmarks.time_s
    inside = (t >= window_s[0]) & (t <= window_s[1])
    feet = [landmarks[n][inside, 1] for n in FEET if n in landmarks.data]
    if not inside.any() or not feet or "nose" not in landmarks.data:
        return None
    with np.errstate(all="ignore"):
        span = np.nanmax(np.column_stack(feet), axis=1) - landmarks["nose"][inside, 1]
    span = span[np.isfinite(span)]
    return float(np.median(span)) / float(landmarks.meta["image_height"]) if span.size else None


def source_sentence(a: Analysis, settings: Mapping[str, Any], verdict: Mapping[str, Any] | None,
                    share: float | None = None) -> str:
    """One sentence on what recorded the session: for a camera its view (and the side
    turned to it), how tall the standing person appears in the frame (``share``, 0-1,
    nose to feet), frames, frame size and rate, and pose model; for IMUs where the upper
    sensor sat (empty when unknown)."""
    info = a.info
    if not is_camera(a):
        return f"Upper sensor at {info['placement']}." if info.get("placement") else ""
    view = (verdict or {}).get("view", {})
    parts = []
    if view.get("view"):
        ratio = view.get("side_ratio")
        parts.append(f"{view['view']} view" + (f" (shoulder and hip separation {ratio:.2f} of the trunk "
                                               "length; 0 is exactly side-on)" if ratio is not None else ""))
    if info.get("side_facing_camera"):
        parts.append(f"the person's {info['side_facing_camera']} side to the camera")
    if share is not None:
        parts.append(f"standing, nose to feet about {100 * share:.0f} % of the frame height")
    frames = f"{info['frames_used']} of {info['frames']} frames used" if "frames" in info else ""
    video = info.get("video") or {}
    size = f"{video['width']}×{video['height']} px, " if video.get("width") else ""
    rate = f"{info['sample_rate_hz']:.0f} frames/s" if info.get("sample_rate_hz") else ""
    parts.append(", ".join(p for p in (f"{size}{rate}", frames) if p))
    model = (settings.get("camera") or {}).get("pose_model")
    if model:
        parts.append(f"pose model BlazePose {model}")
    fmt = str(info.get("format") or "")
    what = f"live {fmt.removeprefix('live-')}" if fmt.startswith("live-") else (
        WEBCAM_FORMAT if fmt == WEBCAM_FORMAT else "video")
    return f"Camera session ({what}): " + "; ".join(p for p in parts if p) + "."
