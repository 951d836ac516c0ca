/* The approval page: the approved total follows the ticks; a signature drawn with a finger (or a mouse) on the
   canvas is sent as a PNG data URL in the hidden "signature" field. No library, no network. */
(function () {
  "use strict";
  var form = document.getElementById("approve-form");
  if (!form) { return; }
  var totalEl = document.getElementById("approved-total");
  function updateTotal() {
    var sum = 0;
    form.querySelectorAll("input[type=radio][data-amount]:checked").forEach(function (input) {
      sum += Math.round(parseFloat(input.getAttribute("data-amount")) * 100);
    });
    if (totalEl) {
      totalEl.textContent = "¥" + (sum / 100).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
  }
  form.addEventListener("change", updateTotal);
  updateTotal();

  var canvas = document.getElementById("signature-pad");
  if (!canvas) { return; }
  var hidden = document.getElementById("signature-data");
  var ctx = canvas.getContext("2d");
  var drawing = false;
  var drawn = false;
  function fit() {
    var rect = canvas.getBoundingClientRect();
    var ratio = Math.min(window.devicePixelRatio || 1, 2);
    canvas.width = Math.max(Math.round(rect.width * ratio), 40);
    canvas.height = Math.max(Math.round(rect.height * ratio), 20);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#10243a";
    drawn = false;
  }
  function point(event) {
    var rect = canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }
  canvas.addEventListener("pointerdown", function (event) {
    drawing = true;
    if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
    var p = point(event);
    ctx.beginPath();
    ctx.moveTo(p[0], p[1]);
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) { return; }
    var p = point(event);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    drawn = true;
    event.preventDefault();
  });
  ["pointerup", "pointercancel"].forEach(function (type) {
    canvas.addEventListener(type, function () { drawing = false; });
  });
  document.getElementById("signature-clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    drawn = false;
    hidden.value = "";
  });
  form.addEventListener("submit", function () {
    hidden.value = drawn ? canvas.toDataURL("image/png") : "";
  });
  fit();
})();
