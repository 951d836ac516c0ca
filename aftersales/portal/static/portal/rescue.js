// One tap: the phone's position (WGS-84 from navigator.geolocation) into the rescue form; typing an address is the
// fallback when the phone refuses or has no fix.
(function () {
  "use strict";
  var button = document.getElementById("locate");
  if (!button) return;
  var form = document.getElementById("rescue-form");
  var note = document.getElementById("located");
  button.addEventListener("click", function () {
    if (!("geolocation" in navigator)) { note.textContent = button.dataset.failed; return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.querySelector("[name=lat]").value = pos.coords.latitude.toFixed(6);
      form.querySelector("[name=lng]").value = pos.coords.longitude.toFixed(6);
      note.textContent = button.dataset.found + " ✓ (±" + Math.round(pos.coords.accuracy) + " m)";
    }, function () {
      note.textContent = button.dataset.failed;
      form.querySelector("[name=address]").focus();
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
})();
