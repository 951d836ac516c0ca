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
    var text = "¥" + (sum / 100).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    if (totalEl) { totalEl.textContent = text; }
    document.querySelectorAll(".js-approved-total").forEach(function (el) { el.textContent = text; });
  }
  form.addEventListener("change", updateTotal);
  updateTotal();

  // After a refusal the page comes back with the choices kept: bring the first message into view, where the
  // customer has to act (a job's tick, the name, the signature), instead of leaving them at the top.
  var firstError = form.querySelector(".errorlist:not([hidden])") || document.querySelector("[data-testid=general-error]");
  if (firstError) {
    var holder = firstError.closest(".job-card, .field") || firstError;
    holder.scrollIntoView({ block: "center" });
  }

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
  var sigError = document.getElementById("signature-error");
  form.addEventListener("submit", function (event) {
    hidden.value = drawn ? canvas.toDataURL("image/png") : "";
    if (!drawn && sigError) {
      // no signature yet: say so beside the box and stay where the customer is (no reload, choices untouched)
      event.preventDefault();
      sigError.textContent = canvas.getAttribute("data-required");
      sigError.hidden = false;
      canvas.scrollIntoView({ block: "center" });
    }
  });
  canvas.addEventListener("pointerdown", function () { if (sigError) { sigError.hidden = true; } });
  fit();
})();
