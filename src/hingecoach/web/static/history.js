// History: the programme's steps, form and pain over the sessions, and each session's report.
"use strict";

const hist = {
  async load() {
    const err = document.getElementById("error");
    err.textContent = "";
    let h;
    try { h = await hc.api("GET", `/api/people/${encodeURIComponent(hc.person())}/history`); }
    catch (e) { err.textContent = e.message; return; }
    const p = h.plan;
    document.getElementById("plan").replaceChildren(
      hc.el("h2", {}, `${h.person}: next session`),
      hc.el("p", {}, `Stage ${p.stage} of 4, ${p.stage_name.toLowerCase()}` +
        (p.wall_distance_cm !== null ? `, ${p.wall_distance} from the wall` : "") +
        `. Lumbar rounding cue above ${p.threshold_deg.toFixed(0)}° (${p.threshold_source}).`),
      hc.el("p", { class: "mute" }, `Why: ${p.reason}`),
      ...(p.blocked ? [hc.el("p", { class: "banner stop" }, p.blocked)] : []));
    const rows = h.sessions;
    const labels = rows.map((s) => `#${s.id} ${s.started_at.slice(5, 10)}`);
    const stage = rows.map((s) => (s.programme ? s.programme.stage_after : null));
    const dist = rows.map((s) => (s.programme ? s.programme.distance_after_cm : null));
    const charts = document.getElementById("charts");
    charts.replaceChildren(
      chart.line("Programme stage after each session (1 wall drill … 4 kettlebell)", labels,
                 [{ name: "stage", colour: "#1f3b73", values: stage, step: true }], { ymin: 0, ymax: 4.5 }),
      chart.line("Wall distance (cm)", labels, [{ name: "cm", colour: "#8c6bb1", values: dist }], { ymin: 0 }),
      chart.line("Faulty reps (%)", labels,
                 [{ name: "faulty %", colour: "#d23c3c",
                    values: rows.map((s) => (s.faulty_share === null ? null : 100 * s.faulty_share)) }],
                 { ymin: 0, ymax: 105 }),
      chart.line("Peak lumbar flexion (°), the dashed line is the threshold", labels,
                 [{ name: "peak °", colour: "#1f3b73", values: rows.map((s) => s.peak_lumbar_flexion_deg) }],
                 { ymin: 0, hline: h.threshold_deg }),
      chart.line("Pain before and after (0-10); above 5 is not acceptable", labels,
                 [{ name: "before", colour: "#2a9d8f", values: rows.map((s) => s.pain_before) },
                  { name: "after", colour: "#e08a1e", values: rows.map((s) => s.pain_after) }],
                 { ymin: 0, ymax: 10.5, hline: 5 }));
    const tbody = document.querySelector("#sessions tbody");
    tbody.replaceChildren(...rows.map((s) => hc.el("tr", {},
      hc.el("td", { class: "l" }, s.started_at.slice(0, 16).replace("T", " ")),
      hc.el("td", { class: "l" }, s.programme ? `${s.kind}: ${s.programme.outcome}` : s.kind),
      hc.el("td", {}, s.programme ? `${s.programme.stage_before} → ${s.programme.stage_after}` : "–"),
      hc.el("td", {}, String(s.reps)), hc.el("td", {}, String(s.faulty_reps)),
      hc.el("td", {}, hc.fmt(s.peak_lumbar_flexion_deg)),
      hc.el("td", {}, `${s.pain_before ?? "–"} → ${s.pain_after ?? "–"}`),
      hc.el("td", { class: "l" }, hc.el("a", { href: `/sessions/${s.id}/report` }, "report")))));
  },
};

document.addEventListener("DOMContentLoaded", () => hist.load());
document.addEventListener("person", () => hist.load());
