// The page side of the app: service worker, outbox forms, status bar, offline download.
// Behaviour is attached by data-* attributes; no inline scripts (the CSP forbids them).
/* global Outbox, htmx */
(function () {
  "use strict";
  var MSG = JSON.parse((document.getElementById("client-messages") || {}).textContent || "{}");
  var PAGES_CACHE = "tocnscd-pages", FORM_WAIT_MS = 4000;

  function t(key, values) {
    return (MSG[key] || key).replace(/\{(\w+)\}/g, function (_, name) { return values && name in values ? values[name] : ""; });
  }

  function newUuid() {
    if (self.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function clock(ms) {
    var d = new Date(ms);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  // --- Fresh UUIDs: a page saved for offline use is opened many times; each save is a new record. ---
  function freshIds(root) {
    root.querySelectorAll("form[data-outbox] input[name=visit_uuid], form[data-outbox] input[name=change_uuid]")
      .forEach(function (input) { if (!input.dataset.fresh) { input.value = newUuid(); input.dataset.fresh = "1"; } });
  }

  // Stamp the phone's clock when a record is saved, once, so a resend keeps it.
  function stamp(form) {
    var input = form.querySelector("input[name=recorded_at]");
    if (input && !input.dataset.stamped) { input.value = new Date().toISOString(); input.dataset.stamped = "1"; }
    return input ? input.value : new Date().toISOString();
  }
  document.addEventListener("submit", function (event) { stamp(event.target); }, true);

  // --- Turning a form into an outbox item -------------------------------------------------------------
  var FACTS = ["phone_kind", "sim", "handset_2g_only", "has_epay"];

  function visitItem(form) {
    var data = new FormData(form), residents = JSON.parse(form.dataset.residents || "{}");
    var uuidOf = function (id) { return id === "0" ? null : residents[id]; };
    var payload = {type: "visit", uuid: data.get("visit_uuid"), household: form.dataset.householdUuid,
                   recorded_at: stamp(form), outcome: data.get("outcome"), notes: (data.get("notes") || "").trim(),
                   met: data.getAll("met").map(uuidOf), answers: [], facts: []};
    if (data.get("consent")) payload.consent = data.get("consent");  // the household's answer on keeping its data
    data.forEach(function (value, name) {
      var parts = name.split("-");
      if (parts[0] === "a" && value) payload.answers.push({resident: uuidOf(parts[1]), code: parts.slice(2).join("-"), value: value});
      if (parts[0] === "f" && value !== data.get("f0-" + name.slice(2))) {
        payload.facts.push({resident: uuidOf(parts[1]), field: parts.slice(2).join("-"), value: value});
      }
    });
    return payload;
  }

  function changeItem(form) {
    var data = new FormData(form), fixed = JSON.parse(form.dataset.outboxFields || "{}");
    var payload = Object.assign({uuid: data.get("change_uuid"), recorded_at: stamp(form)}, fixed);
    ["house_number", "head_name", "full_name"].forEach(function (name) { if (data.has(name)) payload[name] = data.get(name); });
    if (form.querySelector("[name=is_business]")) payload.is_business = data.has("is_business");
    if (data.has("birth_year")) payload.birth_year = data.get("birth_year") ? parseInt(data.get("birth_year"), 10) : null;
    if (data.has("phone_kind")) {
      payload.facts = {};
      FACTS.forEach(function (name) { if (data.get(name)) payload.facts[name] = data.get(name); });
    }
    return payload;
  }

  function describe(form, payload) {
    return {uuid: payload.uuid, kind: payload.type, payload: payload, username: document.body.dataset.username,
            household_id: form.dataset.householdId || null, street_id: form.dataset.streetId || null,
            label: form.dataset.label || "", back: form.dataset.back || "/"};
  }

  function askToKeep() {
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist().then(function (granted) { Outbox.setMeta("persisted", granted); });
    }
    if (navigator.serviceWorker && navigator.serviceWorker.ready) {
      navigator.serviceWorker.ready.then(function (reg) { if (reg.sync) reg.sync.register("outbox").catch(function () {}); });
    }
  }

  // --- The visit form: saved on the phone first, then sent ---------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-outbox=visit]")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (!new FormData(form).get("outcome")) { showFormError(form, t("choose_outcome")); return; }
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    var item = describe(form, visitItem(form));
    Outbox.add(item).then(function () {
      askToKeep();
      // Wait a little for the server; on a slow link the visit is safe on the phone and goes on its own.
      return Promise.race([Outbox.sync({queue: true}), new Promise(function (resolve) { setTimeout(resolve, FORM_WAIT_MS); })]);
    }).then(function () {
      return Outbox.get(item.uuid);
    }).then(function (left) {
      if (!left) {
        htmx.ajax("GET", "/households/" + item.household_id + "?saved=" + item.uuid, {target: "#household", swap: "outerHTML"});
      } else if (left.state === "rejected" || left.state === "conflict") {
        if (button) button.disabled = false;
        showFormError(form, left.reason);
      } else {
        showSavedOnPhone(form, item);
      }
    }, function (error) {
      if (button) button.disabled = false;
      showFormError(form, t("storage_failed") + " " + error);
    });
  }, true);

  function showFormError(form, text) {
    var box = form.querySelector(".form-problem") || form.insertBefore(document.createElement("p"), form.firstChild);
    box.className = "error form-problem";
    box.setAttribute("role", "alert");
    box.textContent = text;
    box.scrollIntoView({block: "center"});
  }

  function showSavedOnPhone(form, item) {
    var region = document.getElementById("household");
    var box = document.createElement("div");
    box.className = "saved pending";
    box.id = "visit-saved";
    box.setAttribute("role", "status");
    var text = document.createElement("p");
    text.textContent = t("saved_on_phone");
    var next = document.createElement("a");
    next.className = "button primary big";
    next.id = "next-household";
    next.href = "/streets/" + item.street_id + "/next?after=" + item.household_id;
    next.textContent = t("next_household");
    box.appendChild(text);
    box.appendChild(next);
    form.reset();
    form.querySelectorAll("input[name=visit_uuid]").forEach(function (i) { i.value = newUuid(); });
    form.querySelectorAll("input[name=recorded_at]").forEach(function (i) { i.value = ""; delete i.dataset.stamped; });
    form.querySelector("button[type=submit]").disabled = false;
    var old = document.getElementById("visit-saved");
    if (old) old.remove();
    region.insertBefore(box, region.querySelector("h2"));
    markPending();
    box.scrollIntoView({block: "start"});
  }

  // --- Other field forms: sent at once when online; kept on the phone when the request cannot go ------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-outbox]:not([data-outbox=visit])")) return;
    if (navigator.onLine) return;  // htmx sends it; a failure lands in keepForLater below
    event.preventDefault();
    event.stopImmediatePropagation();
    keepForLater(form);
  }, true);

  function failed(event) {
    var form = event.detail && event.detail.elt;
    if (!form || !form.matches || !form.matches("form[data-outbox]:not([data-outbox=visit])")) return;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (event.type === "htmx:sendError" || status >= 500) keepForLater(form);
  }
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", failed);

  function keepForLater(form) {
    var item = describe(form, changeItem(form));
    Outbox.add(item).then(function () {
      askToKeep();
      sessionStorage.setItem("tocnscd-notice", t("saved_on_phone"));
      Outbox.sync();
      location.href = item.back;
    }, function (error) { showFormError(form, t("storage_failed") + " " + error); });
  }

  // --- What is waiting, shown on the pages it belongs to -------------------------------------------------
  function markPending() {
    return Outbox.all().then(function (items) {
      var waiting = {};
      items.forEach(function (item) { if (item.household_id) waiting[item.household_id] = item; });
      document.querySelectorAll("[data-household]").forEach(function (el) {
        var status = el.id === "household" ? el.querySelector("#household-status") : el.querySelector(".status");
        if (status && waiting[el.dataset.household]) {
          status.textContent = t("pending");
          status.classList.add("status-pending");
        }
      });
      var list = document.getElementById("household-list");
      if (list && list.dataset.street) {
        items.filter(function (i) { return i.kind === "household" && String(i.payload.street) === list.dataset.street; })
          .forEach(function (i) {
            if (list.querySelector('[data-pending="' + i.uuid + '"]')) return;
            var li = document.createElement("li");
            li.dataset.pending = i.uuid;
            li.className = "row pending";
            li.textContent = i.payload.house_number + " — " + t("pending");
            list.appendChild(li);
          });
      }
      return items;
    });
  }

  // --- The status bar: online or not, how many wait, when it last synced ---------------------------------
  function renderStatus() {
    var bar = document.getElementById("sync-status");
    if (!bar || !self.Outbox) return;
    Promise.all([Outbox.all(), Outbox.meta("lastSync"), Outbox.meta("auth")]).then(function (r) {
      var items = r[0], last = r[1], auth = r[2];
      var mine = items.filter(function (i) { return i.username === document.body.dataset.username; });
      bar.hidden = false;
      bar.querySelector(".net").textContent = navigator.onLine ? t("online") : t("offline");
      bar.classList.toggle("is-offline", !navigator.onLine);
      bar.querySelector(".waiting").textContent = t("waiting", {n: mine.length});
      bar.querySelector(".last").textContent = last ? t("last_sync", {time: clock(last)}) : t("never_synced");
      var login = bar.querySelector(".relogin");
      login.hidden = !(auth === "expired" && mine.length);
      bar.classList.toggle("has-problem", mine.some(function (i) { return i.state !== "waiting"; }));
      renderOutboxPage(items);
    });
  }

  // Replay what waits, unless a recent failure asked to wait longer (forced when the network returns).
  function syncSoon(force) {
    if (!self.Outbox || !document.body.dataset.username) return;
    Outbox.all().then(function (items) {
      if (!items.some(function (i) { return i.state === "waiting"; })) return null;
      return Outbox.meta("retryAt").then(function (at) {
        return force === true || !at || at <= Date.now() ? Outbox.sync({queue: force === true}) : null;
      });
    }).then(function () { renderStatus(); markPending(); });
  }

  // --- The outbox page ----------------------------------------------------------------------------------
  function renderOutboxPage(items) {
    var list = document.getElementById("outbox-list");
    if (!list) return;
    var template = document.getElementById("outbox-row");
    list.textContent = "";
    items.forEach(function (item) {
      var row = template.content.firstElementChild.cloneNode(true);
      row.dataset.uuid = item.uuid;
      row.querySelector(".title").textContent = t("kind_" + item.kind) + (item.label ? " · " + item.label : "");
      row.querySelector(".when").textContent = t("saved_at", {time: new Date(item.created).toLocaleString("vi-VN")}) +
        (item.username !== document.body.dataset.username ? " · " + t("other_user", {user: item.username}) : "");
      var reason = row.querySelector(".reason");
      if (item.reason) { reason.hidden = false; reason.textContent = item.reason; }
      row.querySelector("[data-action=retry]").hidden = item.state === "waiting";
      list.appendChild(row);
    });
    document.getElementById("outbox-empty").hidden = items.length > 0;
    Outbox.meta("persisted").then(function (persisted) {
      document.getElementById("persist-warning").hidden = persisted !== false;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-action]");
    if (!button) return;
    var action = button.dataset.action, row = button.closest("[data-uuid]");
    if (action === "sync-now") syncSoon(true);
    if (action === "retry" && row) {
      Outbox.update(row.dataset.uuid, {state: "waiting", reason: ""}).then(function () { syncSoon(true); });
    }
    if (action === "discard" && row && confirm(t("confirm_discard"))) Outbox.remove(row.dataset.uuid);
    if (action === "export-outbox") exportOutbox();
    if (action === "download-offline") downloadForOffline(button);
    if (action === "reload-new-version") reloadNewVersion();
  });

  // Last resort before a phone is reset: everything waiting, as a file staff can upload.
  function exportOutbox() {
    Outbox.all().then(function (items) {
      var file = {app: "to-cnscd-outbox", version: 1, exported_at: new Date().toISOString(),
                  username: document.body.dataset.username, items: items};
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([JSON.stringify(file, null, 1)], {type: "application/json"}));
      link.download = "cho-dong-bo-" + new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-") + ".json";
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }

  // --- "Tải về để làm offline" -------------------------------------------------------------------------
  function downloadForOffline(button) {
    var bar = document.getElementById("download-progress"), label = document.getElementById("download-count");
    button.disabled = true;
    bar.hidden = false;
    label.textContent = t("download_start");
    caches.open(PAGES_CACHE).then(function (cache) {
      function slice(offset, done) {
        return fetch("/offline/pages?offset=" + offset, {credentials: "same-origin", cache: "no-store"})
          .then(function (response) {
            if (!response.ok) throw new Error(String(response.status));
            return response.json();
          }).then(function (body) {
            var now = String(Date.now());
            return Promise.all(body.pages.map(function (page) {
              return cache.put(page.url, new Response(page.html, {headers: {
                "Content-Type": "text/html; charset=utf-8", "X-Saved-At": now}}));
            })).then(function () {
              done += body.pages.length;
              bar.max = body.total;
              bar.value = done;
              label.textContent = t("download_count", {done: done, total: body.total});
              return body.next === null ? done : slice(body.next, done);
            });
          });
      }
      return slice(0, 0);
    }).then(function (count) {
      label.textContent = t("download_done", {n: count, time: clock(Date.now())});
      Outbox.setMeta("downloadedAt", Date.now());
    }, function () {
      label.textContent = t("download_failed");
    }).then(function () { button.disabled = false; });
  }

  // --- The service worker, and a new version of it ------------------------------------------------------
  var waitingWorker = null;
  function offerUpdate(worker) {
    waitingWorker = worker;
    var banner = document.getElementById("update-banner");
    if (banner) banner.hidden = false;
  }
  function reloadNewVersion() {
    if (waitingWorker) waitingWorker.postMessage({type: "SKIP_WAITING"});
    else location.reload();
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).then(function (reg) {
      if (reg.waiting && navigator.serviceWorker.controller) offerUpdate(reg.waiting);
      reg.addEventListener("updatefound", function () {
        var worker = reg.installing;
        worker.addEventListener("statechange", function () {
          if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(worker);
        });
      });
    });
    var reloading = false;
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      if (waitingWorker && !reloading) { reloading = true; location.reload(); }
    });
  }

  // --- Logging out: the saved pages hold residents' data, so they go; the outbox stays ------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-logout]") || form.dataset.cleared) return;
    event.preventDefault();
    var go = function () { form.dataset.cleared = "1"; form.submit(); };
    (self.caches ? caches.delete(PAGES_CACHE) : Promise.resolve()).then(go, go);
  }, true);

  // --- Requests made by htmx ------------------------------------------------------------------------------
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector("meta[name=csrf-token]");
    if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (!(event.detail.elt && event.detail.elt.matches && event.detail.elt.matches("form[data-outbox]"))) alert(t("send_error"));
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
    if (!(event.detail.elt && event.detail.elt.matches && event.detail.elt.matches("form[data-outbox]") && xhr.status >= 500)) {
      alert(t("server_error") + " (" + (xhr ? xhr.status : "?") + ")");
    }
  });
  document.addEventListener("htmx:load", function (event) { freshIds(event.detail.elt); markPending(); });

  // --- On every page ---------------------------------------------------------------------------------------
  function start() {
    freshIds(document);
    var savedAt = document.body.dataset.savedAt;
    var banner = document.getElementById("saved-copy");
    if (savedAt && banner) {
      banner.hidden = false;
      banner.textContent = t("saved_copy", {time: clock(parseInt(savedAt, 10))});
    }
    var notice = sessionStorage.getItem("tocnscd-notice");
    if (notice) {
      sessionStorage.removeItem("tocnscd-notice");
      var flash = document.getElementById("client-notice");
      if (flash) { flash.hidden = false; flash.textContent = notice; }
    }
    if (!self.Outbox) return;
    markPending();
    renderStatus();
    // A page that came from the network proves the network works: replay now, whatever the backoff said.
    // A saved copy means it did not answer: then the backoff decides.
    syncSoon(!savedAt);
    window.addEventListener("online", function () { syncSoon(true); });
    window.addEventListener("offline", renderStatus);
    window.addEventListener("outbox-changed", renderStatus);
    if (self.BroadcastChannel) new BroadcastChannel("tocnscd-outbox").onmessage = function () { renderStatus(); };
    setInterval(syncSoon, 15000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
