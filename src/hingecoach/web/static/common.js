// Shared by the pages: the person, the JSON API, small DOM helpers. No network beyond this server.
"use strict";

const hc = {
  person() {
    const q = new URLSearchParams(location.search).get("person");
    return (q || localStorage.getItem("hingecoach.person") || "me").trim();
  },
  setPerson(name) { localStorage.setItem("hingecoach.person", name.trim()); },

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

  initHeader() {
    const input = document.getElementById("person");
    if (!input) return;
    input.value = hc.person();
    input.addEventListener("change", () => {
      hc.setPerson(input.value);
      document.dispatchEvent(new CustomEvent("person", { detail: input.value.trim() }));
    });
    for (const a of document.querySelectorAll("header a[data-page]")) {
      if (a.getAttribute("href") === location.pathname) a.classList.add("here");
    }
  },
};
document.addEventListener("DOMContentLoaded", hc.initHeader);
