// The outline editor on the assessor's desk: drag on the photo to draw a rectangle around the damage (drag again for
// another); the rectangles go to the hidden field as fractions of the photo ({x, y, w, h}), saved by the form.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  document.querySelectorAll("[data-outline-editor]").forEach(function (editor) {
    var svg = editor.querySelector("svg");
    var card = editor.closest(".card");
    var field = card.querySelector("[data-outline-value]");
    var shapes = [];
    try { shapes = JSON.parse(field.value || "[]"); } catch (e) { shapes = []; }
    var start = null, drawing = null;
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
    function save() { field.value = JSON.stringify(shapes); }
    editor.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
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
      shapes = []; save();
      while (svg.firstChild) svg.removeChild(svg.firstChild);
    });
  });
})();
