"""Shared pieces of the store and report tests."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import pytest

from hingecoach.analysis import Analysis, AnalysisSettings, analyze_recording
from hingecoach.core.timeseries import TimeSeries
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.store import Store, open_store

BACKENDS = ["sqlite", "postgresql"]


@functools.cache
def recording(seed: int = 3, reps: int = 8, pattern: str = "mixed") -> tuple[TimeSeries, Analysis]:
    rec = simulate(SimSettings(pattern=pattern, reps=reps, seed=seed))[0]
    return rec, analyze_recording(rec, None, AnalysisSettings())


def make_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return str(tmp_path / "hingecoach.db")
    server = request.getfixturevalue("pg_server")
    return str(server.new_database())


def saved_store(url: str, person: str | None = "anna", n: int = 1) -> tuple[Store, list[int]]:
    rec, a = recording()
    st = open_store(url)
    ids = [st.save_analysis(a, raw=rec, person=person, settings=AnalysisSettings(),
                            source=f"hinges-2026-10-{10 + k:02d}.csv", device="two IMUs, sacrum and T12",
                            started_at=f"2026-10-{10 + k:02d}T09:00:00+00:00") for k in range(n)]
    return st, ids


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
