// The outbox: what a member saved, kept in IndexedDB until the server has it, then replayed oldest
// first in batches. Loaded by the pages and by the service worker (Background Sync), so one code path
// sends everything. Workbox's queue semantics: one replay at a time, order kept, failures put back.
(function (scope) {
  "use strict";
  var DB_NAME = "tocnscd", DB_VERSION = 1, ITEMS = "outbox", META = "meta";
  var BATCH = 100, MAX_BACKOFF_MS = 5 * 60 * 1000, LOCK = "tocnscd-outbox-sync";
  // A request on a dying mobile link can hang for minutes, holding up every replay behind it; give up
  // and retry instead (an answer lost this way is the "duplicate" the server answers next time).
  var SESSION_TIMEOUT_MS = 20 * 1000, SYNC_TIMEOUT_MS = 60 * 1000;
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("tocnscd-outbox") : null;
  var dbPromise = null, running = null, queued = null;

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

  function run(store, mode, work, durability) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(store, mode, {durability: durability || "default"}), result;
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
      // "strict": on disk, not just handed to the OS, before the member is told it is saved on the phone
      // (a cheap phone's battery dies in the alley; Chromium's default may be "relaxed").
      return run(ITEMS, "readwrite", function (s) { return s.put(item); }, "strict").then(function () {
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
    // With {queue: true}, a replay already running (this page's, another tab's, the worker's) is followed by
    // one more instead of "busy": it may have read the outbox before the newest item, or be failing just as
    // the network comes back. At most one waits, however often it is asked.
    sync: function (options) {
      var queue = !!(options && options.queue), locks = scope.navigator && scope.navigator.locks;
      if (locks) {
        return locks.request(LOCK, {ifAvailable: true}, function (lock) {
          return lock ? replay() : "busy";
        }).then(function (outcome) {
          if (outcome !== "busy" || !queue) return outcome;
          if (!queued) queued = locks.request(LOCK, function () { queued = null; return replay(); });
          return queued;
        });
      }
      if (running) {  // no Web Locks: one replay per page at a time
        if (!queue) return Promise.resolve("busy");
        var again = function () { queued = null; return Outbox.sync(); };
        if (!queued) queued = running.then(again, again);
        return queued;
      }
      running = replay();
      var done = function () { running = null; };
      running.then(done, done);
      return running;
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

  // fetch, with the answer read as JSON, given up after `ms`: resolves to {status, body}.
  function request(url, options, ms) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, ms) : null;
    if (controller) options.signal = controller.signal;
    options.credentials = "same-origin";
    options.cache = "no-store";
    var answer = fetch(url, options).then(function (response) {
      if (!response.ok) {
        // The server's reason, when it gave one, in the member's language (JSON on /api/ routes).
        return response.json().then(function (body) { return {status: response.status, body: null, error: body.error}; },
                                    function () { return {status: response.status, body: null}; });
      }
      return response.json().then(function (body) { return {status: response.status, body: body}; });
    });
    var stop = function () { clearTimeout(timer); };
    answer.then(stop, stop);
    return answer;
  }

  function replay() {
    return request("/api/session", {}, SESSION_TIMEOUT_MS).then(function (answer) {
      if (answer.status === 401) return Outbox.setMeta("auth", "expired").then(function () { return "login"; });
      if (!answer.body) throw new Error("session " + answer.status);
      var session = answer.body;
      return Outbox.setMeta("auth", session.username).then(function () { return sendAll(session); });
    }).then(function (outcome) {
      // The server answered, so the network works: no reason left to hold the next replay back.
      var answered = [Outbox.setMeta("backoff", 0), Outbox.setMeta("retryAt", 0)];
      if (outcome === "done") answered.push(Outbox.setMeta("lastSync", Date.now()));
      return Promise.all(answered).then(function () { return outcome; });
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
    return request("/api/sync", {
      method: "POST", headers: {"Content-Type": "application/json", "X-CSRFToken": session.csrf_token},
      body: JSON.stringify({items: batch.map(function (i) { return i.payload; })})
    }, SYNC_TIMEOUT_MS).then(function (answer) {
      if (answer.status === 401) return Outbox.setMeta("auth", "expired").then(function () { return "login"; });
      if (answer.status === 413 && batch.length > 1) {
        // Too big together: send each half, so that one oversized item never holds back the others.
        var half = Math.ceil(batch.length / 2);
        return sendBatch(batch.slice(0, half), session).then(function (outcome) {
          return outcome === "done" ? sendBatch(batch.slice(half), session) : outcome;
        });
      }
      if (answer.status === 400 || answer.status === 413) {
        // The server refused the batch as a whole: retrying it unchanged would fail forever, so the member
        // sees the reason on each item, and can retry or discard it.
        return Promise.all(batch.map(function (item) {
          return Outbox.update(item.uuid, {state: "rejected", reason: answer.error || ("HTTP " + answer.status)});
        })).then(function () { return "done"; });
      }
      if (!answer.body) throw new Error("sync " + answer.status);
      return Promise.all(answer.body.results.map(function (result) {
        if (result.status === "accepted" || result.status === "duplicate") return Outbox.remove(result.uuid);
        if (result.status === "not_yet") return Outbox.update(result.uuid, {reason: result.reason, held: true});
        return Outbox.update(result.uuid, {state: result.status, reason: result.reason});
      })).then(function () { return "done"; });
    });
  }

  scope.Outbox = Outbox;
})(self);
