"""The fuzzing harness: every input the program takes, as a function of bytes.

Each target (``fuzz_inputs``, ``fuzz_web``) turns bytes into one input (a file, a
folder, a zip, a datagram, a line, BLE notifications, a phone's reply, a --script file,
command-line arguments, a web request, WebSocket frames) and hands it to the product. A
target may accept the input or reject it with the product's own error; ``run`` then
checks the rejection's shape: one line that names where (the file, the field, the
line). Anything else is a finding: a rejection in another shape ("malformed"), any
other exception ("traceback"), or a case over ``HANG_S`` ("hang").

``mutate`` makes inputs from a valid seed (byte flips, inserted and deleted runs, a
chunk repeated, numbers swapped for extreme ones); the tests use hypothesis as well,
and ``benchmarks/fuzz.py`` runs 10,000 cases per target.
"""

from __future__ import annotations

import json
import random
import signal
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hingecoach.core.errors import HingecoachError
from hingecoach.sources.live import BadInput

HANG_S = 5.0
INTERESTING = [b"0", b"-1", b"1e308", b"-1e308", b"nan", b"inf", b"-inf", b"1e-320", b"", b"9" * 40,
               b"\xff\xfe", b"\x00", b",", b"\n", b'"', b"[", b"]", b"{", b"}", b"=", b"\r\n", b"null",
               b"true", b"\t", b";", b"-0", b"2147483648", b"18446744073709551616", b"..", b"/"]
KINDS = ("ok", "rejected", "malformed", "traceback", "hang")


@dataclass
class Outcome:
    """What one input did: "ok", "rejected" (the usual one-line error), "malformed" (a
    rejection in another shape), "traceback" or "hang"; ``seconds`` it took."""

    kind: str
    detail: str = ""
    seconds: float = 0.0


class Rejected(Exception):
    """Raised by a target whose product answers errors itself (an exit code, an HTTP
    status): the input was refused in the usual shape; the message is that answer."""


class Malformed(Exception):
    """Raised by a target when the product refused the input, but not in the usual shape."""


class _Hang(BaseException):
    """The alarm: a BaseException, so that the product's ``except Exception`` lets it through."""


def _on_alarm(_sig: int, _frame: Any) -> None:
    raise _Hang


def one_line(e: BaseException) -> bool:
    """The error says something, on one line."""
    text = str(e)
    return bool(text.strip()) and "\n" not in text.strip()


def _shape(e: BaseException, where: str | tuple[str, ...] | None) -> str | None:
    """Why a rejection is not in the usual shape, or None when it is."""
    if not one_line(e):
        return "not one line"
    if isinstance(e, BadInput):
        # a live sample is refused with the counter it goes to and what was wrong
        return None if e.kind and e.detail.strip() else "no counter or detail"
    names = (where,) if isinstance(where, str) else where or ()
    if names and not any(n in str(e) for n in names):
        return f"does not name {' or '.join(map(repr, names))}"
    return None


def run(target: Callable[[bytes], None], data: bytes, hang_s: float = HANG_S,
        where: str | tuple[str, ...] | None = None) -> Outcome:
    """Run ``target`` on ``data`` with a hang guard (SIGALRM, main thread only; a call
    stuck in C code is not interrupted, but counts as a hang when it returns late). A
    rejection must be one line and, when ``where`` is given, contain it (the file's name;
    a tuple: one of them)."""
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, hang_s)
    t0 = time.perf_counter()
    try:
        out = _outcome(target, data, where)
    except _Hang:
        out = Outcome("hang", f"over {hang_s:g} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    out.seconds = time.perf_counter() - t0
    if out.seconds > hang_s and out.kind != "hang":
        out = Outcome("hang", f"{out.seconds:.1f} s ({out.kind}: {out.detail[:200]})", out.seconds)
    return out


def _outcome(target: Callable[[bytes], None], data: bytes, where: str | tuple[str, ...] | None) -> Outcome:
    try:
        with warnings.catch_warnings():  # numpy's RuntimeWarnings on absurd numbers are not errors the person sees
            warnings.simplefilter("ignore")
            target(data)
        return Outcome("ok")
    except (HingecoachError, BadInput, Rejected) as e:
        why = _shape(e, where)
        detail = f"{type(e).__name__}: {str(e)[:300]}" + ("" if why is None else f" ({why})")
        return Outcome("rejected" if why is None else "malformed", detail)
    except Malformed as e:
        return Outcome("malformed", str(e)[:300])
    except Exception as e:  # what the fuzzing is for: any other exception is a bug
        return Outcome("traceback", f"{type(e).__name__}: {str(e)[:300]}")


JSON_ODD: list[Any] = [None, True, 0, -1, 1e308, -1e308, 2 ** 63, "", "x" * 300, "\u0000", [], {}, [[]], {"": {}},
                       "NaN", 1.5, "../../etc/passwd", "nan", [1, 2, 3], {"a": None}, float("inf"), float("nan")]


def _json_edit(node: Any, rng: random.Random) -> Any:
    """``node`` with one random structural edit somewhere inside it."""
    if isinstance(node, dict) and node and rng.random() < 0.7:
        key = rng.choice(list(node))
        op = rng.randrange(4)
        out = dict(node)
        if op == 0:
            del out[key]
        elif op == 1:
            out[key] = rng.choice(JSON_ODD)
        elif op == 2:
            out[key + rng.choice(["", "_", "x"])] = rng.choice(JSON_ODD)
        else:
            out[key] = _json_edit(node[key], rng)
        return out
    if isinstance(node, list) and node and rng.random() < 0.7:
        i = rng.randrange(len(node))
        out_l = list(node)
        op = rng.randrange(4)
        if op == 0:
            del out_l[i]
        elif op == 1:
            out_l[i] = rng.choice(JSON_ODD)
        elif op == 2:
            out_l.insert(i, out_l[i])
        else:
            out_l[i] = _json_edit(node[i], rng)
        return out_l
    return rng.choice(JSON_ODD)


def mutate_json(seed: bytes, rng: random.Random) -> bytes | None:
    """A structural edit of the JSON in ``seed`` (the whole, or what follows its first
    line), or None when there is no JSON there."""
    for head, body in ((b"", seed), (seed.partition(b"\n")[0] + b"\n", seed.partition(b"\n")[2])):
        if body[:1] not in (b"{", b"["):
            continue
        try:
            doc = json.loads(body)
        except ValueError:
            continue
        for _ in range(rng.randint(1, 3)):
            doc = _json_edit(doc, rng)
        return head + json.dumps(doc).encode()
    return None


def mutate(seed: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    """A few random edits of ``seed``; a third of the time, of the JSON in it when there is some."""
    if rng.random() < 0.33:
        edited = mutate_json(seed, rng)
        if edited is not None:
            return edited
    b = bytearray(seed)
    for _ in range(rounds or rng.randint(1, 6)):
        op = rng.randrange(6)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:  # flip a byte
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 1:  # insert random bytes
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 2 and b:  # delete a run
            del b[pos:pos + rng.randint(1, 32)]
        elif op == 3 and b:  # repeat a chunk
            a = rng.randrange(len(b))
            b[pos:pos] = b[a:a + rng.randint(1, 64)] * rng.randint(1, 4)
        elif op == 4:  # an extreme or awkward token
            b[pos:pos] = rng.choice(INTERESTING)
        elif op == 5 and b:  # truncate
            del b[pos:]
    return bytes(b)


@dataclass(frozen=True)
class Target:
    """One fuzz target: its name, how bytes reach the product, its valid seeds, and what a
    rejection must name (``where``: the file or folder the target writes)."""

    name: str
    fn: Callable[[bytes], None]
    seed: Callable[[], bytes | Sequence[bytes]]
    where: str | tuple[str, ...] | None = None
    reset: Callable[[], None] | None = field(default=None, compare=False)

    def seeds(self) -> list[bytes]:
        """The valid inputs mutations start from."""
        s = self.seed()
        return [s] if isinstance(s, bytes) else list(s)

    def run(self, data: bytes, hang_s: float = HANG_S) -> Outcome:
        """``run`` for this target."""
        return run(self.fn, data, hang_s, self.where)


def all_targets() -> tuple[Target, ...]:
    """Every target: the files, live data and command line, then the web app."""
    from hingecoach.testing.fuzz_inputs import INPUT_TARGETS
    from hingecoach.testing.fuzz_web import WEB_TARGETS

    return (*INPUT_TARGETS, *WEB_TARGETS)


def fuzz(target: Target, n: int, seed: int = 0, hang_s: float = HANG_S) -> dict[str, Any]:
    """``n`` mutations of the target's seeds (a tenth of them random bytes from scratch):
    counts per outcome, the slowest case and the first few findings."""
    rng = random.Random(seed)
    bases = target.seeds()
    counts = dict.fromkeys(KINDS, 0)
    bad: list[tuple[str, bytes, str]] = []
    slowest = (0.0, b"")
    for i in range(n):
        if target.reset is not None and i % 500 == 0:
            target.reset()
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))) if i % 10 == 9 \
            else mutate(bases[i % len(bases)], rng)
        out = target.run(data, hang_s)
        counts[out.kind] += 1
        if out.seconds > slowest[0]:
            slowest = (out.seconds, data)
        if out.kind in ("malformed", "traceback", "hang") and len(bad) < 5:
            bad.append((out.kind, data[:400], out.detail))
    return {"counts": counts, "bad": bad, "slowest_s": slowest[0], "slowest_input": slowest[1][:200], "n": n,
            "seeds_ok": seeds_ok(target, bases)}


def seeds_ok(target: Target, bases: list[bytes] | None = None) -> bool:
    """The seeds are valid inputs: none is a finding, and the first is accepted (a later
    one may be refused by the state the others left, e.g. a session's step out of turn)."""
    kinds = [target.run(b).kind for b in (bases if bases is not None else target.seeds())]
    return kinds[0] == "ok" and all(k in ("ok", "rejected") for k in kinds)


__all__ = ["HANG_S", "KINDS", "Malformed", "Outcome", "Rejected", "Target", "all_targets", "fuzz", "mutate",
           "one_line", "run", "seeds_ok"]
