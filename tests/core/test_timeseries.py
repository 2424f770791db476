import numpy as np
import pytest

from hingecoach.core.errors import InputError, ParameterError
from hingecoach.core.timeseries import ChannelInfo, Event, TimeSeries


def test_invariants_checked_in_constructor():
    with pytest.raises(ParameterError, match="strictly increasing"):
        TimeSeries([0.0, 1.0, 1.0], {"a": [1, 2, 3]})
    with pytest.raises(ParameterError, match="3 samples"):
        TimeSeries([0.0, 1.0, 2.0], {"a": [1, 2]})
    with pytest.raises(ParameterError, match="finite"):
        TimeSeries([0.0, np.nan], {})
    with pytest.raises(ParameterError, match="existing channels"):
        TimeSeries([0.0, 1.0], {"a": [1, 2]}, info={"b": ChannelInfo("deg")})


def test_operations_return_new_objects():
    ts = TimeSeries(np.arange(5.0), {"a": np.arange(5.0), "v": np.ones((5, 3))},
                    events=[Event("rep", 2.0)])
    sub = ts.slice_time(1.0, 3.0)
    assert list(sub.time_s) == [1.0, 2.0]
    assert sub["v"].shape == (2, 3)
    assert len(sub.events) == 1
    shifted = ts.shift_time(10.0)
    assert shifted.time_s[0] == 10.0 and ts.time_s[0] == 0.0
    assert shifted.events[0].time_s == 12.0
    with pytest.raises(ValueError):
        ts["a"][0] = 5.0  # arrays are read-only
    added = ts.with_channels({"b": np.zeros(5)})
    assert "b" in added and "b" not in ts
    assert ts.sample_rate_hz == pytest.approx(1.0)


def test_missing_channel_error_names_the_choices():
    ts = TimeSeries([0.0, 1.0], {"a": [1, 2]})
    with pytest.raises(ParameterError, match="one of \\['a'\\]"):
        ts["nope"]


def test_input_error_is_one_line():
    e = InputError("walk.csv", "a number", "'abc'", line=12, column="lower_acc_x")
    assert str(e) == "walk.csv, line 12, column 'lower_acc_x': expected a number, found 'abc'"
