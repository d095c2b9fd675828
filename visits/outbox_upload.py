"""Staff take in a phone's saved outbox file ("Lưu ra tệp"), the last resort when a phone must be reset.

Each item is recorded as its author's, through the same path as the phone's own sync, so a file uploaded
twice, or after the phone synced after all, writes nothing twice.
"""

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from . import audit, consent
from .extensions import db
from .models import User
from .scope import khu_pho_ids
from .sync import MAX_BATCH, Batch
from .request_input import parsed_json

bp = Blueprint("outbox_upload", __name__)


def require_staff() -> None:
    if current_user.role not in ("staff", "admin"):
        abort(404)


@bp.get("/outbox/upload")
@login_required
def form():
    require_staff()
    return render_template("pwa/upload.html")


@bp.post("/outbox/upload")
@login_required
def upload():
    require_staff()
    upload = request.files.get("file")
    try:
        items = outbox_items(upload.read() if upload else b"")
    except ValueError as problem:
        return render_template("pwa/upload.html", error=str(problem)), 422
    results = []
    for author, payloads in by_author(items).items():
        if author is None:
            results += [{"uuid": p.get("uuid") if isinstance(p, dict) else None, "status": "rejected",
                         "reason": _("Người ghi không có, hoặc không thuộc phường của bạn.")} for p in payloads]
            continue
        for start in range(0, len(payloads), MAX_BATCH):
            batch = payloads[start:start + MAX_BATCH]
            answered = Batch(author).apply(batch)
            consent.record_from_sync(batch, answered, author)  # the household's answer, as its author recorded it
            results += answered
    counts = {status: sum(1 for r in results if r["status"] == status)
              for status in ("accepted", "duplicate", "not_yet", "conflict", "rejected")}
    if counts["accepted"]:
        audit.record("outbox_upload", "visit", details={"items": len(results), **counts})
    db.session.commit()
    problems = [r for r in results if r["status"] in ("rejected", "conflict", "not_yet")]
    return render_template("pwa/upload.html", counts=counts, problems=problems)


def outbox_items(data: bytes) -> list:
    """The items of a file saved by "Lưu ra tệp", or ValueError saying what is wrong with it."""
    if not data:
        raise ValueError(_("Hãy chọn tệp đã lưu từ điện thoại (.json)."))
    try:
        body = parsed_json(data)
    except (ValueError, RecursionError):
        raise ValueError(_("Tệp này không phải tệp \"Lưu ra tệp\" của ứng dụng (không đọc được JSON).")) from None
    if not isinstance(body, dict) or body.get("app") != "to-cnscd-outbox" or not isinstance(body.get("items"), list):
        raise ValueError(_("Tệp này không phải tệp \"Lưu ra tệp\" của ứng dụng."))
    return body["items"]


def by_author(items: list) -> dict:
    """Payloads grouped by the user who recorded them; None for authors outside this staff member's ward."""
    allowed = khu_pho_ids(current_user)
    groups: dict = {}
    authors: dict = {}
    for item in items:
        name = item.get("username") if isinstance(item, dict) else None
        if name not in authors:
            user = db.session.scalar(select(User).where(User.username == name)) if isinstance(name, str) else None
            authors[name] = user if user is not None and in_ward(user, allowed) else None
        payload = item.get("payload") if isinstance(item, dict) else item
        groups.setdefault(authors[name], []).append(payload)
    return groups


def in_ward(user: User, allowed: list | None) -> bool:
    if allowed is None:
        return True
    mine = khu_pho_ids(user)
    return mine is not None and bool(mine) and set(mine) <= set(allowed)
