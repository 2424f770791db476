"""The two-IMU measurement's error sources, one at a time (simulator ground truth)."""

from __future__ import annotations

import imufusion
import numpy as np
import pytest

from hingecoach.angles import compute_angles
from hingecoach.orientation.calibration import calibration_window, fit_gyro_bias, sensor_calibration
from hingecoach.orientation.fusion import FusionSettings, SensorFusion, _own_acceleration_g
from hingecoach.orientation.sagittal import sagittal_tilt_deg
from hingecoach.sources.simulator import SimSettings, simulate


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_bias_fit_takes_the_sway_out_of_the_bias(seed):
    """Noise-free, no bias: the plain mean of the gyroscope over the still start holds the
    sway (0.1-0.5 deg/s); the fit must come within 0.03 deg/s of zero."""
    rec, _, _ = simulate(SimSettings(seed=seed, pattern="slow", reps=1, noise=False, gyro_bias_dps=0.0))
    window, _ = calibration_window(rec)
    t = rec.time_s
    sel = (t >= window[0]) & (t <= window[1])
    for side in ("lower", "upper"):
        plain = np.rad2deg(np.abs(rec[f"{side}_gyr"][sel].mean(axis=0)))
        fitted = np.rad2deg(np.abs(sensor_calibration(rec, side, window, detected=True).gyro_bias_rad_s))
        assert np.max(fitted) < 0.03, (side, fitted)
        assert np.max(plain) > 3 * np.max(fitted)


def test_the_bias_fit_is_exact_for_a_constant_offset():
    """Adding a constant to every gyroscope sample moves the fitted bias by exactly it
    (the fit is linear), so the angles do not depend on the bias at all."""
    rec, _, _ = simulate(SimSettings(seed=5, pattern="good", reps=1))
    t, g, a = rec.time_s[:300], rec["upper_gyr"][:300], rec["upper_acc"][:300]
    offset = np.array([0.03, -0.02, 0.05])
    assert fit_gyro_bias(t, g + offset, a) - fit_gyro_bias(t, g, a) == pytest.approx(offset, abs=1e-9)


def test_angles_do_not_change_with_the_gyroscope_bias():
    one = compute_angles(simulate(SimSettings(seed=7, pattern="mixed", reps=3, gyro_bias_dps=0.5))[0])[0]
    two = compute_angles(simulate(SimSettings(seed=7, pattern="mixed", reps=3, gyro_bias_dps=3.0))[0])[0]
    for k in ("lumbar_flexion_deg", "pelvis_tilt_deg"):
        assert np.max(np.abs(one[k] - two[k])) < 0.05


def test_the_accelerometer_is_trusted_again_after_the_recovery_time():
    """imufusion 1.3 takes the rejection timeout in seconds: a filter 8 deg off (a
    rejected accelerometer) must be pulled back within a few seconds, not minutes."""
    st = FusionSettings(compensate_lever_arm=False)
    f = SensorFusion(100.0, np.zeros(3), np.array([0.0, np.sin(np.deg2rad(8)), np.cos(np.deg2rad(8))]), st)
    up = np.zeros(3)
    # after the recovery time the accelerometer pulls the filter back with a time constant
    # of about 1/gain seconds: five of them leave under 1 deg (with the timeout read as
    # samples, 500 s here, it would still be 8 deg off)
    for _ in range(int(100 * (st.recovery_trigger_s + 5.0 / st.gain))):
        up = f.update(0.01, np.zeros(3), np.array([0.0, 0.0, 9.81]))
    assert np.rad2deg(np.arccos(np.clip(up[2], -1, 1))) < 1.0


def test_a_few_lost_samples_do_not_trip_the_overrange_restart():
    """0.3 s without samples while turning at 100 deg/s: scaled to one period that would
    read 3000 deg/s (past the range, so Fusion would restart). The step runs with its own
    period: the rotation over the gap is integrated and no start-up is triggered."""
    f = SensorFusion(100.0, np.zeros(3), np.array([0.0, 0.0, 1.0]), FusionSettings(compensate_lever_arm=False))
    rate = np.deg2rad([100.0, 0.0, 0.0])
    acc = np.array([0.0, 0.0, 9.81])
    f.update(0.01, rate, acc)
    f.update(0.3, rate, acc)
    assert not f._ahrs.get_flags().startup
    assert not f._ahrs.get_flags().overrange_recovery
    up = f.update(0.01, rate, acc)
    tilt = np.rad2deg(np.arctan2(-up[1], up[2]))  # up turns by -angle about x
    assert tilt == pytest.approx(-100.0 * 0.32, abs=1.0)


def test_own_acceleration_is_centripetal_plus_tangential():
    """A sensor 0.3 m up the back turning at 2 rad/s about x, speeding up at 5 rad/s^2."""
    r = np.array([0.0, 0.0, 0.3])
    w = np.rad2deg(np.array([[2.0, 0.0, 0.0]]))
    a = np.rad2deg(np.array([[5.0, 0.0, 0.0]]))
    got = _own_acceleration_g(w, a, r)[0] * 9.80665
    assert got == pytest.approx([0.0, -5.0 * 0.3, -(2.0**2) * 0.3], abs=1e-9)


def test_live_update_and_offline_run_agree_with_the_lever_arm_and_gaps():
    rec, _, _ = simulate(SimSettings(seed=2, pattern="swing", reps=3, dropouts=2, clock_jitter=0.3))
    cal = sensor_calibration(rec, "upper", calibration_window(rec)[0], detected=True)
    lever = 0.3 * cal.up
    t = rec.time_s
    off = SensorFusion(rec.sample_rate_hz, cal.gyro_bias_rad_s, cal.up, lever_arm_m=lever).run(
        t, rec["upper_gyr"], rec["upper_acc"])
    live = SensorFusion(rec.sample_rate_hz, cal.gyro_bias_rad_s, cal.up, lever_arm_m=lever)
    ups = [live.update(float(t[i] - t[i - 1]) if i else 1.0 / rec.sample_rate_hz, rec["upper_gyr"][i],
                       rec["upper_acc"][i]) for i in range(len(t))]
    assert np.max(np.abs(np.asarray(ups) - off)) < 1e-5


def test_the_lever_arm_lowers_the_error_of_slow_hinges():
    """The accelerometer less the sensor's own acceleration: at least as good on slow
    50 Hz hinges (seeds not used to choose the settings)."""
    errs = {}
    for comp in (False, True):
        from hingecoach.angles import AngleSettings

        e = []
        for seed in (21, 22):
            rec, truth, _ = simulate(SimSettings(seed=seed, pattern="mixed", reps=4, sample_rate_hz=50))
            a = compute_angles(rec, settings=AngleSettings(fusion=FusionSettings(compensate_lever_arm=comp)))[0]
            e.append(np.sqrt(np.mean((a["lumbar_flexion_deg"] - truth["lumbar_flexion_deg"]) ** 2)))
        errs[comp] = max(e)
    assert errs[True] <= errs[False] + 0.02
    assert errs[True] < 0.5


def test_imufusion_is_the_version_whose_timeout_is_in_seconds():
    s = imufusion.AhrsSettings(sample_rate=100, rejection_timeout=5.0)
    assert s.rejection_timeout == pytest.approx(5.0)


def _upper(rec):
    cal = sensor_calibration(rec, "upper", calibration_window(rec)[0], detected=True)
    return cal, 0.3 * cal.up


def test_live_and_offline_learn_the_same_bias_in_still_moments():
    """Still moments (the stance, the pauses, the holds) between reps, lost samples and a
    jittered clock: the bias learnt sample by sample live and over the whole recording
    offline is the same, and so are the up vectors."""
    rec, _, _ = simulate(SimSettings(seed=4, pattern="mixed", reps=4, dropouts=2, clock_jitter=0.3))
    cal, lever = _upper(rec)
    t = rec.time_s
    off = SensorFusion(rec.sample_rate_hz, cal.gyro_bias_rad_s, cal.up, lever_arm_m=lever)
    ups_off = off.run(t, rec["upper_gyr"], rec["upper_acc"])
    live = SensorFusion(rec.sample_rate_hz, cal.gyro_bias_rad_s, cal.up, lever_arm_m=lever)
    ups = [live.update(float(t[i] - t[i - 1]) if i else 1.0 / rec.sample_rate_hz, rec["upper_gyr"][i],
                       rec["upper_acc"][i]) for i in range(len(t))]
    assert np.max(np.abs(np.asarray(ups) - ups_off)) < 1e-5
    assert np.max(np.abs(live.bias_change_dps - off.bias_change_dps)) < 1e-6
    assert np.max(np.abs(off.bias_change_dps)) > 0.0  # it did learn


@pytest.mark.parametrize("seed", [31, 32])
def test_a_bias_left_in_the_gyroscope_is_learnt_in_still_moments(seed):
    """A bias the stance got wrong by 0.1 deg/s about the flexion axis (two to three
    times what the fit leaves with noise and sway): the still moments of a session of
    reps learn most of it, and the tilt error in its second half ends up well under what
    the proportional gain alone holds it at (0.56-0.64 deg; learnt: 0.08-0.17)."""
    rec, truth, _ = simulate(SimSettings(seed=seed, pattern="mixed", reps=8, noise=False, gyro_bias_dps=0.0))
    t = rec.time_s
    up0 = sensor_calibration(rec, "upper", calibration_window(rec)[0], detected=True).up
    axis = compute_angles(rec)[1].upper.axis
    wrong_dps = 0.1 * axis  # about the flexion axis: it tilts the trunk forward or back
    late = t > t[-1] / 2
    err = {}
    for ki in (0.0, FusionSettings().bias_gain):
        f = SensorFusion(rec.sample_rate_hz, np.deg2rad(wrong_dps), up0, FusionSettings(bias_gain=ki),
                         lever_arm_m=0.3 * up0)
        tilt = sagittal_tilt_deg(up0, axis, f.run(t, rec["upper_gyr"], rec["upper_acc"]))
        err[ki] = float(np.sqrt(np.mean((tilt[late] - truth["trunk_inclination_deg"][late]) ** 2)))
        if ki:
            # the learnt change goes most of the way from the wrong bias to the true one
            along = -float(f.bias_change_dps @ wrong_dps) / float(wrong_dps @ wrong_dps)
            assert along > 0.5, f.bias_change_dps
    assert err[FusionSettings().bias_gain] < 0.5 * err[0.0], err


def test_the_bias_learns_nothing_just_after_lost_samples():
    """0.3 s lost while standing: the filter may be off by what the gap hid, which is no
    bias: nothing is learnt for two time constants of the proportional loop (a filter
    without the gap learns from the same samples)."""
    st = FusionSettings(compensate_lever_arm=False)
    acc = np.array([0.0, np.sin(np.deg2rad(0.5)), np.cos(np.deg2rad(0.5))]) * 9.80665  # 0.5 deg off
    quiet_n = int(100 * 2.0 / st.gain)
    learnt = {}
    for gap in (0.01, 0.3):
        f = SensorFusion(100.0, np.zeros(3), np.array([0.0, 0.0, 1.0]), st)
        f.update(0.01, np.zeros(3), acc)
        f.update(gap, np.zeros(3), acc)
        for _ in range(quiet_n - 1):
            f.update(0.01, np.zeros(3), acc)
        learnt[gap] = f.bias_change_dps.copy()
        for _ in range(200):
            f.update(0.01, np.zeros(3), acc)
        assert np.any(f.bias_change_dps != learnt[gap])  # and then it learns
    assert np.all(learnt[0.3] == 0.0)
    assert np.any(learnt[0.01] != 0.0)


def test_just_after_lost_samples_the_accelerometer_is_not_rejected():
    """Standing still, 0.3 s lost while the gyroscope said 60 deg/s (a bad last sample):
    the filter comes out 9 deg off (the trapezoid of 0 and 60 deg/s), past the 3 deg
    rejection angle. The accelerometer
    pulls it back at once (with Fusion's gain), instead of being rejected for the
    recovery time (5 s) against the wrong estimate."""
    st = FusionSettings(compensate_lever_arm=False)
    f = SensorFusion(100.0, np.zeros(3), np.array([0.0, 0.0, 1.0]), st)
    acc = np.array([0.0, 0.0, 9.80665])
    f.update(0.01, np.zeros(3), acc)
    up = f.update(0.3, np.deg2rad([60.0, 0.0, 0.0]), acc)
    off0 = np.rad2deg(np.arccos(np.clip(up[2], -1, 1)))
    assert off0 > 2 * st.acceleration_rejection_deg
    for _ in range(300):  # 3 s, under the recovery time
        up = f.update(0.01, np.zeros(3), acc)
    off = np.rad2deg(np.arccos(np.clip(up[2], -1, 1)))
    assert off < off0 * np.exp(-3.0 * st.gain) * 1.1
