/* The owner app's service worker: makes the app installable and shows an offline page; pages are never cached
   (they are personal and live), only the app's own static files. */
const CACHE = "owner-app-v1";
const SHELL = ["/app/offline/", "/static/portal/portal.css", "/static/portal/icon.svg"];
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/app/offline/")));
    return;
  }
  if (new URL(request.url).pathname.startsWith("/static/portal/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});
