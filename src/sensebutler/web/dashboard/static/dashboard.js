// The dashboard page: fetches its data once, then follows the server-sent events of /live/<page>.
"use strict";
(function () {
  const main = document.getElementById("page");
  const page = main.dataset.page;
  const prefix = main.dataset.prefix;
  const rangeSelect = document.getElementById("range");
  const charts = new Map();
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  const CHART_HEIGHT = 180;
  let source = null;
  let search = "";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  function card(title, ...content) { return el("section", { class: "card" }, el("h2", {}, title), ...content); }
  // tables of messages take a whole row of the grid
  function wideCard(title, ...content) { const c = card(title, ...content); c.classList.add("wide"); return c; }
  function when(seconds) { return new Date(seconds * 1000).toLocaleString(); }
  // in tables: the time alone for today, else date and time
  function shortWhen(seconds) {
    const d = new Date(seconds * 1000);
    return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
  }
  function table(headers, rows) {
    if (!rows || rows.length === 0) return el("p", { class: "empty" }, "Nothing in this time range.");
    const head = el("tr", {}, ...headers.map((h) => el("th", {}, h)));
    const body = rows.map((r) => el("tr", {}, ...r.map((c) => el("td", typeof c === "number" ? { class: "num" } : {}, c === null ? "" : c))));
    return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
  }
  function entryRows(entries, withDetail) {
    return (entries || []).map((e) => [shortWhen(e.ts / 1e9), e.host, e.level, e.source, e.name, withDetail ? e.detail : ""]);
  }

  // one point in time alone would stretch the time axis over years: show the minutes around it
  function fitTime(plot, times) {
    if (times.length === 1) plot.setScale("x", { min: times[0] - 300, max: times[0] + 60 });
  }

  // one uPlot chart per {title, unit, series}; the same chart gets new data on every update
  function chartCard(spec) {
    const labels = Object.keys(spec.series);
    const box = el("div", { class: "chart", "data-title": spec.title, "data-points": "0" });
    const section = card(spec.title + (spec.unit ? " (" + spec.unit + ")" : ""), box);
    if (labels.length === 0) { section.append(el("p", { class: "empty" }, "No data in this time range.")); return section; }
    const times = [...new Set(labels.flatMap((l) => spec.series[l].map((p) => p[0])))].sort((a, b) => a - b);
    const data = [times, ...labels.map((l) => { const m = new Map(spec.series[l]); return times.map((t) => (m.has(t) ? m.get(t) : null)); })];
    box.dataset.points = String(labels.reduce((n, l) => n + spec.series[l].length, 0));
    const key = spec.title + "|" + labels.join(",");
    const old = charts.get(spec.title);
    if (old && old.key === key) { old.plot.setData(data); fitTime(old.plot, times); return old.section; }
    const opts = {
      width: 400, height: CHART_HEIGHT, spanGaps: true,
      series: [{}, ...labels.map((l, i) => ({ label: l, stroke: palette[i % palette.length], width: 1.5 }))],
      axes: [{}, { size: 60 }],
    };
    const plot = new uPlot(opts, data, box);
    fitTime(plot, times);
    charts.set(spec.title, { key, plot, section, box });
    return section;
  }

  function unavailable(d) {
    if (!d.unavailable || d.unavailable.length === 0) return [];
    return [card("Not available from InfluxDB", el("ul", {}, ...d.unavailable.map((i) => el("li", {}, i))),
      el("p", {}, "The embedded store is off; these pages read InfluxDB, which does not hold this."))];
  }
  function notCollected(items) {
    return card("Not collected yet", el("ul", {}, ...items.map((i) => el("li", {}, i + ": sensebutler does not collect this yet."))));
  }

  // alerts that reached a receiver sensebutler runs (the demo's mail catcher and webhook receiver)
  function alertsCard(alerts) {
    if (!alerts || alerts.length === 0) return notCollected(["which alerts went out and to where"]);
    const rows = alerts.map((e) => [shortWhen(e.ts / 1e9), e.level, e.source, e.name, el("pre", {}, e.detail)]);
    return wideCard("Alerts received by the demo's mail catcher and webhook receiver", table(["Time", "Channel", "To", "Subject", "Message"], rows));
  }

  const renderers = {
    site(d) {
      const nodes = Object.entries(d.nodes || {}).map(([n, cpu]) => [n, Math.round(cpu * 10) / 10]);
      return [card("Nodes now (CPU %)", table(["Node", "CPU"], nodes)), ...d.charts.map(chartCard)];
    },
    users(d) {
      return [card("Active sessions now, per virtual proxy", table(["Virtual proxy", "Sessions"], d.now)), ...d.charts.map(chartCard),
        card("Top apps (connections)", table(["App", "Events"], d.top_apps)),
        card("Browsers", table(["Browser", "Events"], d.browsers)), card("Operating systems", table(["OS", "Events"], d.os))];
    },
    logs(d) {
      return [...d.charts.map(chartCard), card("Categories", table(["Category", "Events"], d.categories.map(([c, n]) => [c === "-" ? "(no category)" : c, n]))),
        wideCard("Latest messages", table(["Time", "Node", "Level", "Service", "Subsystem", "Message"], entryRows(d.latest, true))),
        card("QIX: slowest objects and methods", table(["Object / method", "Requests", "Slowest (ms)"], d.slowest)),
        card("QIX: most requested", table(["Object / method", "Requests", "Slowest (ms)"], d.busiest))];
    },
    reloads(d) {
      const failures = (d.failures || []).map((e) => [shortWhen(e.ts / 1e9), e.name, e.level, el("pre", { class: "tail" }, e.detail || "(no script log)")]);
      return [...d.charts.map(chartCard),
        wideCard("Recent task results", table(["Time", "Node", "Result", "", "Task", "Message"], entryRows(d.recent, true))),
        wideCard("Failed reloads with the script log tail", table(["Time", "Task", "Result", "Script log"], failures)),
        alertsCard(d.alerts)];
    },
    services(d) {
      const changes = (d.changes || []).map((e) => [shortWhen(e.ts / 1e9), e.host, e.name, e.source, e.level]);
      const restarts = (d.restarts || []).map((e) => [shortWhen(e.ts / 1e9), e.host, e.level, e.detail]);
      const expiry = d.days_to_expiry === null ? "not known (no licence check in this time range)" : d.days_to_expiry + " days";
      return [card("Services now", table(["Node / service", "State"], d.states)),
        card("Server licence", el("p", {}, "Expires in " + expiry)), ...d.charts.map(chartCard),
        wideCard("Service state changes", table(["Time", "Node", "Service", "From", "To"], changes)),
        wideCard("Restarts", table(["Time", "Host", "What", ""], restarts)),
        wideCard("Poll failures", table(["Time", "Node", "Category", "Target", "", "Message"], entryRows(d.poll_failures, true)))];
    },
    api(d) {
      const off = (d.off || []).length ? [card("Off", el("ul", {}, ...d.off.map((i) => el("li", {}, i + " is off in the configuration."))))] : [];
      const namespaces = d.namespaces ? [wideCard("Key-value namespaces (values are not shown)", table(["Namespace", "Keys", "Keys (first 20)"], d.namespaces))] : [];
      const schedules = d.schedules ? [wideCard("Schedules", table(["Name", "Cron", "Time zone", "State", "Next run (UTC)", "Task id"], d.schedules)),
        wideCard("Recent scheduled runs", table(["Scheduled for (UTC)", "Schedule", "Outcome", "Detail"], d.runs))] : [];
      return [...namespaces, ...schedules, ...off];
    },
    pipeline(d) {
      const title = d.source === "influxdb" ? "InfluxDB" : "Store";
      return [card(title, table(["Rows or bytes", "Count"], Object.entries(d.store))), ...d.charts.map(chartCard)];
    },
  };

  function render(data) {
    const grid = el("div", { class: "grid" }, ...renderers[page](data), ...unavailable(data));
    const status = el("p", { id: "status" }, "Updated " + new Date().toLocaleTimeString() + " · " + when(data.since) + " – " + when(data.until));
    const tools = page === "logs" || page === "reloads" || page === "services" || page === "api"
      ? [searchBox()] : [];
    main.replaceChildren(status, ...tools, grid);
    fitCharts();
    // a script log's tail is where it says what went wrong
    for (const pre of grid.querySelectorAll("pre.tail")) pre.scrollTop = pre.scrollHeight;
  }
  // charts take the width of their card (known once it is on the page)
  function fitCharts() {
    for (const { plot, box } of charts.values()) {
      if (box.isConnected && box.clientWidth > 0 && plot.width !== box.clientWidth) {
        plot.setSize({ width: box.clientWidth, height: CHART_HEIGHT });
      }
    }
  }
  window.addEventListener("resize", fitCharts);
  let searchInput = null;
  function searchBox() {
    if (!searchInput) {
      searchInput = el("input", { id: "search", type: "search", placeholder: "Search messages" });
      searchInput.value = search;
      searchInput.addEventListener("change", () => { search = searchInput.value; connect(); });
    }
    return searchInput;
  }

  function query() { return "range=" + encodeURIComponent(rangeSelect.value) + "&q=" + encodeURIComponent(search); }
  function connect() {
    if (source) source.close();
    charts.clear();
    source = new EventSource(prefix + "/live/" + page + "?" + query());
    source.onmessage = (msg) => render(JSON.parse(msg.data));
    source.addEventListener("failed", (msg) => { document.getElementById("status").textContent = "Reading the data failed: " + JSON.parse(msg.data); });
  }
  rangeSelect.addEventListener("change", connect);
  if (typeof uPlot === "undefined") {
    main.replaceChildren(el("p", { class: "error" }, "The chart library is missing: run `make web-assets`."));
  } else {
    connect();
  }
})();
