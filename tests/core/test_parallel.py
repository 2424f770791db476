"""The two-process paths (CSV halves, the two sensors' filters) give exactly what the
serial paths give, report failures of the child as "do it here", and leave no process
behind."""

import io
import os
import signal
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hingecoach.core.errors import InputError
from hingecoach.core.parallel import ForkedCall, can_fork
from hingecoach.orientation.fusion import FusionJob, FusionSettings, fuse_pair
from hingecoach.sources import _table, read_recording, write_imu_csv
from hingecoach.sources._table import plain_decimals
from hingecoach.sources.simulator import SimSettings, simulate

needs_fork = pytest.mark.skipif(not can_fork(), reason="no fork here: the serial path is the only one")


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@needs_fork
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


@needs_fork
@pytest.mark.parametrize("fn", [_boom, _killed])
def test_a_failing_child_is_reported_as_none(fn):
    with ForkedCall(fn) as child:
        pid = child._pid
        assert child.result() is None
    assert pid is not None and _gone(pid)


def _forever() -> bytes:
    while True:
        signal.pause()


@needs_fork
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


@needs_fork
def test_two_halves_read_exactly_like_one(monkeypatch, long_csv):
    serial, parallel = _both_ways(monkeypatch, long_csv)
    assert not isinstance(parallel, str) and len(parallel) > 1000
    _same(serial, parallel)


@needs_fork
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


@needs_fork
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


@needs_fork
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


@needs_fork
def test_the_parent_parses_the_second_half_when_the_child_fails(monkeypatch, long_csv):
    serial, _ = _both_ways(monkeypatch, long_csv)
    monkeypatch.setattr(ForkedCall, "result", lambda self: None)
    _, fallback = _both_ways(monkeypatch, long_csv)
    _same(serial, fallback)


@needs_fork
def test_fusing_the_sensors_in_two_processes_is_exact():
    rec, _, _ = simulate(SimSettings(pattern="mixed", reps=4, seed=12, dropouts=2, clock_jitter=0.2))
    results = []
    for limit in (10**9, 1):
        st = FusionSettings(parallel_min_samples=limit)
        jobs = [FusionJob(rec.sample_rate_hz, np.zeros(3), rec[f"{s}_acc"][0], st, rec.time_s,
                          rec[f"{s}_gyr"], rec[f"{s}_acc"]) for s in ("lower", "upper")]
        results.append(fuse_pair(jobs))
    for a, b in zip(*results, strict=True):
        assert np.array_equal(a.ups, b.ups) and a.quaternions is None and b.quaternions is None


_plain = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.6f}"),
    st.tuples(st.floats(-1e3, 1e3, allow_nan=False), st.integers(1, 9)).map(lambda a: f"{a[0]:.{a[1]}f}"),
    st.sampled_from(["-0.000000", "0.0", "-.5", "5.", "007.250", "-0.0001", "123456789012.345"]),
)
NOT_PLAIN = ("1234567890123.456", "1e5", "nan", " 1.0", "+1.0", ".", "-", "1.2.3", "--1.0", "1.0\r", "",
             "#", "1,0", "12")
_other = st.sampled_from(NOT_PLAIN)


def _text(rows: list[list[str]], final_newline: bool) -> str:
    return "\n".join(",".join(r) for r in rows) + ("\n" if final_newline else "")


def _loadtxt_or_none(text: str) -> np.ndarray | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2, comments="#")
    except ValueError:
        return None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_plain, min_size=3, max_size=3), min_size=1, max_size=8))
def test_plain_decimals_are_exactly_what_loadtxt_reads(rows):
    text = _text(rows, True)
    fast = plain_decimals(text.encode(), 3)
    assert fast is not None
    ref = _loadtxt_or_none(text)
    assert ref is not None
    assert np.array_equal(fast, ref)
    assert np.array_equal(np.signbit(fast), np.signbit(ref))  # -0.0 stays -0.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.one_of(_plain, _other), min_size=3, max_size=3), min_size=1, max_size=4),
       st.booleans())
def test_anything_else_is_left_to_loadtxt(rows, final_newline):
    text = _text(rows, final_newline)
    fast = plain_decimals(text.encode(), 3)
    if any(f in NOT_PLAIN for r in rows for f in r) or not final_newline:
        assert fast is None
    else:
        ref = _loadtxt_or_none(text)
        assert fast is not None and ref is not None
        assert np.array_equal(fast, ref) and np.array_equal(np.signbit(fast), np.signbit(ref))


def test_our_own_files_take_the_plain_path(long_csv):
    body = long_csv.read_bytes().split(b"\n", 2)[2]
    fast = plain_decimals(body, 13)
    assert fast is not None
    assert np.array_equal(fast, np.loadtxt(io.BytesIO(body), delimiter=","))
