"""The registers on a phone: a leader records a session and ticks attendees across two filters; no page scrolls
sideways at 360 px, and none raises a script error or a CSP violation."""
import re

from playwright.sync_api import expect

from visits import counters
from visits.checklist import active_plan
from visits.extensions import db
from visits.models import GroupSessionAttendee, Resident

from tests.browser.test_member_loop_browser import CSP_RECORDER, assert_no_horizontal_scroll
from tests.fixtures import PASSWORD


def log_in(page, username):
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").tap()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_leader_records_a_session_on_a_phone(page, live_server, app, area):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.add_init_script(CSP_RECORDER)
    log_in(page, "leader1")
    page.goto("/team/")
    page.get_by_role("link", name="Buổi sinh hoạt (chỉ tiêu 7)").tap()
    page.get_by_role("link", name="Ghi buổi sinh hoạt mới").tap()
    page.get_by_label("Ngày tổ chức").fill("2026-10-05")
    page.get_by_label("Hình thức").select_option("sinh_hoat_chi_bo")
    page.get_by_label("Nội dung tuyên truyền").fill("Chủ trương chuyển đổi số của phường")
    assert_no_horizontal_scroll(page)
    page.get_by_role("button", name="Lưu và chọn người tham dự").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Chủ trương chuyển đổi số của phường")

    page.get_by_label("Trần Thị Bình").check()
    page.get_by_label("Đường").select_option(label="Lê Lợi")
    page.get_by_role("button", name="Lọc").tap()  # Bình's tick is kept, and Lê Lợi's residents are offered
    expect(page.get_by_role("heading", name=re.compile(r"Người tham dự \(1\)"))).to_be_visible()
    page.get_by_label("Vũ Văn Hải").check()
    page.get_by_role("button", name="Thêm những người đã đánh dấu").tap()
    expect(page.get_by_role("heading", name=re.compile(r"Người tham dự \(2\)"))).to_be_visible()
    assert_no_horizontal_scroll(page)
    page.screenshot(path="/tmp/registers-session.png", full_page=True)
    with app.app_context():
        hai = db.session.query(Resident.id).filter_by(full_name="Vũ Văn Hải").scalar()
        assert sorted(a.resident_id for a in db.session.query(GroupSessionAttendee)) == sorted([area["binh"], hai])
        assert counters.counts(active_plan())[(area["kp1"], 0)]["t7:num"] == 2

    for path in ("/sessions/", "/news/", "/training/import/"):
        page.goto(path)
        page.wait_for_load_state("load")
        assert_no_horizontal_scroll(page)
        page.screenshot(path=f"/tmp/registers{path.replace('/', '-')}.png", full_page=True)
    assert problems == []
    assert page.evaluate("window.__csp") == []
