"""The monthly report and the trend charts, on the small ward with its roster dated January 2024 and visits
placed in given months; every figure below is counted by hand."""
import re
import uuid
from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from visits.checklist import plan_items, plan_rules
from visits.extensions import db
from visits.models import (Change, GroupSession, Household, MonthlyReport, NewsStory, Resident, TrainingCompletion,
                           User, Visit, utcnow)
from visits.recording import VisitInput, record_visit

from tests.fixtures import csrf_token

ROSTER_AT = datetime(2024, 1, 15, 2, 0)


@pytest.fixture
def ward(app, area):
    """The area as if its household list and team had been entered in January 2024."""
    with app.app_context():
        for model in (Change, Household, Resident, User):
            column = model.recorded_at if model is Change else model.created_at
            db.session.execute(update(model).values({column.key: ROSTER_AT}))
        db.session.commit()
    return area


def visit_at(app, area, household, when: datetime, answers=(), member="member1", outcome="met") -> str:
    """Record a visit made at a given UTC time (received now); returns its UUID."""
    with app.app_context():
        visit_uuid = str(uuid.uuid4())
        record_visit(db.session.get(User, area[member]), db.session.get(Household, area[household]),
                     VisitInput(uuid=visit_uuid, recorded_at=when, outcome=outcome, answers=list(answers)),
                     plan_items(), plan_rules())
        db.session.commit()
        return visit_uuid


def month_fixture(app, area):
    """Visits, training, sessions and news around March 2024 (times in UTC; Vietnam is 7 hours ahead)."""
    visit_at(app, area, "h_hl", datetime(2024, 2, 20, 3), [(area["lan"], "epay", "done")], member="member2")
    visit_at(app, area, "h12", datetime(2024, 3, 10, 3), [(area["cuong"], "dx_informed", "done"),
                                                          (area["an"], "sim4g", "declined"),
                                                          (area["binh"], "vneid", "done")])
    visit_at(app, area, "h2", datetime(2024, 3, 15, 9), outcome="nobody_home")
    # 17:30 UTC on 31 March is 00:30 on 1 April in Vietnam: April's.
    visit_at(app, area, "h2a", datetime(2024, 3, 31, 17, 30), [(None, "ecommerce_guide", "done")])
    with app.app_context():
        db.session.add_all([
            TrainingCompletion(user_id=area["member1"], course="OneTouch", completed_on=date(2024, 3, 10)),
            TrainingCompletion(user_id=area["member1b"], course="OneTouch", completed_on=date(2024, 4, 2)),
            GroupSession(khu_pho_id=area["kp1"], held_on=date(2024, 3, 5), kind="hop_to_dan_pho", topic="CĐS"),
            GroupSession(khu_pho_id=area["kp2"], held_on=date(2024, 4, 1), kind="hop_to_dan_pho", topic="CĐS"),
            NewsStory(ward_id=area["ward"], khu_pho_id=None, title="Phường ra quân", posted_on=date(2024, 3, 20)),
            NewsStory(ward_id=area["ward"], khu_pho_id=area["kp1"], title="KP1 hướng dẫn VNeID",
                      posted_on=date(2024, 3, 25)),
        ])
        db.session.commit()


def activity_rows(page: str) -> dict[str, list[str]]:
    table = re.search(r'<table class="table report-activity">(.*?)</table>', page, re.S).group(1)
    return {name: re.findall(r"<td>(\d+)</td>", cells)
            for name, cells in re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', table, re.S)}


def target_cell(page: str, row_label: str, number: int) -> str:
    table = re.search(r'<table class="table dashboard">(.*?)</table>', page, re.S).group(1)
    row = re.search(rf'<tr><th scope="row">{re.escape(row_label)}</th>(.*?)</tr>', table, re.S).group(1)
    cells = re.findall(r'<td class="cell[^"]*"[^>]*>(.*?)</td>', row, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", cells[number - 1]).split())


def send(client, month: str, token: str | None = "fetch"):
    data = {} if token is None else {"csrf_token": csrf_token(client, f"/reports/?month={month}")}
    return client.post(f"/reports/{month}/send", data=data)


def test_a_months_report_counts_only_that_months_activity_by_hand(as_user, ward, app):
    month_fixture(app, ward)
    client = as_user("staff")
    page = client.get("/reports/?month=2024-03").get_data(as_text=True)
    assert "Nháp" in page
    # members, trained, visits, late, households met, residents helped, sessions, news
    assert activity_rows(page) == {
        "Khu phố 1": ["3", "1", "2", "0", "1", "2", "1", "1"],  # h12 met, h2 nobody home; Cường and Bình helped
        "Khu phố 2": ["2", "0", "0", "0", "0", "0", "0", "0"],  # Lan's visit was in February
        "Toàn phường": ["5", "1", "2", "0", "1", "2", "1", "2"],  # the ward-wide story counts only here
    }
    assert target_cell(page, "Khu phố 1", 7) == "14% 1/7"  # Cường informed, of 7 residents
    assert target_cell(page, "Khu phố 1", 3).startswith("100% 1/1")  # An, the only 2G user, persuaded
    assert target_cell(page, "Khu phố 1", 2).startswith("0% 0/5")  # 2A's e-commerce guide came in April
    assert target_cell(page, "Khu phố 2", 5).startswith("100% 1/1")  # Lan's e-payment account: February counts
    assert target_cell(page, "Khu phố 1", 9).startswith("33% 1/3")  # member1 trained in March
    april = client.get("/reports/?month=2024-04").get_data(as_text=True)
    assert activity_rows(april)["Khu phố 1"] == ["3", "2", "1", "0", "1", "0", "0", "0"]
    assert activity_rows(april)["Khu phố 2"][6] == "1"  # KP2's session of 1 April
    assert target_cell(april, "Khu phố 1", 2).startswith("20% 1/5")


def test_sent_report_is_frozen_and_late_visits_count_next_month(as_user, ward, app):
    month_fixture(app, ward)
    client = as_user("staff")
    assert send(client, "2024-03").status_code == 303
    with app.app_context():
        report = db.session.query(MonthlyReport).one()
        assert (report.month, report.status, report.sent_by_id) == ("2024-03", "da_gui", ward["staff"])
        assert report.sent_at is not None
        frozen = report.figures
    # A March visit synced after the report was sent: March stays as sent, April counts it as late.
    late = visit_at(app, ward, "h10", datetime(2024, 3, 20, 3), [(None, "ecommerce_guide", "done")])
    with app.app_context():
        db.session.execute(update(Visit).where(Visit.uuid == late).values(received_at=report.sent_at
                                                                           + timedelta(seconds=1)))
        db.session.commit()
    march = client.get("/reports/?month=2024-03").get_data(as_text=True)
    assert "Đã gửi" in march and "Staff" in march
    assert activity_rows(march)["Khu phố 1"][2] == "2"
    assert target_cell(march, "Khu phố 1", 2).startswith("0% 0/5")
    with app.app_context():
        assert db.session.query(MonthlyReport).one().figures == frozen
    april = client.get("/reports/?month=2024-04").get_data(as_text=True)
    assert activity_rows(april)["Khu phố 1"][2:4] == ["2", "1"]  # 2A in April, and 10/3 from March, late
    assert activity_rows(april)["Toàn phường"][3] == "1"
    assert target_cell(april, "Khu phố 1", 2).startswith("40% 2/5")
    # Sending again changes nothing.
    assert send(client, "2024-03").status_code == 303
    with app.app_context():
        assert db.session.query(MonthlyReport).one().figures == frozen
    assert "đã được gửi trước đó" in client.get("/reports/?month=2024-03").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    leader = as_user("leader1")
    sent = leader.get("/reports/?month=2024-03").get_data(as_text=True)
    assert "Đã gửi" in sent and list(activity_rows(sent)) == ["Khu phố 1"]
    leader.post("/logout", data={"csrf_token": csrf_token(leader, "/")})
    admin = as_user("admin")
    page = admin.get(f"/reports/?month=2024-03&ward={ward['ward']}").get_data(as_text=True)
    assert "Đã gửi" in page and "Gửi báo cáo" not in page
    assert send(admin, "2024-04").status_code == 404


def test_sending_needs_the_csrf_token_staff_and_a_month_that_is_over(as_user, ward, app):
    client = as_user("staff")
    assert send(client, "2024-03", token=None).status_code == 400
    this_month = (utcnow() + timedelta(hours=7)).strftime("%Y-%m")
    assert send(client, this_month).status_code == 303
    assert "chưa kết thúc" in client.get(f"/reports/?month={this_month}").get_data(as_text=True)
    with app.app_context():
        assert db.session.query(MonthlyReport).count() == 0
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    leader = as_user("leader1")
    assert send(leader, "2024-03").status_code == 404
    with app.app_context():
        assert db.session.query(MonthlyReport).count() == 0


def test_members_reach_none_of_it_and_leaders_only_their_khu_pho(as_user, ward, app):
    month_fixture(app, ward)
    member = as_user("member1")
    for path in ("/reports/", "/reports/?month=2024-03", "/reports/2024-03.xlsx", "/dashboard/trend",
                 f"/dashboard/trend?khu_pho={ward['kp1']}"):
        assert member.get(path).status_code == 404, path
    token = csrf_token(member, "/")
    assert member.post("/reports/2024-03/send", data={"csrf_token": token}).status_code == 404
    member.post("/logout", data={"csrf_token": token})
    leader = as_user("leader1")
    page = leader.get("/reports/?month=2024-03").get_data(as_text=True)
    assert list(activity_rows(page)) == ["Khu phố 1"]
    assert "Gửi báo cáo" not in page
    assert leader.get(f"/dashboard/trend?khu_pho={ward['kp2']}").status_code == 404
    assert leader.get("/reports/?month=junk").status_code == 404
    book = load_workbook(BytesIO(leader.get("/reports/2024-03.xlsx").data))
    names = [row[1] for row in book["Báo cáo"].iter_rows(min_row=13, values_only=True) if row[1]]
    assert names[0] == "Khu phố 1" and "Khu phố 2" not in names


def test_other_wards_staff_see_their_own_ward(as_user, ward, app):
    month_fixture(app, ward)
    page = as_user("staff_other").get("/reports/?month=2024-03").get_data(as_text=True)
    assert list(activity_rows(page)) == ["Khu phố 9", "Toàn phường"]


def test_the_xlsx_holds_the_report_formatted(as_user, ward, app):
    month_fixture(app, ward)
    client = as_user("staff")
    send(client, "2024-03")
    response = client.get("/reports/2024-03.xlsx")
    assert response.status_code == 200
    assert "bao-cao-to-cnscd-2024-03.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(BytesIO(response.data))
    sheet = book["Báo cáo"]
    assert sheet["A1"].value == "UBND PHƯỜNG HỒNG GAI"
    assert sheet["A6"].value == "Kết quả hoạt động của Tổ công nghệ số cộng đồng tháng 03 năm 2024"
    assert sheet["A8"].value.startswith("Trạng thái: Đã gửi")
    assert "C10:D10" in {str(r) for r in sheet.merged_cells.ranges}  # "Thành viên Tổ CNSCĐ" over two columns
    assert sheet["C10"].value == "Thành viên Tổ CNSCĐ" and sheet["E10"].value == "Kết quả hoạt động trong tháng"
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=13, max_row=15)}
    kp1 = rows["Khu phố 1"]
    assert [c.value for c in kp1[2:10]] == [3, 1, 2, 0, 1, 2, 1, 1]
    seven = kp1[10 + 6]  # targets start in column K
    assert seven.value == pytest.approx(1 / 7) and seven.number_format == "0.0%"
    assert [c.value for c in rows["Toàn phường"][2:10]] == [5, 1, 2, 0, 1, 2, 1, 2]
    assert sheet.freeze_panes == "C13"
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$10:$12"
    assert sheet.column_dimensions["B"].width == 16
    assert any(str(c.value).startswith("Staff") for row in sheet.iter_rows(min_row=16) for c in row if c.value)
    details = book["Chi tiết chỉ tiêu"]
    kp1_details = next(r for r in details.iter_rows(min_row=5, values_only=True) if r[1] == "Khu phố 1")
    assert kp1_details[2 + 3 * 6:2 + 3 * 6 + 2] == (1, 7)  # target 7: numerator, denominator


def chart_points(page: str, number: int) -> list[tuple[str, int, int]]:
    figure = re.search(rf'<figure class="trend" data-target="{number}">(.*?)</figure>', page, re.S).group(1)
    return [(m, int(n), int(d)) for m, n, d in
            re.findall(r'<circle class="point"[^>]*data-month="([\d-]+)" data-num="(\d+)" data-den="(\d+)"', figure)]


def test_trend_chart_has_one_point_per_month_with_its_values(as_user, ward, app):
    month_fixture(app, ward)
    client = as_user("staff")
    page = client.get("/dashboard/trend").get_data(as_text=True)
    assert "<svg" in page and "<script" not in page.split('id="trends"')[1].split("</section>")[0]
    months = [f"2024-{m:02d}" for m in range(1, 13)]  # the plan's year, over by now
    seven = chart_points(page, 7)
    assert [m for m, _n, _d in seven] == months
    assert [n for _m, n, _d in seven] == [0, 0, 1] + [1] * 9  # Cường informed in March
    assert {d for _m, _n, d in seven} == {8}  # the ward's residents
    assert [n for _m, n, _d in chart_points(page, 2)] == [0, 0, 0] + [1] * 9  # 2A guided on 1 April (Vietnam)
    assert [(n, d) for _m, n, d in chart_points(page, 9)][1:4] == [(0, 5), (1, 5), (2, 5)]
    kp2 = client.get(f"/dashboard/trend?khu_pho={ward['kp2']}", headers={"HX-Request": "true"})
    fragment = kp2.get_data(as_text=True)
    assert "<html" not in fragment and "Khu phố 2" in fragment
    assert [n for _m, n, _d in chart_points(fragment, 5)] == [0] + [1] * 11  # Lan, February


def test_khu_pho_dashboard_shows_target_9(as_user, ward, app):
    month_fixture(app, ward)
    page = as_user("leader1").get(f"/dashboard/khu-pho/{ward['kp1']}").get_data(as_text=True)
    total = re.search(r"<tfoot>(.*?)</tfoot>", page, re.S).group(1)
    ninth = re.findall(r'<td class="cell[^"]*"[^>]*>(.*?)</td>', total, re.S)[8]
    assert " ".join(re.sub(r"<[^>]+>", " ", ninth).split()).startswith("67% 2/3")
    assert 'hx-get="/dashboard/trend?khu_pho=' in page
