"""Response headers every page carries: a strict CSP without inline scripts, no sniffing, no framing.

Also: behind a reverse proxy (PROXY_COUNT), the client's address and scheme come from X-Forwarded-*; over
HTTPS (PREFERRED_URL_SCHEME=https, or a request that came in over HTTPS) every cookie is Secure and the
browser is told to keep to HTTPS.
"""
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

HSTS = "max-age=31536000"  # a year; no includeSubDomains: the ward's other sites are not ours to decide


def configure_security(app: Flask) -> None:
    configure_transport(app)
    cdn = app.config.get("HTMX_CDN_URL")
    cdn_origin = "{0.scheme}://{0.netloc}".format(urlsplit(cdn)) if cdn else ""
    policy = "; ".join([
        "default-src 'self'",
        f"script-src 'self' {cdn_origin}".strip(),
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ])

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "geolocation=()")  # the app never asks where anyone is
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def configure_transport(app: Flask) -> None:
    app.wsgi_app = SecureCookies(app.wsgi_app)
    hops = int(app.config.get("PROXY_COUNT") or 0)
    if hops:  # outside SecureCookies, so that it sees the scheme the proxy was asked in
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    if app.config.get("PREFERRED_URL_SCHEME") == "https":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True


class SecureCookies:
    """A cookie set over HTTPS is never sent back over plain HTTP: the session, remember-me, any other.

    WSGI middleware, because the session and remember-me cookies are set after every after_request hook.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start_response(status, headers, exc_info=None):
            headers = [(name, value + "; Secure" if name.lower() == "set-cookie" and "; secure" not in value.lower()
                        else value) for name, value in headers]
            return start_response(status, headers, exc_info)
        return self.wsgi_app(environ, secure_start_response)
