"""Uploads to the web app: a side-view clip from upload to verdict against ``hingecoach
analyze`` on the same clip, the server's answers to other requests while the analysis
runs, and 100 broken files in a row. Prints a markdown table.

The server is ``hingecoach serve`` in its own process (its database, overlay folder
and temporary folder fresh in a scratch directory), as a person runs it; this script
is only its client.

- Verdict time: from the start of ``POST /api/analyses`` to ``GET /api/analyses/{id}``
  answering ``done`` with the document (polled every 0.1 s), against the wall time of
  ``hingecoach analyze CLIP --json`` (a fresh process each, as typed).
- Other requests: ``GET /api/people``, ``GET /api/analyses/{id}`` and the History page,
  one after the other every 0.1 s while the clip is analysed; latency percentiles.
- Broken files: 100 uploads cycling through an empty file, text that is no recording,
  random bytes named .mp4, the clip cut to its first 40 kB, and a CSV with the wrong
  columns; each answered (400 at once, or a failed job), the server still up, nothing
  left in its temporary folder.

Run: python benchmarks/web_upload.py [--clip PATH] [--runs 1] [--broken 100]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

CLIP = Path(__file__).resolve().parents[2] / "shared/data/video/deadlift-side-and-oblique/0016r_1.mp4"
HEADERS = {"X-Requested-With": "hingecoach"}
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """``hingecoach serve`` in a subprocess on a free port, with everything under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, _free_port()
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Serve:
        env = {**os.environ, "TMPDIR": str(self.tmp), "HINGECOACH_HOME": str(self.root)}
        self.proc = subprocess.Popen([str(BIN / "hingecoach"), "serve", "--port", str(self.port), "--db",
                                      str(self.root / "web.db")], env=env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.root / "serve.log", "wb"))
        for _ in range(600):
            try:
                httpx.get(f"{self.url}/api/people", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)


def cli_time(clip: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "hingecoach"), "analyze", str(clip), "--json"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def upload_to_verdict(srv: Serve, clip: Path) -> tuple[float, list[float], dict[str, Any]]:
    """Seconds from upload to the verdict, and the latencies of other requests meanwhile."""
    lat: list[float] = []
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        t0 = time.perf_counter()
        r = c.post("/api/analyses", files={"file": (clip.name, clip.read_bytes())}, headers=HEADERS)
        r.raise_for_status()
        jid = r.json()["id"]
        k = 0
        while True:
            job = c.get(f"/api/analyses/{jid}").json()
            if job["status"] in ("done", "failed"):
                took = time.perf_counter() - t0
                break
            path = ("/api/people", f"/api/analyses/{jid}", "/history")[k % 3]
            t1 = time.perf_counter()
            c.get(path).raise_for_status()
            lat.append(time.perf_counter() - t1)
            k += 1
            time.sleep(0.1)
        while job["phase"] != "finished":  # let the overlay finish before the next run
            time.sleep(0.5)
            job = c.get(f"/api/analyses/{jid}").json()
    return took, lat, job


def broken_files(clip: Path) -> list[tuple[str, bytes]]:
    rng = __import__("random").Random(7)
    return [("empty.csv", b""), ("notes.csv", b"shopping list\neggs\nmilk\n"),
            ("noise.mp4", bytes(rng.randrange(256) for _ in range(20_000))),
            ("cut.mp4", clip.read_bytes()[:40_000]),
            ("columns.csv", b"time_s,lower_acc_x\n0,abc\n0.01,1\n")]


def broken_run(srv: Serve, clip: Path, n: int) -> dict[str, Any]:
    kinds = broken_files(clip)
    codes: dict[int, int] = {}
    failed_jobs = 0
    jobs = []
    t0 = time.perf_counter()
    with httpx.Client(base_url=srv.url, timeout=120) as c:
        for i in range(n):
            name, data = kinds[i % len(kinds)]
            r = c.post("/api/analyses", files={"file": (name, data)}, headers=HEADERS)
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
            if r.status_code == 202:
                jobs.append(r.json()["id"])
            if r.status_code == 409:  # the queue is full: wait for it, then go on
                time.sleep(1)
        for jid in jobs:
            while (job := c.get(f"/api/analyses/{jid}").json())["phase"] != "finished":
                time.sleep(0.2)
            failed_jobs += job["status"] == "failed"
        c.get("/api/people").raise_for_status()
    left = [p for p in srv.tmp.rglob("*") if p.is_file()]
    return {"codes": codes, "queued": len(jobs), "failed_jobs": failed_jobs, "alive": srv.alive(),
            "left": len(left), "s": time.perf_counter() - t0}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--broken", type=int, default=100)
    args = ap.parse_args()
    if not args.clip.exists():
        sys.exit(f"no clip {args.clip} (give --clip PATH)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for run in range(args.runs):
        cli = cli_time(args.clip)
        root = Path(tempfile.mkdtemp(prefix="hc-bench-upload-"))
        try:
            with Serve(root) as srv:
                web, lat, job = upload_to_verdict(srv, args.clip)
                broken = broken_run(srv, args.clip, args.broken) if run == 0 and args.broken else None
            left_after = [p for p in (root / "tmp").rglob("*")]
        finally:
            shutil.rmtree(root, ignore_errors=True)
        rows.append((cli, web, lat, job, broken, left_after))
        print(f"run {run + 1}: analyze {cli:.1f} s, upload to verdict {web:.1f} s ({job['status']}, "
              f"overlay {job['overlay']}), {len(lat)} other requests", flush=True)
    lat_all = [x for r in rows for x in r[2]]
    ratios = [r[1] / r[0] for r in rows]
    print()
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| `hingecoach analyze` on the clip (wall) | {statistics.median(r[0] for r in rows):.1f} s | |")
    print(f"| upload to verdict on the page (wall) | {statistics.median(r[1] for r in rows):.1f} s | |")
    print(f"| ratio | {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | <= 1.2 |")
    if lat_all:
        print(f"| other requests during the analysis: median / p95 / max | {1000 * statistics.median(lat_all):.0f} / "
              f"{1000 * pct(lat_all, 0.95):.0f} / {1000 * max(lat_all):.0f} ms ({len(lat_all)}) | <= 200 ms |")
    b = rows[0][4]
    if b is not None:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(b["codes"].items()))
        print(f"| {args.broken} broken uploads: answers | {codes}; {b['failed_jobs']} of {b['queued']} queued "
              f"failed in the worker; {b['s']:.1f} s in all | every one refused |")
        print(f"| server still up / files left in its temporary folder | {'yes' if b['alive'] else 'NO'} / "
              f"{b['left']} (after shutdown: {len(rows[0][5])}) | yes / 0 |")


if __name__ == "__main__":
    main()
