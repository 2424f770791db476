from __future__ import annotations

from pathlib import Path

import pytest

from hingecoach.sources.simulator import SimSettings, simulate

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real recordings not present at {SHARED_DATA}")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="session")
def good_sim():
    return simulate(SimSettings(pattern="good", reps=4, seed=1))


from pgserver import pg_server  # noqa: E402, F401  (session fixture: a throw-away PostgreSQL)
