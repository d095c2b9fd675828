"""Counters kept visit by visit equal a full recompute, whatever the sequence of events."""
import uuid
from datetime import datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from visits import attendance, counters, roster
from visits.checklist import active_plan, plan_items, plan_rules
from visits.extensions import db
from visits.models import GroupSession, Household, HouseholdContribution, ItemState, Resident, User, utcnow
from visits.recording import VisitInput, record_visit
from visits.state import recompute_household

from tests.fixtures import login

HOUSEHOLDS = ("h12", "h2", "h2a", "h10", "h_ll")
ITEMS = ("vneid", "dvc", "portal", "postal", "vssid", "essential", "sim4g", "smartphone", "epay", "epay_helper",
         "dx_informed", "langso")
HOUSEHOLD_ITEMS = ("ecommerce_guide", "business_epay", "ecommerce_sale", "qn_ecommerce")
ANSWERS = ("done", "had", "declined", "later", "na")
FACTS = {"phone_kind": ("none", "basic", "smart"), "sim": ("2g", "4g", "unknown"), "handset_2g_only": ("yes", "no"),
         "has_epay": ("yes", "no")}

fact = st.sampled_from(sorted(FACTS)).flatmap(lambda f: st.tuples(st.just(f), st.sampled_from(FACTS[f])))
event = st.one_of(
    st.tuples(st.just("visit"), st.sampled_from(HOUSEHOLDS), st.integers(-500, 500),
              st.sampled_from(("met", "nobody_home", "come_back", "refused")),
              st.lists(st.tuples(st.integers(0, 3), st.sampled_from(ITEMS + HOUSEHOLD_ITEMS), st.sampled_from(ANSWERS)),
                       max_size=4),
              st.lists(st.tuples(st.integers(1, 3), fact), max_size=2)),
    st.tuples(st.just("correct"), st.sampled_from(HOUSEHOLDS), st.integers(-500, 500), st.integers(1, 3), fact),
    st.tuples(st.just("move"), st.sampled_from(HOUSEHOLDS), st.integers(-500, 500), st.integers(1, 3)),
    st.tuples(st.just("add"), st.sampled_from(HOUSEHOLDS), st.integers(-500, 500), st.integers(1930, 2020),
              fact),
)
# Group sessions (target 7): dated by day, so against visits minutes around now some win and some lose.
picks = st.lists(st.tuples(st.sampled_from(HOUSEHOLDS), st.integers(1, 3)), max_size=4)
session_event = st.one_of(
    st.tuples(st.just("session"), st.integers(-2, 0), picks),
    st.tuples(st.just("attend"), st.integers(0, 3), picks),
    st.tuples(st.just("leave"), st.integers(0, 3), picks),
    st.tuples(st.just("redate"), st.integers(0, 3), st.integers(-2, 0)),
    st.tuples(st.just("cancel"), st.integers(0, 3)),
)


def apply(area, step):
    """Apply one event; offsets in minutes let events arrive out of their recorded order."""
    kind, key, offset = step[0], step[1], step[2]
    household = db.session.get(Household, area[key])
    user = db.session.get(User, area["member1"])
    at = utcnow() + timedelta(minutes=offset)  # around the roster load: some events lose to its facts
    people = [r for r in household.residents]
    pick = lambda n: people[(n - 1) % len(people)] if people else None  # noqa: E731
    items, rules = plan_items(), plan_rules()
    if kind == "visit":
        _k, _h, _o, outcome, answers, facts = step
        lines = []
        for who, code, value in answers:
            if code in HOUSEHOLD_ITEMS:
                lines.append((None, code, value))
            elif people:
                lines.append((pick(who or 1).id, code, value))
        facts = [(pick(n).id, name, value) for n, (name, value) in facts if people]
        record_visit(user, household, VisitInput(str(uuid.uuid4()), at, outcome, answers=lines, facts=facts),
                     items, rules)
    elif kind == "correct" and people:
        resident = pick(step[3])
        name, value = step[4]
        roster.correct_resident(user, resident, str(uuid.uuid4()), at, resident.full_name, resident.birth_year,
                                {name: value}, items, rules)
    elif kind == "move" and people:
        roster.mark_moved(user, pick(step[3]), str(uuid.uuid4()), at, items, rules)
    elif kind == "add":
        name, value = step[4]
        roster.new_resident(household, "Người Mới", step[3], {name: value}, items, rules, user=user, recorded_at=at)
    db.session.commit()


def picked(area, chosen) -> set[int]:
    """The residents picked as (household, n), leaving out those moved away (the page never offers them)."""
    ids = set()
    for key, n in chosen:
        people = [r for r in db.session.get(Household, area[key]).residents if not r.moved_away]
        if people:
            ids.add(people[(n - 1) % len(people)].id)
    return ids


def apply_session(area, step):
    """Record, change or delete a group session of KP1 as its pages do."""
    kind, items, rules = step[0], plan_items(), plan_rules()
    sessions = db.session.scalars(select(GroupSession).order_by(GroupSession.id)).all()
    today = utcnow().date()
    if kind == "session":
        session = GroupSession(khu_pho_id=area["kp1"], held_on=today + timedelta(days=step[1]), kind="hop_to_dan_pho",
                               topic="Chuyển đổi số")
        db.session.add(session)
        attendance.add_attendees(session, picked(area, step[2]), items, rules)
    elif sessions:
        session = sessions[step[1] % len(sessions)]
        if kind == "attend":
            attendance.add_attendees(session, picked(area, step[2]), items, rules)
        elif kind == "leave":
            attendance.remove_attendees(session, picked(area, step[2]), items, rules)
        elif kind == "redate":
            attendance.change_day(session, today + timedelta(days=step[2]), items, rules)
        else:
            attendance.delete_session(session, items, rules)
    db.session.commit()


def state_rows() -> list[tuple]:
    return sorted((r.household_id, r.resident_key, r.kind, r.code, r.value, r.recorded_at, r.visit_uuid)
                  for r in db.session.scalars(select(ItemState)))


def nonzero(sums: dict) -> dict:
    """Zero sums and missing rows mean the same; negative ones would be a bug and stay visible."""
    return {scope: {k: v for k, v in vector.items() if v} for scope, vector in sums.items()
            if any(vector.values())}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(event, min_size=1, max_size=12))
def test_counters_equal_recompute_after_any_sequence(app, area, steps):
    with app.app_context():
        for step in steps:
            apply(area, step)
        plan = active_plan()
        kept = (counters.counts(plan), counters.counts(plan, street_level=True))
        counters.recompute(plan)
        db.session.commit()
        recomputed = (counters.counts(plan), counters.counts(plan, street_level=True))
        assert nonzero(kept[0]) == nonzero(recomputed[0])
        assert nonzero(kept[1]) == nonzero(recomputed[1])
        assert sum(recomputed[0].get((area["kp1"], 0), {}).values()) > 0  # the counters are not empty
        assert db.session.query(Resident).count() >= 8


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(event, session_event), min_size=1, max_size=14))
def test_counters_and_state_equal_recompute_with_group_sessions(app, area, steps):
    """Sessions among visits and changes: the kept counters equal `flask recompute`, and the kept state equals a
    rebuild of every household from its visits, changes and sessions."""
    with app.app_context():
        for step in steps:
            (apply_session if step[0] in ("session", "attend", "leave", "redate", "cancel") else apply)(area, step)
        plan = active_plan()
        kept = (counters.counts(plan), counters.counts(plan, street_level=True))
        kept_state = state_rows()
        for household in db.session.scalars(select(Household)).all():
            recompute_household(household, plan_items(), plan_rules())
        db.session.commit()
        assert state_rows() == kept_state
        counters.recompute(plan)
        db.session.commit()
        recomputed = (counters.counts(plan), counters.counts(plan, street_level=True))
        assert nonzero(kept[0]) == nonzero(recomputed[0])
        assert nonzero(kept[1]) == nonzero(recomputed[1])
# --- The sync API's runs of visits: the counters by difference ---------------------------------------------

TIMES = ("2023-06-01T08:00:00", "2024-03-01T08:00:00", "2024-03-01T08:00:00", "2024-09-01T08:00:00", None)
sync_visit = st.tuples(st.sampled_from(HOUSEHOLDS), st.sampled_from(TIMES), st.integers(0, 3),
                       st.sampled_from(("met", "nobody_home", "come_back", "refused")),
                       st.lists(st.tuples(st.integers(0, 3), st.sampled_from(ITEMS + HOUSEHOLD_ITEMS),
                                          st.sampled_from(ANSWERS)), max_size=4),
                       st.lists(st.tuples(st.integers(1, 3), fact | st.just(("moved_away", "yes"))), max_size=1))


def sync_item(people: dict, step) -> dict:
    """A visit as a phone sends it; TIMES: in the plan year, before it, or now (None), minutes apart."""
    name, moment, minutes, outcome, answers, facts = step
    residents = people[name][1]
    pick = lambda n: residents[(n - 1) % len(residents)]  # noqa: E731
    at = (utcnow() if moment is None else datetime.fromisoformat(moment)) + timedelta(minutes=minutes)
    lines, seen = [], set()
    for who, code, value in answers:
        subject = None if code in HOUSEHOLD_ITEMS else pick(who or 1)
        if (subject, code) not in seen:
            seen.add((subject, code))
            lines.append({"resident": subject, "code": code, "value": value})
    return {"type": "visit", "uuid": str(uuid.uuid4()), "household": people[name][0],
            "recorded_at": at.isoformat() + "Z", "outcome": outcome, "notes": "", "met": [], "answers": lines,
            "facts": [{"resident": pick(n), "field": f, "value": v} for n, (f, v) in facts]}


def contributions(plan) -> dict:
    return {row.household_id: {k: v for k, v in row.vector.items() if v}
            for row in db.session.scalars(select(HouseholdContribution)
                                          .where(HouseholdContribution.plan_id == plan.id))}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(sync_visit, min_size=1, max_size=8), min_size=1, max_size=4))
# Facts from before the plan year, then a first contact: An (2G) leaves the cohort of target 3, as counted next.
@example(batches=[[("h12", "2023-06-01T08:00:00", 0, "met", [], [(1, ("sim", "4g"))])],
                  [("h12", "2024-03-01T08:00:00", 0, "met", [], [])],
                  [("h12", None, 0, "met", [(1, "sim4g", "done")], [])]])
# Visits synced late but recorded before the household's first contact become the first contact: first one that
# says Hải's SIM is 2G (he joins the cohort of target 3), then one from before it (he leaves it again), which
# carries no fact and must still be counted in full.
@example(batches=[[("h_ll", "2024-09-01T08:00:00", 0, "met", [], [])],
                  [("h_ll", "2024-03-01T08:00:00", 2, "met", [], [(1, ("sim", "2g"))])],
                  [("h_ll", "2024-03-01T08:00:00", 0, "met", [(1, "sim4g", "done")], [])]])
# A first contact, then facts from before it that lose to the household list's but change Em's cohort (target 4).
@example(batches=[[("h2a", "2024-03-01T08:00:00", 0, "met", [], [])],
                  [("h2a", "2023-06-01T08:00:00", 0, "met", [], [(1, ("phone_kind", "smart"))])],
                  [("h2a", None, 0, "met", [(1, "smartphone", "done")], [])]])
# The household's e-commerce guidance counts in target 8 of each of its residents with a smartphone...
@example(batches=[[("h2", None, 0, "met", [(0, "ecommerce_guide", "done")], [])]])
# ... who may have an app already; one adult informed makes the household count in target 7, a second does not.
@example(batches=[[("h10", None, 0, "met", [(1, "vneid", "done")], [])],
                  [("h10", None, 1, "met", [(0, "ecommerce_guide", "done")], [])]])
@example(batches=[[("h12", None, 0, "met", [(1, "dx_informed", "done")], [])],
                  [("h12", None, 1, "met", [(2, "dx_informed", "done")], [])]])
def test_counters_kept_by_sync_runs_equal_recompute(app, area, client, batches):
    """Runs of visits through /api/sync add differences to the counters (visits.counters.refresh_run); in or
    before the plan year (first contact, cohorts of targets 3 and 4), with facts or without, they equal a
    recompute, household by household too."""
    send = syncing_member(app, area, client)
    for batch in batches:
        send(batch)
    assert_counters_equal_recompute(app)


def syncing_member(app, area, client):
    """member1 logged in (the first example logs in; the client is kept for the others): send(batch) syncs it."""
    if client.get("/api/session").status_code == 401:
        assert login(client, "member1").status_code == 302
    token = client.get("/api/session").get_json()["csrf_token"]
    with app.app_context():
        people = {name: (db.session.get(Household, area[name]).uuid,
                         [r.uuid for r in db.session.get(Household, area[name]).residents])
                  for name in HOUSEHOLDS}

    def send(batch):
        response = client.post("/api/sync", json={"items": [sync_item(people, step) for step in batch]},
                               headers={"X-CSRFToken": token})
        assert response.status_code == 200
        assert {r["status"] for r in response.get_json()["results"]} == {"accepted"}
    return send


def assert_counters_equal_recompute(app):
    """The kept khu phố and street counters, and every household's stored totals, equal a full recompute."""
    with app.app_context():
        plan = active_plan()
        kept = (counters.counts(plan), counters.counts(plan, street_level=True), contributions(plan))
        counters.recompute(plan)
        db.session.commit()
        assert nonzero(kept[0]) == nonzero(counters.counts(plan))
        assert nonzero(kept[1]) == nonzero(counters.counts(plan, street_level=True))
        assert kept[2] == contributions(plan)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(session_event, st.lists(sync_visit, min_size=1, max_size=6)), min_size=1, max_size=8))
def test_counters_by_difference_hold_with_group_sessions(app, area, client, steps):
    """Sessions (target 7 lines in the state) between runs of synced visits, which change the counters by
    difference: the kept counters and household totals still equal a recompute."""
    send = syncing_member(app, area, client)
    for step in steps:
        if isinstance(step, list):
            send(step)
        else:
            with app.app_context():
                apply_session(area, step)
    assert_counters_equal_recompute(app)
