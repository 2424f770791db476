"""The two-process paths (CSV halves, the two sensors' filters) give exactly what the
serial paths give, report failures of the child as "do it here", and leave no process
behind."""

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from hingecoach.core.errors import InputError
from hingecoach.core.parallel import ForkedCall, can_fork
from hingecoach.orientation.fusion import FusionSettings, fuse_pair
from hingecoach.sources import _table, read_recording, write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate

pytestmark = pytest.mark.skipif(not can_fork(), reason="no fork here: the serial path is the only one")


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_forked_call_returns_the_childs_bytes():
    with ForkedCall(lambda: np.arange(100_000, dtype=np.float64).tobytes()) as child:
        pid = child._pid
        raw = child.result()
    assert raw is not None
    assert np.array_equal(np.frombuffer(raw), np.arange(100_000, dtype=np.float64))
    assert pid is not None and _gone(pid)


def _boom() -> bytes:
    raise ValueError("bad row")


def _killed() -> bytes:
    os.kill(os.getpid(), signal.SIGKILL)
    return b"never"


@pytest.mark.parametrize("fn", [_boom, _killed])
def test_a_failing_child_is_reported_as_none(fn):
    with ForkedCall(fn) as child:
        pid = child._pid
        assert child.result() is None
    assert pid is not None and _gone(pid)


def _forever() -> bytes:
    while True:
        signal.pause()


def test_an_error_in_the_parent_kills_and_reaps_the_child():
    pid = None
    with pytest.raises(KeyboardInterrupt), ForkedCall(_forever) as child:
        pid = child._pid
        raise KeyboardInterrupt  # Ctrl-C while the child still works
    assert pid is not None and _gone(pid)


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory) -> Path:
    rec, _, _ = simulate(SimSettings(pattern="good", reps=3, seed=11))
    p = tmp_path_factory.mktemp("par") / "rec.csv"
    write_imu_csv(p, rec)
    return p


def _both_ways(monkeypatch, path: Path):
    """read_recording serially and in two processes: (serial, parallel) results or errors."""
    out = []
    for limit in (10**12, 1000):
        monkeypatch.setattr(_table, "PARALLEL_MIN_CHARS", limit)
        try:
            out.append(read_recording(path))
        except InputError as e:
            out.append(str(e))
    return out


def _same(a, b) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    assert np.array_equal(a.time_s, b.time_s)
    for k in a.channels:
        assert np.array_equal(a[k], b[k]), k
    assert a.meta["warnings"] == b.meta["warnings"]


def test_two_halves_read_exactly_like_one(monkeypatch, long_csv):
    serial, parallel = _both_ways(monkeypatch, long_csv)
    assert not isinstance(parallel, str) and len(parallel) > 1000
    _same(serial, parallel)


@pytest.mark.parametrize("where", [0.25, 0.5, 0.75, 0.999])
def test_damage_in_either_half_names_the_same_lines(monkeypatch, long_csv, tmp_path, where):
    lines = long_csv.read_text().splitlines()
    k = int(where * (len(lines) - 3)) + 2
    lines[k] = lines[k].replace(",", ",oops", 1)  # one unreadable row: dropped, named
    lines.insert(k + 5, "# a comment in the data")
    lines.insert(k + 9, "")
    p = tmp_path / "damaged.csv"
    p.write_text("\n".join(lines) + "\n")
    serial, parallel = _both_ways(monkeypatch, p)
    _same(serial, parallel)
    assert any(f"line {k + 1})" in w for w in parallel.meta["warnings"])


def test_comment_lines_keep_the_line_numbers_right(monkeypatch, long_csv, tmp_path):
    lines = long_csv.read_text().splitlines()
    n = len(lines)
    lines.insert(n // 3, "# a comment in the data")
    lines.insert(n // 3 + 4, "")
    k = (2 * n) // 3
    lines[k] = "1.0" + lines[k][lines[k].index(","):]  # time goes backwards here
    p = tmp_path / "backwards.csv"
    p.write_text("\n".join(lines) + "\n")
    serial, parallel = _both_ways(monkeypatch, p)
    assert isinstance(serial, str) and serial == parallel
    assert f"line {k + 1}:" in parallel and "backwards" in parallel


def test_fatal_damage_names_the_same_line(monkeypatch, long_csv, tmp_path):
    lines = long_csv.read_text().splitlines()
    half = len(lines) // 2
    for k in range(half + 10, len(lines), 7):  # far more than 1 % bad rows, all in the 2nd half
        lines[k] = lines[k].replace(",", ",x", 1)
    p = tmp_path / "bad.csv"
    p.write_text("\n".join(lines) + "\n")
    serial, parallel = _both_ways(monkeypatch, p)
    assert isinstance(serial, str) and serial == parallel
    assert f"line {half + 11}" in parallel


def test_the_parent_parses_the_second_half_when_the_child_fails(monkeypatch, long_csv):
    serial, _ = _both_ways(monkeypatch, long_csv)
    monkeypatch.setattr(ForkedCall, "result", lambda self: None)
    _, fallback = _both_ways(monkeypatch, long_csv)
    _same(serial, fallback)


def test_fusing_the_sensors_in_two_processes_is_exact():
    rec, _, _ = simulate(SimSettings(pattern="mixed", reps=4, seed=12, dropouts=2, clock_jitter=0.2))
    results = []
    for limit in (10**9, 1):
        st = FusionSettings(parallel_min_samples=limit)
        jobs = [(rec.sample_rate_hz, np.zeros(3), rec[f"{s}_acc"][0], st, rec.time_s,
                 rec[f"{s}_gyr"], rec[f"{s}_acc"]) for s in ("lower", "upper")]
        results.append(fuse_pair(jobs))
    for a, b in zip(*results, strict=True):
        assert np.array_equal(a, b)
