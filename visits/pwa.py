"""The installable app: manifest, service worker, offline page, outbox page, and the offline download.

The service worker's source lives in service_worker/sw.js; it is served from the site root so that its
scope is "/", with the list of app-shell files and a version made from their contents filled in.
"""
import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .extensions import db
from .models import Household, Street
from .scope import khu_pho_ids

bp = Blueprint("pwa", __name__)

ROOT = Path(__file__).resolve().parent.parent
SHELL_FILES = ["css/app.css", "js/app.js", "js/outbox.js", "js/htmx-fallback.js", "js/vendor/htmx-2.0.11.min.js",
               "icons/icon-192.png", "icons/icon-512.png", "icons/icon-maskable-512.png",
               "icons/apple-touch-icon.png", "css/guide.css", "js/guide.js"]
PAGES_PER_REQUEST = 50


@lru_cache(maxsize=1)
def shell_version() -> str:
    """Changes whenever the worker or a shell file changes, so phones fetch the new shell."""
    digest = hashlib.sha256((ROOT / "service_worker" / "sw.js").read_bytes())
    for name in SHELL_FILES:
        digest.update((ROOT / "static" / name).read_bytes())
    return digest.hexdigest()[:12]


@bp.get("/manifest.webmanifest")
def manifest():
    icons = [{"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
             {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
             {"src": url_for("static", filename="icons/icon-maskable-512.png"), "sizes": "512x512",
              "type": "image/png", "purpose": "maskable"}]
    body = {"name": _("Tổ công nghệ số cộng đồng"), "short_name": _("Tổ CNSCĐ"),
            "description": _("Đi từng ngõ, gõ từng nhà, cầm tay chỉ việc."),
            "lang": "vi", "start_url": "/?source=pwa", "scope": "/", "display": "standalone",
            "background_color": "#ffffff", "theme_color": "#0b5394", "icons": icons}
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


@bp.get("/sw.js")
def service_worker():
    source = (ROOT / "service_worker" / "sw.js").read_text()
    shell = [url_for("static", filename=name) for name in SHELL_FILES] + [url_for("pwa.offline")]
    source = source.replace("__VERSION__", shell_version()).replace("__SHELL__", json.dumps(shell)) \
        .replace("__HTMX_CDN__", json.dumps(current_app.config.get("HTMX_CDN_URL") or ""))
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    # The browser checks for a new worker after every navigation: let it hear "304 not modified".
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/offline")
def offline():
    """Shown when a page was never saved on this phone and there is no network."""
    return render_template("pwa/offline.html")


@bp.get("/outbox")
def outbox():
    """What waits on this phone; the list itself is drawn from IndexedDB by outbox.js."""
    return render_template("pwa/outbox.html")


def offline_urls() -> list[str]:
    """Every page a member needs at the doors of their khu phố: home, streets, households."""
    allowed = khu_pho_ids(current_user)
    if allowed is None or current_user.role not in ("member", "leader"):
        abort(404)
    streets = db.session.scalars(select(Street.id).where(Street.khu_pho_id.in_(allowed))
                                 .order_by(Street.position, Street.id)).all()
    households = db.session.scalars(select(Household.id).join(Street, Household.street_id == Street.id)
                                    .where(Household.khu_pho_id.in_(allowed))
                                    .order_by(Street.position, Street.id, Household.sort_key, Household.id)).all()
    from .guides import library  # the guides a member shows at the door, and their hands-on mode
    guides = [url for guide in library().all()
              for url in (url_for("guides.page", slug=guide.slug), url_for("guides.hands_on", slug=guide.slug))]
    return ([url_for("areas.home")] + [url_for("areas.street", street_id=s) for s in streets]
            + [url_for("households.page", household_id=h) for h in households]
            + [url_for("guides.index")] + guides)


@bp.get("/offline/pages")
@login_required
def offline_pages():
    """A slice of the member's pages, rendered, for "Tải về để làm offline" to put in the phone's cache."""
    urls = offline_urls()
    start = max(request.args.get("offset", 0, type=int), 0)
    chunk = urls[start:start + PAGES_PER_REQUEST]
    pages = [{"url": url, "html": render_path(url)} for url in chunk]
    following = start + len(chunk)
    return jsonify(total=len(urls), next=following if following < len(urls) else None, pages=pages)


def render_path(path: str) -> str:
    """Render one of the app's own GET pages as the browser would get it."""
    adapter = current_app.url_map.bind("localhost")
    endpoint, args = adapter.match(path, method="GET")
    response = current_app.make_response(current_app.view_functions[endpoint](**args))
    return response.get_data(as_text=True)


@bp.app_context_processor
def client_messages():
    """The words the page scripts show, translated like every other string (once per language: every page
    carries them, and translating them again each time was a tenth of a short page's work)."""
    return {"client_messages": translated_client_messages(str(get_locale()))}


@lru_cache(maxsize=8)
def translated_client_messages(locale: str) -> dict:
    """The messages in `locale`, which is the current request's (the cache key; gettext reads the request)."""
    return {
        "online": _("Có mạng"), "offline": _("Không có mạng"),
        "waiting": _("Chờ đồng bộ: {n}"), "last_sync": _("Đồng bộ lúc {time}"), "never_synced": _("Chưa đồng bộ"),
        "pending": _("Chờ đồng bộ"), "saved_on_phone": _("Đã lưu trên điện thoại, sẽ tự gửi khi có mạng."),
        "next_household": _("Hộ tiếp theo →"), "choose_outcome": _("Hãy chọn kết quả lần thăm."),
        "storage_failed": _("Không lưu được trên điện thoại:"),
        "saved_copy": _("Bản lưu lúc {time} — đang xem khi không có mạng."),
        "saved_at": _("Lưu lúc {time}"), "other_user": _("của {user}: chờ người này đăng nhập"),
        "kind_visit": _("Lần thăm"), "kind_household": _("Hộ mới"), "kind_resident": _("Nhân khẩu mới"),
        "kind_correction": _("Sửa thông tin"), "kind_moved": _("Chuyển đi"),
        "confirm_discard": _("Bỏ hẳn mục này? Nó sẽ không được gửi lên máy chủ."),
        "download_start": _("Đang tải…"), "download_count": _("Đã tải {done}/{total} trang"),
        "download_done": _("Đã tải {n} trang lúc {time}. Có thể làm việc khi không có mạng."),
        "download_failed": _("Tải chưa xong vì mất mạng. Bấm lại để tải tiếp."),
        "send_error": _("Không gửi được: mất kết nối mạng. Dữ liệu chưa được lưu, hãy thử lại khi có sóng."),
        "server_error": _("Máy chủ báo lỗi nên dữ liệu chưa được lưu. Hãy thử lại."),
    }
