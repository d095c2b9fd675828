"""The training register (target 9) and its cell on the dashboard, with numbers counted by hand."""
from datetime import date

from visits.extensions import db
from visits.models import TrainingCompletion, User

from tests.fixtures import csrf_token
from tests.http.test_dashboard import cell

COURSE = "Kỹ năng số cơ bản — nền tảng OneTouch"


def record(client, member_id, completed_on="2024-06-15", **fields):
    data = {"csrf_token": csrf_token(client, "/training/"), "user_id": member_id, "course": COURSE,
            "completed_on": completed_on, "certificate": ""}
    data.update(fields)
    return client.post("/training/", data=data)


def completions(app) -> list[tuple[int, date, str, int]]:
    with app.app_context():
        return [(c.user_id, c.completed_on, c.certificate, c.recorded_by_id)
                for c in db.session.query(TrainingCompletion).order_by(TrainingCompletion.id)]


def test_register_shows_the_deadline_and_default_course(as_user, area):
    page = as_user("staff").get("/training/").get_data(as_text=True)
    assert "Hạn hoàn thành: 30/06/2024" in page
    assert f'value="{COURSE}"' in page
    assert "Member1" in page and "Leader2" in page and "Đã hoàn thành: 0/5" in page


def test_staff_record_and_late_ones_are_marked(as_user, area, app):
    client = as_user("staff")
    assert record(client, area["member1"], "2024-06-30", certificate="OT-2024-001").status_code == 303
    assert record(client, area["member2"], "2024-07-01").status_code == 303
    assert completions(app) == [(area["member1"], date(2024, 6, 30), "OT-2024-001", area["staff"]),
                                (area["member2"], date(2024, 7, 1), "", area["staff"])]
    page = client.get("/training/").get_data(as_text=True)
    assert "OT-2024-001" in page and "Đã hoàn thành: 2/5" in page
    late_row = [row for row in page.split("<tr") if "01/07/2024" in row][0]
    assert "muộn" in late_row
    on_time_row = [row for row in page.split("<tr") if "OT-2024-001" in row][0]
    assert "muộn" not in on_time_row


def test_leader_records_for_their_team_only(as_user, area, app):
    client = as_user("leader1")
    page = client.get("/training/").get_data(as_text=True)
    assert "Member1" in page and "Member2" not in page
    assert record(client, area["member2"]).status_code == 404
    assert record(client, area["staff"]).status_code == 404
    assert record(client, area["leader1"]).status_code == 303  # a leader is a member of the team too
    assert completions(app) == [(area["leader1"], date(2024, 6, 15), "", area["leader1"])]


def test_refusals_write_nothing(as_user, area, app):
    member = as_user("member1")
    assert member.get("/training/").status_code == 404
    assert record(member, area["member1"]).status_code == 404
    member.post("/logout", data={"csrf_token": csrf_token(member, "/")})
    other = as_user("staff_other")
    assert record(other, area["member1"]).status_code == 404
    other.post("/logout", data={"csrf_token": csrf_token(other, "/")})
    staff = as_user("staff")
    assert staff.post("/training/", data={"user_id": area["member1"], "course": COURSE,
                                          "completed_on": "2024-06-15"}).status_code == 400  # no CSRF token
    assert record(staff, area["member1"], "").status_code == 400
    bad_day = record(staff, area["member1"], "31/02/2024")
    assert bad_day.status_code == 400 and "Ngày không hợp lệ" in bad_day.get_data(as_text=True)
    assert "Not a valid" not in bad_day.get_data(as_text=True)
    assert record(staff, area["member1"], "2999-01-01").status_code == 400
    assert record(staff, area["member1"], course="").status_code == 400
    assert completions(app) == []


def test_target_9_on_the_dashboard_by_hand(as_user, area, app):
    # KP1's team: member1, member1b, leader1; KP2's: member2, leader2. member1b finished but is deactivated,
    # so KP1 counts member1 of {member1, leader1}; leader2 finished twice and counts once.
    client = as_user("staff")
    page = client.get("/dashboard/").get_data(as_text=True)
    assert cell(page, "Khu phố 1", 9).startswith("0% 0/3") and cell(page, "Toàn phường", 9).startswith("0% 0/5")
    for name, day in [("member1", "2024-05-02"), ("member1b", "2024-05-03"), ("leader2", "2024-06-01"),
                      ("leader2", "2024-08-01")]:
        assert record(client, area[name], day).status_code == 303
    with app.app_context():
        db.session.get(User, area["member1b"]).active = False
        db.session.commit()
    page = client.get("/dashboard/").get_data(as_text=True)
    assert cell(page, "Khu phố 1", 9).startswith("50% 1/2")
    assert cell(page, "Khu phố 2", 9).startswith("50% 1/2")
    assert cell(page, "Toàn phường", 9).startswith("50% 2/4")
    assert cell(page, "Khu phố 1", 7).startswith("0% 0/7")  # other targets unchanged
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    leader_page = as_user("leader1").get("/dashboard/").get_data(as_text=True)
    assert cell(leader_page, "Khu phố 1", 9).startswith("50% 1/2") and "Khu phố 2" not in leader_page
