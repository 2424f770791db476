"""A camera session's rep stills in the reports: a grid of every rep's bottom frame with
its verdict under it and, when the session has both, a correct rep next to a rounded
one at the top (the comparison people understand at once). HTML embeds the JPEGs as
data URIs; the PDF draws them with matplotlib (Pillow decodes them)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from hingecoach.core.stills import NOT_JUDGED, OK, RepStill
from hingecoach.report.data import ReportData

if TYPE_CHECKING:
    from matplotlib.backends.backend_pdf import PdfPages

CSS = """
.stills { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; max-width: 640px; }
.still { margin: 0; break-inside: avoid; page-break-inside: avoid; }
.still img { width: 100%; height: auto; display: block; border-radius: 4px; }
.still figcaption { font-size: .85em; }
.still.nj figcaption { color: var(--mute); }
"""
A4 = (8.27, 11.69)
PER_PAGE = (3, 3)  # columns, rows of stills on a PDF page


def pair(stills: Sequence[RepStill]) -> tuple[RepStill, RepStill] | None:
    """A correct rep and a rounded one (the first of each), or None when the session has
    not both."""
    good = next((s for s in stills if s.good), None)
    bad = next((s for s in stills if s.rounded), None)
    return (good, bad) if good is not None and bad is not None else None


def _css_class(s: RepStill) -> str:
    return "ok" if s.verdict == OK else ("nj" if s.verdict == NOT_JUDGED else "bad")


def _figure(s: RepStill) -> str:
    data = base64.b64encode(s.data).decode("ascii")
    cls = _css_class(s)
    text = escape(s.caption())
    return (f'<figure class="still {cls}"><img src="data:{s.mime};base64,{data}" width="{s.width}" '
            f'height="{s.height}" alt="{text}" loading="eager"><figcaption>'
            f'<span class="{cls if cls != "nj" else ""}">{text}</span></figcaption></figure>')


def pair_html(d: ReportData) -> list[str]:
    """The correct rep next to a rounded one, when the session has both (else nothing)."""
    p = pair(d.stills)
    if p is None:
        return []
    return ["<h2>A correct repetition next to a rounded one</h2>",
            '<p class="small">The frame at the bottom of each: the skeleton in white, the back\'s outline '
            "in blue, and the straight line where the back was when standing (the virtual dowel), red "
            "while the back is rounded past the threshold.</p>",
            '<div class="pair">', *(_figure(s) for s in p), "</div>"]


def grid_html(d: ReportData) -> list[str]:
    """Every rep's still with its verdict, in rep order (nothing for a session without stills)."""
    if not d.stills:
        return []
    return ["<h2>Each repetition at its bottom</h2>", '<div class="stills">',
            *(_figure(s) for s in d.stills), "</div>"]


def _image(data: bytes) -> Any:
    """A still decoded to an RGB array (Pillow, through matplotlib)."""
    from matplotlib import image

    return image.imread(io.BytesIO(data), format="jpeg")


def _draw(fig: Figure, s: RepStill, rect: tuple[float, float, float, float]) -> None:
    """The still in ``rect`` (figure fractions), its caption under it."""
    ax = fig.add_axes(rect)
    ax.imshow(_image(s.data), interpolation="antialiased")
    ax.set_axis_off()
    color = {"ok": "#2e9d4a", "bad": "#d23c3c"}.get(_css_class(s), "#5f6368")
    fig.text(rect[0], rect[1] - 0.006, s.caption(), fontsize=7, va="top", color=color, wrap=True,
             family="DejaVu Sans")


def pair_on_page(fig: Figure | None, top: float, d: ReportData) -> float:
    """Draw the correct rep next to a rounded one on ``fig`` (an A4 page) from ``top``
    (figure fraction) down; returns the height used (0 when the session has not both)."""
    p = pair(d.stills)
    if p is None or fig is None:
        return 0.0
    fig.text(0.08, top, "A correct repetition next to a rounded one", fontsize=11, weight="bold", va="top")
    w = 0.26  # of the page's width, each
    h = max(w * A4[0] * s.height / max(1, s.width) / A4[1] for s in p)
    for k, s in enumerate(p):
        _draw(fig, s, (0.08 + (w + 0.04) * k, top - 0.03 - h, w, h))
    return 0.03 + h + 0.045


def grid_figures(d: ReportData) -> list[Figure]:
    """The PDF pages of every rep's still, ``PER_PAGE`` to a page, with their verdicts."""
    cols, rows = PER_PAGE
    n = cols * rows
    pages = []
    for p0 in range(0, len(d.stills), n):
        fig = Figure(figsize=A4)
        fig.text(0.06, 0.97, "Each repetition at its bottom" + (" (continued)" if p0 else ""), fontsize=13,
                 weight="bold", va="top")
        for k, s in enumerate(d.stills[p0:p0 + n]):
            r, c = divmod(k, cols)
            w, h = 0.88 / cols, 0.9 / rows
            _draw(fig, s, (0.06 + c * w, 0.93 - (r + 1) * h + 0.04, w - 0.02, h - 0.06))
        pages.append(fig)
    return pages


def save_pages(pdf: PdfPages, d: ReportData) -> None:
    """Add the pages of every rep's still to the PDF (nothing without stills)."""
    for fig in grid_figures(d):
        pdf.savefig(fig)


__all__ = ["CSS", "grid_figures", "grid_html", "pair", "pair_html", "pair_on_page", "save_pages"]
