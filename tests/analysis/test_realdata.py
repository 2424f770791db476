"""The real recordings in ../shared/data (skipped when absent)."""

import numpy as np
import pytest

from hingecoach.analysis import AnalysisSettings, analyze_file, analyze_recording
from hingecoach.angles import AngleSettings
from hingecoach.core.errors import InputError
from hingecoach.orientation.calibration import CalibrationSettings
from hingecoach.sources import read_recording

pytestmark = pytest.mark.realdata

# Labels are set by hand; a bend's bottom within this of a label boundary is not held
# against the detector.
LABEL_SLACK_S = 1.0


def _label_at(a, t_s):
    labels = np.asarray(a.angles.meta["labels"])
    t = a.angles.time_s
    sel = (t >= t_s - LABEL_SLACK_S) & (t <= t_s + LABEL_SLACK_S)
    return set(labels[sel])


@pytest.fixture(scope="module")
def spinewise(shared_data):
    d = shared_data / "imu" / "spinewise"
    return analyze_file(d / "movement.csv", calibration=d / "calibration.csv")


def test_spinewise_reader(shared_data):
    rec = read_recording(shared_data / "imu" / "spinewise" / "movement.csv")
    assert rec.meta["format"] == "spinewise" and rec.meta["placement"] == "neck"
    assert rec.sample_rate_hz == pytest.approx(25.0)
    assert rec.meta["calibration_window_s"][1] == pytest.approx(2.96, abs=0.05)
    assert np.median(np.linalg.norm(rec["lower_acc"], axis=1)) == pytest.approx(9.9, abs=0.3)


def test_spinewise_stoop_flagged_squat_not(spinewise):
    a = spinewise
    assert a.max_flexion_deg is not None and 50 < a.max_flexion_deg < 90
    stoop = {"buiging-benen_gestrekt"}
    t = a.angles.time_s
    labels = np.asarray(a.angles.meta["labels"])
    stoop_reps = [m for m in a.reps if labels[np.searchsorted(t, m.bottom_s)] in stoop]
    squat_reps = [m for m in a.reps if "buiging-door_knieen" in _label_at(a, m.bottom_s)]
    # both stoop bouts (rows 1898-2415 and 7742-8163) have reps, all flagged
    assert any(m.bottom_s < 100 for m in stoop_reps) and any(m.bottom_s > 300 for m in stoop_reps)
    assert all("lumbar_rounding" in m.faults for m in stoop_reps)
    assert len(squat_reps) >= 3
    # Bending through the knees keeps the spine far straighter than the stoop: every squat
    # rep peaks at least 30 deg below every stoop rep. With the upper sensor on the neck
    # collar the angle spans the whole spine, and the squat bout's first, deepest rep can
    # reach the 60 %-of-maximum threshold: at most one squat rep may be flagged, and only
    # within 2 deg of the threshold (the best published IMU error is 1.3-1.8 deg RMSE,
    # docs/references.md#imu-accuracy).
    assert max(m.peak_lumbar_flexion_deg for m in squat_reps) < \
        min(m.peak_lumbar_flexion_deg for m in stoop_reps) - 30.0
    flagged = [m for m in squat_reps if "lumbar_rounding" in m.faults]
    assert len(flagged) <= 1
    assert all(m.peak_lumbar_flexion_deg < a.thresholds.lumbar_rounding_deg + 2.0 for m in flagged)
    for m in a.reps:  # no rep while standing or walking
        assert _label_at(a, m.bottom_s) & {"buiging-benen_gestrekt", "buiging-door_knieen"}, m


def test_spinewise_without_calibration_uses_the_neck_default(shared_data):
    a = analyze_file(shared_data / "imu" / "spinewise" / "movement.csv")
    assert a.thresholds.lumbar_rounding_deg == 40.0
    assert sum("lumbar_rounding" in m.faults for m in a.reps) >= 6


def test_trunkyxl_all_trials_read_and_flex(shared_data):
    """These trials start moving at once (no 2 s standing start): the default analysis
    says so in one line; with the stillness test loosened the first half second serves
    as neutral, and Sensor 2 against Sensor 3 must then show a large flexion range in the
    flexion-extension trials."""
    trials = sorted((shared_data / "imu" / "trunkyxl").glob("pp*/QSM_*"))
    assert len(trials) == 9
    loose = AnalysisSettings(angles=AngleSettings(calibration=CalibrationSettings(
        gyro_std_max_rad_s=np.deg2rad(30.0), acc_std_max_m_s2=1.0, min_still_s=0.5)))
    ranges = []
    for d in trials:
        rec = read_recording(d)
        assert rec.meta["format"] == "qsense" and rec.sample_rate_hz == pytest.approx(50.0)
        assert rec.meta["placement"] == "T12"
        a = analyze_recording(rec, settings=loose)
        lum = a.angles["lumbar_flexion_deg"]
        assert np.all(np.isfinite(lum))
        ranges.append(float(np.percentile(lum, 99) - np.percentile(lum, 1)))
    assert max(ranges) > 30, ranges


def test_trunkyxl_without_a_still_start_is_a_clear_error(shared_data):
    d = sorted((shared_data / "imu" / "trunkyxl").glob("pp*/QSM_*"))[0]
    with pytest.raises(InputError, match="standing still"):
        analyze_file(d)
