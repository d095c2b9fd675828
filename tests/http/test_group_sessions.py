"""Group sessions: who may keep them, attendees picked from the khu phố's list, and target 7 following them."""
import re
import uuid
from datetime import date, datetime, timedelta

from visits import counters
from visits.checklist import active_plan, plan_items, plan_rules
from visits.extensions import db
from visits.group_sessions import session_counts
from visits.models import GroupSession, GroupSessionAttendee, Household, ItemState, User
from visits.recording import VisitInput, record_visit
from visits.registers import local_today

from tests.fixtures import csrf_token

DAY = date(2026, 10, 5)


def create(client, area, khu_pho="kp1", held_on=DAY.isoformat(), kind="hop_to_dan_pho",
           topic="Giới thiệu chuyển đổi số", session_uuid=None):
    return client.post("/sessions/new", data={
        "csrf_token": csrf_token(client, "/sessions/new"), "held_on": held_on, "kind": kind,
        "khu_pho_id": str(area[khu_pho]) if khu_pho in area.ids else khu_pho, "topic": topic,
        "session_uuid": session_uuid or str(uuid.uuid4())})


def session_id(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return int(re.search(r"/sessions/(\d+)", response.headers["Location"]).group(1))


def pick(client, sid, *resident_ids, remove=False, **fields):
    path = f"/sessions/{sid}/attendees" + ("/remove" if remove else "")
    return client.post(path, data={"csrf_token": csrf_token(client, f"/sessions/{sid}"),
                                   "resident_id": [str(r) for r in resident_ids], **fields})


def informed(app, area, place="kp1") -> tuple[int, int]:
    """Target 7 (residents informed) for a khu phố as the counters hold it: (numerator, denominator)."""
    with app.app_context():
        sums = counters.counts(active_plan())[(area[place], 0)]
        return sums["t7:num"], sums["t7:den"]


def counters_equal_recompute(app) -> bool:
    with app.app_context():
        plan = active_plan()
        kept = {k: {key: v for key, v in c.items() if v} for k, c in counters.counts(plan).items()}
        counters.recompute(plan)
        db.session.commit()
        again = {k: {key: v for key, v in c.items() if v} for k, c in counters.counts(plan).items()}
        return kept == again


def attendees(app) -> list[tuple[int, int]]:
    with app.app_context():
        return sorted((a.session_id, a.resident_id) for a in db.session.query(GroupSessionAttendee))


def informed_state(app, resident_id):
    with app.app_context():
        row = db.session.query(ItemState).filter_by(resident_key=resident_id, kind="item", code="dx_informed").first()
        return None if row is None else (row.value, row.visit_uuid)


def visit(app, area, at: datetime, value: str, resident="an", household="h12") -> str:
    with app.app_context():
        uid = str(uuid.uuid4())
        record_visit(db.session.get(User, area["member1"]), db.session.get(Household, area[household]),
                     VisitInput(uid, at, "met", answers=[(area[resident], "dx_informed", value)]),
                     plan_items(), plan_rules())
        db.session.commit()
        return uid


def test_leader_records_a_session_and_target_7_follows_its_attendees(as_user, area, app):
    before = informed(app, area)
    assert before == (0, 7)
    client = as_user("leader1")
    sid = session_id(create(client, area))
    page = client.get(f"/sessions/{sid}").get_data(as_text=True)
    assert "Nguyễn Văn An" in page and "Vũ Văn Hải" in page and "Đỗ Thị Lan" not in page  # KP1's list only

    assert pick(client, sid, area["an"], area["binh"], area["dung"], do="add").status_code == 303
    assert informed(app, area) == (3, 7)
    assert counters_equal_recompute(app)
    with app.app_context():
        session_uuid = db.session.get(GroupSession, sid).uuid
    assert informed_state(app, area["an"]) == ("done", session_uuid)
    page = client.get(f"/sessions/{sid}").get_data(as_text=True)
    assert "Người tham dự (3)" in page

    assert pick(client, sid, area["binh"], area["dung"], remove=True).status_code == 303
    assert informed(app, area) == (1, 7)
    assert informed_state(app, area["binh"]) is None
    assert counters_equal_recompute(app)

    deleted = client.post(f"/sessions/{sid}/delete", data={"csrf_token": csrf_token(client, f"/sessions/{sid}")})
    assert deleted.status_code == 303
    assert informed(app, area) == before
    assert informed_state(app, area["an"]) is None and attendees(app) == []
    assert counters_equal_recompute(app)


def test_filtering_keeps_what_was_ticked_and_adding_twice_counts_once(as_user, area, app):
    client = as_user("staff")
    sid = session_id(create(client, area))
    response = pick(client, sid, area["an"], do="filter", street=str(area["le_loi"]), q="")
    assert response.status_code == 303 and f"street={area['le_loi']}" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vũ Văn Hải" in page and "Lê Thị Dung" not in page  # only Lê Lợi's residents offered
    search = pick(client, sid, do="filter", street="", q="le thi dung")
    assert search.status_code == 200 and "Location" not in search.headers  # the name stays out of any address
    offered = search.get_data(as_text=True).split('id="add"')[1]
    assert "Lê Thị Dung" in offered and "Nguyễn Văn An" not in offered
    by_address = pick(client, sid, do="filter", street="", q="nguyen trai 2a").get_data(as_text=True)
    assert "Phạm Văn Em" in by_address.split('id="add"')[1] and "Hoàng Thị Gấm" not in by_address.split('id="add"')[1]
    # A search put in the address is ignored: every resident of the khu phố is offered.
    everyone = client.get(f"/sessions/{sid}?q=pham").get_data(as_text=True).split('id="add"')[1]
    assert "Hoàng Thị Gấm" in everyone
    assert pick(client, sid, area["an"], do="add").status_code == 303
    assert attendees(app) == [(sid, area["an"])]
    assert informed(app, area) == (1, 7)


def test_latest_wins_between_a_session_and_visits(as_user, area, app):
    client = as_user("leader1")
    sid = session_id(create(client, area, held_on="2026-10-05"))
    assert pick(client, sid, area["an"], area["cuong"], do="add").status_code == 303
    # A visit the next day that finds An not informed wins over the session; one the day before loses to it.
    visit(app, area, datetime(2026, 10, 6, 2, 0), "later", "an")
    visit(app, area, datetime(2026, 10, 4, 2, 0), "later", "cuong")
    assert informed_state(app, area["an"])[0] == "later"
    assert informed_state(app, area["cuong"])[0] == "done"
    assert informed(app, area) == (1, 7)
    # Moving the session after An's visit makes it the latest again.
    edited = client.post(f"/sessions/{sid}/edit", data={
        "csrf_token": csrf_token(client, f"/sessions/{sid}/edit"), "held_on": "2026-10-07", "kind": "su_kien",
        "khu_pho_id": str(area["kp1"]), "topic": "Ngày hội chuyển đổi số"})
    assert edited.status_code == 303
    assert informed_state(app, area["an"])[0] == "done"
    assert informed(app, area) == (2, 7)
    assert counters_equal_recompute(app)
    # Removing An leaves the visit's answer, not nothing.
    assert pick(client, sid, area["an"], remove=True).status_code == 303
    assert informed_state(app, area["an"])[0] == "later"
    assert informed(app, area) == (1, 7)
    assert counters_equal_recompute(app)


def test_scope_members_other_khu_pho_and_other_ward(as_user, area, app):
    client = as_user("leader1")
    sid = session_id(create(client, area))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    for username in ("member1", "leader2", "staff_other"):
        other = as_user(username)
        assert other.get(f"/sessions/{sid}").status_code == 404, username
        assert other.get(f"/sessions/{sid}/edit").status_code == 404, username
        assert pick(other, sid, area["an"], do="add").status_code in (400, 404), username
        assert other.post(f"/sessions/{sid}/delete", data={"csrf_token": csrf_token(other, "/")}).status_code == 404
        if username == "member1":
            assert other.get("/sessions/").status_code == 404
            assert other.get("/sessions/new").status_code == 404
        other.post("/logout", data={"csrf_token": csrf_token(other, "/")})
    with app.app_context():
        assert db.session.query(GroupSession).count() == 1
    assert attendees(app) == []
    leader2 = as_user("leader2")
    assert "Giới thiệu chuyển đổi số" not in leader2.get("/sessions/").get_data(as_text=True)
    assert create(leader2, area, "kp1").status_code == 404  # a khu phố not theirs
    with app.app_context():
        assert db.session.query(GroupSession).count() == 1


def test_forged_and_invalid_forms_change_nothing(as_user, area, app):
    client = as_user("leader1")
    sid = session_id(create(client, area))
    assert pick(client, sid, area["lan"], area["an"], do="add").status_code == 404  # Lan lives in KP2
    assert pick(client, sid, "abc", do="add").status_code == 400
    assert client.post(f"/sessions/{sid}/attendees", data={"resident_id": str(area["an"])}).status_code == 400
    assert attendees(app) == [] and informed(app, area) == (0, 7)
    for fields, message in [({"topic": ""}, "Hãy nhập nội dung buổi sinh hoạt."),
                            ({"held_on": (local_today() + timedelta(days=1)).isoformat()}, "Ngày không thể ở tương lai."),
                            ({"held_on": "2026-02-30"}, "Ngày không hợp lệ."),
                            ({"kind": "hop_kin"}, "Hình thức không hợp lệ")]:
        response = create(client, area, **fields)
        assert response.status_code == 400, fields
        assert message in response.get_data(as_text=True), fields
    with app.app_context():
        assert db.session.query(GroupSession).count() == 1


def test_a_form_sent_twice_is_one_session_and_khu_pho_stays_with_attendees(as_user, area, app):
    client = as_user("staff")
    same = str(uuid.uuid4())
    first = session_id(create(client, area, session_uuid=same))
    assert session_id(create(client, area, session_uuid=same)) == first
    with app.app_context():
        assert db.session.query(GroupSession).count() == 1
    assert pick(client, first, area["an"], do="add").status_code == 303
    moved = client.post(f"/sessions/{first}/edit", data={
        "csrf_token": csrf_token(client, f"/sessions/{first}/edit"), "held_on": DAY.isoformat(),
        "kind": "khac", "khu_pho_id": str(area["kp2"]), "topic": "Đổi khu phố"})
    assert moved.status_code == 400 and "hãy bỏ họ khỏi danh sách" in moved.get_data(as_text=True)
    with app.app_context():
        session = db.session.get(GroupSession, first)
        assert (session.khu_pho_id, session.topic) == (area["kp1"], "Giới thiệu chuyển đổi số")


def test_session_counts_for_the_report(as_user, area, app):
    client = as_user("staff")
    a = session_id(create(client, area, held_on="2026-10-15"))
    b = session_id(create(client, area, held_on="2026-11-14", kind="sinh_hoat_chi_bo"))
    c = session_id(create(client, area, "kp2", held_on="2026-11-15"))  # after the period
    pick(client, a, area["an"], area["binh"], do="add")
    pick(client, b, area["an"], do="add")
    pick(client, c, area["lan"], do="add")
    with app.app_context():
        counts = session_counts(area["ward"], date(2026, 10, 15), date(2026, 11, 14))
    assert set(counts) == {area["kp1"], area["kp2"]}
    kp1, kp2 = counts[area["kp1"]], counts[area["kp2"]]
    assert (kp1.sessions, kp1.attendances, kp1.residents) == (2, 3, 2)
    assert (kp2.sessions, kp2.attendances, kp2.residents) == (0, 0, 0)
