// Entry grid: keyboard navigation, block paste from spreadsheets, server-side validation and save.
// Every check goes to the server (the same validation as file imports); this file only moves data around.
(function () {
  "use strict";
  const table = document.getElementById("entry-grid");
  if (!table) return;
  const body = table.tBodies[0];
  const text = JSON.parse(document.getElementById("grid-text").textContent);
  const statusEl = document.getElementById("grid-status");
  const messagesEl = document.getElementById("grid-messages");
  const columns = Array.from(table.tHead.rows[0].cells).map((th) => th.dataset.col).filter(Boolean);
  const csrf = document.querySelector("meta[name=csrf-token]").content;

  const format = (template, values) => template.replace(/%\((\w+)\)s/g, (_m, k) => String(values[k] ?? ""));
  const rowsEls = () => Array.from(body.rows);
  const cellAt = (r, c) => { const row = body.rows[r]; return row ? row.querySelectorAll("input.dg-cell")[c] : null; };
  const position = (input) => {
    const tr = input.closest("tr");
    return [tr.sectionRowIndex, Array.from(tr.querySelectorAll("input.dg-cell")).indexOf(input)];
  };

  function addRows(n) {
    const template = body.rows[0];
    for (let i = 0; i < n; i++) {
      const tr = template.cloneNode(true);
      tr.classList.remove("dg-saved");
      tr.querySelectorAll("input").forEach((inp) => { inp.value = ""; inp.classList.remove("is-invalid"); inp.title = ""; });
      tr.querySelector(".dg-state:last-child").textContent = "";
      body.appendChild(tr);
    }
    rowsEls().forEach((tr, i) => { tr.cells[0].textContent = String(i + 1); });
  }

  function focusCell(r, c) {
    const cell = cellAt(r, c);
    if (cell) { cell.focus(); cell.select(); }
  }

  table.addEventListener("keydown", (ev) => {
    const input = ev.target;
    if (!input.classList || !input.classList.contains("dg-cell")) return;
    const [r, c] = position(input);
    const atStart = input.selectionStart === 0 && input.selectionEnd === 0;
    const atEnd = input.selectionStart === input.value.length;
    const whole = input.selectionStart === 0 && input.selectionEnd === input.value.length;
    let target = null;
    if (ev.key === "ArrowUp") target = [r - 1, c];
    else if (ev.key === "ArrowDown") target = [r + 1, c];
    else if (ev.key === "Enter") {
      if (r + 1 >= body.rows.length) addRows(10);
      target = [ev.shiftKey ? r - 1 : r + 1, c];
    } else if (ev.key === "ArrowLeft" && (atStart || whole)) target = [r, c - 1];
    else if (ev.key === "ArrowRight" && (atEnd || whole)) target = [r, c + 1];
    if (target && cellAt(target[0], target[1])) {
      ev.preventDefault();
      focusCell(target[0], target[1]);
    }
  });

  // A spreadsheet copies a block as lines of tab-separated cells; a single value is left to the browser.
  table.addEventListener("paste", (ev) => {
    const input = ev.target;
    if (!input.classList || !input.classList.contains("dg-cell")) return;
    const data = (ev.clipboardData || window.clipboardData).getData("text");
    if (!data || (!data.includes("\t") && !data.includes("\n"))) return;
    ev.preventDefault();
    const lines = data.replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n");
    const [r0, c0] = position(input);
    const needed = r0 + lines.length - body.rows.length;
    if (needed > 0) addRows(needed);
    lines.forEach((line, i) => {
      line.split("\t").forEach((value, j) => {
        const cell = cellAt(r0 + i, c0 + j);
        if (cell) cell.value = value.trim();
      });
    });
    scheduleCheck();
  });

  function collect() {
    return rowsEls().map((tr) => {
      const row = {};
      tr.querySelectorAll("input.dg-cell").forEach((inp, j) => { row[columns[j]] = inp.value.trim(); });
      return row;
    });
  }

  function clearMarks() {
    table.querySelectorAll("input.is-invalid").forEach((inp) => { inp.classList.remove("is-invalid"); inp.title = ""; });
    rowsEls().forEach((tr) => { tr.cells[tr.cells.length - 1].textContent = ""; });
  }

  // Server errors name a field; a field not shown as a column marks the whole row.
  function mark(results) {
    clearMarks();
    const list = [];
    results.forEach((res) => {
      if (!res.errors || !res.errors.length) return;
      const tr = body.rows[res.row - 1];
      if (!tr) return;
      tr.cells[tr.cells.length - 1].innerHTML = '<i class="bi bi-exclamation-triangle-fill text-danger"></i>';
      res.errors.forEach((err) => {
        const j = columns.indexOf(err.field);
        const cell = j >= 0 ? tr.querySelectorAll("input.dg-cell")[j] : null;
        if (cell) {
          cell.classList.add("is-invalid");
          cell.title = cell.title ? cell.title + "\n" + err.message : err.message;
        }
        list.push({ row: res.row, field: err.field, message: err.message });
      });
    });
    messagesEl.replaceChildren();
    if (list.length) {
      const ul = document.createElement("ul");
      ul.className = "text-danger mb-0";
      list.slice(0, 50).forEach((e) => {
        const li = document.createElement("li");
        li.textContent = `${text.row} ${e.row}${e.field ? " · " + e.field : ""}: ${e.message}`;
        ul.appendChild(li);
      });
      messagesEl.appendChild(ul);
    }
    return list.length;
  }

  async function post(url, rows) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ rows }),
    });
    return { ok: response.ok, data: await response.json() };
  }

  let timer = null;
  let version = 0;
  function scheduleCheck() {
    clearTimeout(timer);
    timer = setTimeout(check, 600);
  }

  async function check() {
    const rows = collect();
    if (!rows.some((r) => Object.values(r).some(Boolean))) { clearMarks(); messagesEl.replaceChildren(); statusEl.textContent = ""; return; }
    const mine = ++version;
    statusEl.textContent = text.checking;
    const { ok, data } = await post(table.dataset.validateUrl, rows);
    if (mine !== version) return;  // a newer check is on its way
    if (!ok) { statusEl.textContent = data.message; return; }
    const n = mark(data.rows);
    statusEl.textContent = n ? format(text.errors, { n: data.rows.filter((r) => r.errors.length).length }) : text.ok;
  }

  async function save() {
    const rows = collect();
    if (!rows.some((r) => Object.values(r).some(Boolean))) { statusEl.textContent = text.empty; return; }
    version++;
    const button = document.getElementById("grid-save");
    button.disabled = true;
    try {
      const { ok, data } = await post(table.dataset.saveUrl, rows);
      if (!ok) { statusEl.textContent = data.message; return; }
      const failed = new Set(data.rows.map((r) => r.row));
      // Saved rows leave the grid; rows with errors stay, marked, at the top.
      const keep = [];
      rowsEls().forEach((tr, i) => {
        const filled = Array.from(tr.querySelectorAll("input.dg-cell")).some((inp) => inp.value.trim());
        if (filled && failed.has(i + 1)) keep.push({ values: Array.from(tr.querySelectorAll("input.dg-cell")).map((x) => x.value), old: i + 1 });
      });
      rowsEls().forEach((tr) => tr.querySelectorAll("input.dg-cell").forEach((inp) => { inp.value = ""; }));
      keep.forEach((k, i) => { k.values.forEach((value, j) => { cellAt(i, j).value = value; }); });
      const renumbered = data.rows.map((r) => ({ row: keep.findIndex((k) => k.old === r.row) + 1, errors: r.errors }));
      mark(renumbered);
      statusEl.replaceChildren(document.createTextNode(format(text.saved, data) + " "));
      const link = document.createElement("a");
      link.href = data.job_url;
      link.textContent = text.job;
      statusEl.appendChild(link);
    } finally {
      button.disabled = false;
    }
  }

  table.addEventListener("change", scheduleCheck);
  document.getElementById("grid-add").addEventListener("click", () => addRows(10));
  document.getElementById("grid-check").addEventListener("click", check);
  document.getElementById("grid-save").addEventListener("click", save);
})();
