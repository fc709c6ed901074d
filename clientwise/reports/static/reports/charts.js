/* ECharts for report results: one function used by the builder and the dashboards. */
(function () {
  "use strict";
  const palette = ["#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"];

  function fmt(v, pct) {
    if (v === null || v === undefined) return "";
    if (pct) return (v * 100).toFixed(1) + "%";
    return Number(v).toLocaleString(undefined, {maximumFractionDigits: 2});
  }

  window.cwReportChart = function (el, data) {
    if (!window.echarts || !el || !data || !data.series || !data.series.length) return null;
    const old = window.echarts.getInstanceByDom(el);
    if (old) old.dispose();
    const chart = window.echarts.init(el);
    let option;
    if (data.kind === "pie") {
      option = {
        color: palette,
        tooltip: {trigger: "item", valueFormatter: (v) => fmt(v, data.pct)},
        legend: {type: "scroll", bottom: 0},
        series: [{type: "pie", radius: ["35%", "65%"], name: data.series[0].name,
          data: data.x.map((name, i) => ({name: name, value: data.series[0].data[i]}))}],
      };
    } else {
      option = {
        color: palette,
        tooltip: {trigger: "axis", valueFormatter: (v) => fmt(v, data.pct)},
        legend: {type: "scroll", top: 0},
        grid: {left: 64, right: 16, top: 36, bottom: 56},
        xAxis: {type: "category", data: data.x, axisLabel: {hideOverlap: true, rotate: data.x.length > 12 ? 30 : 0}},
        yAxis: {type: "value", name: data.y_title, axisLabel: {formatter: (v) => fmt(v, data.pct)}},
        series: data.series.map((s) => ({name: s.name, type: data.kind === "line" ? "line" : "bar", data: s.data,
          smooth: data.kind === "line", stack: undefined})),
      };
    }
    chart.setOption(option);
    window.addEventListener("resize", () => chart.resize());
    return chart;
  };

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".rp-chart[data-chart]").forEach((el) => window.cwReportChart(el, JSON.parse(el.dataset.chart)));
  });
})();
