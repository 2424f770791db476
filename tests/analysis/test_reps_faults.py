import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hingecoach.analysis import AnalysisSettings, analyze_recording
from hingecoach.angles import compute_angles
from hingecoach.core.timeseries import TimeSeries
from hingecoach.faults import FAULT_IDS, default_thresholds
from hingecoach.reps import RepDetector, RepSettings, detect_reps
from hingecoach.sources.simulator import SimSettings, simulate


def _check(kw, exercise="hinge"):
    rec, _truth, reps = simulate(SimSettings(**kw))
    a = analyze_recording(rec, settings=AnalysisSettings(exercise=exercise))
    assert len(a.reps) == len(reps), [(m.start_s, m.end_s) for m in a.reps]
    for m, r in zip(a.reps, reps, strict=True):
        assert abs(m.bottom_s - r.bottom_s) < 0.6
        assert r.start_s - 0.5 < m.start_s < r.bottom_s
        assert r.bottom_s < m.end_s < r.end_s + 0.5
        for f in r.must_flag:
            assert f in m.faults, (r, m)
        for f in r.must_not_flag:
            assert f not in m.faults, (r, m)
    return a


@pytest.mark.parametrize("seed", range(6))
def test_mixed_reps_found_and_graded(seed):
    _check(dict(pattern="mixed", seed=seed, reps=7, walk_s=5, dropouts=2, clock_jitter=0.2))


@pytest.mark.parametrize("rate", [50.0, 100.0])
def test_swings_one_second_each(rate):
    a = _check(dict(pattern="swing", reps=15, seed=3, sample_rate_hz=rate), exercise="swing")
    assert all("too_fast" not in m.faults for m in a.reps)


def test_too_fast_flagged_for_a_hinge_but_not_for_slow():
    _check(dict(pattern="fast", reps=4, seed=2))
    _check(dict(pattern="slow", reps=3, seed=2, sample_rate_hz=50))


def test_walking_and_standing_make_no_reps():
    rec, _truth, _reps = simulate(SimSettings(pattern="good", reps=0, walk_s=30, seed=4))
    a = analyze_recording(rec)
    assert a.reps == [] and a.incomplete == []


def test_a_descent_that_never_returns_is_not_a_rep():
    rec, _truth, _reps = simulate(SimSettings(pattern="good", reps=3, seed=6, end_incomplete=True))
    a = analyze_recording(rec)
    assert len(a.reps) == 3
    assert len(a.incomplete) == 1 and not a.incomplete[0].complete


def test_live_detector_equals_offline():
    rec, _, _ = simulate(SimSettings(pattern="mixed", reps=6, seed=8, end_incomplete=True))
    ang, _, _ = compute_angles(rec)
    offline = detect_reps(ang)
    det = RepDetector(ang.sample_rate_hz, "T12")
    live = [r for t, x in zip(ang.time_s, ang["trunk_inclination_deg"], strict=True)
            if (r := det.update(float(t), float(x))) is not None]
    live += det.finish()
    assert [(r.index, r.start_i, r.bottom_i, r.end_i, r.complete) for r in live] == \
        [(r.index, r.start_i, r.bottom_i, r.end_i, r.complete) for r in offline]


def _bends(t, start_deg, plateau_deg):
    """Two bends to 80 deg: the first from ``start_deg`` at t=0 (a recording that starts in
    the bend when above the entry level), then a long rest at ``plateau_deg``."""
    x = np.full_like(t, plateau_deg)
    first = t < 2.0
    x[first] = plateau_deg + (start_deg - plateau_deg) * np.cos(np.pi / 4 * t[first]) ** 2
    second = (t > 9.0) & (t < 12.0)
    x[second] = plateau_deg + (80.0 - plateau_deg) * np.sin(np.pi * (t[second] - 9.0) / 3.0) ** 2
    return x


@pytest.mark.parametrize(("start_deg", "plateau_deg"), [(80.0, 5.0), (80.0, 12.0), (10.0, 18.0), (70.0, 0.0)])
def test_live_detector_equals_offline_from_a_bent_start_and_a_long_rest(start_deg, plateau_deg):
    t = np.arange(0.0, 16.0, 0.01)
    x = _bends(t, start_deg, plateau_deg)
    ang = TimeSeries(t, {"trunk_inclination_deg": x}, meta={"placement": "T12"})
    offline = detect_reps(ang)
    det = RepDetector(100.0, "T12")
    live = [r for tt, xx in zip(t, x, strict=True) if (r := det.update(float(tt), float(xx))) is not None]
    live += det.finish()
    assert [(r.start_i, r.bottom_i, r.end_i, r.complete) for r in live] == \
        [(r.start_i, r.bottom_i, r.end_i, r.complete) for r in offline]
    second = offline[-1]
    assert 8.5 < second.start_s < 9.6  # a long rest before the bend is not in the rep
    assert second.complete == (plateau_deg < RepSettings().standing_deg)
    if start_deg > 45.0:  # started in the bend: the first rep rises to standing and ends there
        first = offline[0]
        assert first.start_i == 0 and 0.8 < first.end_s < 2.0


@settings(max_examples=25, deadline=None)
@given(st.floats(-1e4, 1e4, allow_nan=False))
def test_rep_count_invariant_to_time_shift(offset):
    ang = _ANGLES.shift_time(offset)
    reps = detect_reps(ang)
    base = detect_reps(_ANGLES)
    assert [(r.start_i, r.bottom_i, r.end_i) for r in reps] == \
        [(r.start_i, r.bottom_i, r.end_i) for r in base]


_ANGLES: TimeSeries = compute_angles(simulate(SimSettings(pattern="mixed", reps=5, seed=12))[0])[0]


def test_thresholds_follow_placement_and_maximum():
    assert default_thresholds("T12").lumbar_rounding_deg == 20.0
    assert default_thresholds("T8").lumbar_rounding_deg == 30.0
    assert default_thresholds("neck").lumbar_rounding_deg == 40.0
    th = default_thresholds("T12", max_flexion_deg=50.0)
    assert th.lumbar_rounding_deg == pytest.approx(30.0)
    assert "60%" in th.lumbar_rounding_source
    assert default_thresholds("T12", exercise="swing").too_fast_s is None
    assert set(FAULT_IDS) >= {"lumbar_rounding", "top_overextension", "too_fast", "shallow_hinge"}


def test_max_flexion_calibration_sets_the_threshold():
    cal, _, _ = simulate(SimSettings(pattern=["rounded", "rounded"], seed=30))
    rec, _, _reps = simulate(SimSettings(pattern=["good", "rounded"], seed=31))
    a = analyze_recording(rec, calibration=cal)
    assert a.max_flexion_deg is not None and 30 < a.max_flexion_deg < 50
    assert a.thresholds.lumbar_rounding_deg == pytest.approx(0.6 * a.max_flexion_deg)
    assert "60%" in a.thresholds.lumbar_rounding_source


def test_thresholds_for_settings_equal_the_defaults_given_the_same_values():
    from hingecoach.faults import thresholds_for

    st = AnalysisSettings(exercise="swing", share_of_max=0.7, lumbar_rounding_deg=None, too_fast_s=0.5)
    for placement in ("T12", "T8", "neck"):
        assert thresholds_for(placement, st, max_flexion_deg=40.0) == default_thresholds(
            placement, max_flexion_deg=40.0, exercise="swing", share_of_max=0.7, too_fast_s=0.5)
    th = thresholds_for("camera", AnalysisSettings(), camera_rounding_deg=12.0)
    assert th.lumbar_rounding_deg == 12.0 and th.lumbar_rounding_source.startswith("camera:")
    assert thresholds_for("T12", AnalysisSettings(lumbar_rounding_deg=15.0)).lumbar_rounding_source == "set by hand"


def test_every_threshold_names_its_source():
    th = default_thresholds("T12", exercise="swing")
    src = th.sources
    assert src["lumbar_rounding_deg"] == "default for the T12 placement"
    assert src["too_fast_s"] == "off" and src["squat_knee_hip_ratio"] == "off"  # swings; camera-only rule
    assert src["top_overextension_deg"] == "8 deg of lumbar extension at L1/T12"
    assert set(src) == {"lumbar_rounding_deg", "top_overextension_deg", "too_fast_s", "shallow_share",
                        "squat_knee_hip_ratio", "neck_extension_deg"}
