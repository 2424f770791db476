"""The web app's live page and history under load, on 127.0.0.1 (a real uvicorn server
in this process). Prints a markdown table.

- Live updates: the scripted stand-in replays a simulated two-IMU session at real
  speed with angles at 100 Hz (what two 100 Hz sensors give after fusion); a WebSocket
  client counts the angle messages it receives per second of wall-clock time and the
  delay from the event leaving the live session to its arrival at the client.
- History: 50 concurrent GET /api/people/NAME/history (a person with 20 sessions)
  while a session streams; wall time of the burst and the latency percentiles.

Run: python benchmarks/web.py [--seconds 30] [--runs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
from websockets.sync.client import connect

from hingecoach.analysis import analyze_recording
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.testing.scripted import scripted_factory
from hingecoach.web.app import create_app
from hingecoach.web.server import WS_PROTOCOL

SCREEN = ("saddle_numbness", "bladder_bowel", "leg_weakness", "recent_trauma", "fever_weight_loss",
          "cancer_history")


class Server:
    """``with Server(app) as srv``: the app served by uvicorn on 127.0.0.1:``srv.port`` in a thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws=WS_PROTOCOL, access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


def stamped(factory: Any) -> Any:
    """The stand-in, with each event stamped as it leaves the live session."""
    def make(source: str, settings: Any, on_event: Any, store: Any, person: Any) -> Any:
        return factory(source, settings, lambda ev: on_event({**ev, "_sent": time.perf_counter()}), store, person)
    return make


def one_run(folder: Path, rec_path: Path, seconds: float) -> dict[str, float]:
    """One live session streamed for ``seconds`` with a history burst halfway; the measures of the table."""
    app = create_app(str(folder / f"bench-{time.monotonic_ns()}.db"),
                     live_factory=stamped(scripted_factory(speed=1.0, rate_hz=100)))
    st = app.state.hc.store
    rec = simulate(SimSettings(pattern="mixed", reps=8, seed=5))[0]
    a = analyze_recording(rec)
    for k in range(20):
        st.save_analysis(a, raw=rec, person="anna", source=f"s{k}.csv")
    out: dict[str, float] = {}
    with Server(app) as srv, httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=120) as c:
        c.post("/api/session", json={"person": "anna", "source": f"replay:{rec_path}"}).raise_for_status()
        for k in SCREEN:
            c.post("/api/session/answer", json={"key": f"screen.{k}", "value": False}).raise_for_status()
        for key, value in (("pain_now", 1), ("setup", None)):
            c.post("/api/session/answer", json={"key": key, "value": value}).raise_for_status()
        times: list[float] = []
        delays: list[float] = []
        with connect(f"ws://127.0.0.1:{srv.port}/ws/session", max_size=None) as ws:
            c.post("/api/session/answer", json={"key": "calibrate_max", "value": False}).raise_for_status()
            t_end = time.perf_counter() + seconds
            burst: dict[str, float] = {}

            def hammer() -> None:
                time.sleep(seconds / 2)

                async def go() -> list[float]:
                    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{srv.port}", timeout=120,
                                                 limits=httpx.Limits(max_connections=50)) as ac:
                        async def one() -> float:
                            t0 = time.perf_counter()
                            r = await ac.get("/api/people/anna/history")
                            r.raise_for_status()
                            return time.perf_counter() - t0
                        t0 = time.perf_counter()
                        lat = await asyncio.gather(*(one() for _ in range(50)))
                        burst["wall"] = time.perf_counter() - t0
                        return list(lat)
                lat = asyncio.run(go())
                burst["p50"] = float(np.percentile(lat, 50))
                burst["p99"] = float(np.percentile(lat, 99))

            th = threading.Thread(target=hammer)
            th.start()
            while time.perf_counter() < t_end:
                m = json.loads(ws.recv(timeout=30))
                if m["type"] == "angles":
                    now = time.perf_counter()
                    times.append(now)
                    if "_sent" in m:
                        delays.append(now - m["_sent"])
            th.join()
        c.post("/api/session/stop", json={})
    span = times[-1] - times[0]
    counts = np.bincount(np.floor(np.array(times) - times[0]).astype(int))[:-1]  # whole seconds
    out["rate"] = (len(times) - 1) / span
    out["min_per_s"] = float(counts.min()) if counts.size else float("nan")
    out["delay_p50_ms"] = 1e3 * float(np.percentile(delays, 50))
    out["delay_p99_ms"] = 1e3 * float(np.percentile(delays, 99))
    out["hist_wall_s"] = burst["wall"]
    out["hist_p50_ms"] = 1e3 * burst["p50"]
    out["hist_p99_ms"] = 1e3 * burst["p99"]
    return out


def main() -> None:
    """Run the benchmark and print its markdown table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        rec_path = folder / "rec.csv"
        write_imu_csv(rec_path, simulate(SimSettings(pattern="mixed", reps=40, seed=2))[0])
        runs = [one_run(folder, rec_path, args.seconds) for _ in range(args.runs)]

    def show(key: str, fmt: str, best: Any) -> str:
        vals = [r[key] for r in runs]
        b = best(vals)
        return f"{b:{fmt}} ({min(vals):{fmt}}-{max(vals):{fmt}})"

    print(f"web app on 127.0.0.1, live page fed at 100 Hz for {args.seconds:.0f} s, {args.runs} runs "
          f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          "best, and the range of all runs in brackets)\n")
    print("| measure | value | target |\n|---|---|---|")
    print(f"| live page updates per second (WebSocket angle messages) | {show('rate', '.1f', max)} | >= 20 |")
    print(f"| fewest updates in any whole second | {show('min_per_s', '.0f', max)} | >= 20 |")
    print(f"| event leaving the live session to a WebSocket client, median | {show('delay_p50_ms', '.1f', min)} ms | |")
    print(f"| event leaving the live session to a WebSocket client, p99 | {show('delay_p99_ms', '.1f', min)} ms | |")
    print(f"| 50 concurrent history requests (20 sessions), all answered in | {show('hist_wall_s', '.2f', min)} s | |")
    print(f"| one history request in that burst, median | {show('hist_p50_ms', '.0f', min)} ms | |")
    print(f"| one history request in that burst, p99 | {show('hist_p99_ms', '.0f', min)} ms | |")


if __name__ == "__main__":
    main()
