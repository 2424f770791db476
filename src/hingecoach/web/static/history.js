// History: the programme's steps, form and pain over the sessions, and each session's report.
"use strict";

const hist = {
  async load() {
    const err = document.getElementById("error"), who = hc.person();
    err.textContent = "";
    if (!who || !hc.known(who)) { this.empty(who); return; }
    let h;
    try { h = await hc.api("GET", `/api/people/${encodeURIComponent(who)}/history`); }
    catch (e) { err.textContent = e.message; return; }
    const p = h.plan;
    document.getElementById("plan").replaceChildren(
      hc.el("h2", {}, `${h.person}: next session`),
      hc.el("p", {}, `Stage ${p.stage} of 4, ${p.stage_name.toLowerCase()}` +
        (p.wall_distance_cm !== null ? `, ${p.wall_distance} from the wall` : "") +
        (p.placement === "camera" && p.threshold_source.startsWith("the camera's")
          ? `. Lumbar rounding cue from the camera: ${p.threshold_source}.`
          : `. Lumbar rounding cue above ${p.threshold_deg.toFixed(0)}° (${p.threshold_source}).`)),
      hc.el("p", { class: "mute" }, `Why: ${p.reason}`),
      ...(p.blocked ? [hc.el("p", { class: "banner stop" }, p.blocked)] : []));
    const rows = h.sessions;
    const labels = rows.map((s) => `#${s.id} ${s.started_at.slice(5, 10)}`);
    const stage = rows.map((s) => (s.programme ? s.programme.stage_after : null));
    const dist = rows.map((s) => (s.programme ? s.programme.distance_after_cm : null));
    const charts = document.getElementById("charts");
    const filmed = p.placement === "camera" && p.threshold_source.startsWith("the camera's");
    // each chart: title, series, options (ticks that fit the measure); one without data is left out
    const specs = [
      ["Programme stage after each session (1 wall drill … 4 kettlebell)",
       [{ name: "stage", colour: "#1f3b73", values: stage, step: true }], { ticks: [1, 2, 3, 4], ymin: 0.5, ymax: 4.5 }],
      ["Wall distance (cm)", [{ name: "cm", colour: "#8c6bb1", values: dist }], { unit: " cm", whole: true }],
      ["Faulty reps (%)", [{ name: "faulty %", colour: "#d23c3c",
                             values: rows.map((s) => (s.faulty_share === null ? null : 100 * s.faulty_share)) }],
       { ticks: [0, 25, 50, 75, 100], ymax: 105, unit: " %" }],
      // a filmed person's lumbar measure is the back bow, and their threshold the camera's
      // own (set in each clip: the last clip's is drawn), not the sensors' default
      filmed
        ? ["Peak back bow (°, the camera's virtual dowel), the dashed line is the last clip's rounding threshold",
           [{ name: "peak °", colour: "#1f3b73", values: rows.map((s) => s.peak_lumbar_flexion_deg) }],
           { ymin: 0, hline: p.threshold_deg, unit: "°", whole: true }]
        : ["Peak lumbar flexion (°), the dashed line is the threshold",
           [{ name: "peak °", colour: "#1f3b73", values: rows.map((s) => s.peak_lumbar_flexion_deg) }],
           { ymin: 0, hline: h.threshold_deg, unit: "°", whole: true }],
      ["Pain before and after (0-10); above 5 is not acceptable",
       [{ name: "before", colour: "#2a9d8f", values: rows.map((s) => s.pain_before) },
        { name: "after", colour: "#e08a1e", values: rows.map((s) => s.pain_after) }],
       { ticks: [0, 2, 4, 6, 8, 10], ymax: 10.5, hline: 5 }],
    ];
    charts.replaceChildren(...specs.filter(([, series]) => chart.hasData(series))
      .map(([title, series, opts]) => chart.line(title, labels, series, opts)));
    charts.classList.toggle("hidden", !charts.children.length);
    const tbody = document.querySelector("#sessions tbody");
    tbody.replaceChildren(...rows.map((s) => hc.el("tr", {},
      hc.el("td", { class: "l" }, s.started_at.slice(0, 16).replace("T", " ")),
      hc.el("td", { class: "l" }, s.programme ? `${s.what}: ${s.programme.outcome}` : s.what),
      hc.el("td", {}, s.programme ? `${s.programme.stage_before} → ${s.programme.stage_after}` : "–"),
      hc.el("td", {}, String(s.reps)), hc.el("td", {}, String(s.faulty_reps)),
      hc.el("td", {}, hc.fmt(s.peak_lumbar_flexion_deg)),
      hc.el("td", { class: "hinge-pelvis" }, hc.fmt(s.hinge_range_deg)),
      hc.el("td", { class: "hinge-hip" }, hc.fmt(s.hip_flexion_deg)),
      hc.el("td", {}, `${s.pain_before ?? "–"} → ${s.pain_after ?? "–"}`),
      hc.el("td", { class: "l" }, hc.el("a", { href: `/sessions/${s.id}/report` }, "report")))));
    this.hinge(rows);
  },

  // The range of hinge is two measures: the median peak pelvis tilt of a session with two
  // back sensors, the median peak hip flexion of a filmed one. Each has its own column,
  // shown when a session has it (pelvis tilt also when none has either), and a note.
  hinge(rows) {
    const hip = rows.some((s) => s.hip_flexion_deg !== null && s.hip_flexion_deg !== undefined);
    const pelvis = rows.some((s) => s.hinge_range_deg !== null) || !hip;
    document.querySelectorAll("#sessions .hinge-pelvis").forEach((e) => e.classList.toggle("hidden", !pelvis));
    document.querySelectorAll("#sessions .hinge-hip").forEach((e) => e.classList.toggle("hidden", !hip));
    const parts = [];
    if (pelvis && hip) parts.push("Range of hinge: the median of the reps' peak pelvis tilt for a session with " +
      "two back sensors, of their peak hip flexion for a filmed session (two measures, not comparable).");
    else if (hip) parts.push("Range of hinge: the median of the reps' peak hip flexion (trunk against thigh).");
    if (hip) parts.push("A filmed session's peak lumbar° is its back bow (virtual dowel, the camera's own scale).");
    document.getElementById("hinge-note").textContent = parts.join(" ");
  },

  // A person with no session yet (or none chosen): what to do, not an error.
  empty(who) {
    document.getElementById("plan").replaceChildren(
      hc.el("h2", {}, who ? `${who}: no sessions yet` : "No one chosen yet"),
      hc.el("p", {}, who ? "Start a " : "Add a person with the person menu above, then start a ",
            hc.el("a", { href: "/" }, "guided session"), " or ",
            hc.el("a", { href: "/upload" }, "check a clip or a recording"), "; the progress shows here."));
    document.getElementById("charts").replaceChildren();
    document.getElementById("charts").classList.add("hidden");
    document.querySelector("#sessions tbody").replaceChildren();
    this.hinge([]);
  },
};

document.addEventListener("DOMContentLoaded", () => hc.ready.then(() => hist.load()));
document.addEventListener("person", () => hist.load());
