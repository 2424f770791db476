"""The reports name each fault for people (its short label) where a therapist reads it:
the rep tables of the HTML and the PDF, the faults' explanations and the rep stills'
captions; the ids stay in JSON and on the command line."""

from __future__ import annotations

import re
from dataclasses import replace

import hingecoach.report.pdf as report_pdf
from hingecoach.core.stills import JPEG, NOT_JUDGED, OK, RepStill
from hingecoach.core.vocabulary import FAULT_LABELS, fault_label, fault_labels
from hingecoach.faults import FAULT_IDS
from hingecoach.report import gather, render_html
from hingecoach.report.html import _reps
from hingecoach.store import open_store
from store_helpers import recording

FAULTS = ("lumbar_rounding", "too_fast")


def test_every_fault_rule_has_a_short_label():
    assert set(FAULT_LABELS) == set(FAULT_IDS)
    assert len(set(FAULT_LABELS.values())) == len(FAULT_LABELS)
    assert all("_" not in v for v in FAULT_LABELS.values())
    assert fault_label("brand_new_rule") == "brand new rule"  # never hidden
    assert fault_labels(FAULTS) == "lower back rounded, too fast"


def _faulty():
    rec, a = recording()
    return rec, replace(a, reps=[replace(m, faults=FAULTS if k == 0 else ()) for k, m in enumerate(a.reps)])


def test_html_rep_table_and_explanations_show_labels_not_ids(tmp_path):
    _, a = _faulty()
    table = "".join(_reps(a))
    assert "lower back rounded, too fast" in table
    assert not re.search("|".join(FAULT_IDS), table)
    rec, _ = recording()
    with open_store(tmp_path / "x.db") as st:
        sid = st.save_analysis(a, raw=rec, person="anna", source="x.csv")
        html = render_html(gather(st, sid))
    section = html[html.index("What the faults mean"):]
    assert "(lower back rounded: 1 of" in section and "(too fast: 1 of" in section
    assert "(lumbar_rounding:" not in section and "(too_fast:" not in section


class _Pages:
    def __init__(self) -> None:
        self.figs: list = []

    def savefig(self, fig) -> None:
        self.figs.append(fig)


def test_pdf_rep_table_shows_labels_not_ids():
    _, a = _faulty()
    pages = _Pages()
    report_pdf._rep_pages(pages, a)
    texts = [t.get_text() for f in pages.figs for t in f.texts]
    assert "lower back rounded, too fast" in texts
    assert not any(re.search("|".join(FAULT_IDS), t) for t in texts)


def _still(faults: tuple[str, ...], judged: bool = True) -> RepStill:
    return RepStill(2, 2, True, 7.4, 222, judged, None, faults, JPEG, 10, 10, b"")


def test_still_caption_names_the_fault_and_its_file_keeps_the_id():
    s = _still(("lumbar_rounding", "neck_craning"))
    assert s.caption() == "rep 2 at 7.4 s: lower back rounded, neck craned"
    assert s.verdict == "lumbar_rounding, neck_craning"  # the web API's machine field
    assert s.file_name() == "rep02_lumbar_rounding_neck_craning.jpg"
    assert _still(()).verdict_text == OK and _still((), judged=False).verdict_text == NOT_JUDGED
