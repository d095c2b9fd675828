"""POST /api/sync: the outbox of a phone, replayed in batches; every item answered on its own.

Each item is applied in a savepoint, so one bad item never blocks the others, and the batch is
committed before the answer goes out: an item answered "accepted" or "duplicate" is durable, and the
phone may drop it. Items name households and residents by UUID, because a phone makes them offline.
"""
from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from . import roster
from .checklist import plan_items, plan_rules
from .extensions import db
from .models import Household, Resident, Street, SyncConflict
from .recording import Outcome, Rejected, VisitInput, client_time, record_visit
from .scope import khu_pho_ids
from .state import FACT_FIELDS
from .text import nfc

bp = Blueprint("sync", __name__, url_prefix="/api")

MAX_BATCH = 100


class NotYet(Exception):
    """The item names a household or resident this server has not received yet: hold and retry."""


def unauthorized():
    return jsonify(error=_("Phiên đăng nhập đã hết. Hãy đăng nhập lại; dữ liệu chờ vẫn được giữ trên máy.")), 401


@bp.get("/session")
def session_info():
    """Who is logged in, and a fresh CSRF token for the sync requests of a page cached long ago."""
    if not current_user.is_authenticated:
        return unauthorized()
    return jsonify(username=current_user.username, csrf_token=generate_csrf())


@bp.post("/sync")
def sync():
    if not current_user.is_authenticated:
        return unauthorized()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return jsonify(error=_("Dữ liệu gửi lên không đúng dạng: cần một đối tượng JSON có danh sách \"items\".")), 400
    if len(body["items"]) > MAX_BATCH:
        return jsonify(error=_("Mỗi lần gửi tối đa %(n)s mục.", n=MAX_BATCH)), 400
    results = [apply_item(item) for item in body["items"]]
    db.session.commit()
    return jsonify(results=results)


def apply_item(item) -> dict:
    uuid = item.get("uuid") if isinstance(item, dict) else None
    answer = {"uuid": uuid if isinstance(uuid, str) else None}
    try:
        if not isinstance(item, dict):
            raise Rejected(_("Mục gửi lên không đúng dạng."))
        handler = HANDLERS.get(item.get("type"))
        if handler is None:
            raise Rejected(_("Loại mục không rõ: %(kind)s", kind=str(item.get("type"))[:30]))
        with db.session.begin_nested():
            outcome = handler(item)
            if outcome.status == "conflict":
                db.session.add(SyncConflict(uuid=str(uuid), kind=item["type"], user_id=current_user.id, payload=item))
        answer["status"] = outcome.status
        if outcome.status == "conflict":
            answer["reason"] = _("Mã này đã được dùng cho một bản ghi có nội dung khác. Bản gửi lên đã được giữ lại "
                                 "để cán bộ xem xét; chưa có gì bị ghi đè.")
    except NotYet as waiting:
        answer.update(status="not_yet", reason=str(waiting))
    except Rejected as problem:
        answer.update(status="rejected", reason=str(problem))
    return answer


# --- Reading fields ---------------------------------------------------------------------------------

def text(item: dict, name: str, required: bool = True, limit: int = 2000) -> str:
    value = item.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise Rejected(_("Trường \"%(name)s\" thiếu hoặc không hợp lệ.", name=name))
    return value


def integer(item: dict, name: str, required: bool = True) -> int | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected(_("Trường \"%(name)s\" phải là một số nguyên.", name=name))
    return value


def listing(item: dict, name: str) -> list:
    value = item.get(name, [])
    if not isinstance(value, list) or len(value) > 500:
        raise Rejected(_("Trường \"%(name)s\" phải là một danh sách.", name=name))
    return value


def household_by_uuid(uuid: str) -> Household:
    household = db.session.scalar(select(Household).where(Household.uuid == uuid))
    if household is None:
        raise NotYet(_("Hộ này chưa có trên máy chủ (có thể được thêm trên một máy khác chưa đồng bộ)."))
    allowed = khu_pho_ids(current_user)
    if allowed is not None and household.khu_pho_id not in allowed:
        raise Rejected(_("Hộ này không thuộc khu phố của bạn."))
    return household


def resident_by_uuid(uuid: str, household: Household | None = None) -> Resident:
    resident = db.session.scalar(select(Resident).where(Resident.uuid == uuid))
    if resident is None:
        raise NotYet(_("Nhân khẩu này chưa có trên máy chủ (có thể được thêm trên một máy khác chưa đồng bộ)."))
    if household is not None and resident.household_id != household.id:
        raise Rejected(_("Nhân khẩu không thuộc hộ này."))
    if household is None:
        household_by_uuid(resident.household.uuid)  # scope check
    return resident


# --- The kinds of item --------------------------------------------------------------------------------

def sync_visit(item: dict) -> Outcome:
    household = household_by_uuid(text(item, "household"))
    resident = lambda uuid: resident_by_uuid(uuid, household).id  # noqa: E731
    answers, facts = [], []
    for answer in listing(item, "answers"):
        if not isinstance(answer, dict):
            raise Rejected(_("Câu trả lời không đúng dạng."))
        subject = answer.get("resident")
        answers.append((resident(text(answer, "resident")) if subject else None,
                        text(answer, "code", limit=40), text(answer, "value", limit=20)))
    for fact in listing(item, "facts"):
        if not isinstance(fact, dict):
            raise Rejected(_("Thông tin nhân khẩu không đúng dạng."))
        facts.append((resident(text(fact, "resident")), text(fact, "field", limit=40), text(fact, "value", limit=20)))
    met = [resident(uuid) if isinstance(uuid, str) else _bad("met") for uuid in listing(item, "met")]
    data = VisitInput(uuid=text(item, "uuid", limit=40), recorded_at=client_time(text(item, "recorded_at", limit=40)),
                      outcome=text(item, "outcome", limit=20), notes=text(item, "notes", required=False).strip(),
                      met=met, answers=answers, facts=facts)
    return record_visit(current_user, household, data, plan_items(), plan_rules())


def sync_household(item: dict) -> Outcome:
    uuid = text(item, "uuid", limit=40)
    street = db.session.get(Street, integer(item, "street"))
    allowed = khu_pho_ids(current_user)
    if street is None or (allowed is not None and street.khu_pho_id not in allowed):
        raise Rejected(_("Đường này không có hoặc không thuộc khu phố của bạn."))
    house_number = text(item, "house_number", limit=80)
    earlier = db.session.scalar(select(Household).where(Household.uuid == uuid))
    if earlier is not None:
        same = earlier.street_id == street.id and earlier.house_number == nfc(house_number)
        return Outcome("duplicate" if same else "conflict", earlier)
    household = roster.new_household(street, house_number, text(item, "head_name", required=False, limit=160),
                                     bool(item.get("is_business")), uuid=uuid, user=current_user,
                                     recorded_at=client_time(text(item, "recorded_at", limit=40)))
    return Outcome("accepted", household)


def sync_resident(item: dict) -> Outcome:
    uuid = text(item, "uuid", limit=40)
    household = household_by_uuid(text(item, "household"))
    full_name = text(item, "full_name", limit=160)
    earlier = db.session.scalar(select(Resident).where(Resident.uuid == uuid))
    if earlier is not None:
        same = earlier.household_id == household.id and earlier.full_name == nfc(full_name)
        return Outcome("duplicate" if same else "conflict", earlier)
    resident = roster.new_resident(household, full_name, birth_year(item), facts(item), plan_items(), plan_rules(),
                                   uuid=uuid, user=current_user,
                                   recorded_at=client_time(text(item, "recorded_at", limit=40)))
    return Outcome("accepted", resident)


def sync_correction(item: dict) -> Outcome:
    resident = resident_by_uuid(text(item, "resident"))
    return roster.correct_resident(current_user, resident, text(item, "uuid", limit=40),
                                   client_time(text(item, "recorded_at", limit=40)), text(item, "full_name", limit=160),
                                   birth_year(item), facts(item), plan_items(), plan_rules())


def sync_moved(item: dict) -> Outcome:
    resident = resident_by_uuid(text(item, "resident"))
    return roster.mark_moved(current_user, resident, text(item, "uuid", limit=40),
                             client_time(text(item, "recorded_at", limit=40)), plan_items(), plan_rules())


def birth_year(item: dict) -> int | None:
    year = integer(item, "birth_year", required=False)
    if year is not None and not 1900 <= year <= 2030:
        raise Rejected(_("Năm sinh phải từ 1900 đến 2030."))
    return year


def facts(item: dict) -> dict:
    value = item.get("facts", {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise Rejected(_("Thông tin nhân khẩu không đúng dạng."))
    unknown = sorted(set(value) - set(FACT_FIELDS))
    if unknown:
        raise Rejected(_("Thông tin \"%(name)s\" không có trong ứng dụng.", name=unknown[0][:40]))
    return {k: v for k, v in value.items() if v != ""}


def _bad(name: str):
    raise Rejected(_("Trường \"%(name)s\" không hợp lệ.", name=name))


HANDLERS = {"visit": sync_visit, "household": sync_household, "resident": sync_resident,
            "correction": sync_correction, "moved": sync_moved}
