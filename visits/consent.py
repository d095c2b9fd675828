"""The household's answer, asked at the first visit, to having its data kept (Nghị định 13/2023/NĐ-CP).

"yes" is recorded once, with who asked and when. "no" is recorded too, and at once the residents' names and
phones are erased (visits/erasure.py): the household's answers are kept only as anonymous counts. A "no" given
later (the household changed its mind) is honoured the same way; a later "yes" does not undo an erasure.
It comes with a visit: a field of the visit form, and "consent" on a visit item of /api/sync.
"""
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from . import audit
from .erasure import erase_household
from .extensions import db
from .models import Household, User, Visit
from .recording import Rejected, checked_uuid

ANSWERS = ("yes", "no")


def checked(value) -> str | None:
    """The answer as sent ("" or None: not asked), or Rejected naming the problem."""
    if value in (None, ""):
        return None
    if value not in ANSWERS:
        raise Rejected(_("Câu trả lời về việc đồng ý lưu dữ liệu không hợp lệ: %(value)s", value=str(value)[:20]))
    return value


def record_consent(household: Household, user: User, answer: str | None, at: datetime) -> None:
    """Record the household's answer, in the caller's transaction; a refusal erases its residents' names."""
    if answer is None or (answer == "yes" and household.consent is not None):
        return
    if answer == household.consent:
        return
    db.session.flush()  # what came before is logged as usual; the entry below tells this change
    with audit.paused():
        household.consent, household.consent_at, household.consent_by_id = answer, at, user.id
        db.session.flush()
    if answer == "no":
        erase_household(household, user, reason="refused")
    audit.record("consent", "household", household.id, khu_pho_id=household.khu_pho_id,
                 details={"consent": answer}, user_id=user.id)


def record_from_sync(items: list, results: list[dict], user: User) -> None:
    """The answers carried by the batch's accepted visits (a replay has had its answer recorded already)."""
    for item, result in zip(items, results):
        if not isinstance(item, dict) or item.get("type") != "visit" or not item.get("consent") \
                or result.get("status") != "accepted":
            continue
        try:
            answer = checked(item.get("consent"))
        except Rejected as problem:
            result["consent"] = str(problem)  # the visit itself is in; the app never sends such a value
            continue
        visit = db.session.scalar(select(Visit).where(Visit.uuid == checked_uuid(item["uuid"])))
        if visit is not None:
            record_consent(db.session.get(Household, visit.household_id), user, answer, visit.recorded_at)
