// The campaign results chart: revenue lift per customer by day with its always-valid interval (data-chart JSON).
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("mk-chart");
  if (!el || !window.echarts) return;
  const data = JSON.parse(el.dataset.chart);
  const chart = echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis" },
    grid: { left: 50, right: 20, top: 20, bottom: 30 },
    xAxis: { type: "category", data: data.days },
    yAxis: { type: "value" },
    series: [
      { type: "line", data: data.low, lineStyle: { type: "dashed" }, symbol: "none", name: data.labels.low },
      { type: "line", data: data.lift, name: data.labels.lift },
      { type: "line", data: data.high, lineStyle: { type: "dashed" }, symbol: "none", name: data.labels.high },
    ],
  });
  window.addEventListener("resize", () => chart.resize());
});
