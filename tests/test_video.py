"""Video files and webcams as sources: times from the frames, rotation from the file,
and bad input as one line (PyAV writes the test videos; no real data needed)."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hingecoach.cli import app
from hingecoach.core.errors import InputError
from hingecoach.sources.video import VideoReader, iter_webcam, parse_webcam, probe_video, read_ahead

pytestmark = pytest.mark.camera
runner = CliRunner()


def write_video(path: Path, frames: list[np.ndarray], *, rate: int = 25, times: list[float] | None = None,
                rotation: int = 0, faststart: bool = False) -> Path:
    import av

    h, w = frames[0].shape[:2]
    opts = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=opts) as out:
        s = out.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        if rotation:
            s.set_display_rotation(rotation)
        if times is not None:
            s.codec_context.time_base = Fraction(1, 1000)
        for k, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            if times is not None:
                f.pts, f.time_base = round(times[k] * 1000), Fraction(1, 1000)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def pattern(n: int, h: int = 96, w: int = 64) -> list[np.ndarray]:
    """Frames with a bright block in the top-left corner (to see rotations) moving down."""
    out = []
    for k in range(n):
        img = np.full((h, w, 3), 60, np.uint8)
        img[4 + k % 20:20 + k % 20, 4:20] = 250
        out.append(img)
    return out


def test_times_come_from_the_frames(tmp_path):
    p = write_video(tmp_path / "a.mp4", pattern(30), rate=25)
    r = VideoReader(p)
    got = list(r)
    assert r.info.fps == pytest.approx(25.0) and (r.info.width, r.info.height) == (64, 96)
    assert [i for i, _, _ in got] == list(range(30))
    assert np.allclose([t for _, t, _ in got], np.arange(30) / 25, atol=1e-6)
    assert got[0][2].shape == (96, 64, 3) and got[0][2].dtype == np.uint8


def test_variable_frame_rate_keeps_each_frames_time(tmp_path):
    times = [0.0, 0.04, 0.08, 0.2, 0.24, 0.5, 0.54, 0.58]
    p = write_video(tmp_path / "vfr.mp4", pattern(len(times)), rate=25, times=times)
    assert np.allclose([t for _, t, _ in VideoReader(p)], times, atol=1e-3)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_from_the_file_is_undone(tmp_path, rotation):
    """A phone stores portrait video as rotated landscape plus a display rotation: the
    reader gives the picture as it should be shown."""
    upright = pattern(5)
    stored = [np.ascontiguousarray(np.rot90(f, -rotation // 90)) for f in upright]
    p = write_video(tmp_path / "rot.mp4", stored, rotation=rotation)
    info = probe_video(p)
    assert (info.width, info.height) == (64, 96) and info.rotation_deg == rotation % 360
    first = next(iter(VideoReader(p)))[2]
    assert first.shape == upright[0].shape
    assert np.abs(first.astype(int) - upright[0].astype(int)).mean() < 6  # codec noise only


def test_not_a_video_empty_and_missing_are_one_line_errors(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 100)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for path, found in ((text, "no video decoder can read"), (empty, "an empty file"),
                        (tmp_path / "missing.mp4", "no such file")):
        with pytest.raises(InputError, match=found):
            VideoReader(path)
        res = runner.invoke(app, ["analyze", str(path)])
        assert res.exit_code == 2, res.output
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in res.output


def test_truncated_file_gives_the_frames_before_the_damage(tmp_path):
    full = write_video(tmp_path / "full.mp4", pattern(200, 240, 160), faststart=True)
    raw = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(raw[: len(raw) // 2])
    r = VideoReader(cut)
    n = sum(1 for _ in r)
    assert 20 < n < 200
    assert r.warnings and f"declares 200 frames but only {n} could be decoded" in r.warnings[0]


def test_a_truncated_file_decoded_ahead_gives_the_same_frames_and_warning(tmp_path):
    """``read_ahead`` (analyze's decoding on a thread) over a damaged file: the frames
    before the damage, and the reader's warning is there once the frames are consumed."""
    full = write_video(tmp_path / "full.mp4", pattern(200, 240, 160), faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    direct = [i for i, _, _ in VideoReader(cut)]
    r = VideoReader(cut)
    ahead = [i for i, _, _ in read_ahead(r)]
    assert ahead == direct and 20 < len(ahead) < 200
    assert r.warnings and f"only {len(ahead)} could be decoded" in r.warnings[0]


def test_truncated_file_without_its_index_is_an_error(tmp_path):
    full = write_video(tmp_path / "full.mp4", pattern(60))  # index (moov) at the end
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[:-2000])
    with pytest.raises(InputError, match="no video decoder can read"):
        VideoReader(cut)


class FakeCapture:
    def __init__(self, frames: int, opened: bool = True) -> None:
        self.left, self.opened, self.released = frames, opened, False

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.left == 0:
            return False, None
        self.left -= 1
        img = np.zeros((4, 4, 3), np.uint8)
        img[..., 0] = 255  # blue in OpenCV's BGR
        return True, img

    def release(self) -> None:
        self.released = True


def test_webcam_frames_are_timed_at_capture_and_converted_to_rgb():
    cap = FakeCapture(3)
    clock = iter([10.0, 10.1, 10.2, 10.3, 10.4]).__next__
    got = list(iter_webcam(0, opener=lambda i: cap, clock=clock))
    assert [t for _, t, _ in got] == pytest.approx([0.1, 0.2, 0.3])
    assert got[0][2][0, 0].tolist() == [0, 0, 255] and cap.released
    assert parse_webcam("webcam:2") == 2 and parse_webcam("webcam") == 0 and parse_webcam("cam.mp4") is None


def test_webcam_capture_stops_when_asked_and_keeps_what_was_filmed():
    import threading

    stop = threading.Event()
    got = []
    for i, _t, _rgb in iter_webcam(0, opener=lambda i: FakeCapture(100), stop=stop):
        got.append(i)
        if i == 4:
            stop.set()  # what Ctrl-C does in the CLI
    assert got == [0, 1, 2, 3, 4]


def test_a_webcam_that_does_not_open_is_an_error():
    with pytest.raises(InputError, match="no camera at index 3"):
        list(iter_webcam(3, opener=lambda i: FakeCapture(0, opened=False)))


def test_overlay_needs_a_video():
    res = runner.invoke(app, ["analyze", "src/hingecoach/data/demo.csv", "--overlay", "x.mp4"])
    assert res.exit_code == 2 and "needs a video" in res.output


def test_first_ctrl_c_ends_a_webcam_recording_second_interrupts():
    import os
    import signal

    from hingecoach.analysis import _ctrl_c_stops

    with _ctrl_c_stops() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(2.0)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            stop.wait(2.0)  # the handler runs here, in the main thread
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
