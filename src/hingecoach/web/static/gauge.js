// A semicircular gauge and a 10-second trace, drawn with SVG and canvas (no library).
"use strict";

const gauge = {
  max: 60,
  threshold: 20,

  draw(svg, value) {
    const cx = 120, cy = 125, r = 100, ns = "http://www.w3.org/2000/svg";
    const ang = (v) => Math.PI * (1 - Math.max(0, Math.min(this.max, v)) / this.max);
    const pt = (v, rr) => [cx + rr * Math.cos(ang(v)), cy - rr * Math.sin(ang(v))];
    const arc = (a, b, colour) => {
      const [x0, y0] = pt(a, r), [x1, y1] = pt(b, r);
      const p = document.createElementNS(ns, "path");
      p.setAttribute("d", `M ${x0} ${y0} A ${r} ${r} 0 0 1 ${x1} ${y1}`);
      p.setAttribute("stroke", colour); p.setAttribute("stroke-width", "16"); p.setAttribute("fill", "none");
      return p;
    };
    svg.replaceChildren(arc(0, this.threshold, "#cfe9d6"), arc(this.threshold, this.max, "#f6caca"));
    for (let v = 0; v <= this.max; v += 10) {
      const [x, y] = pt(v, r - 22), t = document.createElementNS(ns, "text");
      t.setAttribute("x", x); t.setAttribute("y", y + 4); t.setAttribute("text-anchor", "middle");
      t.textContent = v; svg.append(t);
    }
    const [tx, ty] = pt(this.threshold, r + 10), [tx2, ty2] = pt(this.threshold, r - 10);
    const tick = document.createElementNS(ns, "line");
    Object.entries({ x1: tx, y1: ty, x2: tx2, y2: ty2, stroke: "#d23c3c", "stroke-width": 3 })
      .forEach(([k, v]) => tick.setAttribute(k, v));
    svg.append(tick);
    const v = value === null || value === undefined ? 0 : value;
    const [nx, ny] = pt(v, r - 8), needle = document.createElementNS(ns, "line");
    Object.entries({ x1: cx, y1: cy, x2: nx, y2: ny, stroke: v > this.threshold ? "#d23c3c" : "#1f3b73",
      "stroke-width": 4, "stroke-linecap": "round" }).forEach(([k, val]) => needle.setAttribute(k, val));
    svg.append(needle);
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", cx); label.setAttribute("y", cy - 30); label.setAttribute("text-anchor", "middle");
    label.setAttribute("class", "gauge-value");
    label.setAttribute("id", "gauge-value");
    label.textContent = value === null || value === undefined ? "–" : `${Math.round(value) || 0}°`;
    svg.append(label);
  },

  trace(canvas, samples, threshold) {
    const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    if (!samples.length) return;
    const t1 = samples[samples.length - 1][0], t0 = t1 - 10;
    const lo = -10, hi = Math.max(this.max, threshold * 1.5);
    const x = (t) => ((t - t0) / 10) * w, y = (v) => h - ((v - lo) / (hi - lo)) * h;
    ctx.fillStyle = "rgba(210,60,60,0.08)"; ctx.fillRect(0, 0, w, y(threshold));
    ctx.strokeStyle = "#d23c3c"; ctx.setLineDash([6, 4]); ctx.beginPath();
    ctx.moveTo(0, y(threshold)); ctx.lineTo(w, y(threshold)); ctx.stroke(); ctx.setLineDash([]);
    ctx.strokeStyle = "#1f3b73"; ctx.lineWidth = 2; ctx.beginPath();
    let first = true;
    for (const [t, v] of samples) {
      if (t < t0 || v === null) { first = true; continue; }
      if (first) { ctx.moveTo(x(t), y(v)); first = false; } else ctx.lineTo(x(t), y(v));
    }
    ctx.stroke();
  },
};
