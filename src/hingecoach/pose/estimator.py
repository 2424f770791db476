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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from hingecoach.core.errors import HingecoachError
from hingecoach.core.extras import require
from hingecoach.core.pose_types import N_LANDMARKS, PoseFrame
from hingecoach.pose.lifter import (
    CHOOSE_CHECKS,
    LifterCrop,
    Person,
    body_length,
    choose_lifter,
    landmark_box,
    same_person,
    with_movement,
)

#: ``--pose-model`` names -> MediaPipe's model_complexity.
POSE_MODELS = {"lite": 0, "full": 1, "heavy": 2}
#: The people check's interval in time: 15 frames at 30 frames/s, the rate the lifter crop
#: was built and measured at (benchmarks/camera_lifter.py); a 60 frames/s clip is checked
#: every 30 frames, not twice as often for the same movement (``BlazePose.set_frame_rate``).
PEOPLE_CHECK_S = 0.5
#: Checks at the next frame in a row when a fresh track in the lifter's crop finds someone
#: else (each one more search and a fresh track; after these, the next regular check).
MAX_RECHECKS = 2


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


def _box_slices(box: tuple[float, float, float, float], origin: tuple[int, int], shape: tuple[int, ...]
                ) -> tuple[slice, slice]:
    """The rows and columns of ``box`` (frame pixels), 10 % wider each way, in an image of
    ``shape`` placed at ``origin`` of the frame (a crop; (0, 0): the frame itself)."""
    bx0, by0, bx1, by1 = box
    gx, gy = 0.1 * (bx1 - bx0), 0.1 * (by1 - by0)
    h, w = shape[:2]
    xs = slice(max(0, int(bx0 - gx) - origin[0]), max(0, min(w, int(bx1 + gx) + 1 - origin[0])))
    ys = slice(max(0, int(by0 - gy) - origin[1]), max(0, min(h, int(by1 + gy) + 1 - origin[1])))
    return ys, xs


def _blank_others(image: np.ndarray, origin: tuple[int, int], others: list[tuple[float, float, float, float]],
                  keep: tuple[float, float, float, float] | None) -> np.ndarray:
    """A copy of ``image`` (a crop at ``origin`` of the frame) with the ``others``' boxes
    (frame pixels, 10 % wider each way) blacked out, except within the lifter's box
    ``keep`` (10 % wider), which stays whole where a box overlaps it."""
    out = image.copy()
    for b in others:
        out[_box_slices(b, origin, image.shape[:2])] = 0
    if keep is not None:
        k = _box_slices(keep, origin, image.shape[:2])
        out[k] = image[k]
    return out


class BlazePose:
    """``mediapipe.solutions.pose.Pose`` in video mode (landmarks tracked across frames,
    with MediaPipe's own landmark smoothing), segmentation on; ``model`` is lite, full or
    heavy (``POSE_MODELS``).

    Pose tracks one person and its mask shows only that person, so every
    ``people_check_every`` frames (every PEOPLE_CHECK_S of video once ``set_frame_rate``
    is called) MediaPipe's selfie segmentation (general model, all people, bundled too;
    ~10 ms) counts the others: ``PoseFrame.other_people``; 0: never (the live camera runs
    that check on a thread of its own, ``live.people``). At the same frames, with
    ``follow_lifter`` (on for files, ``analysis``; off by default, so a live camera does
    not pay the search's extra pose run per check unless it asks), the pose model in
    single image mode looks for another person on the frame with the tracked one blanked
    out, on a thread of its own while the tracking runs; when there is one, the pose model
    is given a crop that follows the lifter from the next frame on (``pose.lifter``):
    another person in the background or walking through cannot take the pose over."""

    def __init__(self, *, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, people_check_every: int = 15,
                 model: str = "full", follow_lifter: bool = False) -> None:
        mp = import_mediapipe()
        self._mp = mp
        self._complexity = require_pose_model(model)
        self._confidence = (min_detection_confidence, min_tracking_confidence)
        self.model = model
        self.follow_lifter = follow_lifter
        self._started = False
        with quiet_stderr():
            self._pose = self._new_pose()
            self._people = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) \
                if people_check_every > 0 else None
        self._every = max(0, people_check_every)
        self._n = 0
        self.crop: LifterCrop | None = None
        self._finder: Any = None  # the pose model in single image mode, for other people
        self._search: ThreadPoolExecutor | None = None  # the thread _finder runs on
        self._seen: list[Person] = []  # the people at the previous check
        self._checks = 0
        self._wrong = False  # the last pose was someone else's
        self._fresh = False  # the pose graph was restarted and has not found anyone since
        self._recheck = False  # check at the next frame: a fresh track found someone else
        self._rechecks = 0  # such checks since the lifter's pose was last found
        self._blank: list[tuple[float, float, float, float]] = []  # others' boxes, out of a fresh track's input
        self._wrong_checks = 0  # checks in a row that found the pose on someone else
        self._lost_checks = 0  # checks in a row with no pose in the crop
        self._anchor: tuple[float, float, float, float] | None = None  # the lifter's box at the last check
        self._last_box: tuple[float, float, float, float] | None = None  # the tracked person's
        self._last_xy: np.ndarray | None = None
        self._last_mask: np.ndarray | None = None  # the tracked person's mask, full frame

    def set_frame_rate(self, fps: float) -> None:
        """Check for other people every PEOPLE_CHECK_S of video at ``fps`` frames/s (when
        the check is on); before this, every ``people_check_every`` frames."""
        if self._every > 0 and np.isfinite(fps) and fps > 0:
            self._every = max(1, round(PEOPLE_CHECK_S * fps))

    def _new_pose(self) -> Any:
        return self._mp.solutions.pose.Pose(
            static_image_mode=False, model_complexity=self._complexity, smooth_landmarks=True,
            enable_segmentation=True, smooth_segmentation=True,
            min_detection_confidence=self._confidence[0], min_tracking_confidence=self._confidence[1])

    def _restart_pose(self, lifter: Person | None = None, people: list[Person] | None = None) -> None:
        """Track afresh: a new video-mode pose graph in place of the current one. With the
        ``lifter`` chosen among ``people``: until the fresh track finds someone, the others'
        boxes are blanked out of its input, so its fresh detection can only find the lifter."""
        self._fresh = True
        self._blank = [p.box for p in people or [] if lifter is not None and p.box != lifter.box]
        self._pose.close()
        with quiet_stderr():
            self._pose = self._new_pose()

    def _others(self, rgb: np.ndarray, last_box: tuple[float, float, float, float] | None,
                last_mask: np.ndarray | None) -> list[Person]:
        """Another person than the tracked one: the pose model (single image mode) on the
        frame with the tracked person's box (``last_box``, the previous frame's) and outline
        (``last_mask``) blanked out. Runs on the search thread: it reads only its arguments
        and the finder graph, which nothing else uses."""
        if self._finder is None:
            with quiet_stderr():
                self._finder = self._mp.solutions.pose.Pose(
                    static_image_mode=True, model_complexity=self._complexity,
                    min_detection_confidence=self._confidence[0])
        image = rgb
        h, w = rgb.shape[:2]
        if last_box is not None:
            image = rgb.copy()
            image[_box_slices(last_box, (0, 0), (h, w))] = 0
            if last_mask is not None and last_mask.shape == (h, w):
                image[last_mask > 0.2] = 0  # and their whole outline (hair, a weight, a loose limb)
        r = self._finder.process(image)
        if r.pose_landmarks is None:
            return []
        lm = np.array([(p.x, p.y, p.visibility) for p in r.pose_landmarks.landmark])
        # a person is someone whose shoulders and hips are seen (visibility 0.5, as
        # CameraSettings.min_visibility): not a shape the model half-matches in a blank
        if float(np.mean(lm[[11, 12, 23, 24], 2])) < 0.5:
            return []
        xy = lm[:, :2] * (w, h)
        found = Person(landmark_box(xy, lm[:, 2]), xy)
        if last_box is not None and same_person(found.box, last_box):
            return []  # a part of the tracked person outside the blanked box
        return [found]

    def _follow(self, others: list[Person], blanked: bool, w: int, h: int) -> None:
        """After a check's frame: ``others``, the people the search found on it besides the
        tracked one (``blanked``: the tracked person was blanked out for the search; when
        nobody was tracked yet, what it found may be the tracked person, who is then not
        added again); when there are others, choose the lifter and crop the pose model's
        input to them (``pose.lifter``) from the next frame on."""
        if self.crop is None or (self.crop.width, self.crop.height) != (w, h):
            self.crop = LifterCrop(w, h)
        people = list(others)
        if blanked and self._last_box is not None and self._last_xy is not None:
            people.insert(0, Person(self._last_box, self._last_xy))
        people = with_movement(people, self._seen)
        self._seen = people
        self._checks += 1
        if not self._wrong:  # the lifter's place at this check: the pose must not drift off it
            self._anchor = self._last_box if self._last_box is not None else self._anchor
        if self.crop.engaged and self._last_box is None and not self._wrong:
            self._lost_checks += 1
            if self._lost_checks >= 2:  # the lifter lost for two checks: choose again
                self.crop.lifter = self._anchor = None
                self._checks = 1
                self._lost_checks = 0
        else:
            self._lost_checks = 0
        if self._wrong and self.crop.engaged:  # the model took someone else: back to the lifter
            self._wrong = False
            back = choose_lifter(people[1:], w, h, self.crop.lifter)  # another than the one tracked
            if back is not None:
                self._wrong_checks = 0
                self.crop.engage(back.box, body_length(back.xy))
                self._anchor = back.box
            else:
                self._wrong_checks += 1
                if self._wrong_checks >= 2:  # nobody where the lifter was (a cut): choose again
                    self.crop.lifter = self._anchor = None
                    self._checks = 1
                    self._wrong_checks = 0
            self._restart_pose(back, people)
            return
        if len(people) < 2 and (not self.crop.engaged or self._last_box is not None):
            return
        # after the first checks the lifter is whoever was followed (tracked) so far
        last = self.crop.lifter if self._checks > CHOOSE_CHECKS else None
        lifter = choose_lifter(people, w, h, last)
        if lifter is None:
            return
        tracked = self._last_box is not None and lifter.box == self._last_box
        if self.crop.engaged and tracked and not self._wrong:
            return
        resized = self.crop.engage(lifter.box, body_length(lifter.xy))
        self._anchor = lifter.box
        if resized or not tracked or self._wrong:  # a new input, or another person: track afresh in the crop
            self._restart_pose(lifter, people)

    def process(self, rgb: np.ndarray) -> PoseFrame | None:
        """One RGB frame -> the lifter's pose in frame pixels (None when no person).

        At a check with ``follow_lifter`` the search for other people runs on a thread of
        its own while the pose model tracks the frame (two MediaPipe graphs, each releasing
        the GIL: the search costs next to no time on a second core); what it finds is
        acted on once the frame is tracked, so a new crop or a fresh track starts with the
        next frame."""
        h, w = rgb.shape[:2]
        # the second frame too: the tracked person is known then, so another can be looked for
        # and at once when a fresh track in the lifter's crop found someone else (whom the
        # search then blanks out), rather than half a second later: at most twice in a row
        check = self._every > 0 and (self._n % self._every == 0 or self._n == 1 or self._recheck)
        self._recheck = False
        self._n += 1
        search = None
        blanked = self._last_box is not None
        if check and self.follow_lifter:
            if self._search is None:
                self._search = ThreadPoolExecutor(1, thread_name_prefix="hingecoach-people")
            search = self._search.submit(self._others, rgb, self._last_box, self._last_mask)
        try:
            pose, seen_by_mask = self._track(rgb, check)
        finally:
            found = search.result() if search is not None else None
        if found is not None:
            self._follow(found, blanked, w, h)
        if pose is not None and seen_by_mask is not None:
            others = seen_by_mask
            if self.follow_lifter:  # the pose model's own search sees people the segmentation misses
                others = max(others, len(self._seen) - 1)
            pose = replace(pose, other_people=others)
        return pose

    def _track(self, rgb: np.ndarray, check: bool) -> tuple[PoseFrame | None, int | None]:
        """The pose model on one frame (in the lifter's crop when engaged): the pose, and
        at a check the other people the all-people segmentation counts."""
        h, w = rgb.shape[:2]
        box = self.crop.box if self.crop is not None and self.crop.engaged else None
        x0, y0, x1, y1 = box if box is not None else (0, 0, w, h)
        image = rgb if box is None else np.ascontiguousarray(rgb[y0:y1, x0:x1])
        if self._fresh and self._blank and box is not None:
            image = _blank_others(image, (x0, y0), self._blank, self._anchor)
        if not self._started:  # the first frame starts the graph and its notes
            with quiet_stderr():
                r = self._pose.process(image)
            self._started = True
        else:
            r = self._pose.process(image)
        if r.pose_landmarks is None:
            self._last_box = self._last_xy = self._last_mask = None
            return None, None
        lm = np.array([(p.x, p.y, p.z, p.visibility) for p in r.pose_landmarks.landmark])
        if lm.shape[0] != N_LANDMARKS:
            return None, None
        cw, ch = x1 - x0, y1 - y0
        xy = np.asarray(lm[:, :2] * (cw, ch) + (x0, y0), dtype=np.float64)
        mask = None
        if r.segmentation_mask is not None:
            mask = np.asarray(r.segmentation_mask, dtype=np.float32)
            if box is not None:
                full = np.zeros((h, w), np.float32)
                full[y0:y1, x0:x1] = mask
                mask = full
        others = None
        if mask is not None and check and self._people is not None:
            others = count_others(self._people.process(rgb).segmentation_mask, mask)
        box_now = landmark_box(xy, lm[:, 3])
        if self.crop is not None and self.crop.engaged and self._checks > CHOOSE_CHECKS \
                and not same_person(box_now, self._anchor):
            self._wrong = True  # someone else (walking through): not the lifter's pose, but
            self._last_box, self._last_xy, self._last_mask = box_now, xy, mask  # blanked at the check
            if self._fresh and self.follow_lifter and self._rechecks < MAX_RECHECKS:
                self._recheck = True
                self._rechecks += 1
            self._fresh = False
            self._blank = []
            return None, None
        self._wrong = False
        self._fresh = False
        self._blank = []
        self._rechecks = 0
        self._wrong_checks = 0
        self._last_box, self._last_xy, self._last_mask = box_now, xy, mask
        if self.crop is not None:
            self.crop.follow(self._last_box)
        # MediaPipe's z is scaled like x, by the width of the image it was given
        return PoseFrame(xy=xy, z=lm[:, 2] * (cw / w), visibility=lm[:, 3], mask=mask,
                         width=w, height=h, other_people=others), others

    def close(self) -> None:
        """Release the MediaPipe graphs (and the search thread)."""
        if self._search is not None:
            self._search.shutdown(wait=True)
            self._search = None
        self._pose.close()
        if self._people is not None:
            self._people.close()
        if self._finder is not None:
            self._finder.close()
