// Small behaviours attached by attributes; no inline scripts (the CSP forbids them).
(function () {
  "use strict";

  // Stamp the phone's clock on a visit or change when it is saved, once, so a resend keeps it.
  document.addEventListener("submit", function (event) {
    var stamp = event.target.querySelector && event.target.querySelector("input[name=recorded_at]");
    if (stamp && !stamp.dataset.stamped) {
      stamp.value = new Date().toISOString();
      stamp.dataset.stamped = "1";
    }
  }, true);

  // htmx requests carry the CSRF token in a header too.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector("meta[name=csrf-token]");
    if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
  });

  // A failed request must not look like a saved one.
  document.addEventListener("htmx:sendError", function () {
    alert(document.body.dataset.msgSendError);
  });
  document.addEventListener("htmx:responseError", function (event) {
    alert(document.body.dataset.msgServerError + " (" + event.detail.xhr.status + ")");
  });
})();
