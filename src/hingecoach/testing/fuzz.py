"""Fuzz targets: every input the program takes, as a function of bytes.

Each target turns bytes into one input (a file, a datagram, a line, BLE notifications,
a --script file, command-line arguments) and hands it to the product. A target may
return or reject the input with the product's own error (``HingecoachError`` for files
and arguments, ``BadInput`` for live data, exit code 2 with one ``error:`` line for the
command line); anything else is a traceback, and a call over ``HANG_S`` is a hang.
``mutate`` makes inputs from a valid seed (byte flips, inserted and deleted runs, a
chunk repeated, numbers swapped for extreme ones); the tests use hypothesis, and
``benchmarks/fuzz.py`` both, many more times.
"""

from __future__ import annotations

import contextlib
import io
import random
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hingecoach.core.errors import HingecoachError
from hingecoach.sources.live import BadInput, LineAssembler, LineParser, decode_datagram, encode_datagram

HANG_S = 5.0
INTERESTING = [b"0", b"-1", b"1e308", b"-1e308", b"nan", b"inf", b"-inf", b"1e-320", b"", b"9" * 40,
               b"\xff\xfe", b"\x00", b",", b"\n", b'"', b"[", b"]", b"=", b"\r\n"]


@dataclass
class Outcome:
    """What one input did: "ok", "rejected" (the usual one-line error), "traceback" or "hang"."""

    kind: str
    detail: str = ""
    seconds: float = 0.0


class _Hang(Exception):
    pass


def _on_alarm(_sig: int, _frame: Any) -> None:
    raise _Hang


def one_line(e: BaseException) -> bool:
    """The error says what it must on one line."""
    text = str(e)
    return bool(text.strip()) and "\n" not in text.strip()


def run(target: Callable[[bytes], None], data: bytes, hang_s: float = HANG_S) -> Outcome:
    """Run ``target`` on ``data`` with a hang guard (SIGALRM, main thread only)."""
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, hang_s)
    t0 = time.perf_counter()
    try:
        target(data)
        return Outcome("ok", seconds=time.perf_counter() - t0)
    except _Hang:
        return Outcome("hang", f"over {hang_s:g} s", time.perf_counter() - t0)
    except (HingecoachError, BadInput) as e:
        kind = "rejected" if one_line(e) else "traceback"
        return Outcome(kind, f"{type(e).__name__}: {str(e)[:200]}", time.perf_counter() - t0)
    except Exception as e:  # what the fuzzing is for: any other exception is a bug
        return Outcome("traceback", f"{type(e).__name__}: {str(e)[:200]}", time.perf_counter() - t0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def mutate(seed: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    """A few random edits of ``seed``."""
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


# -- the targets ----------------------------------------------------------------------------
def _in_file(name: str, reader: Callable[[Path], Any]) -> Callable[[bytes], None]:
    def target(data: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="hc-fuzz-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            reader(path)
    return target


def _read(fmt: str) -> Callable[[Path], Any]:
    def reader(path: Path) -> Any:
        from hingecoach.sources.detect import read_recording

        return read_recording(path, fmt=fmt)
    return reader


def _bvh(path: Path) -> Any:
    from hingecoach.sources.bvh import read_bvh

    return read_bvh(path)


def _script(path: Path) -> Any:
    from hingecoach.coach.script import Script

    return Script.load(path)


def _datagram(data: bytes) -> None:
    decode_datagram(data, 0.0)


def _serial(data: bytes) -> None:
    p = LineParser()
    for line in data.decode("utf-8", errors="replace").split("\n"):
        with contextlib.suppress(BadInput):  # a bad line is counted and skipped; the next must work
            p.parse(line, 0.0)


def _ble(data: bytes) -> None:
    asm, p = LineAssembler(), LineParser()
    for k in range(0, len(data), 20):  # 20-byte notifications (the default BLE MTU)
        for line in asm.feed(data[k:k + 20]):
            with contextlib.suppress(BadInput):
                p.parse(line, 0.0)


def _cli(data: bytes) -> None:
    """Command-line arguments: the bytes split on NUL / whitespace, run through the real
    entry point; it must exit (0 or 2 with one ``error:`` line), never raise."""
    from typer.testing import CliRunner

    from hingecoach.cli import app

    text = data.decode("utf-8", errors="replace")
    args = [a for a in text.replace("\x00", " ").split() if a][:12]
    if args and args[0] in ("serve", "train", "live", "demo"):  # long-running: not fuzzed here
        args[0] = "plan"
    # in a throw-away folder: a fuzzed command may write files by relative names (simulate out.csv)
    with tempfile.TemporaryDirectory(prefix="hc-fuzz-") as tmp, contextlib.chdir(tmp):
        res = CliRunner().invoke(app, args, env={"HINGECOACH_HOME": tmp, "HINGECOACH_DB": f"sqlite:///{tmp}/db"},
                                 catch_exceptions=True)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    if res.exit_code not in (0, 1, 2):
        raise RuntimeError(f"exit code {res.exit_code}")


@dataclass(frozen=True)
class Target:
    """One fuzz target: its name, how bytes reach the product, and its valid seed."""

    name: str
    fn: Callable[[bytes], None]
    seed: Callable[[], bytes]


def _seed_csv() -> bytes:
    from hingecoach.sources.imu_csv import write_imu_csv
    from hingecoach.sources.simulator import SimSettings, simulate

    rec, _, _ = simulate(SimSettings(pattern="good", reps=1, seed=1, sample_rate_hz=25, calibration_s=2.5))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.csv"
        write_imu_csv(path, rec.slice_time(0.0, 6.0))
        return path.read_bytes()


def _seed_spinewise() -> bytes:
    """A few SpineWise-format rows: its header and values in its units (g, deg/s, ms)."""
    cols = ["ts_r", "acc_x_r", "acc_y_r", "acc_z_r", "gyr_x_r", "gyr_y_r", "gyr_z_r",
            "ts_n", "acc_x_n", "acc_y_n", "acc_z_n", "gyr_x_n", "gyr_y_n", "gyr_z_n", "label"]
    out = io.StringIO()
    out.write(",".join(cols) + "\n")
    for i in range(120):
        ts = 1000 + 40 * i
        lab = "kalibratie" if i < 80 else "buiging"
        out.write(f"{ts},0.99,-0.08,-0.28,0.3,-0.4,-0.3,{ts + 5},1.0,-0.01,-0.07,0.1,0.2,-0.1,{lab}\n")
    return out.getvalue().encode()


def _seed_bvh() -> bytes:
    return b"""HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Chest3
  {
    OFFSET 0 30 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 20 0
    }
  }
}
MOTION
Frames: 4
Frame Time: 0.0166667
0 90 0 0 0 0 0 0 0
0 90 0 0 5 0 0 3 0
0 90 0 0 10 0 0 6 0
0 90 0 0 15 0 0 9 0
"""


def _seed_script() -> bytes:
    return b"""person = "anna"
sensor = "imu"
pain_now = 2
max_flexion = false
max_flexion_deg = 34.0
pain_after = 2
next_morning = 1

[screen]
saddle_numbness = false
bladder_bowel = false
leg_weakness = false
recent_trauma = false
fever_weight_loss = false
cancer_history = false

[[sets]]
reps = ["ok", "lumbar_rounding", "ok"]
pain = 3
"""


def _seed_datagram() -> bytes:
    return encode_datagram("upper", 12.345, [0.1, 9.7, 0.3], [0.01, -0.02, 0.5], seq=7)


def _seed_lines() -> bytes:
    rows = [f"{0.01 * i:.2f},0.1,0.2,9.8,0.01,0.02,0.03,0.1,0.2,9.8,0.01,0.02,0.03" for i in range(30)]
    return ("\n".join(rows) + "\n").encode()


def _seed_cli() -> bytes:
    return b"simulate out.csv --pattern rounded --reps 1 --rate 25 --seed 3"


TARGETS: tuple[Target, ...] = (
    Target("hingecoach CSV", _in_file("rec.csv", _read("hingecoach")), _seed_csv),
    Target("any CSV (format detection)", _in_file("rec.csv", _read("auto")), _seed_csv),
    Target("SpineWise CSV", _in_file("movement.csv", _read("spinewise")), _seed_spinewise),
    Target("BVH", _in_file("clip.bvh", _bvh), _seed_bvh),
    Target("--script TOML", _in_file("script.toml", _script), _seed_script),
    Target("UDP datagram", _datagram, _seed_datagram),
    Target("serial lines", _serial, _seed_lines),
    Target("BLE notifications", _ble, _seed_lines),
    Target("CLI arguments", _cli, _seed_cli),
)


def fuzz(target: Target, n: int, seed: int = 0, hang_s: float = HANG_S) -> dict[str, Any]:
    """``n`` mutations of the target's seed (a tenth of them random bytes from scratch):
    counts per outcome and the first few tracebacks and hangs."""
    rng = random.Random(seed)
    base = target.seed()
    counts = {"ok": 0, "rejected": 0, "traceback": 0, "hang": 0}
    bad: list[tuple[str, bytes, str]] = []
    slowest = 0.0
    for i in range(n):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))) if i % 10 == 9 \
            else mutate(base, rng)
        out = run(target.fn, data, hang_s)
        counts[out.kind] += 1
        slowest = max(slowest, out.seconds)
        if out.kind in ("traceback", "hang") and len(bad) < 5:
            bad.append((out.kind, data[:300], out.detail))
    return {"counts": counts, "bad": bad, "slowest_s": slowest, "n": n,
            "seed_ok": run(target.fn, base).kind == "ok"}


__all__ = ["HANG_S", "TARGETS", "Outcome", "Target", "fuzz", "mutate", "one_line", "run"]
