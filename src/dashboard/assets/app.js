// The ict watch dashboard: reads the JSON API (/api/...), draws tables and SVG charts, and
// refreshes on each server-sent event. No framework, no outside requests; data is put in the
// page as text only (never as HTML).
"use strict";

const view = { server: null, range: "1h", run: null, busy: false, again: false };

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") node.addEventListener("click", v);
    else if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c ?? ""));
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

async function get(path, asText) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return asText ? r.text() : r.json();
}

const time = (unix) => (unix ? new Date(unix * 1000).toLocaleTimeString([], { hour12: false }) : "");
const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "");
const num = (v, d = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));

function bytes(v) {
  if (v === null || v === undefined) return "–";
  const units = ["B/s", "kB/s", "MB/s", "GB/s"];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i += 1; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function token() {
  return $("token").value.trim();
}

function fill(tbody, rows, empty, columns) {
  tbody.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: columns, class: "muted" }, empty))]));
}

async function power(name, action) {
  const r = await fetch(`/api/servers/${encodeURIComponent(name)}/power`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token()}` },
    body: JSON.stringify({ action }),
  });
  const answer = await r.json().catch(() => ({}));
  $("action-result").textContent = r.ok ? `${name}: ${action} ${answer.result}` : `${name}: ${answer.error || r.status}`;
  refresh();
}

function renderServers(data) {
  $("status").textContent = `env ${data.env} · round ${data.ticks} at ${time(data.at)} · every ${data.interval_seconds}s`;
  $("drift").textContent = data.drift === null ? "drift: not checked yet"
    : data.drift.length ? `drift: the cloud differs from the script (${data.drift.join(", ")})` : "no drift: the cloud matches the script";
  if (!view.server || !data.servers.some((s) => s.name === view.server)) {
    const first = data.servers.find((s) => s.up) || data.servers[0];
    view.server = first ? first.name : null;
  }
  const rows = data.servers.map((s) => {
    const f = s.figures || {};
    const actions = s.managed
      ? el("td", {}, ...["on", "off", "reboot"].map((a) => el("button", { onclick: (e) => { e.stopPropagation(); power(s.name, a); } }, a)))
      : el("td", { class: "muted" }, "not ict's");
    return el("tr", { "data-server": s.name, class: s.name === view.server ? "selected" : null, onclick: () => { view.server = s.name; refresh(); } },
      el("td", {}, s.name),
      el("td", {}, data.env),
      el("td", { class: s.power || "" }, s.power || "–"),
      el("td", {}, s.ip || "–"),
      el("td", {}, s.managed ? "managed" : "unmanaged"),
      el("td", { class: s.drift ? "drifted" : "" }, s.drift ? "drift" : "–"),
      el("td", { class: s.up === null ? "" : s.up ? "up" : "down", title: s.error || "" }, s.up === null ? "–" : s.up ? "up" : "down"),
      el("td", {}, num(f.cpu_busy_percent)),
      el("td", {}, num(f.memory_used_percent)),
      el("td", {}, `${bytes(f.disk_read_bytes_per_second)} / ${bytes(f.disk_write_bytes_per_second)}`),
      el("td", {}, `${bytes(f.network_rx_bytes_per_second)} / ${bytes(f.network_tx_bytes_per_second)}`),
      actions);
  });
  fill($("servers").tBodies[0], rows, "no servers", 12);
}

// One chart: a polyline per series over the points' times, scaled to the largest value.
function chart(title, points, series, format) {
  const w = 600, h = 140, pad = 4;
  const values = points.flatMap((p) => series.map(([key]) => p[key])).filter((v) => v !== null && v !== undefined);
  const max = Math.max(1, ...values);
  const t0 = points.length ? points[0].at : 0;
  const t1 = points.length ? points[points.length - 1].at : 1;
  const x = (t) => pad + ((t - t0) / Math.max(1, t1 - t0)) * (w - 2 * pad);
  const y = (v) => h - pad - (v / max) * (h - 2 * pad - 12);
  const lines = series.map(([key], i) => {
    const pts = points.filter((p) => p[key] !== null && p[key] !== undefined);
    return svg("polyline", {
      class: `s${i}`, "data-series": key, "data-points": pts.length,
      points: pts.map((p) => `${x(p.at).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" "),
    });
  });
  const figure = svg("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", role: "img", "aria-label": title },
    svg("text", { x: 6, y: 12, class: "axis" }, `max ${format(max)}`),
    svg("text", { x: 6, y: h - 6, class: "axis" }, time(t0)),
    svg("text", { x: w - 6, y: h - 6, class: "axis", "text-anchor": "end" }, time(t1)),
    ...lines);
  const legend = el("div", { class: "legend" }, ...series.map(([, label], i) => el("span", { class: `k${i}` }, `— ${label}`)));
  return el("div", { class: "chart", "data-chart": title }, el("h4", {}, title), figure, legend);
}

async function renderCharts() {
  $("chart-server").textContent = view.server || "—";
  if (!view.server) { $("charts").replaceChildren(); return; }
  const data = await get(`/api/history?server=${encodeURIComponent(view.server)}&range=${view.range}`);
  const pct = (v) => `${num(v, 0)}%`;
  $("charts").replaceChildren(
    chart("CPU", data.points, [["cpu", "busy %"]], pct),
    chart("Memory", data.points, [["memory", "used %"]], pct),
    chart("Disk", data.points, [["disk_read", "read"], ["disk_write", "write"]], bytes),
    chart("Network", data.points, [["net_rx", "received"], ["net_tx", "sent"]], bytes));
}

async function renderAlerts() {
  const data = await get("/api/alerts");
  const rows = data.alerts.map((a) => el("tr", { "data-alert": `${a.rule}/${a.host}` },
    el("td", {}, a.rule), el("td", {}, a.host), el("td", {}, a.severity),
    el("td", { class: a.state }, a.state), el("td", {}, time(a.since)), el("td", {}, time(a.fired_at)),
    el("td", {}, time(a.resolved_at)), el("td", {}, num(a.value))));
  fill($("alerts").tBodies[0], rows, "no alert is pending, firing or resolved", 8);
  $("alert-changes").replaceChildren(...data.changes.slice(0, 20).map((c) =>
    el("li", {}, el("span", { class: c.state }, c.state), ` ${when(c.at)} ${c.rule} on ${c.host}: ${c.summary}`)));
}

async function renderPipelines() {
  const data = await get("/api/pipelines");
  const blocks = data.pipelines.map((p) => {
    const rows = p.runs.map((r) => {
      const seconds = (Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000;
      const id = `${p.name}/${r.release}`;
      return el("tr", { "data-run": id, class: view.run === id ? "selected" : null, onclick: () => { view.run = id; renderLog(); renderPipelines(); } },
        el("td", {}, r.release), el("td", {}, r.action), el("td", {}, r.ref), el("td", {}, r.commit.slice(0, 7)),
        el("td", {}, when(r.started_at)), el("td", {}, `${num(seconds)}s`),
        el("td", { class: r.outcome }, r.outcome),
        el("td", {}, r.failed_stage ? `${r.failed_stage} on ${r.failed_host}` : "–"),
        el("td", {}, [...new Set((r.stages || []).map((s) => s.stage))].join(" → ")));
    });
    const table = el("table", {}, el("thead", {}, el("tr", {}, ...["release", "action", "ref", "commit", "started", "took", "outcome", "failed at", "stages"].map((t) => el("th", {}, t)))), el("tbody"));
    fill(table.tBodies[0], rows, "no runs yet", 9);
    return el("div", { class: "pipeline", "data-pipeline": p.name },
      el("h3", {}, `${p.name} · current ${p.current || "none"} · kept ${p.releases.join(", ") || "none"}`), table);
  });
  $("pipelines").replaceChildren(...(blocks.length ? blocks : [el("p", { class: "muted" }, "no pipelines in this environment")]));
  if (!view.run) {
    const newest = data.pipelines.flatMap((p) => p.runs.map((r) => ({ p, r })));
    const pick = newest.find(({ r }) => r.outcome === "failed") || newest[0];
    if (pick) { view.run = `${pick.p.name}/${pick.r.release}`; renderLog(); }
  }
}

async function renderLog() {
  if (!view.run) return;
  const [name, release] = view.run.split("/");
  $("log-title").textContent = `Log of ${name} ${release}`;
  $("log").textContent = await get(`/api/pipelines/${encodeURIComponent(name)}/runs/${encodeURIComponent(release)}/log`, true);
}

async function renderSchedules() {
  const data = await get("/api/schedules");
  const rows = (data.schedules || []).map((s) => el("tr", {},
    el("td", {}, s.name), el("td", {}, s.cron ? `cron ${s.cron} ${s.tz}` : `every ${s.every}s`),
    el("td", {}, s.action), el("td", {}, s.servers || ""), el("td", {}, when((s.next[0] || {}).utc)),
    el("td", { class: s.last_run ? s.last_run.outcome : "" }, s.last_run ? `${s.last_run.outcome} (${when(s.last_run.due)})` : "never")));
  fill($("schedules").tBodies[0], rows, "no schedules", 6);
}

// Refreshes everything; a refresh asked for during one runs once after it.
async function refresh() {
  if (view.busy) { view.again = true; return; }
  view.busy = true;
  try {
    renderServers(await get("/api/servers"));
    await Promise.all([renderCharts(), renderAlerts(), renderPipelines(), renderSchedules()]);
    document.body.dataset.loaded = "yes";
  } catch (e) {
    $("status").textContent = `cannot reach ict watch: ${e.message}`;
  } finally {
    view.busy = false;
    if (view.again) { view.again = false; refresh(); }
  }
}

function start() {
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromLink) { sessionStorage.setItem("ict-token", fromLink); history.replaceState(null, "", location.pathname); }
  $("token").value = sessionStorage.getItem("ict-token") || "";
  $("token").addEventListener("change", () => sessionStorage.setItem("ict-token", token()));
  $("range").addEventListener("change", (e) => { view.range = e.target.value; renderCharts(); });
  refresh();
  const events = new EventSource("/api/events");
  events.onmessage = () => refresh();
}

start();
