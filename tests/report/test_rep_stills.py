"""Rep stills: each rep's bottom frame found again in the video, cropped to the person,
drawn on as in the overlay, with its verdict; in the HTML and PDF reports as a grid, a
correct rep next to a rounded one at the top. A simulated clip (real video frames, the
pose model replayed), no MediaPipe."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from hingecoach.core.stills import JPEG
from stills_helpers import SKIN, analyse, sim_clip

pytestmark = pytest.mark.camera


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    return sim_clip(tmp_path_factory.mktemp("stills") / "sim.mp4", ["good", "rounded", "good"])


@pytest.fixture(scope="module")
def analysed(clip):
    from hingecoach.stills import with_stills

    a = analyse(*clip)
    assert [m.faults for m in a.reps] == [(), ("lumbar_rounding",), ()]
    return with_stills(clip[0], a)


def _decode(data: bytes) -> np.ndarray:
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return np.asarray(img[:, :, ::-1])  # RGB


def _share(img: np.ndarray, rgb: tuple[int, int, int], tol: int = 40) -> float:
    return float(np.mean(np.all(np.abs(img.astype(int) - rgb) <= tol, axis=-1)))


def test_one_still_per_rep_with_its_verdict(analysed):
    from hingecoach.stills import HEIGHT_PX

    s = analysed.stills
    assert [x.seq for x in s] == [1, 2, 3] and [x.rep_index for x in s] == [1, 2, 3]
    assert [x.verdict for x in s] == ["ok", "lumbar_rounding", "ok"]
    assert [x.file_name() for x in s] == ["rep01_ok.jpg", "rep02_lumbar_rounding.jpg", "rep03_ok.jpg"]
    assert s[0].good and s[1].rounded and not s[1].good
    for x, m in zip(s, analysed.reps, strict=True):
        assert x.mime == JPEG and x.data[:2] == b"\xff\xd8" and len(x.data) < 60_000
        img = _decode(x.data)
        assert img.shape[:2] == (x.height, x.width) and x.height > HEIGHT_PX  # the picture and its band
        assert x.t_s == pytest.approx(m.bottom_s, abs=0.5 / 15)
        assert x.caption().startswith(f"rep {m.index} at {x.t_s:.1f} s: {x.verdict_text}")


def test_the_still_is_the_person_at_the_bottom_with_the_straight_reference(clip, analysed):
    """Cropped to the person: the silhouette fills a larger share of the still than of
    the whole frame; the straight reference is green on a correct rep, red on a rounded one."""
    from hingecoach.overlay import GREEN, RED
    from hingecoach.stills import HEIGHT_PX, decode_at

    good, rounded = (_decode(x.data)[:HEIGHT_PX] for x in analysed.stills[:2])
    frames = decode_at(clip[0], [x.t_s for x in analysed.stills[:2]])
    for img, x in zip((good, rounded), analysed.stills, strict=False):
        assert _share(img, SKIN) > 1.5 * _share(frames[x.t_s], SKIN)
    assert _share(good, GREEN, 30) > 0.002 and _share(good, RED, 30) < 0.0005
    assert _share(rounded, RED, 30) > 0.002 and _share(rounded, GREEN, 30) < 0.0005


def test_the_whole_head_is_in_the_still_even_without_a_margin(clip, analysed, monkeypatch):
    """The landmarks stop at the nose and the ear; the crop reaches past them to the crown
    and the face (with no margin at all, every pixel of the simulated head is inside the
    box, where the box of the landmarks alone cuts some of it off)."""
    from hingecoach import stills
    from hingecoach.core.pose_types import EAR
    from hingecoach.overlay import figure_points
    from hingecoach.testing.camera_sim import HEAD_R_M

    monkeypatch.setattr(stills, "MARGIN", 0.0)
    poses, cam = clip[1], analysed.camera
    cut_before = 0
    for k in stills.bottom_frames(analysed):
        pose = poses[cam.frames[k].index]
        ys, xs = np.nonzero(pose.mask > 0.5)
        ear = pose.xy[EAR[cam.orientation.side]]
        head = np.hypot(xs - ear[0], ys - ear[1]) <= (HEAD_R_M + 0.01) * 150  # px_per_m of sim_clip
        assert head.sum() > 100

        def outside(box, xs=xs[head], ys=ys[head]):
            x0, y0, x1, y1 = box
            return int(np.sum((xs < x0) | (xs >= x1) | (ys < y0) | (ys >= y1)))

        assert outside(stills.crop_box(analysed, k, pose.width, pose.height)) == 0
        cut_before += outside(stills._box(figure_points(analysed, k), pose.width, pose.height))
    assert cut_before > 0


def test_seeking_and_decoding_forward_give_the_same_frames(clip, analysed):
    from hingecoach.stills import decode_at

    times = [x.t_s for x in analysed.stills]
    forward = decode_at(clip[0], times, seek_gap_s=np.inf)
    seeking = decode_at(clip[0], times, seek_gap_s=0.0)
    assert sorted(forward) == sorted(times) == sorted(seeking)
    for t in times:
        np.testing.assert_array_equal(forward[t], seeking[t])
    assert decode_at(clip[0], [0.5 / 15]) == {}  # no frame at that time: none made up


def test_a_rep_not_judged_says_why(clip, analysed):
    from hingecoach.stills import make_stills

    v = analysed.camera_verdict
    why = "the camera saw the lifter at an angle (oblique), not from the side"
    a = dataclasses.replace(analysed, camera_verdict=dataclasses.replace(
        v, reps=[dataclasses.replace(v.reps[0], judged=False, not_judged_because=why), *v.reps[1:]]))
    s = make_stills(clip[0], a)[0]
    assert not s.judged and s.verdict == "not judged" and s.file_name() == "rep01_not_judged.jpg"
    assert s.caption().endswith(f"(not judged: {why})")


def test_an_imu_analysis_or_a_webcam_has_no_stills(analysed):
    from hingecoach.core.errors import HingecoachError
    from hingecoach.stills import can_make_stills, make_stills, with_stills

    imu = dataclasses.replace(analysed, camera=None, stills=[])
    assert not can_make_stills(imu) and with_stills("x.csv", imu).stills == []
    with pytest.raises(HingecoachError, match="need a video file"):
        make_stills("x.csv", imu)
    webcam = dataclasses.replace(analysed, info={**analysed.info, "format": "webcam"}, stills=[])
    assert not can_make_stills(webcam)


# -- in the reports ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def ten_reps(tmp_path_factory):
    """A 10-rep clip, every other rep rounded, saved with its stills."""
    from hingecoach.stills import with_stills
    from hingecoach.store import open_store
    from hingecoach.store.files import save_file_analysis

    d = tmp_path_factory.mktemp("ten")
    path, poses = sim_clip(d / "ten.mp4", ["good", "rounded"] * 5)
    a = with_stills(path, analyse(path, poses))
    assert len(a.reps) == 10 and len(a.stills) == 10
    db = d / "h.db"
    with open_store(db) as st:
        sid = save_file_analysis(st, a, path, person="ben")
    return db, sid, a


def _report(db, sid):
    from hingecoach.report import gather
    from hingecoach.store import open_store

    with open_store(db, create=False) as st:
        return gather(st, sid)


def test_the_html_report_embeds_every_still_and_the_pair_first(ten_reps):
    from hingecoach.report import render_html

    db, sid, a = ten_reps
    d = _report(db, sid)
    assert d.stills == tuple(a.stills)
    html = render_html(d)
    assert len(html.encode()) < 2_000_000
    imgs = re.findall(r'<figure class="still [a-z]+"><img src="data:image/jpeg;base64,', html)
    assert len(imgs) == 12  # the pair, then all ten
    pair_at = html.index("A correct repetition next to a rounded one")
    assert pair_at < html.index('class="facts"') < html.index("Each repetition at its bottom")
    pair = html[pair_at:html.index("</div>", pair_at)]
    assert "rep 1 at" in pair and "rep 2 at" in pair and "lower back rounded" in pair and "lumbar_rounding" not in pair
    for s in a.stills:
        assert s.caption() in html


def test_no_pair_without_both_a_correct_and_a_rounded_rep(ten_reps):
    from hingecoach.report import render_html

    db, sid, _ = ten_reps
    d = _report(db, sid)
    d.stills = tuple(s for s in d.stills if not s.rounded)
    html = render_html(d)
    assert "next to a rounded one" not in html and html.count('<figure class="still') == 5


def test_the_pdf_report_draws_every_still(ten_reps, tmp_path):
    from hingecoach.report import write_pdf

    db, sid, _ = ten_reps
    with_stills, without = tmp_path / "a.pdf", tmp_path / "b.pdf"
    d = _report(db, sid)
    write_pdf(d, with_stills)
    d.stills = ()
    write_pdf(d, without)
    images = len(re.findall(rb"/Subtype\s*/Image", with_stills.read_bytes()))
    assert images - len(re.findall(rb"/Subtype\s*/Image", without.read_bytes())) == 12  # the pair and ten
    assert with_stills.stat().st_size < 4_000_000


def test_a_batch_save_of_a_video_carries_its_stills(clip):
    """``hingecoach batch --save`` stores a video as ``analyze --save`` does: with its stills."""
    from hingecoach.analysis import AnalysisSettings
    from hingecoach.batch.plan import Job
    from hingecoach.batch.worker import _save_payload

    a = analyse(*clip)
    assert a.stills == []
    payload = _save_payload(Job(path=str(clip[0]), recording_id="sim"), a, AnalysisSettings())
    assert [s.verdict for s in payload.analysis.stills] == ["ok", "lumbar_rounding", "ok"]
    assert payload.raw is None
