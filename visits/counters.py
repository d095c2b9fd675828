"""Counters, not scans: the indicator sums per khu phố and street, kept up to date household by household.

When anything about a household changes, its contribution is counted again and the difference is added
to the sums in the same transaction. recompute() rebuilds everything from the roster and the visits, and
a property test holds the two equal.
"""
from collections import Counter, defaultdict

from sqlalchemy import bindparam, delete, insert, select, text, update

from .extensions import db
from .indicators import (APP_ITEMS, HouseholdView, PersonView, adder, contribution, first_contact, household_flags,
                         household_terms, person_terms)
from .models import (Change, Household, HouseholdContribution, IndicatorCount, ItemState, Plan, Resident, Visit,
                     VisitAnswer)
from .state import FACT_FIELDS, age_rules, decode_fact, item_answers_of, states_with_keys, update_many


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


# The reads of first_contact_facts, built once: on every sync request that counts a cohort item, building them cost
# more than running them.
VISITS_OF = select(Visit.household_id, Visit.recorded_at, Visit.uuid) \
    .where(Visit.household_id.in_(bindparam("ids", expanding=True)))
FACT_ANSWERS_OF = select(Visit.household_id, VisitAnswer.resident_id, VisitAnswer.code, VisitAnswer.value,
                         Visit.recorded_at, Visit.uuid).join(Visit, VisitAnswer.visit_id == Visit.id) \
    .where(Visit.household_id.in_(bindparam("ids", expanding=True)), VisitAnswer.kind == "fact")
FACT_CHANGES_OF = select(Change.household_id, Change.resident_id, Change.payload, Change.recorded_at, Change.uuid) \
    .where(Change.household_id.in_(bindparam("ids", expanding=True)), Change.resident_id.is_not(None))


def first_contact_facts(household_ids: list[int], year: int) -> dict[int, dict]:
    """Each resident's facts as they stood at the household's first visit of the plan year (with its own facts)."""
    if not household_ids:
        return {}
    visits = defaultdict(list)
    for hid, at, uuid in db.session.execute(VISITS_OF, {"ids": list(household_ids)}):
        visits[hid].append((at, uuid))
    firsts = {hid: first_contact(v, year) for hid, v in visits.items()}
    return facts_at_first_contact({hid: f for hid, f in firsts.items() if f is not None})


def facts_at_first_contact(firsts: dict) -> dict[int, dict]:
    """first_contact_facts for households whose first contact is known already: {household id: (recorded_at,
    uuid) of its first visit of the plan year}."""
    if not firsts:
        return {}
    lines = list(db.session.execute(FACT_ANSWERS_OF, {"ids": list(firsts)}))
    for change in db.session.execute(FACT_CHANGES_OF, {"ids": list(firsts)}):
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


# --- After a run of visits -------------------------------------------------------------------------------
#
# Most visits only answer a few items of one or two residents: the household's contribution then changes by
# what those residents' terms (and the household's own) give with the new answers minus what they gave with
# the old ones, as indicators.contribution counts them. A visit that carries facts, or that may become the
# household's first contact of the plan year (which fixes the cohorts of targets 3 and 4), is counted again
# in full by refresh().

AGGREGATE_CODES = ("dx_informed", "epay_helper")  # read by the household terms of targets 6 and 7
COHORT_CODES = ("sim4g", "smartphone")  # counted over a cohort fixed at first contact


def refresh_run(households, plan: Plan) -> None:
    """Bring the sums up to date after a run of visits (state.HouseholdState, their rows written already)."""
    db.session.flush()
    full, by_difference = [], []
    for household in households:
        if household.recount or any(kind == "fact" for _key, kind, _code in household.before) or \
                any(facts for _at, facts in household.applied):
            full.append(household.id)
        else:
            by_difference.append(household)
    for household in list(by_difference):
        in_year = [at for at, _facts in household.applied if at.year == plan.year]
        # This run's visit is (or ties) the household's first contact of the year: count it in full.
        if in_year and (household.first_contact is None or min(in_year) <= household.first_contact[0]):
            full.append(household.id)
            by_difference.remove(household)
    full += add_differences(by_difference, plan)
    if full:
        refresh(full, plan)


def changed_answers(household) -> dict:
    """{(resident key, code): (old value or None, new value)} for the item answers the run changed."""
    changed = {}
    for (key, kind, code), old in household.before.items():
        new = household.states[(key, kind, code)].value
        if kind == "item" and old != new:
            changed[(key, code)] = (old, new)
    return changed


def add_differences(households, plan: Plan) -> list[int]:
    """Add what the run changed in these households' contributions; the ids of those to count in full instead
    (no contribution stored yet)."""
    rules = age_rules(plan)
    work = []
    for household in households:
        changed = changed_answers(household)
        visited = (household.status_read != "chua_tham", household.status != "chua_tham")
        if changed or visited[0] != visited[1]:
            work.append((household, changed, visited))
    if not work:
        return []
    missing = [h.id for h, _c, _v in work if h.contribution is None]
    work = [w for w in work if w[0].contribution is not None]
    answers = answers_of(work)
    # Baselines only matter where a cohort item changed, and differ from the facts only after a first contact.
    # The first contacts read with the households stand: a run that makes one is counted in full (refresh_run).
    baselines = facts_at_first_contact({h.id: h.first_contact for h, changed, _v in work
                                        if h.first_contact is not None
                                        and any(code in COHORT_CODES for _k, code in changed)})
    deltas: dict = defaultdict(Counter)
    rows = []
    for household, changed, visited in work:
        change = difference(household, changed, visited, answers[household.id], baselines, rules)
        if not change:
            continue
        row_id, vector = household.contribution
        vector = Counter(vector)
        vector.update(change)
        rows.append((row_id, {key: value for key, value in vector.items() if value}))
        for scope in ((household.khu_pho_id, household.street_id), (household.khu_pho_id, 0)):
            deltas[scope].update(change)
    update_many(HouseholdContribution.__table__, ("vector",), rows)
    if deltas:
        add_to_counts(plan, deltas)
    return missing


def answers_of(work) -> dict:
    """The item answers each household's difference reads: every answer of the household itself and of the
    residents whose answers changed; of the others, those the household's terms of targets 6 and 7 read (when
    they changed) and those of target 8 (when the household's ecommerce_guide changed). From the rows in memory
    where the run read a subject in full (HouseholdState.whole), else from the database."""
    subjects, keys = set(), set()
    answers = {}
    for household, changed, _visited in work:
        wanted = {0} | {key for key, _code in changed}
        codes = {code for _key, code in changed if code in AGGREGATE_CODES}
        if (0, "ecommerce_guide") in changed:
            codes.update(APP_ITEMS)
        whole = household.whole
        subjects |= {(household.id, key) for key in wanted - whole}
        keys |= {(household.id, r.id, "item", code) for r in household.residents if r.id not in whole
                 for code in codes}
        answers[household.id] = {(key, code): row.value for (key, kind, code), row in household.states.items()
                                 if kind == "item" and key in whole and (key in wanted or code in codes)}
    for hid, key, code, value in item_answers_of(subjects):
        answers[hid][(key, code)] = value
    for row in states_with_keys(keys):
        answers[row.household_id][(row.resident_key, row.code)] = row.value
    return answers


def difference(household, changed: dict, visited: tuple, new: dict, baselines: dict, rules) -> Counter:
    """The change in the household's contribution: its terms with the new answers minus with the old ones."""
    old = dict(new)
    for key, (before, _after) in changed.items():
        if before is None:
            old.pop(key, None)
        else:
            old[key] = before
    out: Counter = Counter()
    plus, minus = adder(out, 1), adder(out, -1)
    if visited[0] != visited[1] or any(key == 0 for key, _code in changed):
        household_terms(household.is_business, visited[1], new, plus)
        household_terms(household.is_business, visited[0], old, minus)
    # Only the terms that read a changed answer: the others are the same on both sides. The household's
    # ecommerce_guide counts in every resident's target 8; baselines were read for the cohort items only.
    codes = defaultdict(set)
    for key, code in changed:
        codes[key].add(code)
    everyone = {"ecommerce_guide"} if (0, "ecommerce_guide") in changed else set()
    aggregate = any(code in AGGREGATE_CODES for _key, code in changed)
    # The views of the residents these terms read: every one for targets 6 and 7, else those with a changed answer.
    people = [PersonView(r.id, r.birth_year, r.phone_kind, r.sim, r.handset_2g_only, r.has_epay,
                         baselines.get(r.id, {})) for r in household.residents
              if not r.moved_away and (aggregate or everyone or r.id in codes)]
    for person in people:
        wanted = codes.get(person.key, set()) | everyone
        if wanted:
            person_terms(person, new, rules, plus, wanted)
            person_terms(person, old, rules, minus, wanted)
    if aggregate:
        for answers, add in ((new, plus), (old, minus)):
            flags = [household_flags(person, answers, rules) for person in people]
            add("t6", any(helper for _young, helper, _informed in flags))
            add("t7_household", any(informed for _young, _helper, informed in flags))
    return Counter({key: value for key, value in out.items() if value})


def add_to_counts(plan: Plan, deltas: dict) -> None:
    """Add to the sums in place (value = value + n), so that two transactions never overwrite each other's: one
    INSERT ... ON CONFLICT DO UPDATE for the rows new or not."""
    rows = sorted((khu_pho_id, street_id, key, amount) for (khu_pho_id, street_id), change in deltas.items()
                  for key, amount in change.items() if amount)
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # Rows taken in the order of the unique key: two batches adding to the same khu phố counters in different
        # orders would deadlock (seen under `make loadtest`).
        khu_pho_ids, street_ids, keys, amounts = (list(column) for column in zip(*rows))
        db.session.execute(text(
            "INSERT INTO indicator_count (plan_id, khu_pho_id, street_id, key, value) "
            "SELECT :plan_id, u.k, u.s, u.key, u.n FROM unnest(CAST(:k AS INTEGER[]), CAST(:s AS INTEGER[]), "
            "CAST(:keys AS VARCHAR[]), CAST(:n AS INTEGER[])) AS u(k, s, key, n) ORDER BY u.k, u.s, u.key "
            "ON CONFLICT (plan_id, khu_pho_id, street_id, key) "
            "DO UPDATE SET value = indicator_count.value + excluded.value"),
            {"plan_id": plan.id, "k": khu_pho_ids, "s": street_ids, "keys": keys, "n": amounts})
    else:  # SQLite: its BEGIN IMMEDIATE keeps every other writer out already
        connection.exec_driver_sql(
            "INSERT INTO indicator_count (plan_id, khu_pho_id, street_id, key, value) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (plan_id, khu_pho_id, street_id, key) DO UPDATE SET value = value + excluded.value",
            [(plan.id, *row) for row in rows])


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
