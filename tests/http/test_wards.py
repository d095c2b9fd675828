"""Admin: wards (code, name, province) and their staff accounts; nobody else reaches these pages."""
import pytest
from sqlalchemy import select

from visits.extensions import db
from visits.models import User, Ward
from visits.passwords import verify_password

from tests.fixtures import csrf_token, login

STAFF_PASSWORD = "Can-bo-phuong-2024"


def wards(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(w.code, w.name, w.province) for w in db.session.scalars(select(Ward).order_by(Ward.id))]


def staff_accounts(app) -> list[tuple[str, int | None]]:
    with app.app_context():
        return [(u.username, u.ward_id) for u in db.session.scalars(
            select(User).where(User.role == "staff").order_by(User.id))]


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **data})


def test_admin_creates_a_ward_and_sees_it_listed(as_user, app):
    admin = as_user("admin")
    response = post(admin, "/wards/", code="26734", name="Phường Cao Xanh", province="Quảng Ninh")
    assert response.status_code == 303
    assert ("26734", "Phường Cao Xanh", "Quảng Ninh") in wards(app)
    page = admin.get("/wards/").get_data(as_text=True)
    assert "Phường Cao Xanh" in page and "Phường Bãi Cháy" in page


def test_ward_input_is_checked_and_nothing_is_written(as_user, app):
    admin = as_user("admin")
    before = wards(app)
    duplicate = post(admin, "/wards/", code="W1", name="Phường Trùng", province="")
    assert duplicate.status_code == 400 and "Mã phường này đã có" in duplicate.get_data(as_text=True)
    assert 'value="Phường Trùng"' in duplicate.get_data(as_text=True)
    no_name = post(admin, "/wards/", code="W7", name="   ", province="")
    assert no_name.status_code == 400 and "Hãy nhập tên phường" in no_name.get_data(as_text=True)
    too_long = post(admin, "/wards/", code="X" * 21, name="Phường Dài", province="")
    assert too_long.status_code == 400 and "tối đa 20 ký tự" in too_long.get_data(as_text=True)
    assert admin.post("/wards/", data={"code": "W8", "name": "Phường Không Token"}).status_code == 400
    assert wards(app) == before


def test_admin_edits_a_ward(as_user, area, app):
    admin = as_user("admin")
    taken = post(admin, f"/wards/{area['ward']}", code="W2", name="Phường Hồng Gai", province="Quảng Ninh")
    assert taken.status_code == 400 and "Mã phường này đã có" in taken.get_data(as_text=True)
    same_code = post(admin, f"/wards/{area['ward']}", code="W1", name="Phường Hồng Hải", province="Quảng Ninh")
    assert same_code.status_code == 303
    assert wards(app)[0] == ("W1", "Phường Hồng Hải", "Quảng Ninh")
    assert admin.get("/wards/999999").status_code == 404


def test_admin_creates_staff_who_see_their_ward(as_user, area, app, client):
    admin = as_user("admin")
    response = post(admin, f"/wards/{area['ward']}/staff", username="CanBo2", full_name="Phạm Thị Cán",
                    password=STAFF_PASSWORD)
    assert response.status_code == 303
    assert ("canbo2", area["ward"]) in staff_accounts(app)
    with app.app_context():
        person = db.session.scalar(select(User).where(User.username == "canbo2"))
        assert person.role == "staff" and person.team_id is None
        assert verify_password(person.password_hash, STAFF_PASSWORD)
    assert "Phạm Thị Cán" in admin.get(f"/wards/{area['ward']}").get_data(as_text=True)
    admin.post("/logout", data={"csrf_token": csrf_token(admin, "/")})
    assert login(client, "canbo2", STAFF_PASSWORD).status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "Khu phố 1" in home and "Khu phố 9" not in home


def test_staff_account_rules_are_the_members_rules(as_user, area, app):
    admin = as_user("admin")
    before = staff_accounts(app)
    path = f"/wards/{area['ward']}/staff"
    common = post(admin, path, username="canbo3", full_name="Cán Bộ", password="12345678")
    assert common.status_code == 400 and "quá phổ biến" in common.get_data(as_text=True)
    short = post(admin, path, username="canbo3", full_name="Cán Bộ", password="ngan")
    assert short.status_code == 400 and "ít nhất 8 ký tự" in short.get_data(as_text=True)
    taken = post(admin, path, username="Staff", full_name="Cán Bộ", password=STAFF_PASSWORD)
    assert taken.status_code == 400 and "đã có người dùng" in taken.get_data(as_text=True)
    assert admin.post(path, data={"username": "canbo3", "full_name": "Cán Bộ",
                                  "password": STAFF_PASSWORD}).status_code == 400  # forged: no CSRF token
    assert post(admin, "/wards/999999/staff", username="canbo3", full_name="Cán Bộ",
                password=STAFF_PASSWORD).status_code == 404
    assert staff_accounts(app) == before


@pytest.mark.parametrize("username", ["staff", "leader1", "member1"])
def test_only_admin_reaches_the_ward_pages(as_user, area, app, username):
    client = as_user(username)
    before_wards, before_staff = wards(app), staff_accounts(app)
    assert client.get("/wards/").status_code == 404
    assert client.get(f"/wards/{area['ward']}").status_code == 404
    assert post(client, "/wards/", code="W9", name="Phường Lạ", province="").status_code == 404
    assert post(client, f"/wards/{area['ward']}", code="W1", name="Đổi tên", province="").status_code == 404
    assert post(client, f"/wards/{area['ward']}/staff", username="canbo9", full_name="Cán Bộ",
                password=STAFF_PASSWORD).status_code == 404
    assert wards(app) == before_wards and staff_accounts(app) == before_staff


def test_admin_locks_and_reopens_a_staff_account_ending_its_sessions(as_user, area, app):
    staff_app = app.test_client()
    assert login(staff_app, "staff").status_code == 302
    admin = as_user("admin")
    base = f"/wards/{area['ward']}/staff/{area['staff']}"
    assert post(admin, f"{base}/deactivate").status_code == 303
    assert staff_app.get("/").status_code == 302  # logged out at once
    assert login(app.test_client(), "staff").status_code == 400
    assert post(admin, f"{base}/reactivate").status_code == 303
    assert login(app.test_client(), "staff").status_code == 302


def test_admin_resets_a_staff_password_by_the_members_rules(as_user, area, app):
    admin = as_user("admin")
    path = f"/wards/{area['ward']}/staff/{area['staff']}/password"
    assert "Đặt lại mật khẩu cho Staff" in admin.get(path).get_data(as_text=True)
    weak = post(admin, path, password="matkhau123")
    assert weak.status_code == 400 and "quá phổ biến" in weak.get_data(as_text=True)
    assert post(admin, path, password=STAFF_PASSWORD).status_code == 303
    with app.app_context():
        person = db.session.get(User, area["staff"])
        assert verify_password(person.password_hash, STAFF_PASSWORD) and person.session_version == 2


def test_staff_accounts_are_reached_only_through_their_ward(as_user, area, app):
    admin = as_user("admin")
    other_ward = db_ward_of(app, area["staff_other"])
    wrong_ward = f"/wards/{area['ward']}/staff/{area['staff_other']}"
    not_staff = f"/wards/{area['ward']}/staff/{area['leader1']}"
    for base in (wrong_ward, not_staff):
        assert post(admin, f"{base}/deactivate").status_code == 404
        assert post(admin, f"{base}/password", password=STAFF_PASSWORD).status_code == 404
    assert post(admin, f"/wards/{other_ward}/staff/{area['staff_other']}/frobnicate").status_code == 404
    with app.app_context():
        for name in ("staff_other", "leader1"):
            person = db.session.get(User, area[name])
            assert person.active and person.session_version == 1


@pytest.mark.parametrize("username", ["staff", "staff_other", "leader1"])
def test_only_admin_locks_or_resets_staff(as_user, area, app, username):
    client = as_user(username)
    base = f"/wards/{area['ward']}/staff/{area['staff']}"
    assert post(client, f"{base}/deactivate").status_code == 404
    assert post(client, f"{base}/password", password=STAFF_PASSWORD).status_code == 404
    assert client.post(f"{base}/deactivate").status_code in (400, 404)  # forged and forbidden
    with app.app_context():
        person = db.session.get(User, area["staff"])
        assert person.active and person.session_version == 1


def test_forged_staff_actions_change_nothing(as_user, area, app):
    admin = as_user("admin")
    base = f"/wards/{area['ward']}/staff/{area['staff']}"
    assert admin.post(f"{base}/deactivate").status_code == 400
    assert admin.post(f"{base}/password", data={"password": STAFF_PASSWORD}).status_code == 400
    with app.app_context():
        person = db.session.get(User, area["staff"])
        assert person.active and person.session_version == 1


def db_ward_of(app, user_id) -> int:
    with app.app_context():
        return db.session.get(User, user_id).ward_id
