/* The cockpit's trend charts (ECharts, served from our own static files). Each chart reads its data from the
   <script type="application/json"> named by its data-chart attribute. Charts inside content that htmx is about to
   replace are disposed first, and the new content's charts are drawn after the swap, so nothing leaks. */
(function () {
  "use strict";
  var UNITS = { "%": "%", "min": " min", "pts": "", "CNY/h": " ¥/h", "h": " h", "x": "×" };

  function draw(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var old = window.echarts.getInstanceByDom(el);
      if (old) old.dispose();
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      var suffix = UNITS[data.unit] || "";
      var series = [{
        name: data.name, type: "line", data: data.values, connectNulls: false, symbolSize: 7,
        lineStyle: { width: 2, color: "#1f6feb" }, itemStyle: { color: "#1f6feb" },
      }];
      if (data.capacity) {  // the demand forecast: technician hours on shift beside the hours needed
        series[0].type = "bar";
        series[0].itemStyle = { color: "#1f6feb" };
        series[0].data = data.values.map(function (v, i) {
          return { value: v, itemStyle: { color: v > data.capacity[i] ? "#d1242f" : "#1f6feb" } };
        });
        series.push({ name: data.capacity_name, type: "line", step: "middle", data: data.capacity, symbol: "none",
                      lineStyle: { width: 2, color: "#8a94a6", type: "dashed" }, itemStyle: { color: "#8a94a6" } });
      }
      if (data.target !== null) {
        series[0].markLine = {
          silent: true, symbol: "none", lineStyle: { type: "dashed", color: "#8a94a6" },
          label: { formatter: data.target + suffix, position: "insideEndTop", color: "#5b6576" },
          data: [{ yAxis: data.target }],
        };
      }
      chart.setOption({
        animation: false,
        grid: { left: 44, right: 16, top: data.capacity ? 32 : 16, bottom: 28 },
        legend: data.capacity ? { top: 0, textStyle: { fontSize: 11 } } : undefined,
        tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + suffix; } },
        xAxis: { type: "category", data: data.labels, axisLabel: { fontSize: 10 } },
        yAxis: {
          type: "value", scale: !data.capacity, min: data.capacity ? 0 : null, axisLabel: { fontSize: 10 },
          max: data.unit === "%" ? function (v) { return Math.min(100, Math.ceil(v.max / 5) * 5); } : null,
        },
        series: series,
      });
    });
  }

  function dispose(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.dispose();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:beforeSwap", function (e) { dispose(e.detail.target); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.detail.target); });
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts && window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });
})();
