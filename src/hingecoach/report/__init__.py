"""Session reports a clinician wants to read: one self-contained HTML file (plots
embedded, no network, prints well) and a PDF.

>>> from hingecoach.store import open_store                      # doctest: +SKIP
>>> write_report(open_store(), 12, html="report.html", pdf="report.pdf")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from hingecoach.report.data import ReportData, gather
from hingecoach.report.explain import EXPLANATIONS, explain
from hingecoach.report.html import render_html
from hingecoach.report.pdf import write_pdf
from hingecoach.store import Store, StoreError

__all__ = ["EXPLANATIONS", "ReportData", "explain", "gather", "render_html", "write_pdf",
           "write_report"]


def write_report(store: Store, session_id: int, *, html: str | Path | None = None,
                 pdf: str | Path | None = None) -> ReportData:
    """Write the HTML and/or PDF report of a session; returns what it showed."""
    d = gather(store, session_id)
    for path, write in ((html, lambda p: Path(p).write_text(render_html(d), encoding="utf-8")),
                        (pdf, lambda p: write_pdf(d, p))):
        if path is None:
            continue
        try:
            write(path)
        except OSError as e:
            raise StoreError(f"{path}: cannot write the report: {e.strerror}") from None
    return d
