"""Live figures: cue latency while two 100 Hz sensors stream over UDP, audio onset, and
the replay and impaired-link checks. Prints markdown tables.

Run: python benchmarks/live.py [--runs 2] [--reps 16] [--quick]

1. Latency. A sender process plays a simulated session (rounded and good hinges) as two
   sensors' UDP datagrams on localhost, in real time, the upper sensor with its own clock
   (offset 7 s, 40 ppm slower); the receiver is the real command line,
   ``hingecoach live --source udp:... --events-jsonl - --db TMP`` with sound and speech on.
   Measured with the monotonic clock in each process: (a) in the receiver, from a
   datagram's arrival (``recv`` returned) to its cue event written and flushed to the pipe
   (the cue's triggering sample), and from each datagram's arrival to the end of its
   processing (every datagram: the p99 that bounds the cue path); (b) across processes,
   from the sender's ``sendto`` of the later of a row's two datagrams to this script
   reading the cue line from the pipe. Run clean, with 5 % lost, 2 % reordered and the
   upper sensor silent for 2 s, and with 20 % lost (rounded reps cued, cues outside a
   rounded rep). Every row prints the 1-minute load average before and after the run.
2. Audio onset: from the cue decision to the player call returning, in the same runs.
   There is no sound card here: the receiver runs with an ALSA configuration whose
   default device is ALSA's ``null`` plugin, so PortAudio (sounddevice) opens a real ALSA
   stream and writes the tone into it; what a sound card adds (its buffer, typically
   10-40 ms) is not included.
3. Replay: simulated sessions replayed through the live loop against ``analyze`` and the
   simulator's truth. 4. Impaired link (simulated on a virtual clock, many seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from hingecoach.analysis import analyze_recording
from hingecoach.feedback.audio import AudioOut, AudioSettings
from hingecoach.live import LiveSession, LiveSettings
from hingecoach.sources.detect import read_recording
from hingecoach.sources.imu_csv import write_imu_csv
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.testing.link_sim import LinkSettings, ScheduledTransport, VirtualClock, schedule, sender_time

ROOT = Path(__file__).resolve().parents[1]
UPPER_CLOCK = (7.0, -40e-6)
QUIET = AudioSettings(sound=False, speech=False)


# -- the sender process ---------------------------------------------------------------------
def sender(csv: str, port: int, link_json: str, log: str) -> None:
    rec = read_recording(csv)
    link = LinkSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(link_json).items()})
    sent = schedule(rec, link)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    wall0 = time.monotonic() + 0.2
    out = []
    for s in sent:
        pause = wall0 + s.arrival_s - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        sock.sendto(s.data, ("127.0.0.1", port))
        out.append((s.row, s.sensor, time.monotonic_ns()))
    Path(log).write_text(json.dumps(out))


# -- audio onset per player --------------------------------------------------------------------
def audio_probe(n: int = 30) -> None:
    """Run in a process whose ALSA default is the null device: onsets per player."""
    out = {}
    for player in ("sounddevice", "aplay"):
        warnings: list[str] = []
        a = AudioOut(AudioSettings(player=player, speech=False), warn=warnings.append)
        for _ in range(n):
            a.cue(time.perf_counter())
            time.sleep(0.2)
        a.close()
        out[player] = {"status": a.status, "onsets": a.onsets_ms, "warnings": warnings}
    print(json.dumps(out))


def null_alsa_home(work: Path) -> dict[str, str]:
    home = work / "alsa-null"
    home.mkdir(exist_ok=True)
    (home / ".asoundrc").write_text("pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
    env = {**os.environ, "HOME": str(home)}
    env.pop("HINGECOACH_DB", None)
    return env


def audio_table(work: Path) -> None:
    r = subprocess.run([sys.executable, __file__, "--audio-probe"], capture_output=True, text=True,
                       env=null_alsa_home(work), cwd=ROOT, check=True)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    print("\n### Audio onset: cue decision -> player call returned (ALSA null device, 30 tones each)\n")
    print("| player | tones | p50 (ms) | p99 (ms) | max (ms) | what it includes |\n|---|---|---|---|---|---|")
    what = {"sounddevice": "PortAudio stream opened and started, the buffer handed to it",
            "aplay": "an aplay process started, the buffer written to its pipe"}
    for player, d in res.items():
        x = np.asarray(d["onsets"])
        if x.size == 0:
            print(f"| {player} | 0 | - | - | - | {d['status']} |")
            continue
        print(f"| {player} | {x.size} | {np.percentile(x, 50):.1f} | {np.percentile(x, 99):.1f} | {x.max():.1f} "
              f"| {what[player]} |")
    print("\ntarget: < 100 ms; a sound card adds its own buffer (typically 10-40 ms), not included")


# -- one latency run ------------------------------------------------------------------------
def latency_run(csv: Path, rec_t: np.ndarray, link: LinkSettings, work: Path, truth: list[Any]) -> dict[str, Any]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = null_alsa_home(work)
    db = work / f"live-{time.monotonic_ns()}.db"
    recv = subprocess.Popen([sys.executable, "-m", "hingecoach.cli", "live", "--source", f"udp:127.0.0.1:{port}",
                             "--db", str(db), "--events-jsonl", "-"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    lines: list[tuple[int, dict[str, Any]]] = []
    ready = threading.Event()

    def read() -> None:
        assert recv.stdout is not None
        for line in recv.stdout:
            now = time.monotonic_ns()
            ev = json.loads(line)
            if ev["type"] in ("cue", "status"):
                lines.append((now, ev))
            if ev.get("state") == "waiting":
                ready.set()

    reader = threading.Thread(target=read)
    reader.start()
    ready.wait(30)
    log = work / "sent.json"
    load0 = os.getloadavg()
    args = dict(vars(link))
    subprocess.run([sys.executable, __file__, "--send", str(csv), str(port), json.dumps(args), str(log)],
                   check=True, cwd=ROOT)
    time.sleep(1.0)
    load1 = os.getloadavg()
    recv.send_signal(signal.SIGINT)
    recv.wait(60)
    reader.join(10)
    assert recv.stdout is not None
    recv.stdout.close()
    sent = json.loads(log.read_text())
    last_sent: dict[int, int] = {}
    for row, _sensor, ns in sent:
        last_sent[row] = max(last_sent.get(row, 0), ns)
    lower_t = sender_time(link, "lower", rec_t)
    cross = []
    lumbar = []  # the cues' sample times on the recording's clock
    for now, ev in lines:
        if ev["type"] != "cue":
            continue
        row = int(np.argmin(np.abs(lower_t - ev["sample_time_s"])))
        if ev.get("fault") == "lumbar_rounding":
            lumbar.append(float(rec_t[row]))
        if row in last_sent:
            cross.append((now - last_sent[row]) / 1e6)
    rounded = [r for r in truth if r.pattern == "rounded"]
    cued = sum(any(r.start_s <= t <= r.end_s for t in lumbar) for r in rounded)
    spurious = sum(not any(r.start_s <= t <= r.end_s for r in rounded) for t in lumbar)
    ended = next(ev for _, ev in lines if ev.get("state") == "ended")
    lat = ended["summary"]["latency_ms"]
    return {"cue": lat["cue"], "row": lat["row"], "audio": lat["audio_onset"], "calibration": lat["calibration"],
            "cross_ms": cross, "cues": ended["summary"]["cues"], "reps": ended["summary"]["reps"],
            "load": (load0, load1), "stats": ended["summary"]["stats"], "cued": cued, "spurious": spurious}


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def latency_table(runs: int, reps: int, work: Path) -> None:
    pats = ["good", "rounded"] * (reps // 2)
    rec, _, truth = simulate(SimSettings(pattern=pats, seed=31, calibration_s=3.0))
    csv = work / "session.csv"
    write_imu_csv(csv, rec)
    n_rounded = sum(r.pattern == "rounded" for r in truth)
    silent = ("upper", next(r for r in truth if r.pattern == "rounded").start_s + 10, 2.0)
    configs = [("clean", LinkSettings(upper_clock=UPPER_CLOCK, seed=1)),
               ("5 % lost, 2 % reordered, upper silent 2 s",
                LinkSettings(loss=0.05, reorder=0.02, upper_clock=UPPER_CLOCK, silent=silent, seed=2)),
               ("20 % lost, 2 % reordered, upper silent 2 s",
                LinkSettings(loss=0.20, reorder=0.02, upper_clock=UPPER_CLOCK, silent=silent, seed=3))]
    print(f"\n### Latency: two 100 Hz sensors over UDP on localhost, {rec.duration_s:.0f} s session, "
          f"{len(truth)} reps ({n_rounded} rounded), {runs} runs each\n")
    print("| link | run | rounded reps cued, spurious cues | arrival -> cue event written p50 / p99 / max (ms) "
          "| arrival -> datagram processed p50 / p99 / max (ms, n) | of which the calibration (ms) "
          "| send -> cue line read p50 / max (ms) | audio onset p50 / max (ms) | load avg before / after |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, link in configs:
        for k in range(runs):
            r = latency_run(csv, rec.time_s, link, work, truth)
            c, w, a = r["cue"], r["row"], r["audio"]
            cross = r["cross_ms"]
            print(f"| {name} | {k + 1} | {r['cued']}/{n_rounded}, {r['spurious']} | {fmt(c.get('p50'))} / "
                  f"{fmt(c.get('p99'))} / {fmt(c.get('max'))} | {fmt(w.get('p50'))} / {fmt(w.get('p99'))} / "
                  f"{fmt(w.get('max'))} ({w.get('n')}) | {fmt(r['calibration'])} | "
                  f"{fmt(float(np.median(cross)) if cross else None)} / {fmt(max(cross) if cross else None)} | "
                  f"{fmt(a.get('p50'))} / {fmt(a.get('max'))} | {r['load'][0][0]:.2f} / {r['load'][1][0]:.2f} |",
                  flush=True)
    print("\ntargets: arrival -> cue event written p99 < 20 ms (5 % loss); 20 % loss: every rounded rep cued, "
          "at most one spurious cue; audio onset < 100 ms")


# -- replay and impaired link ----------------------------------------------------------------
def replay_table(seeds: list[int], work: Path) -> None:
    print(f"\n### Replay through the live loop vs `analyze` ({len(seeds)} simulated sessions of 8 mixed reps)\n")
    same_reps = same_faults = one_cue = no_cue_good = total_rounded = total_good = reps = 0
    max_dt = 0.0
    for seed in seeds:
        rec, _, truth = simulate(SimSettings(pattern="mixed", reps=8, seed=seed, walk_s=4.0 if seed % 2 else 0.0))
        path = work / f"r{seed}.csv"
        write_imu_csv(path, rec)
        off = analyze_recording(read_recording(path))
        s = LiveSession(f"replay:{path}", LiveSettings(speed=0, save=False, audio=QUIET)).run()
        reps += len(off.reps)
        if len(s.reps) == len(off.reps):
            same_reps += len(off.reps)
            same_faults += sum(a.faults == b.faults for a, b in zip(off.reps, s.reps, strict=True))
            max_dt = max([max_dt] + [abs(a.start_s - b.start_s) for a, b in zip(off.reps, s.reps, strict=True)]
                         + [abs(a.end_s - b.end_s) for a, b in zip(off.reps, s.reps, strict=True)])
        lumbar = [c.sample_time_s for c in s.cues if c.fault == "lumbar_rounding"]
        for r in truth:
            n = sum(r.start_s <= t <= r.end_s for t in lumbar)
            if r.pattern == "rounded":
                total_rounded += 1
                one_cue += n == 1
            elif r.pattern in ("good", "slow", "squat"):
                total_good += 1
                no_cue_good += n == 0
    print("| measure | value | target |\n|---|---|---|")
    print(f"| reps found as by analyze | {same_reps}/{reps} | all |")
    print(f"| reps with the same faults | {same_faults}/{reps} | all |")
    print(f"| largest start/end difference | {max_dt * 1000:.0f} ms | |")
    print(f"| rounded reps with exactly one lumbar cue | {one_cue}/{total_rounded} | all |")
    print(f"| good, slow and squat reps with no lumbar cue | {no_cue_good}/{total_good} | all |")


def link_table(seeds: list[int]) -> None:
    print(f"\n### Impaired link on a virtual clock ({len(seeds)} seeds x 2 silent sensors): 2 % reordered, "
          "1 % duplicated, one sensor silent for 2 s from the start of a rounded rep, separate clocks; "
          "the cue wait is what the stream adds (jitter buffer, pairing), processing not counted\n")
    print("| loss | rounded reps cued (exactly one cue) | spurious cues (most in one session) "
          "| cue wait p50 / p99 / max (ms) | ran to the end | silence reported as a gap |\n|---|---|---|---|---|---|")
    for loss in (0.05, 0.20):
        ok = one = total = ended = runs = gaps = spurious = worst = 0
        lat: list[float] = []
        for seed in seeds:
            rec, _, truth = simulate(SimSettings(pattern=["good", "rounded", "rounded", "good", "rounded",
                                                          "overextended", "rounded"], seed=100 + seed))
            rounded = [r for r in truth if r.pattern == "rounded"]
            for silent in ("lower", "upper"):
                link = LinkSettings(loss=loss, reorder=0.02, duplicate=0.01,
                                    silent=(silent, rounded[seed % len(rounded)].start_s, 2.0),
                                    lower_clock=(100.0, 20e-6), upper_clock=(7.0, -30e-6), seed=seed)
                clock = VirtualClock()
                events: list[dict[str, Any]] = []
                s = LiveSession("udp:127.0.0.1:9", LiveSettings(save=False, audio=QUIET), on_event=events.append,
                                transport=ScheduledTransport(schedule(rec, link), clock), clock=clock).run()
                runs += 1
                ended += s.reason == "source ended"
                gaps += any(e["type"] == "gap" and e["state"] == "closed" for e in events)
                lat += list(s.cue_latency_ms)
                lumbar = [(c.sample_time_s - 100.0) / (1 + 20e-6) for c in s.cues if c.fault == "lumbar_rounding"]
                extra = sum(not any(r.start_s <= t <= r.end_s for r in rounded) for t in lumbar)
                spurious += extra
                worst = max(worst, extra)
                for r in rounded:
                    total += 1
                    n = sum(r.start_s <= t <= r.end_s for t in lumbar)
                    ok += n >= 1
                    one += n == 1
        a = np.asarray(lat) if lat else np.zeros(1)
        print(f"| {loss:.0%} | {ok}/{total} ({one}) | {spurious} ({worst}) | {np.percentile(a, 50):.1f} / "
              f"{np.percentile(a, 99):.1f} / {a.max():.1f} | {ended}/{runs} | {gaps}/{runs} |")
    print("\ntargets: 5 % loss: cue p99 < 20 ms; 20 % loss: every rounded rep cued, at most one spurious cue "
          "per session")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--send", nargs=4, metavar=("CSV", "PORT", "LINK", "LOG"))
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--reps", type=int, default=16)
    p.add_argument("--quick", action="store_true", help="skip the real-time latency runs")
    p.add_argument("--audio-probe", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.audio_probe:
        audio_probe()
        return
    if a.send:
        sender(a.send[0], int(a.send[1]), a.send[2], a.send[3])
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          "shared with other jobs (load averages below)")
    with tempfile.TemporaryDirectory(prefix="hc-bench-live-") as tmp:
        work = Path(tmp)
        if not a.quick:
            latency_table(a.runs, a.reps, work)
        audio_table(work)
        replay_table(list(range(10)), work)
        link_table(list(range(10)))


if __name__ == "__main__":
    main()
