"""Configuration: defaults, then instance/config.py, then environment variables."""
import os
import secrets
from datetime import timedelta
from pathlib import Path


def default_config(instance_path: str) -> dict:
    """The settings every deployment starts from."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance_path) / 'visits.sqlite'}",
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        # How long a login lasts (README "Đăng nhập và phiên làm việc"): 8 hours without a request ends it,
        # 7 days on a phone where "remember me" was ticked (the cookie's lifetime slides with use),
        # and 30 days after the password was typed it ends in any case.
        "SESSION_IDLE_TIMEOUT": timedelta(hours=8),
        "SESSION_REMEMBER_IDLE_TIMEOUT": timedelta(days=7),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(days=30),
        "REMEMBER_COOKIE_DURATION": timedelta(days=7),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "WTF_CSRF_TIME_LIMIT": None,  # a form opened at 7:00 in an alley is still sent at 11:00
        # Counts shared by every worker on the machine (visits/ratelimit_storage.py); redis:// for several.
        "RATELIMIT_STORAGE_URI": f"sqlitefile://{Path(instance_path) / 'ratelimit.sqlite'}",
        # Failed logins, per address and per account (a member is never locked out for long).
        "RATELIMIT_LOGIN": "10 per minute;50 per hour",
        "RATELIMIT_LOGIN_ACCOUNT": "10 per 15 minutes",
        "RATELIMIT_HEADERS_ENABLED": False,
        "HTMX_CDN_URL": "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js",
        "HTMX_SRI": "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg",
        "PLAN_CODE": "KH62-2024",
        # Streamed responses (exports) are not compressed: xlsx is a zip already, and flask-compress
        # leaves a streamed file open; static files are read whole instead (visits.App).
        "COMPRESS_STREAMS": False,
        # A batch of 100 visits is about 60 KB; anything far larger is refused with 413 before it is read.
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Served over HTTPS: set PREFERRED_URL_SCHEME=https (cookies get Secure even on a plain-HTTP hop
        # behind the proxy), and PROXY_COUNT=1 when one reverse proxy (nginx, Caddy) stands in front, so
        # the client's address (rate limits) and scheme come from its X-Forwarded-* headers.
        "PREFERRED_URL_SCHEME": "http",
        "PROXY_COUNT": 0,
    }


def environment_overrides() -> dict:
    """Settings given as environment variables win over files."""
    overrides = {}
    if os.environ.get("DATABASE_URL"):
        overrides["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(os.environ["DATABASE_URL"])
    if os.environ.get("SECRET_KEY"):
        overrides["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if os.environ.get("RATELIMIT_STORAGE_URI"):
        overrides["RATELIMIT_STORAGE_URI"] = os.environ["RATELIMIT_STORAGE_URI"]
    if os.environ.get("PREFERRED_URL_SCHEME"):
        overrides["PREFERRED_URL_SCHEME"] = os.environ["PREFERRED_URL_SCHEME"]
    if os.environ.get("PROXY_COUNT"):
        overrides["PROXY_COUNT"] = int(os.environ["PROXY_COUNT"])
    if os.environ.get("HTMX_CDN_URL") is not None:
        overrides["HTMX_CDN_URL"] = os.environ["HTMX_CDN_URL"]
    return overrides


def normalise_database_url(url: str) -> str:
    """Let people write postgresql:// and get the psycopg2 driver (why psycopg2: README "Running on PostgreSQL")."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def engine_options(url: str, given: dict | None) -> dict:
    """SQLAlchemy engine options: psycopg2 sends an executemany of UPDATEs as pages of statements (execute_batch)
    rather than one round trip per row; INSERTs go as multi-row VALUES either way."""
    options = dict(given or {})
    if url.startswith("postgresql+psycopg2://"):
        options.setdefault("executemany_mode", "values_plus_batch")
    return options


def instance_secret_key(instance_path: str) -> str:
    """Read the secret key kept in instance/, making it on first run."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
