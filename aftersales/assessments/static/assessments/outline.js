// The outline editor on the assessor's desk. Rectangle mode: drag on the photo to draw a rectangle around the damage
// (drag again for another). Polygon mode: tap (or click) point after point around the damage; tapping the first point
// again closes the shape (3 points at least, 64 at most); "Undo last point" takes the newest point back. The shapes go
// to the hidden field as fractions of the photo ({x, y, w, h} or {points: [[x, y], …]}), saved by the form.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var MAX_POINTS = 64;
  document.querySelectorAll("[data-outline-editor]").forEach(function (editor) {
    var svg = editor.querySelector("svg");
    var card = editor.closest(".card");
    var field = card.querySelector("[data-outline-value]");
    var undo = card.querySelector("[data-outline-undo]");
    var modes = card.querySelectorAll("[data-outline-mode]");
    var shapes = [];
    try { shapes = JSON.parse(field.value || "[]"); } catch (e) { shapes = []; }
    var mode = "rect";
    var start = null, drawing = null;
    var points = [], draft = null, marks = [];
    function point(ev) {
      var r = editor.getBoundingClientRect();
      return { x: Math.min(Math.max((ev.clientX - r.left) / r.width, 0), 1), y: Math.min(Math.max((ev.clientY - r.top) / r.height, 0), 1) };
    }
    function box(a, b) {
      return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
    }
    function rect(s) {
      var el = document.createElementNS(NS, "rect");
      el.setAttribute("class", "outline-box");
      el.setAttribute("x", s.x * 100); el.setAttribute("y", s.y * 100);
      el.setAttribute("width", s.w * 100); el.setAttribute("height", s.h * 100);
      return el;
    }
    function pointsAttr(list) {
      return list.map(function (p) { return (p[0] * 100) + "," + (p[1] * 100); }).join(" ");
    }
    function save() { field.value = JSON.stringify(shapes); }
    // a tap near the first point closes the polygon: within 14 screen pixels of it
    function nearFirst(p) {
      if (points.length < 3) return false;
      var r = editor.getBoundingClientRect();
      var dx = (p.x - points[0][0]) * r.width, dy = (p.y - points[0][1]) * r.height;
      return Math.sqrt(dx * dx + dy * dy) <= 14;
    }
    function redrawDraft() {
      marks.forEach(function (m) { svg.removeChild(m); });
      marks = [];
      if (draft) { svg.removeChild(draft); draft = null; }
      if (!points.length) { undo.disabled = true; return; }
      undo.disabled = false;
      draft = document.createElementNS(NS, "polyline");
      draft.setAttribute("class", "outline-draft");
      draft.setAttribute("data-testid", "outline-draft");
      draft.setAttribute("points", pointsAttr(points));
      svg.appendChild(draft);
      var r = editor.getBoundingClientRect();
      points.forEach(function (p, i) {
        // a small circle that stays round on a stretched viewBox: radius in per cent of each side
        var m = document.createElementNS(NS, "ellipse");
        m.setAttribute("class", "outline-vertex" + (i === 0 ? " first" : ""));
        m.setAttribute("cx", p[0] * 100); m.setAttribute("cy", p[1] * 100);
        m.setAttribute("rx", r.width ? 600 / r.width : 1.5); m.setAttribute("ry", r.height ? 600 / r.height : 1.5);
        if (i === 0) m.setAttribute("data-testid", "outline-first-point");
        svg.appendChild(m);
        marks.push(m);
      });
    }
    function closePolygon() {
      var done = points.map(function (p) { return [+p[0].toFixed(4), +p[1].toFixed(4)]; });
      points = [];
      redrawDraft();
      var el = document.createElementNS(NS, "polygon");
      el.setAttribute("class", "outline-box");
      el.setAttribute("points", pointsAttr(done));
      el.setAttribute("data-testid", "outline-polygon");
      svg.appendChild(el);
      shapes.push({ points: done });
      save();
    }
    function setMode(next) {
      mode = next;
      modes.forEach(function (b) { b.setAttribute("aria-pressed", String(b.getAttribute("data-outline-mode") === mode)); });
      points = [];
      redrawDraft();
    }
    modes.forEach(function (b) {
      b.addEventListener("click", function () { setMode(b.getAttribute("data-outline-mode")); });
    });
    undo.addEventListener("click", function () { points.pop(); redrawDraft(); });
    editor.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      if (mode === "polygon") {
        var p = point(ev);
        if (nearFirst(p)) { closePolygon(); return; }
        var last = points[points.length - 1];
        if (last && Math.abs(last[0] - p.x) < 0.002 && Math.abs(last[1] - p.y) < 0.002) return;  // a double tap
        if (points.length >= MAX_POINTS) return;
        points.push([p.x, p.y]);
        redrawDraft();
        return;
      }
      editor.setPointerCapture(ev.pointerId);
      start = point(ev);
      drawing = rect({ x: start.x, y: start.y, w: 0, h: 0 });
      svg.appendChild(drawing);
    });
    editor.addEventListener("pointermove", function (ev) {
      if (!start) return;
      var s = box(start, point(ev));
      drawing.setAttribute("x", s.x * 100); drawing.setAttribute("y", s.y * 100);
      drawing.setAttribute("width", s.w * 100); drawing.setAttribute("height", s.h * 100);
    });
    editor.addEventListener("pointerup", function (ev) {
      if (!start) return;
      var s = box(start, point(ev));
      start = null;
      if (s.w < 0.01 || s.h < 0.01) { svg.removeChild(drawing); return; }
      shapes.push({ x: +s.x.toFixed(4), y: +s.y.toFixed(4), w: +s.w.toFixed(4), h: +s.h.toFixed(4) });
      save();
    });
    card.querySelector("[data-outline-clear]").addEventListener("click", function () {
      shapes = []; points = []; save();
      marks = []; draft = null;
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      undo.disabled = true;
    });
  });
})();
