"""A robustness corpus for the camera path: the shared clips changed the way phones and
people change them, written with PyAV (H.264) outside the repository.

Run: python benchmarks/camera_corpus.py [--out DIR] [--data DATA_DIR] [--posecache DIR]
         [--clips 0016c_1 ...] [--transforms mirror quarter ...] [--max-s S] [--every N]

A quick corpus (``--max-s 9 --every 2``: the first 9 s at half the frame rate) also
writes ``plain`` (the excerpt unchanged), which the robustness runner then takes as the
baseline instead of the whole source clip.

Default out: /tmp/hingecoach-corpus (never the repository: the clips are borrowed data).
Each transformation is *benign* (the person, the movement and the view are unchanged:
rep counts and verdicts should stay) or not (a sideways or upside-down picture: the
analysis must not crash and must not guess). Transformations that need to know where the
person is and when the reps happen (crop, trims, pasted people) read it from a pose cache
(``--posecache``: one npz per clip with ``xy``, ``mask``, ``time_s``, as written by the
camera helpers), or run hingecoach once on the source clip. Frame times are kept (each
frame is written at its source timestamp), so dropped frames and variable frame rates are
real in the output. ``corpus.json`` in the output folder lists every clip with its
source, transformation, whether it is benign and what is expected.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data"

Frames = Iterator[tuple[float, np.ndarray]]


@dataclass
class Source:
    """A source clip with what the transformations need to know about it."""

    path: Path
    times: np.ndarray  # (n,) s
    boxes: np.ndarray  # (n, 4) x0, y0, x1, y1 of the person (NaN when not found)
    masks: np.ndarray | None  # (n, mh, mw) uint8 person mask, or None
    reps: list[tuple[float, float, float]]  # (start, bottom, end) s of the complete reps
    rotation: int

    def frames(self) -> Frames:
        """(time, rgb) of every decoded frame, rotation undone."""
        from hingecoach.sources.video import VideoReader

        for _, t, rgb in VideoReader(self.path):
            yield t, rgb

    def mask_at(self, k: int, shape: tuple[int, int]) -> np.ndarray:
        """The person's mask (0-1 float) of frame k at the frame's size."""
        import cv2

        if self.masks is None or k >= len(self.masks):
            return np.zeros(shape, np.float32)
        return np.asarray(cv2.resize(self.masks[k].astype(np.float32) / 255.0, (shape[1], shape[0])))


def load_source(path: Path, posecache: Path | None) -> Source:
    """The clip's person boxes, masks and reps: from the pose cache when there is one,
    else from one run of hingecoach's analysis."""
    from hingecoach.sources.video import probe_video

    rotation = probe_video(path).rotation_deg
    npz = posecache / f"{path.stem}.npz" if posecache else None
    if npz is not None and npz.exists():
        d = np.load(npz)
        xy = d["xy"].astype(np.float64)
        boxes = np.column_stack([np.nanmin(xy[..., 0], 1), np.nanmin(xy[..., 1], 1),
                                 np.nanmax(xy[..., 0], 1), np.nanmax(xy[..., 1], 1)])
        reps = _reps_from_cache(d)
        return Source(path, d["time_s"], boxes, d["mask"], reps, rotation)
    from hingecoach.analysis import analyze_video

    a = analyze_video(path)
    assert a.camera is not None
    times = np.array([m.time_s for m in a.camera.frames])
    xy = np.array([m.xy for m in a.camera.frames])
    boxes = np.column_stack([xy[..., 0].min(1), xy[..., 1].min(1), xy[..., 0].max(1), xy[..., 1].max(1)])
    return Source(path, times, boxes, None, [(m.start_s, m.bottom_s, m.end_s) for m in a.reps], rotation)


def _reps_from_cache(d: Any) -> list[tuple[float, float, float]]:
    """Replay the cached poses through the analysis to find the reps."""
    from hingecoach.analysis import analyze_camera

    return [(m.start_s, m.bottom_s, m.end_s) for m in analyze_camera(replay_cache(d)).reps]


def replay_cache(d: Any, settings: Any = None) -> Any:
    """The CameraResult of a clip's cached poses (an npz path or its loaded arrays)."""
    import cv2

    from hingecoach.core.pose_types import PoseFrame
    from hingecoach.pose.camera import video_angles

    if isinstance(d, Path):
        d = np.load(d)
    w, h = int(d["width"]), int(d["height"])
    found, xy, z, vis, masks = d["found"], d["xy"], d["z"], d["visibility"], d["mask"]
    others = d["other_people"]

    class Replay:
        k = 0

        def process(self, rgb: np.ndarray) -> PoseFrame | None:
            k, self.k = self.k, self.k + 1
            if not found[k]:
                return None
            m = cv2.resize(masks[k].astype(np.float32) / 255.0, (w, h))
            o = int(others[k])
            return PoseFrame(xy=xy[k].astype(np.float64), z=z[k].astype(np.float64),
                             visibility=vis[k].astype(np.float64), mask=m, width=w, height=h,
                             other_people=None if o < 0 else o)

        def close(self) -> None:
            pass

    dummy = np.zeros((2, 2, 3), np.uint8)
    return video_angles(((int(i), float(t), dummy) for i, t in zip(d["index"], d["time_s"], strict=True)),
                        Replay(), source=str(d["source"]), settings=settings)


def write(path: Path, frames: Frames, rotation: int = 0) -> int:
    """H.264 at each frame's own time (1 ms time base); ``rotation``: display matrix."""
    import av

    n = 0
    with av.open(str(path), "w") as out:
        s = None
        t0 = None
        last = -1
        for t, img in frames:
            img = np.ascontiguousarray(img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2])
            if s is None:
                s = out.add_stream("libx264", rate=60)
                s.height, s.width = img.shape[:2]
                s.pix_fmt = "yuv420p"
                s.codec_context.time_base = Fraction(1, 1000)
                if rotation:
                    s.set_display_rotation(rotation)
                t0 = t
            assert t0 is not None
            pts = round((t - t0) * 1000)
            if pts <= last:
                continue
            last = pts
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = pts, Fraction(1, 1000)
            for p in s.encode(f):
                out.mux(p)
            n += 1
        if s is not None:
            for p in s.encode():
                out.mux(p)
    return n


# -- the transformations: (source, frames) -> frames ------------------------------------------
def _map(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Source, Frames], Frames]:
    def run(src: Source, frames: Frames) -> Frames:
        for t, img in frames:
            yield t, fn(img)
    return run


def _quarter(img: np.ndarray) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    return np.asarray(cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA))


def _letterbox(img: np.ndarray) -> np.ndarray:
    """Portrait into 16:9 landscape (black bars left and right), or landscape into portrait."""
    h, w = img.shape[:2]
    if h >= w:
        W = round(h * 16 / 9)
        out = np.zeros((h, W, 3), np.uint8)
        x = (W - w) // 2
        out[:, x:x + w] = img
    else:
        H = round(w * 16 / 9)
        out = np.zeros((H, w, 3), np.uint8)
        y = (H - h) // 2
        out[y:y + h] = img
    return out


def _contrast(gain: float, bias: float) -> Callable[[np.ndarray], np.ndarray]:
    def fn(img: np.ndarray) -> np.ndarray:
        return np.clip(img.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)
    return fn


def _crop(src: Source, frames: Frames) -> Frames:
    """A fixed crop around everywhere the person goes, with a margin of 15 %."""
    b = src.boxes[np.all(np.isfinite(src.boxes), axis=1)]
    x0, y0 = np.min(b[:, 0]), np.min(b[:, 1])
    x1, y1 = np.max(b[:, 2]), np.max(b[:, 3])
    mx, my = 0.15 * (x1 - x0), 0.15 * (y1 - y0)
    for t, img in frames:
        h, w = img.shape[:2]
        a, c = int(max(0, x0 - mx)), int(min(w, x1 + mx))
        b0, d = int(max(0, y0 - my)), int(min(h, y1 + my))
        yield t, img[b0:d, a:c]


def _drop(src: Source, frames: Frames) -> Frames:
    """Every third frame dropped (the times of the others kept)."""
    for k, (t, img) in enumerate(frames):
        if k % 3 != 2:
            yield t, img


def _vfr(src: Source, frames: Frames) -> Frames:
    """A variable frame rate: runs of frames dropped at random (seeded), as a phone does
    when it is busy."""
    rng = np.random.default_rng(7)
    skip = 0
    for t, img in frames:
        if skip > 0:
            skip -= 1
            continue
        if rng.random() < 0.08:
            skip = int(rng.integers(1, 4))
        yield t, img


def _trim_bottom(src: Source, frames: Frames) -> Frames:
    """Start at the bottom of the first rep (as a deadlift from the floor does)."""
    start = src.reps[0][1] if src.reps else 0.0
    for t, img in frames:
        if t >= start:
            yield t, img


def _trim_one(src: Source, frames: Frames) -> Frames:
    """One rep: from 0.3 s before the start of the middle rep to 0.3 s after its end."""
    if not src.reps:
        yield from frames
        return
    s, _, e = src.reps[len(src.reps) // 2]
    for t, img in frames:
        if s - 0.3 <= t <= e + 0.3:
            yield t, img


def _sprite(src: Source, img: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The person of frame k cut out by their mask: (rgb, alpha) of their box."""
    m = src.mask_at(k, img.shape[:2])
    b = src.boxes[k]
    if not np.all(np.isfinite(b)):
        return np.zeros((1, 1, 3), np.uint8), np.zeros((1, 1), np.float32)
    h, w = img.shape[:2]
    x0, y0 = int(max(0, b[0] - 10)), int(max(0, b[1] - 30))
    x1, y1 = int(min(w, b[2] + 10)), int(min(h, b[3] + 10))
    return img[y0:y1, x0:x1].copy(), m[y0:y1, x0:x1]


def _paste(img: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, x: int, y: int, scale: float
           ) -> np.ndarray:
    import cv2

    if rgb.size <= 3:
        return img
    sh, sw = max(1, int(rgb.shape[0] * scale)), max(1, int(rgb.shape[1] * scale))
    rgb = cv2.resize(rgb, (sw, sh))
    alpha = cv2.resize(alpha, (sw, sh))[..., None]
    h, w = img.shape[:2]
    xa, ya, xb, yb = max(0, x), max(0, y), min(w, x + sw), min(h, y + sh)
    if xa >= xb or ya >= yb:
        return img
    out = img.copy()
    region = out[ya:yb, xa:xb].astype(np.float32)
    s_rgb = rgb[ya - y:yb - y, xa - x:xb - x].astype(np.float32)
    s_a = alpha[ya - y:yb - y, xa - x:xb - x]
    out[ya:yb, xa:xb] = (region * (1 - s_a) + s_rgb * s_a).astype(np.uint8)
    return out


def _second_person(src: Source, frames: Frames) -> Frames:
    """A second, smaller person standing in the background (the lifter's own standing
    cut-out from the first frame, mirrored, at 55 % size, on the emptier side), behind the
    lifter."""
    sprite = None
    for k, (t, img) in enumerate(frames):
        if sprite is None:
            rgb, a = _sprite(src, img, 0)
            sprite = (rgb[:, ::-1], a[:, ::-1])
            b = src.boxes[np.all(np.isfinite(src.boxes), axis=1)]
            cx = float(np.median((b[:, 0] + b[:, 2]) / 2)) if b.size else img.shape[1] / 2
            w = img.shape[1]
            sw = int(sprite[0].shape[1] * 0.55)
            x = 5 if cx > w / 2 else w - sw - 5
            feet = float(np.median(b[:, 3])) if b.size else img.shape[0] * 0.9
            y = int(feet - 0.04 * img.shape[0] - sprite[0].shape[0] * 0.55)  # further back: higher
        out = _paste(img, sprite[0], sprite[1], x, y, 0.55)
        yield t, _keep_lifter(src, k, img, out)


def _walker(src: Source, frames: Frames) -> Frames:
    """A second person walking through behind the lifter, across the whole width in 3 s
    from 2 s on, at 80 % size."""
    sprite = None
    for k, (t, img) in enumerate(frames):
        if sprite is None:
            sprite = _sprite(src, img, 0)
            t_start = t + 2.0
            b = src.boxes[np.all(np.isfinite(src.boxes), axis=1)]
            feet = float(np.median(b[:, 3])) if b.size else img.shape[0] * 0.9
            y = int(feet - 0.02 * img.shape[0] - sprite[0].shape[0] * 0.8)
        u = (t - t_start) / 3.0
        out = img
        if 0 <= u <= 1:
            w = img.shape[1]
            sw = int(sprite[0].shape[1] * 0.8)
            x = int(-sw + u * (w + sw))
            out = _paste(img, sprite[0], sprite[1], x, y, 0.8)
        yield t, _keep_lifter(src, k, img, out)


def _keep_lifter(src: Source, k: int, img: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The lifter stays in front: their own pixels over whatever was pasted."""
    if src.masks is None:
        return out
    m = src.mask_at(k, img.shape[:2])[..., None]
    return (out.astype(np.float32) * (1 - m) + img.astype(np.float32) * m).astype(np.uint8)


@dataclass(frozen=True)
class Transform:
    """One transformation: its name, what it does, whether it is benign, the rotation
    written into the file, and the expected rep count change."""

    name: str
    run: Callable[[Source, Frames], Frames]
    benign: bool
    rotation: int = 0
    expect: str = "same reps and verdicts"


TRANSFORMS: dict[str, Transform] = {t.name: t for t in [
    Transform("plain", _map(lambda im: im), True, expect="the baseline of an excerpt (--max-s, --every)"),
    Transform("mirror", _map(lambda im: np.ascontiguousarray(im[:, ::-1])), True),
    Transform("rot90_meta", _map(lambda im: np.ascontiguousarray(np.rot90(im, -1))), True, rotation=90),
    Transform("rot180_meta", _map(lambda im: np.ascontiguousarray(np.rot90(im, 2))), True, rotation=180),
    Transform("rot90_raw", _map(lambda im: np.ascontiguousarray(np.rot90(im, -1))), False,
              expect="no crash; a sideways picture: no confident wrong verdict"),
    Transform("rot180_raw", _map(lambda im: np.ascontiguousarray(np.rot90(im, 2))), False,
              expect="no crash; an upside-down picture: no confident wrong verdict"),
    Transform("quarter", _map(_quarter), True),
    Transform("crop", _crop, True),
    Transform("letterbox", _map(_letterbox), True),
    Transform("bright", _map(_contrast(0.8, 60.0)), True),
    Transform("dark", _map(_contrast(0.55, 0.0)), True),
    Transform("drop", _drop, True),
    Transform("vfr", _vfr, True),
    Transform("trim_bottom", _trim_bottom, True, expect="same reps and verdicts (the first lift from the bottom)"),
    Transform("trim_one", _trim_one, True, expect="one rep, the middle rep's verdict"),
    Transform("second_person", _second_person, True),
    Transform("walker", _walker, True),
]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/hingecoach-corpus"))
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--posecache", type=Path, default=None)
    ap.add_argument("--clips", nargs="*", default=[f"0016{x}_{v}" for v in (1, 2) for x in "achkr"])
    ap.add_argument("--transforms", nargs="*", default=list(TRANSFORMS))
    ap.add_argument("--max-s", type=float, default=None, help="keep only the first S seconds of each source")
    ap.add_argument("--every", type=int, default=1, help="keep every N-th frame of the source (a quick corpus)")
    a = ap.parse_args(argv)
    if HERE.parent in a.out.resolve().parents or a.out.resolve() == HERE.parent:
        sys.exit("error: the corpus is borrowed data: write it outside the repository")
    a.out.mkdir(parents=True, exist_ok=True)
    index_path = a.out / "corpus.json"
    index: dict[str, Any] = json.loads(index_path.read_text()) if index_path.exists() else {}
    for stem in a.clips:
        path = next(iter(sorted(a.data.glob(f"video/**/{stem}.mp4"))), None)
        if path is None:
            print(f"skip {stem}: not found under {a.data}/video", file=sys.stderr)
            continue
        src = load_source(path, a.posecache)
        for name in a.transforms:
            tr = TRANSFORMS[name]
            dst = a.out / f"{stem}__{name}.mp4"
            if not dst.exists():
                frames = (f for k, f in enumerate(src.frames()) if k % a.every == 0)
                if a.max_s is not None:
                    frames = ((t, im) for t, im in frames if t <= a.max_s)
                tmp = dst.with_suffix(".tmp.mp4")
                n = write(tmp, tr.run(src, frames), rotation=tr.rotation)
                if n == 0:
                    print(f"{dst.name}: no frames (nothing to keep)", file=sys.stderr)
                    continue
                tmp.rename(dst)
                print(f"{dst.name}: {n} frames", flush=True)
            index[dst.name] = {"source": str(path), "stem": stem, "transform": name, "benign": tr.benign,
                               "expect": tr.expect, "source_reps": len(src.reps)}
            index_path.write_text(json.dumps(index, indent=1))


if __name__ == "__main__":
    main()
