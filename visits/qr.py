"""QR codes for printed guides and khu phố pages, their source tags, and scan counts without personal data.

A printed code opens a URL ending in ?src=<tag>. The tag says where the code was put up (the channel) and for
which place, e.g. "tr-k3" = door flyer of khu phố 3, "mc-p1" = the one-stop desk of ward 1. A scan adds one to
the count of (code, tag, day): no IP address, cookie, user agent or anything else about the person is kept.
Tags that do not parse, or name a place that does not exist, are not counted, so nobody can fill the table.
"""
from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime

import qrcode
import qrcode.image.pure
import qrcode.image.svg
from babel.dates import get_timezone
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .database import write_intent
from .extensions import db
from .models import KhuPho, QrScan, Ward

log = logging.getLogger(__name__)

CHANNELS = {
    "tr": _l("Tờ rơi tại nhà"),
    "mc": _l("Bộ phận Một cửa"),
    "zl": _l("Nhóm Zalo"),
    "ct": _l("Màn hình cầm tay chỉ việc"),
    "in": _l("Bản in khác"),
}
TAG = re.compile(r"^(?P<channel>[a-z]{2})(?:-(?P<kind>[kp])(?P<id>\d{1,9}))?$")


@dataclass(frozen=True)
class Source:
    """Where a printed code was put up: a channel, and the khu phố or ward it belongs to."""
    channel: str
    ward_id: int | None = None
    khu_pho_id: int | None = None

    @property
    def tag(self) -> str:
        if self.khu_pho_id:
            return f"{self.channel}-k{self.khu_pho_id}"
        if self.ward_id:
            return f"{self.channel}-p{self.ward_id}"
        return self.channel


def parse_tag(tag: str | None) -> Source | None:
    """The source a tag names, with its place looked up; None for anything not ours."""
    match = TAG.match(tag or "")
    if not match or match["channel"] not in CHANNELS:
        return None
    if match["kind"] == "k":
        ward_id = db.session.scalar(select(KhuPho.ward_id).where(KhuPho.id == int(match["id"])))
        return Source(match["channel"], ward_id, int(match["id"])) if ward_id else None
    if match["kind"] == "p":
        ward = db.session.get(Ward, int(match["id"]))
        return Source(match["channel"], ward.id) if ward else None
    return Source(match["channel"])


def local_today() -> date:
    """Scans are counted by the day as the ward lives it (Vietnam time), not by UTC."""
    zone = get_timezone(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh"))
    return datetime.now(zone).date()


def record_scan(code: str, tag: str | None) -> bool:
    """Add one to today's count for (code, tag); False when the tag is not counted or the write failed.

    Runs before anything else in the request touches the database, in a writing transaction of its own,
    and never stops the page from opening: a guide must show even when counting fails.
    """
    if not tag:
        return False
    if db.session().in_transaction():
        db.session.commit()  # end any reading transaction, so that the next one starts as a writer
    previous = write_intent.set(True)
    try:
        source = parse_tag(tag)
        if source is None:
            db.session.rollback()
            return False
        key = dict(code=code, tag=source.tag, day=local_today())
        bumped = db.session.execute(update(QrScan).filter_by(**key).values(count=QrScan.count + 1)).rowcount
        if not bumped:
            try:
                with db.session.begin_nested():
                    db.session.add(QrScan(**key, count=1, ward_id=source.ward_id, khu_pho_id=source.khu_pho_id))
            except IntegrityError:  # another scan of the same code made today's row first
                db.session.execute(update(QrScan).filter_by(**key).values(count=QrScan.count + 1))
        db.session.commit()
        return True
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not count a scan of %s", code)
        return False
    finally:
        write_intent.reset(previous)


def public_url(endpoint: str, **values) -> str:
    """The absolute address printed in a code: PUBLIC_URL when set (behind a proxy), else this request's host."""
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _code(data: str) -> qrcode.QRCode:
    # Level M survives a crease or a smudge on a flyer and keeps the code coarse enough for an old phone camera.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_svg(data: str) -> bytes:
    """A QR code as one SVG path, scaled by the page that shows it."""
    image = _code(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode").encode("utf-8")


def qr_png(data: str) -> bytes:
    """A QR code as a black-and-white PNG, 10 pixels per module."""
    buffer = io.BytesIO()
    _code(data).make_image(image_factory=qrcode.image.pure.PyPNGImage).save(buffer)
    return buffer.getvalue()
