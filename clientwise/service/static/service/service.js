// Service pages: the call screen's own address, canned replies into the reply box, and the repurchase-by-score
// chart.
(function () {
  "use strict";
  // The phone lookup answers one caller with the call screen itself (no redirect while the caller waits): show the
  // screen's own address, so a reload, a bookmark or a copied link opens this customer's screen.
  const screen = document.getElementById("call-screen");
  if (screen && screen.dataset.address &&
      window.location.pathname + window.location.search !== screen.dataset.address) {
    window.history.replaceState(window.history.state, "", screen.dataset.address);
  }
  document.addEventListener("change", function (event) {
    const select = event.target.closest("[data-canned]");
    if (!select || !select.value) return;
    const texts = JSON.parse(document.getElementById(select.dataset.canned).textContent);
    const box = document.getElementById(select.dataset.target);
    box.value = (box.value ? box.value + "\n" : "") + (texts[select.value] || "");
    box.focus();
    select.value = "";
  });
  document.addEventListener("DOMContentLoaded", function () {
    const el = document.getElementById("sv-repurchase-chart");
    if (!el || !window.echarts) return;
    const data = JSON.parse(document.getElementById("sv-chart-data").textContent);
    const chart = window.echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: [data.labels.rate, data.labels.surveys] },
      grid: { left: 48, right: 56, top: 56, bottom: 44 },
      xAxis: { type: "category", name: data.labels.score, nameLocation: "middle", nameGap: 28, data: data.scores },
      yAxis: [{ type: "value", name: "%", max: 100 }, { type: "value", name: data.labels.surveys }],
      series: [
        { name: data.labels.rate, type: "bar", data: data.rates, itemStyle: { color: "#198754" } },
        { name: data.labels.surveys, type: "line", yAxisIndex: 1, data: data.surveys, itemStyle: { color: "#6c757d" } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
