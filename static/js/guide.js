// Guides: let the app's service worker keep a copy for offline use; the hands-on mode shows one step at a time
// (buttons, arrow keys, swipes), and print sheets get a print button. Plain links work without this file.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(function () {});
    });
  }
  var print = document.querySelector("[data-print]");
  if (print) print.addEventListener("click", function () { window.print(); });

  var deck = document.querySelector("[data-deck]");
  if (!deck) return;
  var slides = deck.querySelectorAll("[data-slide]");
  var label = deck.querySelector("[data-count-label]");
  var back = deck.querySelector("[data-go='-1']"), next = deck.querySelector("[data-go='1']");
  var finish = deck.querySelector("[data-finish]");
  var current = Number(deck.getAttribute("data-current")) || 0;

  function show(n) {
    current = Math.max(0, Math.min(slides.length - 1, n));
    for (var i = 0; i < slides.length; i++) slides[i].hidden = i !== current;
    label.textContent = slides[current].getAttribute("data-label");
    back.setAttribute("aria-disabled", String(current === 0));
    back.href = "?buoc=" + Math.max(current - 1, 0);
    next.href = "?buoc=" + (current + 1);
    next.hidden = current === slides.length - 1;
    finish.hidden = !next.hidden;
    history.replaceState(null, "", "?buoc=" + current);
    window.scrollTo(0, 0);
  }

  deck.addEventListener("click", function (event) {
    var button = event.target.closest("[data-go]");
    if (!button) return;
    event.preventDefault();
    show(current + Number(button.getAttribute("data-go")));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight" || event.key === "PageDown") show(current + 1);
    if (event.key === "ArrowLeft" || event.key === "PageUp") show(current - 1);
  });
  var startX = null;
  deck.addEventListener("touchstart", function (event) { startX = event.touches[0].clientX; }, {passive: true});
  deck.addEventListener("touchend", function (event) {
    var dx = startX === null ? 0 : event.changedTouches[0].clientX - startX;
    if (Math.abs(dx) > 80) show(current + (dx < 0 ? 1 : -1));
    startX = null;
  });
  var full = deck.querySelector("[data-fullscreen]");
  if (full && document.documentElement.requestFullscreen) {
    full.hidden = false;
    full.addEventListener("click", function () {
      if (document.fullscreenElement) document.exitFullscreen();
      else document.documentElement.requestFullscreen().catch(function () {});
    });
  }
})();
