"""Every input the program takes, fuzzed: property-based (hypothesis: raw bytes) and by
mutation of valid inputs. CI profile: a few hundred cases per target, derandomized, no
example database; ``benchmarks/fuzz.py`` runs 10,000 per target. An input is accepted
or rejected with the usual one-line error naming the file, never another shape, a
traceback or a hang."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hingecoach.testing.fuzz import all_targets, mutate, seeds_ok

CI = settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# cases per target where one case costs more than a few milliseconds
MUTATED = 200
FEWER = {"CLI arguments": 90, "device pair (clock alignment)": 90, "web upload (multipart)": 150,
         "hingecoach CSV": 150, "any CSV (format detection)": 150, "SpineWise CSV": 150, "QSense folder": 150}
TARGETS = all_targets()
IDS = [t.name for t in TARGETS]


@pytest.fixture(autouse=True)
def _fresh_app():
    """The web targets' app is closed after each test (its store and folders removed)."""
    yield
    for t in TARGETS:
        if t.reset is not None:
            t.reset()


def _check(target, data: bytes) -> None:
    out = target.run(data, hang_s=5.0)
    assert out.kind in ("ok", "rejected"), (out.kind, out.detail, data[:300])


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_the_seed_inputs_are_valid(target):
    assert seeds_ok(target)


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_mutated_inputs_are_accepted_or_rejected_in_one_line(target):
    seeds = target.seeds()

    @settings(CI, max_examples=FEWER.get(target.name, MUTATED))
    @given(st.integers(0, 2**32 - 1))
    def check(seed: int) -> None:
        rng = random.Random(seed)
        _check(target, mutate(seeds[rng.randrange(len(seeds))], rng))

    check()


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_arbitrary_bytes_are_accepted_or_rejected_in_one_line(target):
    @settings(CI, max_examples=FEWER.get(target.name, MUTATED) * 2 // 3)
    @given(st.binary(max_size=400))
    def check(data: bytes) -> None:
        _check(target, data)

    check()


# -- property-based: JSON documents of the right keys and any values --------------------------------------
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=10)
NUMBERS = st.floats() | st.integers() | st.booleans() | st.none()


def _target(name: str):
    return next(t for t in TARGETS if t.name == name)


@settings(CI, max_examples=300)
@given(st.fixed_dictionaries({"sensor": st.sampled_from(["lower", "upper"]) | JSON, "t": NUMBERS | JSON,
                              "acc": st.lists(NUMBERS, max_size=4) | JSON, "gyr": st.lists(NUMBERS, max_size=4) | JSON},
                             optional={"seq": NUMBERS | JSON}))
def test_any_datagram_of_the_right_keys_is_accepted_or_refused_in_one_line(doc):
    _check(_target("UDP datagram"), json.dumps(doc).encode())


@settings(CI, max_examples=200)
@given(st.data())
def test_any_values_in_a_web_request_are_answered_below_500(data):
    target = _target("web API JSON")
    seed = data.draw(st.sampled_from(target.seeds()))
    line, _, body = seed.partition(b"\n")
    keys = list(json.loads(body)) if body else []
    doc = {k: data.draw(JSON) for k in keys}
    _check(target, line + b"\n" + json.dumps(doc).encode())
