// Shared by the pages: the person, the JSON API, small DOM helpers. No network beyond this server.
"use strict";

const hc = {
  people: [],        // the names in the store, loaded by initHeader
  ADD: "\u0000add",  // the person menu's "add a person" entry (no name can start with it)

  // The chosen person: ?person=, else the last one chosen here, else "" (none yet).
  person() {
    const q = new URLSearchParams(location.search).get("person");
    return (q || localStorage.getItem("hingecoach.person") || "").trim();
  },
  setPerson(name) { localStorage.setItem("hingecoach.person", name.trim()); },
  known(name) { return hc.people.includes(name); },

  async api(method, path, body) {
    const opt = { method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      opt.headers["Content-Type"] = "application/json";
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(path, opt);
    const text = await r.text();
    const data = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(hc.detail(data) || `${r.status} ${r.statusText}`);
    return data;
  },

  detail(data) {
    if (!data || data.detail === undefined) return "";
    if (typeof data.detail === "string") return data.detail;
    return data.detail.map((d) => `${(d.loc || []).filter((x) => x !== "body").join(".")}: ${d.msg}`).join("\n");
  },

  el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
    return e;
  },

  fmt(x, digits = 1) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits); },

  // The header: the navigation, and the person menu listing the people in the store.
  async initHeader() {
    for (const a of document.querySelectorAll("header a[data-page]")) {
      if (a.getAttribute("href") === location.pathname) a.classList.add("here");
    }
    const menu = document.getElementById("person");
    if (!menu) return;
    try { hc.people = (await hc.api("GET", "/api/people")).map((p) => p.name); } catch (e) { hc.people = []; }
    if (!hc.person() && hc.people.length) hc.setPerson(hc.people[0]);
    hc.fillMenu();
    document.getElementById("welcome").classList.toggle("hidden", hc.people.length > 0);
    menu.addEventListener("change", () => {
      if (menu.value === hc.ADD) { hc.showAdd(true); return; }
      hc.choose(menu.value);
    });
    document.getElementById("add-person").addEventListener("submit", (ev) => { ev.preventDefault(); hc.addPerson(); });
    document.getElementById("add-cancel").addEventListener("click", () => { hc.showAdd(false); hc.fillMenu(); });
    for (const b of document.querySelectorAll("[data-add-person]")) b.addEventListener("click", () => hc.showAdd(true));
  },

  fillMenu() {
    const menu = document.getElementById("person"), cur = hc.person();
    const names = hc.people.includes(cur) || !cur ? hc.people : [...hc.people, cur];
    menu.replaceChildren(
      ...(cur ? [] : [hc.el("option", { value: "" }, "no one yet")]),
      ...names.map((n) => hc.el("option", { value: n }, hc.known(n) ? n : `${n} (new)`)),
      hc.el("option", { value: hc.ADD }, "add a person…"));
    menu.value = cur;
  },

  choose(name) {
    hc.setPerson(name);
    hc.fillMenu();
    document.dispatchEvent(new CustomEvent("person", { detail: name }));
  },

  showAdd(on) {
    document.getElementById("add-person").classList.toggle("hidden", !on);
    document.getElementById("person-label").classList.toggle("hidden", on);
    document.getElementById("add-error").textContent = "";
    if (on) document.getElementById("new-person").focus();
  },

  async addPerson() {
    const input = document.getElementById("new-person");
    try {
      const p = await hc.api("POST", "/api/people", { name: input.value });
      if (!hc.known(p.name)) hc.people.push(p.name);
      input.value = "";
      hc.showAdd(false);
      document.getElementById("welcome").classList.add("hidden");
      hc.choose(p.name);
    } catch (e) { document.getElementById("add-error").textContent = e.message; }
  },
};
// Pages wait for this before using hc.person(): the header may pick the store's first person.
hc.ready = new Promise((resolve) => {
  document.addEventListener("DOMContentLoaded", () => hc.initHeader().finally(() => {
    document.body.dataset.ready = "1";  // for tests: the header knows the people
    resolve();
  }));
});
