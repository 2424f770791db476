"""Decoding ahead on a thread of its own (``sources.video.read_ahead``): the frames in
order, an error where it happened, and a consumer that stops early stops the decoding."""

import threading
import time

import pytest

from hingecoach.core.errors import InputError
from hingecoach.sources.video import read_ahead


def _decoding_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "hingecoach-decode"]


def test_frames_come_in_order_however_uneven_the_decoding():
    def uneven():
        for k in range(60):
            if k % 7 == 0:
                time.sleep(0.003)
            yield k

    got = []
    for k in read_ahead(uneven(), depth=3):
        if k % 5 == 0:
            time.sleep(0.002)  # the consumer slower now and then: the queue fills
        got.append(k)
    assert got == list(range(60))
    assert not _decoding_threads()


def test_an_error_in_the_decoding_is_raised_after_the_frames_before_it():
    def damaged():
        yield from range(5)
        raise InputError("clip.mp4", "a time stamp on every frame", "none on frame 5")

    got = []
    with pytest.raises(InputError, match="none on frame 5"):
        for k in read_ahead(damaged()):
            got.append(k)
    assert got == [0, 1, 2, 3, 4]
    assert not _decoding_threads()


def test_a_consumer_that_stops_early_stops_the_decoding_and_closes_the_file():
    state = {"made": 0, "closed": False}

    def endless():
        try:
            while True:
                state["made"] += 1
                yield state["made"]
        finally:
            state["closed"] = True  # VideoReader closes its container here

    frames = read_ahead(endless(), depth=2)
    with pytest.raises(RuntimeError, match="stopped"):
        for k in frames:
            if k == 10:
                raise RuntimeError("stopped by the consumer (an error, Ctrl-C)")
    frames.close()  # what the garbage collector does to the abandoned loop at once
    assert state["closed"] is True
    assert state["made"] <= 10 + 2 + 2  # never more than the queue's depth ahead
    assert not _decoding_threads()
