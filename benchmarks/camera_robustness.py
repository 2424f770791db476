"""Run the camera analysis over the robustness corpus (benchmarks/camera_corpus.py) and the
wild clips, and print markdown tables: tracebacks, refusals, and whether each benign
transformation kept the source clip's rep count and verdicts.

Run: python benchmarks/camera_robustness.py CORPUS_DIR [--model lite|full|heavy]
         [--wild DATA_DIR/video/wild] [--results FILE.jsonl] [--only GLOB]

Results are appended to a JSON-lines file (default CORPUS_DIR/results-MODEL.jsonl), one
line per clip, so a long run can be stopped and resumed; the tables are printed from it.

A clip's outcome: a traceback (any exception that is not a hingecoach error: always a
bug), a refusal (a one-line hingecoach error, exit 2), or an analysis: its complete
reps, its clip verdict (good / faults / cannot_judge) and, over the judged reps, how many
were flagged lumbar_rounding and squatting. A benign transformation *keeps* the source
when the rep count and both flagged counts are equal (trim_one: one rep, flagged as the
source's middle rep was) and the clip verdict is the same.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def outcome(path: Path, model: str, posecache: Path | None = None) -> dict[str, Any]:
    """One clip through ``analyze_video`` (or its cached poses through the same analysis):
    what came out, and how long it took."""
    from dataclasses import replace

    from hingecoach.analysis import AnalysisSettings, analyze_camera, analyze_video
    from hingecoach.core.errors import HingecoachError

    st = AnalysisSettings()
    st = replace(st, camera=replace(st.camera, pose_model=model))
    t0 = time.perf_counter()
    out: dict[str, Any] = {"clip": path.name, "model": model}
    npz = posecache / f"{path.stem}.npz" if posecache is not None else None
    try:
        if npz is not None and npz.exists():
            sys.path.insert(0, str(HERE))
            from camera_corpus import replay_cache

            a = analyze_camera(replay_cache(npz, st.camera), st)
            out["from_cache"] = True
        else:
            a = analyze_video(path, st)
    except HingecoachError as e:
        out.update(result="refused", message=str(e))
    except Exception as e:  # a traceback is the one thing the camera path must never give
        out.update(result="traceback", message=f"{e.__class__.__name__}: {e}",
                   traceback=traceback.format_exc())
    else:
        d = a.to_json()
        v = d.get("verdict", {})
        judged = [r for r in d["reps"] if r.get("judged")]
        out.update(result="analysed", reps=len(d["reps"]), partial=len(d["incomplete_reps"]),
                   verdict=v.get("clip"), view=v.get("view", {}).get("view"),
                   side_ratio=v.get("view", {}).get("side_ratio"), judged=len(judged),
                   rounding=sum("lumbar_rounding" in r["faults"] for r in judged),
                   squatting=sum("squatting" in r["faults"] for r in judged),
                   faults={f: sum(f in r["faults"] for r in d["reps"])
                           for f in ("lumbar_rounding", "squatting", "too_fast", "neck_craning",
                                     "top_overextension")},
                   rep_faults=[r["faults"] for r in d["reps"]],
                   frames=a.info.get("frames"), warnings=len(a.warnings))
    out["seconds"] = round(time.perf_counter() - t0, 2)
    if out.get("frames"):
        out["fps"] = round(out["frames"] / out["seconds"], 2)
    return out


def kept(src: dict[str, Any], got: dict[str, Any], transform: str) -> tuple[bool, bool]:
    """(rep count kept, verdicts kept) of a transformed clip against its source."""
    if src.get("result") != "analysed" or got.get("result") != "analysed":
        return False, False
    if transform == "trim_one":
        mid = src["rep_faults"][len(src["rep_faults"]) // 2] if src["rep_faults"] else []
        reps_ok = got["reps"] == 1
        flags = {"lumbar_rounding": "lumbar_rounding" in mid, "squatting": "squatting" in mid}
        return reps_ok, reps_ok and bool(got["rounding"]) == flags["lumbar_rounding"] \
            and bool(got["squatting"]) == flags["squatting"]
    reps_ok = got["reps"] == src["reps"]
    return reps_ok, reps_ok and got["rounding"] == src["rounding"] and got["squatting"] == src["squatting"] \
        and got["verdict"] == src["verdict"]


def tables(results: list[dict[str, Any]], index: dict[str, Any]) -> str:
    """The markdown tables: by clip, and by transformation."""
    by = {r["clip"]: r for r in results}
    lines = ["| clip | transform | result | reps | partial | view | judged | rounding | squatting | verdict | "
             "kept reps | kept verdicts | frames/s |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    per_t: dict[str, list[tuple[bool, bool]]] = {}
    tb = 0
    for r in results:
        meta = index.get(r["clip"], {})
        t = meta.get("transform", "-")
        src = by.get(f"{meta.get('stem')}.mp4") if meta else None
        k = kept(src, r, t) if src and meta.get("benign") else None
        tb += r["result"] == "traceback"
        if k is not None:
            per_t.setdefault(t, []).append(k)
        lines.append(f"| {r['clip']} | {t} | {r['result']} | {r.get('reps', '-')} | {r.get('partial', '-')} | "
                     f"{r.get('view', '-')} | {r.get('judged', '-')} | {r.get('rounding', '-')} | "
                     f"{r.get('squatting', '-')} | {r.get('verdict', '-')} | "
                     f"{'-' if k is None else ('yes' if k[0] else 'NO')} | "
                     f"{'-' if k is None else ('yes' if k[1] else 'NO')} | {r.get('fps', '-')} |")
    lines += ["", "| transformation | clips | rep count kept | verdicts kept |", "|---|---|---|---|"]
    allk: list[tuple[bool, bool]] = []
    for t, ks in sorted(per_t.items()):
        allk += ks
        lines.append(f"| {t} | {len(ks)} | {sum(a for a, _ in ks)} | {sum(b for _, b in ks)} |")
    if allk:
        lines.append(f"| **all benign** | {len(allk)} | {sum(a for a, _ in allk)} "
                     f"({100 * sum(a for a, _ in allk) / len(allk):.0f} %) | {sum(b for _, b in allk)} "
                     f"({100 * sum(b for _, b in allk) / len(allk):.0f} %) |")
    lines.append(f"\ntracebacks: {tb} of {len(results)} clips")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--model", default="full", choices=("lite", "full", "heavy"))
    ap.add_argument("--wild", type=Path, default=None, help="a folder of other clips to add (no-crash, sanity)")
    ap.add_argument("--sources", type=Path, default=None, help="where the source clips are (for the baseline)")
    ap.add_argument("--results", type=Path, default=None)
    ap.add_argument("--posecache", type=Path, default=None,
                    help="cached poses of the source and wild clips (same model), instead of running it")
    ap.add_argument("--only", default="*.mp4")
    ap.add_argument("--table-only", action="store_true")
    a = ap.parse_args(argv)
    index = json.loads((a.corpus / "corpus.json").read_text()) if (a.corpus / "corpus.json").exists() else {}
    res_path = a.results or a.corpus / f"results-{a.model}.jsonl"
    done = {}
    if res_path.exists():
        for line in res_path.read_text().splitlines():
            r = json.loads(line)
            done[r["clip"]] = r
    clips = sorted(a.corpus.glob(a.only))
    sources = sorted({Path(m["source"]) for m in index.values()})
    if a.sources is not None:
        sources = [a.sources / s.name for s in sources]
    todo = sources + clips + (sorted(a.wild.glob("*.mp4")) if a.wild else [])
    if not a.table_only:
        for p in todo:
            if p.name in done:
                continue
            r = outcome(p, a.model, a.posecache if p not in clips else None)
            done[p.name] = r
            with res_path.open("a") as f:
                f.write(json.dumps(r) + "\n")
            print(f"{p.name}: {r['result']} {r.get('reps', '')} {r.get('verdict', '')} {r['seconds']} s",
                  file=sys.stderr, flush=True)
    print(tables([done[p.name] for p in todo if p.name in done], index))


if __name__ == "__main__":
    main()
