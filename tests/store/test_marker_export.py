"""Landmarks as .trc (read back by a parser of the published format) and .c3d (read back
by ezc3d), in metres from the height or in pixels."""

from __future__ import annotations

import numpy as np
import pytest

from hingecoach.core.pose_types import ANKLE, SHOULDER
from hingecoach.store.backend import StoreError
from hingecoach.store.markers import BLAZEPOSE_NAMES, markers_from_landmarks, trc_text, write_c3d


def landmarks(n: int = 90, rate: float = 30.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(time, (n, 33, 2) pixels): a standing person whose left shoulder is 600 px above
    the left ankle, everything else random, with some sway."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    xy = rng.uniform(100, 900, (n, 33, 2))
    xy[:, ANKLE["left"]] = [400.0, 950.0]
    xy[:, SHOULDER["left"]] = [400.0, 350.0]
    xy += rng.normal(0, 0.5, xy.shape)
    return t, xy


def parse_trc(text: str) -> tuple[dict[str, str], list[str], np.ndarray]:
    """TRC as published: PathFileType line, a line of keys and one of their values, the
    marker-name line (each name then two empty cells), the X1/Y1/Z1 line, rows."""
    lines = text.split("\n")
    keys, values = lines[1].split("\t"), lines[2].split("\t")
    header = dict(zip(keys, values, strict=True))
    names = [c for c in lines[3].split("\t")[2:] if c]
    rows = np.array([[float(v) for v in ln.split("\t")] for ln in lines[5:] if ln.strip()])
    return header, names, rows


def test_trc_in_metres_reads_back():
    t, xy = landmarks()
    m = markers_from_landmarks(t, xy, image_height=1080, height_m=1.80)
    header, names, rows = parse_trc(trc_text(m, "s.trc"))
    assert header["Units"] == "m" and float(header["DataRate"]) == pytest.approx(30.0)
    assert int(header["NumFrames"]) == rows.shape[0] == 90
    assert int(header["NumMarkers"]) == len(names) == 33 and tuple(names) == BLAZEPOSE_NAMES
    assert rows.shape[1] == 2 + 3 * 33
    assert np.allclose(rows[:, 1], t, atol=1e-6)
    pos = rows[:, 2:].reshape(90, 33, 3)
    # shoulder above ankle (Y up) by 0.779 of 1.80 m
    dy = pos[:, SHOULDER["left"], 1] - pos[:, ANKLE["left"], 1]
    assert np.median(dy) == pytest.approx(0.779 * 1.80, rel=1e-3)
    assert np.all(pos[..., 2] == 0.0)


def test_trc_without_a_height_is_in_pixels_with_y_up():
    t, xy = landmarks(n=10)
    header, _, rows = parse_trc(trc_text(markers_from_landmarks(t, xy, image_height=1080)))
    assert header["Units"] == "px"
    pos = rows[:, 2:].reshape(10, 33, 3)
    assert np.allclose(pos[..., 0], xy[..., 0], atol=1e-3)
    assert np.allclose(pos[..., 1], 1080 - xy[..., 1], atol=1e-3)


def test_c3d_reads_back_with_ezc3d(tmp_path):
    ezc3d = pytest.importorskip("ezc3d")
    t, xy = landmarks()
    m = markers_from_landmarks(t, xy, image_height=1080, height_m=1.65)
    p = write_c3d(tmp_path / "s.c3d", m)
    c = ezc3d.c3d(str(p))
    assert c["parameters"]["POINT"]["LABELS"]["value"] == list(BLAZEPOSE_NAMES)
    assert c["parameters"]["POINT"]["UNITS"]["value"] == ["m"]
    assert c["parameters"]["POINT"]["RATE"]["value"][0] == pytest.approx(30.0)
    pts = c["data"]["points"]  # (4, markers, frames)
    assert pts.shape == (4, 33, 90)
    assert np.allclose(np.transpose(pts[:3], (2, 1, 0)), m.xyz, atol=1e-5)


def test_wrong_shape_is_one_clear_error():
    with pytest.raises(StoreError, match="expected"):
        markers_from_landmarks(np.arange(3.0), np.zeros((3, 17, 2)), image_height=100)
