"""MediaPipe BlazePose behind a small interface (the ``camera`` extra, imported lazily).

``mediapipe==0.10.21`` is the last release whose wheel bundles the BlazePose models
behind the legacy ``mediapipe.solutions.pose`` API, so it runs offline. The wheel bundles
only the full landmark model (``model_complexity=1``); ``make camera`` adds lite (0) and
heavy (2) from the npm package @mediapipe/pose, checksummed (``.ci/pose-models``), into
the same folder, so MediaPipe finds them there and never tries to download them.
Segmentation is on: the virtual dowel needs the person mask.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from hingecoach.core.errors import HingecoachError
from hingecoach.core.extras import require
from hingecoach.core.pose_types import N_LANDMARKS, PoseFrame

#: ``--pose-model`` names -> MediaPipe's model_complexity.
POSE_MODELS = {"lite": 0, "full": 1, "heavy": 2}


def pose_model_path(name: str) -> str:
    """Where MediaPipe looks for the named landmark model (inside the installed package)."""
    mp = import_mediapipe()
    return os.path.join(os.path.dirname(mp.__file__), "modules", "pose_landmark",
                        f"pose_landmark_{name}.tflite")


def require_pose_model(name: str) -> int:
    """The model_complexity of ``name``; a one-line error when its file is not installed
    (MediaPipe would otherwise try to download it)."""
    if name not in POSE_MODELS:
        raise HingecoachError(f"pose model {name!r}: expected one of {', '.join(POSE_MODELS)}")
    path = pose_model_path(name)
    if not os.path.isfile(path):
        raise HingecoachError(f"the BlazePose {name} model is not installed ({path} is missing): "
                              "run `make camera`")
    return POSE_MODELS[name]


class PoseModel(Protocol):
    """Anything that turns an RGB frame into a PoseFrame (tests use fakes)."""

    def process(self, rgb: np.ndarray) -> PoseFrame | None: ...

    def close(self) -> None: ...


def import_mediapipe() -> Any:
    """The mediapipe module (the ``camera`` extra), its C++ logging cut to errors."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging: errors only
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return require("camera", "mediapipe", "camera analysis needs the 'camera' extra")


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence the C++ start-up notes MediaPipe and TFLite print on file descriptor 2
    ("Created TensorFlow Lite XNNPACK delegate", absl warnings) while the graph starts;
    Python's own stderr is flushed first and restored after."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (pytest capture, IDEs)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


#: A second blob in the all-people mask counts as another person when it is at least this
#: share of the tracked person's area and mostly (OTHER_OUTSIDE) outside their mask; one
#: person alone leaves stray blobs under 10 % (a weight, a gap under an arm).
OTHER_MIN_SHARE = 0.4
OTHER_OUTSIDE = 0.8


def count_others(people_mask: np.ndarray, person_mask: np.ndarray) -> int:
    """People in ``people_mask`` (everyone, 0-1) other than the one in ``person_mask``."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats((people_mask > 0.5).astype(np.uint8))
    mine = person_mask > 0.5
    area = max(int(mine.sum()), 1)
    others = 0
    for k in range(1, n):
        blob = labels == k
        size = int(stats[k, cv2.CC_STAT_AREA])
        if size >= OTHER_MIN_SHARE * area and np.count_nonzero(blob & ~mine) >= OTHER_OUTSIDE * size:
            others += 1
    return others


class BlazePose:
    """``mediapipe.solutions.pose.Pose`` in video mode (landmarks tracked across frames,
    with MediaPipe's own landmark smoothing), segmentation on; ``model`` is lite, full or
    heavy (``POSE_MODELS``).

    Pose tracks one person and its mask shows only that person, so every
    ``people_check_every`` frames MediaPipe's selfie segmentation (general model, all
    people, bundled too; ~10 ms) looks for others: ``PoseFrame.other_people``; 0: never
    (the live camera runs that check on a thread of its own, ``live.people``)."""

    def __init__(self, *, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, people_check_every: int = 15,
                 model: str = "full") -> None:
        mp = import_mediapipe()
        complexity = require_pose_model(model)
        self.model = model
        self._started = False
        with quiet_stderr():
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=False, model_complexity=complexity, smooth_landmarks=True,
                enable_segmentation=True, smooth_segmentation=True,
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence)
            self._people = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) \
                if people_check_every > 0 else None
        self._every = max(0, people_check_every)
        self._n = 0

    def process(self, rgb: np.ndarray) -> PoseFrame | None:
        """One RGB frame (H x W x 3 uint8) -> its pose in pixels, or None without a person."""
        h, w = rgb.shape[:2]
        if not self._started:  # the first frame starts the graph and its notes
            with quiet_stderr():
                r = self._pose.process(rgb)
            self._started = True
        else:
            r = self._pose.process(rgb)
        if r.pose_landmarks is None:
            return None
        lm = np.array([(p.x, p.y, p.z, p.visibility) for p in r.pose_landmarks.landmark])
        if lm.shape[0] != N_LANDMARKS:
            return None
        mask = None if r.segmentation_mask is None else np.asarray(r.segmentation_mask, dtype=np.float32)
        others = None
        if mask is not None and self._people is not None and self._n % self._every == 0:
            others = count_others(self._people.process(rgb).segmentation_mask, mask)
        self._n += 1
        xy = np.asarray(lm[:, :2] * (w, h), dtype=np.float64)
        return PoseFrame(xy=xy, z=lm[:, 2], visibility=lm[:, 3], mask=mask,
                         width=w, height=h, other_people=others)

    def close(self) -> None:
        """Release MediaPipe's graphs."""
        self._pose.close()
        if self._people is not None:
            self._people.close()
