"""The current state of residents and households, derived from visits and field changes.

Every answer or fact is a line (subject, kind, code, value, recorded_at, source UUID). For each
subject and code the line with the latest recorded_at wins, ties broken by the larger UUID, so two
phones that synced in either order agree on the result. ItemState keeps the winners, updated in
the same transaction as the visit; recompute_household rebuilds them from scratch.
"""
import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import JSON, bindparam, insert, select, text, update

from .eligibility import AgeRules, household_eligible, resident_eligible
from .extensions import db
from .models import Change, ChecklistItem, Household, ItemState, Plan, Resident, Visit

BOOLEAN_FACTS = ("handset_2g_only", "has_epay", "moved_away")
REACHED = ("done", "had", "declined", "na")
FACT_FIELDS = ("phone_kind", "sim", "handset_2g_only", "has_epay", "moved_away")
FACT_DEFAULTS = {"phone_kind": "none", "sim": "unknown", "handset_2g_only": False, "has_epay": None,
                 "moved_away": False}


@dataclass(frozen=True)
class Line:
    resident_key: int  # the resident's id, 0 for the household
    kind: str  # item | fact
    code: str
    value: str
    recorded_at: datetime
    source_uuid: str

    @property
    def rank(self) -> tuple:
        return (self.recorded_at, self.source_uuid)


def beats(line: Line, current) -> bool:
    """True when the line wins over the current state of its subject (None: no state yet)."""
    return current is None or line.rank > (current.recorded_at, current.visit_uuid)


def apply_line(household: Household, line: Line, existing: dict) -> bool:
    """Make the line the state of its subject if it is newer than what is there; True if it won."""
    key = (line.resident_key, line.kind, line.code)
    current = existing.get(key)
    if not beats(line, current):
        return False
    if current is None:
        current = ItemState(household_id=household.id, resident_key=line.resident_key,
                            kind=line.kind, code=line.code)
        db.session.add(current)
        existing[key] = current
    current.value = line.value
    current.recorded_at = line.recorded_at
    current.visit_uuid = line.source_uuid
    if line.kind == "fact":
        _set_fact(household, line.resident_key, line.code, line.value)
    return True


def lock_household(household: Household) -> None:
    """Lock the household's row until the transaction ends and read it again, before its state is changed.

    On PostgreSQL two requests changing one household then go one after the other, the second reading what the
    first wrote (SQLite's BEGIN IMMEDIATE serialises every writer already).
    """
    db.session.flush()
    db.session.refresh(household, with_for_update=True)


def states_of(household: Household) -> dict:
    """The household's current state rows, keyed by (resident_key, kind, code)."""
    rows = db.session.scalars(select(ItemState).where(ItemState.household_id == household.id))
    return {(r.resident_key, r.kind, r.code): r for r in rows}


# Built once: what a page shows of a household's state (its values, not rows to change).
STATE_VALUES = select(ItemState.resident_key, ItemState.kind, ItemState.code, ItemState.value) \
    .where(ItemState.household_id == bindparam("household_id"))


def state_values_of(household: Household) -> dict:
    """The household's current state for reading, keyed as states_of: rows with .value, not ORM objects (cheaper,
    and the household page reads a few dozen of them on every view)."""
    rows = db.session.execute(STATE_VALUES, {"household_id": household.id})
    return {(r.resident_key, r.kind, r.code): r for r in rows}


def _set_fact(household: Household, resident_id: int, field: str, value: str) -> None:
    resident = next(r for r in household.residents if r.id == resident_id)
    setattr(resident, field, decode_fact(field, value))


def decode_fact(field: str, value: str):
    """Facts travel as strings; the resident's columns hold booleans where a fact is yes/no."""
    if field in BOOLEAN_FACTS:
        return {"yes": True, "no": False}.get(value)
    return value


def encode_fact(field: str, value) -> str | None:
    if field in BOOLEAN_FACTS:
        return None if value is None else ("yes" if value else "no")
    return value


def age_rules(plan: Plan) -> AgeRules:
    return AgeRules(plan.year, plan.adult_age, plan.young_min, plan.young_max)


def open_items_for(household: Household, items: list[ChecklistItem], rules: AgeRules,
                   states: dict) -> dict:
    """The items still open per subject: {resident id or 0: [item, ...]} (only subjects with some)."""
    result = {}
    for subject_key, eligible in _subjects(household, items, rules):
        waiting = [item for item in eligible
                   if getattr(states.get((subject_key, "item", item.code)), "value", None) not in REACHED]
        if waiting:
            result[subject_key] = waiting
    return result


def applicable_items(household: Household, items: list[ChecklistItem], rules: AgeRules) -> dict:
    """Every item that applies, per subject: {resident id or 0: [item, ...]}."""
    return {key: eligible for key, eligible in _subjects(household, items, rules) if eligible}


def _subjects(household, items, rules):
    yield 0, [i for i in items if i.applies_to != "resident" and household_eligible(i.eligibility, household)]
    for resident in household.residents:
        if not resident.moved_away:
            yield resident.id, [i for i in items
                                if i.applies_to == "resident" and resident_eligible(i.eligibility, resident, rules)]


def refresh_household(household: Household, items, rules, states: dict) -> None:
    """Recount the household's open items after its state changed."""
    household.open_items = sum(len(v) for v in open_items_for(household, items, rules, states).values())


def refresh_counters(household_ids) -> None:
    """Bring the khu phố target counters up to date with these households, in the caller's transaction."""
    from . import counters  # counters reads this module
    from .checklist import active_plan
    counters.refresh(household_ids, active_plan())


def refresh_counters_after_run(households) -> None:
    """Bring the counters up to date with the HouseholdStates a run of visits changed (written already)."""
    from . import counters  # counters reads this module
    from .checklist import active_plan
    counters.refresh_run(households, active_plan())


STATUS_OF_OUTCOME = {"met": "da_tham", "refused": "da_tham",
                     "come_back": "hen_quay_lai", "nobody_home": "khong_co_nha"}


def apply_visit_outcome(household: Household, visit: Visit) -> None:
    """The household's status follows its latest visit."""
    if household.last_visit_at is not None and \
            (household.last_visit_at, household.last_visit_uuid) >= (visit.recorded_at, visit.uuid):
        return
    household.last_visit_at = visit.recorded_at
    household.last_visit_uuid = visit.uuid
    household.status = STATUS_OF_OUTCOME[visit.outcome]


def lines_of_visit(visit: Visit) -> list[Line]:
    return [Line(a.resident_id or 0, a.kind, a.code, a.value, visit.recorded_at, visit.uuid)
            for a in visit.answers]


def lines_of_change(change: Change) -> list[Line]:
    facts = change.payload.get("facts", {})
    return [Line(change.resident_id, "fact", field, value, change.recorded_at, change.uuid)
            for field, value in facts.items() if value is not None]


def recompute_household(household: Household, items, rules) -> None:
    """Rebuild the household's state from all its visits, changes and group sessions, as if they arrived now."""
    db.session.execute(ItemState.__table__.delete().where(ItemState.household_id == household.id))
    for resident in household.residents:
        for field in FACT_FIELDS:
            # Facts from the household list arrive as a change too, so defaults are the true start.
            setattr(resident, field, FACT_DEFAULTS[field])
    household.status, household.last_visit_at, household.last_visit_uuid = "chua_tham", None, None
    existing: dict = {}
    visits = db.session.scalars(select(Visit).where(Visit.household_id == household.id)).all()
    changes = db.session.scalars(select(Change).where(Change.household_id == household.id,
                                                      Change.resident_id.is_not(None))).all()
    for visit in visits:
        apply_visit_outcome(household, visit)
        for line in lines_of_visit(visit):
            apply_line(household, line, existing)
    for change in changes:
        for line in lines_of_change(change):
            apply_line(household, line, existing)
    from .attendance import lines_of_attendance  # group sessions inform residents too (target 7)
    for line in lines_of_attendance(household.id):
        apply_line(household, line, existing)
    refresh_household(household, items, rules, existing)
    refresh_counters([household.id])


# --- Many visits at once ------------------------------------------------------------------------------
#
# The sync API applies a phone's batch of visits in memory, with the rules above, and then writes what
# changed in a few statements. These classes stand in for the rows record_visit would touch one by one.

@dataclass(slots=True, eq=False)
class StateRow:
    """An ItemState row a batch has changed; id is None until it is inserted."""
    id: int | None
    value: str
    recorded_at: datetime
    visit_uuid: str


@dataclass(slots=True, eq=False)
class ResidentFacts:
    """The columns of a resident that eligibility and facts use."""
    id: int
    uuid: str
    birth_year: int | None
    phone_kind: str
    sim: str
    handset_2g_only: bool
    has_epay: bool | None
    moved_away: bool
    changed: bool = False


# The facts that decide which items apply to a resident (with the birth year, which a visit does not change).
ELIGIBILITY_FACTS = ("phone_kind", "sim", "handset_2g_only", "moved_away")


@dataclass(slots=True, eq=False)
class HouseholdState:
    """A household with its residents and the state rows a batch needs, as apply_line sees them.

    states holds rows as read (with .id, .value, .recorded_at, .visit_uuid), and StateRow objects for the
    keys the batch changed; before keeps those keys' values as read, for counting open items by difference.
    """
    id: int
    uuid: str
    khu_pho_id: int
    is_business: bool
    status: str
    last_visit_at: datetime | None
    last_visit_uuid: str | None
    open_items: int
    residents: list = field(default_factory=list)
    by_uuid: dict = field(default_factory=dict)
    by_id: dict = field(default_factory=dict)
    states: dict = field(default_factory=dict)
    before: dict = field(default_factory=dict)
    visited: bool = False
    recount: bool = False  # a fact changed who is eligible for what: count every open item again
    applied: list = field(default_factory=list)  # (recorded_at, carries facts) of each visit applied
    status_read: str = ""  # the status as read, before the batch's visits
    street_id: int = 0
    # (row id, vector) of the plan's stored contribution, read with the household when asked; None: no row.
    contribution: tuple | None = None
    # (recorded_at, uuid) of its first visit of the plan year, before this batch's (read with the contribution), as
    # indicators.first_contact gives it; None: none.
    first_contact: tuple | None = None
    whole: set = field(default_factory=set)  # resident keys (0: the household) whose every item row is in states

    def __post_init__(self):
        self.status_read = self.status

    def resident(self, uuid: str) -> ResidentFacts | None:
        return self.by_uuid.get(uuid)

    @property
    def resident_ids(self) -> set[int]:
        return set(self.by_id)

    def apply_visit(self, visit) -> None:
        """What record_visit does to the state (visit: recorded_at, uuid, outcome, answers, facts)."""
        apply_visit_outcome(self, visit)
        for rid, code, value in visit.answers:
            self.apply_line(Line(rid or 0, "item", code, value, visit.recorded_at, visit.uuid))
        for rid, name, value in visit.facts:
            self.apply_line(Line(rid, "fact", name, value, visit.recorded_at, visit.uuid))
        self.visited = True
        self.applied.append((visit.recorded_at, bool(visit.facts)))

    def apply_line(self, line: Line) -> bool:
        """state.apply_line on the rows in memory (the line's row must have been read, if there is one)."""
        key = (line.resident_key, line.kind, line.code)
        current = self.states.get(key)
        if not beats(line, current):
            return False
        if key not in self.before:
            self.before[key] = current.value if current is not None else None
        self.states[key] = StateRow(current.id if current is not None else None, line.value, line.recorded_at,
                                    line.source_uuid)
        if line.kind == "fact":
            resident = self.by_id[line.resident_key]
            value = decode_fact(line.code, line.value)
            if line.code in ELIGIBILITY_FACTS and getattr(resident, line.code) != value:
                self.recount = True
            setattr(resident, line.code, value)
            resident.changed = True
        return True

    def count_open_items(self, items, items_by_code: dict, rules: AgeRules) -> None:
        """open_items as refresh_household counts it: again from every item row when eligibility changed,
        else the stored count plus what the changed rows did (the other rows and who they apply to are as before)."""
        if self.recount:
            refresh_household(self, items, rules, self.states)
            return
        for (key, kind, code), old in self.before.items():
            if kind == "item" and self.counts(key, items_by_code[code], rules):
                self.open_items += (self.states[(key, kind, code)].value not in REACHED) - (old not in REACHED)

    def counts(self, key: int, item, rules: AgeRules) -> bool:
        """True when open_items_for counts this item for this subject (0: the household), whatever its answer."""
        if key == 0:
            return item.applies_to != "resident" and household_eligible(item.eligibility, self)
        resident = self.by_id[key]
        return not resident.moved_away and item.applies_to == "resident" and \
            resident_eligible(item.eligibility, resident, rules)


def load_households(uuids, plan: Plan | None = None) -> dict[str, HouseholdState]:
    """The households with these UUIDs and their residents, in two queries; keyed by UUID. With a plan, each with
    its stored contribution to the plan (HouseholdState.contribution) and its first visit of the plan year
    (HouseholdState.first_contact), read in the same query: the counters need both after a run of visits.

    The households are locked until the transaction ends (FOR UPDATE; SQLite's BEGIN IMMEDIATE locks everything
    already): another request's visits to them wait, then read the state these write, so none is lost.
    """
    uuids = list(uuids)
    if not uuids:
        return {}
    if db.session.connection().dialect.name == "sqlite":
        household_rows, resident_rows = _household_rows_sqlite(uuids, plan)
    else:
        household_rows, resident_rows = _household_rows(uuids, plan)
    found, by_id = {}, {}
    for hid, uuid, khu_pho_id, is_business, status, at, at_uuid, open_items, street_id, row_id, vector, \
            first_at, first_uuid in household_rows:
        household = HouseholdState(hid, uuid, khu_pho_id, is_business, status, at, at_uuid, open_items,
                                   street_id=street_id, contribution=None if row_id is None else (row_id, vector),
                                   first_contact=None if first_uuid is None else (first_at, first_uuid))
        found[uuid] = by_id[hid] = household
    for row in resident_rows:
        resident = ResidentFacts(*row[1:])
        household = by_id[row[0]]
        household.residents.append(resident)
        household.by_uuid[resident.uuid] = resident
        household.by_id[resident.id] = resident
    return found


# The reads of load_households and item_rows_of_subjects, for either driver's placeholders: {p} one value, {among} a
# list of them ("= ANY(%s)" on PostgreSQL, "IN (?, ?, ...)" on SQLite).
# The first visit of the plan year (time, then UUID, as indicators.first_contact orders them) is read from the index
# on (household_id, recorded_at, uuid): two probes per household, no table row.
FIRST_VISIT_SQL = ("(SELECT v.{column} FROM visit AS v WHERE v.household_id = h.id AND v.recorded_at >= {p} "
                   "AND v.recorded_at < {p} ORDER BY v.recorded_at, v.uuid LIMIT 1)")
HOUSEHOLDS_SQL = ("SELECT h.id, h.uuid, h.khu_pho_id, h.is_business, h.status, h.last_visit_at, h.last_visit_uuid, "
                  "h.open_items, h.street_id, c.id, c.vector, " + FIRST_VISIT_SQL.format(column="recorded_at", p="{p}")
                  + ", " + FIRST_VISIT_SQL.format(column="uuid", p="{p}") + " FROM household AS h "
                  "LEFT JOIN household_contribution AS c ON c.household_id = h.id AND c.plan_id = {p} "
                  "WHERE h.uuid {among} ORDER BY h.id")
RESIDENTS_SQL = ("SELECT household_id, id, uuid, birth_year, phone_kind, sim, handset_2g_only, has_epay, moved_away "
                 "FROM resident WHERE household_id {among} ORDER BY id")
ITEM_STATES_SQL = ("SELECT household_id, resident_key, kind, code, id, value, recorded_at, visit_uuid "
                   "FROM item_state WHERE household_id {among} AND kind = 'item'")


def _among_sqlite(count: int) -> str:
    return f"IN ({', '.join('?' * count)})"


def _plan_year(plan: Plan | None, as_text: bool = False) -> tuple:
    """The parameters of HOUSEHOLDS_SQL before the UUIDs: the plan year's bounds (once per first-visit probe) and the
    plan's id (None without a plan: no contribution, no first visit). as_text: the bounds as SQLite compares them
    with its stored dates ("2026-01-01 00:00:00" sorts before "2026-01-01 00:00:00.000000", after any time of 2025)."""
    if plan is None:
        return (None,) * 5
    start, end = datetime(plan.year, 1, 1), datetime(plan.year + 1, 1, 1)
    if as_text:
        start, end = str(start), str(end)
    return start, end, start, end, plan.id


def _household_rows(uuids: list, plan: Plan | None) -> tuple[list, list]:
    """The rows of load_households on PostgreSQL (psycopg2 gives dates, booleans and JSON as they are)."""
    found = driver_rows(HOUSEHOLDS_SQL.format(p="%s", among="= ANY(%s)") + " FOR UPDATE OF h",
                        (*_plan_year(plan), uuids))
    if not found:
        return [], []
    return found, driver_rows(RESIDENTS_SQL.format(among="= ANY(%s)"), ([row[0] for row in found],))


def _household_rows_sqlite(uuids: list, plan: Plan | None) -> tuple[list, list]:
    """The rows of load_households on SQLite, its text converted as SQLAlchemy would."""
    found = [(hid, uuid, khu_pho_id, bool(is_business), status, _datetime(at), at_uuid, open_items, street_id,
              row_id, None if vector is None else json.loads(vector), _datetime(first_at), first_uuid)
             for hid, uuid, khu_pho_id, is_business, status, at, at_uuid, open_items, street_id, row_id, vector,
             first_at, first_uuid in driver_rows(HOUSEHOLDS_SQL.format(p="?", among=_among_sqlite(len(uuids))),
                                                 (*_plan_year(plan, as_text=True), *uuids))]
    if not found:
        return [], []
    residents = driver_rows(RESIDENTS_SQL.format(among=_among_sqlite(len(found))), tuple(row[0] for row in found))
    return found, [(hid, rid, uuid, year, phone, sim, bool(only_2g), None if epay is None else bool(epay), bool(moved))
                   for hid, rid, uuid, year, phone, sim, only_2g, epay, moved in residents]


def driver_rows(sql: str, params: tuple) -> list[tuple]:
    """Rows as plain tuples from the DB-API cursor of the session's connection (the driver's placeholders: ? for
    SQLite, %s for psycopg2).

    For the big reads of a sync batch: a SQLAlchemy Row made of every row, and the statement built and looked up
    in the compiled cache, are much of their time. Values come as the driver gives them (on SQLite, dates and
    JSON as text).
    """
    cursor = db.session.connection().connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


STATE_KEYS_PER_QUERY = 128


class StateRead(NamedTuple):
    """An ItemState row as load_states reads it."""
    household_id: int
    resident_key: int
    kind: str
    code: str
    id: int
    value: str
    recorded_at: datetime
    visit_uuid: str


@lru_cache(maxsize=4)
def _rows_with_keys(count: int) -> str:
    """A query for the state rows with count given keys: a VALUES list joined on the unique index.

    (A row-value IN list would read the whole table on SQLite; a join probes the index once per key. SQLite
    names the columns of a VALUES list column1, column2...)
    """
    wanted = ", ".join(["(?, ?, ?, ?)"] * count)
    return (f"SELECT s.household_id, s.resident_key, s.kind, s.code, s.id, s.value, s.recorded_at, s.visit_uuid "
            f"FROM (VALUES {wanted}) AS wanted JOIN item_state AS s ON s.household_id = wanted.column1 "
            f"AND s.resident_key = wanted.column2 AND s.kind = wanted.column3 AND s.code = wanted.column4")


def load_states(households: dict[int, HouseholdState], keys) -> None:
    """Read the state rows with these keys (household id, resident key, kind, code) into their households."""
    for row in states_with_keys(keys):
        households[row.household_id].states[(row.resident_key, row.kind, row.code)] = row


def states_with_keys(keys) -> list:
    """The state rows with these keys (household id, resident key, kind, code), as StateRead-like rows."""
    keys = sorted(keys)
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        columns = list(zip(*keys)) if keys else [[], [], [], []]
        return db.session.execute(_rows_with_keys_pg(), {"h": list(columns[0]), "r": list(columns[1]),
                                                         "k": list(columns[2]), "c": list(columns[3])}).all()
    found = []
    size = STATE_KEYS_PER_QUERY
    for start in range(0, len(keys), size):
        chunk = keys[start:start + size]
        chunk += [(0, 0, "", "")] * (size - len(chunk))  # always the same statement; household 0 there is not
        found += [StateRead(hid, key, kind, code, row_id, value, datetime.fromisoformat(at), uuid)
                  for hid, key, kind, code, row_id, value, at, uuid
                  in driver_rows(_rows_with_keys(size), tuple(v for wanted in chunk for v in wanted))]
    return found


@lru_cache(maxsize=1)
def _rows_with_keys_pg():
    """The state rows with the keys given as four arrays, on PostgreSQL."""
    states = ItemState.__table__
    return text("SELECT s.household_id, s.resident_key, s.kind, s.code, s.id, s.value, s.recorded_at, s.visit_uuid "
                "FROM unnest(CAST(:h AS INTEGER[]), CAST(:r AS INTEGER[]), CAST(:k AS VARCHAR[]), "
                "CAST(:c AS VARCHAR[])) AS wanted(h, r, k, c) JOIN item_state AS s ON s.household_id = wanted.h "
                "AND s.resident_key = wanted.r AND s.kind = wanted.k AND s.code = wanted.c") \
        .columns(states.c.household_id, states.c.resident_key, states.c.kind, states.c.code, states.c.id,
                 states.c.value, states.c.recorded_at, states.c.visit_uuid)


def item_answers_of(subjects) -> list[tuple]:
    """Every item answer of these subjects (household id, resident key), as (household id, resident key, code,
    value)."""
    return [(row.household_id, row.resident_key, row.code, row.value) for row in item_rows_of_subjects(subjects)]


def load_subjects(households: dict[int, HouseholdState], subjects) -> None:
    """Read every item row of these subjects (household id, resident key) into their households, and note them
    read in full (HouseholdState.whole): the counters then take their answers from memory."""
    for row in item_rows_of_subjects(subjects):
        households[row.household_id].states.setdefault((row.resident_key, row.kind, row.code), row)
    for hid, key in subjects:
        households[hid].whole.add(key)


def item_rows_of_subjects(subjects) -> list[StateRead]:
    """Every item row of these subjects (household id, resident key); not their facts, which a resident's columns
    hold too and which only a visit that carries facts changes (a third of the rows a sync batch read).

    On PostgreSQL read by household, the unique index's first column, and sifted here: a household holds a few
    dozen rows, and PostgreSQL, given a join on a list of pairs, may guess a scan of the whole table instead.
    SQLite probes the index once per pair (see _item_rows_of_pairs): reading and sifting the households' other rows
    cost more.
    """
    subjects = sorted(set(subjects))
    if not subjects:
        return []
    if db.session.connection().dialect.name == "postgresql":
        wanted = sorted({hid for hid, _key in subjects})
        rows = [StateRead(*row) for row in driver_rows(ITEM_STATES_SQL.format(among="= ANY(%s)"), (wanted,))]
        chosen = set(subjects)
        return [row for row in rows if (row.household_id, row.resident_key) in chosen]
    found = []
    size = SUBJECTS_PER_QUERY
    for start in range(0, len(subjects), size):
        chunk = subjects[start:start + size]
        chunk += [(0, 0)] * (size - len(chunk))  # always the same statement; household 0 there is not
        found += [StateRead(hid, key, kind, code, row_id, value, datetime.fromisoformat(at), uuid)
                  for hid, key, kind, code, row_id, value, at, uuid
                  in driver_rows(_item_rows_of_pairs(size), tuple(v for pair in chunk for v in pair))]
    return found


SUBJECTS_PER_QUERY = 128  # a VALUES list of 256 parameters, well under SQLite's 32,766 per statement


@lru_cache(maxsize=4)
def _item_rows_of_pairs(count: int) -> str:
    """A query for the item rows of count given subjects, on SQLite: a VALUES list joined on the unique index's
    first three columns (as _rows_with_keys)."""
    wanted = ", ".join(["(?, ?)"] * count)
    return (f"SELECT s.household_id, s.resident_key, s.kind, s.code, s.id, s.value, s.recorded_at, s.visit_uuid "
            f"FROM (VALUES {wanted}) AS wanted JOIN item_state AS s ON s.household_id = wanted.column1 "
            f"AND s.resident_key = wanted.column2 AND s.kind = 'item'")


def load_item_states(households: list[HouseholdState]) -> None:
    """Read every item row of these households (besides the rows read or changed already)."""
    if not households:
        return
    states = ItemState.__table__
    by_id = {h.id: h for h in households}
    for row in db.session.execute(select(states.c.household_id, states.c.resident_key, states.c.kind, states.c.code,
                                         states.c.id, states.c.value, states.c.recorded_at, states.c.visit_uuid)
                                  .where(states.c.household_id.in_(list(by_id)), states.c.kind == "item")):
        by_id[row.household_id].states.setdefault((row.resident_key, row.kind, row.code), row)


def write_households(households, items, items_by_code: dict, rules) -> None:
    """Count the open items of the visited households and write their state rows, facts and status."""
    households = [h for h in households if h.visited]
    if not households:
        return
    load_item_states([h for h in households if h.recount])
    for household in households:
        household.count_open_items(items, items_by_code, rules)
    states, residents, table = ItemState.__table__, Resident.__table__, Household.__table__
    new, changed = [], []
    for household in households:
        for key in household.before:
            row = household.states[key]
            if row.id is None:
                new.append((household.id, *key, row.value, row.recorded_at, row.visit_uuid))
            else:
                changed.append((row.id, row.value, row.recorded_at, row.visit_uuid))
    insert_many(states, ("household_id", "resident_key", "kind", "code", "value", "recorded_at", "visit_uuid"), new)
    update_many(states, ("value", "recorded_at", "visit_uuid"), changed)
    update_many(residents, FACT_FIELDS, [(r.id, *(getattr(r, name) for name in FACT_FIELDS))
                                         for h in households for r in h.residents if r.changed])
    update_many(table, ("status", "last_visit_at", "last_visit_uuid", "open_items"),
                [(h.id, h.status, h.last_visit_at, h.last_visit_uuid, h.open_items) for h in households])


# --- Writing many rows --------------------------------------------------------------------------------------
#
# SQLAlchemy's executemany prepares every row in Python and, on PostgreSQL, sends one statement per row. These
# write a batch's rows in one call: the driver's executemany on SQLite (a loop in C), and on PostgreSQL one
# statement over unnest() of one array per column.

ROWS_PER_INSERT = 100  # well under SQLite's 32,766 parameters per statement


def insert_many(table, columns: tuple, rows: list[tuple], returning: tuple = ()) -> list:
    """INSERT rows given as tuples in the order of columns; the returning columns of the new rows, if asked.

    Column defaults are not applied: give every column that needs a value. Returned values are as the driver
    gives them (not converted back from SQLite's text dates or JSON).
    """
    if not rows:
        return []
    connection = db.session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        result = connection.exec_driver_sql(_pg_insert(table, columns, returning, dialect),
                                            _pg_arrays(table, columns, rows))
        return result.fetchall() if returning else []
    if dialect.name == "sqlite":
        into = f"INSERT INTO {_quoted(dialect, table.name)} ({', '.join(_quoted(dialect, c) for c in columns)}) VALUES "
        one = f"({', '.join('?' * len(columns))})"
        rows = _converted(table, columns, dialect, rows)
        if not returning:
            connection.exec_driver_sql(into + one, rows)
            return []
        # One statement per ROWS_PER_INSERT rows, its RETURNING read back (executemany cannot return rows).
        found, back = [], " RETURNING " + ", ".join(_quoted(dialect, c) for c in returning)
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start:start + ROWS_PER_INSERT]
            found += connection.exec_driver_sql(into + ", ".join([one] * len(chunk)) + back,
                                                tuple(value for row in chunk for value in row)).fetchall()
        return found
    result = db.session.execute(insert(table).returning(*(table.c[c] for c in returning or ("id",))),
                                [dict(zip(columns, row)) for row in rows])
    return result.all() if returning else []


def update_many(table, columns: tuple, rows: list[tuple]) -> None:
    """UPDATE rows by id; rows are (id, value of each column...)."""
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        connection.exec_driver_sql(_pg_update(table, columns, dialect), _pg_arrays(table, ("id",) + columns, rows))
    elif dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"UPDATE {_quoted(dialect, table.name)} SET {', '.join(f'{_quoted(dialect, c)} = ?' for c in columns)} "
            f"WHERE id = ?", _converted(table, columns + ("id",), dialect, [row[1:] + row[:1] for row in rows]))
    else:
        db.session.execute(update(table).where(table.c.id == bindparam("row_id")).values(
            **{name: bindparam("new_" + name) for name in columns}),
            [{"row_id": row[0], **{"new_" + name: value for name, value in zip(columns, row[1:])}} for row in rows])


def _quoted(dialect, name: str) -> str:
    return dialect.identifier_preparer.quote(name)


# The PostgreSQL statements, written once per table and columns: a sync request spent more building them than
# PostgreSQL spent running them. They go to the driver as they are (psycopg2 sends a list as an array).

@lru_cache(maxsize=32)
def _pg_insert(table, columns: tuple, returning: tuple, dialect) -> str:
    sql = f"INSERT INTO {_quoted(dialect, table.name)} ({', '.join(_quoted(dialect, c) for c in columns)}) " \
          f"SELECT {', '.join(_pg_column(table, c, f'u.c{i}') for i, c in enumerate(columns))} " \
          f"FROM unnest({_pg_casts(table, columns, dialect)}) AS u({', '.join(f'c{i}' for i in range(len(columns)))})"
    return sql + (" RETURNING " + ", ".join(_quoted(dialect, c) for c in returning) if returning else "")


@lru_cache(maxsize=32)
def _pg_update(table, columns: tuple, dialect) -> str:
    names = ("id",) + columns
    assignments = ", ".join(f"{_quoted(dialect, c)} = {_pg_column(table, c, f'u.c{i + 1}')}"
                            for i, c in enumerate(columns))
    return f"UPDATE {_quoted(dialect, table.name)} AS t SET {assignments} " \
           f"FROM unnest({_pg_casts(table, names, dialect)}) AS u({', '.join(f'c{i}' for i in range(len(names)))}) " \
           "WHERE t.id = u.c0"


def _pg_casts(table, columns: tuple, dialect) -> str:
    """CAST(%(a0)s AS type[]), ... for unnest(): one array per column (JSON travels as text)."""
    casts = []
    for i, name in enumerate(columns):
        kind = table.c[name].type
        casts.append(f"CAST(%(a{i})s AS {'TEXT' if isinstance(kind, JSON) else kind.compile(dialect=dialect)}[])")
    return ", ".join(casts)


def _pg_arrays(table, columns: tuple, rows: list[tuple]) -> dict:
    """The arrays of _pg_casts, by name."""
    params = {}
    for i, name in enumerate(columns):
        values = [row[i] for row in rows]
        if isinstance(table.c[name].type, JSON):
            values = [None if v is None else json.dumps(v) for v in values]
        params[f"a{i}"] = values
    return params


def _pg_column(table, name: str, expression: str) -> str:
    return f"CAST({expression} AS JSON)" if isinstance(table.c[name].type, JSON) else expression


def _converted(table, columns: tuple, dialect, rows: list[tuple]) -> list[tuple]:
    """The rows with each value as SQLAlchemy would bind it (dates as text on SQLite, JSON as text...)."""
    processors = _bind_processors(table, columns, dialect)
    if not any(processors):
        return rows
    return [tuple(value if value is None or process is None else process(value)
                  for value, process in zip(row, processors)) for row in rows]


@lru_cache(maxsize=32)
def _bind_processors(table, columns: tuple, dialect) -> tuple:
    return tuple(table.c[name].type.bind_processor(dialect) for name in columns)


def expire_derived() -> None:
    """Forget what the session holds of households, residents and state rows after they were written in bulk."""
    for instance in list(db.session.identity_map.values()):
        if isinstance(instance, (Household, Resident, ItemState)):
            db.session.expire(instance)
