/* The report builder: keeps a PivotSpec in `spec`, renders the field lists and drop zones, and asks the server to
   run it (POST /reports/run/ → table partial + chart data) whenever it changes. Keyboard users use the ⊕ buttons
   instead of dragging; table cells are focusable and open the drill-down with Enter. */
(function () {
  "use strict";
  const root = document.getElementById("rp-builder");
  if (!root) return;
  const catalog = JSON.parse(document.getElementById("rp-catalog").textContent);
  const t = JSON.parse(document.getElementById("rp-i18n").textContent);
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  let spec = JSON.parse(document.getElementById("rp-spec").textContent);
  const filterLabels = {};
  let chartKind = root.dataset.chart || "bar";
  let timer = null;
  let seq = 0;

  const $ = (id) => document.getElementById(id);
  const fact = () => catalog.facts.find((f) => f.id === spec.fact) || catalog.facts[0];
  const dimById = (id) => fact().dimensions.find((d) => d.id === id);
  const el = (tag, attrs, ...kids) => {
    const n = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "class") n.className = v; else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v);
    });
    kids.flat().forEach((k) => n.append(k instanceof Node ? k : document.createTextNode(k)));
    return n;
  };

  function clean() {
    const f = fact();
    spec.fact = f.id;
    const mIds = new Set(f.measures.map((m) => m.id));
    const dIds = new Set(f.dimensions.map((d) => d.id));
    spec.measures = (spec.measures || []).filter((m) => mIds.has(m));
    if (!spec.measures.length && f.measures.length) spec.measures = [f.measures[0].id];
    spec.rows = (spec.rows || []).filter((d) => dIds.has(d));
    spec.columns = (spec.columns || []).filter((d) => dIds.has(d) && !spec.rows.includes(d));
    spec.filters = (spec.filters || []).filter((x) => dIds.has(x.dimension));
    if (spec.sort && spec.sort.by !== "label" && !spec.measures.includes(spec.sort.by)) delete spec.sort;
    if (spec.top_n) {
      const first = spec.rows[0];
      if (!first || !spec.measures.length) delete spec.top_n;
      else spec.top_n = Object.assign(spec.top_n, {dimension: first, by: spec.measures.includes(spec.top_n.by) ? spec.top_n.by : spec.measures[0]});
    }
  }

  function place(id, zone) {
    spec.rows = spec.rows.filter((d) => d !== id);
    spec.columns = spec.columns.filter((d) => d !== id);
    spec[zone].push(id);
    changed();
  }

  function renderFields() {
    const f = fact();
    $("rp-fact").value = f.id;
    const ml = $("rp-measures");
    ml.replaceChildren(...f.measures.map((m) => {
      const id = "rp-m-" + m.id;
      const box = el("input", {class: "form-check-input", type: "checkbox", id: id, value: m.id});
      box.checked = spec.measures.includes(m.id);
      box.addEventListener("change", () => {
        spec.measures = box.checked ? [...spec.measures, m.id] : spec.measures.filter((x) => x !== m.id);
        changed();
      });
      return el("div", {class: "form-check", title: m.description || ""}, box, el("label", {class: "form-check-label small", for: id}, m.label));
    }));
    const q = ($("rp-dim-search").value || "").toLowerCase();
    const dl = $("rp-dimensions");
    const kids = [];
    let group = null;
    f.dimensions.forEach((d) => {
      if (q && !d.label.toLowerCase().includes(q)) return;
      if (d.group !== group) { group = d.group; kids.push(el("div", {class: "rp-dim-group"}, group || "")); }
      const placed = spec.rows.includes(d.id) || spec.columns.includes(d.id);
      const chip = el("span", {class: "rp-chip" + (placed ? " rp-placed" : ""), draggable: "true", "data-dim": d.id,
        title: d.snapshot ? d.label : d.label + " (" + t.snapshotOnly + ")"}, d.label);
      chip.addEventListener("dragstart", (e) => e.dataTransfer.setData("text/plain", d.id));
      kids.push(el("div", {class: "rp-dim-item"}, chip,
        el("button", {type: "button", class: "btn btn-link btn-sm p-0 me-1", title: t.toRows, "aria-label": t.toRows + ": " + d.label,
          "data-add-rows": d.id, onclick: () => place(d.id, "rows")}, el("i", {class: "bi bi-arrow-down-square"})),
        el("button", {type: "button", class: "btn btn-link btn-sm p-0", title: t.toColumns, "aria-label": t.toColumns + ": " + d.label,
          "data-add-columns": d.id, onclick: () => place(d.id, "columns")}, el("i", {class: "bi bi-arrow-right-square"}))));
    });
    dl.replaceChildren(...kids);
  }

  function renderZones() {
    ["rows", "columns"].forEach((zone) => {
      const box = $("rp-" + zone);
      const chips = spec[zone].map((id, i) => {
        const d = dimById(id);
        const chip = el("span", {class: "rp-chip rp-placed", draggable: "true", "data-dim": id},
          d ? d.label : id,
          i > 0 ? el("button", {type: "button", title: "←", "aria-label": "← " + (d ? d.label : id), onclick: () => {
            const a = spec[zone]; [a[i - 1], a[i]] = [a[i], a[i - 1]]; changed();
          }}, "‹") : "",
          el("button", {type: "button", title: t.remove, "aria-label": t.remove + ": " + (d ? d.label : id), "data-remove": id,
            onclick: () => { spec[zone] = spec[zone].filter((x) => x !== id); changed(); }}, "×"));
        chip.addEventListener("dragstart", (e) => e.dataTransfer.setData("text/plain", id));
        return chip;
      });
      box.replaceChildren(...(chips.length ? chips : [el("span", {class: "rp-hint"}, t.dropHere)]));
    });
    const fl = $("rp-filters");
    const chips = (spec.filters || []).map((f, i) => {
      const d = dimById(f.dimension);
      const names = f.values.map((v) => filterLabels[f.dimension + ":" + v] || String(v));
      return el("span", {class: "rp-chip rp-filter"}, (d ? d.label : f.dimension) + (f.op === "not_in" ? " ≠ " : " = ") + names.join(", "),
        el("button", {type: "button", title: t.remove, "aria-label": t.remove, onclick: () => { spec.filters.splice(i, 1); changed(); }}, "×"));
    });
    fl.replaceChildren(...(chips.length ? chips : [el("span", {class: "rp-hint"}, t.noFilters)]));
    const sort = $("rp-sort");
    const current = spec.sort ? spec.sort.by : "";
    sort.replaceChildren(el("option", {value: ""}, sort.options[0] ? sort.options[0].textContent : ""),
      ...spec.measures.map((m) => el("option", {value: m}, (fact().measures.find((x) => x.id === m) || {label: m}).label + " ↓")));
    sort.value = current;
  }

  function renderOptions() {
    const p = $("rp-period");
    if (spec.last_days) p.value = "last:" + spec.last_days;
    else if (spec.date_from || spec.date_to) p.value = "range";
    else p.value = "";
    if (!Array.from(p.options).some((o) => o.value === p.value)) p.value = "range";
    $("rp-from").value = spec.date_from || "";
    $("rp-to").value = spec.date_to || "";
    document.querySelectorAll(".rp-range").forEach((n) => n.classList.toggle("d-none", p.value !== "range"));
    $("rp-top").value = spec.top_n ? spec.top_n.n : "";
    $("rp-pct").value = spec.percent_of || "";
    $("rp-compare").value = spec.compare || "";
    $("rp-subtotals").checked = !!spec.subtotals;
    $("rp-totals").checked = spec.totals !== false;
    $("rp-chart").value = chartKind;
  }

  function changed() {
    clean();
    renderFields();
    renderZones();
    renderOptions();
    document.querySelectorAll(".rp-spec-input").forEach((n) => { n.value = JSON.stringify(spec); });
    document.querySelectorAll(".rp-chart-input").forEach((n) => { n.value = chartKind; });
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  }

  async function post(url, body) {
    const res = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body), credentials: "same-origin"});
    return res.text();
  }

  async function run() {
    const out = $("rp-result");
    if (!spec.measures.length) { out.textContent = t.pickMeasure; return; }
    const mine = ++seq;
    out.setAttribute("aria-busy", "true");
    const html = await post(root.dataset.runUrl, {spec: spec, chart: chartKind});
    if (mine !== seq) return;
    out.innerHTML = html;
    out.removeAttribute("aria-busy");
    const data = out.querySelector(".rp-chart-data");
    const chartEl = out.querySelector(".rp-chart");
    if (data && chartEl) window.cwReportChart(chartEl, JSON.parse(data.textContent));
    out.dataset.ready = String(mine);
  }

  function headers(id) {
    const n = document.getElementById(id);
    return n ? JSON.parse(n.textContent) : [];
  }

  let drilled = null;  // the cell whose lines the drill panel shows, and the request for its pages

  async function drill(cell, page) {
    const r = headers("rp-row-headers")[Number(cell.dataset.r)];
    const c = headers("rp-col-headers")[Number(cell.dataset.c)];
    const panel = $("rp-drill");
    drilled = cell;
    panel.classList.remove("d-none");
    panel.textContent = t.loading;
    panel.innerHTML = await post(root.dataset.drillUrl, {spec: spec, row: r.keys, column: c.keys,
      labels: [...r.labels, ...c.labels], page: page || 1});
    panel.scrollIntoView({behavior: "smooth", block: "nearest"});
  }

  $("rp-drill").addEventListener("click", (e) => {
    const panel = $("rp-drill");
    if (e.target.closest(".rp-drill-close")) {
      panel.classList.add("d-none");
      if (drilled) drilled.focus();
      return;
    }
    const pager = e.target.closest(".rp-drill-page");
    if (pager && drilled && !pager.disabled) drill(drilled, Number(pager.dataset.page));
  });

  $("rp-result").addEventListener("click", (e) => {
    const f = e.target.closest(".rp-filter-btn");
    if (f) {
      const h = headers("rp-row-headers")[Number(f.dataset.row)];
      h.keys.forEach((k, i) => {
        const dim = spec.rows[i];
        if (k === "__others__") return;
        filterLabels[dim + ":" + k] = h.labels[i];
        spec.filters = (spec.filters || []).filter((x) => x.dimension !== dim);
        spec.filters.push({dimension: dim, op: "in", values: [k]});
      });
      changed();
      return;
    }
    const cell = e.target.closest("td[data-r]");
    if (cell) drill(cell);
  });
  $("rp-result").addEventListener("keydown", (e) => {
    const cell = e.target.closest("td[data-r]");
    if (cell && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); drill(cell); }
  });

  ["rp-rows", "rp-columns"].forEach((id) => {
    const box = $(id);
    box.addEventListener("dragover", (e) => { e.preventDefault(); box.classList.add("rp-over"); });
    box.addEventListener("dragleave", () => box.classList.remove("rp-over"));
    box.addEventListener("drop", (e) => {
      e.preventDefault();
      box.classList.remove("rp-over");
      const dim = e.dataTransfer.getData("text/plain");
      if (dim && dimById(dim)) place(dim, box.dataset.zone);
    });
  });
  $("rp-fact").addEventListener("change", (e) => {
    spec = {kind: "pivot", version: 1, fact: e.target.value, measures: [], rows: [], columns: [], filters: [], totals: true,
      last_days: spec.last_days};
    if (!spec.last_days) delete spec.last_days;
    changed();
  });
  $("rp-dim-search").addEventListener("input", renderFields);
  $("rp-period").addEventListener("change", (e) => {
    delete spec.last_days; delete spec.date_from; delete spec.date_to;
    if (e.target.value.startsWith("last:")) spec.last_days = Number(e.target.value.slice(5));
    if (e.target.value === "range") { if ($("rp-from").value) spec.date_from = $("rp-from").value; if ($("rp-to").value) spec.date_to = $("rp-to").value; }
    if (!spec.last_days && !(spec.date_from && spec.date_to)) delete spec.compare;
    changed();
  });
  ["rp-from", "rp-to"].forEach((id) => $(id).addEventListener("change", () => {
    const v = $(id).value;
    const key = id === "rp-from" ? "date_from" : "date_to";
    if (v) spec[key] = v; else delete spec[key];
    delete spec.last_days;
    changed();
  }));
  $("rp-sort").addEventListener("change", (e) => { if (e.target.value) spec.sort = {by: e.target.value, desc: true}; else delete spec.sort; changed(); });
  $("rp-top").addEventListener("change", (e) => {
    const n = Number(e.target.value);
    if (n > 0 && spec.rows.length) spec.top_n = {dimension: spec.rows[0], n: n, by: spec.measures[0], others: true};
    else delete spec.top_n;
    changed();
  });
  $("rp-pct").addEventListener("change", (e) => { if (e.target.value) spec.percent_of = e.target.value; else delete spec.percent_of; changed(); });
  $("rp-compare").addEventListener("change", (e) => { if (e.target.value) spec.compare = e.target.value; else delete spec.compare; changed(); });
  $("rp-subtotals").addEventListener("change", (e) => { spec.subtotals = e.target.checked; changed(); });
  $("rp-totals").addEventListener("change", (e) => { spec.totals = e.target.checked; changed(); });
  $("rp-chart").addEventListener("change", (e) => { chartKind = e.target.value; changed(); });
  document.querySelectorAll("#rp-save-form, #rp-export-form").forEach((form) => form.addEventListener("submit", () => {
    form.querySelectorAll(".rp-spec-input").forEach((n) => { n.value = JSON.stringify(spec); });
    form.querySelectorAll(".rp-chart-input").forEach((n) => { n.value = chartKind; });
  }));
  changed();
})();
