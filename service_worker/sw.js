// The Tổ CNSCĐ service worker: the app shell from a versioned cache, pages network-first with the
// saved copy as fallback, and the outbox replayed by Background Sync where the browser has it.
/* global Outbox */
"use strict";

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const HTMX_CDN = __HTMX_CDN__;
const SHELL_CACHE = "tocnscd-shell-" + VERSION;
const PAGES_CACHE = "tocnscd-pages";
const NAVIGATION_TIMEOUT_MS = 3000;
const HTMX_LOCAL = SHELL.find((url) => url.includes("/vendor/htmx-"));

importScripts(SHELL.find((url) => url.endsWith("/js/outbox.js")));

self.addEventListener("install", (event) => {
  // Without cookies: the shell is the same for everyone on the phone, and an answer that set the session
  // cookie of before a login (the install runs while the member types) would log them out again.
  const requests = SHELL.map((url) => new Request(url, {credentials: "omit"}));
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(requests)));
});

self.addEventListener("activate", (event) => {
  // Old shells go; saved pages stay, and the outbox lives in IndexedDB, which no version touches.
  event.waitUntil(caches.keys().then((names) => Promise.all(names
    .filter((name) => name.startsWith("tocnscd-shell-") && name !== SHELL_CACHE)
    .map((name) => caches.delete(name)))).then(() => self.clients.claim()));
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
});

self.addEventListener("sync", (event) => {
  // A replay that found no network fails the event, so that the browser tries again later by itself,
  // even with the app closed; one that ran (or found another replay running) ends it.
  if (event.tag !== "outbox") return;
  event.waitUntil(Outbox.sync().then((outcome) => {
    if (outcome === "offline") throw new Error("outbox: no network, the browser will retry");
  }));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (HTMX_CDN && request.url === HTMX_CDN) {
    // The same bytes as the pinned CDN file, so its SRI hash holds: no network needed for htmx.
    event.respondWith(caches.match(HTMX_LOCAL).then((hit) => hit || fetch(request)));
    return;
  }
  if (url.origin !== self.location.origin) return;
  if (SHELL.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(request)));
    return;
  }
  if (/^\/(g\/[^/]+|k\/\d+)\/qr\.svg$/.test(url.pathname)) {
    // A guide's QR code, shown on the hands-on mode's last screen: keep one so it shows with no signal too.
    event.respondWith(qrCode(request));
    return;
  }
  if (request.mode === "navigate") {
    const next = url.pathname.match(/^\/streets\/(\d+)\/next$/);
    event.respondWith(next ? nextHousehold(request, next[1], url.searchParams.get("after"))
      : networkFirst(request));
  }
});

async function qrCode(request) {
  const cache = await caches.open(PAGES_CACHE);
  const hit = await cache.match(request, {ignoreSearch: true});
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(new URL(request.url).pathname, response.clone());
  return response;
}

// Try the network for a short while; keep a copy of good pages; else the saved copy; else the offline page.
async function networkFirst(request) {
  const network = fetch(request).then(async (response) => {
    if (response.ok && !response.redirected && isPage(response)) await savePage(request.url, response.clone());
    return response;
  });
  const timeout = new Promise((resolve) => setTimeout(resolve, NAVIGATION_TIMEOUT_MS));
  try {
    const first = await Promise.race([network, timeout]);
    if (first) return first;
    const saved = await savedPage(request.url);
    return saved || await network;
  } catch (error) {
    return (await savedPage(request.url)) || (await caches.match("/offline")) || Response.error();
  }
}

function isPage(response) {
  return (response.headers.get("Content-Type") || "").startsWith("text/html");
}

async function savePage(url, response) {
  const headers = new Headers(response.headers);
  headers.set("X-Saved-At", String(Date.now()));
  const body = await response.text();
  const cache = await caches.open(PAGES_CACHE);
  await cache.put(url, new Response(body, {status: 200, headers: headers}));
}

// A saved page, marked with the time it was saved so the page can say how old it is.
async function savedPage(url) {
  const cache = await caches.open(PAGES_CACHE);
  const hit = await cache.match(url) || await cache.match(url, {ignoreSearch: true});
  if (!hit) return null;
  const html = (await hit.text()).replace("<body", '<body data-saved-at="' + (hit.headers.get("X-Saved-At") || "") + '"');
  return new Response(html, {headers: {"Content-Type": "text/html; charset=utf-8"}});
}

// "Hộ tiếp theo" with no signal: the same rule as the server, read from the saved street page and the outbox.
async function nextHousehold(request, streetId, after) {
  try {
    const response = await fetch(request);
    return response;
  } catch (error) {
    const street = await savedPage("/streets/" + streetId);
    if (!street) return (await caches.match("/offline")) || Response.error();
    const html = await street.text();
    const waiting = new Set((await Outbox.all()).filter((item) => item.kind === "visit")
      .map((item) => String(item.household_id)));
    const rows = [...html.matchAll(/class="row household status-([a-z_]+)"[^>]*data-household="(\d+)"/g)]
      .map((m) => ({id: m[2], status: waiting.has(m[2]) ? "da_tham" : m[1]}));
    const chosen = Outbox.pickNext(rows, after);
    return Response.redirect(chosen ? "/households/" + chosen : "/streets/" + streetId, 302);
  }
}
