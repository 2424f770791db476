"""The same report as a PDF, with matplotlib's PdfPages (no browser needed): a summary
page, the angle pages, the rep table, the faults explained, pain, progress."""

from __future__ import annotations

import math
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from hingecoach.analysis import Analysis
from hingecoach.core.vocabulary import fault_label, fault_labels
from hingecoach.faults import RepMetrics
from hingecoach.report.data import PAIN_ADVICE, RED_FLAGS, ReportData
from hingecoach.report.explain import explain
from hingecoach.report.figures import angle_plots, progress_plot
from hingecoach.report.stills import pair_on_page, save_pages
from hingecoach.report.wording import clip_verdict_lines, is_camera, lumbar_name, rep_peak

A4 = (8.27, 11.69)
ROWS_PER_PAGE = 40
# the verdict's offset per character of the rep cells (page widths): DejaVu Sans Mono at
# 8 pt advances 0.0081 of A4's width, more once rasterised at a low resolution (a page
# drawn at 70 dpi put the last angle under the verdict); the slack keeps them apart
MONO_CHAR = 0.0088


def _n(x: Any, fmt: str = ".1f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:{fmt}}"


class _TextPage:
    """Lines of text flowing down A4 pages."""

    def __init__(self, pdf: PdfPages) -> None:
        self.pdf = pdf
        self.fig: Figure | None = None
        self.y = 0.0

    def line(self, text: str, size: float = 10, bold: bool = False, gap: float = 0.0,
             width: int | None = None) -> None:
        """Add ``text`` wrapped to ``width`` characters (size in points), a new page when full."""
        width = width or int(92 * 10 / size * (0.92 if bold else 1.0))
        for part in textwrap.wrap(text, width) or [""]:
            if self.fig is None or self.y < 0.06:
                self.flush()
                self.fig = Figure(figsize=A4)
                self.y = 0.95
            self.fig.text(0.08, self.y, part, fontsize=size, weight="bold" if bold else "normal",
                          va="top", family="DejaVu Sans")
            self.y -= size / 72 / A4[1] * 1.45
        self.y -= gap

    def flush(self) -> None:
        """Save the page being filled, if any."""
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            self.fig = None


def write_pdf(d: ReportData, path: str | Path) -> None:
    """Write the report as an A4 PDF at ``path`` (text pages, angle pages, progress)."""
    s, rec, a = d.summary, d.record, d.analysis
    with PdfPages(path, metadata={"Title": f"hingecoach session {s.id}", "Creator": "hingecoach"}) as pdf:
        tp = _TextPage(pdf)
        tp.line(f"Hip hinge session {s.id}", 18, True, 0.01)
        tp.line(f"{s.person or 'no person recorded'} · {s.started_at[:16].replace('T', ' ')} UTC · {s.what} · "
                f"source {s.source or '-'} · hingecoach {rec.software_version}", 9, gap=0.015)
        tp.y -= pair_on_page(tp.fig, tp.y, d)
        if not s.complete:
            tp.line("Incomplete session: the recording stopped before the session was closed; "
                    "everything stored up to that moment is shown.", 10, True, 0.01)
        faulty = sum(1 for m in a.reps if m.faults)
        pain = {p.moment: p.value for p in rec.pain}
        hinge = d.hinge
        for text in (f"Repetitions: {len(a.reps)}, with a fault: {faulty}",
                     f"Peak {lumbar_name(a)}: {_n(s.peak_lumbar_flexion_deg)} deg; {hinge.label}: "
                     f"{_n(hinge.value)} deg",
                     f"Lumbar rounding threshold: {a.thresholds.lumbar_rounding_deg:.0f} deg "
                     f"({a.thresholds.lumbar_rounding_source})",
                     f"Pain before -> after (0-10): {_n(pain.get('before'), 'd')} -> "
                     f"{_n(pain.get('after'), 'd')}"):
            tp.line(text, 11)
        if is_camera(a):
            tp.line(d.source_sentence(), 10)
            for k, line in enumerate(clip_verdict_lines(rec.extra.get("camera_verdict", {}).get("verdict"))):
                tp.line(line, 11 if k == 0 else 10, bold=k == 0)
        tp.line("", gap=0.01)
        counts = Counter(f for m in a.reps for f in m.faults)
        tp.line("What the faults mean", 13, True, 0.005)
        if not counts:
            tp.line("No form faults in this session." if a.reps else "No repetitions recorded.")
        for f, n in counts.most_common():
            e = explain(f)
            tp.line(f"{e.mistake} ({fault_label(f)}: {n} of {len(a.reps)} reps)", 11, True)
            tp.line(e.why, 10)
            if e.fix:
                tp.line("Instead: " + e.fix, 10, gap=0.008)
        tp.line("", gap=0.01)
        tp.line("Pain", 13, True, 0.005)
        for p in rec.pain:
            tp.line(f"{p.recorded_at.replace('T', ' ')}  {p.moment}: {p.value}/10 {p.note}", 10)
        if not rec.pain:
            tp.line("No pain ratings were recorded for this session.", 10)
        tp.line(PAIN_ADVICE, 9, gap=0.01)
        for line in d.clearance_lines():
            tp.line(line, 10)
        for note in rec.notes:
            tp.line(f"Note ({note.author or 'note'}, {note.recorded_at[:10]}): {note.text}", 10)
        tp.line(d.disclaimer, 9, True)
        tp.line(RED_FLAGS, 9)
        tp.flush()

        for fig, _alt in angle_plots(a):
            pdf.savefig(fig)

        _rep_pages(pdf, a)
        save_pages(pdf, d)

        plot = progress_plot(d.progress, s.id, d.hinge_measure, "back bow" if is_camera(a) else "lumbar flexion")
        if plot is not None:
            pdf.savefig(plot[0])


def _rep_cells(a: Analysis) -> tuple[str, Callable[[RepMetrics], str]]:
    """The rep table's header and row cells (monospaced) by source: a camera's back bow,
    trunk and hip flexion; the IMUs' lumbar flexion, pelvis tilt and lumbar share."""
    if is_camera(a):
        def camera(m: RepMetrics) -> str:
            return (f"{m.index if m.complete else '-':>4} {_n(m.start_s):>8} {_n(m.bottom_s):>8} "
                    f"{_n(m.end_s):>8} {_n(m.peak_lumbar_flexion_deg):>8} {_n(m.peak_trunk_inclination_deg):>8} "
                    f"{_n(rep_peak(a, 'hip_flexion_deg', m)):>8}  ")
        return (f"{'rep':>4} {'start s':>8} {'bottom s':>8} {'end s':>8} {'back°':>8} {'trunk°':>8} "
                f"{'hip°':>8}  verdict", camera)

    def imu(m: RepMetrics) -> str:
        return (f"{m.index if m.complete else '-':>4} {_n(m.start_s):>8} {_n(m.bottom_s):>8} "
                f"{_n(m.end_s):>8} {_n(m.peak_lumbar_flexion_deg):>8} "
                f"{_n(m.peak_pelvis_tilt_deg):>8} {_n(m.lumbar_share, '.2f'):>6}  ")
    return (f"{'rep':>4} {'start s':>8} {'bottom s':>8} {'end s':>8} {'lumbar°':>8} {'pelvis°':>8} "
            f"{'share':>6}  verdict", imu)


def _rep_pages(pdf: PdfPages, a: Analysis) -> None:
    """The rep table as monospaced lines (matplotlib's table is slow for hundreds of rows)."""
    reps = [*a.reps, *a.incomplete]
    header, row = _rep_cells(a)
    for p0 in range(0, len(reps), ROWS_PER_PAGE):
        fig = Figure(figsize=A4)
        fig.text(0.06, 0.96, "Repetitions" + (" (continued)" if p0 else ""), fontsize=13,
                 weight="bold", va="top")
        fig.text(0.06, 0.925, header, family="DejaVu Sans Mono", fontsize=8, weight="bold", va="top")
        for k, m in enumerate(reps[p0:p0 + ROWS_PER_PAGE]):
            y = 0.905 - k * 0.021
            cells = row(m)
            verdict = (fault_labels(m.faults) or "ok") + ("" if m.complete else " (incomplete)")
            fig.text(0.06, y, cells, family="DejaVu Sans Mono", fontsize=8, va="top")
            fig.text(0.06 + MONO_CHAR * len(cells), y, verdict, family="DejaVu Sans Mono", fontsize=8,
                     va="top", color="#d23c3c" if m.faults else "#2e9d4a")
        pdf.savefig(fig)
