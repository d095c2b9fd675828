"""The dashboard shows numbers computed by hand for the small ward, and only to those who may see them."""
import re
import uuid
from datetime import timedelta

from visits import counters
from visits.checklist import active_plan
from visits.extensions import db
from visits.models import Household, User, utcnow
from visits.recording import VisitInput, record_visit
from visits.checklist import plan_items, plan_rules

from tests.fixtures import csrf_token


def visit(app, area, household, answers, member="member1"):
    with app.app_context():
        record_visit(db.session.get(User, area[member]), db.session.get(Household, area[household]),
                     VisitInput(uuid=str(uuid.uuid4()), recorded_at=utcnow() + timedelta(minutes=1), outcome="met",
                                answers=answers), plan_items(), plan_rules())
        db.session.commit()


def cell(page, row_label, target):
    """The text of the dashboard cell for a row and a target number."""
    row = re.search(rf"<tr><th scope=\"row\">(?:<a [^>]*>)?{re.escape(row_label)}(?:</a>)?</th>(.*?)</tr>", page, re.S)
    assert row, f"no row {row_label}"
    cells = re.findall(r'<td class="cell[^"]*"[^>]*>(.*?)</td>', row.group(1), re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", cells[target - 1]).split())


def test_ward_dashboard_counts_by_hand(as_user, area, app):
    # KP1 roster: h12 (An 1960 basic 2g, Bình 1965 smart, Cường 2000 smart), h2 (Dung 1980 smart, business),
    # h2a (Em 1950 none), h10 (Gấm 1990 smart), Lê Lợi 5 (Hải 1970 smart). KP2: Lan 1985 smart.
    visit(app, area, "h12", [(area["cuong"], "dx_informed", "done"), (area["an"], "sim4g", "declined"),
                             (None, "ecommerce_guide", "done"), (area["cuong"], "epay_helper", "done")])
    visit(app, area, "h2", [(area["dung"], "dx_informed", "later"), (None, "business_epay", "had")])
    page = as_user("staff").get("/dashboard/").get_data(as_text=True)
    assert cell(page, "Khu phố 1", 7) == "14% 1/7"  # 7 residents in KP1, Cường informed; Dung only "later"
    assert cell(page, "Khu phố 1", 3).startswith("100% 1/1")  # An: the only 2G user, persuaded (declined counts)
    assert cell(page, "Khu phố 1", 2).startswith("20% 1/5")  # 5 households in KP1, one guided on e-commerce
    assert cell(page, "Khu phố 1", 6).startswith("20% 1/5")  # phấn đấu: Cường (24) helps h12
    assert cell(page, "Khu phố 2", 7).startswith("0% 0/1")
    assert cell(page, "Toàn phường", 7) == "13% 1/8"  # 12.5% rounds half up
    assert "Khu phố 9" not in page  # another ward


def test_counters_equal_a_full_recompute(app, area):
    visit(app, area, "h12", [(area["binh"], "vneid", "done"), (area["an"], "smartphone", "declined")])
    with app.app_context():
        plan = active_plan()
        kept = counters.counts(plan), counters.counts(plan, street_level=True)
        counters.recompute(plan)
        db.session.commit()
        assert (counters.counts(plan), counters.counts(plan, street_level=True)) == kept


def test_khu_pho_drill_down_by_street_and_member(as_user, area, app):
    visit(app, area, "h_ll", [(None, "ecommerce_guide", "done")], member="member1b")
    page = as_user("leader1").get(f"/dashboard/khu-pho/{area['kp1']}").get_data(as_text=True)
    assert cell(page, "Lê Lợi", 2).startswith("100% 1/1")
    assert cell(page, "Nguyễn Trãi", 2).startswith("0% 0/4")
    assert cell(page, "Member1B", 2).startswith("100% 1/1")


def test_members_cannot_see_dashboards_and_leaders_only_their_khu_pho(as_user, area):
    client = as_user("member1")
    assert client.get("/dashboard/").status_code == 404
    assert client.get(f"/dashboard/khu-pho/{area['kp1']}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    leader = as_user("leader1")
    page = leader.get("/dashboard/").get_data(as_text=True)
    assert "Khu phố 1" in page and "Khu phố 2" not in page
    assert leader.get(f"/dashboard/khu-pho/{area['kp2']}").status_code == 404


def test_drill_down_lists_the_households_still_short_on_a_target(as_user, area, app):
    visit(app, area, "h12", [(None, "ecommerce_guide", "done")])
    client = as_user("staff")
    page = client.get(f"/dashboard/khu-pho/{area['kp1']}/target/2").get_data(as_text=True)
    listed = re.findall(r'<span class="title">([^<]+)</span>', page)
    assert listed == ["2, Nguyễn Trãi", "2A, Nguyễn Trãi", "10/3, Nguyễn Trãi", "5, Lê Lợi"]  # 12 was guided
    seven = client.get(f"/dashboard/khu-pho/{area['kp1']}/target/7").get_data(as_text=True)
    assert "còn 3" in seven  # the three residents of 12, Nguyễn Trãi are not yet informed
    assert client.get(f"/dashboard/khu-pho/{area['kp1']}/target/9").status_code == 404  # no counter for 9 yet
    assert client.get(f"/dashboard/khu-pho/{area['kp9']}/target/2").status_code == 404  # another ward
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    member = as_user("member1")
    assert member.get(f"/dashboard/khu-pho/{area['kp1']}/target/2").status_code == 404


def test_team_activity_counts_a_month_of_visits_per_member(as_user, area, app):
    visit(app, area, "h12", [(area["cuong"], "vneid", "done"), (area["binh"], "vneid", "done"),
                             (area["an"], "epay", "had")])
    visit(app, area, "h12", [(area["cuong"], "dvc", "done")])
    visit(app, area, "h2", [(area["dung"], "vneid", "later")], member="member1b")
    visit(app, area, "h_hl", [(area["lan"], "vneid", "done")], member="member2")
    client = as_user("leader1")
    month = (utcnow() + timedelta(hours=7, minutes=1)).strftime("%Y-%m")  # the visits' month in Vietnam
    page = client.get(f"/dashboard/activity?month={month}").get_data(as_text=True)
    rows = {re.sub(r"<[^>]+>", "", r[0]).strip(): re.findall(r"<td>(\d+)</td>", r[1])
            for r in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', page, re.S)}
    columns = re.findall(r'<th class="small">([^<]+)</th>', page)
    assert columns == ["Cài và kích hoạt VNeID mức 2", "Nộp hồ sơ dịch vụ công trực tuyến"]
    assert rows == {"Member1": ["2", "1", "2", "1"], "Member1B": ["1", "1", "0", "0"]}  # KP2's member2 not shown
    earlier = client.get("/dashboard/activity?month=2020-01").get_data(as_text=True)
    assert "Chưa có lần thăm nào" in earlier
    assert client.get("/dashboard/activity?month=junk").status_code == 404
