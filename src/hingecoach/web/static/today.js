// Today's session: prompts from the programme, live angles, reps and cues over a WebSocket.
"use strict";

const today = {
  state: null,
  samples: [],       // [t, lumbar] of the last 10 s
  threshold: 20,
  zones: {},
  updates: 0,        // angle messages received (the page's own update count)
  ws: null,
  lastDraw: 0,

  $(id) { return document.getElementById(id); },

  async init() {
    const kind = this.$("source-kind"), src = this.$("source");
    kind.addEventListener("change", () => { src.value = kind.value; src.focus(); });
    this.$("start-btn").addEventListener("click", () => this.start());
    this.$("stop").addEventListener("click", () => this.post("/api/session/stop"));
    this.$("end-set").addEventListener("click", () => this.post("/api/session/end-set"));
    this.$("new-session").addEventListener("click", () => { this.state = null; this.render(); });
    document.addEventListener("person", () => this.loadPlan());
    const prog = await hc.api("GET", "/api/programme");
    this.zones = prog.pain_zones;
    this.$("pain-during").replaceChildren(...this.painButtons((v) => this.post("/api/session/pain", { value: v })));
    gauge.draw(this.$("gauge"), null);
    this.connect();
    this.render(await hc.api("GET", "/api/session"));
    this.loadPlan();
  },

  async loadPlan() {
    try {
      const p = await hc.api("GET", `/api/people/${encodeURIComponent(hc.person())}`);
      const pl = p.plan;
      this.threshold = pl.threshold_deg;
      this.$("next-plan").textContent = `${pl.person}: stage ${pl.stage} of 4, ${pl.stage_name.toLowerCase()}` +
        (pl.wall_distance_cm !== null ? `, ${pl.wall_distance} from the wall` : "") +
        `; cue above ${pl.threshold_deg.toFixed(0)}°. ${pl.blocked || pl.reason}`;
    } catch (e) { this.$("next-plan").textContent = e.message; }
  },

  connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws/session`);
    this.ws = ws;
    ws.onmessage = (m) => this.onMessage(JSON.parse(m.data));
    ws.onclose = () => setTimeout(() => this.connect(), 1000);
  },

  onMessage(msg) {
    if (msg.type === "session") this.render(msg);
    else if (msg.type === "angles") this.onAngles(msg);
    else if (msg.type === "cue") this.onCue(msg);
    else if (msg.type === "rep") this.onRep(msg);
    else if (msg.type === "status") this.setStatus(msg.state === "calibrated" ? "running" : msg.state);
  },

  onAngles(msg) {
    this.updates += 1;
    document.body.dataset.updates = this.updates;
    for (const s of msg.samples || []) this.samples.push([s[0], s[1]]);
    const t1 = msg.t;
    while (this.samples.length && this.samples[0][0] < t1 - 10) this.samples.shift();
    const now = performance.now();
    if (now - this.lastDraw > 30) {     // draw at most ~30 times a second
      this.lastDraw = now;
      gauge.threshold = this.threshold;
      gauge.draw(this.$("gauge"), msg.lumbar_flexion_deg);
      gauge.trace(this.$("trace"), this.samples, this.threshold);
    }
  },

  onCue(msg) {
    const c = this.$("cue");
    c.textContent = `${msg.message || msg.fault} (lumbar ${hc.fmt(msg.value_deg)}° > ${hc.fmt(msg.threshold_deg)}°)`;
    c.classList.remove("quiet", "flash"); void c.offsetWidth; c.classList.add("flash");
    if (msg.threshold_deg) this.threshold = msg.threshold_deg;
  },

  onRep(msg) {
    const dots = this.$("rep-dots");
    const span = hc.el("span", { class: (msg.faults || []).length ? "bad" : "ok", title: (msg.faults || []).join(", ") || "ok" });
    if (this.state && this.state.set) dots.append(span);
  },

  setStatus(s) {
    const e = this.$("live-status");
    e.textContent = s; e.className = `status ${s}`;
  },

  painButtons(onpick, optional) {
    const zone = (v) => (v <= 3 ? "safe" : v <= 5 ? "acceptable" : "not_acceptable");
    const out = [];
    for (let v = 0; v <= 10; v++) {
      out.push(hc.el("button", { class: `z-${zone(v)}`, "data-pain": v, title: this.zones[zone(v)] || "",
                                 onclick: () => onpick(v) }, String(v)));
    }
    if (optional) out.push(hc.el("button", { class: "light", onclick: () => onpick(null) }, "skip"));
    return out;
  },

  async start() {
    this.$("start-error").textContent = "";
    const person = this.$("person").value.trim();
    hc.setPerson(person);
    try {
      this.render(await hc.api("POST", "/api/session", { person, source: this.$("source").value.trim() }));
    } catch (e) { this.$("start-error").textContent = e.message; }
  },

  async post(path, body) {
    this.$("prompt-error").textContent = "";
    try { this.render(await hc.api("POST", path, body === undefined ? {} : body)); }
    catch (e) { this.$("prompt-error").textContent = e.message; }
  },

  answer(key, value) { return this.post("/api/session/answer", { key, value }); },

  render(st) {
    if (st !== undefined) this.state = st;
    st = this.state;
    const show = (id, on) => this.$(id).classList.toggle("hidden", !on);
    const active = !!(st && st.active);
    show("start", !active && !(st && st.outcome));
    show("prompt", active);
    show("stop", active);
    show("outcome", !!(st && st.outcome));
    const live = st && st.live && st.live.state !== "off";
    show("live", !!(active && live) || !!(active && st.prompt && st.prompt.kind === "calibration"));
    if (!st) return;
    if (st.live) this.setStatus(st.live.state);
    if (st.outcome) this.renderOutcome(st);
    if (!active || !st.prompt) return;
    this.renderPrompt(st.prompt, st);
  },

  renderPrompt(p, st) {
    this.$("prompt").dataset.key = p.key;
    this.$("prompt-text").textContent = p.text;
    this.$("prompt-details").replaceChildren(...p.details.map((d) => hc.el("li", {}, d)));
    const ctl = this.$("prompt-controls");
    const inSet = p.kind === "set";
    this.$("set-controls").classList.toggle("hidden", !inSet);
    if (p.kind === "yes_no") {
      ctl.replaceChildren(hc.el("button", { onclick: () => this.answer(p.key, true) }, "Yes"), " ",
                          hc.el("button", { class: "light", onclick: () => this.answer(p.key, false) }, "No"));
    } else if (p.kind === "pain") {
      ctl.replaceChildren(hc.el("div", { class: "pain" }, this.painButtons((v) => this.answer(p.key, v), p.optional)),
                          hc.el("div", { class: "mute small" }, "0-3 safe · 4-5 acceptable · above 5 not acceptable"));
    } else if (p.kind === "info") {
      ctl.replaceChildren(hc.el("button", { onclick: () => this.answer(p.key, null) }, "Ready"));
    } else if (p.kind === "calibration") {
      ctl.replaceChildren(hc.el("p", { class: "banner" }, "Calibrating: stand tall and still…"));
    } else if (inSet) {
      const set = st.set || { reps: 0, target: p.data.target_reps, faults: [] };
      this.$("rep-count").textContent = set.reps;
      this.$("rep-target").textContent = set.target;
      this.$("rep-dots").replaceChildren(...set.faults.map((f) => hc.el("span", { class: f.length ? "bad" : "ok" })));
      this.$("stage-line").textContent = st.stage.name + (st.stage.distance ? `, ${st.stage.distance} from the wall` : "");
      ctl.replaceChildren(hc.el("p", { class: "mute" }, `Do ${set.target} reps; the counter moves with each one.`));
    }
    if (!inSet && p.key !== "calibration") this.$("rep-dots").replaceChildren();
  },

  renderOutcome(st) {
    const o = st.outcome;
    const b = this.$("outcome-banner");
    b.textContent = o.message;
    // a red flag that asks for a doctor's review (not urgent) gets the calm banner
    const stop = ["red_flags", "referral"].includes(o.outcome) && o.urgency !== "review";
    b.className = stop ? "banner stop" : "banner";
    this.$("outcome-decisions").replaceChildren(...o.decisions.map((d) => hc.el("li", {}, d.message)));
    const link = this.$("report-link");
    link.href = o.session_id ? `/sessions/${o.session_id}/report` : "#";
    link.classList.toggle("hidden", !o.session_id);
  },
};

document.addEventListener("DOMContentLoaded", () => today.init());
