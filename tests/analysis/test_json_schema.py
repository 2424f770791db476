"""The ``analyze --json`` document is a contract: its keys, their order and their types are
pinned here, for an IMU recording (the bundled demo, through the command) and for a
camera analysis (the camera simulator's frames through the pose stage)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from cli_helpers import run_cli
from hingecoach.analysis import AnalysisSettings, analyze_camera, analyze_recording
from hingecoach.angles import AngleSettings
from hingecoach.orientation.fusion import FusionSettings
from hingecoach.pose.camera import CameraSettings
from hingecoach.sources.simulator import SimSettings, simulate

F, INT, S, N = "float", "int", "str", "null"
FN = "float|null"
REP = {"index": INT, "start_s": F, "bottom_s": F, "end_s": F, "peak_lumbar_flexion_deg": F,
       "peak_pelvis_tilt_deg": FN, "peak_trunk_inclination_deg": F, "lumbar_share": FN,
       "top_extension_deg": F, "descent_s": F, "knee_hip_ratio": FN, "peak_neck_extension_deg": FN,
       "faults": [S]}
THRESHOLDS = {"lumbar_rounding_deg": F, "lumbar_rounding_source": S, "top_overextension_deg": F,
              "too_fast_s": FN, "shallow_hinge_share": FN, "squat_knee_hip_ratio": FN,
              "neck_extension_deg": FN, "max_flexion_deg": FN}
RECORDING_HEAD = {"source": S, "format": S, "placement": S, "placement_meaning": S, "samples": INT,
                  "duration_s": F, "sample_rate_hz": F, "calibration_window_s": [F],
                  "calibration_source": S, "exercise": S}
IMU_RECORDING = {**RECORDING_HEAD, "fusion": S, "notes": [S]}
CAMERA_RECORDING = {**RECORDING_HEAD, "frames": INT, "frames_used": INT, "side_facing_camera": S,
                    "facing": S, "first_frame_s": F, "channels": {"*": S}, "notes": [S]}


#: A camera rep adds what could be judged and the numbers behind it (pose.judgement).
CAMERA_REP = {**REP, "peak_pelvis_tilt_deg": N, "lumbar_share": N, "descent_s": FN,
              "kind": S, "view": S, "side_ratio": FN, "judged": "bool", "not_judged_because": "str|null",
              "not_possible": {"*": S}, "peak_gaze_up_deg": FN,
              "rounding": {"measure": "str|null", "score": FN, "threshold": FN, "error": FN, "hollow_below": FN,
                           "decided_by": "str|null", "unconfirmed": "bool"},
              "squat": {"measure": "str|null", "score": FN, "threshold": FN}}
#: The clip's verdict heads a camera document.
VERDICT = {"clip": S, "reasons": [S],
           "view": {"view": S, "side_ratio": FN, "side_frames_share": F, "turned": S, "turn": FN,
                    "nose_depth": FN, "limits": {"side": F, "near-side": F, "oblique": F}},
           "reps": INT, "judged_reps": INT, "partial_reps": INT, "upright_reference": S,
           "back_reference": {"source": S, "frames": INT, "bend_deg": FN, "bow": FN, "hump": FN},
           "camera_rules": {"too_fast_s": F, "too_fast_source": S, "gaze_up_deg": F, "gaze_up_source": S,
                            "at_angle_hollow_margin_deg": F, "at_angle_source": S,
                            "kinds": {"*": S}}}


def camera_document(recording: dict[str, Any]) -> dict[str, Any]:
    return {"verdict": VERDICT, **document(CAMERA_REP, recording)}


def document(rep: dict[str, Any], recording: dict[str, Any]) -> dict[str, Any]:
    return {"reps": [rep], "incomplete_reps": [rep],
            "summary": {"reps": INT, "faulty_reps": INT, "fault_counts": {"*": INT}, "peak_lumbar_flexion_deg": FN},
            "thresholds": THRESHOLDS, "messages": {"*": S}, "recording": recording, "warnings": [S],
            "disclaimer": S, "version": S}


def _type(x: object) -> str:
    return {type(None): N, bool: "bool", int: INT, float: F, str: S}.get(type(x), type(x).__name__)


def check(doc: Any, schema: Any, where: str = "$") -> None:
    """``doc`` has exactly the schema's keys, in its order, with its types; ``{"*": T}`` is
    a mapping of any keys to T, ``[T]`` a list of T, ``"a|b"`` either type."""
    if isinstance(schema, dict):
        assert isinstance(doc, dict), where
        if list(schema) == ["*"]:
            for k, v in doc.items():
                assert isinstance(k, str), where
                check(v, schema["*"], f"{where}.{k}")
            return
        assert list(doc) == list(schema), f"{where}: keys {list(doc)}"
        for k, v in schema.items():
            check(doc[k], v, f"{where}.{k}")
    elif isinstance(schema, list):
        assert isinstance(doc, list), where
        for i, v in enumerate(doc):
            check(v, schema[0], f"{where}[{i}]")
    else:
        assert _type(doc) in schema.split("|"), f"{where}: {_type(doc)} is not {schema}"


def at_most_decimals(doc: Any, n: int) -> bool:
    if isinstance(doc, dict):
        return all(at_most_decimals(v, n) for v in doc.values())
    if isinstance(doc, list):
        return all(at_most_decimals(v, n) for v in doc)
    return not isinstance(doc, float) or round(doc, n) == doc


def test_the_demo_json_keeps_its_schema():
    r = run_cli("analyze", "src/hingecoach/data/demo.csv", "--json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('{\n "reps": [\n  {\n   "index": 1,\n') and r.stdout.endswith("}\n")
    doc = json.loads(r.stdout)
    check(doc, document({**REP, "knee_hip_ratio": N, "peak_neck_extension_deg": N}, IMU_RECORDING))
    assert doc["summary"]["reps"] == len(doc["reps"]) == 8
    assert doc["recording"]["format"] == "hingecoach-csv" and doc["recording"]["fusion"] == "6axis"
    assert set(doc["messages"]) == set(doc["summary"]["fault_counts"]) == {
        "lumbar_rounding", "top_overextension", "shallow_hinge"}
    assert doc["thresholds"]["squat_knee_hip_ratio"] is None and doc["thresholds"]["max_flexion_deg"] is None
    assert at_most_decimals(doc["reps"], 3) and at_most_decimals(doc["recording"], 3)
    assert round(doc["thresholds"]["lumbar_rounding_deg"], 2) == doc["thresholds"]["lumbar_rounding_deg"]


def test_nine_axis_adds_the_twist_to_each_rep():
    rec, _, _ = simulate(SimSettings(pattern="mixed", reps=3, seed=6, magnetometer=True))
    nine = AnalysisSettings(angles=AngleSettings(fusion=FusionSettings(magnetometer=True)))
    doc = json.loads(json.dumps(analyze_recording(rec, None, nine).to_json()))
    rep = {**{k: v for k, v in REP.items() if k != "faults"}, "peak_lumbar_twist_deg": F, "faults": [S]}
    check(doc, document(rep, IMU_RECORDING))
    assert doc["recording"]["fusion"] == "9axis" and len(doc["reps"]) == 3


def test_a_calibration_fills_max_flexion_and_names_it_as_the_source():
    rec, _, _ = simulate(SimSettings(pattern="good", reps=2, seed=3, placement="T8"))
    cal, _, _ = simulate(SimSettings(pattern="good", reps=1, seed=4, placement="T8"))
    doc = json.loads(json.dumps(analyze_recording(rec, cal, AnalysisSettings(exercise="deadlift")).to_json()))
    check(doc, document(REP, IMU_RECORDING))
    assert isinstance(doc["thresholds"]["max_flexion_deg"], float)
    assert doc["thresholds"]["lumbar_rounding_source"].startswith("60% of the calibrated maximum flexion")
    assert doc["recording"]["exercise"] == "deadlift" and doc["recording"]["placement"] == "T8"


@pytest.fixture(scope="module")
def camera_frames():
    pytest.importorskip("cv2")  # the simulator draws the person's silhouette with OpenCV
    from hingecoach.testing.camera_sim import simulate_frames

    return list(simulate_frames(["good", "rounded", "squat", "craning", "good"]))


def _camera_result(frames, drop=range(0)):
    from hingecoach.pose.camera import video_angles
    from hingecoach.testing.camera_sim import FramesModel

    poses = [None if i in drop else f for i, _, _, f in frames]
    return video_angles(((i, t, np.zeros((2, 2, 3), np.uint8)) for i, t, *_ in frames), FramesModel(poses),
                        source="sim.mp4")


#: The simulator's silhouette has no lumbar hollow: its backs are judged by the bow rule.
SIM = AnalysisSettings(camera=CameraSettings(rounding_rule="bow"))


def test_a_camera_analysis_keeps_its_schema(camera_frames):
    doc = json.loads(json.dumps(analyze_camera(_camera_result(camera_frames), SIM).to_json()))
    check(doc, camera_document(CAMERA_RECORDING))
    assert doc["verdict"]["clip"] == "faults" and doc["verdict"]["judged_reps"] == 5
    assert doc["recording"]["format"] == "video" and doc["recording"]["placement"] == "camera"
    assert list(doc["recording"]["channels"]) == ["trunk_inclination_deg", "hip_flexion_deg", "knee_flexion_deg",
                                                  "neck_flexion_deg", "back_curvature_deg", "lumbar_flexion_deg"]
    # the "craning" rep keeps the eyes below level (the camera's neck rule: the gaze lifted)
    assert [m["faults"] for m in doc["reps"]] == [[], ["lumbar_rounding"], ["squatting"], [], []]
    assert doc["thresholds"]["shallow_hinge_share"] is None and doc["warnings"] == []


def test_a_webcam_analysis_keeps_the_camera_schema_with_its_own_format(camera_frames):
    result = _camera_result(camera_frames, drop=range(200, 230))
    swing = AnalysisSettings(exercise="swing", camera=CameraSettings(rounding_rule="bow"))
    doc = json.loads(json.dumps(analyze_camera(result, swing, {"format": "webcam"}).to_json()))
    check(doc, {**camera_document(CAMERA_RECORDING),
                "verdict": {**VERDICT, "camera_rules": {**VERDICT["camera_rules"], "too_fast_s": N}}})
    assert doc["recording"]["format"] == "webcam" and doc["thresholds"]["too_fast_s"] is None
    assert any("no person found in frames 200-229" in w for w in doc["warnings"])
