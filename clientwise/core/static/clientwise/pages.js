// Behaviours of the accounts and core pages: copy buttons and the home page's revenue chart.
(function () {
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-cw-copy]");
    if (!button) return;
    const field = document.querySelector(button.dataset.cwCopy);
    if (!field) return;
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
    } catch (err) {
      document.execCommand("copy");
    }
    const label = button.querySelector("span");
    if (label && button.dataset.cwCopied) {
      const original = label.textContent;
      label.textContent = button.dataset.cwCopied;
      setTimeout(() => { label.textContent = original; }, 2000);
    }
  });

  function drawTrend() {
    const el = document.getElementById("cw-trend");
    const data = document.getElementById("cw-trend-data");
    if (!el || !data || !window.echarts) return;
    const trend = JSON.parse(data.textContent);
    const names = JSON.parse(document.getElementById("cw-trend-labels").textContent);
    // Today is not over: its bar is drawn pale and its point hollow, labelled "today so far (HH:MM)", and the
    // orders line does not run down into it as if sales had stopped.
    const last = trend.days.length - 1;
    const partial = trend.partial_last && last >= 0;
    const revenue = trend.revenue.map(Number).map((v, i) => (partial && i === last
      ? { value: v, itemStyle: { opacity: 0.35 } } : v));
    const orders = trend.orders.map((v, i) => (partial && i === last ? null : v));
    const todayOrders = trend.orders.map((v, i) => (partial && i === last ? v : null));
    const xLabels = trend.days.map((d, i) => (partial && i === last ? `${names.today} ${trend.until}` : d.slice(5)));
    const chart = window.echarts.init(el, null, { renderer: "svg" });
    const money = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 0 });
    chart.setOption({
      animation: false,
      color: ["#2f6fde", "#f59e0b"],
      grid: { left: 8, right: 8, top: 36, bottom: 4, containLabel: true },
      legend: { top: 0, right: 0, data: [names.revenue, names.orders] },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: xLabels, axisTick: { show: false },
               axisLine: { lineStyle: { color: "#cbd5e1" } } },
      yAxis: [
        { type: "value", splitLine: { lineStyle: { color: "#eef1f6" } }, axisLabel: { formatter: (v) => money.format(v) } },
        { type: "value", splitLine: { show: false }, minInterval: 1 },
      ],
      series: [
        { name: names.revenue, type: "bar", data: revenue, barMaxWidth: 18,
          itemStyle: { borderRadius: [3, 3, 0, 0] } },
        { name: names.orders, type: "line", yAxisIndex: 1, data: orders, smooth: true, symbolSize: 5 },
        { name: names.orders, type: "line", yAxisIndex: 1, data: todayOrders, symbol: "emptyCircle", symbolSize: 7,
          lineStyle: { opacity: 0 }, tooltip: { show: partial } },
      ],
    });
    window.addEventListener("resize", () => chart.resize());
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawTrend);
  } else {
    drawTrend();
  }
})();
