// The outbox: what a member saved, kept in IndexedDB until the server has it, then replayed oldest
// first in batches. Loaded by the pages and by the service worker (Background Sync), so one code path
// sends everything. Workbox's queue semantics: one replay at a time, order kept, failures put back.
(function (scope) {
  "use strict";
  var DB_NAME = "tocnscd", DB_VERSION = 1, ITEMS = "outbox", META = "meta";
  var BATCH = 100, MAX_BACKOFF_MS = 5 * 60 * 1000;
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("tocnscd-outbox") : null;
  var dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = function () {
          var db = request.result;
          db.createObjectStore(ITEMS, {keyPath: "uuid"}).createIndex("created", "created");
          db.createObjectStore(META);
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { dbPromise = null; reject(request.error); };
      });
    }
    return dbPromise;
  }

  function run(store, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(store, mode), result;
        var request = work(tx.objectStore(store));
        if (request) request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { resolve(result); };  // resolved only once the write is durable
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function changed() {
    if (channel) channel.postMessage({type: "changed"});
    if (scope.document) scope.dispatchEvent(new CustomEvent("outbox-changed"));
  }

  var Outbox = {
    add: function (item) {
      item.created = item.created || Date.now();
      item.state = "waiting";
      return run(ITEMS, "readwrite", function (s) { return s.put(item); }).then(function () {
        changed();
        return item;
      });
    },
    all: function () {
      return run(ITEMS, "readonly", function (s) { return s.index("created").getAll(); }).then(function (list) {
        return list || [];
      });
    },
    get: function (uuid) { return run(ITEMS, "readonly", function (s) { return s.get(uuid); }); },
    remove: function (uuid) {
      return run(ITEMS, "readwrite", function (s) { return s.delete(uuid); }).then(changed);
    },
    update: function (uuid, patch) {
      return Outbox.get(uuid).then(function (item) {
        if (!item) return null;
        Object.keys(patch).forEach(function (key) { item[key] = patch[key]; });
        return run(ITEMS, "readwrite", function (s) { return s.put(item); }).then(changed);
      });
    },
    meta: function (key) { return run(META, "readonly", function (s) { return s.get(key); }); },
    setMeta: function (key, value) {
      return run(META, "readwrite", function (s) { return s.put(value, key); }).then(changed);
    },

    // Send what waits. Resolves to "done", "offline", "login" (the session ended) or "busy".
    sync: function () {
      if (scope.navigator && scope.navigator.locks) {
        return scope.navigator.locks.request("tocnscd-outbox-sync", {ifAvailable: true}, function (lock) {
          return lock ? replay() : "busy";
        });
      }
      if (Outbox._running) return Promise.resolve("busy");
      Outbox._running = true;
      return replay().finally(function () { Outbox._running = false; });
    },

    // The next door of the round: unvisited first after `after` (wrapping), then those to come back to.
    pickNext: function (rows, after) {
      var start = rows.findIndex(function (r) { return String(r.id) === String(after); }) + 1;
      var rotated = rows.slice(start).concat(rows.slice(0, start));
      var wanted = [["chua_tham"], ["hen_quay_lai", "khong_co_nha"]];
      for (var i = 0; i < wanted.length; i++) {
        var hit = rotated.find(function (r) { return wanted[i].indexOf(r.status) >= 0 && String(r.id) !== String(after); });
        if (hit) return hit.id;
      }
      return null;
    }
  };

  function replay() {
    return fetch("/api/session", {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (response.status === 401) return Outbox.setMeta("auth", "expired").then(function () { return "login"; });
      if (!response.ok) throw new Error("session " + response.status);
      return response.json().then(function (session) {
        return Outbox.setMeta("auth", session.username).then(function () { return sendAll(session); });
      });
    }).then(function (outcome) {
      if (outcome !== "done") return outcome;
      return Promise.all([Outbox.setMeta("lastSync", Date.now()), Outbox.setMeta("backoff", 0)])
        .then(function () { return "done"; });
    }, function () {
      // No network or a server error: keep everything and try again later, waiting longer each time.
      return Outbox.meta("backoff").then(function (previous) {
        var wait = Math.min(MAX_BACKOFF_MS, Math.max(5000, (previous || 0) * 2));
        return Promise.all([Outbox.setMeta("backoff", wait), Outbox.setMeta("retryAt", Date.now() + wait)]);
      }).then(function () { return "offline"; });
    });
  }

  function sendAll(session) {
    return Outbox.all().then(function (items) {
      // Rejected items wait for the member; another member's items wait for that member's login.
      var due = items.filter(function (i) { return i.state === "waiting" && i.username === session.username; });
      var batches = [];
      for (var i = 0; i < due.length; i += BATCH) batches.push(due.slice(i, i + BATCH));
      return batches.reduce(function (previous, batch) {
        return previous.then(function (outcome) { return outcome === "done" ? sendBatch(batch, session) : outcome; });
      }, Promise.resolve("done"));
    });
  }

  function sendBatch(batch, session) {
    return fetch("/api/sync", {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: {"Content-Type": "application/json", "X-CSRFToken": session.csrf_token},
      body: JSON.stringify({items: batch.map(function (i) { return i.payload; })})
    }).then(function (response) {
      if (response.status === 401) return Outbox.setMeta("auth", "expired").then(function () { return "login"; });
      if (!response.ok) throw new Error("sync " + response.status);
      return response.json().then(function (body) {
        return Promise.all(body.results.map(function (result) {
          if (result.status === "accepted" || result.status === "duplicate") return Outbox.remove(result.uuid);
          if (result.status === "not_yet") return Outbox.update(result.uuid, {reason: result.reason, held: true});
          return Outbox.update(result.uuid, {state: result.status, reason: result.reason});
        }));
      }).then(function () { return "done"; });
    });
  }

  scope.Outbox = Outbox;
})(self);
