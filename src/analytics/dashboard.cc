#include "corral/analytics/dashboard.h"

namespace corral::analytics {

std::string_view dashboard_html() {
  static constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>corral analytics</title>
<link rel="icon" href="data:,">
<style>
  :root { --bg:#0f1419; --panel:#182029; --line:#2a3644; --text:#dde3ea; --dim:#8a99a8; --accent:#4fb3ff; --bad:#ff6b6b; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; gap:16px; align-items:center; padding:12px 20px; border-bottom:1px solid var(--line); flex-wrap:wrap; }
  header h1 { font-size:18px; margin:0 12px 0 0; }
  main { padding:16px 20px; display:grid; gap:16px; }
  .cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:12px; }
  .card, section { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:12px; }
  .card .v { font-size:22px; font-weight:600; }
  .card .k, .dim { color:var(--dim); font-size:12px; }
  h2 { font-size:14px; margin:0 0 8px; }
  table { width:100%; border-collapse:collapse; font-size:13px; }
  th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); vertical-align:top; }
  th { color:var(--dim); font-weight:500; }
  td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
  .two { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
  @media (max-width: 900px) { .two { grid-template-columns:1fr; } }
  input, select, button, a.button { background:#0b1016; color:var(--text); border:1px solid var(--line); border-radius:4px; padding:5px 8px; font:inherit; }
  button, a.button { cursor:pointer; text-decoration:none; }
  button:hover, a.button:hover { border-color:var(--accent); }
  form { display:flex; gap:8px; flex-wrap:wrap; margin-bottom:8px; }
  .bad { color:var(--bad); }
  svg { width:100%; height:160px; display:block; }
  .preview { max-width:360px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
  #status-line { margin-left:auto; }
</style>
</head>
<body>
<header>
  <h1>corral analytics</h1>
  <label class="dim">Range
    <select id="range">
      <option value="3600">last hour</option>
      <option value="86400" selected>last 24 hours</option>
      <option value="604800">last 7 days</option>
    </select>
  </label>
  <label class="dim"><input type="checkbox" id="auto" checked> auto-refresh (10 s)</label>
  <button id="refresh" type="button">Refresh</button>
  <span id="status-line" class="dim"></span>
</header>
<main>
  <div class="cards">
    <div class="card"><div class="k">Requests</div><div class="v" id="total-requests">–</div></div>
    <div class="card"><div class="k">Request rate</div><div class="v" id="rate">–</div></div>
    <div class="card"><div class="k">Errors</div><div class="v" id="errors">–</div></div>
    <div class="card"><div class="k">Duration p50 / p95 / p99</div><div class="v" id="duration">–</div></div>
    <div class="card"><div class="k">Time to first token p50 / p95</div><div class="v" id="ttft">–</div></div>
    <div class="card"><div class="k">Tokens/s (avg)</div><div class="v" id="tps">–</div></div>
    <div class="card"><div class="k">Tokens in / out</div><div class="v" id="tokens">–</div></div>
  </div>
  <section>
    <h2>Requests over time <span class="dim" id="bucket"></span></h2>
    <svg id="chart" viewBox="0 0 1000 160" preserveAspectRatio="none" role="img" aria-label="requests over time"></svg>
  </section>
  <div class="two">
    <section><h2>By model</h2><table id="by-model"></table></section>
    <section><h2>By backend</h2><table id="by-backend"></table></section>
  </div>
  <div class="two">
    <section><h2>By category</h2><table id="by-category"></table></section>
    <section><h2>By status</h2><table id="by-status"></table></section>
  </div>
  <section>
    <h2>Recent errors</h2>
    <table id="errors-table"></table>
  </section>
  <section>
    <h2>Search</h2>
    <form id="search">
      <input id="search-model" name="model" placeholder="model">
      <input id="search-prompt" name="prompt_search" placeholder="prompt contains">
      <input id="search-status" name="status" placeholder="status (200, 5xx, error)" size="18">
      <input id="search-user" name="user" placeholder="user">
      <button type="submit" id="search-button">Search</button>
      <a class="button" id="export-csv" href="/analytics/export?format=csv">Export CSV</a>
      <a class="button" id="export-json" href="/analytics/export?format=json">Export JSON</a>
    </form>
    <div class="dim" id="search-count"></div>
    <table id="results"><thead></thead><tbody></tbody></table>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const fmt = (v, d = 0) => v === null || v === undefined ? "–" : Number(v).toLocaleString(undefined, { maximumFractionDigits: d });
const ms = (v) => v === null || v === undefined ? "–" : (v >= 1000 ? fmt(v / 1000, 2) + " s" : fmt(v, 1) + " ms");

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}
function header(table, names) {
  const thead = table.tHead || table.createTHead();
  thead.textContent = "";
  const tr = thead.insertRow();
  for (const [n, num] of names) {
    const th = document.createElement("th");
    th.textContent = n;
    if (num) th.className = "num";
    tr.appendChild(th);
  }
}
function body(table) {
  const tb = table.tBodies[0] || table.createTBody();
  tb.textContent = "";
  return tb;
}
function groupTable(table, key, rows) {
  header(table, [[key], ["requests", 1], ["errors", 1], ["avg duration", 1], ["tokens/s", 1]]);
  const tb = body(table);
  for (const r of rows) {
    const tr = tb.insertRow();
    cell(tr, r[key] === null ? "(none)" : String(r[key]));
    cell(tr, fmt(r.requests), "num");
    cell(tr, fmt(r.errors), r.errors ? "num bad" : "num");
    cell(tr, ms(r.avg_duration_ms), "num");
    cell(tr, fmt(r.tokens_per_second, 1), "num");
  }
}
function chart(s) {
  const svg = $("chart");
  svg.textContent = "";
  const bucket = s.bucket_seconds * 1000;
  $("bucket").textContent = "(per " + (bucket >= 86400000 ? "day" : bucket >= 3600000 ? "hour" : "minute") + ")";
  const start = Math.floor(Date.parse(s.start_time) / bucket) * bucket;
  const slots = Math.max(1, Math.ceil((Date.parse(s.end_time) - start) / bucket));
  const max = Math.max(1, ...s.series.map((p) => p.requests));
  const w = 1000 / slots;
  const ns = "http://www.w3.org/2000/svg";
  for (const p of s.series) {
    const i = Math.min(slots - 1, Math.floor((Date.parse(p.time) - start) / bucket));
    for (const [v, color] of [[p.requests, "#4fb3ff"], [p.errors, "#ff6b6b"]]) {
      const h = (v / max) * 150;
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", i * w + w * 0.1);
      rect.setAttribute("width", Math.max(w * 0.8, 1));
      rect.setAttribute("y", 160 - h);
      rect.setAttribute("height", h);
      rect.setAttribute("fill", color);
      const title = document.createElementNS(ns, "title");
      title.textContent = p.time + ": " + p.requests + " requests, " + p.errors + " errors";
      rect.appendChild(title);
      svg.appendChild(rect);
    }
  }
}
function resultsTable(table, rows) {
  header(table, [["time"], ["model"], ["endpoint"], ["status", 1], ["duration", 1], ["TTFT", 1], ["tokens", 1], ["user"], ["prompt"], ["response / error"]]);
  const tb = body(table);
  for (const r of rows) {
    const tr = tb.insertRow();
    cell(tr, r.time.replace("T", " ").replace("Z", ""));
    cell(tr, r.model || "");
    cell(tr, r.endpoint || "");
    cell(tr, String(r.status), r.status >= 400 ? "num bad" : "num");
    cell(tr, ms(r.duration_ms), "num");
    cell(tr, ms(r.ttft_ms), "num");
    cell(tr, r.completion_tokens === null ? "" : fmt(r.completion_tokens), "num");
    cell(tr, r.user || "");
    cell(tr, r.prompt_preview || "", "preview").title = r.prompt_preview || "";
    cell(tr, r.error || r.response_preview || "", r.error ? "preview bad" : "preview").title = r.error || r.response_preview || "";
  }
}
async function getJson(url) {
  const res = await fetch(url, { cache: "no-store" });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}
function rangeParams() {
  const now = Date.now() / 1000;
  return "start_time=" + Math.floor(now - Number($("range").value)) + "&end_time=" + Math.ceil(now + 1);
}
function searchParams() {
  const p = new URLSearchParams();
  for (const id of ["search-model", "search-prompt", "search-status", "search-user"]) {
    const el = $(id);
    if (el.value.trim()) p.set(el.name, el.value.trim());
  }
  return p;
}
async function loadStats() {
  const s = await getJson("/analytics/stats?" + rangeParams());
  const t = s.totals;
  $("total-requests").textContent = fmt(t.requests);
  $("rate").textContent = fmt(t.requests / Number($("range").value) * 60, 2) + "/min";
  $("errors").textContent = fmt(t.errors) + (t.requests ? " (" + fmt(100 * t.errors / t.requests, 1) + "%)" : "");
  $("duration").textContent = [s.duration_ms.p50, s.duration_ms.p95, s.duration_ms.p99].map(ms).join(" / ");
  $("ttft").textContent = [s.ttft_ms.p50, s.ttft_ms.p95].map(ms).join(" / ");
  $("tps").textContent = fmt(t.tokens_per_second, 1);
  $("tokens").textContent = fmt(t.prompt_tokens) + " / " + fmt(t.completion_tokens);
  chart(s);
  groupTable($("by-model"), "model", s.by_model);
  groupTable($("by-backend"), "backend", s.by_backend);
  groupTable($("by-category"), "category", s.by_category);
  groupTable($("by-status"), "status", s.by_status);
  const errs = await getJson("/analytics/search?status=error&limit=20&" + rangeParams());
  resultsTable($("errors-table"), errs.results);
}
async function runSearch() {
  const p = searchParams();
  p.set("limit", "100");
  const r = await getJson("/analytics/search?" + p.toString());
  $("search-count").textContent = r.total + " matching requests" + (r.total > r.results.length ? ", newest " + r.results.length + " shown" : "");
  resultsTable($("results"), r.results);
  const exportParams = searchParams();
  for (const [id, format] of [["export-csv", "csv"], ["export-json", "json"]]) {
    exportParams.set("format", format);
    $(id).href = "/analytics/export?" + exportParams.toString();
  }
}
async function refresh() {
  try {
    await Promise.all([loadStats(), runSearch()]);
    $("status-line").textContent = "updated " + new Date().toLocaleTimeString();
    $("status-line").classList.remove("bad");
  } catch (e) {
    $("status-line").textContent = "error: " + e.message;
    $("status-line").classList.add("bad");
  }
}
$("search").addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
$("refresh").addEventListener("click", refresh);
$("range").addEventListener("change", refresh);
setInterval(() => { if ($("auto").checked) refresh(); }, 10000);
refresh();
</script>
</body>
</html>
)html";
  return kPage;
}

}  // namespace corral::analytics
