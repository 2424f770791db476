// A person's settings: thresholds a clinician sets (validated by the server), the programme's stage and
// clearances of red flags of the safety screen.
"use strict";

const settings = {
  $(id) { return document.getElementById(id); },

  async load() {
    const name = hc.person();
    this.$("who").textContent = name;
    let p;
    try { p = await hc.api("GET", `/api/people/${encodeURIComponent(name)}`); }
    catch (e) { this.$("th-msg").textContent = e.message; this.$("th-msg").className = "error"; return; }
    const rows = Object.entries(p.thresholds).map(([k, v]) => hc.el("tr", {}, hc.el("td", { class: "l" }, k),
      hc.el("td", {}, String(v.value)), hc.el("td", { class: "l" }, v.set_by || "–"),
      hc.el("td", { class: "l" }, String(v.set_at || "").slice(0, 10))));
    if (!rows.length) rows.push(hc.el("tr", {}, hc.el("td", { class: "l", colspan: 4 }, "no personal thresholds: the defaults apply")));
    document.querySelector("#current tbody").replaceChildren(...rows);
    const pl = p.plan;
    this.$("plan").textContent = `Next session: stage ${pl.stage} of 4, ${pl.stage_name.toLowerCase()}` +
      (pl.wall_distance_cm !== null ? ` at ${pl.wall_distance}` : "") + `. Why: ${pl.reason}` +
      (pl.blocked ? ` (${pl.blocked})` : "") + ` Threshold ${pl.threshold_deg}° (${pl.threshold_source}).`;
    this.$("stage").value = String(pl.stage);
    this.$("wall_distance_cm").value = pl.wall_distance_cm ?? "";
    await this.loadFlags(p);
  },

  async loadFlags(p) {
    if (!this.flags) this.flags = (await hc.api("GET", "/api/programme")).red_flags;
    const sel = this.$("flag");
    if (!sel.options.length) {
      sel.replaceChildren(...this.flags.filter((f) => f.clearable).map((f) =>
        hc.el("option", { value: f.id }, `${f.id} (${f.urgency})`)));
    }
    const pending = p.plan.red_flags || [];
    this.$("flags-pending").textContent = pending.length
      ? `Reported at the last screen: ${pending.map((f) => `${f.id} (${f.urgency})`).join(", ")}.` : "";
    const rows = p.clearances.slice().reverse().map((c) => {
      const revoke = c.active ? hc.el("button", { type: "button", class: "revoke", "data-flag": c.flag }, "Revoke") : "";
      return hc.el("tr", { "data-flag": c.flag, "data-active": String(c.active) },
        hc.el("td", { class: "l" }, c.flag), hc.el("td", { class: "l" }, c.set_by),
        hc.el("td", { class: "l" }, String(c.cleared_at).slice(0, 10)), hc.el("td", { class: "l" }, c.note || "–"),
        hc.el("td", { class: "l" }, c.active ? "holds" : `revoked ${String(c.revoked_at).slice(0, 10)}` +
          (c.revoke_reason ? `: ${c.revoke_reason}` : "")),
        hc.el("td", {}, revoke));
    });
    if (!rows.length) rows.push(hc.el("tr", {}, hc.el("td", { class: "l", colspan: 6 }, "no clearances")));
    document.querySelector("#clearances tbody").replaceChildren(...rows);
    for (const b of document.querySelectorAll("#clearances button.revoke")) {
      b.addEventListener("click", () => this.revoke(b.dataset.flag));
    }
  },

  async saveClearance(ev) {
    ev.preventDefault();
    const flag = encodeURIComponent(this.$("flag").value);
    const body = { set_by: this.$("clear_set_by").value.trim(), note: this.$("clear_note").value };
    await this.send("POST", `red-flags/${flag}/clearance`, body, "clear-msg");
  },

  async revoke(flag) {
    const body = { set_by: this.$("clear_set_by").value.trim(), note: "revoked on the Settings page" };
    await this.send("POST", `red-flags/${encodeURIComponent(flag)}/clearance/revoke`, body, "clear-msg");
  },

  num(id) { const v = this.$(id).value.trim(); return v === "" ? null : Number(v); },

  async saveThresholds(ev) {
    ev.preventDefault();
    const body = { set_by: this.$("set_by").value.trim(), clear: this.$("clear").value ? [this.$("clear").value] : [] };
    for (const k of ["lumbar_rounding_deg", "share_of_max", "too_fast_s"]) if (this.num(k) !== null) body[k] = this.num(k);
    for (const k of ["placement", "exercise"]) if (this.$(k).value) body[k] = this.$(k).value;
    await this.send("PUT", "thresholds", body, "th-msg");
  },

  async savePlan(ev) {
    ev.preventDefault();
    const stage = Number(this.$("stage").value);
    const body = { stage, set_by: this.$("plan_set_by").value.trim(), note: this.$("note").value,
                   clear_referral: this.$("clear_referral").checked,
                   wall_distance_cm: stage <= 2 ? this.num("wall_distance_cm") : null };
    await this.send("POST", "plan", body, "plan-msg");
  },

  async send(method, what, body, msgId) {
    const msg = this.$(msgId);
    try {
      await hc.api(method, `/api/people/${encodeURIComponent(hc.person())}/${what}`, body);
      msg.textContent = "saved"; msg.className = "mute";
      await this.load();
    } catch (e) { msg.textContent = e.message; msg.className = "error"; }
  },
};

document.addEventListener("DOMContentLoaded", () => {
  settings.$("thresholds").addEventListener("submit", (e) => settings.saveThresholds(e));
  settings.$("plan-form").addEventListener("submit", (e) => settings.savePlan(e));
  settings.$("clear-form").addEventListener("submit", (e) => settings.saveClearance(e));
  settings.load();
});
document.addEventListener("person", () => settings.load());
