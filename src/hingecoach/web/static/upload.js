// Check a clip or a recording: upload it, follow the analysis, show the verdict, the reps and the overlay.
"use strict";

const up = {
  file: null,
  job: null,      // the analysis being followed (its id)
  ws: null,
  poll: null,

  $(id) { return document.getElementById(id); },

  init() {
    const drop = this.$("drop"), input = this.$("file");
    input.addEventListener("change", () => this.choose(input.files[0]));
    for (const t of ["dragenter", "dragover"]) {
      drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); });
    }
    for (const t of ["dragleave", "drop"]) drop.addEventListener(t, () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => { e.preventDefault(); this.choose(e.dataTransfer.files[0]); });
    this.$("go").addEventListener("click", () => this.send());
    this.$("again").addEventListener("click", () => this.reset());
    document.addEventListener("person", () => this.who());
    hc.ready.then(() => this.who());
    this.connect();
  },

  who() { this.$("for-whom").textContent = hc.person() ? `${hc.person()}'s` : "the person's"; },

  choose(f) {
    if (!f) return;
    this.file = f;
    this.$("drop-text").textContent = `${f.name} (${(f.size / 1e6).toFixed(1)} MB)`;
    this.$("go").disabled = false;
    this.$("upload-error").textContent = "";
  },

  reset() {
    this.job = null;
    this.$("result").classList.add("hidden");
    this.$("progress-card").classList.add("hidden");
    this.$("pick").classList.remove("hidden");
    this.$("overlay").removeAttribute("src");
    this.$("stills-box").classList.add("hidden");
    delete this.$("stills-box").dataset.sid;
  },

  async send() {
    if (!this.file) return;
    await hc.ready;
    const err = this.$("upload-error");
    err.textContent = "";
    const form = new FormData();
    form.append("file", this.file, this.file.name);
    if (hc.person()) form.append("person", hc.person());
    if (this.$("exercise").value) form.append("exercise", this.$("exercise").value);
    this.$("go").disabled = true;
    this.show({ status: "uploading", phase: "upload", progress: 0, file: this.file.name });
    let r, data;
    try {
      r = await fetch("/api/analyses", { method: "POST", body: form, credentials: "same-origin",
                                         headers: { "X-Requested-With": "hingecoach" } });
      data = await r.json();
    } catch (e) { data = { detail: `the upload did not reach the server (${e.message})` }; }
    this.$("go").disabled = false;
    if (!r || !r.ok) {
      this.$("progress-card").classList.add("hidden");
      err.textContent = hc.detail(data) || `${r.status} ${r.statusText}`;
      return;
    }
    this.job = data.id;
    document.body.dataset.job = data.id;
    this.$("pick").classList.add("hidden");
    clearInterval(this.poll);
    this.poll = setInterval(() => this.refresh(), 2000);  // in case a WebSocket message is missed
  },

  connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws/analyses`);
    this.ws = ws;
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === "analysis" && msg.id === this.job) this.update(msg);
    };
    ws.onclose = () => setTimeout(() => this.connect(), 1000);
  },

  async refresh() {
    if (!this.job) return;
    try { this.update(await hc.api("GET", `/api/analyses/${this.job}`)); } catch (e) { /* the next poll */ }
  },

  update(job) {
    if (job.id !== this.job) return;
    if ((job.status === "done" && !job.result) || (job.overlay === "ready" && !this.$("overlay").src)) {
      if (job.result === null || job.result === undefined) { this.refresh(); }
    }
    this.show(job);
    if (job.phase === "finished") { clearInterval(this.poll); this.poll = null; }
  },

  show(job) {
    const card = this.$("progress-card"), text = this.$("progress-text");
    document.body.dataset.status = job.status;
    if (job.status === "failed") {
      card.classList.add("hidden");
      this.$("pick").classList.remove("hidden");
      this.$("upload-error").textContent = job.error;
      this.job = null;
      return;
    }
    if (job.status !== "done") {
      card.classList.remove("hidden");
      this.$("progress").value = job.progress || 0;
      text.textContent = { uploading: "Uploading…", queued: "Waiting for the analyses before it…",
                           running: `Analysing… ${Math.round(100 * (job.progress || 0))} %` }[job.status];
      this.$("progress-detail").textContent = job.file || "";
      return;
    }
    card.classList.add("hidden");
    if (job.result) this.result(job);
    const note = this.$("overlay-note");
    if (job.overlay === "ready" && job.overlay_url) {
      const v = this.$("overlay");
      if (!v.getAttribute("src")) v.src = job.overlay_url;
      this.$("overlay-box").classList.remove("hidden");
      note.textContent = "";
    } else if (job.overlay === "running") note.textContent = "Drawing the annotated video…";
    else if (job.overlay === "failed") note.textContent = `No annotated video: ${job.overlay_error}`;
    else note.textContent = "";
  },

  // The clip's verdict: the camera's own when the analysis gives one, else from the reps.
  verdict(r) {
    const v = r.verdict, s = r.summary;
    const msgs = Object.values(r.messages || {});
    if (v && (v.clip || typeof v === "string")) {
      const kind = v.clip || v;
      const head = { good: "Good: no fault in the reps that could be judged.",
                     faults: `Faults: ${msgs.join(" ") || "see the reps."}`,
                     cannot_judge: "This clip cannot be judged." }[kind] || kind;
      return [kind, head, v.reasons || []];
    }
    if (!s.reps) return ["cannot_judge", "No complete rep found.", ["a rep goes from standing to the bottom and back"]];
    if (s.faulty_reps) return ["faults", `${s.faulty_reps} of ${s.reps} reps with a fault. ${msgs.join(" ")}`, []];
    return ["good", `${s.reps} reps, no fault found.`, []];
  },

  result(job) {
    const r = job.result;
    const [kind, head, reasons] = this.verdict(r);
    const b = this.$("verdict");
    b.textContent = head;
    b.className = `banner ${{ good: "ok", faults: "stop", cannot_judge: "" }[kind] ?? ""}`;
    b.dataset.verdict = kind;
    this.$("reasons").replaceChildren(...reasons.map((x) => hc.el("li", {}, x)));
    // a camera's lumbar measure is the virtual dowel's bow, on the camera's own scale
    const camera = (r.recording || {}).placement === "camera";
    this.$("lumbar-head").textContent = camera ? "peak back bow°" : "peak lumbar°";
    this.$("reps").querySelector("tbody").replaceChildren(...r.reps.map((x) => hc.el("tr", {},
      hc.el("td", {}, String(x.index)),
      hc.el("td", {}, `${hc.fmt(x.start_s)}–${hc.fmt(x.end_s)}`),
      hc.el("td", {}, hc.fmt(x.peak_lumbar_flexion_deg)),
      hc.el("td", { class: "wide" }, hc.fmt(x.peak_trunk_inclination_deg)),
      hc.el("td", { class: "wide" }, hc.fmt(x.descent_s, 2)),
      hc.el("td", { class: x.faults.length ? "l bad" : "l" },
            x.judged === false ? `not judged: ${x.not_judged_because || "–"}`
              : x.faults.length ? x.faults.map((f) => f.replaceAll("_", " ")).join(", ") : "ok"))));
    const link = this.$("report-link");
    link.href = job.report || "#";
    link.classList.toggle("hidden", !job.report);
    this.$("warnings").textContent = (r.warnings || []).join(" ");
    this.$("result").classList.remove("hidden");
    this.stills(job.session_id);
  },

  // A video's rep stills (each rep's bottom frame, drawn on, with its verdict), from the store.
  async stills(sid) {
    const box = this.$("stills-box");
    if (sid === null || sid === undefined || box.dataset.sid === String(sid)) return;
    box.dataset.sid = String(sid);
    let list = [];
    try { list = (await hc.api("GET", `/api/sessions/${sid}`)).stills || []; } catch (e) { /* none shown */ }
    const kind = (s) => (s.verdict === "ok" ? "ok" : s.verdict === "not judged" ? "mute" : "bad");
    this.$("stills").replaceChildren(...list.map((s) => hc.el("figure", { class: "still" },
      hc.el("img", { src: s.url, width: s.width, height: s.height, alt: s.caption }),
      hc.el("figcaption", { class: kind(s) }, s.caption))));
    box.classList.toggle("hidden", !list.length);
  },
};

document.addEventListener("DOMContentLoaded", () => up.init());
