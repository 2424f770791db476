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


class Recorder:
    """A PoseModel that runs BlazePose and keeps each frame's pose (mask at 320 px on its
    long side) in the pose-cache format, so a later code change re-analyses the clip
    without the model."""

    def __init__(self, model: str) -> None:
        from hingecoach.pose.estimator import BlazePose

        self.pose = BlazePose(model=model, follow_lifter=True)
        self.rows: list[Any] = []
        self.size = (0, 0)

    def process(self, rgb: Any) -> Any:
        import cv2
        import numpy as np

        p = self.pose.process(rgb)
        h, w = rgb.shape[:2]
        self.size = (w, h)
        sc = 320 / max(w, h)
        mw, mh = max(1, round(w * sc)), max(1, round(h * sc))
        if p is None:
            self.rows.append((False, np.full((33, 2), np.nan), np.full(33, np.nan), np.zeros(33),
                              np.zeros((mh, mw), np.uint8), -1))
        else:
            m = p.mask if p.mask is not None else np.zeros((h, w), np.float32)
            m = cv2.resize(m, (mw, mh), interpolation=cv2.INTER_AREA)
            self.rows.append((True, p.xy, p.z, p.visibility, np.clip(np.round(m * 255), 0, 255).astype(np.uint8),
                              -1 if p.other_people is None else int(p.other_people)))
        return p

    def close(self) -> None:
        self.pose.close()

    def save(self, path: Path, times: list[float], source: str) -> None:
        import numpy as np

        if not self.rows:
            return
        w, h = self.size
        found, xy, z, vis, masks, others = zip(*self.rows, strict=True)
        tmp = path.with_name(f".{path.stem}.tmp.npz")
        np.savez_compressed(tmp, index=np.arange(len(times), dtype=np.int32), time_s=np.array(times),
                            found=np.array(found), xy=np.array(xy, np.float32), z=np.array(z, np.float32),
                            visibility=np.array(vis, np.float32), mask=np.array(masks, np.uint8),
                            other_people=np.array(others, np.int16), width=np.int32(w), height=np.int32(h),
                            mask_scale=np.float64(masks[0].shape[1] / w), model_complexity=np.int32(1),
                            source=source)
        tmp.rename(path)


def outcome(path: Path, model: str, posecache: Path | None = None, record: Path | None = None
            ) -> dict[str, Any]:
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
    if npz is None and record is not None:
        npz = record / f"{path.stem}.npz"
        if not npz.exists():
            _record(path, model, npz, out)
    a: Any = None
    try:
        if out.get("result") in ("traceback", "refused"):
            pass
        elif npz is not None and npz.exists():
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
    if a is not None:
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


def _record(path: Path, model: str, npz: Path, out: dict[str, Any]) -> None:
    """Decode the clip and run the model once, keeping the poses in ``npz``; a
    traceback on the way is recorded in ``out``."""
    from hingecoach.core.errors import HingecoachError
    from hingecoach.sources.video import VideoReader

    npz.parent.mkdir(parents=True, exist_ok=True)
    rec = None
    t0 = time.perf_counter()
    try:
        rec = Recorder(model)
        times = []
        for _, t, rgb in VideoReader(path):
            rec.process(rgb)
            times.append(t)
        rec.save(npz, times, str(path))
    except HingecoachError as e:
        out.update(result="refused", message=str(e))
    except Exception as e:  # the one thing the camera path must never give
        out.update(result="traceback", message=f"{e.__class__.__name__}: {e}", traceback=traceback.format_exc())
    finally:
        if rec is not None:
            rec.close()
    out["pose_seconds"] = round(time.perf_counter() - t0, 2)


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
        src = (by.get(f"{meta.get('stem')}__plain.mp4") or by.get(f"{meta.get('stem')}.mp4")) if meta else None
        if t == "plain":
            src = None
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
    ap.add_argument("--record", type=Path, default=None,
                    help="keep the corpus clips' poses here and analyse from them (re-runs are cheap)")
    ap.add_argument("--reanalyse", action="store_true", help="analyse again from the recorded poses")
    a = ap.parse_args(argv)
    index = json.loads((a.corpus / "corpus.json").read_text()) if (a.corpus / "corpus.json").exists() else {}
    res_path = a.results or a.corpus / f"results-{a.model}.jsonl"
    done = {}
    if res_path.exists() and not a.reanalyse:
        for line in res_path.read_text().splitlines():
            r = json.loads(line)
            done[r["clip"]] = r
    clips = sorted(a.corpus.glob(a.only))
    plain = {m["stem"] for m in index.values() if m["transform"] == "plain"}
    sources = sorted({Path(m["source"]) for m in index.values() if m["stem"] not in plain})
    if a.sources is not None:
        sources = [a.sources / s.name for s in sources]
    todo = sources + clips + (sorted(a.wild.glob("*.mp4")) if a.wild else [])
    if not a.table_only:
        for p in todo:
            if p.name in done:
                continue
            r = outcome(p, a.model, a.posecache if p not in clips else None,
                        record=a.record if p in clips else None)
            done[p.name] = r
            with res_path.open("a") as f:
                f.write(json.dumps(r) + "\n")
            print(f"{p.name}: {r['result']} {r.get('reps', '')} {r.get('verdict', '')} {r['seconds']} s",
                  file=sys.stderr, flush=True)
    print(tables([done[p.name] for p in todo if p.name in done], index))


if __name__ == "__main__":
    main()
