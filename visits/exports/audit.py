"""Who exported what, and when: one log line per export, with no personal data (ids, kinds, dates only).

The lead wires this to the audit log at merge; until then it is a logging line.
"""
import logging

logger = logging.getLogger("visits.exports")


def log_export(user, kind: str, filters: dict, format_: str, rows: int, background: bool = False) -> None:
    logger.info("export user=%s role=%s kind=%s format=%s rows=%s background=%s khu_pho=%s from=%s to=%s",
                user.id, user.role, kind, format_, rows, background,
                ",".join(str(i) for i in filters.get("khu_pho_ids", ())), filters.get("date_from") or "",
                filters.get("date_to") or "")
