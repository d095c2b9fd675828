"""Ward staff on a 360 px phone in Chromium: the trend charts load into the dashboard as it scrolls (htmx, strict
CSP), and the month's report is sent with one tap and then shows who sent it."""
import re

from playwright.sync_api import expect

from tests.browser.test_member_loop_browser import CSP_RECORDER, assert_no_horizontal_scroll
from tests.fixtures import PASSWORD
from tests.http.test_reports import ward  # noqa: F401 - the small ward, its roster dated January 2024


def log_in_as_staff(page):
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("staff")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").tap()
    page.wait_for_url(lambda url: "/login" not in url)


def test_trend_charts_load_on_the_dashboard_and_the_report_is_sent(page, live_server, ward):  # noqa: F811
    page.add_init_script(CSP_RECORDER)
    log_in_as_staff(page)
    page.goto("/dashboard/")
    page.locator("#trends, [hx-get*='/dashboard/trend']").first.scroll_into_view_if_needed()
    charts = page.locator("#trends figure.trend svg")
    expect(charts).to_have_count(9)  # the eight counted targets and target 9, from the training register
    expect(page.locator("#trends figure.trend").first.locator("circle.point")).to_have_count(12)  # 2024's months
    assert charts.first.bounding_box()["width"] <= 360
    assert_no_horizontal_scroll(page)

    page.goto("/reports/?month=2024-03")
    expect(page.locator(".report-status")).to_contain_text("Nháp")
    assert_no_horizontal_scroll(page)
    page.get_by_role("button", name="Gửi báo cáo tháng 03/2024").tap()
    expect(page.locator(".report-status")).to_contain_text("Đã gửi")
    expect(page.locator(".report-status")).to_contain_text("Staff")
    expect(page.get_by_role("button", name=re.compile("Gửi báo cáo"))).to_have_count(0)
    assert page.evaluate("window.__csp") == []
