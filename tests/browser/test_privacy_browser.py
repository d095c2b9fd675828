"""In Chromium at 360 px: a household's refusal sent through the outbox, search that keeps names out of URLs, and
the privacy and audit pages without sideways scroll."""
import re

from playwright.sync_api import expect

from tests.browser.test_member_loop_browser import assert_no_horizontal_scroll, log_in
from tests.fixtures import PASSWORD
from visits.erasure import ERASED_NAME
from visits.extensions import db
from visits.models import Household


def test_a_refusal_at_the_door_goes_through_the_outbox_and_erases_the_names(page, app, area):
    log_in(page)
    sent = []
    page.on("request", lambda request: sent.append(request) if request.url.endswith("/api/sync") else None)
    page.goto(f"/households/{area['h2a']}")
    form = page.locator("form.visit-form")
    form.locator("fieldset.chips").first.get_by_text("Gặp được", exact=True).tap()
    form.locator("#consent").get_by_text("Không đồng ý", exact=True).tap()
    form.get_by_role("button", name="Lưu lần thăm").tap()
    expect(page.locator("#consent")).to_have_text("Hộ không đồng ý lưu thông tin: họ tên và số điện thoại đã được xóa.")
    assert any('"consent":"no"' in (request.post_data or "") for request in sent)
    expect(page.locator("#household")).not_to_contain_text("Phạm Văn Em")
    with app.app_context():
        household = db.session.get(Household, area["h2a"])
        assert household.consent == "no" and household.residents[0].full_name == ERASED_NAME


def test_search_sends_the_name_in_the_body_only(page, area):
    log_in(page)
    urls = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto("/search")
    page.get_by_role("searchbox").fill("nguyen van an")
    page.get_by_role("searchbox").press("Enter")
    expect(page.locator("#main")).to_contain_text("Nguyễn Văn An")
    assert not [url for url in urls if "nguyen" in url.lower()]
    assert "nguyen" not in page.url.lower()


def test_privacy_and_audit_pages_fit_a_phone(page, area):
    page.goto("/bao-ve-du-lieu")
    expect(page.get_by_role("heading", level=1)).to_contain_text("giữ thông tin của bạn")
    assert_no_horizontal_scroll(page)
    page.goto("/login")
    page.get_by_role("link", name="Tổ giữ thông tin của người dân thế nào (bảo vệ dữ liệu cá nhân)").tap()
    expect(page).to_have_url(re.compile(r"/bao-ve-du-lieu$"))
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("staff")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").tap()
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto("/audit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nhật ký thay đổi")
    assert_no_horizontal_scroll(page)
