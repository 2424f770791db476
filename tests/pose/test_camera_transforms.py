"""Metamorphic checks on short real excerpts (MediaPipe; marked camera and realdata): what
phones and people do to a clip (mirror, fewer pixels, letterbox, start at the bottom)
keeps the reps and the verdicts; real clips of other people (the wild set) analyse
without a traceback and say what they could not judge. Kept short for the CI budget: three
reps of the rounded-back side view at 30 frames/s, and two clips of 2-3 s."""

from fractions import Fraction

import numpy as np
import pytest

from hingecoach.analysis import analyze_file

pytestmark = [pytest.mark.realdata, pytest.mark.camera]


def _write(src, dst, *, keep=lambda t: True, transform=lambda im: im, every=2):
    """Frames of ``src`` at times ``keep`` (every ``every``-th), changed by ``transform``,
    written at their own times."""
    import av

    from hingecoach.sources.video import VideoReader

    with av.open(str(dst), "w") as out:
        s = None
        t0 = None
        for i, t, rgb in VideoReader(src):
            if i % every or not keep(t):
                continue
            img = np.ascontiguousarray(transform(rgb))
            img = img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2]
            if s is None:
                s = out.add_stream("libx264", rate=30)
                s.height, s.width = img.shape[:2]
                s.pix_fmt = "yuv420p"
                s.codec_context.time_base = Fraction(1, 1000)
                t0 = t
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            f.pts, f.time_base = round((t - t0) * 1000), Fraction(1, 1000)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return dst


def _quarter(im):
    import cv2

    return cv2.resize(im[:, ::-1], (im.shape[1] // 2, im.shape[0] // 2), interpolation=cv2.INTER_AREA)


def _letterbox(im):
    h, w = im.shape[:2]
    out = np.zeros((h, round(h * 16 / 9), 3), np.uint8)
    x = (out.shape[1] - w) // 2
    out[:, x:x + w] = im
    return out


@pytest.fixture(scope="module")
def rounded(shared_data, tmp_path_factory):
    """The first three reps of the rounded-back side view (0-8.8 s), at 30 frames/s."""
    src = shared_data / "video" / "deadlift-side-and-oblique" / "0016r_1.mp4"
    tmp = tmp_path_factory.mktemp("transforms")
    return src, tmp


@pytest.mark.parametrize("name", ["plain", "mirrored_quarter", "letterboxed_from_the_bottom"])
def test_benign_changes_keep_reps_and_verdicts(rounded, name):
    src, tmp = rounded
    if name == "plain":
        clip = _write(src, tmp / "plain.mp4", keep=lambda t: t <= 8.8)
    elif name == "mirrored_quarter":
        clip = _write(src, tmp / "mq.mp4", keep=lambda t: t <= 8.8, transform=_quarter)
    else:  # from the bottom of the first rep (2.9 s) on, portrait letterboxed into landscape
        clip = _write(src, tmp / "lb.mp4", keep=lambda t: 2.9 <= t <= 8.8, transform=_letterbox)
    a = analyze_file(clip)
    v = a.camera_verdict
    assert len(a.reps) == 3, [(m.start_s, m.end_s) for m in a.reps]
    flagged = ["lumbar_rounding" in m.faults for m in a.reps]
    if name == "letterboxed_from_the_bottom":
        # without the standing start the upright zero is a lockout between reps, and the
        # later, borderline reps can fall either side (README: robustness); the clear first
        # lift from the bottom is flagged
        assert flagged[0]
    else:  # the bar on the whole clip is 8 of 10 rounded reps flagged
        assert sum(flagged) >= 2
    assert not any("squatting" in m.faults for m in a.reps)
    assert v.verdict == "faults" and all(j.judged for j in v.reps) and v.view.view == "side"
    if name == "letterboxed_from_the_bottom":
        assert v.reps[0].kind == "from_bottom"


@pytest.mark.parametrize(("clip", "kind"), [("deadlift_side_posereader_1.mp4", "from_bottom"),
                                            ("kbdeadlift_side_tobefrank_2.mp4", "from_bottom")])
def test_wild_side_clips_that_start_at_the_bottom_give_their_lift(shared_data, clip, kind):
    """Barbell and kettlebell deadlifts filmed by others, starting at the floor: one lift,
    judged from the side; a lowering at the end is a partial rep, named as such."""
    a = analyze_file(shared_data / "video" / "wild" / clip)
    d = a.to_json()
    assert len(a.reps) == 1 and d["reps"][0]["kind"] == kind and d["reps"][0]["judged"] is True
    assert d["verdict"]["view"]["view"] == "side" and d["verdict"]["clip"] in ("good", "faults")
    assert all(r["kind"] == "partial" for r in d["incomplete_reps"])


def test_a_still_double_in_view_does_not_take_the_pose_from_the_lifter(rounded):
    """A second person of the lifter's own size, standing still beside them (the clip's
    first frame pasted into the letterbox margin): without the lifter crop BlazePose
    tracks the double for the whole clip; with it the analysis follows the lifter, the
    moving, central one, and warns that someone else is in view."""
    src, tmp = rounded
    first = {}

    def double(im):
        if "im" not in first:
            first["im"] = im.copy()
        out = _letterbox(im)
        out[:, : im.shape[1]] = first["im"]
        return out

    a = analyze_file(_write(src, tmp / "double.mp4", keep=lambda t: t <= 8.8, transform=double))
    assert len(a.reps) == 3 and sum("lumbar_rounding" in m.faults for m in a.reps) >= 2
    assert any("other people in view" in w for w in a.warnings)
    w = a.info["video"]["width"] if "video" in a.info else None
    hips = np.array([0.5 * (m.xy[23, 0] + m.xy[24, 0]) for m in a.camera.frames])
    lifter_x0 = (round(640 * 16 / 9) - 360) // 2  # the lifter's strip in the letterboxed frame
    off = np.count_nonzero((hips < lifter_x0) | (hips > lifter_x0 + 360))
    assert off <= 2, (off, w)


def test_a_lift_filmed_from_behind_is_never_judged(shared_data):
    """A sumo deadlift filmed from behind at an angle (the lifter's back turned to the
    camera, the shoulders and hips 0.38 of the trunk length apart, as a near-side view would
    measure): not judged, and the reason says it was seen from behind."""
    a = analyze_file(shared_data / "video" / "wild" / "sumodeadlift_back_gymappai_1.mp4")
    d = a.to_json()
    v = d["verdict"]
    assert v["view"]["turned"] == "away" and v["view"]["view"] in ("oblique", "front/back")
    assert v["clip"] == "cannot_judge" and d["reps"] and not any(r["judged"] for r in d["reps"])
    assert all("from behind" in r["not_judged_because"] for r in d["reps"])
