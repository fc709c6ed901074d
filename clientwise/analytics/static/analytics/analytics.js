// Analytics pages: the overview's charts (concentration curve, RFM grid, cohort retention, CLV by channel and
// region) and a model page's validation charts (holdout, gains, lift, calibration). Data come from the
// #an-data JSON script; labels, already translated, from #an-labels. Charts draw only where their element is.
(function () {
  const BLUE = "#2f6fde";
  const GREY = "#94a3b8";
  const ORANGE = "#f59e0b";
  const GRID = { lineStyle: { color: "#eef1f6" } };
  const charts = [];

  function pct(v) {
    return `${Math.round(v * 100)}%`;
  }

  function money(v, symbol) {
    if (v === null || v === undefined) return "—";
    return symbol + Number(v).toLocaleString(undefined, { maximumFractionDigits: 0 });
  }

  function make(id, option, onClick) {
    const el = document.getElementById(id);
    if (!el) return null;
    const chart = window.echarts.init(el);
    chart.setOption(Object.assign({ animation: false }, option));
    if (onClick) chart.on("click", onClick);
    charts.push(chart);
    return chart;
  }

  function concentration(data, L) {
    if (!data.curve || data.curve.length < 2) return;
    make("an-chart-curve", {
      grid: { left: 8, right: 16, top: 20, bottom: 28, containLabel: true },
      tooltip: { trigger: "axis", formatter: (ps) => `${L.share_customers} ${pct(ps[0].value[0])}<br>${L.share_revenue} ${pct(ps[0].value[1])}` },
      xAxis: { type: "value", min: 0, max: 1, name: L.share_customers, nameLocation: "middle", nameGap: 26, axisLabel: { formatter: pct }, splitLine: GRID },
      yAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: pct }, splitLine: GRID },
      series: [
        { name: L.share_revenue, type: "line", data: data.curve, showSymbol: false, areaStyle: { opacity: 0.12 }, lineStyle: { width: 2, color: BLUE }, itemStyle: { color: BLUE },
          markLine: { silent: true, symbol: "none", lineStyle: { color: ORANGE, type: "dotted" }, label: { formatter: "20%" }, data: [{ xAxis: 0.2 }] } },
        { name: L.even, type: "line", data: [[0, 0], [1, 1]], showSymbol: false, lineStyle: { type: "dashed", color: GREY }, itemStyle: { color: GREY } },
      ],
    });
  }

  function rfm(data, L) {
    if (!data.rfm) return;
    const scores = ["1", "2", "3", "4", "5"];
    make("an-chart-rfm", {
      grid: { left: 8, right: 8, top: 8, bottom: 36, containLabel: true },
      tooltip: { formatter: (p) => `R ${p.value[1] + 1} · F ${p.value[0] + 1}<br>${L.customers}: ${p.value[2].toLocaleString()}<br>${L.revenue}: ${money(p.value[3], L.currency)}` },
      xAxis: { type: "category", data: scores, name: L.frequency, nameLocation: "middle", nameGap: 24, splitArea: { show: true } },
      yAxis: { type: "category", data: scores, name: L.recency, nameLocation: "middle", nameGap: 24, splitArea: { show: true } },
      visualMap: { min: 0, max: Math.max(1, data.rfm_max || 1), dimension: 2, show: false,
        inRange: { color: ["#eef4ff", "#93b4f0", BLUE] } },
      series: [{ type: "heatmap", data: data.rfm, label: { show: true, formatter: (p) => p.value[2].toLocaleString() }, emphasis: { itemStyle: { borderColor: "#16213a", borderWidth: 1 } } }],
    }, (p) => {
      window.location.href = `${data.customers_url}?sort=churn&r=${p.value[1] + 1}&f=${p.value[0] + 1}`;
    });
  }

  function cohorts(data, L) {
    const c = data.cohorts;
    if (!c || !c.months || !c.months.length) return;
    make("an-chart-cohorts", {
      grid: { left: 8, right: 8, top: 8, bottom: 30, containLabel: true },
      tooltip: { formatter: (p) => `${L.cohort} ${c.months[p.value[1]]} (${c.sizes[p.value[1]].toLocaleString()})<br>+${p.value[0]}: ${p.value[2]}% · ${p.value[3].toLocaleString()} ${L.customers}` },
      xAxis: { type: "category", data: c.offsets.map((m) => `+${m}`), name: L.months_since, nameLocation: "middle", nameGap: 24, splitArea: { show: true } },
      yAxis: { type: "category", data: c.months, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: 100, dimension: 2, show: false, inRange: { color: ["#f8fafc", "#93b4f0", BLUE] } },
      series: [{ type: "heatmap", data: c.cells, label: { show: true, fontSize: 10, formatter: (p) => `${p.value[2]}%` } }],
    });
  }

  function bars(id, rows, L) {
    if (!rows || !rows.labels.length) return;
    make(id, {
      grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
      legend: { top: 0, data: [L.avg_clv, L.total_clv] },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: (ps) => {
        const i = ps[0].dataIndex;
        return `${rows.labels[i]}<br>${L.customers}: ${rows.customers[i].toLocaleString()}<br>${L.avg_clv}: ${money(rows.avg[i], L.currency)}<br>${L.total_clv}: ${money(rows.total[i], L.currency)}`;
      } },
      xAxis: { type: "category", data: rows.labels, axisLabel: { interval: 0, rotate: rows.labels.length > 6 ? 35 : 0 } },
      yAxis: [
        { type: "value", splitLine: GRID, axisLabel: { formatter: (v) => money(v, L.currency) } },
        { type: "value", splitLine: { show: false }, axisLabel: { formatter: (v) => money(v, L.currency) } },
      ],
      series: [
        { name: L.avg_clv, type: "bar", data: rows.avg, barMaxWidth: 28, itemStyle: { color: BLUE, borderRadius: [3, 3, 0, 0] } },
        { name: L.total_clv, type: "line", yAxisIndex: 1, data: rows.total, itemStyle: { color: ORANGE } },
      ],
    });
  }

  function holdout(data, L) {
    const rows = data.holdout || [];
    if (!rows.length) return;
    const series = [];
    if (rows.some((r) => r.predicted !== null)) {
      series.push({ name: L.predicted, type: "bar", data: rows.map((r) => r.predicted), barMaxWidth: 24, itemStyle: { color: BLUE } });
    }
    series.push({ name: L.actual, type: "bar", data: rows.map((r) => r.actual), barMaxWidth: 24, itemStyle: { color: ORANGE } });
    make("an-chart-holdout", {
      grid: { left: 8, right: 8, top: 28, bottom: rows.length > 6 ? 44 : 28, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: "axis", valueFormatter: (v) => (typeof v === "number" ? v.toFixed(2) : v) },
      xAxis: { type: "category", data: rows.map((r) => r.label), name: L["holdout_" + data.holdout_key] || L.holdout_group, nameLocation: "middle", nameGap: rows.length > 6 ? 44 : 26,
        axisLabel: { interval: 0, rotate: rows.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", splitLine: GRID },
      series,
    });
  }

  function gains(data, L) {
    const rows = data.gains || [];
    if (!rows.length) return;
    const hasGain = rows.some((r) => r.gain !== null);
    if (hasGain) {
      const withZero = (key) => [[0, 0]].concat(rows.map((r) => [r.decile / rows.length, r[key]]));
      const series = [
        { name: L.model, type: "line", data: withZero("gain"), itemStyle: { color: BLUE }, lineStyle: { width: 2 } },
        { name: L.random, type: "line", data: [[0, 0], [1, 1]], showSymbol: false, lineStyle: { type: "dashed", color: GREY }, itemStyle: { color: GREY } },
      ];
      if (rows.some((r) => r.baseline_gain !== null)) {
        series.splice(1, 0, { name: L.baseline, type: "line", data: withZero("baseline_gain"), itemStyle: { color: ORANGE } });
      }
      make("an-chart-gains", {
        grid: { left: 30, right: 16, top: 28, bottom: 28, containLabel: true },
        legend: { top: 0 },
        tooltip: { trigger: "axis", valueFormatter: (v) => (typeof v === "number" ? pct(v) : v) },
        xAxis: { type: "value", min: 0, max: 1, name: L.share_customers, nameLocation: "middle", nameGap: 26, axisLabel: { formatter: pct }, splitLine: GRID },
        yAxis: { type: "value", min: 0, max: 1, name: L.captured, nameLocation: "middle", nameGap: 40, axisLabel: { formatter: pct }, splitLine: GRID },
        series,
      });
    }
    if (rows.some((r) => r.lift !== null)) {
      const series = [{ name: L.model, type: "bar", data: rows.map((r) => r.lift), barMaxWidth: 22, itemStyle: { color: BLUE } }];
      if (rows.some((r) => r.baseline_lift !== null)) {
        series.push({ name: L.baseline, type: "bar", data: rows.map((r) => r.baseline_lift), barMaxWidth: 22, itemStyle: { color: ORANGE } });
      }
      make("an-chart-lift", {
        grid: { left: 24, right: 8, top: 28, bottom: 28, containLabel: true },
        legend: { top: 0 },
        tooltip: { trigger: "axis", valueFormatter: (v) => (typeof v === "number" ? v.toFixed(2) : v) },
        xAxis: { type: "category", data: rows.map((r) => r.decile), name: L.decile, nameLocation: "middle", nameGap: 26 },
        yAxis: { type: "value", name: L.lift, nameLocation: "middle", nameGap: 32, splitLine: GRID },
        series: series.concat([{ type: "line", data: [], markLine: { silent: true, symbol: "none", lineStyle: { color: GREY, type: "dashed" }, label: { show: false }, data: [{ yAxis: 1 }] } }]),
      });
    }
  }

  function calibration(data, L) {
    const rows = data.calibration || [];
    if (!rows.length) return;
    make("an-chart-calibration", {
      grid: { left: 30, right: 16, top: 28, bottom: 28, containLabel: true },
      legend: { top: 0, data: [L.observed, L.perfect] },
      tooltip: { trigger: "item", formatter: (p) => (p.seriesIndex === 0 ? `${L.mean_predicted} ${pct(p.value[0])}<br>${L.observed_rate} ${pct(p.value[1])}${p.value[2] ? `<br>${L.customers}: ${Number(p.value[2]).toLocaleString()}` : ""}` : "") },
      xAxis: { type: "value", min: 0, max: 1, name: L.mean_predicted, nameLocation: "middle", nameGap: 26, axisLabel: { formatter: pct }, splitLine: GRID },
      yAxis: { type: "value", min: 0, max: 1, name: L.observed_rate, nameLocation: "middle", nameGap: 40, axisLabel: { formatter: pct }, splitLine: GRID },
      series: [
        { name: L.observed, type: "line", data: rows.map((r) => [r.predicted, r.observed, r.count]), itemStyle: { color: BLUE }, symbolSize: 8 },
        { name: L.perfect, type: "line", data: [[0, 0], [1, 1]], showSymbol: false, lineStyle: { type: "dashed", color: GREY }, itemStyle: { color: GREY } },
      ],
    });
  }

  function draw() {
    const dataEl = document.getElementById("an-data");
    const labelsEl = document.getElementById("an-labels");
    if (!dataEl || !labelsEl || !window.echarts) return;
    const data = JSON.parse(dataEl.textContent);
    const L = JSON.parse(labelsEl.textContent);
    concentration(data, L);
    rfm(data, L);
    cohorts(data, L);
    bars("an-chart-channels", data.by_channel, L);
    bars("an-chart-regions", data.by_region, L);
    holdout(data, L);
    gains(data, L);
    calibration(data, L);
    window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
