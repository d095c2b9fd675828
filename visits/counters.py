"""Counters, not scans: the indicator sums per khu phố and street, kept up to date household by household.

When anything about a household changes, its contribution is counted again and the difference is added
to the sums in the same transaction. recompute() rebuilds everything from the roster and the visits, and
a property test holds the two equal.
"""
from collections import Counter, defaultdict

from sqlalchemy import bindparam, delete, insert, select, update

from .extensions import db
from .indicators import HouseholdView, PersonView, contribution, first_contact
from .models import (Change, Household, HouseholdContribution, IndicatorCount, ItemState, Plan, Resident, Visit,
                     VisitAnswer)
from .state import FACT_FIELDS, age_rules, decode_fact


def household_views(household_ids: list[int], plan: Plan) -> dict:
    """Load what the indicators need for these households in a handful of queries."""
    if not household_ids:
        return {}
    h, r = Household.__table__, Resident.__table__
    households = {row.id: row for row in db.session.execute(
        select(h.c.id, h.c.khu_pho_id, h.c.street_id, h.c.is_business, h.c.status).where(h.c.id.in_(household_ids)))}
    residents = defaultdict(list)
    for row in db.session.execute(select(r.c.household_id, r.c.id, r.c.birth_year, r.c.phone_kind, r.c.sim,
                                         r.c.handset_2g_only, r.c.has_epay, r.c.moved_away)
                                  .where(r.c.household_id.in_(household_ids))):
        residents[row.household_id].append(row)
    answers = defaultdict(dict)
    for hid, key, code, value in db.session.execute(
            select(ItemState.household_id, ItemState.resident_key, ItemState.code, ItemState.value)
            .where(ItemState.household_id.in_(household_ids), ItemState.kind == "item")):
        answers[hid][(key, code)] = value
    baselines = first_contact_facts(household_ids, plan.year)
    views = {}
    for hid, household in households.items():
        people = [PersonView(r.id, r.birth_year, r.phone_kind, r.sim, r.handset_2g_only, r.has_epay,
                             baselines.get(r.id, {}))
                  for r in residents[hid] if not r.moved_away]
        views[hid] = (household, HouseholdView(household.is_business, household.status != "chua_tham", people,
                                               answers[hid]))
    return views


def first_contact_facts(household_ids: list[int], year: int) -> dict[int, dict]:
    """Each resident's facts as they stood at the household's first visit of the plan year (with its own facts)."""
    visits = defaultdict(list)
    for hid, at, uuid in db.session.execute(select(Visit.household_id, Visit.recorded_at, Visit.uuid)
                                            .where(Visit.household_id.in_(household_ids))):
        visits[hid].append((at, uuid))
    firsts = {hid: first_contact(v, year) for hid, v in visits.items()}
    firsts = {hid: f for hid, f in firsts.items() if f is not None}
    if not firsts:
        return {}
    lines = list(db.session.execute(
        select(Visit.household_id, VisitAnswer.resident_id, VisitAnswer.code, VisitAnswer.value, Visit.recorded_at,
               Visit.uuid).join(Visit, VisitAnswer.visit_id == Visit.id)
        .where(Visit.household_id.in_(list(firsts)), VisitAnswer.kind == "fact")))
    for change in db.session.execute(select(Change.household_id, Change.resident_id, Change.payload,
                                            Change.recorded_at, Change.uuid)
                                     .where(Change.household_id.in_(list(firsts)), Change.resident_id.is_not(None))):
        lines += [(change.household_id, change.resident_id, name, value, change.recorded_at, change.uuid)
                  for name, value in change.payload.get("facts", {}).items()]
    latest: dict = {}
    for hid, rid, name, value, at, uuid in lines:
        rank = (at, uuid)
        if name not in FACT_FIELDS or rank > firsts[hid]:
            continue
        if (rid, name) not in latest or latest[(rid, name)][0] < rank:
            latest[(rid, name)] = (rank, value)
    baseline = defaultdict(dict)
    for (rid, name), (_rank, value) in latest.items():
        baseline[rid][name] = decode_fact(name, value)
    return baseline


def refresh(household_ids, plan: Plan) -> None:
    """Count these households again and add the differences to the sums; in the caller's transaction."""
    db.session.flush()  # the reads below are Core statements, which do not flush the session themselves
    ids = sorted(set(household_ids))
    rules = age_rules(plan)
    table = HouseholdContribution.__table__
    stored = {row.household_id: row for row in db.session.execute(select(table.c.household_id, table.c.id,
                                                                         table.c.vector).where(
        table.c.plan_id == plan.id, table.c.household_id.in_(ids)))}
    deltas: dict = defaultdict(Counter)
    new_rows, changed_rows = [], []
    for hid, (household, view) in household_views(ids, plan).items():
        new = contribution(view, rules)
        row = stored.get(hid)
        old = Counter(row.vector) if row else Counter()
        if new == old:
            continue
        if row is None:
            new_rows.append({"plan_id": plan.id, "household_id": hid, "vector": dict(new)})
        else:
            changed_rows.append({"row_id": row.id, "new_vector": dict(new)})
        change = Counter(new)
        change.subtract(old)
        for scope in ((household.khu_pho_id, household.street_id), (household.khu_pho_id, 0)):
            deltas[scope].update(change)
    if new_rows:
        db.session.execute(insert(table), new_rows)
    if changed_rows:
        db.session.execute(update(table).where(table.c.id == bindparam("row_id"))
                           .values(vector=bindparam("new_vector")), changed_rows)
    if deltas:
        add_to_counts(plan, deltas)


def add_to_counts(plan: Plan, deltas: dict) -> None:
    """Add to the sums in place (value = value + n), so that two transactions never overwrite each other's."""
    table = IndicatorCount.__table__
    keys = {key for change in deltas.values() for key in change}
    scopes = list(deltas)
    existing = {(row.khu_pho_id, row.street_id, row.key): row.id for row in db.session.execute(
        select(table.c.id, table.c.khu_pho_id, table.c.street_id, table.c.key).where(
            table.c.plan_id == plan.id, table.c.key.in_(keys), table.c.khu_pho_id.in_({k for k, _s in scopes}),
            table.c.street_id.in_({s for _k, s in scopes})))}
    added, new_rows = [], []
    for (khu_pho_id, street_id), change in deltas.items():
        for key, amount in change.items():
            if not amount:
                continue
            row_id = existing.get((khu_pho_id, street_id, key))
            if row_id is None:
                new_rows.append({"plan_id": plan.id, "khu_pho_id": khu_pho_id, "street_id": street_id, "key": key,
                                 "value": amount})
            else:
                added.append({"row_id": row_id, "amount": amount})
    if added:
        db.session.execute(update(table).where(table.c.id == bindparam("row_id"))
                           .values(value=table.c.value + bindparam("amount")), added)
    if new_rows:
        db.session.execute(insert(table), new_rows)


def recompute(plan: Plan, batch: int = 2000) -> int:
    """Throw the counters away and count every household again; returns the households counted."""
    db.session.execute(delete(IndicatorCount).where(IndicatorCount.plan_id == plan.id))
    db.session.execute(delete(HouseholdContribution).where(HouseholdContribution.plan_id == plan.id))
    rules = age_rules(plan)
    ids = list(db.session.scalars(select(Household.id).order_by(Household.id)))
    totals: dict = defaultdict(Counter)
    for start in range(0, len(ids), batch):
        rows = []
        for hid, (household, view) in household_views(ids[start:start + batch], plan).items():
            vector = contribution(view, rules)
            rows.append({"plan_id": plan.id, "household_id": hid, "vector": dict(vector)})
            totals[(household.khu_pho_id, household.street_id)].update(vector)
            totals[(household.khu_pho_id, 0)].update(vector)
        if rows:
            db.session.execute(insert(HouseholdContribution), rows)
        db.session.expunge_all()
    count_rows = [{"plan_id": plan.id, "khu_pho_id": k, "street_id": s, "key": key, "value": value}
                  for (k, s), vector in totals.items() for key, value in vector.items() if value]
    if count_rows:
        db.session.execute(insert(IndicatorCount), count_rows)
    return len(ids)


def counts(plan: Plan, khu_pho_ids=None, street_level: bool = False) -> dict:
    """The sums as {(khu_pho_id, street_id): Counter}, for the dashboard."""
    query = select(IndicatorCount).where(IndicatorCount.plan_id == plan.id)
    query = query.where(IndicatorCount.street_id != 0) if street_level else query.where(IndicatorCount.street_id == 0)
    if khu_pho_ids is not None:
        query = query.where(IndicatorCount.khu_pho_id.in_(khu_pho_ids))
    result: dict = defaultdict(Counter)
    for row in db.session.scalars(query):
        result[(row.khu_pho_id, row.street_id)][row.key] = row.value
    return result
