"""Who exported what, and when: an entry in the audit log (visits/audit.py) and a log line, with no personal
data (ids, kinds, dates only)."""
import logging

from .. import audit
from ..extensions import db

logger = logging.getLogger("visits.exports")


def record_export(kind: str, filters: dict, format_: str) -> None:
    """In the request's own write transaction, before the long read begins: the entry is kept even if the
    download is cut off half way."""
    places = filters.get("khu_pho_ids") or []
    audit.record("export", kind, khu_pho_id=places[0] if len(places) == 1 else None,
                 details={"format": format_, **filters})
    db.session.commit()


def log_export(user, kind: str, filters: dict, format_: str, rows: int, background: bool = False) -> None:
    logger.info("export user=%s role=%s kind=%s format=%s rows=%s background=%s khu_pho=%s from=%s to=%s",
                user.id, user.role, kind, format_, rows, background,
                ",".join(str(i) for i in filters.get("khu_pho_ids", ())), filters.get("date_from") or "",
                filters.get("date_to") or "")
