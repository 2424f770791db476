// Small SVG line charts for the progress page (no chart library).
"use strict";

const chart = {
  // Round tick values covering [lo, hi] (about n steps of 1, 2, 2.5 or 5 x 10^k; whole
  // numbers only, for a measure counted in whole units).
  niceTicks(lo, hi, n = 4, whole = false) {
    if (!(hi - lo > 1e-9)) { const pad = Math.max(1, Math.abs(lo) * 0.1); lo -= pad; hi += pad; }
    const raw = Math.max((hi - lo) / n, whole ? 1 : 0), mag = 10 ** Math.floor(Math.log10(raw));
    const steps = whole && mag < 10 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
    const step = mag * (steps.find((m) => m * mag >= raw) || 10);
    const out = [];
    for (let v = Math.floor(lo / step) * step; v <= hi + step * 0.999; v += step) out.push(Math.round(v * 1e6) / 1e6);
    return out.length > 1 ? out.slice(0, out.findIndex((v) => v >= hi - 1e-9) + 1) : out;
  },

  // The plot's left and right margins (user units): room for the y ticks on the left and,
  // on both sides, for half the longest x label, which is centred under its point, so
  // the first and the last label are drawn whole. charW: the width of a character of the
  // 16 px font, a little above the widest digits of the usual sans-serif fonts.
  edges(labels, charW = 10.5) {
    const half = Math.ceil((Math.max(0, ...labels.map((s) => String(s).length)) * charW) / 2) + 2;
    return [Math.max(40, half), Math.max(16, half)];
  },

  // True when some series has a value to draw.
  hasData(series) { return series.some((s) => s.values.some((v) => v !== null && v !== undefined)); },

  // series: [{name, colour, values: [number|null], step?: bool}]; labels: x labels;
  // opts: {ticks: [values of the y axis] (else round ones from the data; whole: whole numbers), ymin,
  //        ymax, hline, unit, width (of the window)}
  line(title, labels, series, opts = {}) {
    // a phone gets a narrower drawing (readable text once scaled), its legend under the title
    const narrow = (opts.width ?? window.innerWidth) < 600;
    const [L, R] = chart.edges(labels);
    const ns = "http://www.w3.org/2000/svg", W = narrow ? 380 : 900, H = narrow ? 230 : 200,
      T = narrow ? 44 : 26, B = 34;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("class", "chart");
    svg.setAttribute("role", "img"); svg.setAttribute("aria-label", title);
    const all = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
    const lo = Math.min(opts.ymin ?? Infinity, ...all, opts.hline ?? Infinity);
    const hi = Math.max(opts.ymax ?? -Infinity, ...all, opts.hline ?? -Infinity);
    const ticks = opts.ticks || chart.niceTicks(lo, hi, 4, opts.whole);
    const ymin = Math.min(opts.ymin ?? ticks[0], ticks[0]), ymax = Math.max(opts.ymax ?? ticks.at(-1), ticks.at(-1));
    const n = labels.length;
    const x = (i) => L + (n <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
    const y = (v) => T + (1 - (v - ymin) / (ymax - ymin || 1)) * (H - T - B);
    const add = (tag, attrs, text) => {
      const e = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      if (text !== undefined) e.textContent = text;
      svg.append(e); return e;
    };
    add("text", { x: L, y: 15, "font-weight": "600" }, title);
    for (const v of ticks) {
      add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e5e5e5" });
      add("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, String(v));
    }
    if (opts.hline !== undefined) {
      add("line", { x1: L, x2: W - R, y1: y(opts.hline), y2: y(opts.hline), stroke: "#d23c3c", "stroke-dasharray": "6 4" });
    }
    const step = Math.max(1, Math.ceil(n / (narrow ? 4 : 12)));
    // every step-th label and always the last (the latest session), without one too near it
    const shown = (i) => i === n - 1 || (i % step === 0 && n - 1 - i >= step);
    labels.forEach((lab, i) => { if (shown(i)) add("text", { x: x(i), y: H - 12, "text-anchor": "middle" }, lab); });
    series.forEach((s, k) => {
      let d = "", prev = null;
      const points = s.values.filter((v) => v !== null && v !== undefined).length;
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) return;  // a session without this measure: the line goes on
        if (prev === null) d += `M ${x(i)} ${y(v)} `;
        else if (s.step) d += `H ${x(i)} V ${y(v)} `;
        else d += `L ${x(i)} ${y(v)} `;
        prev = v;
        add("circle", { cx: x(i), cy: y(v), r: points === 1 ? 5 : 3.5, fill: s.colour });
        if (points === 1) {  // a first session: the point says its value
          add("text", { x: x(i) + 9, y: y(v) - 7, fill: s.colour, class: "value" },
              `${Math.round(v * 10) / 10}${opts.unit || ""}`);
        }
      });
      if (points > 1) add("path", { d, fill: "none", stroke: s.colour, "stroke-width": 2 });
      add("text", { x: narrow ? L + k * 75 : W - R - 160 + k * 75, y: narrow ? 32 : 15, fill: s.colour }, s.name);
    });
    return svg;
  },
};
