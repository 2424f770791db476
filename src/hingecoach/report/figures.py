"""The report's plots, drawn with matplotlib's object API (``Figure`` + Agg canvas, no
pyplot): no global state, no display, safe in a web server's threads.

Long sessions are split into rows of ``ROW_S`` seconds, ``ROWS_PER_FIGURE`` rows per
figure (a printed page), so a rep stays a few millimetres wide whatever the length;
each line is reduced to a min/max envelope of about two points per pixel column, which
keeps every peak visible and the drawing fast.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hingecoach.analysis import Analysis
from hingecoach.core.timeseries import FloatArray
from hingecoach.faults import RepMetrics
from hingecoach.report.wording import channel_label, channels_to_draw, lumbar_name
from hingecoach.store.records import SessionSummary

ROW_S = 180.0  # seconds per row of the angle plot
ROWS_PER_FIGURE = 3
ENVELOPE_BINS = 900  # min/max pairs per row
OK_COLOUR = "#2e9d4a"
FAULT_COLOUR = "#d23c3c"
LUMBAR = "lumbar_flexion_deg"
LINE_STYLES = {LUMBAR: ("#1f3b73", 1.6), "pelvis_tilt_deg": ("#8c6bb1", 0.9),
               "trunk_inclination_deg": ("#9a9a9a", 0.9)}
OTHER_COLOURS = ["#e08a1e", "#2a9d8f", "#b5651d", "#6a994e", "#7f7f7f"]
ZONE_ALPHA = 0.1  # the lumbar rounding zone's tint
ZONE_GID = "rounding_zone"
REP_ALPHA = 0.55  # the rep bars' colour
REP_BAR = 0.06  # the rep bars' height, as a share of the axes
REP_GID = "reps"


@dataclass(frozen=True)
class Picture:
    """A rendered figure: PNG bytes, its alt text and its size in pixels."""

    png: bytes
    alt: str
    width_px: int
    height_px: int


def to_png(fig: Figure, alt: str, dpi: int = 110) -> Picture:
    """Render ``fig`` (object API, Agg canvas) to a PNG Picture at ``dpi``."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    w, h = fig.get_size_inches() * dpi
    return Picture(buf.getvalue(), alt, round(float(w)), round(float(h)))


def envelope(t: FloatArray, x: FloatArray, bins: int) -> tuple[FloatArray, FloatArray]:
    """At most 2*bins points that keep each bin's minimum and maximum (in time order)."""
    if t.size <= 2 * bins:
        return t, x
    width = -(-t.size // bins)  # ceil
    pad = width * bins - t.size
    xf = np.concatenate([x, np.full(pad, np.nan)]).reshape(bins, width)
    finite = np.isfinite(xf)
    base = np.arange(bins) * width
    i_min = base + np.argmin(np.where(finite, xf, np.inf), axis=1)
    i_max = base + np.argmax(np.where(finite, xf, -np.inf), axis=1)
    idx = np.sort(np.column_stack([i_min, i_max]), axis=1).ravel()
    idx = np.minimum(idx, t.size - 1)
    return t[idx], x[idx]


def _rows(t0: float, t1: float) -> list[tuple[float, float]]:
    span = max(t1 - t0, 1e-9)
    n = max(1, int(np.ceil(span / ROW_S - 1e-9)))
    width = span / n if n == 1 else ROW_S
    return [(t0 + k * width, min(t0 + (k + 1) * width, t1)) for k in range(n)]


def angle_figures(a: Analysis) -> list[Picture]:
    """The angle plots of ``angle_plots`` as PNG Pictures (one per printed page)."""
    return [to_png(f, alt) for f, alt in angle_plots(a)]


def angle_plots(a: Analysis) -> list[tuple[Figure, str]]:
    """The angle curves over time with the lumbar_rounding band (from the threshold up)
    and each rep marked by its verdict along the foot of the chart (green: no fault, red:
    a fault); one picture per page. Only the channels that apply to the source are drawn."""
    ang = a.angles
    if len(ang) < 2:
        return []
    th = a.thresholds.lumbar_rounding_deg
    reps = [*a.reps, *a.incomplete]
    t = ang.time_s
    rows = _rows(float(t[0]), float(t[-1]))
    chans = channels_to_draw(a)
    chans.sort(key=lambda c: (c != LUMBAR, c not in LINE_STYLES, c))
    finite = np.concatenate([ang[c][np.isfinite(ang[c])] for c in chans]) if chans else np.zeros(1)
    ymin = min(-10.0, float(np.min(finite)) - 5) if finite.size else -10.0
    ymax = max(th + 15.0, float(np.max(finite)) + 5) if finite.size else th + 15
    pictures: list[tuple[Figure, str]] = []
    minutes = t[-1] - t[0] > 600
    lumbar = lumbar_name(a)
    for p0 in range(0, len(rows), ROWS_PER_FIGURE):
        page = rows[p0:p0 + ROWS_PER_FIGURE]
        height = 1.0 + 2.3 * len(page)
        fig = Figure(figsize=(10, height))
        # fixed margins: constrained layout costs more than the drawing on long sessions
        fig.subplots_adjust(left=0.07, right=0.99, bottom=0.55 / height, top=1 - 0.45 / height,
                            hspace=0.28)
        axes = fig.subplots(len(page), 1, squeeze=False)[:, 0]
        for ax, (r0, r1) in zip(axes, page, strict=True):
            i0, i1 = np.searchsorted(t, [r0, r1], side="left")
            i1 = min(len(t), i1 + 1)
            _zone_and_reps(ax, th, ymax, [m for m in reps if m.end_s >= r0 and m.start_s <= r1])
            for k, c in enumerate(chans):
                colour, lw = LINE_STYLES.get(c, (OTHER_COLOURS[k % len(OTHER_COLOURS)], 0.9))
                tt, xx = envelope(t[i0:i1], ang[c][i0:i1], ENVELOPE_BINS)
                ax.plot(tt, xx, color=colour, lw=lw, label=channel_label(a, c), gid=c)
            ax.set_xlim(r0, r1 if r1 > r0 else r0 + 1)
            ax.set_ylim(ymin, ymax)
            ax.set_ylabel("degrees")
            ax.grid(True, lw=0.3, alpha=0.5)
            if minutes:
                ticks = ax.get_xticks()
                ax.set_xticks(ticks, [f"{x / 60:.1f}" for x in ticks])
                ax.set_xlim(r0, r1 if r1 > r0 else r0 + 1)
        axes[-1].set_xlabel("time (min)" if minutes else "time (s)")
        handles, labels = axes[0].get_legend_handles_labels()
        handles += [Patch(color=OK_COLOUR, alpha=REP_ALPHA), Patch(color=FAULT_COLOUR, alpha=REP_ALPHA),
                    Patch(facecolor=FAULT_COLOUR, alpha=ZONE_ALPHA, lw=0)]
        labels += ["rep without fault", "rep with a fault", f"lumbar rounding zone (> {th:.0f}°)"]
        axes[0].legend(handles, labels, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=6,
                       fontsize=7, frameon=False, borderaxespad=0.2)
        span = f"{page[0][0]:.0f}-{page[-1][1]:.0f} s"
        pictures.append((fig, f"Angles over time, {span}: {lumbar} with the rounding "
                         f"threshold at {th:.0f} degrees; reps marked green (no fault) or red (a fault)"))
    return pictures


def _zone_and_reps(ax: Axes, th: float, ymax: float, shown: Sequence[RepMetrics]) -> None:
    """The rounding zone (the band from the threshold ``th`` up to ``ymax``, deg) and the
    reps as bars along the foot of the axes, coloured by verdict, numbered above: a rep's
    colour never tints the band below the threshold, so the zone reads as a zone."""
    ax.axhspan(th, ymax, color=FAULT_COLOUR, alpha=ZONE_ALPHA, lw=0, gid=ZONE_GID)
    ax.axhline(th, color=FAULT_COLOUR, lw=0.8, ls="--")
    ax.axhline(0, color="#555555", lw=0.5)
    foot = ax.get_xaxis_transform()  # x in seconds, y in axes fractions
    for verdict, colour in ((False, OK_COLOUR), (True, FAULT_COLOUR)):
        for complete, alpha in ((True, REP_ALPHA), (False, REP_ALPHA / 2)):
            spans = [(m.start_s, m.end_s - m.start_s) for m in shown
                     if bool(m.faults) == verdict and m.complete == complete]
            if spans:  # one collection per colour, not one patch per rep
                ax.broken_barh(spans, (0.0, REP_BAR), facecolors=colour, alpha=alpha, lw=0,
                               transform=foot, gid=REP_GID)
    for m in shown:
        if m.complete:
            ax.text(m.bottom_s, REP_BAR + 0.01, str(m.index), ha="center", va="bottom", fontsize=6,
                    color=FAULT_COLOUR if m.faults else OK_COLOUR, transform=foot)


def progress_figure(sessions: Sequence[SessionSummary], current: int | None = None,
                    hinge_measure: str = "median peak pelvis tilt", lumbar: str = "lumbar flexion"
                    ) -> Picture | None:
    """The progress plot as a PNG Picture, or None when no session has reps."""
    plot = progress_plot(sessions, current, hinge_measure, lumbar)
    return None if plot is None else to_png(*plot)


def progress_plot(sessions: Sequence[SessionSummary], current: int | None = None,
                  hinge_measure: str = "median peak pelvis tilt", lumbar: str = "lumbar flexion"
                  ) -> tuple[Figure, str] | None:
    """Faulty-rep share, peak lumbar flexion and range of hinge over the sessions
    (``hinge_measure``: how the sessions' ``hinge_range_deg`` was measured; ``lumbar``: the
    name of the lumbar measure, a camera's virtual dowel bow)."""
    rows = [s for s in sessions if s.reps > 0]
    if not rows:
        return None
    x = np.arange(len(rows))
    share = [100.0 * s.faulty_reps / s.reps for s in rows]
    peak = [np.nan if s.peak_lumbar_flexion_deg is None else s.peak_lumbar_flexion_deg for s in rows]
    hinge = [np.nan if s.hinge_range_deg is None else s.hinge_range_deg for s in rows]
    fig = Figure(figsize=(10, 6.2), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    for ax, y, label, colour in ((axes[0], share, "faulty reps (%)", FAULT_COLOUR),
                                 (axes[1], peak, f"peak {lumbar} (°)", "#1f3b73"),
                                 (axes[2], hinge, f"range of hinge (°)\n{hinge_measure}",
                                  "#8c6bb1")):
        ax.plot(x, y, "-o", color=colour, ms=4, lw=1.2)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(True, lw=0.3, alpha=0.5)
        if current is not None:
            for k, s in enumerate(rows):
                if s.id == current:
                    ax.axvline(k, color="#444444", lw=0.8, ls=":")
    axes[0].set_ylim(-5, 105)
    labels = [f"{s.started_at[:10]}\n#{s.id}" for s in rows]
    step = max(1, len(rows) // 12)
    axes[2].set_xticks(x[::step], labels[::step], fontsize=7)
    axes[2].set_xlabel("session (date, id); dotted line: this session")
    return fig, (f"Progress over {len(rows)} sessions: faulty-rep share, peak {lumbar} and "
                 "range of hinge")
