// The data-quality page: one bar chart per score (customers per band of ten points); a click lists that band.
(function () {
  function draw() {
    const data = document.getElementById("dq-distribution");
    if (!data || !window.echarts) return;
    const dist = JSON.parse(data.textContent);
    const labels = JSON.parse(document.getElementById("dq-labels").textContent);
    const bands = dist.completeness.map((_, i) => (i === dist.completeness.length - 1 ? `${i * 10}–100` : `${i * 10}–${i * 10 + 9}`));
    const colors = bands.map((_, i) => (i < 6 ? "#ef4444" : i < 9 ? "#f59e0b" : "#16a34a"));
    document.querySelectorAll(".dq-chart").forEach((el) => {
      const score = el.dataset.score;
      const chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        animation: false,
        grid: { left: 8, right: 8, top: 12, bottom: 4, containLabel: true },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: bands, axisTick: { show: false }, axisLine: { lineStyle: { color: "#cbd5e1" } } },
        yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f6" } } },
        series: [{
          name: labels.customers, type: "bar", barMaxWidth: 28,
          data: dist[score].map((n, i) => ({ value: n, itemStyle: { color: colors[i], borderRadius: [3, 3, 0, 0] } })),
        }],
      });
      chart.on("click", (params) => {
        const url = `?score=${score}&band=${params.dataIndex}`;
        if (window.htmx) {
          window.htmx.ajax("GET", url, { target: "#quality-table" });
          history.pushState({}, "", url);
        } else {
          window.location.search = url;
        }
      });
      window.addEventListener("resize", () => chart.resize());
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
