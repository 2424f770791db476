"""The camera path on the real side-view clips (../shared/data/video), with MediaPipe.

The five side views of one lifter (``0016X_1.mp4``): c correct, a close to correct,
h hip-first, k knee-dominant (a squat), r rounded back; each has 10 complete reps and a
last descent that is not one (data README). Issue #3's numbers: exactly 10 reps each;
lumbar_rounding on at least 8 reps of r and at most 2 of c, a, h; squatting on at least
8 of k and at most 2 of c, h, r."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hingecoach.analysis import analyze_file
from hingecoach.cli import app

pytestmark = [pytest.mark.realdata, pytest.mark.camera]
CLIPS = "cahkr"


@pytest.fixture(scope="module")
def video_dir(shared_data):
    return shared_data / "video" / "deadlift-side-and-oblique"


@pytest.fixture(scope="module")
def clips(video_dir):
    return {x: analyze_file(video_dir / f"0016{x}_1.mp4") for x in CLIPS}


def _count(a, fault):
    return sum(fault in m.faults for m in a.reps)


@pytest.mark.parametrize("x", CLIPS)
def test_ten_complete_reps_and_the_last_descent_is_not_one(clips, x):
    a = clips[x]
    assert len(a.reps) == 10, [(m.start_s, m.end_s) for m in a.reps]
    assert len(a.incomplete) == 1 and a.incomplete[0].start_s > a.reps[-1].end_s
    assert a.info["frames_used"] == a.info["frames"] and not a.warnings
    assert a.info["sample_rate_hz"] == pytest.approx(60.0)


def test_rounding_from_the_virtual_dowel(clips):
    assert _count(clips["r"], "lumbar_rounding") >= 8
    for x in "cah":
        assert _count(clips[x], "lumbar_rounding") <= 2, x


def test_squatting(clips):
    assert _count(clips["k"], "squatting") >= 8
    for x in "chr":
        assert _count(clips[x], "squatting") <= 2, x


def test_the_standing_start_zeroes_the_back(clips):
    for a in clips.values():
        t0, t1 = a.info["calibration_window_s"]
        lum = a.angles["lumbar_flexion_deg"]
        sel = (a.angles.time_s >= t0) & (a.angles.time_s <= t1)
        assert t1 - t0 >= 0.3 and abs(np.median(lum[sel])) < 2.0


def test_the_oblique_view_is_named(video_dir):
    a = analyze_file(video_dir / "0016c_2.mp4")
    assert any("not a side view" in w for w in a.warnings)
    # the correct hinge filmed obliquely, turned toward the camera: no rep gets a wrong verdict
    d = a.to_json()
    assert d["verdict"]["view"]["turned"] == "toward" and d["verdict"]["clip"] in ("good", "cannot_judge")
    assert all(not r["judged"] or not {"lumbar_rounding", "squatting"} & set(r["faults"]) for r in d["reps"])


def _excerpt(src, dst, keep, transform=None, rotation=0):
    """Write frames ``keep`` of ``src`` to ``dst`` (optionally changed) at the same rate."""
    import av

    from hingecoach.sources.video import VideoReader

    r = VideoReader(src)
    with av.open(str(dst), "w") as out:
        s = None
        for i, _t, rgb in r:
            if i not in keep:
                continue
            img = transform(i, rgb) if transform else rgb
            if rotation:
                img = np.ascontiguousarray(np.rot90(img, -rotation // 90))
            if s is None:
                s = out.add_stream("libx264", rate=round(r.info.fps))
                s.height, s.width = img.shape[:2]
                s.pix_fmt = "yuv420p"
                if rotation:
                    s.set_display_rotation(rotation)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return dst


def test_cli_on_a_clip_with_overlay_json_and_angles(video_dir, tmp_path):
    import av

    clip = _excerpt(video_dir / "0016r_1.mp4", tmp_path / "r4.mp4", range(0, 300))
    res = CliRunner().invoke(app, ["analyze", str(clip), "--json", "--angles-csv", str(tmp_path / "a.csv"),
                                   "--overlay", str(tmp_path / "ov.mp4")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{"):])
    assert out["recording"]["format"] == "video" and out["reps"]
    assert all("lumbar_rounding" in r["faults"] for r in out["reps"])
    header = (tmp_path / "a.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "time_s" and {"lumbar_flexion_deg", "hip_flexion_deg", "back_curvature_deg"} <= set(header)
    with av.open(str(tmp_path / "ov.mp4")) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        frames = list(c.decode(s))
    assert len(frames) == 300 and frames[0].width == 360


def test_a_person_leaving_the_frame_is_skipped_and_named(video_dir, tmp_path):
    def leave(i, rgb):
        return np.full_like(rgb, 200) if 150 <= i < 210 else rgb

    clip = _excerpt(video_dir / "0016c_1.mp4", tmp_path / "leave.mp4", range(0, 540), leave)
    a = analyze_file(clip)
    text = " ".join(a.warnings)
    assert "frames 150-2" in text and "skipped" in text, a.warnings
    assert a.info["frames_used"] <= 540 - 60 and len(a.reps) >= 3


def test_two_people_are_named_and_the_lifter_still_analysed(video_dir, tmp_path):
    """Another person in view is a warning that names the frames, not a reason to skip
    them: the analysis keeps following the lifter."""
    def crowd(i, rgb):
        return np.hstack([rgb, rgb[:, ::-1]]) if i >= 240 else np.hstack([rgb, np.full_like(rgb, 230)])

    clip = _excerpt(video_dir / "0016c_1.mp4", tmp_path / "two.mp4", range(0, 420), crowd)
    a = analyze_file(clip)
    assert any("other people in view in frames" in w for w in a.warnings), a.warnings
    assert max(m.index for m in a.camera.frames) > 400 and len(a.reps) >= 2


def test_a_rotated_file_gives_the_same_angles(video_dir, tmp_path):
    up = _excerpt(video_dir / "0016c_1.mp4", tmp_path / "up.mp4", range(0, 240))
    rot = _excerpt(video_dir / "0016c_1.mp4", tmp_path / "rot.mp4", range(0, 240), rotation=90)
    a, b = analyze_file(up), analyze_file(rot)
    assert b.info["video"]["rotation_deg"] == 90 and (b.info["video"]["width"], b.info["video"]["height"]) == (360, 640)
    assert len(a.reps) == len(b.reps) >= 1
    assert np.max(np.abs(a.angles["hip_flexion_deg"] - b.angles["hip_flexion_deg"])) < 5.0


def test_a_ten_rep_clips_report_embeds_a_still_per_rep_under_2_mb(clips, video_dir, tmp_path):
    """Rep stills of a real clip (the analysis above, so no second pose pass): one per rep,
    the lifter in the crop, and the report with all of them stays under 2 MB."""
    import dataclasses
    import re

    import cv2

    from hingecoach.report import gather, render_html
    from hingecoach.stills import make_stills
    from hingecoach.store import open_store
    from hingecoach.store.files import save_file_analysis

    clip = video_dir / "0016c_1.mp4"
    a = dataclasses.replace(clips["c"], stills=make_stills(clip, clips["c"]))
    assert [s.seq for s in a.stills] == list(range(1, 12))  # 10 reps and the last descent
    assert [s.complete for s in a.stills] == [True] * 10 + [False]
    for s in a.stills:
        img = cv2.imdecode(np.frombuffer(s.data, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape[:2] == (s.height, s.width) and s.width < 360 and len(s.data) < 40_000
    with open_store(tmp_path / "h.db") as st:
        sid = save_file_analysis(st, a, clip)
        html = render_html(gather(st, sid))
    assert len(html.encode()) < 2_000_000
    shown = re.findall(r'<figure class="still [a-z]+"><img src="data:image/jpeg;base64,', html)
    has_pair = any(s.good for s in a.stills) and any(s.rounded for s in a.stills)
    assert len(shown) == 11 + (2 if has_pair else 0)
