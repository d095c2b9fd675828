"""Recording what happens at the door: visits and field changes, each exactly once by its UUID.

These functions are the one way data enters from the field, for the web form today and for the
offline sync later. Each validates everything first and writes nothing when a part is wrong.
"""
import hashlib
import json
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask_babel import gettext as _
from sqlalchemy import select

from .extensions import db
from .models import ANSWERS, OUTCOMES, Change, ChecklistItem, Household, Resident, User, Visit, VisitAnswer, utcnow
from .state import (FACT_FIELDS, Line, apply_line, encode_fact, apply_visit_outcome, insert_many, lines_of_change,
                    lines_of_visit, lock_household, refresh_counters, refresh_household, states_of)

FACT_VALUES = {
    "phone_kind": ("none", "basic", "smart"),
    "sim": ("2g", "4g", "unknown"),
    "handset_2g_only": ("yes", "no"),
    "has_epay": ("yes", "no"),
    "moved_away": ("yes", "no"),
}
# What str(uuid.UUID(x)) gives: such a value is taken as it is, without parsing it.
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
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
    if isinstance(value, str) and CANONICAL_UUID.fullmatch(value):
        return value
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
    lock_household(household)
    digest = prepare_visit(household, data, {i.code: i for i in items}, {r.id for r in household.residents})
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
    refresh_counters([household.id])
    return Outcome("accepted", visit)


def prepare_visit(household, data: VisitInput, items: dict, residents: set[int]) -> str:
    """Check a visit against its household (residents: their ids) and the checklist (items by code); its digest.

    Normalises data.uuid; raises Rejected with the first problem found. Reads nothing from the database.
    """
    data.uuid = checked_uuid(data.uuid)
    data.recorded_at = checked_time(data.recorded_at)
    _check_visit(residents, data, items)
    return visit_digest(household, data)


def _check_visit(residents: set[int], data: VisitInput, items: dict) -> None:
    if data.outcome not in OUTCOMES:
        raise Rejected(_("Kết quả lần thăm không hợp lệ: %(value)s", value=data.outcome))
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


# json.dumps(value, ensure_ascii=False, sort_keys=True), without a new encoder per call; the digests of visits
# stored already depend on these very bytes.
_DIGEST_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def visit_digest(household: Household, data: VisitInput) -> str:
    """What makes two submissions of one UUID the same visit (a replay) or a conflict."""
    canonical = _DIGEST_JSON({
        "household": household.uuid, "recorded_at": data.recorded_at.isoformat(timespec="seconds"),
        "outcome": data.outcome, "notes": data.notes, "met": sorted(data.met),
        "answers": sorted([rid or 0, code, value] for rid, code, value in data.answers),
        "facts": sorted([rid, name, value] for rid, name, value in data.facts),
    })
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- Field changes ------------------------------------------------------------------------------

def record_change(user: User | None, kind: str, uuid: str, recorded_at: datetime, household: Household,
                  resident: Resident | None, payload: dict) -> Outcome:
    """Log a field change once by UUID and apply the facts it carries to the resident's state."""
    uuid = checked_uuid(uuid)
    recorded_at = checked_time(recorded_at)
    earlier = db.session.scalar(select(Change).where(Change.uuid == uuid))
    if earlier is not None:
        same = earlier.payload == payload and earlier.kind == kind and \
            earlier.resident_id == (resident.id if resident else None)
        return Outcome("duplicate" if same else "conflict", earlier)
    for name, value in payload.get("facts", {}).items():
        _check_fact(resident.id, name, value, {resident.id})
    change = Change(uuid=uuid, kind=kind, user_id=user.id if user else None, household_id=household.id,
                    resident_id=resident.id if resident else None, recorded_at=recorded_at, payload=payload)
    db.session.add(change)
    return Outcome("accepted", change)


def apply_change_facts(change: Change, household: Household, items, rules) -> None:
    """Bring the household's state up to date with the facts of a change."""
    lock_household(household)
    states = states_of(household)
    for line in lines_of_change(change):
        apply_line(household, line, states)
    refresh_household(household, items, rules, states)
    refresh_counters([household.id])


def facts_payload(values: dict) -> dict:
    """Keep only known facts, as strings, for a change's payload."""
    encoded = {k: encode_fact(k, v) if isinstance(v, bool) else v for k, v in values.items()}
    return {"facts": {k: v for k, v in encoded.items() if k in FACT_FIELDS and v is not None}}


def write_visits(user_id: int, accepted: list[tuple[VisitInput, int, str]]) -> None:
    """Insert visits already checked by prepare_visit, with their answers, in two statements.

    accepted holds (visit, household id, digest). The rows are those record_visit writes; the state they change
    is written by state.write_households.
    """
    if not accepted:
        return
    visits, answers = Visit.__table__, VisitAnswer.__table__
    received_at = utcnow()
    ids = dict(insert_many(visits, ("uuid", "household_id", "user_id", "recorded_at", "received_at", "outcome",
                                    "met_resident_ids", "notes", "content_hash"),
                           [(data.uuid, household_id, user_id, data.recorded_at, received_at, data.outcome,
                             sorted(data.met), data.notes, digest) for data, household_id, digest in accepted],
                           returning=("uuid", "id")))
    rows = []
    for data, _household_id, _digest in accepted:
        visit_id = ids[data.uuid]
        rows += [(visit_id, rid, "item", code, value) for rid, code, value in data.answers]
        rows += [(visit_id, rid, "fact", name, value) for rid, name, value in data.facts]
    insert_many(answers, ("visit_id", "resident_id", "kind", "code", "value"), rows)


__all__ = ["Rejected", "VisitInput", "Outcome", "record_visit", "prepare_visit", "write_visits", "record_change",
           "apply_change_facts", "facts_payload", "Line"]


def client_time(value: str | None) -> datetime:
    """The phone's clock as naive UTC; now when the form did not say."""
    if not value:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: "0001-01-01T00:00+01:00" falls before year 1 in UTC
        raise Rejected(_("Thời điểm ghi nhận không hợp lệ: %(value)s", value=value[:40])) from None
    return moment
