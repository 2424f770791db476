"""Rep stills: what they add to ``hingecoach analyze VIDEO --save`` and to a report.
Prints markdown tables.

Run: python benchmarks/stills.py [DATA_DIR] [--clips c,r] [--repeat N]
(default ../shared/data beside the checkout; clips 0016c_1 and 0016r_1, about 21 and
26 s of 360x640 at 60 frames/s, 10 complete reps each)

For each clip, in one process: the analysis as ``analyze --save`` runs it (decode, pose,
angles, reps, verdicts; then saving the session to a fresh SQLite file) once, and the
stills (``hingecoach.stills.make_stills``: the bottom frames found again and drawn on)
``--repeat`` times in each of the two ways to reach the bottom frames, the median kept:

- forward: one pass that decodes every frame but converts only the bottom frames to RGB
  (what ``SEEK_GAP_S`` = 8 s does on these clips: their reps are 2-3 s apart);
- seek: a seek to the keyframe before every bottom frame (``seek_gap_s=0``).

"share" is the stills' time over the analysis-and-save time: the cost --save pays for
them. The report columns are the HTML and PDF report of the saved session, with and
without its stills.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARGV = sys.argv[1:]


def _opt(name: str, default: str) -> str:
    return next((ARGV[i + 1] for i, a in enumerate(ARGV[:-1]) if a == name), default)


CLIPS = _opt("--clips", "c,r").split(",")
REPEAT = int(_opt("--repeat", "5"))
POSITIONAL = [a for i, a in enumerate(ARGV) if not a.startswith("--") and (i == 0 or not ARGV[i - 1].startswith("--"))]
DATA = Path(POSITIONAL[0]) if POSITIONAL else HERE.parents[1] / "shared" / "data"
VIDEOS = DATA / "video" / "deadlift-side-and-oblique"


def _timed(fn, *args, **kw):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def _report_sizes(db: Path, sid: int, tmp: Path) -> tuple[int, int, int, int, int]:
    """(stills, HTML bytes, HTML bytes without stills, PDF bytes, PDF bytes without)."""
    from hingecoach.report import gather, render_html, write_pdf
    from hingecoach.store import open_store

    with open_store(db, create=False) as st:
        d = gather(st, sid)
    n = len(d.stills)
    html = len(render_html(d).encode())
    write_pdf(d, tmp / "a.pdf")
    d.stills = ()
    html0 = len(render_html(d).encode())
    write_pdf(d, tmp / "b.pdf")
    return n, html, html0, (tmp / "a.pdf").stat().st_size, (tmp / "b.pdf").stat().st_size


def run_clip(x: str, tmp: Path) -> dict[str, float]:
    """One clip: the analysis with --save, then the stills both ways, then the reports."""
    from hingecoach.analysis import analyze_video
    from hingecoach.stills import make_stills
    from hingecoach.store import open_store
    from hingecoach.store.files import save_file_analysis

    path = VIDEOS / f"0016{x}_1.mp4"
    a, t_analysis = _timed(analyze_video, path)
    db = tmp / f"{x}.db"
    with open_store(db) as st:
        _, t_save = _timed(save_file_analysis, st, a, path)
    forward = statistics.median(_timed(make_stills, path, a, seek_gap_s=float("inf"))[1] for _ in range(REPEAT))
    seek = statistics.median(_timed(make_stills, path, a, seek_gap_s=0.0)[1] for _ in range(REPEAT))
    a.stills = make_stills(path, a)
    with open_store(db) as st:
        sid, t_save_stills = _timed(save_file_analysis, st, a, path)
    n, html, html0, pdf, pdf0 = _report_sizes(db, sid, tmp)
    return {"clip": x, "duration": float(a.info["duration_s"]), "frames": a.info["frames"], "reps": len(a.reps),
            "analysis": t_analysis, "save": t_save, "save_stills": t_save_stills, "forward": forward,
            "seek": seek, "stills": n, "kb": sum(len(s.data) for s in a.stills) / 1e3, "html": html,
            "html0": html0, "pdf": pdf, "pdf0": pdf0}


def main() -> None:
    """Run every clip and print the tables."""
    if not VIDEOS.is_dir():
        sys.exit(f"no clips at {VIDEOS}")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for x in CLIPS:
            rows.append(run_clip(x, Path(d)))
    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min) at the end; median of {REPEAT}\n")
    print("| clip | s | frames | reps | analysis (s) | save (s) | stills forward (s) | stills seek (s) "
          "| share (forward) | share (seek) | extra save (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = r["analysis"] + r["save"]
        print(f"| 0016{r['clip']}_1 | {r['duration']:.1f} | {r['frames']} | {r['reps']} | {r['analysis']:.1f} "
              f"| {r['save']:.2f} | {r['forward']:.2f} | {r['seek']:.2f} | {100 * r['forward'] / base:.1f} % "
              f"| {100 * r['seek'] / base:.1f} % | {r['save_stills'] - r['save']:+.2f} |")
    print("\n| clip | stills | stills (kB) | HTML report (kB) | without stills | PDF report (kB) | without stills |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| 0016{r['clip']}_1 | {r['stills']} | {r['kb']:.0f} | {r['html'] / 1e3:.0f} | {r['html0'] / 1e3:.0f} "
              f"| {r['pdf'] / 1e3:.0f} | {r['pdf0'] / 1e3:.0f} |")


if __name__ == "__main__":
    main()
