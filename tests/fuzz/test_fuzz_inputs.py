"""Every input the program takes, fuzzed: property-based (hypothesis: raw bytes) and by
mutation of a valid input. CI profile: a few hundred cases per target, derandomized;
``benchmarks/fuzz.py`` runs 10,000 per target. An input is accepted or rejected with the
usual one-line error, never a traceback or a hang."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hingecoach.testing.fuzz import TARGETS, mutate, run

CI = settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SLOW = {"CLI arguments": 40}  # each case runs the real command line
IDS = [t.name for t in TARGETS]
_SEEDS = {t.name: t.seed() for t in TARGETS}


def _check(target, data: bytes) -> None:
    out = run(target.fn, data, hang_s=5.0)
    assert out.kind in ("ok", "rejected"), (out.kind, out.detail, data[:200])


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_the_seed_input_is_accepted(target):
    assert run(target.fn, _SEEDS[target.name]).kind == "ok"


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_mutated_inputs_are_accepted_or_rejected_in_one_line(target):
    n = SLOW.get(target.name, 150)

    @settings(CI, max_examples=n)
    @given(st.integers(0, 2**32 - 1))
    def check(seed: int) -> None:
        _check(target, mutate(_SEEDS[target.name], random.Random(seed)))

    check()


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_arbitrary_bytes_are_accepted_or_rejected_in_one_line(target):
    n = SLOW.get(target.name, 100)

    @settings(CI, max_examples=n)
    @given(st.binary(max_size=400))
    def check(data: bytes) -> None:
        _check(target, data)

    check()


def test_a_script_that_is_not_utf8_is_rejected_in_one_line(tmp_path):
    from hingecoach.coach.script import Script
    from hingecoach.core.errors import InputError

    p = tmp_path / "s.toml"
    p.write_bytes(b'person = "\xe6nna"\n')
    with pytest.raises(InputError, match="UTF-8"):
        Script.load(p)
