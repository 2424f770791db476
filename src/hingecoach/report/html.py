"""One self-contained HTML file: inline CSS, plots as base64 PNG, no script, no network.

Readable on paper: print CSS (A4, page breaks before the progress page, tables and
figures kept whole), colours that survive black-and-white printing thanks to labels.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Callable
from html import escape
from typing import Any

from hingecoach.analysis import Analysis
from hingecoach.core.vocabulary import fault_label, fault_labels
from hingecoach.faults import MESSAGES, RepMetrics
from hingecoach.report.data import PAIN_ADVICE, RED_FLAGS, ReportData
from hingecoach.report.explain import explain
from hingecoach.report.figures import Picture, angle_figures, progress_figure
from hingecoach.report.stills import CSS as STILLS_CSS
from hingecoach.report.stills import grid_html, pair_html
from hingecoach.report.wording import CLIP_VERDICTS, is_camera, lumbar_name, rep_peak

CAMERA_MEANING = ("The back bow is the virtual dowel: how far the back's outline bows from the hip-shoulder "
                  "line, as an angle (0 = standing, rounding positive; the camera's own scale). Hip flexion "
                  "is the trunk against the thigh.")

CSS = """
:root { --ok: #2e9d4a; --bad: #d23c3c; --ink: #1d1d1f; --mute: #5f6368; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); max-width: 1000px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
h2 { font-size: 1.2em; margin: 1.6em 0 .5em; border-bottom: 1px solid #ddd; padding-bottom: .2em;
     break-after: avoid; page-break-after: avoid; }
.sub { color: var(--mute); margin: 0 0 1em; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(145px, 1fr)); gap: 8px;
         margin: 1em 0; }
.fact { border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px; }
.fact b { display: block; font-size: 1.35em; }
.fact span { color: var(--mute); font-size: .85em; }
.banner { border-left: 5px solid #e0a21e; background: #fff7e6; padding: 8px 12px; margin: 1em 0; }
figure { margin: .8em 0; break-inside: avoid; page-break-inside: avoid; }
figure img { width: 100%; height: auto; display: block; }
figcaption { color: var(--mute); font-size: .85em; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 6px; text-align: right; vertical-align: top; }
th { background: #f4f4f4; }
td.l, th.l { text-align: left; }
tr { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
.ok { color: var(--ok); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.fault { border: 1px solid #eee; border-left: 5px solid var(--bad); padding: 6px 12px; margin: .6em 0;
         break-inside: avoid; page-break-inside: avoid; }
.fault h3 { margin: .2em 0; font-size: 1em; }
.fault p { margin: .3em 0; }
.progress { break-before: page; page-break-before: always; }
.disclaimer { margin-top: 2em; border-top: 2px solid #333; padding-top: .6em; font-size: .9em; }
.small { font-size: .85em; color: var(--mute); }
@media screen and (max-width: 600px) {  /* a phone: wide tables scroll inside the page */
  body { padding: 12px; }
  table { display: block; overflow-x: auto; }
}
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  .fact { border-color: #999; }
  a { color: inherit; text-decoration: none; }
}
"""


def _img(p: Picture) -> str:
    data = base64.b64encode(p.png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" width="{p.width_px}" '
            f'height="{p.height_px}" alt="{escape(p.alt)}"><figcaption>{escape(p.alt)}</figcaption>'
            "</figure>")


def _num(x: Any, fmt: str = ".1f", unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:{fmt}}{unit}"


def _when(iso: str) -> str:
    """'2026-10-12T09:00:00+00:00' -> '2026-10-12 09:00 UTC' (stored times are UTC)."""
    return iso[:16].replace("T", " ") + (" UTC" if iso.endswith(("+00:00", "Z")) else "")


def _fact(value: str, label: str) -> str:
    return f'<div class="fact"><b>{value}</b><span>{escape(label)}</span></div>'


def render_html(d: ReportData) -> str:
    """The whole report as one self-contained HTML page (figures inlined as PNG data URIs)."""
    a = d.analysis
    return "\n".join([*_head(d), *pair_html(d), *_facts(d), *_camera_verdict(d), *_angles(a),
                      *_reps(a, _judgements(d)), *grid_html(d), *_faults(d), *_pain(d),
                      *_notes_and_warnings(d), *_progress(d), *_footer(d)])


def _head(d: ReportData) -> list[str]:
    s = d.summary
    who = escape(s.person) if s.person else "no person recorded"
    out = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>hingecoach report: session {s.id}</title><style>{CSS}{STILLS_CSS}</style></head><body>",
        f"<h1>Hip hinge session {s.id}</h1>",
        f'<p class="sub">{who} · {escape(_when(s.started_at))} · {escape(s.what)} · '
        f'source {escape(s.source or "–")}{" · device " + escape(s.device) if s.device else ""} · '
        f"hingecoach {escape(d.record.software_version)}</p>",
    ]
    if not s.complete:
        out.append('<div class="banner"><b>Incomplete session.</b> The recording stopped before '
                   "the session was closed (a crash or a lost connection); this report shows "
                   "everything stored up to that moment.</div>")
    return out


def _facts(d: ReportData) -> list[str]:
    s, a = d.summary, d.analysis
    th = a.thresholds
    faulty = [m for m in a.reps if m.faults]
    share = f"{100 * len(faulty) / len(a.reps):.0f} %" if a.reps else "–"
    pain = {p.moment: p.value for p in d.record.pain}
    hinge = d.hinge
    # the IMU label stays as it always read; a camera's says what it measured
    hinge_label = hinge.label if is_camera(a) else "range of hinge (median pelvis tilt)"
    out = ['<div class="facts">']
    out += [_fact(str(len(a.reps)), "repetitions"), _fact(f"{len(faulty)} ({share})", "with a fault"),
            _fact(_num(s.peak_lumbar_flexion_deg, ".0f", "°"), f"peak {lumbar_name(a)}"),
            _fact(_num(hinge.value, ".0f", "°"), hinge_label),
            _fact(_num(th.lumbar_rounding_deg, ".0f", "°"), "lumbar rounding threshold"),
            _fact(f"{_num(pain.get('before'), 'd')} → {_num(pain.get('after'), 'd')}",
                  "pain before → after (0-10)")]
    out.append("</div>")
    source = d.source_sentence()
    out.append(f'<p class="small">Threshold: {escape(th.lumbar_rounding_source)}.'
               + (f" {escape(source)}" if source else "") + "</p>")
    return out


def _angles(a: Analysis) -> list[str]:
    out = ["<h2>Angles over time</h2>"]
    pics = angle_figures(a)
    if pics:
        what = (CAMERA_MEANING if is_camera(a) else "Lumbar flexion is the bend of the lower back (0 = neutral "
                "standing, forward positive).")
        out.append(f'<p class="small">{what} The shaded red band is above the lumbar rounding '
                   "threshold; each repetition is marked along the foot of the chart, green (no fault) or "
                   "red (a fault).</p>")
        out += [_img(p) for p in pics]
    else:
        out.append("<p>No angle samples were stored for this session.</p>")
    return out


def _camera_verdict(d: ReportData) -> list[str]:
    """A camera session's verdict on the clip (good, faults or cannot_judge) and its reasons."""
    v = d.record.extra.get("camera_verdict", {}).get("verdict")
    if not v:
        return []
    css, text = CLIP_VERDICTS.get(v["clip"], ("bad", v["clip"]))
    view = v.get("view", {}).get("view")
    out = ["<h2>The clip's verdict</h2>",
           f'<p class="verdict"><span class="{css}">{escape(text)}</span> ({v["judged_reps"]} of '
           f'{v["reps"]} repetitions judged{", " + escape(view) + " view" if view else ""})</p>']
    if v.get("reasons"):
        out.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in v["reasons"]) + "</ul>")
    return out


def _judgements(d: ReportData) -> list[dict[str, Any]] | None:
    """A camera session's per-rep judgements, complete reps then partial ones (None: not a camera session)."""
    stored = d.record.extra.get("camera_verdict")
    if not stored:
        return None
    return [*stored.get("reps", []), *stored.get("partial", [])]


def _judged(j: dict[str, Any]) -> str:
    """Whether a camera rep was judged, or why not."""
    if j.get("judged"):
        return '<br><span class="small">judged</span>'
    return f'<br><span class="small">not judged: {escape(j.get("not_judged_because") or "no reason given")}</span>'


def _rep_columns(a: Analysis) -> tuple[str, list[Callable[[RepMetrics], str]]]:
    """The measure columns of the rep table (header cells, one formatter per column) by
    source: a camera's back bow, trunk, hip and knee; the IMUs' lumbar flexion, pelvis tilt
    and lumbar share."""
    if is_camera(a):
        return ("<th>back bow (°)</th><th>trunk (°)</th><th>hip flexion (°)</th><th>knee/hip</th>"
                "<th>neck ext. (°)</th><th>descent (s)</th>",
                [lambda m: _num(m.peak_lumbar_flexion_deg), lambda m: _num(m.peak_trunk_inclination_deg),
                 lambda m: _num(rep_peak(a, "hip_flexion_deg", m)), lambda m: _num(m.knee_hip_ratio, ".2f"),
                 lambda m: _num(m.peak_neck_extension_deg), lambda m: _num(m.descent_s, ".2f")])
    return ("<th>lumbar flexion (°)</th><th>pelvis tilt (°)</th><th>lumbar share</th><th>descent (s)</th>",
            [lambda m: _num(m.peak_lumbar_flexion_deg), lambda m: _num(m.peak_pelvis_tilt_deg),
             lambda m: _num(m.lumbar_share, ".2f"), lambda m: _num(m.descent_s, ".2f")])


def _reps(a: Analysis, judgements: list[dict[str, Any]] | None = None) -> list[str]:
    """The repetitions table; ``judgements``: a camera session's per-rep judgements."""
    out = ["<h2>Repetitions</h2>"]
    if not (a.reps or a.incomplete):
        out.append("<p>No repetitions were recorded in this session.</p>")
        return out
    head, cells = _rep_columns(a)
    out.append('<table class="reps"><thead><tr><th>rep</th><th>start (s)</th><th>bottom (s)</th>'
               f"<th>end (s)</th>{head}<th class=l>verdict</th></tr></thead><tbody>")
    for k, m in enumerate([*a.reps, *a.incomplete]):
        verdict = (f'<span class="bad">{escape(fault_labels(m.faults))}</span>' if m.faults
                   else '<span class="ok">ok</span>')
        if not m.complete:
            verdict += " (incomplete: did not return to standing; not counted)"
        if judgements is not None and k < len(judgements):
            if not (judgements[k].get("judged") or m.faults):
                verdict = "–"  # no fault found is not "ok" when the back could not be judged
            verdict += _judged(judgements[k])
        out.append(f"<tr><td>{m.index if m.complete else '–'}</td><td>{_num(m.start_s)}</td>"
                   f"<td>{_num(m.bottom_s)}</td><td>{_num(m.end_s)}</td>"
                   + "".join(f"<td>{c(m)}</td>" for c in cells)
                   + f"<td class=l>{verdict}</td></tr>")
    out.append("</tbody></table>")
    return out


def _faults(d: ReportData) -> list[str]:
    a = d.analysis
    counts = Counter(f for m in a.reps for f in m.faults)
    out = ["<h2>What the faults mean</h2>"]
    if counts:
        for f, n in counts.most_common():
            e = explain(f)
            cue = MESSAGES.get(f, "")
            out.append(f'<div class="fault"><h3>{escape(e.mistake)} <span class="small">'
                       f"({escape(fault_label(f))}: {n} of {len(a.reps)} reps)</span></h3><p>{escape(e.why)}</p>"
                       + (f"<p><b>Instead:</b> {escape(e.fix)}</p>" if e.fix else "")
                       + (f'<p class="small">Cue: “{escape(cue)}”</p>' if cue else "") + "</div>")
    else:
        out.append("<p>No form faults in this session." if a.reps else "<p>No repetitions, so no "
                   "faults to explain.")
        out.append("</p>")
    if d.record.cues:
        out.append(f"<p class=small>{len(d.record.cues)} live cue(s) were given during the session.</p>")
    return out


def _pain(d: ReportData) -> list[str]:
    rec = d.record
    out = ["<h2>Pain</h2>"]
    if rec.pain:
        out.append('<table><thead><tr><th class=l>when</th><th class=l>moment</th><th>set</th>'
                   "<th>pain (0-10)</th><th class=l>note</th></tr></thead><tbody>")
        for p in rec.pain:
            cls = "bad" if p.value > 5 else ""  # above 5 of 10: docs/references.md#pain-monitoring
            out.append(f"<tr><td class=l>{escape(p.recorded_at.replace('T', ' '))}</td>"
                       f"<td class=l>{escape(p.moment)}</td><td>{'' if p.set_idx is None else p.set_idx}</td>"
                       f'<td class="{cls}">{p.value}</td><td class=l>{escape(p.note)}</td></tr>')
        out.append("</tbody></table>")
    else:
        out.append("<p>No pain ratings were recorded for this session.</p>")
    out.append(f'<p class="small">{escape(PAIN_ADVICE)}</p>')
    if d.clearances:  # a clinician's word on the safety screen belongs next to the pain
        out.append("<h2>Safety screen: clearances</h2><ul>")
        out += [f"<li>{escape(line)}</li>" for line in d.clearance_lines()]
        out.append("</ul>")
    return out


def _notes_and_warnings(d: ReportData) -> list[str]:
    out: list[str] = []
    if d.record.notes:
        out.append("<h2>Notes</h2><ul>")
        out += [f"<li><b>{escape(n.author or 'note')}</b> ({escape(n.recorded_at[:10])}): "
                f"{escape(n.text)}</li>" for n in d.record.notes]
        out.append("</ul>")
    if d.analysis.warnings:
        out.append("<h2>Measurement warnings</h2><ul>")
        out += [f"<li>{escape(w)}</li>" for w in d.analysis.warnings]
        out.append("</ul>")
    return out


def _progress(d: ReportData) -> list[str]:
    s = d.summary
    out = ['<section class="progress"><h2>Progress</h2>']
    camera = is_camera(d.analysis)
    pic = progress_figure(d.progress, s.id, d.hinge_measure, "back bow" if camera else "lumbar flexion")
    if pic is not None:
        out.append(_img(pic))
    if len(d.progress) > 1 or pic is None:
        out.append('<table><thead><tr><th>session</th><th class=l>date</th><th>reps</th>'
                   f"<th>faulty</th><th>{'peak back bow' if camera else 'peak lumbar'} (°)</th><th>hinge (°)</th>"
                   "<th>pain before → after</th></tr></thead><tbody>")
        for g in d.progress:
            mark = " ◀" if g.id == s.id else ""
            out.append(f"<tr><td>{g.id}{mark}</td><td class=l>{escape(g.started_at[:16].replace('T', ' '))}"
                       f"</td><td>{g.reps}</td><td>{g.faulty_reps}</td>"
                       f"<td>{_num(g.peak_lumbar_flexion_deg)}</td><td>{_num(g.hinge_range_deg)}</td>"
                       f"<td>{_num(g.pain_before, 'd')} → {_num(g.pain_after, 'd')}</td></tr>")
        out.append("</tbody></table>")
        if camera:
            out.append(f'<p class="small">Hinge: the {escape(d.hinge_measure)} of each camera session; sessions '
                       "of other kinds measure it otherwise and are left blank here"
                       + (", as is their peak lumbar flexion (not the camera's back bow)" if d.other_source_blank
                          else "") + ".</p>")
        elif d.other_source_blank:
            out.append('<p class="small">Filmed sessions measure the back otherwise (the camera\'s back bow and '
                       "hip flexion) and are left blank here.</p>")
    if not s.person:
        out.append('<p class="small">This session belongs to no person, so progress shows it alone; '
                   "save sessions with --person to follow a person over time.</p>")
    out.append("</section>")
    return out


def _footer(d: ReportData) -> list[str]:
    version = escape(d.record.software_version)
    return [f'<div class="disclaimer"><p><b>{escape(d.disclaimer)}</b></p><p>{escape(RED_FLAGS)}</p>'
            f'<p class="small">Made by hingecoach {version} on this '
            "computer; no data left it.</p></div>",
            "</body></html>"]
