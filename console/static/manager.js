// Draws the manager page's charts from the JSON the page carries (#chart-data); the page's CSP runs no inline script.
(function () {
  "use strict";
  const charts = [];
  function draw() {
    const data = document.getElementById("chart-data");
    if (!data || typeof Chart === "undefined") return;
    const shown = JSON.parse(data.textContent);
    charts.splice(0).forEach((c) => c.destroy());
    const common = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } };
    const plots = [
      ["chart-orders", "bar", "Orders", shown.orders, "#1f5fbf"],
      ["chart-revenue", "line", "Net revenue", shown.net_revenue, "#1d6b35"],
      ["chart-fill", "line", "Fill rate %", shown.fill_rate, "#8a4b08"],
    ];
    for (const [id, type, label, values, colour] of plots) {
      const canvas = document.getElementById(id);
      if (!canvas) continue;
      const chart = new Chart(canvas, {
        type: type,
        data: { labels: shown.labels, datasets: [{ label: label, data: values, backgroundColor: colour, borderColor: colour, spanGaps: true }] },
        options: common,
      });
      canvas.dataset.drawn = String(values.length);
      charts.push(chart);
    }
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
