// The handover sheet: tap the car outline to mark damage; sign with a finger or a mouse on a canvas.
(function () {
  "use strict";
  function setupOutline(svg) {
    var form = document.getElementById(svg.dataset.form);
    if (!form) return;
    svg.addEventListener("click", function (ev) {
      var box = svg.getBoundingClientRect();
      var x = ((ev.clientX - box.left) / box.width) * 100;
      var y = ((ev.clientY - box.top) / box.height) * 100;
      form.querySelector("[name=x]").value = x.toFixed(2);
      form.querySelector("[name=y]").value = y.toFixed(2);
      var pin = svg.querySelector(".pending-pin");
      if (pin) { pin.setAttribute("cx", x * 2); pin.setAttribute("cy", y); pin.classList.remove("d-none"); }
      form.hidden = false;
      var kind = form.querySelector("[name=kind]");
      if (kind) kind.focus();
    });
  }
  function setupPad(canvas) {
    var ctx = canvas.getContext("2d");
    var form = canvas.closest("form");
    var drawing = false, inked = false, last = null;
    function fit() {
      var ratio = window.devicePixelRatio || 1;
      var w = canvas.clientWidth, h = canvas.clientHeight;
      canvas.width = w * ratio; canvas.height = h * ratio;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.lineWidth = 2.4; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
      inked = false;
    }
    function at(ev) { var b = canvas.getBoundingClientRect(); return { x: ev.clientX - b.left, y: ev.clientY - b.top }; }
    canvas.addEventListener("pointerdown", function (ev) { drawing = true; last = at(ev); canvas.setPointerCapture(ev.pointerId); ev.preventDefault(); });
    canvas.addEventListener("pointermove", function (ev) {
      if (!drawing) return;
      var p = at(ev);
      ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke();
      last = p; inked = true; ev.preventDefault();
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (t) { canvas.addEventListener(t, function () { drawing = false; }); });
    var clear = form.querySelector("[data-clear]");
    if (clear) clear.addEventListener("click", function (ev) { ev.preventDefault(); ctx.clearRect(0, 0, canvas.width, canvas.height); inked = false; });
    form.addEventListener("submit", function (ev) {
      var msg = form.querySelector("[data-empty-message]");
      if (!inked) { ev.preventDefault(); if (msg) msg.hidden = false; return; }
      form.querySelector("[name=signature]").value = canvas.toDataURL("image/png");
    });
    fit();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("svg[data-outline]").forEach(setupOutline);
    document.querySelectorAll("canvas[data-signature-pad]").forEach(setupPad);
  });
})();
