/* A device's readings over time (ECharts, served from our own static files: analytics/vendor). The data is the
   <script type="application/json" id="readings-data"> of the page; one chart per [data-readings-chart] element. */
(function () {
  "use strict";
  var COLOURS = { battery: "#b3261e", level: "#1c7c3a", odometer: "#1f6feb" };
  function draw() {
    var source = document.getElementById("readings-data");
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("[data-readings-chart]").forEach(function (el) {
      var name = el.getAttribute("data-readings-chart");
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption({
        animation: false,
        title: { text: data.names[name], textStyle: { fontSize: 12, fontWeight: "normal" }, left: 0, top: 0 },
        grid: { left: 56, right: 16, top: 28, bottom: 28 },
        tooltip: { trigger: "axis", renderMode: "richText" },
        xAxis: { type: "category", data: data.labels, axisLabel: { fontSize: 10 } },
        yAxis: { type: "value", scale: true, axisLabel: { fontSize: 10 } },
        series: [{ name: data.names[name], type: "line", data: data[name], connectNulls: true, showSymbol: false,
                   lineStyle: { width: 2, color: COLOURS[name] }, itemStyle: { color: COLOURS[name] } }],
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
