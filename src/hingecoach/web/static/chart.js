// Small SVG line charts for the progress page (no chart library).
"use strict";

const chart = {
  // series: [{name, colour, values: [number|null], step?: bool}]; labels: x labels; opts: {ymin, ymax, hline}
  line(title, labels, series, opts = {}) {
    const ns = "http://www.w3.org/2000/svg", W = 900, H = 200, L = 46, R = 34, T = 26, B = 34;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("class", "chart");
    svg.setAttribute("role", "img"); svg.setAttribute("aria-label", title);
    const all = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
    let ymin = opts.ymin ?? Math.min(0, ...all), ymax = opts.ymax ?? Math.max(1, ...all, opts.hline ?? 0) * 1.1;
    if (ymax <= ymin) ymax = ymin + 1;
    const n = labels.length;
    const x = (i) => L + (n <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
    const y = (v) => T + (1 - (v - ymin) / (ymax - ymin)) * (H - T - B);
    const add = (tag, attrs, text) => {
      const e = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      if (text !== undefined) e.textContent = text;
      svg.append(e); return e;
    };
    add("text", { x: L, y: 15, "font-weight": "600" }, title);
    for (let k = 0; k <= 4; k++) {
      const v = ymin + (k * (ymax - ymin)) / 4;
      add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e5e5e5" });
      add("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, Math.round(v * 10) / 10);
    }
    if (opts.hline !== undefined) {
      add("line", { x1: L, x2: W - R, y1: y(opts.hline), y2: y(opts.hline), stroke: "#d23c3c", "stroke-dasharray": "6 4" });
    }
    const step = Math.max(1, Math.ceil(n / 12));
    labels.forEach((lab, i) => { if (i % step === 0) add("text", { x: x(i), y: H - 12, "text-anchor": "middle" }, lab); });
    series.forEach((s, k) => {
      let d = "", prev = null;
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) return;  // a session without this measure: the line goes on
        if (prev === null) d += `M ${x(i)} ${y(v)} `;
        else if (s.step) d += `H ${x(i)} V ${y(v)} `;
        else d += `L ${x(i)} ${y(v)} `;
        prev = v;
        add("circle", { cx: x(i), cy: y(v), r: 3.5, fill: s.colour });
      });
      add("path", { d, fill: "none", stroke: s.colour, "stroke-width": 2 });
      add("text", { x: W - R - 160 + k * 75, y: 15, fill: s.colour }, s.name);
    });
    return svg;
  },
};
