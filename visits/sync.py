"""POST /api/sync: the outbox of a phone, replayed in batches; every item answered on its own.

Each item is checked and applied on its own, so one bad item never blocks the others, and the batch is
committed before the answer goes out: an item answered "accepted" or "duplicate" is durable, and the
phone may drop it. Items name households and residents by UUID, because a phone makes them offline.

Households, residents, corrections and moves are applied one by one, each in a savepoint. Visits, nearly
all of a batch, go faster: a run of consecutive visits is read in a few queries, checked and applied in
memory one after the other with the same rules (visits.recording.prepare_visit, visits.state), and written
in a few statements inside one savepoint. Should that write fail (a visit of the run written meanwhile by
another request), the run is applied again one visit at a time, each in its own savepoint.
"""
import uuid as uuidlib

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from . import audit, consent, roster
from .checklist import active_plan, plan_items, plan_rules
from .extensions import csrf, db
from .models import Change, Household, Resident, Street, SyncConflict, Visit, utcnow
from .recording import (CANONICAL_UUID, Outcome, Rejected, VisitInput, checked_uuid, client_time,
                        prepare_visit, record_visit, write_visits)
from .scope import khu_pho_ids
from .state import (FACT_FIELDS, expire_derived, load_households, load_states, load_subjects,
                    refresh_counters_after_run, write_households)
from .request_input import parsed_json
from .text import nfc

bp = Blueprint("sync", __name__, url_prefix="/api")

MAX_BATCH = 100
MAX_ID = 2 ** 31 - 1  # the largest id a row can have in PostgreSQL; anything larger names nothing
# Runs of visits are applied in bulk; tests turn this off to compare with the one-by-one path.
BULK_VISITS = True


# (uuid, content hash) of the visits received already among some UUIDs. Built once: building a statement costs
# more than running this one.
VISITS_SEEN = select(Visit.uuid, Visit.content_hash).where(Visit.uuid.in_(bindparam("uuids", expanding=True)))


class NotYet(Exception):
    """The item names a household or resident this server has not received yet: hold and retry."""


class BadBody(Exception):
    """The request as a whole is not a batch: answered 400 with the reason."""


def unauthorized():
    return jsonify(error=_("Phiên đăng nhập đã hết. Hãy đăng nhập lại; dữ liệu chờ vẫn được giữ trên máy.")), 401


@bp.get("/session")
def session_info():
    """Who is logged in, and a fresh CSRF token for the sync requests of a page cached long ago."""
    if not current_user.is_authenticated:
        return unauthorized()
    return jsonify(username=current_user.username, csrf_token=generate_csrf())


@bp.post("/sync")
@csrf.exempt  # checked below, once the session is known to be live
def sync():
    # A phone whose session ended must hear 401 (log in again, keep the outbox), whatever its token says.
    if not current_user.is_authenticated:
        return unauthorized()
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    try:
        items = batch_items()
    except BadBody as problem:
        return jsonify(error=str(problem)), 400
    results = Batch(current_user).apply(items)
    consent.record_from_sync(items, results, current_user)  # a household's answer, asked at a first visit
    audit.record_sync(results, current_user)  # one entry per batch, never per visit
    db.session.commit()
    return jsonify(results=results)


def batch_items() -> list:
    """The items of the request's JSON body; a body over MAX_CONTENT_LENGTH is refused (413) as it is read."""
    shape = _("Dữ liệu gửi lên không đúng dạng: cần một đối tượng JSON có danh sách \"items\".")
    if not request.is_json:
        raise BadBody(shape)
    try:
        body = parsed_json(request.get_data())
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested deeper than the parser goes
        raise BadBody(shape) from None
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise BadBody(shape)
    if len(body["items"]) > MAX_BATCH:
        raise BadBody(_("Mỗi lần gửi tối đa %(n)s mục.", n=MAX_BATCH))
    return body["items"]


# --- Reading fields ---------------------------------------------------------------------------------

def text(item: dict, name: str, required: bool = True, limit: int = 2000) -> str:
    value = item.get(name)
    if value.__class__ is str and len(value) <= limit and (not required or (value and not value.isspace())):
        return value  # the usual case, first: this runs some fifteen times per visit
    if value is None and not required:
        return ""
    raise Rejected(_("Trường \"%(name)s\" thiếu hoặc không hợp lệ.", name=name))


def reference(item: dict, name: str) -> str:
    """The UUID of a household or resident the item names, in canonical form."""
    return canonical(text(item, name, limit=100), name)


def canonical(value: str, name: str) -> str:
    if CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        raise Rejected(_("Trường \"%(name)s\" không phải là mã định danh (UUID) hợp lệ: %(value)s",
                         name=name, value=value[:40])) from None


def integer(item: dict, name: str, required: bool = True) -> int | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected(_("Trường \"%(name)s\" phải là một số nguyên.", name=name))
    return value


def listing(item: dict, name: str) -> list:
    value = item.get(name, [])
    if value.__class__ is not list or len(value) > 500:
        raise Rejected(_("Trường \"%(name)s\" phải là một danh sách.", name=name))
    return value


def item_uuid(item: dict) -> str:
    """The UUID the item itself is made under, in canonical form."""
    return checked_uuid(text(item, "uuid", limit=40))


def not_here_yet_household() -> NotYet:
    return NotYet(_("Hộ này chưa có trên máy chủ (có thể được thêm trên một máy khác chưa đồng bộ)."))


def not_here_yet_resident() -> NotYet:
    return NotYet(_("Nhân khẩu này chưa có trên máy chủ (có thể được thêm trên một máy khác chưa đồng bộ)."))


def outside_scope() -> Rejected:
    return Rejected(_("Hộ này không thuộc khu phố của bạn."))


def read_visit(item: dict, find_household, find_resident) -> tuple[object, VisitInput]:
    """The household a visit item names and the visit as record_visit takes it (residents by id).

    find_household(uuid) and find_resident(uuid, household) look the names up (or raise NotYet / Rejected),
    from the database one by one or from what a run of visits has read at once.
    """
    household = find_household(reference(item, "household"))
    resident = lambda uuid, name: find_resident(canonical(uuid, name), household).id  # noqa: E731
    answers, facts = [], []
    for answer in listing(item, "answers"):
        if not isinstance(answer, dict):
            raise Rejected(_("Câu trả lời không đúng dạng."))
        subject = answer.get("resident")
        answers.append((resident(text(answer, "resident", limit=100), "resident") if subject else None,
                        text(answer, "code", limit=40), text(answer, "value", limit=20)))
    for fact in listing(item, "facts"):
        if not isinstance(fact, dict):
            raise Rejected(_("Thông tin nhân khẩu không đúng dạng."))
        facts.append((resident(text(fact, "resident", limit=100), "resident"), text(fact, "field", limit=40),
                      text(fact, "value", limit=20)))
    met = [resident(uuid, "met") if isinstance(uuid, str) else _bad("met") for uuid in listing(item, "met")]
    data = VisitInput(uuid=text(item, "uuid", limit=40), recorded_at=client_time(text(item, "recorded_at", limit=40)),
                      outcome=text(item, "outcome", limit=20), notes=text(item, "notes", required=False).strip(),
                      met=met, answers=answers, facts=facts)
    return household, data


# --- A batch ----------------------------------------------------------------------------------------------

class Batch:
    """One request's items, answered in order, with what every item needs read once."""

    def __init__(self, user):
        self.user = user
        self.user_id = user.id
        self.allowed = khu_pho_ids(user)  # None: every khu phố
        self.plan = active_plan()
        self.rules = plan_rules()
        self.items = plan_items()
        self.items_by_code = {i.code: i for i in self.items}

    def in_scope(self, khu_pho_id: int) -> bool:
        return self.allowed is None or khu_pho_id in self.allowed

    def apply(self, items: list) -> list[dict]:
        results: list = [None] * len(items)
        run: list[int] = []
        for index, item in enumerate(items):
            if BULK_VISITS and isinstance(item, dict) and item.get("type") == "visit":
                run.append(index)
                continue
            self.apply_run(items, run, results)
            run = []
            results[index] = self.apply_one(item)
        self.apply_run(items, run, results)
        return results

    # One item at a time ----------------------------------------------------------------------------------

    def apply_one(self, item) -> dict:
        uuid = item.get("uuid") if isinstance(item, dict) else None
        answer = {"uuid": uuid if isinstance(uuid, str) else None}
        try:
            if not isinstance(item, dict):
                raise Rejected(_("Mục gửi lên không đúng dạng."))
            kind = item.get("type")
            handler = HANDLERS.get(kind) if isinstance(kind, str) else None
            if handler is None:
                raise Rejected(_("Loại mục không rõ: %(kind)s", kind=str(kind)[:30]))
            with db.session.begin_nested():
                outcome = handler(self, item)
                if outcome.status == "conflict":
                    db.session.add(SyncConflict(uuid=str(uuid), kind=kind, user_id=self.user_id, payload=item))
            answer.update(answer_of(outcome.status))
        except NotYet as waiting:
            answer.update(status="not_yet", reason=str(waiting))
        except Rejected as problem:
            answer.update(status="rejected", reason=str(problem))
        except IntegrityError:  # the same UUID written by another request at this very moment
            answer.update(status="not_yet", reason=busy())
        return answer

    def household_by_uuid(self, uuid: str) -> Household:
        household = locked(Household.uuid == uuid)
        if household is None:
            raise not_here_yet_household()
        if not self.in_scope(household.khu_pho_id):
            raise outside_scope()
        return household

    def resident_by_uuid(self, uuid: str, household: Household | None = None) -> Resident:
        resident = db.session.scalar(select(Resident).where(Resident.uuid == uuid))
        if resident is None:
            raise not_here_yet_resident()
        if household is not None and resident.household_id != household.id:
            raise Rejected(_("Nhân khẩu không thuộc hộ này."))
        if household is None and not self.in_scope(locked(Household.id == resident.household_id).khu_pho_id):
            raise outside_scope()
        return resident

    # A run of visits at once -----------------------------------------------------------------------------

    def apply_run(self, items: list, run: list[int], results: list) -> None:
        if not run:
            return
        db.session.flush()  # what earlier items of the batch wrote, for the reads below
        visits = VisitRun(self, [items[i] for i in run])
        answers = visits.check()
        try:
            with db.session.begin_nested():
                visits.write()
        except IntegrityError:
            # Written meanwhile by another request: go again one visit at a time, each on its own.
            for index in run:
                results[index] = self.apply_one(items[index])
            return
        for index, answer in zip(run, answers):
            results[index] = answer


class VisitRun:
    """Consecutive visits of a batch: read in a few queries, checked and applied in memory, written at once."""

    def __init__(self, batch: Batch, items: list[dict]):
        self.batch, self.items = batch, items
        self.households: dict = {}
        self.accepted: list = []  # (VisitInput, household id, digest)
        self.conflicts: list[dict] = []
        self.read_keys: set = set()  # the state rows asked for (found or not)

    def check(self) -> list[dict]:
        self.read()
        return [self.check_one(item) for item in self.items]

    def read(self) -> None:
        """Everything the run names, at once: households with residents, the state rows its lines may change,
        residents of other households, visits already received."""
        households, residents, visits, lines = set(), set(), set(), []
        for item in self.items:
            household = uuid_form(item.get("household"))
            households.add(household)
            visits.add(uuid_form(item.get("uuid")))
            for kind, name, field in (("item", "answers", "code"), ("fact", "facts", "field")):
                for line in as_list(item.get(name)):
                    if line.__class__ is dict:
                        subject = uuid_form(line.get("resident")) if line.get("resident") else 0
                        residents.add(subject)
                        lines.append((household, subject, kind, line.get(field)))
            residents.update(uuid_form(uuid) for uuid in as_list(item.get("met")))
        households.discard(None)
        visits.discard(None)
        self.households = load_households(households, self.batch.plan) if households else {}
        self.by_id = {h.id: h for h in self.households.values()}
        self.residents = {r.uuid: h for h in self.households.values() for r in h.residents}
        elsewhere = residents - set(self.residents) - {0, None}
        self.elsewhere = set(db.session.scalars(select(Resident.uuid).where(Resident.uuid.in_(elsewhere)))) \
            if elsewhere else set()
        self.seen = dict(db.session.execute(VISITS_SEEN, {"uuids": list(visits)}).all()) if visits else {}
        # Every item row of the subjects the answers name, and of each household itself: the counters' differences
        # read all their answers (visits.counters.answers_of), and one query for all beats one per use. Facts are
        # read by key: a visit that carries them is counted again in full (counters.refresh_run).
        subjects, facts = {(h.id, 0) for h in self.households.values()}, set()
        for household_uuid, subject, kind, code in lines:
            household = self.households.get(household_uuid)
            resident = household.resident(subject) if household is not None and subject else None
            if isinstance(code, str) and resident is not None:
                if kind == "fact":
                    facts.add((household.id, resident.id, kind, code))
                else:
                    subjects.add((household.id, resident.id))
        load_subjects(self.by_id, subjects)
        self.read_states(facts)

    def read_states(self, keys: set) -> None:
        keys = {key for key in keys - self.read_keys if key[2] != "item" or key[1] not in self.by_id[key[0]].whole}
        if keys:
            load_states(self.by_id, keys)
            self.read_keys |= keys

    def lines_read(self, household, data: VisitInput) -> None:
        """Make sure the state rows a checked visit changes were read (they were, unless the run's first look
        at its items missed one): apply_line must compare with the row in the database."""
        keys = {(household.id, rid or 0, "item", code) for rid, code, _value in data.answers} | \
            {(household.id, rid, "fact", name) for rid, name, _value in data.facts}
        self.read_states(keys)

    def find_household(self, uuid: str):
        household = self.households.get(uuid)
        if household is None:
            raise not_here_yet_household()
        if not self.batch.in_scope(household.khu_pho_id):
            raise outside_scope()
        return household

    def find_resident(self, uuid: str, household):
        resident = household.resident(uuid)
        if resident is None:
            if uuid in self.residents or uuid in self.elsewhere:
                raise Rejected(_("Nhân khẩu không thuộc hộ này."))
            raise not_here_yet_resident()
        return resident

    def check_one(self, item: dict) -> dict:
        uuid = item.get("uuid")
        answer = {"uuid": uuid if isinstance(uuid, str) else None}
        try:
            household, data = read_visit(item, self.find_household, self.find_resident)
            digest = prepare_visit(household, data, self.batch.items_by_code, household.resident_ids)
        except NotYet as waiting:
            return dict(answer, status="not_yet", reason=str(waiting))
        except Rejected as problem:
            return dict(answer, status="rejected", reason=str(problem))
        earlier = self.seen.get(data.uuid)
        if earlier is None:
            self.seen[data.uuid] = digest
            self.lines_read(household, data)
            household.apply_visit(data)
            self.accepted.append((data, household.id, digest))
            status = "accepted"
        elif earlier == digest:
            status = "duplicate"
        else:
            self.conflicts.append(item)
            status = "conflict"
        return dict(answer, **answer_of(status))

    def write(self) -> None:
        write_visits(self.batch.user_id, self.accepted)
        write_households(self.households.values(), self.batch.items, self.batch.items_by_code,
                         self.batch.rules)
        expire_derived()  # the session must not hold what was just written past it
        visited = [h for h in self.households.values() if h.visited]
        if visited:
            refresh_counters_after_run(visited)
        if self.conflicts:
            db.session.execute(insert(SyncConflict.__table__), [
                {"uuid": str(item["uuid"]), "kind": "visit", "user_id": self.batch.user_id, "received_at": utcnow(),
                 "payload": item, "resolved": False} for item in self.conflicts])


def as_list(value) -> list:
    return value if value.__class__ is list else []


def uuid_form(value) -> str | None:
    """The canonical form of a UUID the run may look up (None for what is not one)."""
    if value.__class__ is not str or len(value) > 100:
        return None
    if CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        return None


def answer_of(status: str) -> dict:
    if status == "conflict":
        return {"status": status, "reason": _("Mã này đã được dùng cho một bản ghi có nội dung khác. Bản gửi lên đã "
                                              "được giữ lại để cán bộ xem xét; chưa có gì bị ghi đè.")}
    return {"status": status}


def busy() -> str:
    return _("Máy chủ đang ghi mục này từ một yêu cầu khác; sẽ gửi lại sau.")


# --- The kinds of item, one at a time -------------------------------------------------------------------

def sync_visit(batch: Batch, item: dict) -> Outcome:
    household, data = read_visit(item, batch.household_by_uuid, batch.resident_by_uuid)
    return record_visit(batch.user, household, data, batch.items, batch.rules)


def locked(condition) -> Household | None:
    """The household, locked until the transaction ends and read afresh (see state.load_households)."""
    return db.session.scalar(select(Household).where(condition).with_for_update()
                             .execution_options(populate_existing=True))


def taken_by_a_change(uuid: str) -> Change | None:
    """A change already made under this UUID (a household or resident item must not share one)."""
    return db.session.scalar(select(Change).where(Change.uuid == uuid))


def seen_before(model, uuid: str, same) -> Outcome | None:
    """A replay (duplicate), a reuse of the UUID (conflict), or None for a new row."""
    earlier = db.session.scalar(select(model).where(model.uuid == uuid))
    if earlier is not None:
        return Outcome("duplicate" if same(earlier) else "conflict", earlier)
    change = taken_by_a_change(uuid)
    return Outcome("conflict", change) if change is not None else None


def sync_household(batch: Batch, item: dict) -> Outcome:
    uuid = item_uuid(item)
    street_id = integer(item, "street")
    street = db.session.get(Street, street_id) if 0 < street_id <= MAX_ID else None
    if street is None or not batch.in_scope(street.khu_pho_id):
        raise Rejected(_("Đường này không có hoặc không thuộc khu phố của bạn."))
    house_number = text(item, "house_number", limit=80)
    seen = seen_before(Household, uuid, lambda h: h.street_id == street.id and h.house_number == nfc(house_number))
    if seen is not None:
        return seen
    household = roster.new_household(street, house_number, text(item, "head_name", required=False, limit=160),
                                     bool(item.get("is_business")), uuid=uuid, user=batch.user,
                                     recorded_at=client_time(text(item, "recorded_at", limit=40)))
    return Outcome("accepted", household)


def sync_resident(batch: Batch, item: dict) -> Outcome:
    uuid = item_uuid(item)
    household = batch.household_by_uuid(reference(item, "household"))
    full_name = text(item, "full_name", limit=160)
    seen = seen_before(Resident, uuid, lambda r: r.household_id == household.id and r.full_name == nfc(full_name))
    if seen is not None:
        return seen
    resident = roster.new_resident(household, full_name, birth_year(item), facts(item), batch.items, batch.rules,
                                   uuid=uuid, user=batch.user,
                                   recorded_at=client_time(text(item, "recorded_at", limit=40)))
    return Outcome("accepted", resident)


def sync_correction(batch: Batch, item: dict) -> Outcome:
    resident = batch.resident_by_uuid(reference(item, "resident"))
    return roster.correct_resident(batch.user, resident, text(item, "uuid", limit=40),
                                   client_time(text(item, "recorded_at", limit=40)), text(item, "full_name", limit=160),
                                   birth_year(item), facts(item), batch.items, batch.rules)


def sync_moved(batch: Batch, item: dict) -> Outcome:
    resident = batch.resident_by_uuid(reference(item, "resident"))
    return roster.mark_moved(batch.user, resident, text(item, "uuid", limit=40),
                             client_time(text(item, "recorded_at", limit=40)), batch.items, batch.rules)


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
