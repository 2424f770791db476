"""The shared vocabulary, the JSON number helpers, notices and RecordingInfo."""

import json
import math

import numpy as np
import pytest

from hingecoach.core.errors import ParameterError
from hingecoach.core.notices import Notice, texts
from hingecoach.core.numbers import finite_or_none, round_or_none
from hingecoach.core.recording import CameraInfo, RecordingInfo
from hingecoach.core.vocabulary import (
    EXERCISES,
    IMU_PLACEMENTS,
    INPUT_FORMATS,
    PLACEMENTS,
    SETTING_NAMES,
    Exercise,
    fusion_name,
    live_format,
    normalise_placement,
)


def test_the_vocabulary_lists_what_the_package_accepts():
    assert EXERCISES == ("hinge", "deadlift", "swing") and Exercise.swing == "swing"
    assert INPUT_FORMATS == ("auto", "hingecoach", "spinewise", "qsense", "movella", "movesense", "metamotion",
                             "phyphox", "sensorlogger", "video")
    from hingecoach.sources.detect import FORMATS

    assert {*FORMATS, "video"} == set(INPUT_FORMATS)  # every --format choice has a reader (video: the camera)
    assert IMU_PLACEMENTS == ("L1", "T12", "T8", "neck") and set(PLACEMENTS) == {*IMU_PLACEMENTS, "camera"}
    assert SETTING_NAMES == ("placement", "exercise", "share_of_max", "lumbar_rounding_deg", "too_fast_s")
    assert fusion_name(True) == "9axis" and fusion_name(False) == "6axis" and live_format("udp") == "live-udp"


@pytest.mark.parametrize("spelling,key", [("t12", "T12"), ("L1/T12", "T12"), (" c7 ", "neck"), ("l1", "L1"),
                                          ("T8", "T8")])
def test_placement_spellings(spelling, key):
    assert normalise_placement(spelling) == key


def test_an_unknown_placement_names_the_choices():
    with pytest.raises(ParameterError, match="placement: expected one of L1, T12, T8, neck, found 'knee'"):
        normalise_placement("knee")


def test_round_or_none():
    assert round_or_none(1.23456, 3) == 1.235 and round_or_none(np.float64(2.5), 0) == 2.0
    assert round_or_none(7, None) == 7.0 and type(round_or_none(np.float32(1.5))) is float
    assert [round_or_none(x, 2) for x in (None, math.nan, math.inf, -math.inf)] == [None] * 4


def test_finite_or_none_at_any_depth():
    doc = {"a": math.nan, "b": [1.0, math.inf, {"c": -math.inf, "d": "x"}], "e": (2, math.nan), 3: None}
    assert finite_or_none(doc) == {"a": None, "b": [1.0, None, {"c": None, "d": "x"}], "e": [2, None], 3: None}
    json.dumps(finite_or_none(doc), allow_nan=False)


def test_a_notice_keeps_its_code_apart_from_its_text():
    n = Notice("no_clear_bend", "walk.csv: no clear forward bend")
    assert str(n) == n.text and texts([n, Notice("x", "y")]) == ["walk.csv: no clear forward bend", "y"]


def _info(**kw):
    base = dict(source="a.csv", format="hingecoach-csv", placement="T8", samples=10, duration_s=1.23456,
                sample_rate_hz=99.99951, calibration_window_s=(0.00049, 2.0004), calibration_source="still start",
                exercise="hinge")
    return RecordingInfo(**{**base, **kw})


def test_recording_info_json_for_an_imu_recording():
    d = _info(fusion="6axis", notes=("n",)).to_json()
    assert list(d) == ["source", "format", "placement", "placement_meaning", "samples", "duration_s",
                       "sample_rate_hz", "calibration_window_s", "calibration_source", "exercise", "fusion", "notes"]
    assert d["placement_meaning"] == PLACEMENTS["T8"] and d["duration_s"] == 1.235
    assert d["sample_rate_hz"] == 100.0 and d["calibration_window_s"] == [0.0, 2.0] and d["notes"] == ["n"]


def test_recording_info_json_for_a_camera_with_extra_facts_last():
    cam = CameraInfo(frames=90, frames_used=88, side_facing_camera="left", facing="right", first_frame_s=0.03333,
                     channels={"hip_flexion_deg": "trunk against thigh"})
    d = _info(placement="camera", format="video", camera=cam, extra={"video": {"width": 4}}).to_json()
    assert list(d)[10:] == ["frames", "frames_used", "side_facing_camera", "facing", "first_frame_s", "channels",
                            "notes", "video"]
    assert d["first_frame_s"] == 0.033 and d["channels"] == {"hip_flexion_deg": "trunk against thigh"}
    assert "fusion" not in d and d["video"] == {"width": 4}
