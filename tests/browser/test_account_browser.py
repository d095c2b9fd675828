"""Changing one's own password on a 360 px phone: from the top bar, with the rules said plainly."""
from playwright.sync_api import expect

from tests.browser.test_member_loop_browser import CSP_RECORDER, assert_no_horizontal_scroll, log_in
from tests.fixtures import PASSWORD, login


def test_a_member_changes_their_password_from_the_top_bar(page, app, area):
    page.add_init_script(CSP_RECORDER)
    log_in(page)
    page.get_by_role("link", name="Mật khẩu").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đổi mật khẩu")
    assert_no_horizontal_scroll(page)
    page.get_by_label("Mật khẩu đang dùng", exact=True).fill(PASSWORD)
    page.get_by_label("Mật khẩu mới", exact=True).fill("sunshine")
    page.get_by_label("Nhập lại mật khẩu mới").fill("sunshine")
    page.get_by_role("button", name="Đổi mật khẩu").tap()
    expect(page.locator(".error")).to_contain_text("quá phổ biến")
    assert_no_horizontal_scroll(page)
    page.get_by_label("Mật khẩu đang dùng", exact=True).fill(PASSWORD)
    page.get_by_label("Mật khẩu mới", exact=True).fill("đi từng ngõ gõ từng nhà")
    page.get_by_label("Nhập lại mật khẩu mới").fill("đi từng ngõ gõ từng nhà")
    page.get_by_role("button", name="Đổi mật khẩu").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đường của tôi")
    expect(page.get_by_text("Đã đổi mật khẩu.")).to_be_visible()
    assert page.evaluate("window.__csp") == []
    assert login(app.test_client(), "member1", "đi từng ngõ gõ từng nhà").status_code == 302
