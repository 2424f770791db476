"""The History charts draw every x label whole: the last one ("#2 12-01") was cut at the
chart's right edge. Rendered by the real chart.js in headless Debian chromium."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

import hingecoach.web

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync"]
CHART_JS = Path(hingecoach.web.__file__).parent / "static" / "chart.js"
CSS = Path(hingecoach.web.__file__).parent / "static" / "app.css"

LABELS = {  # session ids and dates as History writes them (#id MM-DD)
    "two": ["#1 11-30", "#2 12-01"],
    "long ids": ["#1234 11-30", "#1235 12-01", "#1236 12-02"],
    "many": [f"#{k} 12-{k:02d}" for k in range(1, 31)],
}

# every x label (the texts along the foot of the chart) with its box, in the chart's units
BOXES = """(labels) => {
  const out = [];
  for (const width of [1100, 390]) {
    const svg = chart.line("Faulty reps (%)", labels,
      [{ name: "faulty %", colour: "#d23c3c", values: labels.map((_, i) => 10 * i) }],
      { ticks: [0, 25, 50, 75, 100], width });
    document.body.append(svg);
    const W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
    for (const t of svg.querySelectorAll("text")) {
      if (Number(t.getAttribute("y")) !== H - 12) continue;
      const b = t.getBBox();
      out.push({ text: t.textContent, x0: b.x, x1: b.x + b.width, W, width });
    }
  }
  return out;
}"""


@pytest.mark.parametrize("case", sorted(LABELS))
def test_every_x_label_is_inside_the_chart(case):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM} (apt-get install chromium)")
    pw = pytest.importorskip("playwright.sync_api")
    labels = LABELS[case]
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_content(f"<!doctype html><html><head><style>{CSS.read_text()}</style></head>"
                             f"<body><script>{CHART_JS.read_text()}</script></body></html>")
            boxes = page.evaluate(BOXES, labels)
        finally:
            browser.close()
    drawn = [b["text"] for b in boxes]
    assert labels[-1] in drawn and labels[0] in drawn  # the ends are labelled, at both widths
    for b in boxes:
        assert b["x0"] >= 0 and b["x1"] <= b["W"], b
    for a, b in pairwise(boxes):
        if a["width"] == b["width"]:
            assert a["x1"] < b["x0"], (a, b)  # neighbours never overlap
