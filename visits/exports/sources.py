"""What each export holds: a header and groups of rows, read from the database in chunks.

A source never holds its rows in memory: raw visits and answers are read by keyset (the next CHUNK rows after
the last id seen), the open-items list street by street, so a million rows cost what a few thousand do. The
same source feeds the .xlsx and the CSV writer (visits/exports/writing.py).
"""
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..checklist import active_plan, plan_items, plan_rules
from ..extensions import db
from ..models import (ChecklistItem, Household, ItemState, KhuPho, Resident, Street, User, Visit, VisitAnswer)
from ..state import open_items_for

CHUNK = 5000
VN_OFFSET = timedelta(hours=7)  # stored in UTC; shown and filtered in Vietnam's time
KINDS = ("summary", "open", "visits", "answers")
DATED = ("visits", "answers")  # the kinds a date range applies to


@dataclass(frozen=True)
class Filters:
    """What to export: the khu phố (already limited to the user's scope) and, for raw data, Vietnam-time days."""
    khu_pho_ids: tuple[int, ...]
    date_from: date | None = None
    date_to: date | None = None

    def to_json(self) -> dict:
        return {"khu_pho_ids": list(self.khu_pho_ids),
                "date_from": self.date_from.isoformat() if self.date_from else None,
                "date_to": self.date_to.isoformat() if self.date_to else None}

    @classmethod
    def from_json(cls, data: dict) -> "Filters":
        def day(value):
            return date.fromisoformat(value) if value else None
        return cls(tuple(data["khu_pho_ids"]), day(data.get("date_from")), day(data.get("date_to")))

    def window(self, column) -> list:
        """Conditions on a UTC timestamp column for the chosen days in Vietnam's time."""
        conditions = []
        if self.date_from:
            conditions.append(column >= datetime.combine(self.date_from, datetime.min.time()) - VN_OFFSET)
        if self.date_to:
            conditions.append(column < datetime.combine(self.date_to + timedelta(days=1), datetime.min.time())
                              - VN_OFFSET)
        return conditions


class Source:
    """A header, the columns that hold free text (guarded against formulas), and groups of rows."""
    kind = ""
    header: list[str] = []
    text_columns: tuple[int, ...] = ()

    def __init__(self, filters: Filters):
        self.filters = filters

    def count(self) -> int:
        raise NotImplementedError

    def groups(self):
        """Yield (sheet title, iterator of rows); a writer puts each group on its own sheet(s)."""
        raise NotImplementedError


def outcome_labels() -> dict:
    return {"met": _("Gặp được"), "nobody_home": _("Không có nhà"), "come_back": _("Hẹn quay lại"),
            "refused": _("Từ chối")}


def answer_labels() -> dict:
    return {"done": _("Vừa hướng dẫn xong"), "had": _("Đã có từ trước"), "declined": _("Không có nhu cầu"),
            "later": _("Hẹn lần sau"), "na": _("Không áp dụng")}


def status_labels() -> dict:
    return {"da_tham": _("Đã thăm"), "hen_quay_lai": _("Hẹn quay lại"), "khong_co_nha": _("Không có nhà"),
            "chua_tham": _("Chưa thăm")}


def fact_labels() -> dict:
    from ..plan_2024 import FACT_LABELS
    return {**{code: str(label) for code, label in FACT_LABELS.items()}, "moved_away": _("Đã chuyển đi")}


def places(khu_pho_ids) -> list[KhuPho]:
    return list(db.session.scalars(select(KhuPho).where(KhuPho.id.in_(khu_pho_ids))
                                   .order_by(KhuPho.ward_id, KhuPho.code)))


def vn_time(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment + VN_OFFSET


# --- The neighbourhood summary: khu phố × the nine targets, from the counters ---------------------------

class Summary(Source):
    kind = "summary"

    def __init__(self, filters: Filters):
        super().__init__(filters)
        from ..dashboard import plan_targets
        self.plan = active_plan()
        self.targets = plan_targets(self.plan)
        self.header = [_("Khu phố"), _("Hộ đã thăm"), _("Tổng số hộ")]
        for target in self.targets:
            self.header += [_("CT %(n)s: đạt", n=target.number), _("CT %(n)s: tổng", n=target.number),
                            _("CT %(n)s: tỉ lệ (%%)", n=target.number)]

    def count(self) -> int:
        return len(self.filters.khu_pho_ids) + 1

    def groups(self):
        yield _("Tổng hợp"), self.rows()

    def rows(self):
        from .. import counters
        from ..dashboard import cells, training_counts
        ids = list(self.filters.khu_pho_ids)
        sums = counters.counts(self.plan, ids)
        trained = training_counts(ids)
        total, trained_total = Counter(), (0, 0)
        for place in places(ids):
            vector = sums.get((place.id, 0), Counter())
            total.update(vector)
            mine = trained.get(place.id, (0, 0))
            trained_total = (trained_total[0] + mine[0], trained_total[1] + mine[1])
            yield self.row(place.name, vector, cells(vector, self.targets, mine))
        yield self.row(_("Tổng cộng"), total, cells(total, self.targets, trained_total))

    def row(self, name: str, vector: Counter, row_cells: dict) -> list:
        row = [name, vector["visited:num"], vector["visited:den"]]
        for target in self.targets:
            cell = row_cells.get(target.number)
            if cell is None:
                row += [None, None, None]
            else:
                row += [cell.num, cell.den, None if cell.share is None else round(cell.share * 100, 1)]
        return row


# --- Households with open items, per khu phố, for a leader to print --------------------------------------

class OpenHouseholds(Source):
    kind = "open"
    text_columns = (1, 2, 3, 4, 7)

    def __init__(self, filters: Filters):
        super().__init__(filters)
        self.header = [_("Khu phố"), _("Đường"), _("Số nhà"), _("Mã hộ"), _("Chủ hộ"), _("Tình trạng"),
                       _("Số việc còn mở"), _("Việc còn mở")]

    def count(self) -> int:
        return db.session.scalar(select(func.count(Household.id)).where(
            Household.khu_pho_id.in_(self.filters.khu_pho_ids), Household.open_items > 0)) or 0

    def groups(self):
        items, rules = plan_items(), plan_rules()
        plain = [SimpleNamespace(code=i.code, label=i.label, applies_to=i.applies_to, eligibility=i.eligibility)
                 for i in items]
        for place in places(self.filters.khu_pho_ids):
            yield place.name, self.rows(place, plain, rules)

    def rows(self, place: KhuPho, items, rules):
        statuses = status_labels()
        streets = db.session.execute(select(Street.id, Street.name).where(Street.khu_pho_id == place.id)
                                     .order_by(Street.position, Street.name, Street.id)).all()
        for street_id, street_name in streets:
            households = db.session.execute(
                select(Household.id, Household.house_number, Household.code, Household.head_name,
                       Household.status, Household.is_business)
                .where(Household.street_id == street_id, Household.open_items > 0)
                .order_by(Household.sort_key, Household.id)).all()
            for start in range(0, len(households), 500):
                batch = households[start:start + 500]
                for household, waiting in self.open_items(batch, items, rules):
                    yield [place.name, street_name, household.house_number, household.code or "",
                           household.head_name, statuses.get(household.status, household.status),
                           sum(len(v) for v in waiting.values()), self.describe(household, waiting)]

    @staticmethod
    def open_items(batch, items, rules):
        """Each household of the batch with its open items per subject, as state.open_items_for counts them."""
        ids = [h.id for h in batch]
        residents = defaultdict(list)
        for row in db.session.execute(
                select(Resident.id, Resident.household_id, Resident.full_name, Resident.birth_year,
                       Resident.phone_kind, Resident.sim, Resident.handset_2g_only, Resident.moved_away)
                .where(Resident.household_id.in_(ids)).order_by(Resident.id)):
            residents[row.household_id].append(row)
        states = defaultdict(dict)
        for hid, key, code, value in db.session.execute(
                select(ItemState.household_id, ItemState.resident_key, ItemState.code, ItemState.value)
                .where(ItemState.household_id.in_(ids), ItemState.kind == "item")):
            states[hid][(key, "item", code)] = SimpleNamespace(value=value)
        for h in batch:
            view = SimpleNamespace(is_business=h.is_business, residents=residents[h.id], names={
                r.id: r.full_name for r in residents[h.id]})
            waiting = open_items_for(view, items, rules, states[h.id])
            if waiting:
                yield SimpleNamespace(**h._mapping, names=view.names), waiting

    @staticmethod
    def describe(household, waiting: dict) -> str:
        parts = []
        for key, items in waiting.items():
            who = _("Cả hộ") if key == 0 else household.names.get(key, "")
            parts.append(f"{who}: {', '.join(i.label for i in items)}")
        return "; ".join(parts)


# --- Raw visits and answers, with filters -----------------------------------------------------------------

class RawVisits(Source):
    kind = "visits"
    text_columns = (2, 3, 4, 5, 6, 7, 10)

    def __init__(self, filters: Filters):
        super().__init__(filters)
        self.header = [_("Mã lần thăm"), _("Thời điểm (giờ Việt Nam)"), _("Khu phố"), _("Đường"), _("Số nhà"),
                       _("Mã hộ"), _("Chủ hộ"), _("Thành viên"), _("Kết quả"), _("Số người gặp"), _("Ghi chú")]

    def where(self) -> list:
        return [Household.khu_pho_id.in_(self.filters.khu_pho_ids), *self.filters.window(Visit.recorded_at)]

    def count(self) -> int:
        return db.session.scalar(select(func.count(Visit.id)).join(Household, Visit.household_id == Household.id)
                                 .where(*self.where())) or 0

    def groups(self):
        yield _("Lần thăm"), self.rows()

    def rows(self):
        outcomes = outcome_labels()
        names = Names(self.filters.khu_pho_ids)
        query = (select(Visit.id, Visit.uuid, Visit.recorded_at, Household.khu_pho_id, Household.street_id,
                        Household.house_number, Household.code, Household.head_name, Visit.user_id, Visit.outcome,
                        Visit.met_resident_ids, Visit.notes)
                 .join(Household, Visit.household_id == Household.id).where(*self.where())
                 .order_by(Visit.id).limit(CHUNK))
        for chunk in keyset(query, Visit.id):
            for (_id, uuid, at, khu_pho_id, street_id, number, code, head, user_id, outcome, met,
                 notes) in chunk:
                yield [uuid, at + VN_OFFSET, names.khu_pho[khu_pho_id], names.street[street_id], number, code or "",
                       head, names.user(user_id), outcomes.get(outcome, outcome), len(met or ()), notes]


class RawAnswers(Source):
    kind = "answers"
    text_columns = (2, 3, 4, 5, 6, 11)

    def __init__(self, filters: Filters):
        super().__init__(filters)
        self.header = [_("Mã lần thăm"), _("Thời điểm (giờ Việt Nam)"), _("Khu phố"), _("Đường"), _("Số nhà"),
                       _("Mã hộ"), _("Người được hỏi"), _("Loại"), _("Mục"), _("Mã mục"), _("Câu trả lời"),
                       _("Thành viên")]

    def where(self) -> list:
        return [Household.khu_pho_id.in_(self.filters.khu_pho_ids), *self.filters.window(Visit.recorded_at)]

    def count(self) -> int:
        return db.session.scalar(select(func.count(VisitAnswer.id)).join(Visit, VisitAnswer.visit_id == Visit.id)
                                 .join(Household, Visit.household_id == Household.id).where(*self.where())) or 0

    def groups(self):
        yield _("Câu trả lời"), self.rows()

    def rows(self):
        answers, facts = answer_labels(), fact_labels()
        items = {code: label for code, label in db.session.execute(
            select(ChecklistItem.code, ChecklistItem.label).order_by(ChecklistItem.plan_id))}
        kinds = {"item": _("Việc"), "fact": _("Thông tin")}
        whole = _("Cả hộ")
        names = Names(self.filters.khu_pho_ids)
        query = (select(VisitAnswer.id, Visit.uuid, Visit.recorded_at, Household.khu_pho_id, Household.street_id,
                        Household.house_number, Household.code, Resident.full_name, VisitAnswer.kind,
                        VisitAnswer.code, VisitAnswer.value, Visit.user_id)
                 .join(Visit, VisitAnswer.visit_id == Visit.id).join(Household, Visit.household_id == Household.id)
                 .outerjoin(Resident, VisitAnswer.resident_id == Resident.id).where(*self.where())
                 .order_by(VisitAnswer.id).limit(CHUNK))
        for chunk in keyset(query, VisitAnswer.id):
            for (_id, uuid, at, khu_pho_id, street_id, number, code, person, kind, item, value,
                 user_id) in chunk:
                is_item = kind == "item"
                yield [uuid, at + VN_OFFSET, names.khu_pho[khu_pho_id], names.street[street_id], number, code or "",
                       person or whole, kinds.get(kind, kind),
                       items.get(item, item) if is_item else facts.get(item, item), item,
                       answers.get(value, value) if is_item else value, names.user(user_id)]


def keyset(query, id_column):
    """The query's rows CHUNK at a time, each chunk after the last id of the one before (rows start with the id)."""
    last = None
    while True:
        chunk = db.session.execute(query if last is None else query.where(id_column > last)).all()
        if not chunk:
            return
        yield chunk
        if len(chunk) < CHUNK:
            return
        last = chunk[-1][0]


class Names:
    """Khu phố, street and member names by id, read once (a ward has hundreds of them, not millions)."""

    def __init__(self, khu_pho_ids):
        self.khu_pho = dict(db.session.execute(select(KhuPho.id, KhuPho.name)
                                               .where(KhuPho.id.in_(khu_pho_ids))).tuples().all())
        self.street = dict(db.session.execute(select(Street.id, Street.name)
                                              .where(Street.khu_pho_id.in_(khu_pho_ids))).tuples().all())
        self._users: dict = {}

    def user(self, user_id: int) -> str:
        if user_id not in self._users:
            found = db.session.execute(select(User.username, User.full_name).where(User.id == user_id)).first()
            self._users[user_id] = (found.full_name or found.username) if found else ""
        return self._users[user_id]


SOURCES = {"summary": Summary, "open": OpenHouseholds, "visits": RawVisits, "answers": RawAnswers}


def source_for(kind: str, filters: Filters) -> Source:
    return SOURCES[kind](filters)
