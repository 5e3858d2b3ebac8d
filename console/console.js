/*
 * console.js - the scour console's page logic: sign-in with the console
 * secret, the operations panels (clusters, pipeline, router, reindex jobs,
 * dead letters) polled every few seconds without reloading, and the search
 * page that goes through the console's /api/search to the router.
 * Plain browser JavaScript, no dependencies, no build step. Every API call
 * is in api(); every panel has one render function fed by one endpoint.
 */
"use strict";

const $ = (sel) => document.querySelector(sel);
const REFRESH_MS = 2000;
const PAGE = 25; /* search results per page (the router's maximum limit) */

let secret = sessionStorage.getItem("scour.secret") || "";
let timer = null;
let deadBefore = null; /* paging of the dead-letter list: null = newest page */
let searchOffset = 0;

/* ---------------------------------------------------------------- helpers */

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of kids) if (c != null) e.append(c);
  return e;
}

function fmt(n, digits) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  if (n < 0) return "–";
  if (digits !== undefined) return Number(n).toFixed(digits);
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return String(Math.round(n));
}

function dur(s) {
  if (s === null || s === undefined) return "–";
  s = Math.round(s);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

function badge(text, cls) { return el("span", { class: "badge " + (cls || text), text }); }

async function api(path, opts) {
  opts = opts || {};
  const headers = Object.assign({ Authorization: "Bearer " + secret }, opts.headers || {});
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch("api" + path, { method: opts.method || "GET", headers,
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined, cache: "no-store" });
  let data = null;
  try { data = await r.json(); } catch (e) { data = { message: "not JSON (HTTP " + r.status + ")" }; }
  if (r.status === 401 && !opts.userToken) { signOut("The console secret was refused."); }
  return { status: r.status, ok: r.ok, data };
}

/* An in-page confirmation (a <dialog>), resolved true on Confirm. */
function confirmDialog(text) {
  const d = $("#confirm");
  $("#confirm-text").textContent = text;
  return new Promise((resolve) => {
    d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true });
    d.returnValue = "";
    d.showModal();
  });
}

/* An SVG line chart of several series over shared x (ms); scale2 series get
 * their own y axis (drawn right). */
function chart(svg, t, series) {
  const W = 600, H = 160, P = 4;
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  if (!t || t.length < 2) {
    const tx = document.createElementNS(ns, "text");
    tx.setAttribute("x", 10); tx.setAttribute("y", 20); tx.textContent = "collecting samples…";
    svg.append(tx);
    return;
  }
  const t0 = t[0], t1 = t[t.length - 1] || t0 + 1;
  const max = (vals) => Math.max(1, ...vals.filter((v) => v !== null && !Number.isNaN(v)));
  const m1 = max(series.filter((s) => !s.scale2).flatMap((s) => s.v));
  const m2 = max(series.filter((s) => s.scale2).flatMap((s) => s.v));
  for (let i = 1; i < 4; i++) {
    const g = document.createElementNS(ns, "line");
    g.setAttribute("x1", 0); g.setAttribute("x2", W);
    g.setAttribute("y1", (H * i) / 4); g.setAttribute("y2", (H * i) / 4);
    g.setAttribute("class", "grid");
    svg.append(g);
  }
  for (const s of series) {
    const m = s.scale2 ? m2 : m1;
    const pts = [];
    s.v.forEach((v, i) => {
      if (v === null || Number.isNaN(v)) return;
      const x = ((t[i] - t0) / (t1 - t0 || 1)) * W;
      const y = H - P - (v / m) * (H - 2 * P);
      pts.push(x.toFixed(1) + "," + y.toFixed(1));
    });
    const pl = document.createElementNS(ns, "polyline");
    pl.setAttribute("points", pts.join(" "));
    pl.setAttribute("class", s.cls);
    pl.setAttribute("data-series", s.name);
    svg.append(pl);
  }
  const lab = document.createElementNS(ns, "text");
  lab.setAttribute("x", 4); lab.setAttribute("y", 12);
  lab.textContent = fmt(m1) + (series.some((s) => s.scale2) ? "  /  " + fmt(m2) + " (right scale)" : "");
  svg.append(lab);
  const span = document.createElementNS(ns, "text");
  span.setAttribute("x", W - 80); span.setAttribute("y", H - 4);
  span.textContent = "last " + dur((t1 - t0) / 1000);
  svg.append(span);
}

/* ---------------------------------------------------------------- clusters */

async function loadClusters() {
  const r = await api("/clusters");
  const body = $("#clusters tbody");
  if (!r.ok) { body.replaceChildren(el("tr", {}, el("td", { colSpan: 9, class: "error", text: r.data.message }))); return; }
  $("#clusters-warning").hidden = !r.data.warning;
  $("#clusters-warning").textContent = r.data.warning || "";
  $("#clusters-age").textContent = "updated " + new Date().toLocaleTimeString();
  body.replaceChildren(...r.data.clusters.map((c) => {
    const draining = c.registered_state === "draining";
    const btn = el("button", { class: draining ? "undrain" : "drain", text: draining ? "Undrain" : "Drain",
      onclick: () => drain(c.name, !draining) });
    const pct = c.capacity > 0 && c.docs >= 0 ? " (" + ((100 * c.docs) / c.capacity).toFixed(1) + "% of capacity)" : "";
    return el("tr", { "data-cluster": c.name },
      el("td", {}, el("b", { text: c.name }), el("div", { class: "muted small", text: c.url })),
      el("td", { class: "state" }, badge(c.state)),
      el("td", { class: "lease", text: c.lease ? c.lease : c.live ? "static" : "–" }),
      el("td", { class: "load num", text: fmt(c.load) }),
      el("td", { class: "channels num", text: fmt(c.channels) }),
      el("td", { class: "docs num", title: pct, text: fmt(c.docs) }),
      el("td", { class: "health" }, c.health ? badge(c.health) : "–"),
      el("td", { class: "version", text: c.version || "–" }),
      el("td", {}, btn));
  }));
}

async function drain(name, on) {
  const what = on ? "Drain " + name + "? It keeps serving its channels but takes no new ones."
                  : "Undrain " + name + "? It takes new channels again.";
  if (!(await confirmDialog(what))) return;
  const r = await api("/clusters/" + encodeURIComponent(name) + (on ? "/drain" : "/undrain"), { method: "POST" });
  if (!r.ok) alertLine("#clusters-warning", r.data.message);
  await loadClusters();
}

function alertLine(sel, msg) { const p = $(sel); p.hidden = false; p.textContent = msg; }

/* ---------------------------------------------------------------- pipeline */

const STAGES = ["read", "parsed", "bound", "sent", "acked", "dead_lettered"];

async function loadPipeline() {
  const r = await api("/pipeline");
  if (!r.ok) return;
  const d = r.data;
  $("#pipeline-off").hidden = d.indexers.configured > 0;
  const st = $("#stages");
  if (!d.rates) { st.replaceChildren(el("span", { class: "muted", text: !d.indexers.configured ? "" : d.indexers.up ? "collecting samples…" : "no indexer answers at its metrics URL" })); chart($("#pipeline-chart"), null, []); return; }
  st.replaceChildren(...STAGES.map((s) => el("div", { class: "fig", "data-stage": s },
    el("b", { text: fmt(d.rates[s], 1) }), el("span", { text: s.replace("_", " ") }))),
    el("div", { class: "fig" }, el("b", { text: fmt(d.rates.retries, 1) }), el("span", { text: "retries" })));
  $("#queue").replaceChildren(
    el("span", {}, "indexers up ", el("b", { text: d.indexers.up + "/" + d.indexers.configured })),
    el("span", {}, "queue lag ", el("b", { id: "queue-lag", text: fmt(d.queue.lag) })),
    el("span", {}, "pending ", el("b", { id: "queue-pending", text: fmt(d.queue.pending) })),
    el("span", {}, "read total ", el("b", { text: fmt(d.totals.read) })),
    el("span", {}, "dead-lettered total ", el("b", { text: fmt(d.totals.dead_lettered) })));
  const show = ["read", "sent", "acked", "dead_lettered"];
  chart($("#pipeline-chart"), d.series.t, show.map((s, i) => ({ name: s, v: d.series[s], cls: "s" + i }))
    .concat([{ name: "lag", v: d.series.lag, cls: "s4", scale2: true }]));
  $("#pipeline-legend").replaceChildren(...show.map((s, i) => el("span", {}, el("span", { class: "sw s" + i }), s.replace("_", " "))),
    el("span", {}, el("span", { class: "sw s4" }), "queue lag (right scale)"));
  $("#bulk tbody").replaceChildren(...d.clusters.map((c) => el("tr", { "data-cluster": c.name },
    el("td", { text: c.name }), el("td", { class: "num", text: fmt(c.bulk_per_s, 2) }),
    el("td", { class: "num", text: fmt(c.p50_ms, 1) }), el("td", { class: "num", text: fmt(c.p99_ms, 1) }))));
}

/* ---------------------------------------------------------------- router */

async function loadRouter() {
  const r = await api("/router");
  if (!r.ok) return;
  const d = r.data;
  $("#router-off").hidden = d.up;
  if (!d.up || d.qps === null) { $("#router-figures").replaceChildren(el("span", { class: "muted", text: d.up ? "collecting samples…" : "" })); chart($("#router-chart"), null, []); return; }
  $("#router-figures").replaceChildren(
    el("div", { class: "fig" }, el("b", { id: "router-qps", text: fmt(d.qps, 1) }), el("span", { text: "searches/s" })),
    el("div", { class: "fig" }, el("b", { id: "router-p50", text: fmt(d.p50_ms, 1) }), el("span", { text: "p50 ms (1 min)" })),
    el("div", { class: "fig" }, el("b", { id: "router-p99", text: fmt(d.p99_ms, 1) }), el("span", { text: "p99 ms (1 min)" })));
  const c = d.counts, m = d.last_minute;
  $("#router-counts").replaceChildren(...["200", "202", "429", "503", "partial"].map((k) =>
    el("span", { "data-count": k }, k + " ", el("b", { text: fmt(c[k]) }), el("span", { class: "small", text: " (+" + fmt(m[k]) + "/min)" }))));
  chart($("#router-chart"), d.series.t, [{ name: "qps", v: d.series.qps, cls: "s0" },
    { name: "p99", v: d.series.p99_ms, cls: "s3", scale2: true }]);
}

/* ---------------------------------------------------------------- jobs */

async function loadJobs() {
  const r = await api("/jobs?limit=15");
  if (!r.ok) return;
  $("#jobs tbody").replaceChildren(...r.data.jobs.map((j) => {
    const bar = el("div", { class: "bar" }, el("div"));
    bar.firstChild.style.width = Math.min(100, j.percent) + "%";
    return el("tr", { "data-job": String(j.id), "data-state": j.state },
      el("td", { text: "#" + j.id }), el("td", { text: j.kind }),
      el("td", { text: j.target + (j.to_cluster ? " → " + j.to_cluster : "") }),
      el("td", { class: "state" }, badge(j.state)), el("td", { text: String(j.phase) }),
      el("td", { class: "grow" }, bar, el("span", { class: "progress", text: fmt(j.done) + " / " + fmt(j.total) + " (" + j.percent.toFixed(1) + "%)" })),
      el("td", { class: "num", text: fmt(j.rate_per_s) + "/s" }),
      el("td", { text: j.state === "running" ? dur(j.eta_s) : "–" }),
      el("td", { class: "error", text: j.error }));
  }));
}

async function startJob(ev) {
  ev.preventDefault();
  const kind = $("#job-kind").value, target = $("#job-target").value.trim();
  if (!(await confirmDialog("Start a " + kind + " rebuild of " + target + "? A reindex worker copies it again from PostgreSQL."))) return;
  const r = await api("/jobs", { method: "POST", body: { kind, target } });
  $("#job-msg").textContent = r.ok ? "queued job #" + r.data.id : r.data.message;
  $("#job-msg").className = r.ok ? "muted" : "error";
  loadJobs();
}

/* ---------------------------------------------------------------- dead letters */

async function loadDead() {
  const r = await api("/dead-letters?limit=20" + (deadBefore ? "&before=" + encodeURIComponent(deadBefore) : ""));
  if (!r.ok) { $("#dead-msg").textContent = r.data.message; return; }
  const d = r.data;
  $("#dead-total").textContent = d.total + " in " + d.stream;
  $("#replay-all").disabled = d.total <= 0;
  $("#dead-more").hidden = !d.next_before;
  $("#dead tbody").replaceChildren(...(d.entries.length ? d.entries.map((e) => el("tr", { "data-id": e.id },
    el("td", { text: e.id }), el("td", { text: e.ts_ms ? new Date(e.ts_ms).toLocaleString() : "–" }),
    el("td", { class: "reason", text: e.reason }),
    el("td", { class: "grow" }, el("code", { class: "payload", text: e.payload === null ? "(no payload)" : e.payload })),
    el("td", {}, el("button", { class: "replay", text: "Replay", disabled: e.payload === null, onclick: () => replay(e.id) }))))
    : [el("tr", {}, el("td", { colSpan: 5, class: "muted", text: "no dead letters" }))]));
}

async function replay(id) {
  const all = id === null;
  if (!(await confirmDialog(all ? "Replay every dead letter back to the event stream?" : "Replay " + id + " back to the event stream?"))) return;
  const r = await api(all ? "/dead-letters/replay-all" : "/dead-letters/" + encodeURIComponent(id) + "/replay", { method: "POST" });
  $("#dead-msg").textContent = r.ok ? (all ? "replayed " + r.data.replayed + (r.data.skipped ? ", skipped " + r.data.skipped : "") : "replayed " + id + " as " + r.data.new_id) : r.data.message;
  $("#dead-msg").className = r.ok ? "muted" : "error";
  deadBefore = null;
  loadDead();
}

/* ---------------------------------------------------------------- search */

const HINTS = [
  ["from:", "USER_ID", "messages by a user"], ["mentions:", "USER_ID", "mentioning a user"],
  ["has:", "link", "link, embed, file, image, video, sound, sticker"], ["before:", "2026-12-01", "sent before a day"],
  ["after:", "2026-11-01", "sent after a day"], ["during:", "2026-11-15", "sent on a day"],
  ["in:", "CHANNEL_ID", "in a channel (guild search)"], ["pinned:", "true", "pinned messages"],
  ["author_type:", "bot", "user, bot or webhook"], ['"', 'exact phrase"', "a phrase"],
  ["-", "word", "exclude a word"], ["word", "*", "prefix"],
];

function renderHints() {
  $("#hints").replaceChildren(...HINTS.map(([op, ex, what]) => el("li", { title: what,
    onclick: () => { const q = $("#q"); q.value = (q.value ? q.value.trimEnd() + " " : "") + op + (op === "-" || op === '"' ? "" : ""); q.focus(); } },
    el("code", { text: op }), ex, " ", el("span", { class: "muted", text: what }))));
}

let demoUsers = [];

async function loadDemoUsers() {
  const r = await api("/demo-users");
  if (!r.ok || !r.data.users) return;
  demoUsers = r.data.users;
  $("#demo-row").hidden = false;
  $("#demo-user").replaceChildren(el("option", { value: "", text: "— paste a token instead —" }),
    ...demoUsers.map((u, i) => el("option", { value: String(i), text: u.name + " (" + u.user_id + ")" })));
  $("#demo-user").value = "0";
  pickDemoUser();
}

function pickDemoUser() {
  const u = demoUsers[Number($("#demo-user").value)];
  if ($("#demo-user").value === "" || !u) { $("#demo-scope").replaceChildren(); return; }
  $("#token").value = u.token;
  $("#demo-scope").replaceChildren(...u.scopes.map((s, i) => el("option", { value: String(i), text: s.kind + " " + s.name })));
  pickScope();
}

function pickScope() {
  const u = demoUsers[Number($("#demo-user").value)];
  const s = u && u.scopes[Number($("#demo-scope").value)];
  if (!s) return;
  $("#scope").value = s.kind;
  $("#scope-id").value = s.id;
}

/* Text with the highlight substrings wrapped in <mark> (DOM nodes, no HTML). */
function marked(text, hl) {
  const out = [];
  const terms = (hl || []).filter((h) => h).map((h) => h.toLowerCase());
  if (!terms.length) return [text];
  const low = text.toLowerCase();
  let i = 0;
  while (i < text.length) {
    let best = -1, len = 0;
    for (const t of terms) {
      const k = low.indexOf(t, i);
      if (k >= 0 && (best < 0 || k < best || (k === best && t.length > len))) { best = k; len = t.length; }
    }
    if (best < 0) { out.push(text.slice(i)); break; }
    if (best > i) out.push(text.slice(i, best));
    out.push(el("mark", { text: text.slice(best, best + len) }));
    i = best + len;
  }
  return out;
}

function messageLine(m) {
  const when = m.timestamp ? new Date(m.timestamp).toLocaleString() : "";
  const who = m.author ? (m.author.username || m.author.id) : "";
  return el("div", { class: "msg" + (m.hit ? " hit" : " ctx") },
    el("span", { class: "meta", text: when + " · " + who + " · #" + m.channel_id }),
    ...marked(m.content || "", m.hit ? m.highlights : null));
}

async function search(ev, offset) {
  if (ev) ev.preventDefault();
  searchOffset = offset || 0;
  const token = $("#token").value.trim(), scope = $("#scope").value, id = $("#scope-id").value.trim();
  $("#search-error").textContent = "";
  if (!token) { $("#search-error").textContent = "Paste a token (or pick a demo user)."; return; }
  if (!/^[0-9]+$/.test(id)) { $("#search-error").textContent = "Give the " + scope + " id."; return; }
  const qs = new URLSearchParams({ scope, id, q: $("#q").value, offset: String(searchOffset), limit: String(PAGE), context: "true" });
  const t0 = performance.now();
  const r = await api("/search?" + qs.toString(), { headers: { "X-Scour-Token": token }, userToken: true });
  const ms = performance.now() - t0;
  const list = $("#results");
  if (r.status !== 200) {
    list.replaceChildren();
    $("#search-info").textContent = "";
    const extra = r.status === 202 ? " (documents indexed so far: " + (r.data.documents_indexed || 0) + ")" : "";
    $("#search-error").textContent = "HTTP " + r.status + ": " + (r.data.message || "error") + extra;
    $("#prev").disabled = $("#next").disabled = true;
    return;
  }
  const d = r.data;
  const clusters = (d.clusters || []).map((c) => c.name + (c.ok ? " ✓" : " ✗")).join(", ") || "none";
  $("#search-info").replaceChildren(fmt(d.total_results) + " results in " + ms.toFixed(0) + " ms · clusters answered: ",
    el("span", { id: "answered", text: clusters }), d.partial ? el("span", { class: "warn", text: " · partial: " + d.partial_reasons.join(", ") }) : "");
  list.start = searchOffset + 1;
  list.replaceChildren(...d.messages.map((group) => el("li", {}, ...group.map(messageLine))));
  $("#prev").disabled = searchOffset === 0;
  $("#next").disabled = searchOffset + PAGE >= d.total_results || d.messages.length === 0;
  $("#page").textContent = d.total_results ? (searchOffset + 1) + "–" + Math.min(searchOffset + PAGE, d.total_results) + " of " + d.total_results : "";
}

/* ---------------------------------------------------------------- shell */

async function refresh() {
  if ($("#ops").hidden) return;
  const t0 = performance.now();
  await Promise.allSettled([loadClusters(), loadPipeline(), loadRouter(), loadJobs(), loadDead()]);
  $("#status").textContent = "refreshed " + new Date().toLocaleTimeString() + " (" + (performance.now() - t0).toFixed(0) + " ms)";
}

/* `make demo` prints a URL with #secret=...: take it, then drop it from the address bar */
function takeSecret() {
  const m = location.hash.match(/^#secret=([^&]+)/);
  if (!m) return false;
  secret = decodeURIComponent(m[1]);
  sessionStorage.setItem("scour.secret", secret);
  history.replaceState(null, "", location.pathname + "#ops");
  return true;
}

function route() {
  if (takeSecret()) loadDemoUsers();
  const page = location.hash === "#search" ? "search" : "ops";
  if (!secret) { $("#login").hidden = false; $("#ops").hidden = $("#search").hidden = true; $("#logout").hidden = true; return; }
  $("#login").hidden = true;
  $("#logout").hidden = false;
  $("#ops").hidden = page !== "ops";
  $("#search").hidden = page !== "search";
  $("#nav-ops").classList.toggle("active", page === "ops");
  $("#nav-search").classList.toggle("active", page === "search");
  clearInterval(timer);
  if (page === "ops") { refresh(); timer = setInterval(refresh, REFRESH_MS); }
}

function signOut(msg) {
  secret = "";
  sessionStorage.removeItem("scour.secret");
  clearInterval(timer);
  $("#login-error").textContent = msg || "";
  route();
}

async function signIn(ev) {
  ev.preventDefault();
  secret = $("#secret").value;
  const r = await api("/session");
  if (!r.ok) { secret = ""; $("#login-error").textContent = r.data.message || "refused"; return; }
  sessionStorage.setItem("scour.secret", secret);
  $("#secret").value = "";
  $("#login-error").textContent = "";
  route();
  loadDemoUsers();
}

function init() {
  $("#login-form").addEventListener("submit", signIn);
  $("#logout").addEventListener("click", () => signOut(""));
  $("#job-form").addEventListener("submit", startJob);
  $("#replay-all").addEventListener("click", () => replay(null));
  $("#dead-more").addEventListener("click", () => { const rows = document.querySelectorAll("#dead tbody tr[data-id]"); deadBefore = rows.length ? rows[rows.length - 1].dataset.id : null; loadDead(); });
  $("#search-form").addEventListener("submit", (e) => search(e, 0));
  $("#prev").addEventListener("click", () => search(null, Math.max(0, searchOffset - PAGE)));
  $("#next").addEventListener("click", () => search(null, searchOffset + PAGE));
  $("#demo-user").addEventListener("change", pickDemoUser);
  $("#demo-scope").addEventListener("change", pickScope);
  window.addEventListener("hashchange", route);
  renderHints();
  const had = !!secret && !location.hash.startsWith("#secret=");
  route();
  if (had) loadDemoUsers();
}

init();
