"""Recording what happens at the door: visits and field changes, each exactly once by its UUID.

These functions are the one way data enters from the field, for the web form today and for the
offline sync later. Each validates everything first and writes nothing when a part is wrong.
"""
import hashlib
import json
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask_babel import gettext as _
from sqlalchemy import select

from .extensions import db
from .models import ANSWERS, OUTCOMES, Change, ChecklistItem, Household, Resident, User, Visit, VisitAnswer, utcnow
from .state import (FACT_FIELDS, Line, apply_line, encode_fact, apply_visit_outcome, lines_of_change, lines_of_visit,
                    refresh_household, states_of)

FACT_VALUES = {
    "phone_kind": ("none", "basic", "smart"),
    "sim": ("2g", "4g", "unknown"),
    "handset_2g_only": ("yes", "no"),
    "has_epay": ("yes", "no"),
    "moved_away": ("yes", "no"),
}
# A phone's clock may be a little ahead; a visit claimed for next week is a wrong clock or a forgery.
CLOCK_SKEW = timedelta(hours=12)


class Rejected(ValueError):
    """The input cannot be recorded; the message says why, in the user's language."""


@dataclass
class VisitInput:
    uuid: str
    recorded_at: datetime
    outcome: str
    notes: str = ""
    met: list[int] = field(default_factory=list)
    answers: list[tuple[int | None, str, str]] = field(default_factory=list)  # (resident id, code, value)
    facts: list[tuple[int, str, str]] = field(default_factory=list)  # (resident id, field, value)


@dataclass
class Outcome:
    status: str  # accepted | duplicate | conflict
    record: object = None


def checked_uuid(value: str) -> str:
    try:
        return str(uuidlib.UUID(str(value)))
    except ValueError:
        raise Rejected(_("Mã định danh (UUID) không hợp lệ: %(value)s", value=str(value)[:40])) from None


def checked_time(value: datetime) -> datetime:
    if value > utcnow() + CLOCK_SKEW:
        raise Rejected(_("Thời điểm ghi nhận ở tương lai: kiểm tra lại đồng hồ của điện thoại."))
    if value.year < 2020:
        raise Rejected(_("Thời điểm ghi nhận quá xa trong quá khứ."))
    return value


def record_visit(user: User, household: Household, data: VisitInput, items: list[ChecklistItem], rules) -> Outcome:
    """Store a visit and bring the household's state up to date, in the caller's transaction."""
    data.uuid = checked_uuid(data.uuid)
    data.recorded_at = checked_time(data.recorded_at)
    _check_visit(household, data, {i.code: i for i in items})
    digest = visit_digest(household, data)
    earlier = db.session.scalar(select(Visit).where(Visit.uuid == data.uuid))
    if earlier is not None:
        return Outcome("duplicate" if earlier.content_hash == digest else "conflict", earlier)

    visit = Visit(uuid=data.uuid, household_id=household.id, user_id=user.id, recorded_at=data.recorded_at,
                  outcome=data.outcome, notes=data.notes, met_resident_ids=sorted(data.met),
                  content_hash=digest)
    visit.answers = [VisitAnswer(resident_id=rid, kind="item", code=code, value=value)
                     for rid, code, value in data.answers]
    visit.answers += [VisitAnswer(resident_id=rid, kind="fact", code=name, value=value)
                      for rid, name, value in data.facts]
    db.session.add(visit)
    states = states_of(household)
    apply_visit_outcome(household, visit)
    for line in lines_of_visit(visit):
        apply_line(household, line, states)
    refresh_household(household, items, rules, states)
    return Outcome("accepted", visit)


def _check_visit(household: Household, data: VisitInput, items: dict) -> None:
    if data.outcome not in OUTCOMES:
        raise Rejected(_("Kết quả lần thăm không hợp lệ: %(value)s", value=data.outcome))
    residents = {r.id for r in household.residents}
    for rid in data.met:
        if rid not in residents:
            raise Rejected(_("Nhân khẩu %(id)s không thuộc hộ này.", id=rid))
    for rid, code, value in data.answers:
        item = items.get(code)
        if item is None:
            raise Rejected(_("Không có mục \"%(code)s\" trong danh sách việc cần làm.", code=code))
        if value not in ANSWERS:
            raise Rejected(_("Câu trả lời \"%(value)s\" cho mục %(label)s không hợp lệ.", value=value, label=item.label))
        if (item.applies_to == "resident") != (rid is not None):
            raise Rejected(_("Mục %(label)s không áp dụng cho đối tượng này.", label=item.label))
        if rid is not None and rid not in residents:
            raise Rejected(_("Nhân khẩu %(id)s không thuộc hộ này.", id=rid))
    for rid, name, value in data.facts:
        _check_fact(rid, name, value, residents)


def _check_fact(rid, name, value, residents) -> None:
    if rid not in residents:
        raise Rejected(_("Nhân khẩu %(id)s không thuộc hộ này.", id=rid))
    if name not in FACT_VALUES or value not in FACT_VALUES[name]:
        raise Rejected(_("Thông tin \"%(name)s\" = \"%(value)s\" không hợp lệ.", name=name, value=value))


def visit_digest(household: Household, data: VisitInput) -> str:
    """What makes two submissions of one UUID the same visit (a replay) or a conflict."""
    canonical = json.dumps({
        "household": household.uuid, "recorded_at": data.recorded_at.isoformat(timespec="seconds"),
        "outcome": data.outcome, "notes": data.notes, "met": sorted(data.met),
        "answers": sorted([rid or 0, code, value] for rid, code, value in data.answers),
        "facts": sorted([rid, name, value] for rid, name, value in data.facts),
    }, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- Field changes ------------------------------------------------------------------------------

def record_change(user: User | None, kind: str, uuid: str, recorded_at: datetime, household: Household,
                  resident: Resident | None, payload: dict) -> Outcome:
    """Log a field change once by UUID and apply the facts it carries to the resident's state."""
    uuid = checked_uuid(uuid)
    recorded_at = checked_time(recorded_at)
    earlier = db.session.scalar(select(Change).where(Change.uuid == uuid))
    if earlier is not None:
        return Outcome("duplicate" if earlier.payload == payload and earlier.kind == kind else "conflict", earlier)
    for name, value in payload.get("facts", {}).items():
        _check_fact(resident.id, name, value, {resident.id})
    change = Change(uuid=uuid, kind=kind, user_id=user.id if user else None, household_id=household.id,
                    resident_id=resident.id if resident else None, recorded_at=recorded_at, payload=payload)
    db.session.add(change)
    return Outcome("accepted", change)


def apply_change_facts(change: Change, household: Household, items, rules) -> None:
    """Bring the household's state up to date with the facts of a change."""
    states = states_of(household)
    for line in lines_of_change(change):
        apply_line(household, line, states)
    refresh_household(household, items, rules, states)


def facts_payload(values: dict) -> dict:
    """Keep only known facts, as strings, for a change's payload."""
    encoded = {k: encode_fact(k, v) if isinstance(v, bool) else v for k, v in values.items()}
    return {"facts": {k: v for k, v in encoded.items() if k in FACT_FIELDS and v is not None}}


__all__ = ["Rejected", "VisitInput", "Outcome", "record_visit", "record_change", "apply_change_facts",
           "facts_payload", "Line"]


def client_time(value: str | None) -> datetime:
    """The phone's clock as naive UTC; now when the form did not say."""
    if not value:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Rejected(_("Thời điểm ghi nhận không hợp lệ: %(value)s", value=value[:40])) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment
