"""The simulated work shift (standing, walking, sitting, lifts of varied technique) and
the exposure measures ``batch`` reports for it: hinges per hour and the share with lumbar
rounding."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hingecoach.analysis import analyze_recording
from hingecoach.batch.worker import summary_fields
from hingecoach.cli import app
from hingecoach.core.errors import ParameterError
from hingecoach.sources.shift import ShiftSettings, simulate_shift


@pytest.fixture(scope="module")
def shift():  # type: ignore[no-untyped-def]
    return simulate_shift(ShiftSettings(hours=0.15, seed=5, lifts_per_hour=100, sitting_share=0.2))


def test_a_shift_has_every_activity_and_lifts_at_the_asked_rate(shift) -> None:  # type: ignore[no-untyped-def]
    rec, truth, lifts, activities = shift
    kinds = Counter(a.kind for a in activities)
    assert set(kinds) == {"stand", "walk", "sit", "lift"} and kinds["lift"] == len(lifts)
    assert rec.duration_s == pytest.approx(0.15 * 3600, abs=3)
    assert 0.5 * 15 <= len(lifts) <= 1.5 * 15  # 100 an hour for 9 minutes, at least 15 s apart
    seated = sum(a.end_s - a.start_s for a in activities if a.kind == "sit")
    assert seated == pytest.approx(0.2 * 540, rel=0.1)
    assert {r.pattern for r in lifts} <= {"good", "rounded", "squat", "fast", "overextended"}
    assert rec.meta["shift"]["hours"] == 0.15 and len(truth) == len(rec)


def test_the_analysis_finds_every_lift_and_nothing_while_sitting(shift) -> None:  # type: ignore[no-untyped-def]
    rec, _, lifts, activities = shift
    a = analyze_recording(rec)
    assert len(a.reps) == len(lifts)
    bottoms = np.array([m.bottom_s for m in a.reps])
    for lift in lifts:
        m = a.reps[int(np.argmin(np.abs(bottoms - lift.bottom_s)))]
        assert abs(m.bottom_s - lift.bottom_s) < 1.0
        assert set(lift.must_flag) <= set(m.faults) and not set(lift.must_not_flag) & set(m.faults), lift
    for spell in (x for x in activities if x.kind == "sit"):
        assert not [m for m in a.reps if spell.start_s <= m.bottom_s <= spell.end_s]
    row = summary_fields(a.to_json())
    hours = rec.duration_s / 3600
    assert row["hinges_per_hour"] == pytest.approx(len(lifts) / hours)
    rounded = sum("lumbar_rounding" in x.must_flag for x in lifts)
    assert row["rounding_share"] == pytest.approx(rounded / len(lifts)) and rounded > 0


def test_bad_shift_settings() -> None:
    with pytest.raises(ParameterError, match="shift_hours"):
        simulate_shift(ShiftSettings(hours=30))
    with pytest.raises(ParameterError, match="technique"):
        simulate_shift(ShiftSettings(technique=(("limbo", 1.0),)))


def test_simulate_shift_hours_writes_the_recording_and_its_truth(tmp_path: Path) -> None:
    out = tmp_path / "shift.csv"
    p = CliRunner().invoke(app, ["simulate", str(out), "--shift-hours", "0.03", "--seed", "2"])
    assert p.exit_code == 0, p.stderr
    meta = json.loads(out.with_suffix(".truth.json").read_text())
    assert meta["settings"]["hours"] == 0.03 and meta["exposure"]["lifts"] == len(meta["reps"])
    assert {a["kind"] for a in meta["activities"]} >= {"stand", "lift"}
    assert out.with_suffix(".truth.csv").exists()
    bad = CliRunner().invoke(app, ["simulate", str(out), "--shift-hours", "1", "--reps", "3"])
    assert bad.exit_code == 2 and "--reps" in bad.stderr
