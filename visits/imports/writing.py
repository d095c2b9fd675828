"""Carrying out a chunk of household plans: the rows roster.py would write, in bulk, as demo_data.py does.

A new household enters with a "household.add" change and each new resident with a "resident.add" change
whose facts become ItemState fact rows; a change to what the app had is a "household.correct" or
"resident.correct" change with what changed. For a new household everything is worked out in memory with
the functions visits.state uses (facts, open items) and inserted once, its target counters with
indicators.contribution; for a household the app had, the state is written by state.write_households (as
the sync API does) and its counters by counters.refresh.
"""
import os
import uuid as uuidlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from .. import counters
from ..addresses import sort_key
from ..checklist import active_plan, plan_items, plan_rules
from ..extensions import db
from ..indicators import HouseholdView, PersonView, contribution
from ..models import Change, Household, HouseholdContribution, ItemState, Resident, Street, new_uuid, utcnow
from ..state import (FACT_DEFAULTS, Line, age_rules, decode_fact, expire_derived, insert_many, load_households,
                     load_states, open_items_for, write_households)
from ..text import address_key, nfc
from .checking import FACTS, Plan, slices
from .places import Places

STATE_COLUMNS = ("household_id", "resident_key", "kind", "code", "value", "recorded_at", "visit_uuid")
CHANGE_COLUMNS = ("uuid", "kind", "user_id", "household_id", "resident_id", "recorded_at", "received_at", "payload")
FACT_ENCODED = {"handset_2g_only": lambda v: "yes" if v else "no", "has_epay": lambda v: "yes" if v else "no"}


def fresh_uuids(count: int) -> list[str]:
    """count random (version 4) UUIDs from one read of the system's random source, not one read each."""
    raw = os.urandom(16 * count)
    return [str(uuidlib.UUID(bytes=raw[i:i + 16], version=4)) for i in range(0, 16 * count, 16)]


def insert_rows(table, rows: list[dict]) -> dict[str, int]:
    """Insert rows (dicts with the same keys, a "uuid" among them) at once; their new ids by UUID."""
    columns = tuple(rows[0])
    insert_many(table, columns, [tuple(row[c] for c in columns) for row in rows])
    ids = {}
    for uuids in slices([row["uuid"] for row in rows]):
        ids.update(db.session.execute(select(table.c.uuid, table.c.id).where(table.c.uuid.in_(uuids))).all())
    return ids


def encoded_facts(data: dict) -> dict:
    return {name: FACT_ENCODED.get(name, str)(data[name]) for name in FACTS if data.get(name) is not None}


@dataclass
class Draft:
    """A new household as state.open_items_for and the indicators read one, before it has a row."""
    is_business: bool
    residents: list


class DraftResident:
    """A new resident, likewise: its facts (encoded, as the change carries them) decoded into its columns."""

    def __init__(self, key: int, plan, facts: dict):
        self.id, self.plan, self.facts, self.uuid = key, plan, facts, ""
        self.birth_year = plan.row.data.get("birth_year")
        self.moved_away = False
        for name in FACTS:
            setattr(self, name, decode_fact(name, facts[name]) if name in facts else FACT_DEFAULTS[name])


class Writer:
    """Writes one chunk's plans in the caller's transaction; counts what it wrote."""

    def __init__(self, job, places: Places, recorded_at: datetime):
        self.job, self.places, self.at = job, places, recorded_at
        self.user_id = job.user_id
        self.payload_tag = {"import_job": job.uuid}
        self.counts: Counter = Counter()
        self.touched: set[str] = set()  # household UUIDs whose state is written
        self.recount: set[str] = set()  # ... of which who is eligible for what may have changed
        self.lines: dict[str, list[Line]] = defaultdict(list)
        self.fact_keys: set = set()  # state rows of existing residents the lines may replace

    def write(self, plans: list[Plan]) -> Counter:
        plans = [p for p in plans if p.action is not None]
        self.plan_of = {r.row.id: p for p in plans for r in p.residents}  # the household plan of each row
        for plan in plans:
            if plan.existing is not None:
                plan.uuid, plan.household_id = plan.existing.uuid, plan.existing.id
            self.counts["households_" + plan.action] += 1
            for resident in plan.residents:
                self.counts["residents_" + resident.action] += 1
        self.new_households([p for p in plans if p.action == "new"])
        self.update_households([p for p in plans if p.action == "update"])
        self.new_residents([r for p in plans if p.action != "new" for r in p.residents if r.action == "new"])
        self.update_residents([r for p in plans for r in p.residents if r.action == "update"])
        self.write_state()
        return self.counts

    # Streets --------------------------------------------------------------------------------------------------

    def street_of(self, data: dict) -> Street:
        """The household's street, made when the sheet names one its khu phố does not have yet (staff chose so)."""
        khu_pho = self.places.khu_phos[data["khu_pho_id"]]
        if data.get("street_id"):
            return db.session.get(Street, data["street_id"])
        street = self.places.street(khu_pho, data["street"])
        if street is None:
            last = db.session.scalar(select(Street.position).where(Street.khu_pho_id == khu_pho.id)
                                     .order_by(Street.position.desc()).limit(1))
            street = Street(khu_pho_id=khu_pho.id, name=nfc(data["street"]), position=(last or 0) + 1)
            db.session.add(street)
            db.session.flush()
            self.places.add_street(street)
            self.counts["streets_new"] += 1
        return street

    # Households -----------------------------------------------------------------------------------------------

    def new_households(self, plans: list[Plan]) -> None:
        """New households with their residents, facts, fact rows, open items and counters, in a few statements."""
        if not plans:
            return
        items, rules = plan_items(), plan_rules()
        rows, drafts = [], []
        for plan, uuid in zip(plans, fresh_uuids(len(plans))):
            data, street = plan.household, self.street_of(plan.household)
            plan.uuid = uuid
            draft = Draft(bool(data.get("is_business")), [
                DraftResident(index, r, encoded_facts(r.row.data)) for index, r in enumerate(plan.residents, 1)])
            open_items = sum(len(v) for v in open_items_for(draft, items, rules, {}).values())
            rows.append({"uuid": uuid, "street_id": street.id, "khu_pho_id": street.khu_pho_id,
                         "code": data.get("code"), "house_number": data["house_number"],
                         "sort_key": sort_key(data["house_number"]),
                         "address_key": address_key(street.name, data["house_number"]),
                         "head_name": plan.head_name, "is_business": draft.is_business,
                         "created_by_id": self.user_id, "created_at": self.at, "status": "chua_tham",
                         "last_visit_at": None, "last_visit_uuid": None, "open_items": open_items})
            drafts.append(draft)
        ids = insert_rows(Household.__table__, rows)
        changes = []
        for plan, row in zip(plans, rows):
            plan.household_id = ids[plan.uuid]
            changes.append(self.change(plan.uuid, "household.add", plan.household_id, None, {
                "house_number": row["house_number"], "head_name": row["head_name"],
                "is_business": row["is_business"], "code": row["code"]}))
        self.insert_changes(changes)
        self.insert_residents([(plan, draft) for plan, draft in zip(plans, drafts)])
        self.count_new_households([(draft, row, plan.household_id) for plan, draft, row in zip(plans, drafts, rows)])

    def insert_residents(self, households: list) -> None:
        """The new households' residents, with their facts as columns, their changes and their fact rows."""
        people = [(plan, person) for plan, draft in households for person in draft.residents]
        if not people:
            return
        rows = []
        for (plan, person), uuid in zip(people, fresh_uuids(len(people))):
            data = person.plan.row.data
            person.uuid = uuid
            rows.append({"uuid": uuid, "household_id": plan.household_id, "full_name": data["name"],
                         "name_key": data["name_key"], "birth_year": data.get("birth_year"),
                         "phone": data.get("phone"), "phone_kind": person.phone_kind,
                         "handset_2g_only": person.handset_2g_only, "sim": person.sim, "has_epay": person.has_epay,
                         "moved_away": False, "created_by_id": self.user_id, "created_at": self.at})
        ids = insert_rows(Resident.__table__, rows)
        changes, states = [], []
        for (plan, person), row in zip(people, rows):
            person.id = ids[person.uuid]
            changes.append(self.change(person.uuid, "resident.add", plan.household_id, person.id,
                                       self.added_payload(row, person.facts)))
            states += [(plan.household_id, person.id, "fact", name, value, self.at, person.uuid)
                       for name, value in person.facts.items()]
        self.insert_changes(changes)
        insert_many(ItemState.__table__, STATE_COLUMNS, states)

    def added_payload(self, row: dict, facts: dict) -> dict:
        payload = {"full_name": row["full_name"], "birth_year": row["birth_year"], "facts": facts}
        if row["phone"]:
            payload["phone"] = row["phone"]
        return payload

    def update_households(self, plans: list[Plan]) -> None:
        if not plans:
            return
        moving = [p for p in plans if "street_id" in p.changes]
        if moving:
            self.leave_counters(moving)
        changes = []
        for plan in plans:
            values = dict(plan.changes)
            if "street_id" in values:
                street = self.street_of(plan.household)
                values.update(street_id=street.id, khu_pho_id=street.khu_pho_id,
                              sort_key=sort_key(values["house_number"]),
                              address_key=address_key(street.name, values["house_number"]))
            db.session.execute(update(Household.__table__).where(Household.__table__.c.id == plan.existing.id)
                               .values(**values))
            self.touched.add(plan.uuid)
            if "is_business" in values:
                self.recount.add(plan.uuid)
            changes.append(self.change(new_uuid(), "household.correct", plan.existing.id, None,
                                       {"changes": {k: v for k, v in values.items() if k not in ("sort_key",)}}))
        self.insert_changes(changes)

    def leave_counters(self, plans: list[Plan]) -> None:
        """A household moving street takes its contribution out of its old street's (and khu phố's) counters;
        counters.refresh then counts it afresh where it now is."""
        plan_row = active_plan()
        ids = [p.existing.id for p in plans]
        where = {p.existing.id: (p.existing.khu_pho_id, p.existing.street_id) for p in plans}
        deltas: dict = defaultdict(Counter)
        for row in db.session.scalars(select(HouseholdContribution).where(
                HouseholdContribution.plan_id == plan_row.id, HouseholdContribution.household_id.in_(ids))):
            khu_pho_id, street_id = where[row.household_id]
            for scope in ((khu_pho_id, street_id), (khu_pho_id, 0)):
                deltas[scope].subtract(Counter(row.vector))
        if deltas:
            counters.add_to_counts(plan_row, deltas)
        db.session.execute(delete(HouseholdContribution).where(
            HouseholdContribution.plan_id == plan_row.id, HouseholdContribution.household_id.in_(ids)))

    # Residents ------------------------------------------------------------------------------------------------

    def new_residents(self, plans: list) -> None:
        """New residents of households the app had: their facts go through the households' state."""
        if not plans:
            return
        rows = []
        for resident, uuid in zip(plans, fresh_uuids(len(plans))):
            data = resident.row.data
            household = self.plan_of[resident.row.id]
            resident.uuid = uuid
            rows.append({"uuid": uuid, "household_id": household.household_id, "full_name": data["name"],
                         "name_key": data["name_key"], "birth_year": data.get("birth_year"),
                         "phone": data.get("phone"), "phone_kind": "none", "handset_2g_only": False,
                         "sim": "unknown", "has_epay": None, "moved_away": False, "created_by_id": self.user_id,
                         "created_at": self.at})
        ids = insert_rows(Resident.__table__, rows)
        changes = []
        for resident, row in zip(plans, rows):
            household = self.plan_of[resident.row.id]
            resident_id = ids[resident.uuid]
            facts = encoded_facts(resident.row.data)
            changes.append(self.change(resident.uuid, "resident.add", household.household_id, resident_id,
                                       self.added_payload(row, facts)))
            self.lines[household.uuid] += [Line(resident_id, "fact", name, value, self.at, resident.uuid)
                                           for name, value in facts.items()]
            self.touched.add(household.uuid)
            self.recount.add(household.uuid)
        self.insert_changes(changes)

    def update_residents(self, plans: list) -> None:
        if not plans:
            return
        changes = []
        for resident in plans:
            existing, wanted = resident.existing, resident.changes
            household = self.plan_of[resident.row.id]
            columns = {k: wanted[k] for k in ("birth_year", "phone") if k in wanted}
            if columns:
                db.session.execute(update(Resident.__table__).where(Resident.__table__.c.id == existing.id)
                                   .values(**columns))
            if "birth_year" in columns:
                self.recount.add(household.uuid)
            uuid = new_uuid()
            facts = wanted.get("facts", {})
            payload = {"full_name": existing.full_name, "birth_year": columns.get("birth_year", existing.birth_year),
                       "facts": facts}
            if "phone" in columns:
                payload["phone"] = columns["phone"]
            changes.append(self.change(uuid, "resident.correct", existing.household_id, existing.id, payload))
            for name, value in facts.items():
                self.lines[household.uuid].append(Line(existing.id, "fact", name, value, self.at, uuid))
                self.fact_keys.add((existing.household_id, existing.id, "fact", name))
            self.touched.add(household.uuid)
        self.insert_changes(changes)

    # State and counters ---------------------------------------------------------------------------------------

    def write_state(self) -> None:
        """Households the app had: apply the fact lines to their state, recount open items, refresh counters."""
        if not self.touched:
            return
        households = load_households(self.touched)
        by_id = {h.id: h for h in households.values()}
        if self.fact_keys:
            load_states(by_id, self.fact_keys)
        for uuid, household in households.items():
            for line in self.lines.get(uuid, []):
                household.apply_line(line)
            household.visited = True  # "write me": write_households skips the others
            household.recount = household.recount or uuid in self.recount
        items = plan_items()
        write_households(households.values(), items, {i.code: i for i in items}, plan_rules())
        expire_derived()
        counters.refresh(list(by_id), active_plan())

    def count_new_households(self, households: list) -> None:
        """What counters.refresh would add for households that have no visit, no answer and no contribution yet
        (indicators.contribution of their residents), inserted and added to the sums at once. The import tests
        hold the counters equal to counters.recompute."""
        plan = active_plan()
        rules = age_rules(plan)
        rows, deltas = [], defaultdict(Counter)
        for draft, row, household_id in households:
            people = [PersonView(r.id, r.birth_year, r.phone_kind, r.sim, r.handset_2g_only, r.has_epay, {})
                      for r in draft.residents]
            vector = contribution(HouseholdView(draft.is_business, False, people, {}), rules)
            if not vector:
                continue
            rows.append({"plan_id": plan.id, "household_id": household_id, "vector": dict(vector)})
            deltas[(row["khu_pho_id"], row["street_id"])].update(vector)
            deltas[(row["khu_pho_id"], 0)].update(vector)
        if rows:
            db.session.execute(insert(HouseholdContribution.__table__), rows)
            counters.add_to_counts(plan, deltas)

    @staticmethod
    def insert_changes(changes: list[dict]) -> None:
        if changes:
            insert_many(Change.__table__, CHANGE_COLUMNS, [tuple(c[k] for k in CHANGE_COLUMNS) for c in changes])

    def change(self, uuid: str, kind: str, household_id: int, resident_id: int | None, payload: dict) -> dict:
        return {"uuid": uuid, "kind": kind, "user_id": self.user_id, "household_id": household_id,
                "resident_id": resident_id, "recorded_at": self.at, "received_at": utcnow(),
                "payload": {**payload, **self.payload_tag}}
