"""Virtual back-worn IMUs driven by the motion of a BVH clip, and their ground truth.

:func:`virtual_recording` puts virtual IMUs on two segments and computes what they would
measure, with the simulator's maths (``simulator.imu_signals``), and the ground truth
that the analysis must recover, defined as the analysis defines its angles (see
:func:`sagittal_tilt_truth_deg`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation, RotationSpline

from hingecoach.core.conventions import normalise_placement
from hingecoach.core.errors import InputError, ParameterError
from hingecoach.core.timeseries import ChannelInfo, FloatArray, TimeSeries
from hingecoach.sources.bvh.kinematics import BodyAxes, Pose, body_axes, foot_joints, forward_kinematics, to_world
from hingecoach.sources.bvh.parser import POSITION_CHANNELS, ROTATION_CHANNELS, Bvh, read_bvh
from hingecoach.sources.simulator import FINE_RATE_HZ, add_sensor_errors, imu_signals, random_mounts

#: The segment carrying the upper sensor in an Xsens skeleton, by placement: Chest3
#: starts at T12, Chest4 at T8, Neck at C7 (the joint names of Xsens MVN's BVH export).
XSENS_UPPER: Final = {"L1": "Chest3", "T12": "Chest3", "T8": "Chest4", "neck": "Neck"}
XSENS_LOWER: Final = "Hips"


@dataclass(frozen=True)
class VirtualImuSettings:
    """How to put two virtual IMUs on a BVH skeleton. Units in names; the sensor errors
    are the simulator's (``simulator.add_sensor_errors``)."""

    sample_rate_hz: float = 100.0
    placement: str = "T12"
    seed: int = 0
    noise: bool = True  # accelerometer 0.03 m/s^2, gyroscope 0.2 deg/s white noise
    gyro_bias_dps: float = 1.5  # constant bias per axis, uniform in +-this
    random_mounting: bool = True
    lower_segment: str = XSENS_LOWER
    upper_segment: str | None = None  # None: XSENS_UPPER[placement]
    # Sensor on its segment, (forward, up) in metres from the joint. The sacrum (S1-S2) lies
    # about 10 cm behind and 10 cm above the hip joint centres, the sensor 3 cm out on the
    # skin (as in the simulator); the skin over T12/T8 about 8 cm behind the spine joint.
    lower_sensor_m: tuple[float, float] = (-0.13, 0.10)
    upper_sensor_m: tuple[float, float] = (-0.08, 0.0)
    # Test-fixture choice: a clip that does not start with 2 s of standing still gets a
    # still standing stance (the calibration the analysis needs) prepended: its first frame
    # held, if upright; otherwise the skeleton's rest pose (upright; feet on the first
    # frame's floor, turned to its heading) joined to the first frame by a synthetic
    # minimum-jerk descent that arrives with the clip's own velocity.
    stance_s: float = 3.0
    descent_s: float = 1.5
    upright_deg: float = 15.0  # a segment within this of its rest-pose "up" is upright
    length_unit_m: float | None = None  # None: m, cm or mm from the skeleton's size


@dataclass(frozen=True)
class VirtualInfo:
    """What the fixture added to the clip, so results can be judged on the real part."""

    prepended: str  # "none", "stance from the first frame", "rest stance and synthetic descent"
    real_from_s: float  # recording time where the clip's own first frame is
    real_to_s: float
    up_axis: str
    unit: str
    lower_segment: str
    upper_segment: str
    fit: str = "cubic spline (not-a-knot) of positions, RotationSpline of orientations"


def _upright(rot: FloatArray, axes: BodyAxes, deg: float) -> FloatArray:
    up = np.einsum("nij,j->ni", rot, axes.up_rest)
    return np.asarray(up @ axes.up_world >= np.cos(np.deg2rad(deg)))


def _still(rot: FloatArray, deg: float = 3.0) -> bool:
    rel = Rotation.from_matrix(np.einsum("ji,njk->nik", rot[0], rot))
    return bool(np.all(rel.magnitude() <= np.deg2rad(deg)))


def _quintic(c0: FloatArray, c1: FloatArray, v1: FloatArray, s: FloatArray, span_s: float) -> FloatArray:
    """Quintic Hermite from c0 (at rest) to c1 arriving with velocity v1 (per second) and
    no acceleration: a minimum-jerk move that joins the clip without a velocity jump."""
    s = s[:, None]
    h5 = 10 * s**3 - 15 * s**4 + 6 * s**5
    h4 = -4 * s**3 + 7 * s**4 - 3 * s**5
    return c0 + (c1 - c0) * h5 + v1 * span_s * h4


def _lowest_foot(pose: Pose, axes: BodyAxes, feet: list[int]) -> FloatArray:
    pts = [pose.position[:, i] for i in feet] + [pose.end_sites[i] for i in feet if i in pose.end_sites]
    return np.min(np.stack(pts, 1) @ axes.up_world, axis=1)


def _with_stance(bvh: Bvh, pose: Pose, axes: BodyAxes, segs: list[int], st: VirtualImuSettings
                 ) -> tuple[Bvh, str, float, float]:
    """Prepend the calibration stance the analysis needs (see VirtualImuSettings).
    Returns the clip, what was added, where the clip's own frames start and where the
    still stance ends (s)."""
    dt = bvh.frame_time_s
    n2 = int(np.ceil(2.0 / dt))
    rots = [pose.rotation[:, i] for i in segs]
    if bvh.n_frames > n2 and all(np.all(_upright(r[:n2], axes, st.upright_deg)) and _still(r[:n2])
                                 for r in rots):
        return bvh, "none", 0.0, n2 * dt
    ns = round(st.stance_s / dt)
    first = bvh.motion[0]
    if all(bool(_upright(r[:1], axes, st.upright_deg)[0]) for r in rots):
        motion = np.vstack([np.repeat(first[None], ns, 0), bvh.motion])
        return Bvh(bvh.joints, dt, motion, bvh.source), "stance from the first frame", ns * dt, ns * dt
    # Rest pose (the standing posture BVH skeletons are built in), turned to the first
    # frame's heading, feet at the first frame's floor height.
    root = bvh.joints[0]
    rcols = [k for k, c in enumerate(root.channels) if c.lower() in ROTATION_CHANNELS]
    if len(rcols) != 3:
        raise InputError(bvh.source, "a root joint with three rotation channels (to build a "
                         "standing stance)", f"{len(rcols)}")
    order = "".join(ROTATION_CHANNELS[root.channels[k].lower()] for k in rcols).upper()
    f0 = axes.forward_rest - np.dot(axes.forward_rest, axes.up_world) * axes.up_world
    f1 = pose.rotation[0, 0] @ axes.forward_rest
    f1 = f1 - np.dot(f1, axes.up_world) * axes.up_world
    psi = np.arctan2(np.dot(np.cross(f0, f1), axes.up_world), np.dot(f0, f1))
    stance = first.copy()
    for j in bvh.joints:
        for k, c in enumerate(j.channels):
            if c.lower() in ROTATION_CHANNELS:
                stance[j.first_channel + k] = 0.0
    heading = Rotation.from_rotvec(axes.up_world * psi).as_euler(order, degrees=True)
    for k, v in zip(rcols, heading, strict=True):
        stance[root.first_channel + k] = v
    feet = foot_joints(bvh)
    up_k = int(np.argmax(np.abs(axes.up_world)))
    pcol = {POSITION_CHANNELS[c.lower()]: k for k, c in enumerate(root.channels)
            if c.lower() in POSITION_CHANNELS}
    if up_k in pcol:
        lift = _lowest_foot(pose, axes, feet)[0] - _lowest_foot(
            forward_kinematics(bvh, stance[None]), axes, feet)[0]
        stance[root.first_channel + pcol[up_k]] += axes.up_world[up_k] * lift
    # joined to the clip by a minimum-jerk move arriving with the clip's own velocity
    rot_cols = np.array([c.lower() in ROTATION_CHANNELS for j in bvh.joints for c in j.channels])
    delta = first - stance
    delta[rot_cols] = (delta[rot_cols] + 180.0) % 360.0 - 180.0
    c0 = first - delta
    m = bvh.motion
    head = m[:3].copy()
    head[:, rot_cols] = np.unwrap(head[:, rot_cols], period=360.0, axis=0)
    v1 = (-3 * head[0] + 4 * head[1] - head[2]) / (2 * dt)  # the clip's velocity at its start
    nd = max(round(st.descent_s / dt), 2)
    s = np.arange(1, nd) / nd
    descent = _quintic(c0, first, v1, s, nd * dt)
    motion = np.vstack([np.repeat(c0[None], ns, 0), descent, m])
    real_from = (ns + nd - 1) * dt
    return (Bvh(bvh.joints, dt, motion, bvh.source), "rest stance and synthetic descent", real_from,
            (ns - 1) * dt)


def sagittal_tilt_truth_deg(up0: FloatArray, axis: FloatArray, ups: FloatArray) -> FloatArray:
    """The analysis's tilt (``orientation.sagittal.sagittal_tilt_deg``), computed from
    true segment orientations: the signed rotation about the segment's flexion ``axis``
    from its neutral "up" ``up0`` to ``ups`` (world up seen in the segment frame),
    projected on the sagittal plane so side bending and twist drop out. The formula is
    repeated here (sources may not import orientation); a test checks they agree."""
    p = ups - np.outer(ups @ axis, axis)
    return np.rad2deg(np.arctan2(np.cross(p, up0) @ axis, p @ up0))


def virtual_recording(source: Bvh | str | Path, settings: VirtualImuSettings | None = None
                      ) -> tuple[TimeSeries, TimeSeries, VirtualInfo]:
    """Two virtual IMUs (sacrum and upper back) driven by a BVH clip's motion.

    Returns the recording (channels ``lower_acc``, ``lower_gyr``, ``upper_acc``,
    ``upper_gyr`` in SI units, like ``simulate``), the true angles at the sample times,
    and what the fixture added. The segments' orientations are interpolated with scipy's
    ``RotationSpline`` (continuous angular rate and acceleration), the sensor positions
    with an interpolating cubic spline (``CubicSpline``, not-a-knot: continuous
    acceleration), evaluated on a 1 kHz grid, then measured with ``imu_signals`` exactly
    as the simulator measures its body, sampled at ``sample_rate_hz``, with its noise and
    bias. Interpolating rather than smoothing: the Xsens box-lift positions hold about 2 %
    of their acceleration power above 15 Hz and none above 20 Hz, so there is no noise
    floor for differentiation to amplify; what they hold (lifting, steps) a real sensor
    would feel too.

    Truth (the analysis's definitions, from the true orientations): each segment's tilt is
    ``sagittal_tilt_truth_deg`` about its anatomical left axis (from the skeleton's
    Left/Right joints) from its posture in the calibration stance; ``lumbar_flexion_deg``
    is tilt(upper) - tilt(lower). ``lumbar_joint_flexion_deg`` (the two segments' relative
    rotation about their left axis, not gravity-referenced: what a joint-angle definition
    would say) is there to show how far the two definitions part, e.g. with a twist.
    """
    st = settings or VirtualImuSettings()
    if not 5.0 <= st.sample_rate_hz <= 1000.0:
        raise ParameterError("sample_rate_hz", "5 to 1000", st.sample_rate_hz)
    placement = normalise_placement(st.placement)
    if not st.stance_s >= 2.0:
        raise ParameterError("stance_s", "at least 2 s (the calibration needs 2 s of standing)",
                             st.stance_s)
    if not st.descent_s > 0:
        raise ParameterError("descent_s", "above 0 s", st.descent_s)
    bvh = source if isinstance(source, Bvh) else read_bvh(source)
    if bvh.n_frames < 4:
        raise InputError(bvh.source, "at least 4 frames of motion", str(bvh.n_frames))
    upper_name = st.upper_segment or XSENS_UPPER[placement]
    segs = [bvh.index(st.lower_segment), bvh.index(upper_name)]
    pose = forward_kinematics(bvh)
    axes = body_axes(bvh, pose, st.length_unit_m)
    ext, prepended, real_from, stance_end = _with_stance(bvh, pose, axes, segs, st)
    wpose = to_world(forward_kinematics(ext), axes)
    t_frames = np.arange(ext.n_frames) * ext.frame_time_s
    duration = float(t_frames[-1])
    rng = np.random.default_rng(st.seed)
    mounts = random_mounts(rng, st.random_mounting)
    t_s = np.arange(0.0, duration, 1.0 / st.sample_rate_hz)
    rot_splines, pos_splines = [], []
    for i, (fwd, up) in zip(segs, (st.lower_sensor_m, st.upper_sensor_m), strict=True):
        r = wpose.rotation[:, i]
        p = wpose.position[:, i] + r @ (fwd * axes.forward_rest + up * axes.up_rest)
        rot_splines.append(RotationSpline(t_frames, Rotation.from_matrix(r)))
        pos_splines.append(CubicSpline(t_frames, p, axis=0))
    out = {k: np.empty((t_s.size, 3)) for k in ("lower_acc", "lower_gyr", "upper_acc", "upper_gyr")}
    h = 1.0 / FINE_RATE_HZ
    chunk = 60.0
    start = 0.0
    while start < duration:
        stop = min(start + chunk, duration)
        sel = (t_s >= start) & (t_s < stop)
        fine = np.arange(max(start - 3 * h, 0.0), min(stop + 4 * h, duration), h)
        for side, rs, ps, mount in zip(("lower", "upper"), rot_splines, pos_splines, mounts,
                                       strict=True):
            f, w = imu_signals(rs(fine).as_matrix(), ps(fine), mount, h)
            ts = t_s[sel]
            out[f"{side}_acc"][sel] = np.stack([np.interp(ts, fine, f[:, j]) for j in range(3)], -1)
            out[f"{side}_gyr"][sel] = np.stack([np.interp(ts, fine, w[:, j]) for j in range(3)], -1)
        start = stop
    add_sensor_errors(out, rng, noise=st.noise, gyro_bias_dps=st.gyro_bias_dps)
    truth = _truth(t_s, rot_splines, axes, calibration_end_s=stance_end)
    info = VirtualInfo(prepended, real_from, duration, axes.up_axis, axes.unit,
                       st.lower_segment, upper_name)
    name = Path(bvh.source).name
    meta: dict[str, Any] = {"format": "bvh", "source": bvh.source, "placement": placement,
                            "warnings": [], "fixture": info.prepended, "real_from_s": real_from}
    ch_info = {k: ChannelInfo("m/s^2" if "acc" in k else "rad/s", f"sensor:{k.split('_')[0]}",
                              f"virtual IMU on {name}") for k in out}
    rec = TimeSeries(t_s, out, info=ch_info, meta=meta)
    truth_ts = TimeSeries(t_s, truth, meta={"placement": placement, "real_from_s": real_from},
                          info={k: ChannelInfo("deg", "body", f"{name} truth") for k in truth})
    return rec, truth_ts, info


def _truth(t_s: FloatArray, rot_splines: list[RotationSpline], axes: BodyAxes,
           calibration_end_s: float) -> dict[str, FloatArray]:
    rots = [rs(t_s).as_matrix() for rs in rot_splines]
    cal = t_s < calibration_end_s
    tilts = []
    for r in rots:
        ups = r[:, 2, :]  # world z seen in the segment frame: R^T e_z
        up0 = ups[cal].mean(0)
        up0 /= np.linalg.norm(up0)
        axis = axes.left_rest - np.dot(axes.left_rest, up0) * up0
        axis /= np.linalg.norm(axis)
        tilts.append(sagittal_tilt_truth_deg(up0, axis, ups))
    lo, up = tilts
    # the lower segment's up seen from the upper segment turns by -flexion about left
    rel_up = np.einsum("nji,njk,k->ni", rots[1], rots[0], axes.up_rest)
    joint = sagittal_tilt_truth_deg(axes.up_rest, axes.left_rest, rel_up)
    return {"lumbar_flexion_deg": up - lo, "pelvis_tilt_deg": lo, "trunk_inclination_deg": up,
            "lumbar_joint_flexion_deg": joint - float(np.mean(joint[cal]))}


def write_virtual_truth(path: str | Path, truth: TimeSeries, info: VirtualInfo,
                        settings: VirtualImuSettings) -> None:
    """Ground truth beside a virtual recording: ``NAME.truth.csv`` (the true angles at
    every sample) and ``NAME.truth.json`` (what the fixture added, and the settings)."""
    path = Path(path)
    cols = ["lumbar_flexion_deg", "pelvis_tilt_deg", "trunk_inclination_deg", "lumbar_joint_flexion_deg"]
    arr = np.column_stack([truth.time_s] + [truth[c] for c in cols])
    np.savetxt(path.with_suffix(".truth.csv"), arr, delimiter=",", fmt="%.6f",
               header=",".join(["time_s", *cols]), comments="")
    meta = {"fixture": asdict(info), "settings": asdict(settings), "placement": truth.meta.get("placement")}
    path.with_suffix(".truth.json").write_text(json.dumps(meta, indent=1))
