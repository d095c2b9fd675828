"""First run: the setup page makes the first admin while there is no user, and is gone (404) ever after."""
from sqlalchemy import func, select

from visits.extensions import db
from visits.models import User
from visits.passwords import verify_password

from tests.fixtures import csrf_token, login, run_at_once

PASSWORD = "Quan-tri-Ha-Long-2024"


def first_admin(client, token=None, **fields):
    data = {"csrf_token": token or csrf_token(client, "/setup/"), "username": "QuanTri", "full_name": "Lê Văn Quản",
            "password": PASSWORD, "confirm": PASSWORD}
    data.update(fields)
    return client.post("/setup/", data=data)


def users(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(u.username, u.role) for u in db.session.scalars(select(User).order_by(User.id))]


def test_an_empty_app_sends_login_to_setup(client):
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"].endswith("/setup/")
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Thiết lập lần đầu" in page and 'name="csrf_token"' in page
    assert "Vui lòng đăng nhập" not in page  # nobody could yet


def test_the_first_admin_is_made_logged_in_and_can_log_in_again(client, app):
    response = first_admin(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/wards/")
    assert users(app) == [("quantri", "admin")]
    with app.app_context():
        admin = db.session.scalar(select(User))
        assert admin.active and admin.ward_id is None and verify_password(admin.password_hash, PASSWORD)
    assert "Các phường" in client.get("/wards/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/login").status_code == 200  # no longer sent to setup
    assert login(client, "quantri", PASSWORD).status_code == 302


def test_once_a_user_exists_the_page_is_gone(client, app):
    token = csrf_token(client, "/setup/")
    assert first_admin(client, token).status_code == 303
    other = app.test_client()
    assert other.get("/setup/").status_code == 404
    assert first_admin(other, token=csrf_token(other, "/login"), username="admin2").status_code == 404
    assert first_admin(client, token, username="admin3").status_code == 404  # nor for the admin themself
    assert users(app) == [("quantri", "admin")]


def test_setup_is_404_with_the_demo_ward_too(client, area, app):
    assert client.get("/setup/").status_code == 404
    assert first_admin(client, token=csrf_token(client, "/login")).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.role == "admin")) == 1


def test_bad_input_is_named_and_nothing_is_made(client, app):
    short = first_admin(client, password="Ab-12", confirm="Ab-12")
    assert short.status_code == 400 and "ít nhất 8 ký tự" in short.get_data(as_text=True)
    common = first_admin(client, password="matkhau123", confirm="matkhau123")
    assert common.status_code == 400 and "quá phổ biến" in common.get_data(as_text=True)
    mismatch = first_admin(client, confirm=PASSWORD + "x")
    assert mismatch.status_code == 400 and "không khớp" in mismatch.get_data(as_text=True)
    bad_name = first_admin(client, username="quản trị")
    assert bad_name.status_code == 400 and "Tên đăng nhập chỉ gồm" in bad_name.get_data(as_text=True)
    assert 'value="Lê Văn Quản"' in bad_name.get_data(as_text=True)  # what was typed is kept
    assert client.post("/setup/", data={"username": "quantri", "full_name": "Quản", "password": PASSWORD,
                                        "confirm": PASSWORD}).status_code == 400  # no CSRF token
    assert users(app) == []


def test_two_at_once_make_one_admin(app):
    clients = [app.test_client() for _ in range(2)]
    tokens = [csrf_token(c, "/setup/") for c in clients]
    answers = []

    def submit(client, token, username):
        answers.append(first_admin(client, token, username=username).status_code)

    errors = run_at_once(submit, [(clients[0], tokens[0], "dau-tien"), (clients[1], tokens[1], "thu-hai")])
    assert not errors
    assert sorted(answers) == [303, 404]
    assert len(users(app)) == 1 and users(app)[0][1] == "admin"
