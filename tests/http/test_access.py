"""Every role's allowed and refused routes: outside one's scope is 404, and nothing is written."""
import uuid

import pytest

from visits.extensions import db
from visits.models import Street, User, Visit

from tests.fixtures import PASSWORD, csrf_token, login


def test_anonymous_is_sent_to_login(client, area):
    for path in ["/", f"/streets/{area['nguyen_trai']}", f"/households/{area['h12']}", "/search?q=an",
                 "/team/", f"/residents/{area['an']}/edit", f"/khu-pho/{area['kp1']}"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def member_paths(area, prefix):
    return [f"/streets/{area[f'{prefix}street']}", f"/households/{area[f'{prefix}household']}",
            f"/residents/{area[f'{prefix}resident']}/edit", f"/streets/{area[f'{prefix}street']}/next",
            f"/streets/{area[f'{prefix}street']}/households/new", f"/households/{area[f'{prefix}household']}/residents/new",
            f"/khu-pho/{area[f'{prefix}khu_pho']}"]


@pytest.fixture
def places(area):
    ids = dict(area.ids)
    ids.update(kp1_street=area["nguyen_trai"], kp1_household=area["h12"], kp1_resident=area["an"], kp1_khu_pho=area["kp1"],
               kp2_street=area["ha_long"], kp2_household=area["h_hl"], kp2_resident=area["lan"], kp2_khu_pho=area["kp2"])
    return ids


@pytest.mark.parametrize("username, allowed, refused", [
    ("member1", "kp1_", "kp2_"),
    ("leader1", "kp1_", "kp2_"),
    ("member2", "kp2_", "kp1_"),
])
def test_team_members_see_only_their_khu_pho(as_user, places, username, allowed, refused):
    client = as_user(username)
    for path in member_paths(places, allowed):
        assert client.get(path).status_code in (200, 302), path
    for path in member_paths(places, refused):
        assert client.get(path).status_code == 404, path


def test_staff_see_their_ward_and_not_another(as_user, places):
    client = as_user("staff")
    home = client.get("/").get_data(as_text=True)
    assert "Khu phố 1" in home and "Khu phố 2" in home and "Khu phố 9" not in home
    for path in member_paths(places, "kp1_") + member_paths(places, "kp2_"):
        assert client.get(path).status_code in (200, 302), path
    assert client.get(f"/khu-pho/{places['kp9']}").status_code == 404


def test_staff_of_another_ward_see_nothing_here(as_user, places):
    client = as_user("staff_other")
    for path in member_paths(places, "kp1_"):
        assert client.get(path).status_code == 404, path


def test_admin_sees_every_khu_pho(as_user, places):
    page = as_user("admin").get("/").get_data(as_text=True)
    assert "Khu phố 1" in page and "Khu phố 9" in page


def test_a_visit_to_another_khu_pho_is_404_and_writes_nothing(as_user, area, app):
    client = as_user("member1")
    response = client.post(f"/households/{area['h_hl']}/visits", data={
        "csrf_token": csrf_token(client, "/"), "visit_uuid": str(uuid.uuid4()), "outcome": "met"})
    assert response.status_code == 404
    moved = client.post(f"/residents/{area['lan']}/moved", data={
        "csrf_token": csrf_token(client, "/"), "change_uuid": str(uuid.uuid4())})
    assert moved.status_code == 404
    with app.app_context():
        assert db.session.query(Visit).count() == 0
        assert not db.session.get(__import__("visits.models", fromlist=["Resident"]).Resident, area["lan"]).moved_away


def test_members_and_staff_cannot_reach_the_leader_pages(as_user, area):
    for username in ("member1", "staff"):
        client = as_user(username)
        assert client.get("/team/").status_code == 404
        assert client.post(f"/team/streets/{area['nguyen_trai']}/assign",
                           data={"csrf_token": csrf_token(client, "/"), "member_id": area["member1"]}).status_code == 404
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_leader_assigns_streets_within_the_team_only(as_user, area, app):
    client = as_user("leader1")
    page = client.get("/team/").get_data(as_text=True)
    assert "Member1" in page and "Member2" not in page
    token = csrf_token(client, "/team/")
    response = client.post(f"/team/streets/{area['le_loi']}/assign", headers={"HX-Request": "true"},
                           data={"csrf_token": token, "member_id": area["member1"]})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="street-{area["le_loi"]}"') and "Đã giao đường" in body
    assert client.post(f"/team/streets/{area['le_loi']}/assign",
                       data={"csrf_token": token, "member_id": area["member2"]}).status_code == 404
    assert client.post(f"/team/streets/{area['ha_long']}/assign",
                       data={"csrf_token": token, "member_id": area["member1"]}).status_code == 404
    assert client.get(f"/team/members/{area['member2']}").status_code == 404
    with app.app_context():
        assert db.session.get(Street, area["le_loi"]).member_id == area["member1"]
        assert db.session.get(Street, area["ha_long"]).member_id == area["member2"]


def test_leader_sees_per_member_progress(as_user, area):
    client = as_user("member1")
    token = csrf_token(client, f"/households/{area['h2']}")
    page = client.get(f"/households/{area['h2']}").get_data(as_text=True)
    visit_uuid = page.split('name="visit_uuid" type="hidden" value="')[1].split('"')[0]
    client.post(f"/households/{area['h2']}/visits", data={"csrf_token": token, "visit_uuid": visit_uuid,
                                                           "outcome": "met", "a-0-ecommerce_guide": "done"})
    client.post("/logout", data={"csrf_token": token})
    leader = as_user("leader1")
    overview = leader.get("/team/").get_data(as_text=True)
    row = overview.split(f'/team/members/{area["member1"]}')[1].split("</tr>")[0]
    assert "<td>1</td><td>1/4</td>" in row  # one visit; 1 of the 4 households on Nguyễn Trãi visited
    detail = leader.get(f"/team/members/{area['member1']}").get_data(as_text=True)
    assert "Nguyễn Trãi" in detail and "Gặp được" in detail and "12, Nguyễn Trãi" in detail


def test_login_refuses_a_wrong_password_and_a_missing_token(client, area):
    wrong = login(client, "member1", "sai-mat-khau")
    assert wrong.status_code == 400 and "Sai tên đăng nhập hoặc mật khẩu" in wrong.get_data(as_text=True)
    no_token = client.post("/login", data={"username": "member1", "password": PASSWORD})
    assert no_token.status_code == 400
    assert client.get("/").status_code == 302  # still logged out


def test_logins_are_rate_limited_with_a_vietnamese_message(client, area, app):
    app.config["RATELIMIT_LOGIN"] = "3 per minute"
    statuses = [login(client, "member1", "sai-mat-khau").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    blocked = login(client, "member1")
    assert blocked.status_code == 429 and "Quá nhiều lần đăng nhập" in blocked.get_data(as_text=True)


def test_passwords_are_stored_as_argon2id_at_owasp_cost(app, area):
    with app.app_context():
        stored = db.session.get(User, area["member1"]).password_hash
        assert stored.startswith("$argon2id$") and "m=19456,t=2,p=1" in stored
        assert PASSWORD not in stored


def test_remember_me_sets_a_7_day_cookie_only_when_asked(client, area):
    login(client, "member1")
    assert client.get_cookie("remember_token") is None
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "member1", remember=True)
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.http_only
    assert 6 <= (cookie.expires - __import__("datetime").datetime.now(cookie.expires.tzinfo)).days <= 7


def test_deactivating_or_bumping_sessions_logs_the_user_out(as_user, area, app):
    client = as_user("member1")
    assert client.get("/").status_code == 200
    with app.app_context():
        db.session.get(User, area["member1"]).session_version += 1
        db.session.commit()
    assert client.get("/").status_code == 302


def test_logout_needs_post_and_a_token(as_user, area):
    client = as_user("member1")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_login_does_not_follow_next_off_site(client, area):
    token = csrf_token(client)
    response = client.post("/login?next=https://evil.example/x",
                           data={"username": "member1", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_pages_carry_a_strict_content_security_policy(client, area):
    headers = client.get("/login").headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
