"""The audit log: who changed what and when, with personal values never kept, shown to staff of the ward only."""
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.fixtures import csrf_token, login
from tests.http.test_imports import app_config, confirm, start  # noqa: F401 - the import tests' settings
from tests.import_workbooks import xlsx
from visits import audit
from visits.extensions import db
from visits.models import AuditEntry, Household

NAMES_AND_PHONES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Thị Dung", "Đỗ Thị Lan", "Phan Văn Tâm", "0912111222")


@pytest.fixture
def as_user(as_fresh_user):
    return as_fresh_user


def entries(app, **where) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        found = db.session.scalars(query).all()
        db.session.expunge_all()
        return found


def all_details(app) -> str:
    with app.app_context():
        return json.dumps([e.details for e in db.session.scalars(select(AuditEntry))], ensure_ascii=False)


def detail_values(app) -> set:
    """Every scalar value in every entry's details, however deep."""
    values, pending = set(), list(json.loads(all_details(app)))
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending += value.values()
        elif isinstance(value, list):
            pending += value
        else:
            values.add(value)
    return values


def correct(client, resident_id: int, full_name: str, birth_year: int = 1966):
    page = client.get(f"/residents/{resident_id}/edit").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(f"/residents/{resident_id}/edit", data={
        "csrf_token": token, "change_uuid": str(uuid.uuid4()), "full_name": full_name, "birth_year": birth_year,
        "phone_kind": "basic", "sim": "2g", "handset_2g_only": "no", "has_epay": ""})


def rows_of(page: str) -> list[str]:
    table = re.search(r'<table class="table audit" id="audit-entries">.*?</table>', page, re.S)
    return re.findall(r"<tr><td>.*?</tr>", table.group(0), re.S) if table else []


# --- What is logged -----------------------------------------------------------------------------------------

def test_a_change_by_a_user_is_logged_with_the_user_entity_and_fields(as_user, app, area):
    staff = as_user("staff")
    before = len(entries(app))
    response = staff.post(f"/members/{area['member1']}/deactivate",
                          data={"csrf_token": csrf_token(staff, "/members/")})
    assert response.status_code == 303
    [entry] = entries(app)[before:]
    assert (entry.user_id, entry.action, entry.entity, entry.entity_id) == \
        (area["staff"], "update", "app_user", area["member1"])
    assert entry.details["changed"]["active"] == [True, False]
    assert entry.details["changed"]["session_version"] == [1, 2]
    assert (entry.khu_pho_id, entry.ward_id) == (area["kp1"], area["ward"])


def test_personal_values_are_never_logged_only_the_field_names(as_user, app, area):
    member = as_user("member1")
    assert correct(member, area["binh"], "Trần Thị Bình Minh").status_code == 303
    [entry] = entries(app, entity="resident", action="update")
    assert entry.user_id == area["member1"] and entry.entity_id == area["binh"]
    assert set(entry.details["personal"]) == {"full_name", "name_key", "birth_year"}
    staff = as_user("staff")
    password = staff.get(f"/members/{area['member1b']}/password").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', password).group(1)
    assert staff.post(f"/members/{area['member1b']}/password",
                      data={"csrf_token": token, "password": "mot-mat-khau-moi"}).status_code == 303
    [reset] = [e for e in entries(app, entity="app_user", action="update") if e.entity_id == area["member1b"]]
    assert reset.details["personal"] == ["password_hash"]
    logged = all_details(app)
    for secret in NAMES_AND_PHONES + ("Trần Thị Bình Minh", "argon2"):
        assert secret not in logged
    # The birth year as a value, not as a substring: a random UUID or a timestamp's microseconds may hold "1966".
    assert not {1966, "1966"} & detail_values(app)
    # The fixture's roster was written through the ORM too: its entries name the fields, not the people.
    first = entries(app, entity="resident", action="create")[0]
    assert first.entity_id == area["an"] and first.khu_pho_id == area["kp1"]
    assert first.details["personal"] == ["birth_year", "full_name", "name_key"]


def test_record_drops_personal_values_it_is_given():
    assert audit.safe_details({"full_name": "Nguyễn Văn An", "phone": "0912", "rows": 3}) == \
        {"rows": 3, "personal": ["full_name", "phone"]}


def test_a_bulk_import_is_one_entry_with_its_counts(as_user, app, area):
    client = as_user("staff")
    before = len(entries(app))
    headers = ["Mã hộ", "Chủ hộ", "Năm sinh", "Số nhà", "Đường", "Khu phố", "Hộ SXKD", "Điện thoại"]
    rows = [[f"HG-{n}", "Phan Văn Tâm", 1955, str(100 + n), "Lê Lợi", "KP1", None, "0912111222"] for n in range(30)]
    url = start(client, xlsx(rows, header_row=headers))
    assert confirm(client, url, mode="all") == "done"
    new = entries(app)[before:]
    assert [(e.action, e.entity, e.user_id, e.ward_id) for e in new] == [("import", "import_job", area["staff"],
                                                                           area["ward"])]
    assert new[0].details["households_new"] == 30 and new[0].details["residents_new"] == 30
    assert "Phan Văn Tâm" not in all_details(app) and "0912111222" not in all_details(app)


def test_a_sync_batch_is_one_entry_and_its_visits_are_listed_as_themselves(as_user, app, area):
    member = as_user("member1")
    with app.app_context():
        households = [db.session.get(Household, area[h]).uuid for h in ("h12", "h2", "h2a")]
    token = member.get("/api/session").get_json()["csrf_token"]
    now = datetime.now(timezone.utc).isoformat()
    items = [{"type": "visit", "uuid": str(uuid.uuid4()), "household": h, "recorded_at": now, "outcome": "met",
              "notes": "", "met": [], "answers": [], "facts": []} for h in households]
    before = len(entries(app))
    assert member.post("/api/sync", json={"items": items}, headers={"X-CSRFToken": token}).status_code == 200
    [entry] = entries(app)[before:]
    assert (entry.action, entry.user_id, entry.khu_pho_id) == ("sync", area["member1"], area["kp1"])
    assert entry.details["accepted"] == 3
    # Sent again: all duplicates, nothing written, nothing logged.
    member.post("/api/sync", json={"items": items}, headers={"X-CSRFToken": token})
    assert len(entries(app)) == before + 1
    page = as_user("staff").get("/audit/?loai=tham").get_data(as_text=True)
    assert len(rows_of(page)) == 3 and "Ghi lần thăm" in page


# --- The page -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["member1", "leader1"])
def test_members_and_leaders_cannot_reach_the_page(as_user, username):
    assert as_user(username).get("/audit/").status_code == 404


def test_staff_of_another_ward_see_nothing_of_this_ward(as_user, app, area):
    correct(as_user("member1"), area["binh"], "Trần Thị Bình Minh")
    mine = as_user("staff").get("/audit/").get_data(as_text=True)
    assert "Nhân khẩu" in mine and f"#{area['binh']}" in mine
    other = as_user("staff_other")
    page = other.get("/audit/?loai=thay-doi").get_data(as_text=True)
    assert f"Nhân khẩu #{area['binh']}" not in page and "Khu phố 1" not in page and "Khu phố 9" in page
    assert other.get(f"/audit/?khu_pho={area['kp1']}").status_code == 404
    assert other.get(f"/audit/?nguoi={area['member1']}").status_code == 404
    assert as_user("admin").get(f"/audit/?khu_pho={area['kp1']}").status_code == 200


def test_filters_by_person_khu_pho_and_date(as_user, app, area):
    correct(as_user("member1"), area["binh"], "Trần Thị Bình Minh")
    correct(as_user("member2"), area["lan"], "Đỗ Thị Lan Anh", 1985)
    staff = as_user("staff")
    by_member1 = staff.get(f"/audit/?nguoi={area['member1']}").get_data(as_text=True)
    assert len(rows_of(by_member1)) == 1 and f"#{area['binh']}" in by_member1
    in_kp2 = rows_of(staff.get(f"/audit/?khu_pho={area['kp2']}&loai=thay-doi").get_data(as_text=True))
    assert any(f"#{area['lan']}" in row for row in in_kp2)
    assert not any(f"Nhân khẩu #{area['binh']}" in row for row in in_kp2)
    today = (datetime.now(timezone.utc) + timedelta(hours=7)).date()
    assert rows_of(staff.get(f"/audit/?nguoi={area['member1']}&tu={today}&den={today}").get_data(as_text=True))
    tomorrow = today + timedelta(days=1)
    assert not rows_of(staff.get(f"/audit/?tu={tomorrow}").get_data(as_text=True))
    assert not rows_of(staff.get(f"/audit/?den={today - timedelta(days=1)}").get_data(as_text=True))


def test_bad_filters_say_what_is_wrong(as_user, area):
    staff = as_user("staff")
    page = staff.get("/audit/?tu=31-02-2026").get_data(as_text=True)
    assert "Ngày không hợp lệ" in page and not rows_of(page)
    page = staff.get("/audit/?tu=2026-05-02&den=2026-05-01").get_data(as_text=True)
    assert "phải trước hoặc bằng" in page


def test_pages_of_fifty(as_user, app, area, monkeypatch):
    with app.app_context():
        for n in range(60):
            audit.record("export", "household", n, khu_pho_id=area["kp1"], user_id=area["staff"])
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.ward_id == area["ward"])) > 60
    staff = as_user("staff")
    first = staff.get(f"/audit/?khu_pho={area['kp1']}&loai=thay-doi").get_data(as_text=True)
    assert len(rows_of(first)) == 50 and "Trang sau" in first
    second = staff.get(f"/audit/?khu_pho={area['kp1']}&loai=thay-doi&trang=2").get_data(as_text=True)
    assert 10 <= len(rows_of(second)) < 50 and "Trang trước" in second
    assert not set(rows_of(first)) & set(rows_of(second))
