/* Behaviour every page shares, without inline script (the Content-Security-Policy allows scripts from our own
   static files only: docs/security.md "Content-Security-Policy").
   - data-autosubmit on a field: submit its form when it changes (store switchers, date pickers, filters).
   - data-confirm on a form, button or link: ask first (the message is the attribute's value).
   - data-output="ID" on an input: show its value in element ID (the handover's energy level).
   - data-refresh-every="SECONDS" on an htmx element: fire "refresh" on it that often, except while the person is
     typing in a form inside it (the workshop board).
   - data-history-back on a link: go back one page (its href is where it goes without history).
   - data-service-worker="URL" on <body>: register the owner app's service worker (scope /app/).
   - data-locate="LNG_ID LAT_ID SHOWN_ID" on a button: fill two fields with the phone's position (owner pickup).
   - data-wxpay="PARAMS_ID" on a button: start WeChat Pay inside WeChat with the JSON parameters in element PARAMS_ID.
   - data-left="PERCENT" / data-width="PERCENT": position an element along its track (the appointment day's blocks,
     hours and closed spans); the policy allows no style attributes, so positions come as data and are set here.
   - details.menu in the staff navigation: one area open at a time; Escape or a click elsewhere closes it. */
(function () {
  "use strict";
  function closeMenus(except) {
    var open = document.querySelectorAll("details.menu[open]");
    for (var i = 0; i < open.length; i++) { if (open[i] !== except) { open[i].removeAttribute("open"); } }
  }
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (d && d.matches && d.matches("details.menu") && d.open) { closeMenus(d); }
  }, true);
  document.addEventListener("click", function (e) {
    if (!(e.target && e.target.closest && e.target.closest("details.menu"))) { closeMenus(null); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    var d = document.activeElement && document.activeElement.closest ? document.activeElement.closest("details.menu[open]") : null;
    closeMenus(null);
    if (d) { d.querySelector("summary").focus(); }
  });
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute("data-autosubmit") && t.form) {
      if (t.form.requestSubmit) { t.form.requestSubmit(); } else { t.form.submit(); }
    }
  });
  document.addEventListener("click", function (e) {
    var t = e.target && e.target.closest ? e.target.closest("button[data-confirm], a[data-confirm], input[type=submit][data-confirm]") : null;
    if (t && !window.confirm(t.getAttribute("data-confirm"))) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
  document.addEventListener("click", function (e) {
    var b = e.target && e.target.closest ? e.target.closest("button[data-locate]") : null;
    if (!b) { return; }
    var ids = b.getAttribute("data-locate").split(" ");
    // optional: data-locate-error="ID" shows why no position came (the messages are the button's data-msg-*,
    // translated by the page); ID-at inside the shown element gets the coordinates
    var problem = document.getElementById(b.getAttribute("data-locate-error") || "");
    function fail(key) {
      if (!problem) { return; }
      problem.textContent = b.getAttribute("data-msg-" + key) || "";
      problem.hidden = false;
      b.disabled = false;
      b.removeAttribute("aria-busy");
    }
    if (problem) { problem.hidden = true; }
    if (!navigator.geolocation) { fail("unsupported"); return; }
    b.disabled = true;
    b.setAttribute("aria-busy", "true");
    navigator.geolocation.getCurrentPosition(function (p) {
      document.getElementById(ids[0]).value = p.coords.longitude.toFixed(6);
      document.getElementById(ids[1]).value = p.coords.latitude.toFixed(6);
      b.disabled = false;
      b.removeAttribute("aria-busy");
      if (ids[2]) {
        document.getElementById(ids[2]).hidden = false;
        var at = document.getElementById(ids[2] + "-at");
        if (at) { at.textContent = p.coords.latitude.toFixed(5) + ", " + p.coords.longitude.toFixed(5); }
      }
    }, function (err) {
      fail(err && err.code === 1 ? "denied" : "failed");
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
  document.addEventListener("click", function (e) {
    var b = e.target && e.target.closest ? e.target.closest("button[data-wxpay]") : null;
    if (!b || typeof window.WeixinJSBridge === "undefined") { return; }
    var params = JSON.parse(document.getElementById(b.getAttribute("data-wxpay")).textContent);
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function () { window.location.reload(); });
  });
  document.addEventListener("click", function (e) {
    var a = e.target && e.target.closest ? e.target.closest("a[data-history-back]") : null;
    if (a && window.history.length > 1) { e.preventDefault(); window.history.back(); }
  });
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f && f.hasAttribute && f.hasAttribute("data-confirm") && !window.confirm(f.getAttribute("data-confirm"))) {
      e.preventDefault(); e.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("input", function (e) {
    var t = e.target, id = t && t.getAttribute && t.getAttribute("data-output");
    var out = id && document.getElementById(id);
    if (out) { out.textContent = t.value; }
  });
  function place(root) {
    if (!root || !root.querySelectorAll) { return; }
    var els = Array.prototype.slice.call(root.querySelectorAll("[data-left], [data-width]"));
    if (root.hasAttribute && (root.hasAttribute("data-left") || root.hasAttribute("data-width"))) { els.push(root); }
    els.forEach(function (el) {
      var left = el.getAttribute("data-left"), width = el.getAttribute("data-width");
      if (left !== null && left !== "") { el.style.left = parseFloat(left) + "%"; }
      if (width !== null && width !== "") { el.style.width = parseFloat(width) + "%"; }
    });
  }
  document.addEventListener("htmx:load", function (e) { place(e.target); });
  function start() {
    place(document);
    document.querySelectorAll("[data-refresh-every]").forEach(function (el) {
      if (el.dataset.refreshStarted) { return; }
      el.dataset.refreshStarted = "1";
      var ms = Math.max(5, parseInt(el.getAttribute("data-refresh-every"), 10) || 30) * 1000;
      setInterval(function () {
        var active = document.activeElement;
        if (active && active.closest && active.closest("form") && el.contains(active)) { return; }
        if (window.htmx) { window.htmx.trigger(el, "refresh"); }
      }, ms);
    });
    var sw = document.body && document.body.getAttribute("data-service-worker");
    if (sw && "serviceWorker" in navigator) {
      navigator.serviceWorker.register(sw, {scope: "/app/"}).catch(function () {});
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
