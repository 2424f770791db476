"""The live camera's frame-rate policy and hand-over: faster cameras are decimated on
purpose (counted), frames are dropped only when processing falls behind (counted), and
the people check runs beside the pose model. Deterministic: no wall-clock pacing."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from hingecoach.live import LiveSession
from hingecoach.live.frames import FrameFeed, FrameRate
from hingecoach.live.people import PeopleWatch
from hingecoach.pose.camera import CameraSettings
from live_helpers import settings

# the simulator's silhouette has no lumbar hollow for the shape rule: the bow rule judges
SIM_CAMERA = CameraSettings(rounding_rule="bow")


def _kept(fps: float, n: int, max_fps: float | None = 30.0) -> list[int]:
    rate = FrameRate(max_fps)
    return [i for i in range(n) if rate.keep(i / fps)]


@pytest.mark.parametrize(("fps", "step"), [(60.0, 2), (59.94, 2), (120.0, 4), (50.0, 2), (30.0, 1), (25.0, 1)])
def test_frame_rate_keeps_every_nth_frame_once_the_rate_is_known(fps, step):
    kept = _kept(fps, 300)
    # the first 5 frames set the rate; from there every step-th frame goes through
    assert kept[:5] == [0, 1, 2, 3, 4]
    assert np.all(np.diff(kept[5:]) == step)


def test_frame_rate_without_a_limit_keeps_every_frame():
    assert _kept(60.0, 100, None) == list(range(100))


def test_a_jittery_30_fps_camera_loses_no_frame_to_decimation():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.normal(1 / 30, 0.004, 600))
    rate = FrameRate(30.0)
    assert all(rate.keep(float(x)) for x in t)


def _frames(n: int, fps: float):
    return [(i, i / fps, np.zeros((2, 2, 3), np.uint8)) for i in range(n)]


def test_feed_drops_the_oldest_frames_only_when_the_queue_is_full():
    # nothing is taken while the reader hands over 20 frames at 60 fps: the policy
    # decimates 8 of them on purpose (5, 7, ... 19), the queue keeps the 3 newest of the
    # others and counts the rest as dropped
    feed = FrameFeed(_frames(20, 60.0), FrameRate(30.0), queue_size=3).start()
    feed._thread.join(5)
    got = []
    while True:
        try:
            item = feed.get(0.01)
        except StopIteration:
            break
        assert item is not None
        got.append(item[0])
    feed.close()
    assert feed.counts.handed == 20
    assert feed.counts.decimated == 8
    assert got == [14, 16, 18]
    assert feed.counts.dropped == 20 - 8 - 3


def test_feed_with_room_drops_nothing_and_passes_the_readers_error():
    def frames():
        yield from _frames(10, 30.0)
        raise OSError("camera unplugged")

    feed = FrameFeed(frames(), FrameRate(30.0), queue_size=10).start()
    got = []
    with pytest.raises(OSError, match="unplugged"):
        while True:
            item = feed.get(1.0)
            if item is not None:
                got.append(item[0])
    feed.close()
    assert got == list(range(10)) and feed.counts.dropped == 0 and feed.counts.decimated == 0


def test_feed_stops_reading_when_closed():
    stop = threading.Event()

    def endless():
        i = 0
        while True:
            yield i, i / 30.0, np.zeros((2, 2, 3), np.uint8)
            i += 1

    feed = FrameFeed(endless(), FrameRate(30.0), speed=1.0, stop=stop).start()
    assert feed.get(2.0) is not None
    feed.close()
    assert not feed._thread.is_alive()


class _ById:
    """A pose model that looks each frame's pose up by the frame's array (so it stays
    aligned when frames are left out)."""

    def __init__(self, frames, poses):
        self._poses = {id(rgb): p for (_, _, rgb), p in zip(frames, poses, strict=True)}
        self.calls = 0

    def process(self, rgb):
        self.calls += 1
        return self._poses[id(rgb)]

    def close(self):
        pass


def test_a_60_fps_camera_is_decimated_to_30_and_cues_as_a_30_fps_one():
    from hingecoach.testing.camera_sim import simulate_frames

    pats = ["good", "rounded", "good", "rounded"]
    runs = {}
    for fps in (30.0, 60.0):
        sim = list(simulate_frames(pats, fps=fps))
        frames = [(i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, _, _ in sim]
        model = _ById(frames, [f for *_, f in sim])
        s = LiveSession("webcam:0", settings(camera=SIM_CAMERA), frames=frames, pose_model=model).run()
        runs[fps] = (s, len(frames), model.calls)
    s30, n30, calls30 = runs[30.0]
    s60, n60, calls60 = runs[60.0]
    f30, f60 = s30.stats["frames"], s60.stats["frames"]
    assert f30["handed"] == n30 and f30["decimated"] == 0 and f30["frames"] == n30 == calls30
    assert f60["handed"] == n60 and f60["dropped_behind"] == 0
    assert f60["frames"] == calls60 == n60 - f60["decimated"]
    assert f60["decimated"] == (n60 - 4) // 2  # frames 5, 7, ...: every 2nd once the rate is known
    assert [m.faults for m in s60.reps] == [m.faults for m in s30.reps] == [
        (), ("lumbar_rounding",), (), ("lumbar_rounding",)]
    for s in (s30, s60):
        lumbar = [c for c in s.cues if c.fault == "lumbar_rounding"]
        assert len(lumbar) == 2
        assert all(any(m.start_s <= c.sample_time_s <= m.end_s for m in s.reps if m.faults) for c in lumbar)
    for a, b in zip(s30.reps, s60.reps, strict=True):
        assert b.start_s == pytest.approx(a.start_s, abs=0.1) and b.end_s == pytest.approx(a.end_s, abs=0.1)


def test_people_watch_marks_the_frame_after_its_check():
    from hingecoach.core.pose_types import PoseFrame

    seen = []

    def count(rgb, mask):
        seen.append(int(rgb[0, 0, 0]))
        return 1

    watch = PeopleWatch(count, every=3)
    pose = PoseFrame(xy=np.zeros((33, 2)), z=np.zeros(33), visibility=np.ones(33),
                     mask=np.ones((2, 2), np.float32), width=2, height=2)
    marked = []
    for i in range(7):
        out = watch.mark(np.full((2, 2, 3), i, np.uint8), pose)
        marked.append(out.other_people)
        watch.settle()
    watch.close()
    # checks start on frames 0, 3 and 6; each answer marks the next frame
    assert seen == [0, 3, 6]
    assert marked == [None, 1, None, None, 1, None, None]
