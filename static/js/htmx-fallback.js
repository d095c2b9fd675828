// The CDN copy of htmx did not load (no signal, blocked): use the copy shipped with the app.
window.htmx || document.write('<script src="/static/js/vendor/htmx-2.0.11.min.js"><\/script>');
