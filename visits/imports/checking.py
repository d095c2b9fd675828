"""What a household's rows would do: which household and residents they are (a household's key is its code
when the sheet has one, else its address in its street; a resident's is folded name + birth year), what is new,
what changed, and what is wrong. The preview counts these plans; the import carries them out.
"""
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import Text, cast, select

from ..erasure import erased_key
from ..extensions import db
from ..models import Household, ImportRow, Resident
from ..state import encode_fact
from ..text import fold

FACTS = ("phone_kind", "sim", "handset_2g_only", "has_epay")
# What a household's rows must agree on, shown to staff as the sheet's column (the khu phố column for the khu
# phố, the house number column for the address).
SHOWN = {"address_key": "house_number", "khu_pho_id": "khu_pho_text"}
COLUMN_OF = {"address_key": "house_number", "khu_pho_id": "khu_pho"}


@dataclass
class Row:
    id: int
    number: int
    key: str | None
    new_street: str | None
    data: dict
    read_problems: str  # as JSON text: only whether there are any matters here (the page reads them whole)
    check_problems: str
    skip: bool

    @property
    def read_failed(self) -> bool:
        return self.read_problems != "[]"


# The problems come as text, not decoded: nearly all are "[]", and decoding 100,000 of them costs seconds.
ROW_COLUMNS = (ImportRow.id, ImportRow.row_number, ImportRow.household_key, ImportRow.new_street, ImportRow.data,
               cast(ImportRow.read_problems, Text), cast(ImportRow.check_problems, Text), ImportRow.skip)


def slices(values: list, size: int = 5000):
    """values in pieces small enough for an IN list (SQLite and PostgreSQL both cap the parameters of a query)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def next_groups(job_id: int, after: str, households: int) -> list[list[Row]]:
    """The rows of the next households (by key, after the key `after`), each household's rows in sheet order."""
    keys = list(db.session.scalars(
        select(ImportRow.household_key).where(ImportRow.job_id == job_id, ImportRow.household_key > after)
        .group_by(ImportRow.household_key).order_by(ImportRow.household_key).limit(households)))
    if not keys:
        return []
    groups: dict = defaultdict(list)
    for values in db.session.execute(select(*ROW_COLUMNS).where(
            ImportRow.job_id == job_id, ImportRow.household_key >= keys[0], ImportRow.household_key <= keys[-1])
            .order_by(ImportRow.household_key, ImportRow.row_number)):
        groups[values[2]].append(Row(*values))
    return [groups[k] for k in keys]


@dataclass
class ResidentPlan:
    row: Row
    action: str  # new | update | same
    existing: object = None  # the resident's row as read
    changes: dict = field(default_factory=dict)  # birth_year, phone, facts: {name: encoded value}
    uuid: str = ""  # a new resident's, once written


@dataclass
class Plan:
    rows: list
    action: str | None = None  # new | update | same; None: the household is skipped
    existing: object = None
    changes: dict = field(default_factory=dict)  # column -> new value
    head_name: str = ""
    residents: list = field(default_factory=list)
    problems: dict = field(default_factory=dict)  # row id -> [[column, message, level]]
    skipped: set = field(default_factory=set)  # row ids not imported
    uuid: str = ""  # the household's, once written (or found)
    household_id: int = 0

    @property
    def household(self) -> dict:
        """The household's own fields, from its first row that is imported."""
        return next(r.data for r in self.rows if r.id not in self.skipped)

    def problem(self, row: Row, column, message: str, level: str = "row") -> None:
        self.problems.setdefault(row.id, []).append([column, message, level])
        self.skipped.add(row.id)


class Existing:
    """The households and residents already in the app that a chunk's rows may be, read in three queries."""

    def __init__(self, groups: list[list[Row]], khu_pho_ids: list[int]):
        codes = {r.data["code"] for g in groups for r in g if r.data.get("code")}
        places = {(r.data["street_id"], r.data["address_key"]) for g in groups for r in g
                  if r.data.get("street_id") and r.data.get("address_key")}
        households, columns = Household.__table__, _household_columns()
        self.by_code: dict = defaultdict(list)
        self.by_address: dict = defaultdict(list)
        found = {}
        for some in slices(sorted(codes)):
            for h in db.session.execute(select(*columns).where(households.c.code.in_(some),
                                                               households.c.khu_pho_id.in_(khu_pho_ids))):
                found[h.id] = h
        streets = {s for s, _a in places}
        for some in slices(sorted({a for _s, a in places})):
            for h in db.session.execute(select(*columns).where(households.c.address_key.in_(some),
                                                               households.c.street_id.in_(streets))):
                if (h.street_id, h.address_key) in places:
                    found[h.id] = h
        for h in found.values():
            if h.code:
                self.by_code[h.code].append(h)
            self.by_address[(h.street_id, h.address_key)].append(h)
        self.residents: dict = defaultdict(list)
        if found:
            residents = Resident.__table__
            for r in db.session.execute(select(
                    residents.c.id, residents.c.uuid, residents.c.household_id, residents.c.full_name,
                    residents.c.name_key, residents.c.birth_year, residents.c.phone, residents.c.phone_kind,
                    residents.c.sim, residents.c.handset_2g_only, residents.c.has_epay, residents.c.erased_key)
                    .where(residents.c.household_id.in_(list(found))).order_by(residents.c.id)):
                self.residents[r.household_id].append(r)


def _household_columns():
    h = Household.__table__.c
    return (h.id, h.uuid, h.code, h.street_id, h.khu_pho_id, h.house_number, h.address_key, h.head_name,
            h.is_business, h.consent)


def plan_household(rows: list[Row], existing: Existing, create_streets: bool, columns: dict,
                   messages: "Messages") -> Plan:
    """What one household's rows would do, against what is in the app now."""
    plan = Plan(rows, skipped={r.id for r in rows if r.read_failed})
    _check_rows(plan, columns, messages)
    valid = [r for r in rows if r.id not in plan.skipped]
    if not valid:
        return plan
    first = valid[0]
    data = first.data
    if data.get("street_id") is None and not create_streets:
        return _skip_all(plan, first, columns.get("street"), messages.unknown_street(data))
    match, message = _find(existing, data)
    if message:
        return _skip_all(plan, first, columns.get("code"), message)
    head = _head(valid)
    if match is None:
        if not data.get("house_number"):
            return _skip_all(plan, first, columns.get("house_number"), _("Thiếu số nhà: hộ này chưa có trong ứng dụng."))
        plan.action, plan.head_name = "new", head[0] or ""
        plan.residents = [ResidentPlan(r, "new") for r in valid if r.data.get("name")]
        return plan
    plan.existing = match
    residents = existing.residents.get(match.id, [])
    gone = Erased(match, residents)
    plan.changes = _household_changes(match, data, head if not gone.named(head[0]) else (None, False))
    plan.action = "update" if plan.changes else "same"
    plan.residents = _match_residents([r for r in valid if not gone.left_out(plan, r, columns)],
                                      [r for r in residents if r.erased_key is None])
    return plan


class Erased:
    """What a household list must not bring back: residents erased on request (recognised by their erased
    key, visits/erasure.py), and every name of a household that refused to have its data kept."""

    def __init__(self, household, residents: list):
        self.refused = household.consent == "no"
        self.keys = {r.erased_key: r.birth_year for r in residents if r.erased_key}

    def named(self, name: str | None) -> bool:
        return bool(name) and (self.refused or erased_key(name) in self.keys)

    def left_out(self, plan: "Plan", row: Row, columns: dict) -> bool:
        """Whether the row names such a person (then it is skipped, with the reason)."""
        name = row.data.get("name")
        if not name:
            return False
        column = columns.get("full_name") or columns.get("head_name")
        if self.refused:
            plan.problem(row, column, _("Hộ này đã từ chối cho lưu dữ liệu cá nhân: không nhập tên người."))
            return True
        key = erased_key(name)
        year = row.data.get("birth_year")
        if key in self.keys and (year is None or self.keys[key] is None or self.keys[key] == year):
            plan.problem(row, column, _("Người này đã được xóa dữ liệu cá nhân theo yêu cầu: không nhập lại."))
            return True
        return False


def _skip_all(plan: Plan, first: Row, column, message: str) -> Plan:
    plan.problem(first, column, message, "household")
    plan.skipped.update(r.id for r in plan.rows)
    plan.action, plan.residents = None, []
    return plan


def _check_rows(plan: Plan, columns: dict, messages: "Messages") -> None:
    """Rows of one household that repeat a person, or contradict each other about the household."""
    seen_people, seen_household, first_of = {}, None, {}
    for row in plan.rows:
        if row.id in plan.skipped:
            continue
        data = row.data
        if data.get("name"):
            key = (data["name_key"], data.get("birth_year"))
            if key in seen_people:
                plan.problem(row, columns.get("full_name") or columns.get("head_name"),
                             _("Trùng với dòng %(row)s: cùng hộ, cùng họ tên và năm sinh.", row=seen_people[key]))
                continue
            seen_people[key] = row.number
        elif seen_household is not None and data.get("lead"):
            plan.problem(row, None, _("Hộ này đã có ở dòng %(row)s.", row=seen_household))
            continue
        elif data.get("lead"):
            seen_household = row.number
        for name, compare in (("head_name", fold), ("is_business", bool), ("address_key", str),
                              ("khu_pho_id", int)):
            value = data.get(name)
            if value is None:
                continue
            if name in first_of and compare(first_of[name][0]) != compare(value):
                shown = SHOWN.get(name, name)
                a, b = (messages.shown(first_of[name][2].get(shown)), messages.shown(data.get(shown)))
                plan.problem(row, columns.get(COLUMN_OF.get(name, name)),
                             _("Khác với dòng %(row)s của cùng hộ: \"%(a)s\" và \"%(b)s\".",
                               row=first_of[name][1], a=a, b=b), "household")
                plan.skipped.update(r.id for r in plan.rows)
                return
            first_of.setdefault(name, (value, row.number, data))


def _find(existing: Existing, data: dict) -> tuple[object, str | None]:
    """The household in the app these rows are (by code, else by address among households without a code),
    or a message when more than one could be."""
    if data.get("code"):
        found = existing.by_code.get(data["code"], [])
        if len(found) > 1:
            return None, _("Mã hộ %(code)s có ở %(n)s hộ trong ứng dụng.", code=data["code"], n=len(found))
        if found:
            return found[0], None
    if data.get("street_id") is None or not data.get("address_key"):
        return None, None
    found = [h for h in existing.by_address.get((data["street_id"], data["address_key"]), [])
             if not data.get("code") or not h.code]
    if len(found) > 1:
        return None, _("Có %(n)s hộ cùng địa chỉ này trong ứng dụng; hãy thêm cột Mã hộ để chỉ rõ hộ nào.",
                       n=len(found))
    return (found[0] if found else None), None


def _head(rows: list[Row]) -> tuple[str | None, bool]:
    """The head of household's name, and whether the sheet says it (a head column, or a relation "chủ hộ")
    rather than it being the first person listed."""
    for row in rows:
        if row.data.get("head_name"):
            return row.data["head_name"], True
    for row in rows:
        if row.data.get("is_head") and row.data.get("name"):
            return row.data["name"], True
    return next((r.data["name"] for r in rows if r.data.get("name")), None), False


def _household_changes(match, data: dict, head: tuple) -> dict:
    changes = {}
    if data.get("code") and not match.code:
        changes["code"] = data["code"]
    name, said = head
    if name and (not match.head_name or (said and fold(name) != fold(match.head_name))):
        changes["head_name"] = name
    if data.get("is_business") is not None and bool(data["is_business"]) != bool(match.is_business):
        changes["is_business"] = bool(data["is_business"])
    if data.get("code") and data.get("house_number") and \
            (data.get("street_id") != match.street_id or data.get("address_key") != match.address_key):
        # Found by its code at another address: the household has moved (or the app had it wrong).
        changes["house_number"] = data["house_number"]
        changes["street_id"] = data.get("street_id")  # None: a street the import creates
        if data["khu_pho_id"] != match.khu_pho_id:
            changes["khu_pho_id"] = data["khu_pho_id"]
    return changes


def _match_residents(rows: list[Row], residents: list) -> list[ResidentPlan]:
    """Exact matches (folded name + birth year) first; then a row or a resident without a birth year matches
    the only one of that name."""
    by_key = defaultdict(list)
    for r in residents:
        by_key[(r.name_key, r.birth_year)].append(r)
    plans, claimed, pending = [], set(), []
    for row in rows:
        if not row.data.get("name"):
            continue
        found = [r for r in by_key.get((row.data["name_key"], row.data.get("birth_year")), []) if r.id not in claimed]
        if found:
            claimed.add(found[0].id)
            plans.append(_resident_plan(row, found[0]))
        else:
            pending.append(row)
    for row in pending:
        name, year = row.data["name_key"], row.data.get("birth_year")
        found = [r for r in residents if r.name_key == name and r.id not in claimed and
                 (year is None or r.birth_year is None)]
        if len(found) == 1:
            claimed.add(found[0].id)
            plans.append(_resident_plan(row, found[0]))
        else:
            plans.append(ResidentPlan(row, "new"))
    return plans


def _resident_plan(row: Row, resident) -> ResidentPlan:
    data, changes = row.data, {}
    if data.get("birth_year") is not None and resident.birth_year is None:
        changes["birth_year"] = data["birth_year"]
    if data.get("phone") and data["phone"] != resident.phone:
        changes["phone"] = data["phone"]
    facts = {name: encode_fact(name, data[name]) for name in FACTS
             if data.get(name) is not None and data[name] != getattr(resident, name)}
    if facts:
        changes["facts"] = facts
    return ResidentPlan(row, "update" if changes else "same", resident, changes)


class Messages:
    """How values are shown in problems, and the unknown street message (it names the khu phố that have it)."""

    def __init__(self, places):
        self.places = places

    @staticmethod
    def shown(value) -> str:
        if isinstance(value, bool):
            return _("có") if value else _("không")
        return "" if value is None else str(value)

    def unknown_street(self, data: dict) -> str:
        return self.places.unknown_street(data["khu_pho_id"], data.get("street") or "")
