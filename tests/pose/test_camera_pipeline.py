"""The camera pipeline's threads: each pose is measured on a thread of its own, in frame
order, with the same result as measuring in line; an error there reaches the caller and
stops the pose model within the queue's length."""

import random
import threading
import time

import numpy as np
import pytest

import hingecoach.pose.camera as C
from hingecoach.pose.camera import CameraMeasurer, video_angles

pytestmark = pytest.mark.camera


@pytest.fixture(scope="module")
def frames():
    pytest.importorskip("cv2")
    from hingecoach.testing.camera_sim import simulate_frames

    return list(simulate_frames(["good", "rounded"]))


class CountingModel:
    def __init__(self, poses):
        self.poses, self.asked = list(poses), 0

    def process(self, rgb):
        self.asked += 1
        return self.poses[self.asked - 1]

    def close(self):
        pass


def _angles(frames, model):
    return video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames), model,
                        source="sim.mp4")


def test_poses_measured_on_their_own_thread_come_out_in_order_and_as_in_line(frames, monkeypatch):
    inline = _angles(frames, CountingModel(f for *_, f in frames))
    measure = CameraMeasurer.measure
    rng = random.Random(0)
    threads = set()

    def uneven(self, index, t, pose):  # some frames take long to measure, most do not
        threads.add(threading.current_thread().name)
        if rng.random() < 0.2:
            time.sleep(0.004)
        return measure(self, index, t, pose)

    monkeypatch.setattr(CameraMeasurer, "measure", uneven)
    threaded = _angles(frames, CountingModel(f for *_, f in frames))
    assert threads and all(n.startswith("hingecoach-measure") for n in threads)
    assert [m.index for m in threaded.frames] == [m.index for m in inline.frames]
    assert [m.index for m in threaded.frames] == sorted(m.index for m in threaded.frames)
    for k in inline.angles.channels:
        assert np.array_equal(threaded.angles[k], inline.angles[k], equal_nan=True), k


def test_an_error_in_the_measuring_reaches_the_caller_and_stops_the_model(frames, monkeypatch):
    measure = CameraMeasurer.measure

    def broken(self, index, t, pose):
        if index == 40:
            raise ValueError("the outline could not be measured")
        return measure(self, index, t, pose)

    monkeypatch.setattr(CameraMeasurer, "measure", broken)
    model = CountingModel(f for *_, f in frames)
    with pytest.raises(ValueError, match="could not be measured"):
        _angles(frames, model)
    assert 40 < model.asked <= 41 + C.MEASURE_QUEUE + 1  # not the rest of the clip
    assert not [t for t in threading.enumerate() if t.name.startswith("hingecoach-measure")]
