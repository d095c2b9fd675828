"""Managing members: staff for their ward, a leader for their own team's members; 404 outside, nothing written."""
from visits.extensions import db
from visits.models import User
from visits.passwords import verify_password

from tests.fixtures import csrf_token, login

NEW_PASSWORD = "Ha-Long-bay-2024"


def user(app, user_id) -> User:
    with app.app_context():
        person = db.session.get(User, user_id)
        db.session.expunge(person)
        return person


def by_name(app, username) -> User | None:
    with app.app_context():
        person = db.session.query(User).filter_by(username=username).one_or_none()
        if person is not None:
            db.session.expunge(person)
        return person


def new_member(client, area, **fields):
    data = {"csrf_token": csrf_token(client, "/members/"), "username": "Member3", "full_name": "Trần Văn Ba",
            "role": "member", "team_id": area["team1"], "password": NEW_PASSWORD}
    data.update(fields)
    return client.post("/members/new", data=data)


def test_staff_list_their_wards_teams(as_user, area):
    page = as_user("staff").get("/members/").get_data(as_text=True)
    assert "Tổ 1" in page and "Tổ 2" in page and "Member1" in page and "Leader2" in page
    assert "Staff_Other" not in page and "Admin" not in page
    assert "Chuyển sang tổ" in page


def test_leader_lists_only_their_team(as_user, area):
    page = as_user("leader1").get("/members/").get_data(as_text=True)
    assert "Member1" in page and "Member2" not in page and "Tổ 2" not in page
    assert "Chuyển sang tổ" not in page


def test_members_and_other_roles_cannot_reach_the_pages(as_user, area, app):
    for username in ("member1", "admin"):
        client = as_user(username)
        assert client.get("/members/").status_code == 404
        assert new_member(client, area).status_code == 404
        assert client.post(f"/members/{area['member1b']}/deactivate",
                           data={"csrf_token": csrf_token(client, "/")}).status_code == 404
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert by_name(app, "member3") is None and user(app, area["member1b"]).active


def test_staff_create_a_member_who_can_log_in(as_user, area, app, client):
    staff = as_user("staff")
    response = new_member(staff, area, role="leader", team_id=area["team2"])
    assert response.status_code == 303
    created = by_name(app, "member3")  # usernames are kept in lower case
    assert created.role == "leader" and created.team_id == area["team2"] and created.ward_id == area["ward"]
    assert created.password_hash.startswith("$argon2id$") and verify_password(created.password_hash, NEW_PASSWORD)
    assert "Đã thêm Trần Văn Ba" in staff.get("/members/").get_data(as_text=True)
    staff.post("/logout", data={"csrf_token": csrf_token(staff, "/")})
    assert login(client, "member3", NEW_PASSWORD).status_code == 302


def test_short_common_or_duplicate_is_refused(as_user, area, app):
    client = as_user("staff")
    short = new_member(client, area, password="Ab-12")
    assert short.status_code == 400 and "ít nhất 8 ký tự" in short.get_data(as_text=True)
    for common in ("12345678", "password", "matkhau123", "11111111", "abc12345", "qwerty123", "PASSWORD"):
        refused = new_member(client, area, password=common)
        assert refused.status_code == 400 and "quá phổ biến" in refused.get_data(as_text=True), common
    duplicate = new_member(client, area, username="Member1")
    assert duplicate.status_code == 400 and "đã có người dùng" in duplicate.get_data(as_text=True)
    bad_name = new_member(client, area, username="tên có dấu")
    assert bad_name.status_code == 400
    with app.app_context():
        assert db.session.query(User).count() == 8


def test_missing_csrf_is_refused(as_user, area, app):
    client = as_user("staff")
    data = {"username": "member3", "full_name": "Ba", "role": "member", "team_id": area["team1"],
            "password": NEW_PASSWORD}
    assert client.post("/members/new", data=data).status_code == 400
    assert client.post(f"/members/{area['member1']}/deactivate").status_code == 400
    assert client.post(f"/members/{area['member1']}/password", data={"password": NEW_PASSWORD}).status_code == 400
    assert client.post(f"/members/{area['member1']}/move", data={"team_id": area["team2"]}).status_code == 400
    assert by_name(app, "member3") is None
    person = user(app, area["member1"])
    assert person.active and person.team_id == area["team1"] and person.session_version == 1


def test_leader_creates_members_of_their_team_only(as_user, area, app):
    client = as_user("leader1")
    assert new_member(client, area, team_id=area["team2"]).status_code == 404
    staff_role = new_member(client, area, username="sneaky", role="staff")
    assert staff_role.status_code == 400 and "Vai trò này không được phép" in staff_role.get_data(as_text=True)
    assert new_member(client, area, username="sneaky2", role="leader").status_code == 400
    assert by_name(app, "member3") is None and by_name(app, "sneaky") is None and by_name(app, "sneaky2") is None
    assert new_member(client, area).status_code == 303
    created = by_name(app, "member3")
    assert created.role == "member" and created.team_id == area["team1"]


def test_deactivating_ends_the_members_session_at_once(as_user, area, app):
    member_app = app.test_client()
    assert login(member_app, "member1", remember=True).status_code == 302
    assert member_app.get("/").status_code == 200
    leader = as_user("leader1")
    response = leader.post(f"/members/{area['member1']}/deactivate", data={"csrf_token": csrf_token(leader, "/")})
    assert response.status_code == 303
    after = member_app.get("/")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    member_app.delete_cookie("session")  # the remember-me cookie alone does not bring the session back
    assert member_app.get("/").status_code == 302
    person = user(app, area["member1"])
    assert not person.active and person.session_version == 2
    assert login(app.test_client(), "member1").status_code == 400
    assert leader.post(f"/members/{area['member1']}/reactivate",
                       data={"csrf_token": csrf_token(leader, "/")}).status_code == 303
    assert user(app, area["member1"]).active
    assert login(app.test_client(), "member1").status_code == 302


def test_reset_password_ends_sessions_and_checks_the_password(as_user, area, app):
    member_app = app.test_client()
    login(member_app, "member2", remember=True)
    assert member_app.get("/").status_code == 200
    staff = as_user("staff")
    token = csrf_token(staff, f"/members/{area['member2']}/password")
    weak = staff.post(f"/members/{area['member2']}/password", data={"csrf_token": token, "password": "matkhau123"})
    assert weak.status_code == 400 and "quá phổ biến" in weak.get_data(as_text=True)
    assert user(app, area["member2"]).session_version == 1
    done = staff.post(f"/members/{area['member2']}/password", data={"csrf_token": token, "password": NEW_PASSWORD})
    assert done.status_code == 303
    person = user(app, area["member2"])
    assert person.session_version == 2 and verify_password(person.password_hash, NEW_PASSWORD)
    assert member_app.get("/").status_code == 302
    assert login(app.test_client(), "member2", NEW_PASSWORD).status_code == 302


def test_leader_cannot_touch_another_team_or_another_leader(as_user, area, app):
    client = as_user("leader1")
    token = csrf_token(client, "/members/")
    for target in ("member2", "leader2", "leader1", "staff", "admin"):
        assert client.post(f"/members/{area[target]}/deactivate", data={"csrf_token": token}).status_code == 404
        assert client.post(f"/members/{area[target]}/password",
                           data={"csrf_token": token, "password": NEW_PASSWORD}).status_code == 404
    assert client.post(f"/members/{area['member1']}/move",
                       data={"csrf_token": token, "team_id": area["team2"]}).status_code == 404  # staff only
    for name in ("member2", "leader2", "leader1", "staff", "admin", "member1"):
        person = user(app, area[name])
        assert person.active and person.session_version == 1
    assert user(app, area["member1"]).team_id == area["team1"]


def test_staff_of_another_ward_get_404_and_nothing_changes(as_user, area, app):
    client = as_user("staff_other")
    token = csrf_token(client, "/members/")
    assert "Member1" not in client.get("/members/").get_data(as_text=True)
    assert client.post(f"/members/{area['member1']}/deactivate", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/members/{area['member1']}/password",
                       data={"csrf_token": token, "password": NEW_PASSWORD}).status_code == 404
    assert client.post(f"/members/{area['member1']}/move",
                       data={"csrf_token": token, "team_id": area["team2"]}).status_code == 404
    assert new_member(client, area).status_code == 404
    person = user(app, area["member1"])
    assert person.active and person.session_version == 1 and person.team_id == area["team1"]
    assert by_name(app, "member3") is None


def test_staff_move_a_member_within_their_ward_only(as_user, area, app):
    client = as_user("staff")
    token = csrf_token(client, "/members/")
    with app.app_context():
        from visits.models import Team
        other_team = Team(khu_pho_id=area["kp9"], name="Tổ 9")
        db.session.add(other_team)
        db.session.commit()
        other_team_id = other_team.id
    assert client.post(f"/members/{area['member1']}/move",
                       data={"csrf_token": token, "team_id": other_team_id}).status_code == 404
    assert user(app, area["member1"]).team_id == area["team1"]
    assert client.post(f"/members/{area['staff_other']}/move",
                       data={"csrf_token": token, "team_id": area["team1"]}).status_code == 404
    assert client.post(f"/members/{area['member1']}/move",
                       data={"csrf_token": token, "team_id": area["team2"]}).status_code == 303
    assert user(app, area["member1"]).team_id == area["team2"]
