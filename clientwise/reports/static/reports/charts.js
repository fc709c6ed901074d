/* ECharts for report results: one function used by the builder and the dashboards.
   The server (reports/display.py chart()) decides what is drawn and titles it from that; this draws it:
   - every plotted measure, on a second value axis when its format differs from the first;
   - a partial period (still going on, or cut by the report's range: core/periods.py) pale, with a hollow point and
     its note under the label, and the line not running down into it;
   - "Others" of a top-N report is not drawn next to the members it ranks; its figure is written under the chart,
     with the measures the chart could not draw. */
(function () {
  "use strict";
  const palette = ["#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"];

  function esc(text) {
    const div = document.createElement("div");
    div.textContent = String(text);
    return div.innerHTML;
  }

  function fmt(v, pct) {
    if (v === null || v === undefined) return "";
    if (pct) return (v * 100).toFixed(1) + "%";
    return Number(v).toLocaleString(undefined, {maximumFractionDigits: 2});
  }

  function notes(el, data) {
    let box = el.nextElementSibling;
    if (!box || !box.classList.contains("rp-chart-notes")) {
      box = document.createElement("div");
      box.className = "rp-chart-notes small text-secondary";
      el.after(box);
    }
    box.replaceChildren();
    const t = (data.texts || {});
    const lines = [];
    (data.others || []).forEach((o) => {
      const values = o.values.map((v) => `${v.label} ${v.text}`).join(" · ");
      lines.push(`${t.others || ""} ${o.label}${values ? ": " + values : ""}`);
    });
    if ((data.not_plotted || []).length) lines.push(`${t.not_plotted || ""} ${data.not_plotted.join(", ")}`);
    if ((data.partial || []).some((p) => p) || data.partial_columns) lines.push(t.partial || "");
    lines.filter((l) => l.trim()).forEach((l) => {
      const p = document.createElement("div");
      p.textContent = l;
      box.appendChild(p);
    });
  }

  function figures(el, data) {
    const old = window.echarts && window.echarts.getInstanceByDom(el);
    if (old) old.dispose();
    el.replaceChildren();
    el.classList.add("rp-figures");
    data.figures.forEach((f) => {
      const box = document.createElement("div");
      box.className = "rp-figure";
      const value = document.createElement("div");
      value.className = "rp-figure-value";
      value.textContent = f.text;
      const label = document.createElement("div");
      label.className = "rp-figure-label";
      label.textContent = f.label;
      box.append(value, label);
      el.appendChild(box);
    });
  }

  window.cwReportChart = function (el, data) {
    if (!el || !data) return null;
    if (data.kind === "figure") { figures(el, data); notes(el, data); return null; }
    if (el.classList.contains("rp-figures")) { el.classList.remove("rp-figures"); el.replaceChildren(); }
    if (!window.echarts || !data.series || !data.series.length) return null;
    const old = window.echarts.getInstanceByDom(el);
    if (old) old.dispose();
    const chart = window.echarts.init(el);
    const partial = data.partial || [];
    const title = {text: data.title || "", left: 0, top: 0, textStyle: {fontSize: 12, fontWeight: "normal", color: "#64748b"}};
    let option;
    if (data.kind === "pie") {
      option = {
        color: palette, title: title,
        tooltip: {trigger: "item", valueFormatter: (v) => fmt(v, data.pct)},
        legend: {type: "scroll", bottom: 0},
        series: [{type: "pie", radius: ["35%", "65%"], top: 16, name: data.series[0].name,
          data: data.x.map((name, i) => ({name: partial[i] ? `${name} (${partial[i]})` : name,
            value: data.series[0].data[i], itemStyle: partial[i] ? {opacity: 0.45} : undefined}))}],
      };
    } else {
      const axes = (data.axes && data.axes.length) ? data.axes : [{title: data.y_title, pct: data.pct}];
      const line = data.kind === "line";
      const series = [];
      data.series.forEach((s, k) => {
        const color = palette[k % palette.length];
        const axis = s.axis || 0;
        if (line) {
          // The whole periods as a line; partial ones as hollow points of the same colour, not joined to it.
          series.push({name: s.name, type: "line", yAxisIndex: axis, smooth: true, color: color, symbol: "circle",
            symbolSize: 5, data: s.data.map((v, i) => (partial[i] ? null : v))});
          if (partial.some((p) => p)) {
            series.push({name: s.name, type: "line", yAxisIndex: axis, color: color, symbol: "emptyCircle",
              symbolSize: 8, lineStyle: {opacity: 0}, data: s.data.map((v, i) => (partial[i] ? v : null))});
          }
        } else {
          // A partial period on the columns is a whole series: drawn pale like a partial row.
          series.push({name: s.name, type: "bar", yAxisIndex: axis, color: color,
            itemStyle: s.partial ? {opacity: 0.35} : undefined,
            data: s.data.map((v, i) => (partial[i] ? {value: v, itemStyle: {opacity: 0.35}} : v))});
        }
      });
      const labels = data.x.map((x, i) => (partial[i] ? `${x}\n(${partial[i]})` : x));
      option = {
        color: palette, title: title,
        tooltip: {trigger: "axis", valueFormatter: (v) => fmt(v, false)},
        legend: {type: "scroll", top: 18},
        grid: {left: 64, right: axes.length > 1 ? 64 : 16, top: axes.length > 1 ? 72 : 56,
          bottom: partial.some((p) => p) ? 72 : 56},
        xAxis: {type: "category", data: labels, axisLabel: {hideOverlap: true, rotate: data.x.length > 12 ? 30 : 0}},
        // Axis names only tell two axes apart (the legend names the series); one axis needs none.
        yAxis: axes.map((a, i) => ({type: "value", name: axes.length > 1 ? a.title : "", splitLine: {show: i === 0},
          axisLabel: {formatter: (v) => fmt(v, a.pct)}})),
        series: series,
      };
      option.tooltip.valueFormatter = undefined;
      option.tooltip.formatter = (items) => {
        if (!items.length) return "";
        const i = items[0].dataIndex;
        const head = labels[i].replace("\n", " ");
        const seen = new Set();
        const rows = items.filter((it) => it.value !== null && it.value !== undefined && !Number.isNaN(it.value))
          .filter((it) => { const key = it.seriesName; if (seen.has(key)) return false; seen.add(key); return true; })
          .map((it) => {
            const s = data.series.find((x) => x.name === it.seriesName) || {};
            const v = typeof it.value === "object" ? it.value.value : it.value;
            return `${it.marker}${esc(it.seriesName)}: ${esc(fmt(v, s.pct))}`;
          });
        return [esc(head), ...rows].join("<br>");
      };
    }
    chart.setOption(option);
    notes(el, data);
    window.addEventListener("resize", () => chart.resize());
    return chart;
  };

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".rp-chart[data-chart]").forEach((el) => window.cwReportChart(el, JSON.parse(el.dataset.chart)));
  });
})();
