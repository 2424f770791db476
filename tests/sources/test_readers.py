import contextlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_helpers import run_cli
from hingecoach.core.errors import HingecoachError, InputError
from hingecoach.sources import read_recording, write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory) -> Path:
    rec, _, _ = simulate(SimSettings(pattern="good", reps=2, seed=3))
    p = tmp_path_factory.mktemp("rec") / "rec.csv"
    write_imu_csv(p, rec)
    return p


def test_round_trip(sample_csv):
    rec = read_recording(sample_csv)
    sim, _, _ = simulate(SimSettings(pattern="good", reps=2, seed=3))
    assert rec.meta["format"] == "hingecoach-csv"
    assert rec.meta["placement"] == "T12"
    assert np.allclose(rec["upper_gyr"], sim["upper_gyr"], atol=1e-6)
    assert rec.meta["warnings"] == []


def _lines(p: Path) -> list[str]:
    return p.read_text().splitlines()


def _write(tmp_path, lines) -> Path:
    p = tmp_path / "bad.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def _in_g(line: str) -> str:
    first, *rest = line.split(",")
    return ",".join([first] + [f"{float(v) / 9.81:.5f}" for v in rest])


BAD = {
    "missing": (lambda tmp, lines: tmp / "nope.csv", "no such file"),
    "empty": (lambda tmp, lines: _write(tmp, []), "empty file"),
    "binary": (lambda tmp, lines: (tmp / "b.csv").write_bytes(b"\x00\x01\x02" * 100) and tmp / "b.csv",
               "binary"),
    "header_only": (lambda tmp, lines: _write(tmp, lines[:2]), "data rows"),
    "missing_column": (lambda tmp, lines: _write(tmp, [lines[0], lines[1].replace(",upper_gyr_z", "")]
                                                 + [ln.rsplit(",", 1)[0] for ln in lines[2:]]),
                       "upper_gyr_z"),
    "time_backwards": (lambda tmp, lines: _write(tmp, [*lines[:50], lines[40], *lines[50:]]),
                       "backwards"),
    "many_non_numeric": (lambda tmp, lines: _write(tmp, lines[:2] + [ln.replace(",", ",x", 1) if i % 3 == 0 else ln
                                                                     for i, ln in enumerate(lines[2:])]),
                         "a number"),
    "in_g": (lambda tmp, lines: _write(tmp, lines[:2] + [_in_g(ln) for ln in lines[2:]]), "is it in g"),
    "garbage": (lambda tmp, lines: _write(tmp, ["hello,world", "1,2"]), "first line"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_clear_line_and_exit_2(case, sample_csv, tmp_path):
    make, expected = BAD[case]
    path = make(tmp_path, _lines(sample_csv))
    r = run_cli("analyze", str(path))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("error: "), r.stderr
    assert expected in err[0]
    assert path.name in err[0]


def test_a_few_bad_rows_and_a_truncated_end_are_dropped_with_a_warning(sample_csv, tmp_path):
    lines = _lines(sample_csv)
    lines[500] = lines[500].replace(",", ",abc", 1)
    lines[900] = ""
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    p = _write(tmp_path, lines)
    rec = read_recording(p)
    assert len(rec) == len(lines) - 2 - 3
    assert any("dropped 2 unreadable rows" in w and "501" in w for w in rec.meta["warnings"])
    r = run_cli("analyze", str(p))
    assert r.returncode == 0 and "warning: " in r.stderr and "dropped" in r.stderr


def test_gaps_are_reported(sample_csv, tmp_path):
    lines = _lines(sample_csv)
    p = _write(tmp_path, lines[:600] + lines[640:])
    rec = read_recording(p)
    assert any("gaps with no samples" in w for w in rec.meta["warnings"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400) | st.text(max_size=400))
def test_readers_never_crash_on_garbage(tmp_path, blob):
    p = tmp_path / "g.csv"
    if isinstance(blob, str):
        p.write_text("time_s,lower_acc_x\n" + blob)
    else:
        p.write_bytes(blob)
    with contextlib.suppress(HingecoachError):
        read_recording(p)


def test_header_with_all_columns_but_garbage_rows(tmp_path, sample_csv):
    header = _lines(sample_csv)[1]
    p = _write(tmp_path, [header, "1,2,3", "a,b,c,d"])
    with pytest.raises(InputError):
        read_recording(p)
