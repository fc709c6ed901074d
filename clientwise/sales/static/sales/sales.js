// Sales pages: kanban drag and drop (HTML5, posted with HTMX), the "lost" reason, and the forecast/account charts.
(function () {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // --- board -------------------------------------------------------------------------------------------------
  function moveUrl(board, oppId) {
    const base = board.dataset.moveBase.replace(/0\/move\/$/, `${oppId}/move/`);
    return board.dataset.query ? `${base}?${board.dataset.query}` : base;
  }

  function post(board, oppId, values) {
    htmx.ajax("POST", moveUrl(board, oppId), {
      target: "#sales-board", swap: "outerHTML", values, headers: { "X-CSRFToken": csrf() },
    });
  }

  function askLostReason() {
    const dialog = document.getElementById("lost-dialog");
    const select = document.getElementById("lost-dialog-reason");
    return new Promise((resolve) => {
      select.value = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" ? select.value : null), { once: true });
      dialog.showModal();
      select.focus();
    });
  }

  let dragged = null;
  document.addEventListener("dragstart", (e) => {
    const card = e.target.closest?.(".sl-card[draggable=true]");
    if (!card) return;
    dragged = card;
    card.classList.add("sl-dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.opp);
  });
  document.addEventListener("dragend", () => {
    dragged?.classList.remove("sl-dragging");
    dragged = null;
    document.querySelectorAll(".sl-col.sl-over").forEach((c) => c.classList.remove("sl-over"));
  });
  document.addEventListener("dragover", (e) => {
    const col = e.target.closest?.(".sl-col");
    if (!col || !dragged) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".sl-col.sl-over").forEach((c) => c !== col && c.classList.remove("sl-over"));
    col.classList.add("sl-over");
  });
  document.addEventListener("drop", async (e) => {
    const col = e.target.closest?.(".sl-col");
    const board = document.getElementById("sales-board");
    if (!col || !board) return;
    e.preventDefault();
    const oppId = e.dataTransfer.getData("text/plain");
    col.classList.remove("sl-over");
    if (!oppId || col.contains(document.getElementById(`opp-card-${oppId}`))) return;
    const values = { stage_id: col.dataset.stage };
    if (col.dataset.kind === "lost") {
      const reason = await askLostReason();
      if (!reason) return;
      values.lost_reason = reason;
    }
    post(board, oppId, values);
  });

  // The card's stage menu: show the reason menu when "lost" is chosen.
  document.addEventListener("change", (e) => {
    const select = e.target.closest?.(".sl-stage-select");
    if (!select) return;
    const lost = select.selectedOptions[0]?.dataset.kind === "lost";
    const box = select.closest("form").querySelector(".sl-lost");
    box.hidden = !lost;
    box.querySelector("select").required = lost;
  });

  // The board is redrawn after a move: keep it scrolled where the user was (a drop on a right-hand column
  // must not jump back to the first one).
  let boardScroll = 0;
  document.addEventListener("htmx:beforeSwap", () => {
    boardScroll = document.getElementById("sales-board")?.scrollLeft || 0;
  });
  document.addEventListener("htmx:afterSwap", () => {
    const board = document.getElementById("sales-board");
    if (board) board.scrollLeft = boardScroll;
    const moved = document.querySelector("[data-moved] .sl-stage-select");
    if (moved && document.activeElement === document.body) moved.focus();
  });

  // --- charts --------------------------------------------------------------------------------------------------
  function money(prefix, v) {
    return prefix + Number(v).toLocaleString(undefined, { maximumFractionDigits: 0 });
  }

  function forecastCharts() {
    const el = document.getElementById("sl-forecast-data");
    if (!el || !window.echarts) return;
    const d = JSON.parse(el.textContent);
    const bars = document.getElementById("sl-forecast-chart");
    if (bars) {
      echarts.init(bars).setOption({
        tooltip: { trigger: "axis", valueFormatter: (v) => money(d.currency, v) },
        legend: { top: 0 },
        grid: { left: 70, right: 20, top: 36, bottom: 30 },
        xAxis: { type: "category", data: d.months },
        yAxis: { type: "value", axisLabel: { formatter: (v) => money(d.currency, v) } },
        series: [
          { name: d.labels.weighted, type: "bar", data: d.weighted, itemStyle: { color: "#5470c6" } },
          { name: d.labels.won, type: "bar", data: d.won, itemStyle: { color: "#91cc75" } },
          { name: d.labels.quota, type: "line", data: d.quota, itemStyle: { color: "#ee6666" } },
        ],
      });
    }
    const funnel = document.getElementById("sl-funnel-chart");
    if (funnel && d.funnel.length) {
      echarts.init(funnel).setOption({
        tooltip: { trigger: "item", formatter: "{b}: {c}" },
        series: [{ name: d.labels.reached, type: "funnel", sort: "none", left: "10%", width: "80%", minSize: "8%",
                   label: { show: true, position: "inside", formatter: "{b}\n{c}" }, data: d.funnel }],
      });
    }
  }

  function walletChart() {
    const el = document.getElementById("sl-wallet-data");
    const box = document.getElementById("sl-wallet-chart");
    if (!el || !box || !window.echarts) return;
    const d = JSON.parse(el.textContent);
    if (!d.periods.length) return;
    echarts.init(box).setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 60, right: 50, top: 36, bottom: 30 },
      xAxis: { type: "category", data: d.periods },
      yAxis: [{ type: "value" }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: d.labels.total, type: "bar", data: d.total, itemStyle: { color: "#c8d0e0" } },
        { name: d.labels.ours, type: "bar", data: d.ours, itemStyle: { color: "#5470c6" } },
        { name: d.labels.share, type: "line", yAxisIndex: 1, data: d.share, itemStyle: { color: "#fac858" } },
      ],
    });
  }

  document.addEventListener("DOMContentLoaded", () => { forecastCharts(); walletChart(); });
  window.addEventListener("resize", () => {
    document.querySelectorAll("[_echarts_instance_]").forEach((n) => echarts.getInstanceByDom(n)?.resize());
  });
})();
