"""Derived state: the latest answer wins whatever order visits arrive in; ties go to the larger UUID."""
import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from visits.checklist import plan_items, plan_rules
from visits.extensions import db
from visits.models import Household, ItemState, User, Visit, VisitAnswer, utcnow
from visits.recording import Rejected, VisitInput, record_visit
from visits.state import recompute_household

# After the fixture's household list was loaded (its facts are dated when it is built).
T1 = utcnow().replace(microsecond=0) + timedelta(hours=1)
T2 = T1 + timedelta(minutes=30)
UUID_LOW, UUID_HIGH = "00000000-0000-4000-8000-000000000001", "ffffffff-ffff-4fff-bfff-ffffffffffff"


def snapshot(household_id):
    household = db.session.get(Household, household_id)
    rows = db.session.scalars(select(ItemState).where(ItemState.household_id == household_id))
    return (household.status, household.open_items,
            sorted((r.resident_key, r.kind, r.code, r.value, r.visit_uuid) for r in rows),
            sorted((r.id, r.phone_kind, r.sim, r.has_epay) for r in household.residents))


def record(area, uuid, at, outcome, answers=(), facts=()):
    user = db.session.get(User, area["member1"])
    household = db.session.get(Household, area["h12"])
    result = record_visit(user, household, VisitInput(uuid=uuid, recorded_at=at, outcome=outcome,
                                                      answers=list(answers), facts=list(facts)),
                          plan_items(), plan_rules())
    db.session.commit()
    return result


def visits_for(area):
    cuong = area["cuong"]
    return [
        (UUID_HIGH, T1, "come_back", [(cuong, "vneid", "later")], [(cuong, "sim", "2g")]),
        (UUID_LOW, T2, "met", [(cuong, "vneid", "done"), (cuong, "epay", "had")], [(cuong, "has_epay", "yes")]),
    ]


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_either_order_gives_the_same_state(app, area, order):
    with app.app_context():
        visits = visits_for(area)
        for index in order:
            assert record(area, *visits[index]).status == "accepted"
        status, open_items, states, residents = snapshot(area["h12"])
        assert status == "da_tham"  # the later visit (met) decides
        values = {(k, code): v for k, kind, code, v, _u in states}
        assert values[(area["cuong"], "vneid")] == "done"
        assert values[(area["cuong"], "sim")] == "2g"


def test_orders_agree_exactly(app, area):
    """Both orders and a full recompute give byte-for-byte the same state rows."""
    with app.app_context():
        visits = visits_for(area)
        record(area, *visits[1])
        record(area, *visits[0])
        arrived_late = snapshot(area["h12"])
        recompute_household(db.session.get(Household, area["h12"]), plan_items(), plan_rules())
        db.session.commit()
        assert snapshot(area["h12"]) == arrived_late


def test_a_tie_in_time_goes_to_the_larger_uuid(app, area):
    cuong = area["cuong"]
    for first, second in itertools.permutations([UUID_LOW, UUID_HIGH]):
        with app.app_context():
            db.session.query(ItemState).filter_by(kind="item").delete()
            db.session.query(VisitAnswer).delete()
            db.session.query(Visit).delete()
            db.session.commit()
            answer = {UUID_LOW: "declined", UUID_HIGH: "done"}
            for uuid in (first, second):
                record(area, uuid, T1, "met", [(cuong, "vneid", answer[uuid])])
            state = db.session.scalar(select(ItemState).where(ItemState.code == "vneid"))
            assert (state.value, state.visit_uuid) == ("done", UUID_HIGH), (first, second)


def test_replay_is_a_duplicate_and_changed_content_a_conflict(app, area):
    with app.app_context():
        visits = visits_for(area)
        assert record(area, *visits[0]).status == "accepted"
        assert record(area, *visits[0]).status == "duplicate"
        changed = (visits[0][0], visits[0][1], "met", visits[0][3], visits[0][4])
        assert record(area, *changed).status == "conflict"
        assert db.session.query(Visit).count() == 1
        assert db.session.scalar(select(Visit)).outcome == "come_back"


def test_open_items_count_follows_answers(app, area):
    with app.app_context():
        before = db.session.get(Household, area["h12"]).open_items
        record(area, UUID_LOW, T1, "met", [(area["cuong"], "vneid", "done"), (area["cuong"], "dvc", "later")])
        after = db.session.get(Household, area["h12"]).open_items
        assert after == before - 1  # "later" keeps an item open


def test_smartphone_fact_opens_smartphone_items(app, area):
    with app.app_context():
        before = db.session.get(Household, area["h12"]).open_items
        record(area, UUID_LOW, T1, "met", facts=[(area["an"], "phone_kind", "smart")])
        after = db.session.get(Household, area["h12"]).open_items
        # An gains the six target-1 items and loses "vận động dùng điện thoại thông minh".
        assert after == before + 6 - 1


@pytest.mark.parametrize("bad, message", [
    (dict(outcome="partied"), "Kết quả lần thăm không hợp lệ"),
    (dict(answers=[(None, "vneid", "done")]), "không áp dụng"),
    (dict(answers=[("r", "teleport", "done")]), "Không có mục"),
    (dict(answers=[("r", "vneid", "maybe")]), "không hợp lệ"),
    (dict(facts=[("r", "sim", "5g")]), "không hợp lệ"),
    (dict(uuid="not-a-uuid"), "UUID"),
    (dict(recorded_at=datetime(2099, 1, 1)), "tương lai"),
])
def test_bad_input_is_rejected_with_a_reason_and_writes_nothing(app, area, bad, message):
    with app.app_context():
        data = dict(uuid=UUID_LOW, recorded_at=T1, outcome="met", answers=[], facts=[])
        for key, value in bad.items():
            if key in ("answers", "facts"):
                value = [tuple(area["cuong"] if part == "r" else part for part in line) for line in value]
            data[key] = value
        user = db.session.get(User, area["member1"])
        household = db.session.get(Household, area["h12"])
        with pytest.raises(Rejected, match=message):
            record_visit(user, household, VisitInput(**data), plan_items(), plan_rules())
        db.session.rollback()
        assert db.session.query(Visit).count() == 0
