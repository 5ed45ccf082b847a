// Clusterio master page: polls the JSON API (docs/webui.md) and renders the cluster — slaves and
// instance cards, storage, history graphs — with the control panel (control.js) between them.
// Built on Preact with htm (from npm, no build step). Every string here may come from a slave
// (instance names, item names, addresses): Preact renders each as text, never as HTML.
import { html, render, useState, useEffect, useRef, useMemo } from "/vendor/htm-preact.module.js";
import { api } from "/api.js";
import { Control } from "/control.js";

const POLL_MS = 2000;   // instances and storage
const GRAPH_MS = 15000; // history graphs
const MAX_PAGES = 1000; // pages of /api/instances followed at most, in case `next` never moves on
const PALETTE = ["#f0a030", "#4fc3f7", "#81c784", "#e57373", "#ba68c8", "#ffd54f", "#4db6ac", "#f06292", "#90a4ae", "#aed581"];
const RANGES = [[60, "1 hour"], [360, "6 hours"], [1440, "24 hours"], [10080, "7 days"]];

const fmtInt = new Intl.NumberFormat("en-US");
const fmt1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const get = url => api("GET", url);

function ago(ms) {
  if (ms < 1000) return "just now";
  const s = Math.round(ms / 1000);
  if (s < 120) return s + " s ago";
  const m = Math.round(s / 60);
  return m < 120 ? m + " min ago" : Math.round(m / 60) + " h ago";
}

/// /api/instances comes in pages: follow `next` and join them.
async function getInstances() {
  const all = { slaves: [], instances: [] };
  let offset = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const data = await get("/api/instances?offset=" + offset);
    all.now_ms = data.now_ms;
    all.slaves.push(...data.slaves);
    all.instances.push(...data.instances);
    if (data.next === undefined || data.next <= offset) break;
    offset = data.next;
  }
  return all;
}

// ---- charts (uPlot, loaded as a global by index.html) ---------------------------------------
function chartWidth(node) { return Math.max(200, node.clientWidth - 2); }

/// A uPlot chart in `box` (a ref), made by `make(width)` and remade when `key` changes (the
/// series differ), otherwise given the new data; resized with the window, destroyed with the box.
function usePlot(box, make, key, data, height) {
  const plot = useRef(null);
  useEffect(() => {
    if (typeof uPlot === "undefined" || data === null) {
      if (plot.current) { plot.current.u.destroy(); plot.current = null; }
      return;
    }
    if (!plot.current || plot.current.key !== key) {
      if (plot.current) plot.current.u.destroy();
      plot.current = { u: make(chartWidth(box.current), data), key, data };
    } else if (data.length !== plot.current.data.length || data.some((d, i) => d !== plot.current.data[i])) {
      plot.current.u.setData(data);
    }
    plot.current.data = data;
  });
  useEffect(() => {
    const resize = () => plot.current && plot.current.u.setSize({ width: chartWidth(box.current), height });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      if (plot.current) plot.current.u.destroy();
    };
  }, []);
}

/// A card's UPS over the last minutes.
function Sparkline({ points }) {
  const box = useRef(null);
  const make = (width, data) => new uPlot({
    width, height: 50, class: "sparkline",
    legend: { show: false }, cursor: { show: false }, select: { show: false },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(60, max)] } },
    axes: [{ show: false }, { show: false }],
    series: [{}, { stroke: "#f0a030", width: 1.5, fill: "rgba(240,160,48,0.15)" }],
  }, data, box.current);
  usePlot(box, make, "ups", [points.map(p => p[0] / 1000), points.map(p => p[1])], 50);
  return html`<div class="sparkline" ref=${box}></div>`;
}

/// A history graph: one series per label, or "No data yet" when the range holds none.
function Chart({ id, labels, xs, ys, yLabel, hasData }) {
  const box = useRef(null);
  const make = (width, data) => new uPlot({
    width, height: 220,
    series: [{}].concat(labels.map((l, i) => ({ label: l, stroke: PALETTE[i % PALETTE.length], width: 1.5 }))),
    axes: [{ stroke: "#9aa0a6", grid: { stroke: "#30363d" } }, { stroke: "#9aa0a6", grid: { stroke: "#30363d" }, label: yLabel }],
    scales: { x: { time: true } },
  }, data, box.current);
  usePlot(box, make, labels.join("\u0000"), hasData ? [xs, ...ys] : null, 220);
  if (typeof uPlot === "undefined") return html`<div id=${id} class="chart">chart library missing (run scripts/setup)</div>`;
  return html`<div id=${id} class="chart" ref=${box}>${!hasData && html`<p class="empty muted">No data yet in this range.</p>`}</div>`;
}

// ---- slaves and instances -------------------------------------------------------------------
/// "12 × modular-armor", with a badge for a quality other than normal.
function ItemEntry({ it }) {
  return html`<li data-item=${it.name} data-quality=${it.quality}>${fmtInt.format(it.count)} × ${it.name}${
    it.quality !== "normal" && html`<span class="badge quality">${it.quality}</span>`}</li>`;
}

/// What the world keeps from the cluster: shown only when there is something (a slave from
/// before these reports sends none, which reads as nothing).
function HeldBack({ h }) {
  const listed = h.items.reduce((n, it) => n + it.count, 0);
  return html`<div class="held-back" hidden=${h.items_total === 0 && h.signals_not_shown === 0}>
    ${h.items_total > 0 && html`<p class="held-items">${fmtInt.format(h.items_total)} items held back in put-chests</p>`}
    ${h.items_total > 0 && html`<ul class="held-list">
      ${h.items.map(it => html`<${ItemEntry} key=${it.name + "\u0000" + it.quality} it=${it} />`)}
      ${listed < h.items_total && html`<li class="muted">and ${fmtInt.format(h.items_total - listed)} more</li>`}
    </ul>`}
    ${h.signals_not_shown > 0 && html`<p class="signals-not-shown">${fmtInt.format(h.signals_not_shown)} signals not shown (no room in combinators)</p>`}
  </div>`;
}

/// The mod zip the master serves (/api/mod), which game clients need to join; null if none.
function ModStep({ mod }) {
  return html`<li class="mod-step">${mod
    ? html`Download the mod: <a href=${mod.url} download=${mod.file}>${mod.file}</a>`
    : "Get the clusterio mod of this cluster's slaves"}</li>`;
}

function InstanceCard({ inst, now, mod }) {
  const state = inst.online ? "online" : "offline";
  // An offline card keeps its last UPS, greyed.
  return html`<article class=${"card instance" + (inst.online ? "" : " offline")} data-instance-id=${String(inst.instance_id)}>
    <h3><span>${inst.name}</span><span class=${"badge " + state}>${state}</span></h3>
    <div><span class="ups">${fmt1.format(inst.ups)}</span><span class="muted"> UPS</span></div>
    <${Sparkline} points=${inst.recent_ups} />
    <dl>
      <dt>Slave</dt><dd>${inst.slave}</dd>
      <dt>State</dt><dd>${inst.state || "unknown"}</dd>
      <dt>Players</dt><dd class="players">${fmtInt.format(inst.players)}</dd>
      <dt>Tick</dt><dd class="tick">${fmtInt.format(inst.tick)}</dd>
      <dt>Join</dt><dd><ol class="join">
        <${ModStep} mod=${mod} />
        <li>Put it in your Factorio mods folder</li>
        <li>Join <span class="address">${inst.game_address || "—"}</span></li>
      </ol></dd>
      <dt>Last heartbeat</dt><dd>${inst.last_seen_ms ? ago(now - inst.last_seen_ms) : "never"}</dd>
    </dl>
    <${HeldBack} h=${inst.held_back} />
  </article>`;
}

function Overview({ data, mod }) {
  if (!data) return null;
  return html`<div id="slaves" class="slaves">
      ${data.slaves.map(s => html`<span key=${s.name} class="slave" data-slave=${s.name}>${s.name}<span
        class=${"badge " + (s.online ? "online" : "offline")}>${s.online ? "online" : "offline"}</span></span>`)}
    </div>
    <div id="instances" class="cards">
      ${data.instances.map(inst => html`<${InstanceCard} key=${inst.instance_id} inst=${inst} now=${data.now_ms} mod=${mod} />`)}
      ${data.instances.length === 0 && html`<p id="no-instances" class="muted">No instances yet.</p>`}
    </div>`;
}

// ---- storage --------------------------------------------------------------------------------
/// By name, then normal quality first, then the other qualities by name.
function byName(a, b) {
  return a.name.localeCompare(b.name) || (a.quality !== "normal") - (b.quality !== "normal") || a.quality.localeCompare(b.quality);
}

/// A count that flashes when it changes.
function CountCell({ count }) {
  const cell = useRef(null), last = useRef(count);
  useEffect(() => {
    if (last.current === count) return;
    last.current = count;
    cell.current.classList.remove("changed");
    void cell.current.offsetWidth; // restart the highlight animation
    cell.current.classList.add("changed");
  }, [count]);
  return html`<td class="num count" ref=${cell}>${fmtInt.format(count)}</td>`;
}

/// One row per item and quality: the API lists each quality of a name on its own. Normal quality
/// is what an item is unless it says otherwise: only others get a badge.
function StorageRow({ it }) {
  const rate = it.rate_per_minute;
  return html`<tr class="item" data-item=${it.name} data-quality=${it.quality} data-count=${String(it.count)}>
    <td class="name">${it.name}${it.quality !== "normal" && html`<span class="badge quality">${it.quality}</span>`}</td>
    <${CountCell} count=${it.count} />
    <td class=${"num rate " + (rate > 0 ? "up" : rate < 0 ? "down" : "")}>${(rate > 0 ? "+" : "") + fmt1.format(rate)}</td>
  </tr>`;
}

function Storage({ data }) {
  const [query, setQuery] = useState("");
  const [sort, setSort] = useState({ key: "name", asc: true });
  const items = data ? data.items : [];
  const q = query.trim().toLowerCase();
  const shown = items.filter(it => !q || it.name.toLowerCase().includes(q) || it.quality.toLowerCase().includes(q));
  const dir = sort.asc ? 1 : -1;
  shown.sort((a, b) => {
    if (sort.key === "count") return dir * (a.count - b.count) || byName(a, b);
    if (sort.key === "rate") return dir * (a.rate_per_minute - b.rate_per_minute) || byName(a, b);
    return dir * byName(a, b);
  });
  const sortBy = key => setSort(s => s.key === key ? { key, asc: !s.asc } : { key, asc: key === "name" });
  const header = (key, label, cls) => html`<th class=${cls}><button type="button" data-sort=${key}
    class=${sort.key === key ? (sort.asc ? "sorted asc" : "sorted") : ""} onClick=${() => sortBy(key)}>${label}</button></th>`;
  const total = items.reduce((s, it) => s + it.count, 0);
  return html`<div class="toolbar">
      <input id="search" type="search" placeholder="Search items and fluids" aria-label="Search items and fluids"
        value=${query} onInput=${e => setQuery(e.target.value)} />
      <span id="storage-summary" class="muted">${data && (fmtInt.format(items.length) + " kinds, " + fmtInt.format(total) + " units; " +
        fmtInt.format(data.reservations) + " reservations holding " + fmtInt.format(data.reserved_units) + " units; change over the last " +
        data.rate_minutes + " min" + (data.failed ? "; STORAGE FAILED: " + data.failure : ""))}</span>
    </div>
    <div class="table-wrap">
      <table id="storage">
        <thead><tr>${header("name", "Name")}${header("count", "Count", "num")}${header("rate", "Change / min", "num")}</tr></thead>
        <tbody id="storage-rows">${shown.map(it => html`<${StorageRow} key=${it.name + "\u0000" + it.quality} it=${it} />`)}</tbody>
      </table>
    </div>`;
}

// ---- history --------------------------------------------------------------------------------
/// Points (minute, instance_id, value...) -> x axis (seconds) and one row per instance.
function pivot(points, bucket, field, range, nowMs) {
  const ids = [...new Set(points.map(p => p.instance_id))].sort((a, b) => a - b);
  const end = Math.floor(nowMs / 60000);
  const start = end - range + 1;
  const first = start - (start % bucket);
  const xs = [];
  for (let m = first; m <= end; m += bucket) xs.push(m * 60);
  const index = new Map(xs.map((x, i) => [x / 60, i]));
  const rowsById = new Map(ids.map(id => [id, xs.map(() => null)]));
  for (const p of points) {
    const i = index.get(p.minute);
    if (i === undefined) continue;
    rowsById.get(p.instance_id)[i] = p[field] / (field === "ups" ? 1 : bucket);
  }
  return { ids, xs, rows: ids.map(id => rowsById.get(id)) };
}

function History({ names, onError }) {
  const [range, setRange] = useState(60);
  const [item, setItem] = useState("");
  const [data, setData] = useState(null);
  useEffect(() => {
    const load = () => Promise.all([
      get("/api/stats?minutes=" + range + (item ? "&item=" + encodeURIComponent(item) : "")),
      get("/api/ups?minutes=" + range),
    ]).then(([stats, ups]) => setData({ stats, ups, range }), e => onError("graphs: " + e.message));
    load();
    const t = setInterval(load, GRAPH_MS);
    return () => clearInterval(t);
  }, [range, item]);
  const toolbar = html`<div class="toolbar">
    <label>Range <select id="range" value=${range} onChange=${e => setRange(Number(e.target.value))}>
      ${RANGES.map(([minutes, label]) => html`<option value=${minutes}>${label}</option>`)}
    </select></label>
    <label>Item <input id="graph-item" type="search" placeholder="all items" aria-label="Item to graph"
      onChange=${e => setItem(e.target.value.trim())} /></label>
  </div>`;
  // Pivoted once per answer, so a chart is given new data only when there is some.
  const series = useMemo(() => {
    if (!data) return null;
    const { stats, ups } = data;
    const ex = pivot(stats.points, stats.bucket_minutes, "exported", data.range, stats.now_ms);
    const im = pivot(stats.points, stats.bucket_minutes, "imported", data.range, stats.now_ms);
    const sum = rs => ex.xs.map((_, i) => rs.reduce((s, r) => s + (r[i] || 0), 0));
    const u = pivot(ups.points, data.range <= 2880 ? 1 : 60, "ups", data.range, ups.now_ms);
    return { ex, im, u, total: [sum(ex.rows), sum(im.rows)], any: stats.points.length > 0 };
  }, [data]);
  if (!series) return toolbar;
  const name = id => names.get(id) || ("instance " + id);
  const { ex, im, u } = series;
  return html`${toolbar}
    <h3>Exports and imports per minute, all instances</h3>
    <${Chart} id="chart-total" labels=${["exported", "imported"]} xs=${ex.xs} ys=${series.total} yLabel="units / min" hasData=${series.any} />
    <h3>Exports per minute, per instance</h3>
    <${Chart} id="chart-exports" labels=${ex.ids.map(name)} xs=${ex.xs} ys=${ex.rows} yLabel="units / min" hasData=${ex.ids.length > 0} />
    <h3>Imports per minute, per instance</h3>
    <${Chart} id="chart-imports" labels=${im.ids.map(name)} xs=${im.xs} ys=${im.rows} yLabel="units / min" hasData=${im.ids.length > 0} />
    <h3>UPS per instance</h3>
    <${Chart} id="chart-ups" labels=${u.ids.map(name)} xs=${u.xs} ys=${u.rows} yLabel="UPS" hasData=${u.ids.length > 0} />`;
}

// ---- the page -------------------------------------------------------------------------------
function Page() {
  const [mod, setMod] = useState(null); // a master without a mod zip answers 404: the page then says only what to get
  const [overview, setOverview] = useState(null);
  const [storage, setStorage] = useState(null);
  const [status, setStatus] = useState({ ok: true, text: "loading…" });
  useEffect(() => { get("/api/mod").then(setMod, () => setMod(null)); }, []);
  useEffect(() => {
    const refresh = () => Promise.all([getInstances(), get("/api/storage")]).then(([inst, stor]) => {
      setOverview(inst);
      setStorage(stor);
      const online = inst.instances.filter(i => i.online).length;
      setStatus({ ok: true, text: online + " of " + inst.instances.length + " instances online · updated " + new Date().toLocaleTimeString() });
    }, e => setStatus({ ok: false, text: e.status === 401 ? "sign in to see the cluster (below, under Control)" : "cannot reach the master: " + e.message }));
    refresh();
    const t = setInterval(refresh, POLL_MS);
    return () => clearInterval(t);
  }, []);
  const names = new Map((overview ? overview.instances : []).map(i => [i.instance_id, i.name + " (" + i.slave + ")"]));
  return html`<header>
      <h1>Clusterio</h1>
      <span id="status" class=${"status " + (status.ok ? "ok" : "error")} role="status">${status.text}</span>
    </header>
    <main>
      <section id="overview-section" aria-labelledby="overview-title">
        <h2 id="overview-title">Slaves and instances</h2>
        <${Overview} data=${overview} mod=${mod} />
      </section>
      <section id="control-section" aria-labelledby="control-title">
        <h2 id="control-title">Control</h2>
        <div id="control"><${Control} /></div>
      </section>
      <section id="storage-section" aria-labelledby="storage-title">
        <h2 id="storage-title">Storage</h2>
        <${Storage} data=${storage} />
      </section>
      <section id="graphs-section" aria-labelledby="graphs-title">
        <h2 id="graphs-title">History</h2>
        <${History} names=${names} onError=${text => setStatus({ ok: false, text })} />
      </section>
    </main>
    <footer class="muted">Data refreshes every 2 seconds; graphs every 15 seconds. Sign in to run instances.</footer>`;
}

render(html`<${Page} />`, document.getElementById("page"));
