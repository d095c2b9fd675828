"""Shaping a ward: staff their ward's khu phố, streets and teams, a leader their own khu phố's streets.

Every action is tried by those who may not (a member, a leader of another khu phố, staff of another ward):
404, and nothing in the ward changes. Forged forms (no CSRF token) change nothing either.
"""
import pytest
from sqlalchemy import select

from visits.extensions import db
from visits.models import HelpRequest, KhuPho, Street, Team, User, utcnow

from tests.fixtures import add_user, csrf_token, login


@pytest.fixture
def empty(app, area):
    """Things deleting may remove, so a refusal is seen for what it is: in KP1 an empty street and an
    empty team; in the ward an empty khu phố KP3 with an empty street and team."""
    with app.app_context():
        kp3 = KhuPho(ward_id=area["ward"], code="KP3", name="Khu phố 3")
        db.session.add(kp3)
        db.session.flush()
        rows = {"street": Street(khu_pho_id=area["kp1"], name="Ngõ Trống", position=3),
                "team": Team(khu_pho_id=area["kp1"], name="Tổ 1B"),
                "kp3_street": Street(khu_pho_id=kp3.id, name="Đường Mới", position=1),
                "kp3_team": Team(khu_pho_id=kp3.id, name="Tổ 3")}
        db.session.add_all(rows.values())
        db.session.commit()
        return {"kp3": kp3.id, **{name: row.id for name, row in rows.items()}}


def ward_state(app) -> dict:
    """Everything these pages may change, to compare before and after a refused action."""
    with app.app_context():
        return {
            "khu_pho": sorted((k.id, k.ward_id, k.code, k.name) for k in db.session.scalars(select(KhuPho))),
            "streets": sorted((s.id, s.khu_pho_id, s.name, s.position, s.member_id)
                              for s in db.session.scalars(select(Street))),
            "teams": sorted((t.id, t.khu_pho_id, t.name) for t in db.session.scalars(select(Team))),
        }


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **data})


def street(app, street_id) -> Street | None:
    with app.app_context():
        found = db.session.get(Street, street_id)
        if found is not None:
            db.session.expunge(found)
        return found


def other_ward_id(app, area) -> int:
    with app.app_context():
        return db.session.get(KhuPho, area["kp9"]).ward_id


def logged_in(app, username):
    """A client of its own, for a test that acts as more than one person."""
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def flashed(client, path) -> str:
    return client.get(path).get_data(as_text=True)


# --- Ways in ---------------------------------------------------------------------------------------------

def test_each_role_is_sent_to_its_part(app, area):
    assert logged_in(app, "staff").get("/manage/").headers["Location"].endswith(f"/manage/wards/{area['ward']}")
    assert logged_in(app, "leader1").get("/manage/").headers["Location"].endswith(f"/manage/khu-pho/{area['kp1']}")
    assert logged_in(app, "admin").get("/manage/").headers["Location"].endswith("/wards/")
    assert logged_in(app, "member1").get("/manage/").status_code == 404


def test_staff_see_their_wards_khu_pho_with_counts_and_links(as_user, area, app):
    client = as_user("staff")
    assert 'href="/manage/"' in client.get("/").get_data(as_text=True)  # from the staff home and the menu
    page = client.get(f"/manage/wards/{area['ward']}").get_data(as_text=True)
    assert "Khu phố 1" in page and "Khu phố 2" in page and "Khu phố 9" not in page
    assert "2 đường · 5 hộ · 1 tổ" in page
    assert client.get(f"/manage/wards/{other_ward_id(app, area)}").status_code == 404
    khu_pho_page = client.get(f"/khu-pho/{area['kp1']}").get_data(as_text=True)
    assert f'href="/manage/khu-pho/{area["kp1"]}"' in khu_pho_page


def test_admin_shapes_any_ward(as_user, area, app):
    client = as_user("admin")
    other_ward = other_ward_id(app, area)
    assert "Khu phố 9" in client.get(f"/manage/wards/{other_ward}").get_data(as_text=True)
    assert post(client, f"/manage/wards/{other_ward}/khu-pho", code="KP10", name="Khu phố 10").status_code == 303
    assert post(client, f"/manage/khu-pho/{area['kp9']}/teams", name="Tổ 9").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(KhuPho.ward_id).where(KhuPho.code == "KP10")) == other_ward
        assert db.session.scalar(select(Team.khu_pho_id).where(Team.name == "Tổ 9")) == area["kp9"]


def test_leader_sees_only_the_streets_of_their_khu_pho(as_user, area):
    client = as_user("leader1")
    assert f'href="/manage/khu-pho/{area["kp1"]}"' in client.get("/team/").get_data(as_text=True)
    page = client.get(f"/manage/khu-pho/{area['kp1']}").get_data(as_text=True)
    assert "Nguyễn Trãi" in page and "Thêm đường" in page
    assert "Tạo tổ" not in page and "Xóa khu phố này" not in page
    assert client.get(f"/manage/khu-pho/{area['kp2']}").status_code == 404


# --- Khu phố ----------------------------------------------------------------------------------------------

def test_staff_create_rename_and_recode_a_khu_pho(as_user, area, app):
    client = as_user("staff")
    created = post(client, f"/manage/wards/{area['ward']}/khu-pho", code="KP4", name="Khu phố  4")
    assert created.status_code == 303
    with app.app_context():
        place = db.session.scalar(select(KhuPho).where(KhuPho.code == "KP4"))
        assert place.ward_id == area["ward"] and place.name == "Khu phố 4"
        place_id = place.id
    assert created.headers["Location"].endswith(f"/manage/khu-pho/{place_id}")
    same_code_elsewhere = post(client, f"/manage/wards/{area['ward']}/khu-pho", code="KP9", name="Khu phố 9 mới")
    assert same_code_elsewhere.status_code == 303  # KP9 is another ward's code
    edited = post(client, f"/manage/khu-pho/{place_id}", code="KP04", name="Khu phố Bốn")
    assert edited.status_code == 303
    with app.app_context():
        assert (db.session.get(KhuPho, place_id).code, db.session.get(KhuPho, place_id).name) == ("KP04", "Khu phố Bốn")


def test_khu_pho_input_is_checked_and_nothing_is_written(as_user, area, app):
    client = as_user("staff")
    before = ward_state(app)
    taken = post(client, f"/manage/wards/{area['ward']}/khu-pho", code="KP2", name="Khu phố Hai B")
    assert taken.status_code == 400 and "Phường đã có khu phố mã này" in taken.get_data(as_text=True)
    assert 'value="Khu phố Hai B"' in taken.get_data(as_text=True)
    empty_name = post(client, f"/manage/wards/{area['ward']}/khu-pho", code="KP5", name=" ")
    assert empty_name.status_code == 400 and "Hãy nhập tên khu phố" in empty_name.get_data(as_text=True)
    recode = post(client, f"/manage/khu-pho/{area['kp1']}", code="KP2", name="Khu phố 1")
    assert recode.status_code == 400 and "Phường đã có khu phố mã này" in recode.get_data(as_text=True)
    assert ward_state(app) == before


def test_a_khu_pho_with_households_or_people_is_not_deleted(as_user, area, app, empty):
    client = as_user("staff")
    before = ward_state(app)
    refused = post(client, f"/manage/khu-pho/{area['kp1']}/delete", confirm="y")
    assert refused.status_code == 303
    assert "Không xóa được Khu phố 1: khu phố còn 5 hộ" in flashed(client, refused.headers["Location"])
    with app.app_context():
        add_user("member3", "member", db.session.get(Team, empty["kp3_team"]))
        db.session.commit()
    people = post(client, f"/manage/khu-pho/{empty['kp3']}/delete", confirm="y")
    assert "còn 1 thành viên" in flashed(client, people.headers["Location"])
    assert ward_state(app) == before


def test_an_empty_khu_pho_is_deleted_with_its_empty_streets_and_teams(as_user, area, app, empty):
    client = as_user("staff")
    before = ward_state(app)
    unticked = post(client, f"/manage/khu-pho/{empty['kp3']}/delete")
    assert "Chưa xóa Khu phố 3: hãy đánh dấu ô xác nhận" in flashed(client, unticked.headers["Location"])
    assert ward_state(app) == before
    done = post(client, f"/manage/khu-pho/{empty['kp3']}/delete", confirm="y")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/manage/wards/{area['ward']}")
    assert "Đã xóa Khu phố 3" in flashed(client, done.headers["Location"])
    with app.app_context():
        assert db.session.get(KhuPho, empty["kp3"]) is None
        assert db.session.get(Street, empty["kp3_street"]) is None and db.session.get(Team, empty["kp3_team"]) is None


def test_a_khu_pho_other_records_name_is_kept(as_user, area, app, empty):
    """A help request names the khu phố: the foreign key refuses, on both databases, and nothing is lost."""
    with app.app_context():
        db.session.add(HelpRequest(khu_pho_id=empty["kp3"], address="5 Đường Mới", need="vneid",
                                   consent_at=utcnow()))
        db.session.commit()
    client = as_user("staff")
    before = ward_state(app)
    refused = post(client, f"/manage/khu-pho/{empty['kp3']}/delete", confirm="y")
    assert "đã có dữ liệu khác" in flashed(client, refused.headers["Location"])
    assert ward_state(app) == before


# --- Streets ----------------------------------------------------------------------------------------------

def test_staff_and_the_leader_add_streets_at_the_end_of_the_round(as_user, area, app):
    staff = as_user("staff")
    assert post(staff, f"/manage/khu-pho/{area['kp2']}/streets", name="Ngõ 3 Hạ Long").status_code == 303
    leader = logged_in(app, "leader1")
    assert post(leader, f"/manage/khu-pho/{area['kp1']}/streets", name="Trần Hưng Đạo").status_code == 303
    with app.app_context():
        added = {s.name: (s.khu_pho_id, s.position) for s in db.session.scalars(
            select(Street).where(Street.name.in_(["Ngõ 3 Hạ Long", "Trần Hưng Đạo"])))}
    assert added == {"Ngõ 3 Hạ Long": (area["kp2"], 2), "Trần Hưng Đạo": (area["kp1"], 3)}


def test_a_street_the_khu_pho_has_is_refused(as_user, area, app):
    client = as_user("staff")
    before = ward_state(app)
    same = post(client, f"/manage/khu-pho/{area['kp1']}/streets", name="đường nguyễn trãi")
    assert same.status_code == 400 and "Khu phố đã có đường này" in same.get_data(as_text=True)
    assert 'value="đường nguyễn trãi"' in same.get_data(as_text=True)
    rename = post(client, f"/manage/streets/{area['le_loi']}", name="Nguyễn Trãi")
    assert rename.status_code == 400 and "Khu phố đã có đường này" in rename.get_data(as_text=True)
    assert post(client, f"/manage/streets/{area['le_loi']}", name="").status_code == 400
    assert ward_state(app) == before


def test_renaming_a_street_keeps_its_households_findable(as_user, area, app):
    client = as_user("staff")
    assert post(client, f"/manage/streets/{area['nguyen_trai']}", name="Lý Thường Kiệt").status_code == 303
    assert street(app, area["nguyen_trai"]).name == "Lý Thường Kiệt"
    found = post(client, "/search", q="ly thuong kiet 12").get_data(as_text=True)  # words in a POST body
    assert "Nguyễn Văn An" in found


def test_moving_a_street_up_and_down_the_round(as_user, area, app, empty):
    client = as_user("leader1")
    order = lambda: [s for _kp, s in sorted((street(app, i).position, i) for i in  # noqa: E731
                                            (area["nguyen_trai"], area["le_loi"], empty["street"]))]
    assert order() == [area["nguyen_trai"], area["le_loi"], empty["street"]]
    assert post(client, f"/manage/streets/{empty['street']}/move", direction="up").status_code == 303
    assert order() == [area["nguyen_trai"], empty["street"], area["le_loi"]]
    assert post(client, f"/manage/streets/{area['nguyen_trai']}/move", direction="down").status_code == 303
    assert order() == [empty["street"], area["nguyen_trai"], area["le_loi"]]
    post(client, f"/manage/streets/{empty['street']}/move", direction="up")  # already first: stays
    assert order() == [empty["street"], area["nguyen_trai"], area["le_loi"]]
    assert post(client, f"/manage/streets/{empty['street']}/move", direction="sideways").status_code == 400


def test_staff_give_a_street_to_a_member_who_then_walks_it(as_user, area, app, client):
    staff = as_user("staff")
    response = post(staff, f"/manage/streets/{area['le_loi']}/assign", member_id=area["member1"])
    assert response.status_code == 303
    assert street(app, area["le_loi"]).member_id == area["member1"]
    assert "Đã giao Lê Lợi cho Member1" in flashed(staff, response.headers["Location"])
    mine = logged_in(app, "member1").get("/").get_data(as_text=True)
    assert "Lê Lợi" in mine and "Nguyễn Trãi" in mine
    assert "Các đường khác" not in mine  # both streets of KP1 are now theirs


def test_a_street_goes_only_to_someone_of_its_khu_pho(as_user, area, app):
    client = as_user("staff")
    before = ward_state(app)
    for outsider in ("member2", "staff", "admin", "staff_other"):
        assert post(client, f"/manage/streets/{area['le_loi']}/assign",
                    member_id=area[outsider]).status_code == 404
    assert post(client, f"/manage/streets/{area['le_loi']}/assign", member_id="abc").status_code == 400
    assert ward_state(app) == before
    assert post(client, f"/manage/streets/{area['le_loi']}/assign", member_id="").status_code == 303
    assert street(app, area["le_loi"]).member_id is None


def test_leader_gives_streets_of_their_own_khu_pho(as_user, area, app):
    client = as_user("leader1")
    assert post(client, f"/manage/streets/{area['le_loi']}/assign", member_id=area["leader1"]).status_code == 303
    assert street(app, area["le_loi"]).member_id == area["leader1"]


def test_a_street_with_households_is_not_deleted_an_empty_one_is(as_user, area, app, empty):
    client = as_user("leader1")
    before = ward_state(app)
    refused = post(client, f"/manage/streets/{area['nguyen_trai']}/delete")
    assert "Không xóa được Nguyễn Trãi: đường còn 4 hộ" in flashed(client, refused.headers["Location"])
    assert ward_state(app) == before
    done = post(client, f"/manage/streets/{empty['street']}/delete")
    assert done.status_code == 303 and "Đã xóa Ngõ Trống" in flashed(client, done.headers["Location"])
    assert street(app, empty["street"]) is None


# --- Teams ------------------------------------------------------------------------------------------------

def test_staff_add_a_second_team_to_a_khu_pho_and_its_members_walk_there(as_user, area, app, client):
    staff = as_user("staff")
    assert post(staff, f"/manage/khu-pho/{area['kp1']}/teams", name="Tổ 1 — nhóm hai").status_code == 303
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.name == "Tổ 1 — nhóm hai"))
        assert team.khu_pho_id == area["kp1"]
        team_id = team.id
    assert "Tổ 1 — nhóm hai" in staff.get("/members/").get_data(as_text=True)
    created = post(staff, "/members/new", username="member1c", full_name="Ngô Văn Chín", role="member",
                   team_id=team_id, password="Ha-Long-bay-2024")
    assert created.status_code == 303
    with app.app_context():
        new_id = db.session.scalar(select(User.id).where(User.username == "member1c"))
    assert post(staff, f"/manage/streets/{area['le_loi']}/assign", member_id=new_id).status_code == 303
    assert street(app, area["le_loi"]).member_id == new_id


def test_staff_rename_a_team_and_delete_only_an_empty_one(as_user, area, app, empty):
    client = as_user("staff")
    assert post(client, f"/manage/teams/{area['team1']}", name="Tổ CNSCĐ khu phố 1").status_code == 303
    with app.app_context():
        assert db.session.get(Team, area["team1"]).name == "Tổ CNSCĐ khu phố 1"
    empty_name = post(client, f"/manage/teams/{area['team1']}", name="")
    assert empty_name.status_code == 400 and "Hãy nhập tên tổ" in empty_name.get_data(as_text=True)
    before = ward_state(app)
    refused = post(client, f"/manage/teams/{area['team1']}/delete")
    assert "Không xóa được Tổ CNSCĐ khu phố 1: tổ còn 3 thành viên" in flashed(client, refused.headers["Location"])
    assert ward_state(app) == before
    done = post(client, f"/manage/teams/{empty['team']}/delete")
    assert "Đã xóa Tổ 1B" in flashed(client, done.headers["Location"])
    with app.app_context():
        assert db.session.get(Team, empty["team"]) is None


# --- Who may not -----------------------------------------------------------------------------------------

def actions(area, empty) -> dict:
    """Every action, as (path, form) on KP1 of ward W1; each would change the ward if it were allowed."""
    return {
        "create khu phố": (f"/manage/wards/{area['ward']}/khu-pho", {"code": "KP7", "name": "Khu phố 7"}),
        "edit khu phố": (f"/manage/khu-pho/{area['kp1']}", {"code": "KP01", "name": "Khu phố Một"}),
        "delete khu phố": (f"/manage/khu-pho/{empty['kp3']}/delete", {"confirm": "y"}),
        "create street": (f"/manage/khu-pho/{area['kp1']}/streets", {"name": "Đường Lạ"}),
        "rename street": (f"/manage/streets/{area['nguyen_trai']}", {"name": "Đường Lạ"}),
        "move street": (f"/manage/streets/{area['le_loi']}/move", {"direction": "up"}),
        "assign street": (f"/manage/streets/{area['le_loi']}/assign", {"member_id": area["member1"]}),
        "unassign street": (f"/manage/streets/{area['le_loi']}/assign", {"member_id": ""}),
        "delete street": (f"/manage/streets/{empty['street']}/delete", {}),
        "create team": (f"/manage/khu-pho/{area['kp1']}/teams", {"name": "Tổ Lạ"}),
        "rename team": (f"/manage/teams/{area['team1']}", {"name": "Tổ Lạ"}),
        "delete team": (f"/manage/teams/{empty['team']}/delete", {}),
    }


STREET_ACTIONS = {"create street", "rename street", "move street", "assign street", "unassign street",
                  "delete street"}


@pytest.mark.parametrize("username", ["member1", "leader2", "staff_other"])
def test_outsiders_get_404_and_nothing_changes(as_user, area, app, empty, username):
    client = as_user(username)
    before = ward_state(app)
    for name, (path, data) in actions(area, empty).items():
        assert post(client, path, **data).status_code == 404, (username, name)
    assert client.get(f"/manage/khu-pho/{area['kp1']}").status_code == 404
    assert client.get(f"/manage/wards/{area['ward']}").status_code == 404
    assert ward_state(app) == before


def test_a_leader_shapes_no_khu_pho_and_no_team_even_their_own(as_user, area, app, empty):
    client = as_user("leader1")
    before = ward_state(app)
    for name, (path, data) in actions(area, empty).items():
        if name not in STREET_ACTIONS:
            assert post(client, path, **data).status_code == 404, name
    assert ward_state(app) == before


def test_forged_forms_change_nothing(as_user, area, app, empty):
    client = as_user("staff")
    before = ward_state(app)
    for name, (path, data) in actions(area, empty).items():
        assert client.post(path, data=data).status_code == 400, name
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 400, name
    assert ward_state(app) == before


def test_ids_that_do_not_exist_are_404(as_user, area):
    client = as_user("admin")
    for path in ("/manage/khu-pho/999999", "/manage/wards/999999"):
        assert client.get(path).status_code == 404
    for path in ("/manage/streets/999999", "/manage/teams/999999", "/manage/streets/999999/delete"):
        assert post(client, path, name="x").status_code == 404

