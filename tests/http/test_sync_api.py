"""POST /api/sync and GET /api/session, attacked from every side a phone (or someone else) could come from.

Every item is answered on its own (accepted, duplicate, conflict, not_yet, rejected with a reason), nothing is
written twice, nothing outside the member's khu phố is written at all, and the derived state is what a full
recompute gives, whatever order the phones' batches arrive in.
"""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from flask import g
from sqlalchemy import select

from visits import counters
from visits.checklist import active_plan, plan_items, plan_rules
from visits.extensions import db
from visits.models import Change, Household, ItemState, Resident, SyncConflict, User, Visit, VisitAnswer
from visits.state import recompute_household

from tests.fixtures import login, run_at_once

MODELS = (Household, Resident, Change, Visit, VisitAnswer, ItemState, SyncConflict)
LOW, HIGH = "00000000-0000-4000-8000-000000000001", "ffffffff-ffff-4fff-bfff-fffffffffffe"


def at(minutes: float = 5) -> str:
    """A phone's clock a little after now: later than the fixture's household list, so these facts win."""
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()


def new_id() -> str:
    return str(uuid.uuid4())


def token_of(client) -> str:
    response = client.get("/api/session")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["csrf_token"]


def sync(client, items, token=None):
    return client.post("/api/sync", json={"items": items}, headers={"X-CSRFToken": token or token_of(client)})


def statuses(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return [r["status"] for r in response.get_json()["results"]]


def only_result(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    [result] = response.get_json()["results"]
    return result


def counts(app) -> dict:
    with app.app_context():
        return {m.__name__: db.session.query(m).count() for m in MODELS}


def uuids(app, area) -> dict:
    """The UUIDs a phone knows the fixture's households and residents by."""
    with app.app_context():
        found = {name: db.session.get(Household, area[name]).uuid
                 for name in ("h12", "h2", "h2a", "h10", "h_ll", "h_hl")}
        found.update({name: db.session.get(Resident, area[name]).uuid
                      for name in ("an", "binh", "cuong", "dung", "lan")})
        return found


def snapshot(household_id) -> tuple:
    """Everything derived about a household (call inside an app context)."""
    db.session.expire_all()
    household = db.session.get(Household, household_id)
    rows = db.session.scalars(select(ItemState).where(ItemState.household_id == household_id))
    return (household.status, household.last_visit_at, household.last_visit_uuid, household.open_items,
            sorted((r.resident_key, r.kind, r.code, r.value, r.recorded_at, r.visit_uuid) for r in rows),
            sorted((r.id, r.full_name, r.birth_year, r.phone_kind, r.sim, r.handset_2g_only, r.has_epay,
                    r.moved_away) for r in household.residents))


def assert_state_is_a_recompute(household_id) -> None:
    """The state kept up to date item by item equals the state rebuilt from all visits and changes."""
    kept = snapshot(household_id)
    recompute_household(db.session.get(Household, household_id), plan_items(), plan_rules())
    db.session.flush()
    assert snapshot(household_id) == kept
    db.session.rollback()


def assert_counters_are_a_recompute() -> None:
    """The khu phố target counters kept visit by visit equal the counters counted again from scratch."""
    plan = active_plan()
    kept = counters.counts(plan), counters.counts(plan, street_level=True)
    counters.recompute(plan)
    db.session.flush()
    assert (counters.counts(plan), counters.counts(plan, street_level=True)) == kept
    db.session.rollback()
    g.pop("plan", None)  # recompute() let go of every object the session held


def visit(household_uuid, **fields) -> dict:
    item = {"type": "visit", "uuid": new_id(), "household": household_uuid, "recorded_at": at(), "outcome": "met",
            "notes": "", "met": [], "answers": [], "facts": []}
    item.update(fields)
    return item


def mixed_batch(u: dict, area) -> list[dict]:
    """A morning's outbox: a new household and its resident, visits, a correction and a move."""
    new_household, new_resident = new_id(), new_id()
    return [
        {"type": "household", "uuid": new_household, "street": area["nguyen_trai"], "recorded_at": at(1),
         "house_number": "14", "head_name": "Trịnh Văn Khoa", "is_business": False},
        {"type": "resident", "uuid": new_resident, "household": new_household, "recorded_at": at(2),
         "full_name": "Trịnh Văn Khoa", "birth_year": 1995, "facts": {"phone_kind": "smart", "sim": "4g"}},
        visit(u["h12"], recorded_at=at(3), notes="Đã cài VNeID cho anh Cường.", met=[u["cuong"], u["an"]],
              answers=[{"resident": u["cuong"], "code": "vneid", "value": "done"},
                       {"resident": u["cuong"], "code": "epay", "value": "had"},
                       {"resident": None, "code": "ecommerce_guide", "value": "later"}],
              facts=[{"resident": u["an"], "field": "sim", "value": "4g"},
                     {"resident": u["cuong"], "field": "has_epay", "value": "yes"}]),
        visit(new_household, recorded_at=at(4), outcome="come_back", met=[new_resident],
              answers=[{"resident": new_resident, "code": "vneid", "value": "later"}]),
        {"type": "correction", "uuid": new_id(), "resident": u["binh"], "recorded_at": at(5),
         "full_name": "Trần Thị Bình Minh", "birth_year": 1966, "facts": {"phone_kind": "basic", "sim": "2g"}},
        {"type": "moved", "uuid": new_id(), "resident": u["dung"], "recorded_at": at(6)},
    ]


@pytest.fixture
def member(as_user):
    return as_user("member1")


# --- Who may post -------------------------------------------------------------------------------------

def test_session_gives_the_user_and_a_csrf_token_that_works(member, app, area):
    response = member.get("/api/session")
    assert response.status_code == 200
    body = response.get_json()
    assert body["username"] == "member1" and len(body["csrf_token"]) > 20
    u = uuids(app, area)
    assert statuses(sync(member, [visit(u["h12"])], token=body["csrf_token"])) == ["accepted"]


def test_post_without_the_csrf_header_is_refused_and_writes_nothing(member, app, area):
    u = uuids(app, area)
    before = counts(app)
    missing = member.post("/api/sync", json={"items": [visit(u["h12"])]})
    assert missing.status_code == 400
    assert "mã bảo mật" in missing.get_json()["error"]
    wrong = member.post("/api/sync", json={"items": [visit(u["h12"])]}, headers={"X-CSRFToken": "not-a-token"})
    assert wrong.status_code == 400
    other = app.test_client()
    login(other, "member1b")
    stolen = member.post("/api/sync", json={"items": [visit(u["h12"])]}, headers={"X-CSRFToken": token_of(other)})
    assert stolen.status_code == 400  # another session's token
    assert counts(app) == before


def test_not_logged_in_gets_401_json_and_nothing_is_written(client, app, area):
    u = uuids(app, area)
    before = counts(app)
    session = client.get("/api/session")
    assert session.status_code == 401 and "đăng nhập" in session.get_json()["error"]
    response = client.post("/api/sync", json={"items": [visit(u["h12"])]})
    assert response.status_code == 401
    assert "đăng nhập" in response.get_json()["error"]
    assert counts(app) == before


def test_a_session_ended_elsewhere_gets_401_and_nothing_is_written(member, app, area):
    u = uuids(app, area)
    token = token_of(member)
    with app.app_context():
        db.session.get(User, area["member1"]).session_version += 1  # "log out everywhere"
        db.session.commit()
    before = counts(app)
    response = sync(member, [visit(u["h12"])], token=token)
    assert response.status_code == 401
    assert response.is_json and "Phiên đăng nhập đã hết" in response.get_json()["error"]
    assert member.get("/api/session").status_code == 401
    assert counts(app) == before


# --- A batch, and the same batch again -------------------------------------------------------------------

def test_a_mixed_batch_is_accepted_and_brings_the_state_up_to_date(member, app, area):
    u = uuids(app, area)
    batch = mixed_batch(u, area)
    response = sync(member, batch)
    assert statuses(response) == ["accepted"] * len(batch)
    assert [r["uuid"] for r in response.get_json()["results"]] == [item["uuid"] for item in batch]
    new_household, new_resident, first_visit = batch[0]["uuid"], batch[1]["uuid"], batch[2]["uuid"]
    with app.app_context():
        h12 = db.session.get(Household, area["h12"])
        assert (h12.status, h12.last_visit_uuid) == ("da_tham", first_visit)
        states = {(s.resident_key, s.kind, s.code): (s.value, s.visit_uuid) for s in
                  db.session.scalars(select(ItemState).where(ItemState.household_id == h12.id))}
        assert states[(area["cuong"], "item", "vneid")] == ("done", first_visit)
        assert states[(area["cuong"], "item", "epay")] == ("had", first_visit)
        assert states[(0, "item", "ecommerce_guide")] == ("later", first_visit)
        assert states[(area["an"], "fact", "sim")] == ("4g", first_visit)
        assert db.session.get(Resident, area["an"]).sim == "4g"
        assert db.session.get(Resident, area["cuong"]).has_epay is True
        saved = db.session.scalar(select(Visit).where(Visit.uuid == first_visit))
        assert saved.user_id == area["member1"] and saved.notes == "Đã cài VNeID cho anh Cường."
        assert sorted(saved.met_resident_ids) == sorted([area["an"], area["cuong"]])

        added = db.session.scalar(select(Household).where(Household.uuid == new_household))
        assert (added.khu_pho_id, added.street_id, added.house_number) == (area["kp1"], area["nguyen_trai"], "14")
        assert added.created_by_id == area["member1"] and added.status == "hen_quay_lai"
        resident = db.session.scalar(select(Resident).where(Resident.uuid == new_resident))
        assert (resident.household_id, resident.phone_kind, resident.sim) == (added.id, "smart", "4g")
        assert db.session.scalar(select(ItemState.value).where(
            ItemState.resident_key == resident.id, ItemState.code == "vneid")) == "later"
        kinds = {c.uuid: (c.kind, c.user_id) for c in db.session.scalars(select(Change))}
        assert kinds[new_household] == ("household.add", area["member1"])
        assert kinds[new_resident] == ("resident.add", area["member1"])
        assert kinds[batch[4]["uuid"]] == ("resident.correct", area["member1"])
        assert kinds[batch[5]["uuid"]] == ("resident.moved", area["member1"])

        binh = db.session.get(Resident, area["binh"])
        assert (binh.full_name, binh.birth_year, binh.phone_kind, binh.sim) == ("Trần Thị Bình Minh", 1966,
                                                                                "basic", "2g")
        assert db.session.get(Resident, area["dung"]).moved_away is True
        assert db.session.get(Household, area["h2"]).open_items == 4  # only the business's own items are left
        for household_id in (area["h12"], area["h2"], added.id):
            assert_state_is_a_recompute(household_id)
        assert_counters_are_a_recompute()


def test_the_same_batch_sent_twice_is_all_duplicates_and_nothing_is_written_twice(member, app, area):
    u = uuids(app, area)
    batch = mixed_batch(u, area)
    assert statuses(sync(member, batch)) == ["accepted"] * len(batch)
    after_first = counts(app)
    with app.app_context():
        state = [snapshot(area[name]) for name in ("h12", "h2")]
    again = sync(member, batch)
    assert statuses(again) == ["duplicate"] * len(batch), again.get_json()
    assert counts(app) == after_first
    assert after_first["SyncConflict"] == 0
    with app.app_context():
        assert [snapshot(area[name]) for name in ("h12", "h2")] == state


def test_a_replay_in_one_batch_and_in_another_order_is_a_duplicate(member, app, area):
    u = uuids(app, area)
    first = visit(u["h12"], answers=[{"resident": u["cuong"], "code": "vneid", "value": "done"},
                                     {"resident": u["cuong"], "code": "dvc", "value": "later"}])
    reordered = dict(first, answers=list(reversed(first["answers"])), uuid=first["uuid"].upper())
    assert statuses(sync(member, [first, first, reordered])) == ["accepted", "duplicate", "duplicate"]
    with app.app_context():
        assert db.session.query(Visit).count() == 1 and db.session.query(VisitAnswer).count() == 2


# --- Conflicts, items that must wait, items that must be refused -------------------------------------------

def test_the_same_uuid_with_other_content_is_a_conflict_kept_for_review(member, app, area):
    u = uuids(app, area)
    original = visit(u["h12"], outcome="come_back", answers=[{"resident": u["cuong"], "code": "vneid",
                                                             "value": "later"}])
    assert statuses(sync(member, [original])) == ["accepted"]
    with app.app_context():
        state = snapshot(area["h12"])
    before = counts(app)
    changed = dict(original, outcome="met", answers=[{"resident": u["cuong"], "code": "vneid", "value": "done"}])
    result = only_result(sync(member, [changed]))
    assert result["status"] == "conflict" and result["uuid"] == original["uuid"]
    assert "nội dung khác" in result["reason"]
    after = counts(app)
    assert after["SyncConflict"] == before["SyncConflict"] + 1
    assert {k: v for k, v in after.items() if k != "SyncConflict"} == \
        {k: v for k, v in before.items() if k != "SyncConflict"}
    with app.app_context():
        assert snapshot(area["h12"]) == state
        saved = db.session.scalar(select(Visit).where(Visit.uuid == original["uuid"]))
        assert saved.outcome == "come_back"
        kept = db.session.scalar(select(SyncConflict))
        assert (kept.uuid, kept.kind, kept.user_id, kept.resolved) == (original["uuid"], "visit", area["member1"],
                                                                       False)
        assert kept.payload == changed


def test_a_household_uuid_reused_for_another_address_is_a_conflict(member, app, area):
    item = {"type": "household", "uuid": new_id(), "street": area["nguyen_trai"], "recorded_at": at(),
            "house_number": "20", "head_name": ""}
    assert statuses(sync(member, [item])) == ["accepted"]
    moved = dict(item, house_number="22")
    assert statuses(sync(member, [moved])) == ["conflict"]
    with app.app_context():
        assert db.session.scalar(select(Household.house_number).where(Household.uuid == item["uuid"])) == "20"
        assert db.session.scalar(select(SyncConflict.payload)) == moved


def test_a_resident_uuid_that_names_another_change_is_a_conflict_not_a_half_record(member, app, area):
    u = uuids(app, area)
    correction = {"type": "correction", "uuid": new_id(), "resident": u["an"], "recorded_at": at(),
                  "full_name": "Nguyễn Văn An", "birth_year": 1960, "facts": {}}
    assert statuses(sync(member, [correction])) == ["accepted"]
    before = counts(app)
    resident = {"type": "resident", "uuid": correction["uuid"], "household": u["h12"], "recorded_at": at(),
                "full_name": "Nguyễn Thị Mới", "birth_year": 2001, "facts": {}}
    assert statuses(sync(member, [resident])) == ["conflict"]
    assert counts(app) == dict(before, SyncConflict=before["SyncConflict"] + 1)


def test_a_visit_to_a_household_not_yet_received_waits_then_goes_in(member, app, area):
    household = {"type": "household", "uuid": new_id(), "street": area["nguyen_trai"], "recorded_at": at(1),
                 "house_number": "30", "head_name": "Lý Thị Mai"}
    resident = {"type": "resident", "uuid": new_id(), "household": household["uuid"], "recorded_at": at(2),
                "full_name": "Lý Thị Mai", "birth_year": 1990, "facts": {"phone_kind": "smart"}}
    early = visit(household["uuid"], recorded_at=at(3), met=[resident["uuid"]],
                  answers=[{"resident": resident["uuid"], "code": "vneid", "value": "done"}])
    before = counts(app)
    result = only_result(sync(member, [early]))
    assert result["status"] == "not_yet" and "chưa có trên máy chủ" in result["reason"]
    assert counts(app) == before
    # The household arrives, but not yet its resident: the visit still waits, for the resident now.
    response = sync(member, [household, early])
    assert statuses(response) == ["accepted", "not_yet"]
    assert "Nhân khẩu" in response.get_json()["results"][1]["reason"]
    assert statuses(sync(member, [resident, early])) == ["accepted", "accepted"]
    with app.app_context():
        added = db.session.scalar(select(Household).where(Household.uuid == household["uuid"]))
        assert added.status == "da_tham"
        assert db.session.query(Visit).filter_by(uuid=early["uuid"]).count() == 1
        assert_state_is_a_recompute(added.id)


def test_items_for_another_khu_pho_are_rejected_and_write_nothing(member, app, area):
    u = uuids(app, area)
    before = counts(app)
    items = [
        visit(u["h_hl"], answers=[{"resident": u["lan"], "code": "vneid", "value": "done"}]),
        {"type": "household", "uuid": new_id(), "street": area["ha_long"], "recorded_at": at(),
         "house_number": "9", "head_name": ""},
        {"type": "resident", "uuid": new_id(), "household": u["h_hl"], "recorded_at": at(),
         "full_name": "Đỗ Văn Nam", "birth_year": 1980, "facts": {}},
        {"type": "correction", "uuid": new_id(), "resident": u["lan"], "recorded_at": at(),
         "full_name": "Đỗ Thị Lan Anh", "birth_year": 1985, "facts": {}},
        {"type": "moved", "uuid": new_id(), "resident": u["lan"], "recorded_at": at()},
    ]
    response = sync(member, items)
    assert statuses(response) == ["rejected"] * len(items)
    reasons = [r["reason"] for r in response.get_json()["results"]]
    assert "không thuộc khu phố của bạn" in reasons[0] and "không thuộc khu phố của bạn" in reasons[1]
    assert all("khu phố" in reason for reason in reasons)
    assert counts(app) == before
    with app.app_context():
        lan = db.session.get(Resident, area["lan"])
        assert (lan.full_name, lan.moved_away) == ("Đỗ Thị Lan", False)


def test_a_resident_of_another_household_in_a_visit_is_rejected(member, app, area):
    u = uuids(app, area)
    before = counts(app)
    for subject in (u["lan"], u["dung"]):  # another khu phố; the same khu phố but another household
        item = visit(u["h12"], answers=[{"resident": subject, "code": "dx_informed", "value": "done"}])
        result = only_result(sync(member, [item]))
        assert result["status"] == "rejected" and "không thuộc hộ này" in result["reason"]
    assert counts(app) == before


def test_a_rejected_item_in_the_middle_does_not_block_the_rest(member, app, area):
    u = uuids(app, area)
    first = visit(u["h12"], recorded_at=at(1), answers=[{"resident": u["cuong"], "code": "vneid", "value": "done"}])
    bad = visit(u["h2a"], answers=[{"resident": None, "code": "teleport", "value": "done"}])
    last = visit(u["h10"], recorded_at=at(2), outcome="nobody_home")
    moved = {"type": "moved", "uuid": new_id(), "resident": u["an"], "recorded_at": "ngày mai"}
    after = {"type": "moved", "uuid": new_id(), "resident": u["binh"], "recorded_at": at(3)}
    assert statuses(sync(member, [first, bad, last, moved, after])) == \
        ["accepted", "rejected", "accepted", "rejected", "accepted"]
    with app.app_context():
        assert {v.uuid for v in db.session.scalars(select(Visit))} == {first["uuid"], last["uuid"]}
        assert db.session.get(Household, area["h10"]).status == "khong_co_nha"
        assert db.session.get(Household, area["h2a"]).status == "chua_tham"
        assert (db.session.get(Resident, area["an"]).moved_away, db.session.get(Resident, area["binh"]).moved_away) \
            == (False, True)


# --- Malformed input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, content_type, fragment", [
    ("this is not json", "application/json", "items"),
    ("{\"items\": [", "application/json", "items"),
    (json.dumps({"items": []}), "text/plain", "items"),
    (json.dumps([{"type": "visit"}]), "application/json", "items"),
    (json.dumps({"items": {"0": {"type": "visit"}}}), "application/json", "items"),
    (json.dumps({"items": "visit"}), "application/json", "items"),
    (json.dumps({"things": []}), "application/json", "items"),
    (json.dumps({"items": [{}] * 101}), "application/json", "100"),
    ("[" * 100_000 + "]" * 100_000, "application/json", "items"),
])
def test_a_malformed_body_is_a_400_that_says_why(member, app, area, body, content_type, fragment):
    before = counts(app)
    response = member.post("/api/sync", data=body, content_type=content_type,
                           headers={"X-CSRFToken": token_of(member)})
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]
    assert counts(app) == before


def test_a_full_batch_of_100_is_taken(member, app, area):
    u = uuids(app, area)
    items = [visit(u["h12"], recorded_at=at(1 + i / 100), outcome="nobody_home") for i in range(100)]
    assert statuses(sync(member, items)) == ["accepted"] * 100
    with app.app_context():
        assert db.session.get(Household, area["h12"]).last_visit_uuid == items[-1]["uuid"]


def test_a_body_over_2_mb_is_a_413_before_anything_is_read(member, app, area):
    before = counts(app)
    u = uuids(app, area)
    huge = json.dumps({"items": [visit(u["h12"], notes="x" * 30_000) for _ in range(80)]})
    assert len(huge) > 2 * 1024 * 1024
    response = member.post("/api/sync", data=huge, content_type="application/json",
                           headers={"X-CSRFToken": token_of(member)})
    assert response.status_code == 413
    assert "quá lớn" in response.get_json()["error"]
    assert counts(app) == before


def mutations(u, area):
    """(name, item, fragment of the reason): each item is wrong in exactly one way."""
    good = lambda **fields: visit(u["h12"], **fields)  # noqa: E731
    answer = lambda **fields: [dict({"resident": u["cuong"], "code": "vneid", "value": "done"}, **fields)]  # noqa: E731
    resident = lambda **fields: dict({"type": "resident", "uuid": new_id(), "household": u["h12"],  # noqa: E731
                                      "recorded_at": at(), "full_name": "Nguyễn Thị Út", "birth_year": 2010,
                                      "facts": {}}, **fields)
    correction = lambda **fields: dict({"type": "correction", "uuid": new_id(), "resident": u["an"],  # noqa: E731
                                        "recorded_at": at(), "full_name": "Nguyễn Văn An", "birth_year": 1960,
                                        "facts": {}}, **fields)
    household = lambda **fields: dict({"type": "household", "uuid": new_id(),  # noqa: E731
                                       "street": area["nguyen_trai"], "recorded_at": at(), "house_number": "40",
                                       "head_name": ""}, **fields)
    return [
        ("item is a string", "visit", "không đúng dạng"),
        ("item is a list", [good()], "không đúng dạng"),
        ("unknown type", dict(good(), type="party"), "Loại mục không rõ: party"),
        ("no type", {k: v for k, v in good().items() if k != "type"}, "Loại mục không rõ"),
        ("type is a list", dict(good(), type=["visit"]), "Loại mục không rõ"),
        ("type is an object", dict(good(), type={"visit": 1}), "Loại mục không rõ"),
        ("household is a number", good(household=12), '"household"'),
        ("household missing", {k: v for k, v in good().items() if k != "household"}, '"household"'),
        ("household is not a uuid", good(household="h12"), "UUID"),
        ("notes is a number", good(notes=5), '"notes"'),
        ("outcome is a bool", good(outcome=True), '"outcome"'),
        ("unknown outcome", good(outcome="partied"), "partied"),
        ("uuid is a number", good(uuid=12345), '"uuid"'),
        ("invalid uuid", good(uuid="not-a-uuid"), "UUID"),
        ("answers is an object", good(answers={"vneid": "done"}), '"answers"'),
        ("answer is a string", good(answers=["vneid=done"]), "Câu trả lời"),
        ("answer code is a number", good(answers=answer(code=7)), '"code"'),
        ("answer resident is a number", good(answers=answer(resident=5)), '"resident"'),
        ("unknown answer code", good(answers=answer(code="teleport")), "teleport"),
        ("bad answer value", good(answers=answer(value="maybe")), "maybe"),
        ("answer value is a bool", good(answers=answer(value=True)), '"value"'),
        ("household item for a resident", good(answers=answer(code="ecommerce_guide")), "không áp dụng"),
        ("resident item for the household", good(answers=answer(resident=None)), "không áp dụng"),
        ("unknown fact", good(facts=[{"resident": u["an"], "field": "wifi", "value": "yes"}]), "wifi"),
        ("bad fact value", good(facts=[{"resident": u["an"], "field": "sim", "value": "5g"}]), "5g"),
        ("fact value is a number", good(facts=[{"resident": u["an"], "field": "sim", "value": 4}]), '"value"'),
        ("met is a number", good(met=[5]), '"met"'),
        ("recorded_at far in the future", good(recorded_at=at(60 * 24 * 3)), "tương lai"),
        ("recorded_at unparseable", good(recorded_at="hôm qua"), "hôm qua"),
        ("recorded_at out of range", good(recorded_at="0001-01-01T00:00:00+01:00"), "Thời điểm"),
        ("recorded_at long ago", good(recorded_at="1999-01-01T00:00:00Z"), "quá xa"),
        ("recorded_at a number", good(recorded_at=1718000000), '"recorded_at"'),
        ("birth_year a bool", resident(birth_year=True), '"birth_year"'),
        ("birth_year a string", resident(birth_year="1990"), '"birth_year"'),
        ("birth_year out of range", resident(birth_year=1850), "Năm sinh"),
        ("full_name empty", resident(full_name="  "), '"full_name"'),
        ("unknown resident fact", resident(facts={"wifi": "yes"}), "wifi"),
        ("bad resident fact value", resident(facts={"phone_kind": "tablet"}), "tablet"),
        ("resident facts a list", resident(facts=["smart"]), "không đúng dạng"),
        ("resident uuid invalid", resident(uuid="123"), "UUID"),
        ("correction birth_year a bool", correction(birth_year=False), '"birth_year"'),
        ("correction fact value", correction(facts={"sim": "5g"}), "5g"),
        ("correction of a resident not a uuid", correction(resident="an"), "UUID"),
        ("street a string", household(street=str(area["nguyen_trai"])), '"street"'),
        ("street a huge number", household(street=10 ** 30), "Đường này"),
        ("street unknown", household(street=999_999), "Đường này"),
        ("house_number missing", household(house_number=""), '"house_number"'),
        ("household uuid invalid", household(uuid="hộ-mới"), "UUID"),
        ("household in the future", household(recorded_at=at(60 * 24 * 3)), "tương lai"),
    ]


def test_every_malformed_item_is_rejected_with_a_reason_that_names_the_problem(member, app, area):
    u = uuids(app, area)
    cases = mutations(u, area)
    before = counts(app)
    with app.app_context():
        state = snapshot(area["h12"])
    response = sync(member, [item for _name, item, _fragment in cases])
    results = response.get_json()["results"]
    assert response.status_code == 200 and len(results) == len(cases)
    for (name, item, fragment), result in zip(cases, results):
        assert result["status"] == "rejected", (name, result)
        assert fragment in result["reason"], (name, result["reason"])
        expected_uuid = item.get("uuid") if isinstance(item, dict) and isinstance(item.get("uuid"), str) else None
        assert result["uuid"] == expected_uuid, name
    assert counts(app) == before
    with app.app_context():
        assert snapshot(area["h12"]) == state


# --- Two phones, either order ------------------------------------------------------------------------------

@pytest.mark.parametrize("same_time", [False, True], ids=["later-wins", "tie-larger-uuid-wins"])
def test_two_members_visits_in_either_order_give_the_same_state(member, app, area, same_time):
    u = uuids(app, area)
    other = app.test_client()
    login(other, "member1b")
    first = visit(u["h12"], uuid=LOW, recorded_at=at(10), outcome="come_back", met=[u["cuong"]],
                  answers=[{"resident": u["cuong"], "code": "vneid", "value": "later"},
                           {"resident": u["cuong"], "code": "dvc", "value": "later"}],
                  facts=[{"resident": u["cuong"], "field": "sim", "value": "2g"}])
    second = visit(u["h12"], uuid=HIGH, recorded_at=first["recorded_at"] if same_time else at(20),
                   met=[u["cuong"], u["an"]],
                   answers=[{"resident": u["cuong"], "code": "vneid", "value": "done"},
                            {"resident": u["an"], "code": "sim4g", "value": "done"}],
                   facts=[{"resident": u["cuong"], "field": "sim", "value": "4g"},
                          {"resident": u["an"], "field": "phone_kind", "value": "smart"}])
    results = []
    for order in ((member, first), (other, second)), ((other, second), (member, first)):
        for client, item in order:
            assert statuses(sync(client, [item])) == ["accepted"]
        with app.app_context():
            results.append(snapshot(area["h12"]))
            assert_state_is_a_recompute(area["h12"])
            # Start again from the household list alone.
            db.session.execute(VisitAnswer.__table__.delete())
            db.session.execute(Visit.__table__.delete())
            recompute_household(db.session.get(Household, area["h12"]), plan_items(), plan_rules())
            db.session.commit()
    assert results[0] == results[1]
    status, _at, last_uuid, _open, states, residents = results[0]
    assert (status, last_uuid) == ("da_tham", HIGH)
    values = {(key, code): value for key, _kind, code, value, _when, _source in states}
    assert values[(area["cuong"], "vneid")] == "done" and values[(area["cuong"], "dvc")] == "later"
    assert values[(area["cuong"], "sim")] == "4g" and values[(area["an"], "phone_kind")] == "smart"
    by_id = {r[0]: r for r in residents}
    assert by_id[area["an"]][3] == "smart" and by_id[area["cuong"]][4] == "4g"


def test_two_members_in_one_batch_each_and_interleaved_batches_agree(member, app, area):
    """Several visits to one household in one batch give the state a visit-by-visit arrival gives."""
    u = uuids(app, area)
    items = [visit(u["h12"], recorded_at=at(30 - i), outcome=outcome, met=[u["cuong"]],
                   answers=[{"resident": u["cuong"], "code": "vneid", "value": value}],
                   facts=[{"resident": u["cuong"], "field": "phone_kind", "value": phone}])
             for i, (outcome, value, phone) in enumerate([("met", "done", "smart"), ("come_back", "later", "basic"),
                                                          ("nobody_home", "declined", "none")])]
    assert statuses(sync(member, items)) == ["accepted"] * 3
    with app.app_context():
        household = db.session.get(Household, area["h12"])
        assert (household.status, household.last_visit_uuid) == ("da_tham", items[0]["uuid"])
        assert db.session.get(Resident, area["cuong"]).phone_kind == "smart"
        assert_state_is_a_recompute(area["h12"])


# --- Visits in bulk and one at a time agree ---------------------------------------------------------------

def random_batches(u: dict, area, seed: int) -> list[list[dict]]:
    """Visits to KP1 with everything that moves the state: answers to items that do and do not apply, facts that
    change who is eligible, moves, ties in time, replays and conflicting replays, bad items; and a correction and
    a move between them."""
    import random
    rng = random.Random(seed)
    households = {"h12": ["an", "binh", "cuong"], "h2": ["dung"], "h2a": [], "h10": [], "h_ll": []}
    codes = ["vneid", "dvc", "portal", "postal", "vssid", "essential", "sim4g", "smartphone", "epay", "epay_helper",
             "dx_informed", "langso"]
    household_codes = ["ecommerce_guide", "business_epay", "ecommerce_sale", "qn_ecommerce"]
    facts = {"phone_kind": ("none", "basic", "smart"), "sim": ("2g", "4g", "unknown"), "handset_2g_only": ("yes", "no"),
             "has_epay": ("yes", "no"), "moved_away": ("yes", "no")}
    times = [at(10 + minute) for minute in range(8)]
    sent, batches = [], []
    for _batch in range(3):
        batch = []
        for _ in range(25):
            roll = rng.random()
            if sent and roll < 0.08:
                batch.append(rng.choice(sent))  # a replay
                continue
            if sent and roll < 0.12:
                batch.append(dict(rng.choice(sent), notes="sửa lại"))  # the same UUID, other content
                continue
            name = rng.choice(list(households))
            residents = [u[r] for r in households[name]]
            answers, given = [], set()
            for _ in range(rng.randint(0, 4)):
                if residents and rng.random() < 0.75:
                    subject, code = rng.choice(residents), rng.choice(codes)
                else:
                    subject, code = None, rng.choice(household_codes)
                if (subject, code) not in given:
                    given.add((subject, code))
                    answers.append({"resident": subject, "code": code,
                                    "value": rng.choice(("done", "had", "declined", "later", "na"))})
            lines, named = [], set()
            for _ in range(rng.randint(0, 2) if residents else 0):
                subject, field = rng.choice(residents), rng.choice(list(facts))
                if (subject, field) not in named:
                    named.add((subject, field))
                    lines.append({"resident": subject, "field": field, "value": rng.choice(facts[field])})
            item = visit(u[name], recorded_at=rng.choice(times), outcome=rng.choice(("met", "nobody_home", "come_back",
                                                                                   "refused")),
                         met=rng.sample(residents, rng.randint(0, len(residents))), answers=answers, facts=lines)
            if rng.random() < 0.05:
                item["answers"] = item["answers"] + [{"resident": None, "code": "teleport", "value": "done"}]
            if rng.random() < 0.05:
                item["household"] = new_id()  # not here yet
            sent.append(item)
            batch.append(item)
        phone = rng.choice(facts["phone_kind"])
        batch.insert(rng.randrange(len(batch)), {"type": "correction", "uuid": new_id(), "resident": u["an"],
                                                  "recorded_at": rng.choice(times), "full_name": "Nguyễn Văn An",
                                                  "birth_year": 1960, "facts": {"phone_kind": phone}})
        batches.append(batch)
    return batches


def everything(area) -> tuple:
    """Every row a visit writes or changes, without ids and times of arrival."""
    db.session.expire_all()
    visits = sorted((v.uuid, v.household_id, v.user_id, v.recorded_at, v.outcome, tuple(v.met_resident_ids), v.notes,
                     v.content_hash, tuple(sorted((a.resident_id or 0, a.kind, a.code, a.value) for a in v.answers)))
                    for v in db.session.scalars(select(Visit)))
    conflicts = sorted((c.uuid, c.kind, c.user_id, json.dumps(c.payload, sort_keys=True))
                       for c in db.session.scalars(select(SyncConflict)))
    households = [snapshot(area[name]) for name in ("h12", "h2", "h2a", "h10", "h_ll")]
    plan = active_plan()
    return visits, conflicts, households, counters.counts(plan), counters.counts(plan, street_level=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_visits_in_bulk_and_one_at_a_time_give_the_same_answers_and_rows(member, app, area, monkeypatch, seed):
    from visits import sync as sync_module
    u = uuids(app, area)
    batches = random_batches(u, area, seed)
    outcomes = []
    for bulk in (True, False):
        monkeypatch.setattr(sync_module, "BULK_VISITS", bulk)
        answers = [sync(member, batch).get_json()["results"] for batch in batches]
        with app.app_context():
            outcomes.append((answers, everything(area)))
            for name in ("h12", "h2", "h2a", "h10", "h_ll"):
                assert_state_is_a_recompute(area[name])
            assert_counters_are_a_recompute()
            # Back to the household list alone.
            for table in (VisitAnswer, Visit, SyncConflict):
                db.session.execute(table.__table__.delete())
            db.session.execute(Change.__table__.delete().where(Change.kind == "resident.correct"))
            for name in ("h12", "h2", "h2a", "h10", "h_ll"):
                recompute_household(db.session.get(Household, area[name]), plan_items(), plan_rules())
            db.session.commit()
    (bulk_answers, bulk_rows), (single_answers, single_rows) = outcomes
    assert {r["status"] for answers in bulk_answers for r in answers} >= {"accepted", "duplicate", "conflict",
                                                                        "rejected", "not_yet"}
    for bulk, single in zip(bulk_answers, single_answers):
        assert [(i, r) for i, r in enumerate(bulk) if r != single[i]] == \
            [(i, r) for i, r in enumerate(single) if r != bulk[i]]
    assert bulk_rows == single_rows


def test_a_run_that_cannot_be_written_at_once_goes_in_one_visit_at_a_time(member, app, area, monkeypatch):
    """When the bulk write of a run fails (another request wrote one of its visits meanwhile), its savepoint is
    rolled back and each visit is applied on its own: the answers and rows are those of a run that went in."""
    from sqlalchemy.exc import IntegrityError
    from visits import sync as sync_module
    u = uuids(app, area)
    written = sync_module.VisitRun.write

    def write_then_fail(run):
        written(run)
        raise IntegrityError("INSERT INTO visit ...", {}, Exception("duplicate key value"))

    monkeypatch.setattr(sync_module.VisitRun, "write", write_then_fail)
    first = visit(u["h12"], answers=[{"resident": u["cuong"], "code": "vneid", "value": "done"}])
    results = sync(member, [first, first, dict(first, outcome="refused"), visit(u["h2"], outcome="partied"),
                            visit(u["h10"], outcome="nobody_home")])
    assert statuses(results) == ["accepted", "duplicate", "conflict", "rejected", "accepted"]
    with app.app_context():
        assert db.session.query(Visit).count() == 2 and db.session.query(VisitAnswer).count() == 1
        assert db.session.query(SyncConflict).count() == 1
        assert db.session.get(Household, area["h12"]).status == "da_tham"
        assert_state_is_a_recompute(area["h12"])
        assert_counters_are_a_recompute()


@pytest.mark.parametrize("bulk", [True, False], ids=["in-bulk", "one-at-a-time"])
def test_two_phones_syncing_at_the_same_moment_lose_nothing(member, app, area, monkeypatch, bulk):
    """Both members' batches to one household go in at once (PostgreSQL: concurrently; SQLite: one after the
    other); every visit is kept and the state is the one a full recompute gives."""
    from visits import sync as sync_module
    monkeypatch.setattr(sync_module, "BULK_VISITS", bulk)
    u = uuids(app, area)
    other = app.test_client()
    login(other, "member1b")
    tokens = {id(member): token_of(member), id(other): token_of(other)}
    sent = []

    def phone(client, offset):
        for round_ in range(4):
            items = [visit(u["h12"], recorded_at=at(5 + offset + 2 * round_ + i / 10), met=[u["cuong"]],
                           outcome="met" if (round_ + offset) % 2 else "come_back",
                           answers=[{"resident": u["cuong"], "code": code, "value": value}],
                           facts=[{"resident": u["an"], "field": "sim", "value": ("2g", "4g")[(round_ + i) % 2]}])
                     for i, (code, value) in enumerate([("vneid", "done"), ("dvc", "later"), ("epay", "had")])]
            sent.extend(items)
            response = client.post("/api/sync", json={"items": items}, headers={"X-CSRFToken": tokens[id(client)]})
            assert statuses(response) == ["accepted"] * 3

    assert run_at_once(phone, [(member, 0), (other, 1)]) == []
    with app.app_context():
        assert db.session.query(Visit).count() == len(sent) == 24
        latest = max(sent, key=lambda item: (item["recorded_at"], item["uuid"]))
        assert db.session.get(Household, area["h12"]).last_visit_uuid == latest["uuid"]
        assert_state_is_a_recompute(area["h12"])
        assert_counters_are_a_recompute()
