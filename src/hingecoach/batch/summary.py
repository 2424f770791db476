"""``summary.html``: a cohort at a glance, self-contained like the session reports
(inline CSS, matplotlib PNGs embedded as base64, no script, no network).

Per recording and per person: the faulty-rep share, peak lumbar flexion, and for
occupational recordings the exposure (hinges per hour and the share with lumbar
rounding, the measure biofeedback aims to lower: docs/references.md#michaud-2021).
Tables are capped so that a cohort of thousands stays a readable page; the full
numbers are in recordings.parquet.
"""

from __future__ import annotations

import base64
import math
import os
import time
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

from hingecoach import __version__
from hingecoach.report.figures import Picture, to_png
from hingecoach.report.html import CSS

MAX_ROWS = 200  # recordings shown in the table (the worst first)
SUMMARY = "summary.html"
PLOTS_CSS = ".plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }"


def _share(a: Any, b: Any) -> float | None:
    return a / b if b else None


def _fmt(x: Any, fmt: str = ".1f", unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:{fmt}}{unit}"


def _img(p: Picture) -> str:
    data = base64.b64encode(p.png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" width="{p.width_px}" '
            f'height="{p.height_px}" alt="{escape(p.alt)}"><figcaption>{escape(p.alt)}</figcaption></figure>')


def _hist(values: list[float], xlabel: str, alt: str, bins: int = 20) -> Picture | None:
    if not values:
        return None
    fig = Figure(figsize=(4.6, 2.8))
    ax = fig.add_subplot()
    ax.hist(values, bins=bins, color="#1f3b73", alpha=0.85)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("recordings")
    fig.tight_layout()
    return to_png(fig, alt)


def _scatter(x: list[float], y: list[float], xlabel: str, ylabel: str, alt: str) -> Picture | None:
    if not x:
        return None
    fig = Figure(figsize=(4.6, 2.8))
    ax = fig.add_subplot()
    ax.scatter(x, y, s=12, color="#d23c3c", alpha=0.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return to_png(fig, alt)


def _people_plot(people: list[dict[str, Any]]) -> Picture | None:
    """Faulty-rep share and median peak lumbar flexion per person (the first 30 by name)."""
    shown = [p for p in people if p["faulty_share"] is not None][:30]
    if len(shown) < 2:
        return None
    fig = Figure(figsize=(4.6, max(2.8, 0.22 * len(shown) + 1.0)))
    ax = fig.add_subplot()
    y = np.arange(len(shown))
    ax.barh(y, [p["faulty_share"] for p in shown], color="#d23c3c", alpha=0.8)
    ax.set_yticks(y, [str(p["person"])[:18] for p in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of faulty reps")
    fig.tight_layout()
    return to_png(fig, "Faulty-rep share per person")


def _people(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r.get("person") or "(no person)"].append(r)
    out = []
    for name, rs in sorted(by.items()):
        reps = sum(r["reps"] or 0 for r in rs)
        hours = sum((r["duration_s"] or 0.0) for r in rs) / 3600.0
        peaks = [r["peak_lumbar_flexion_deg"] for r in rs if r["peak_lumbar_flexion_deg"] is not None]
        out.append({"person": name, "recordings": len(rs), "reps": reps,
                    "faulty_share": _share(sum(r["faulty_reps"] or 0 for r in rs), reps),
                    "peak_median": float(np.median(peaks)) if peaks else None,
                    "peak_max": max(peaks) if peaks else None,
                    "hinges_per_hour": _share(reps, hours),
                    "rounding_share": _share(sum(r["n_lumbar_rounding"] or 0 for r in rs), reps)})
    return out


def render_summary(recordings: pa.Table) -> str:
    """The summary page for a recordings table (see ``batch.output``)."""
    rows = recordings.to_pylist()
    ok = [r for r in rows if r["status"] == "ok"]
    for r in ok:
        r["faulty_share"] = _share(r["faulty_reps"], r["reps"])
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "failed", "skipped")}
    reps = sum(r["reps"] or 0 for r in ok)
    hours = sum(r["duration_s"] or 0.0 for r in ok) / 3600.0
    facts = [(str(len(rows)), "recordings"), (str(counts["failed"]), "failed"), (str(counts["skipped"]), "skipped"),
             (_fmt(hours, ".1f" if hours >= 10 else ".2f"), "hours analysed"), (str(reps), "reps"),
             (_fmt(_share(sum(r["faulty_reps"] or 0 for r in ok), reps), ".0%"), "faulty reps"),
             (_fmt(_share(reps, hours), ".0f"), "hinges per hour"),
             (_fmt(_share(sum(r["n_lumbar_rounding"] or 0 for r in ok), reps), ".0%"), "with lumbar rounding")]
    with_reps = [r for r in ok if r["reps"]]
    pics = [
        _hist([r["faulty_share"] for r in with_reps], "share of faulty reps", "Faulty-rep share per recording"),
        _hist([r["peak_lumbar_flexion_deg"] for r in with_reps], "peak lumbar flexion (deg)",
              "Peak lumbar flexion per recording"),
        _scatter([r["hinges_per_hour"] for r in with_reps if r["hinges_per_hour"] is not None],
                 [r["rounding_share"] for r in with_reps if r["hinges_per_hour"] is not None],
                 "hinges per hour", "share with lumbar rounding",
                 "Exposure per recording: hinges per hour and the share with lumbar rounding"),
    ]
    people = _people(ok)
    pics.append(_people_plot(people))
    html = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>hingecoach cohort summary</title>"
            f"<style>{CSS}{PLOTS_CSS}</style></head><body><h1>Cohort summary</h1>",
            f"<p class='sub'>{escape(time.strftime('%Y-%m-%d %H:%M'))} · hingecoach {escape(__version__)} · "
            f"the numbers behind this page: recordings.parquet, reps.parquet</p>", "<div class='facts'>"]
    html += [f"<div class='fact'><b>{escape(v)}</b><span>{escape(k)}</span></div>" for v, k in facts]
    html.append("</div><h2>Distributions</h2><div class='plots'>")
    html += [_img(p) for p in pics if p is not None]
    html.append("</div>")
    html += _people_table(people)
    html += _recordings_table(ok)
    html += _failed_table([r for r in rows if r["status"] != "ok"])
    html.append("<p class='disclaimer'>Exercise and exposure measures, not a diagnosis.</p></body></html>")
    return "\n".join(html)


def _table(title: str, heads: list[str], rows: list[list[str]], total: int, more: str) -> list[str]:
    """An HTML table: ``heads`` are header cells (a leading "l:" aligns the column left),
    ``rows`` escaped cell texts; past MAX_ROWS a line says how many ``more`` there are."""
    def cell(tag: str, left: bool, text: str) -> str:
        return f"<{tag} class='l'>{text}</{tag}>" if left else f"<{tag}>{text}</{tag}>"

    left = [h.startswith("l:") for h in heads]
    out = [f"<h2>{title}</h2><table><thead><tr>"
           + "".join(cell("th", lf, h.removeprefix("l:")) for lf, h in zip(left, heads, strict=True))
           + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(cell("td", lf, c) for lf, c in zip(left, r, strict=True)) + "</tr>"
            for r in rows[:MAX_ROWS]]
    out.append("</tbody></table>")
    if total > MAX_ROWS:
        out.append(f"<p class='small'>{total - MAX_ROWS} more {more}.</p>")
    return out


def _people_table(people: list[dict[str, Any]]) -> list[str]:
    rows = [[escape(p["person"]), str(p["recordings"]), str(p["reps"]), _fmt(p["faulty_share"], ".0%"),
             _fmt(p["peak_median"]), _fmt(p["peak_max"]), _fmt(p["hinges_per_hour"], ".0f"),
             _fmt(p["rounding_share"], ".0%")] for p in people]
    return _table("Per person", ["l:person", "recordings", "reps", "faulty reps", "peak lumbar° (median)",
                                 "peak lumbar° (max)", "hinges/h", "lumbar rounding"],
                  rows, len(people), "people in recordings.parquet")


def _recordings_table(ok: list[dict[str, Any]]) -> list[str]:
    worst = sorted(ok, key=lambda r: (-(r["faulty_share"] or 0.0), r["path"]))
    rows = [[f"<span title='{escape(r['path'])}'>{escape(os.path.basename(r['path']))}</span>",
             escape(r.get("person") or ""), _fmt((r["duration_s"] or 0) / 3600, ".2f"), str(r["reps"]),
             _fmt(r["faulty_share"], ".0%"), _fmt(r["peak_lumbar_flexion_deg"]), _fmt(r["hinges_per_hour"], ".0f"),
             _fmt(r["rounding_share"], ".0%")] for r in worst]
    return _table("Per recording (most faulty reps first)", ["l:recording", "l:person", "hours", "reps",
                                                             "faulty reps", "peak lumbar°", "hinges/h",
                                                             "lumbar rounding"],
                  rows, len(worst), "recordings in recordings.parquet")


def _failed_table(bad: list[dict[str, Any]]) -> list[str]:
    if not bad:
        return []
    rows = [[escape(r["path"]), escape(r["status"]), escape(r.get("error") or "")]
            for r in sorted(bad, key=lambda r: r["path"])]
    return _table("Not analysed", ["l:recording", "l:status", "l:error"], rows, len(rows),
                  "in recordings.parquet")


def write_summary(out: Path, recordings: pa.Table) -> Path:
    """Write ``summary.html`` in ``out`` (temporary name, then renamed). Returns its path."""
    path = out / SUMMARY
    tmp = out / f".{SUMMARY}.tmp-{os.getpid()}"
    tmp.write_text(render_summary(recordings), encoding="utf-8")
    os.replace(tmp, path)
    return path
