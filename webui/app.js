// Clusterio master page: polls the JSON API (docs/webui.md) and renders it.
// Security rule: the DOM is built with createElement/textContent only. Every string here may
// come from a slave (instance names, item names, addresses), so none is ever parsed as HTML.
"use strict";

(function () {
  const POLL_MS = 2000;   // instances and storage
  const GRAPH_MS = 15000; // history graphs
  const PALETTE = ["#f0a030", "#4fc3f7", "#81c784", "#e57373", "#ba68c8", "#ffd54f", "#4db6ac", "#f06292", "#90a4ae", "#aed581"];

  // ---- small DOM helpers ------------------------------------------------------------------
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (k === "text") e.textContent = v;
        else if (k === "class") e.className = v;
        else if (k.startsWith("data-")) e.setAttribute(k, v);
        else e[k] = v;
      }
    }
    for (const c of children) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  const fmtInt = new Intl.NumberFormat("en-US");
  const fmt1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
  function ago(ms) {
    if (ms < 1000) return "just now";
    const s = Math.round(ms / 1000);
    if (s < 120) return s + " s ago";
    const m = Math.round(s / 60);
    return m < 120 ? m + " min ago" : Math.round(m / 60) + " h ago";
  }
  function color(i) { return PALETTE[i % PALETTE.length]; }

  async function getJson(url) {
    const res = await fetch(url, { cache: "no-store" });
    if (res.status === 401) throw Object.assign(new Error("sign in to see the cluster (below, under Control)"), { signIn: true });
    if (!res.ok) throw new Error(url + ": HTTP " + res.status);
    return res.json();
  }
  // /api/instances comes in pages (docs/webui.md): follow `next` and join them. Bounded, in
  // case a master sent a `next` that does not move on.
  const MAX_PAGES = 1000;
  async function getInstances() {
    const all = { slaves: [], instances: [] };
    let offset = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const data = await getJson("/api/instances?offset=" + offset);
      all.now_ms = data.now_ms;
      all.slaves.push(...data.slaves);
      all.instances.push(...data.instances);
      if (data.next === undefined || data.next <= offset) break;
      offset = data.next;
    }
    return all;
  }
  function setStatus(ok, text) {
    const s = document.getElementById("status");
    s.textContent = text;
    s.className = "status " + (ok ? "ok" : "error");
  }

  // ---- overview ---------------------------------------------------------------------------
  const cards = new Map(); // instance_id -> { root, fields, spark }
  let instanceNames = new Map(); // instance_id -> "name (slave)"

  function chartWidth(node) { return Math.max(200, node.clientWidth - 2); }

  function makeSpark(container) {
    if (typeof uPlot === "undefined") return null;
    return new uPlot({
      width: chartWidth(container), height: 50, class: "sparkline",
      legend: { show: false }, cursor: { show: false }, select: { show: false },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(60, max)] } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: "#f0a030", width: 1.5, fill: "rgba(240,160,48,0.15)" }],
    }, [[], []], container);
  }

  // "12 × modular-armor", with a badge for a quality other than normal.
  function itemEntry(count, name, quality) {
    const li = el("li", { "data-item": name, "data-quality": quality }, fmtInt.format(count) + " × " + name);
    if (quality !== "normal") li.appendChild(el("span", { class: "badge quality", text: quality }));
    return li;
  }

  // What the world keeps from the cluster: shown only when there is something (a slave from
  // before these reports sends none, which reads as nothing).
  function renderHeldBack(box, h) {
    clear(box);
    box.hidden = h.items_total === 0 && h.signals_not_shown === 0;
    if (h.items_total > 0) {
      box.appendChild(el("p", { class: "held-items", text: fmtInt.format(h.items_total) + " items held back in put-chests" }));
      const list = el("ul", { class: "held-list" });
      for (const it of h.items) list.appendChild(itemEntry(it.count, it.name, it.quality));
      const listed = h.items.reduce((n, it) => n + it.count, 0);
      if (listed < h.items_total) list.appendChild(el("li", { class: "muted", text: "and " + fmtInt.format(h.items_total - listed) + " more" }));
      box.appendChild(list);
    }
    if (h.signals_not_shown > 0)
      box.appendChild(el("p", { class: "signals-not-shown", text: fmtInt.format(h.signals_not_shown) + " signals not shown (no room in combinators)" }));
  }

  function renderCard(inst, now) {
    let c = cards.get(inst.instance_id);
    if (!c) {
      const f = {
        title: el("span"), badge: el("span", { class: "badge" }),
        ups: el("span", { class: "ups" }), state: el("dd"), players: el("dd", { class: "players" }),
        tick: el("dd", { class: "tick" }), address: el("span", { class: "address" }), seen: el("dd"), slave: el("dd"),
        mod: el("li", { class: "mod-step" }),
        held: el("div", { class: "held-back" }),
      };
      const sparkBox = el("div", { class: "sparkline" });
      const root = el("article", { class: "card instance", "data-instance-id": String(inst.instance_id) },
        el("h3", null, f.title, f.badge),
        el("div", null, f.ups, el("span", { class: "muted", text: " UPS" })),
        sparkBox,
        el("dl", null,
          el("dt", { text: "Slave" }), f.slave,
          el("dt", { text: "State" }), f.state,
          el("dt", { text: "Players" }), f.players,
          el("dt", { text: "Tick" }), f.tick,
          el("dt", { text: "Join" }), el("dd", null, el("ol", { class: "join" },
            f.mod,
            el("li", { text: "Put it in your Factorio mods folder" }),
            el("li", null, "Join ", f.address))),
          el("dt", { text: "Last heartbeat" }), f.seen),
        f.held);
      document.getElementById("instances").appendChild(root);
      c = { root, f, sparkBox, spark: null };
      cards.set(inst.instance_id, c);
      c.spark = makeSpark(sparkBox);
    }
    const f = c.f;
    f.title.textContent = inst.name;
    f.badge.textContent = inst.online ? "online" : "offline";
    f.badge.className = "badge " + (inst.online ? "online" : "offline");
    c.root.classList.toggle("offline", !inst.online); // its last UPS, greyed
    f.ups.textContent = fmt1.format(inst.ups);
    f.slave.textContent = inst.slave;
    f.state.textContent = inst.state || "unknown";
    f.players.textContent = fmtInt.format(inst.players);
    f.tick.textContent = fmtInt.format(inst.tick);
    f.address.textContent = inst.game_address || "—";
    renderModStep(f.mod);
    f.seen.textContent = inst.last_seen_ms ? ago(now - inst.last_seen_ms) : "never";
    renderHeldBack(f.held, inst.held_back);
    if (c.spark) {
      const xs = inst.recent_ups.map(p => p[0] / 1000), ys = inst.recent_ups.map(p => p[1]);
      c.spark.setData([xs, ys]);
    }
  }

  // The mod zip the master serves (/api/mod), which game clients need to join; null if none.
  let mod = null;
  function renderModStep(li) {
    clear(li);
    if (!mod) { li.textContent = "Get the clusterio mod of this cluster's slaves"; return; }
    li.appendChild(document.createTextNode("Download the mod: "));
    li.appendChild(el("a", { href: mod.url, download: mod.file, text: mod.file }));
  }

  function renderOverview(data) {
    const slaves = document.getElementById("slaves");
    clear(slaves);
    for (const s of data.slaves) {
      slaves.appendChild(el("span", { class: "slave", "data-slave": s.name },
        s.name, el("span", { class: "badge " + (s.online ? "online" : "offline"), text: s.online ? "online" : "offline" })));
    }
    const seen = new Set();
    instanceNames = new Map();
    for (const inst of data.instances) {
      seen.add(inst.instance_id);
      instanceNames.set(inst.instance_id, inst.name + " (" + inst.slave + ")");
      renderCard(inst, data.now_ms);
    }
    for (const [id, c] of cards) {
      if (!seen.has(id)) { if (c.spark) c.spark.destroy(); c.root.remove(); cards.delete(id); }
    }
    if (data.instances.length === 0 && !document.getElementById("no-instances")) {
      document.getElementById("instances").appendChild(el("p", { id: "no-instances", class: "muted", text: "No instances yet." }));
    } else if (data.instances.length > 0) {
      const p = document.getElementById("no-instances");
      if (p) p.remove();
    }
  }

  // ---- storage ----------------------------------------------------------------------------
  let storageItems = [];
  let sortKey = "name", sortAsc = true;
  const rows = new Map(); // rowKey(item) -> { tr, count, rate, last }

  // One row per item and quality: the API lists each quality of a name on its own.
  function rowKey(it) { return it.name + "\u0000" + it.quality; }
  // By name, then normal quality first, then the other qualities by name.
  function byName(a, b) {
    return a.name.localeCompare(b.name) || (a.quality !== "normal") - (b.quality !== "normal") || a.quality.localeCompare(b.quality);
  }

  function renderStorage() {
    const q = document.getElementById("search").value.trim().toLowerCase();
    const items = storageItems.filter(it => !q || it.name.toLowerCase().includes(q) || it.quality.toLowerCase().includes(q));
    const dir = sortAsc ? 1 : -1;
    items.sort((a, b) => {
      if (sortKey === "count") return dir * (a.count - b.count) || byName(a, b);
      if (sortKey === "rate") return dir * (a.rate_per_minute - b.rate_per_minute) || byName(a, b);
      return dir * byName(a, b);
    });
    const body = document.getElementById("storage-rows");
    const keep = new Set(items.map(rowKey));
    for (const [key, r] of rows) if (!keep.has(key)) { r.tr.remove(); rows.delete(key); }
    for (const it of items) {
      let r = rows.get(rowKey(it));
      if (!r) {
        const count = el("td", { class: "num count" }), rate = el("td", { class: "num rate" });
        // Normal quality is what an item is unless it says otherwise: only others get a badge.
        const name = el("td", { class: "name", text: it.name });
        if (it.quality !== "normal") name.appendChild(el("span", { class: "badge quality", text: it.quality }));
        const tr = el("tr", { class: "item", "data-item": it.name, "data-quality": it.quality }, name, count, rate);
        r = { tr, count, rate, last: null };
        rows.set(rowKey(it), r);
      }
      if (r.last !== null && r.last !== it.count) {
        r.count.classList.remove("changed");
        void r.count.offsetWidth; // restart the highlight animation
        r.count.classList.add("changed");
      }
      r.last = it.count;
      r.count.textContent = fmtInt.format(it.count);
      r.tr.setAttribute("data-count", String(it.count));
      const rate = it.rate_per_minute;
      r.rate.textContent = (rate > 0 ? "+" : "") + fmt1.format(rate);
      r.rate.className = "num rate " + (rate > 0 ? "up" : rate < 0 ? "down" : "");
      body.appendChild(r.tr); // appending in order also sorts
    }
    document.querySelectorAll("th button").forEach(b => {
      b.classList.toggle("sorted", b.dataset.sort === sortKey);
      b.classList.toggle("asc", b.dataset.sort === sortKey && sortAsc);
    });
  }

  function onStorage(data) {
    storageItems = data.items;
    const total = data.items.reduce((s, it) => s + it.count, 0);
    document.getElementById("storage-summary").textContent =
      fmtInt.format(data.items.length) + " kinds, " + fmtInt.format(total) + " units; " +
      fmtInt.format(data.reservations) + " reservations holding " + fmtInt.format(data.reserved_units) +
      " units; change over the last " + data.rate_minutes + " min" + (data.failed ? "; STORAGE FAILED: " + data.failure : "");
    renderStorage();
  }

  // ---- graphs (uPlot) ---------------------------------------------------------------------
  const charts = {}; // id -> { plot, key }

  function drawChart(id, labels, xs, ys, yLabel, hasData) {
    const box = document.getElementById(id);
    if (typeof uPlot === "undefined") { box.textContent = "chart library missing (run scripts/setup)"; return; }
    if (!hasData) {
      if (charts[id]) { charts[id].plot.destroy(); delete charts[id]; }
      clear(box);
      box.appendChild(el("p", { class: "empty muted", text: "No data yet in this range." }));
      return;
    }
    const key = labels.join("\u0000");
    const data = [xs, ...ys];
    let c = charts[id];
    if (!c || c.key !== key) {
      if (c) c.plot.destroy();
      clear(box);
      const series = [{}].concat(labels.map((l, i) => ({ label: l, stroke: color(i), width: 1.5 })));
      const plot = new uPlot({
        width: chartWidth(box), height: 220, series,
        axes: [{ stroke: "#9aa0a6", grid: { stroke: "#30363d" } }, { stroke: "#9aa0a6", grid: { stroke: "#30363d" }, label: yLabel }],
        scales: { x: { time: true } },
      }, data, box);
      c = charts[id] = { plot, key };
    } else {
      c.plot.setData(data);
    }
  }

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

  async function refreshGraphs() {
    const range = Number(document.getElementById("range").value);
    const item = document.getElementById("graph-item").value.trim();
    const qs = "minutes=" + range + (item ? "&item=" + encodeURIComponent(item) : "");
    try {
      const [stats, ups] = await Promise.all([getJson("/api/stats?" + qs), getJson("/api/ups?minutes=" + range)]);
      const name = id => instanceNames.get(id) || ("instance " + id);
      const b = stats.bucket_minutes;
      const ex = pivot(stats.points, b, "exported", range, stats.now_ms);
      const im = pivot(stats.points, b, "imported", range, stats.now_ms);
      const sum = rs => ex.xs.map((_, i) => rs.reduce((s, r) => s + (r[i] || 0), 0));
      drawChart("chart-total", ["exported", "imported"], ex.xs, [sum(ex.rows), sum(im.rows)], "units / min", stats.points.length > 0);
      drawChart("chart-exports", ex.ids.map(name), ex.xs, ex.rows, "units / min", ex.ids.length > 0);
      drawChart("chart-imports", im.ids.map(name), im.xs, im.rows, "units / min", im.ids.length > 0);
      const bu = range <= 2880 ? 1 : 60;
      const u = pivot(ups.points, bu, "ups", range, ups.now_ms);
      drawChart("chart-ups", u.ids.map(name), u.xs, u.rows, "UPS", u.ids.length > 0);
    } catch (e) {
      setStatus(false, "graphs: " + e.message);
    }
  }

  // ---- polling ----------------------------------------------------------------------------
  async function refresh() {
    try {
      const [inst, stor] = await Promise.all([getInstances(), getJson("/api/storage")]);
      renderOverview(inst);
      onStorage(stor);
      const online = inst.instances.filter(i => i.online).length;
      setStatus(true, online + " of " + inst.instances.length + " instances online · updated " + new Date().toLocaleTimeString());
    } catch (e) {
      setStatus(false, e.signIn ? e.message : "cannot reach the master: " + e.message);
    }
  }

  document.getElementById("search").addEventListener("input", renderStorage);
  document.querySelectorAll("th button").forEach(b => b.addEventListener("click", () => {
    if (sortKey === b.dataset.sort) sortAsc = !sortAsc;
    else { sortKey = b.dataset.sort; sortAsc = sortKey === "name"; }
    renderStorage();
  }));
  document.getElementById("range").addEventListener("change", refreshGraphs);
  document.getElementById("graph-item").addEventListener("change", refreshGraphs);
  window.addEventListener("resize", () => {
    for (const c of Object.values(charts)) c.plot.setSize({ width: chartWidth(c.plot.root.parentNode), height: 220 });
    for (const c of cards.values()) if (c.spark) c.spark.setSize({ width: chartWidth(c.sparkBox), height: 50 });
  });

  // A master without a mod zip answers 404: the page then says only what to get.
  getJson("/api/mod").then(m => { mod = m; }, () => { mod = null; }).finally(() => refresh().then(refreshGraphs));
  setInterval(refresh, POLL_MS);
  setInterval(refreshGraphs, GRAPH_MS);
})();
