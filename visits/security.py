"""Response headers every page carries: a strict CSP without inline scripts, no sniffing, no framing."""
from urllib.parse import urlsplit

from flask import Flask


def configure_security(app: Flask) -> None:
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
        return response
