// The crew's phone: while on a job, post the unit's position every 10 s (navigator.geolocation), and fill the
// on-scene form with the position. Positions are only posted from this page, i.e. while the job is open.
(function () {
  "use strict";
  var me = document.getElementById("crew-js");
  if (!me || !("geolocation" in navigator)) return;
  var state = document.getElementById("geo-state");
  var form = document.getElementById("position-form");
  var csrf = form ? form.querySelector("[name=csrfmiddlewaretoken]").value : "";
  var last = 0;
  function post(pos) {
    var lat = pos.coords.latitude.toFixed(6), lng = pos.coords.longitude.toFixed(6);
    document.querySelectorAll("input[name=lat]").forEach(function (i) { if (!i.value || i.type === "hidden") i.value = lat; });
    document.querySelectorAll("input[name=lng]").forEach(function (i) { if (!i.value || i.type === "hidden") i.value = lng; });
    var now = Date.now();
    if (now - last < 10000) return;
    last = now;
    var body = new URLSearchParams({action: "position", lat: lat, lng: lng, csrfmiddlewaretoken: csrf});
    fetch(me.dataset.post, {method: "POST", body: body, headers: {"HX-Request": "true"}, credentials: "same-origin"});
    if (state) state.textContent = me.dataset.sharing + " · " + new Date().toLocaleTimeString();
  }
  function denied() { if (state) state.textContent = me.dataset.denied; }
  navigator.geolocation.watchPosition(post, denied, {enableHighAccuracy: true, maximumAge: 10000, timeout: 20000});
})();
