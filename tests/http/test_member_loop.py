"""The member's door-to-door loop over HTTP: streets, a household, a visit, the next door."""
import re
import uuid
from datetime import datetime, timedelta, timezone

from visits.extensions import db
from visits.models import Change, Household, ItemState, Resident, Visit

from tests.fixtures import csrf_token


def test_home_lists_my_streets_with_progress(as_user, area):
    page = as_user("member1").get("/").get_data(as_text=True)
    assert "Đường của tôi" in page
    assert "Nguyễn Trãi" in page and "0/4" in page
    assert "Hạ Long" not in page  # another khu phố


def test_street_lists_households_in_natural_order(as_user, area):
    page = as_user("member1").get(f"/streets/{area['nguyen_trai']}").get_data(as_text=True)
    numbers = re.findall(r'<span class="title">([^<]+?)(?: <span|</span>)', page)
    assert numbers == ["2", "2A", "10/3", "12"]
    assert page.count("Chưa thăm") == 4


def visit_form(client, household_id):
    page = client.get(f"/households/{household_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    visit_uuid = re.search(r'name="visit_uuid" type="hidden" value="([^"]+)"', page).group(1)
    return page, token, visit_uuid


def test_recording_a_visit_updates_state_and_offers_next(as_user, area, app):
    client = as_user("member1")
    page, token, visit_uuid = visit_form(client, area["h12"])
    assert "Nguyễn Văn Cường" in page and "Cài và kích hoạt VNeID mức 2" in page
    # Stamped by the phone after the household list was loaded, so its facts win over the list's.
    stamp = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
    response = client.post(f"/households/{area['h12']}/visits", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "visit_uuid": visit_uuid, "recorded_at": stamp, "outcome": "met",
        "met": [str(area["cuong"])], f"a-{area['cuong']}-vneid": "done", f"a-{area['cuong']}-epay": "had",
        f"f-{area['an']}-sim": "4g", f"f0-{area['an']}-sim": "2g",
        f"f-{area['binh']}-sim": "4g", f"f0-{area['binh']}-sim": "4g"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "households/_household.html" not in body and '<section id="household"' in body
    assert "<html" not in body  # a partial for htmx
    assert "Đã lưu lần thăm" in body and "Hộ tiếp theo" in body
    assert "HX-Request" in response.headers["Vary"]
    with app.app_context():
        visit = db.session.query(Visit).filter_by(uuid=visit_uuid).one()
        assert visit.outcome == "met" and visit.recorded_at.isoformat()[:16] == stamp[:16]
        lines = {(a.resident_id, a.kind, a.code, a.value) for a in visit.answers}
        assert lines == {(area["cuong"], "item", "vneid", "done"), (area["cuong"], "item", "epay", "had"),
                         (area["an"], "fact", "sim", "4g")}  # only the fact that changed
        household = db.session.get(Household, area["h12"])
        assert household.status == "da_tham"
        assert db.session.get(Resident, area["an"]).sim == "4g"
    next_page = client.get(f"/streets/{area['nguyen_trai']}/next?after={area['h12']}")
    assert next_page.status_code == 302
    assert next_page.headers["Location"].endswith(f"/households/{area['h2']}")  # wraps to the start


def test_the_same_form_sent_twice_is_one_visit(as_user, area, app):
    client = as_user("member1")
    _page, token, visit_uuid = visit_form(client, area["h2"])
    data = {"csrf_token": token, "visit_uuid": visit_uuid, "recorded_at": "2024-07-01T09:30:00Z",
            "outcome": "met", f"a-0-ecommerce_guide": "done"}
    first = client.post(f"/households/{area['h2']}/visits", data=data)
    second = client.post(f"/households/{area['h2']}/visits", data=data)
    assert first.status_code == second.status_code == 303
    with app.app_context():
        assert db.session.query(Visit).filter_by(household_id=area["h2"]).count() == 1


def test_a_bad_answer_is_refused_with_a_reason_and_writes_nothing(as_user, area, app):
    client = as_user("member1")
    _page, token, visit_uuid = visit_form(client, area["h12"])
    response = client.post(f"/households/{area['h12']}/visits", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "visit_uuid": visit_uuid, "outcome": "met", f"a-{area['lan']}-vneid": "done"})
    assert response.status_code == 422
    assert "không thuộc hộ này" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Visit).count() == 0
        assert db.session.query(ItemState).filter_by(kind="item").count() == 0


def test_visit_without_csrf_token_is_refused(as_user, area, app):
    client = as_user("member1")
    response = client.post(f"/households/{area['h12']}/visits",
                           data={"visit_uuid": str(uuid.uuid4()), "outcome": "met"})
    assert response.status_code == 400
    assert "mã bảo mật" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Visit).count() == 0


def test_search_matches_with_or_without_diacritics(as_user, area):
    client = as_user("member1")
    token = csrf_token(client, "/search")
    for query in ("nguyen van an", "Nguyễn Văn An", "NGUYEN VAN"):
        page = client.post("/search", data={"q": query, "csrf_token": token}).get_data(as_text=True)
        assert "Nguyễn Văn An" in page, query
    page = client.post("/search", data={"q": "do thi lan", "csrf_token": token}).get_data(as_text=True)
    assert "Đỗ Thị Lan" not in page  # in KP2, outside member1's scope
    assert "Không tìm thấy" in page
    partial = client.post("/search", data={"q": "nguyen trai 12", "csrf_token": token}, headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True) and "12, Nguyễn Trãi" in partial.get_data(as_text=True)


def test_add_household_warns_of_duplicate_then_adds_when_confirmed(as_user, area, app):
    client = as_user("member1")
    path = f"/streets/{area['nguyen_trai']}/households/new"
    page = client.get(path).get_data(as_text=True)
    change_uuid = re.search(r'name="change_uuid" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(client, path), "change_uuid": change_uuid, "house_number": "nguyen trai 12"}
    warned = client.post(path, data=data)
    assert warned.status_code == 422 and "đã có trong danh sách" in warned.get_data(as_text=True)
    data["house_number"] = "số 12"
    assert "đã có trong danh sách" in client.post(path, data=data).get_data(as_text=True)
    data["confirm_duplicate"] = "y"
    added = client.post(path, data=data)
    assert added.status_code == 303
    again = client.post(path, data=data)  # the same form resent: no second household
    assert again.status_code == 303
    with app.app_context():
        assert db.session.query(Household).filter_by(street_id=area["nguyen_trai"]).count() == 5
        change = db.session.query(Change).filter_by(uuid=change_uuid).one()
        assert change.kind == "household.add" and change.user_id == area["member1"]


def test_add_resident_correct_facts_and_mark_moved(as_user, area, app):
    client = as_user("member1")
    path = f"/households/{area['h2a']}/residents/new"
    page = client.get(path).get_data(as_text=True)
    change_uuid = re.search(r'name="change_uuid" type="hidden" value="([^"]+)"', page).group(1)
    token = csrf_token(client, path)
    added = client.post(path, data={"csrf_token": token, "change_uuid": change_uuid, "full_name": "Phạm Thị Hoa",
                                    "birth_year": "1998", "phone_kind": "smart", "sim": "4g",
                                    "handset_2g_only": "no", "has_epay": ""})
    assert added.status_code == 303
    duplicate = client.post(path, data={"csrf_token": token, "change_uuid": str(uuid.uuid4()),
                                        "full_name": "pham van em", "phone_kind": "none", "sim": "unknown",
                                        "handset_2g_only": "no", "has_epay": ""})
    assert duplicate.status_code == 422 and "Phạm Văn Em" in duplicate.get_data(as_text=True)
    with app.app_context():
        hoa = db.session.query(Resident).filter_by(uuid=change_uuid).one()
        assert hoa.phone_kind == "smart" and hoa.name_key == "pham thi hoa"
        hoa_id = hoa.id
        open_before = db.session.get(Household, area["h2a"]).open_items
    edit = f"/residents/{hoa_id}/edit"
    page = client.get(edit).get_data(as_text=True)
    fix_uuid = re.search(r'name="change_uuid" type="hidden" value="([^"]+)"', page).group(1)
    fixed = client.post(edit, data={"csrf_token": token, "change_uuid": fix_uuid, "full_name": "Phạm Thị Hoa",
                                    "birth_year": "1998", "phone_kind": "basic", "sim": "2g",
                                    "handset_2g_only": "yes", "has_epay": "no"})
    assert fixed.status_code == 303
    moved_uuid = str(uuid.uuid4())
    moved = client.post(f"/residents/{hoa_id}/moved", data={"csrf_token": token, "change_uuid": moved_uuid})
    assert moved.status_code == 303
    with app.app_context():
        hoa = db.session.get(Resident, hoa_id)
        assert (hoa.phone_kind, hoa.sim, hoa.handset_2g_only, hoa.has_epay, hoa.moved_away) == \
            ("basic", "2g", True, False, True)
        kinds = [c.kind for c in db.session.query(Change).filter_by(resident_id=hoa_id).order_by(Change.id)]
        assert kinds == ["resident.add", "resident.correct", "resident.moved"]
        assert db.session.get(Household, area["h2a"]).open_items < open_before or open_before == 0
