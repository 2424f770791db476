"""What an analysis says about the recording it read: ``RecordingInfo``.

One typed record for the IMU and the camera paths; ``to_json()`` gives the ``recording``
object of ``hingecoach analyze --json`` (and ``Analysis.info``), keys in a fixed order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hingecoach.core.vocabulary import PLACEMENTS


@dataclass(frozen=True)
class CameraInfo:
    """What the pose stage found in a video: frames read and used, which side of the
    person faces the camera and which way they face, the first frame's time (s) and the
    camera channels with their descriptions."""

    frames: int
    frames_used: int
    side_facing_camera: str
    facing: str  # "left" or "right" in the image
    first_frame_s: float
    channels: Mapping[str, str]


@dataclass(frozen=True)
class RecordingInfo:
    """The recording behind an analysis.

    ``duration_s``, ``sample_rate_hz`` (Hz, the median rate) and the calibration window (s)
    are kept unrounded and rounded to 3 decimals by ``to_json``. ``fusion`` is set for IMU
    recordings (``6axis``/``9axis``), ``camera`` for videos; ``extra`` holds further facts
    (a video file's container: ``{"video": {...}}``) that go last in the JSON.
    """

    source: str
    format: str | None
    placement: str
    samples: int
    duration_s: float
    sample_rate_hz: float
    calibration_window_s: tuple[float, float]
    calibration_source: str
    exercise: str
    fusion: str | None = None
    camera: CameraInfo | None = None
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def placement_meaning(self) -> str:
        """What the angle spans at this placement (``PLACEMENTS``)."""
        return PLACEMENTS[self.placement]

    def to_json(self) -> dict[str, Any]:
        """The ``recording`` object of the analysis JSON (a new dict each call)."""
        d: dict[str, Any] = {
            "source": self.source,
            "format": self.format,
            "placement": self.placement,
            "placement_meaning": self.placement_meaning,
            "samples": self.samples,
            "duration_s": round(self.duration_s, 3),
            "sample_rate_hz": round(self.sample_rate_hz, 3),
            "calibration_window_s": [round(x, 3) for x in self.calibration_window_s],
            "calibration_source": self.calibration_source,
            "exercise": self.exercise,
        }
        if self.fusion is not None:
            d["fusion"] = self.fusion
        if self.camera is not None:
            c = self.camera
            d.update(frames=c.frames, frames_used=c.frames_used, side_facing_camera=c.side_facing_camera,
                     facing=c.facing, first_frame_s=round(c.first_frame_s, 3), channels=dict(c.channels))
        d["notes"] = list(self.notes)
        d.update(self.extra)
        return d
