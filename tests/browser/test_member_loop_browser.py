"""The member's door-to-door loop in Chromium on a 360 px phone: log in, a street, a visit saved by htmx, the next door."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from tests.fixtures import PASSWORD
from visits.extensions import db
from visits.models import Visit

PHONE_WIDTH = 360

# Visible tap targets in the visit form lower than 44 CSS px, as [text, height].
SHORT_TAP_TARGETS = """(form) => [...form.querySelectorAll('.chip span, button, .button, a, summary')]
  .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .map((el) => [el.textContent.trim(), el.getBoundingClientRect().height])"""

# Collects CSP violations the page reports, besides the console messages Chromium prints for them.
CSP_RECORDER = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""


def log_in(page, username="member1"):
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đường của tôi")


def assert_no_horizontal_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} scrolls sideways: {width} px wide at {PHONE_WIDTH} px"


def household_row(page, number):
    return page.locator("#household-list a.row.household").filter(
        has=page.locator("span.title", has_text=re.compile(rf"^{re.escape(number)}\b")))


def test_member_records_a_visit_and_moves_to_the_next_door(page, live_server, app, area):
    log_in(page)
    page.locator("a.row", has_text="Nguyễn Trãi").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nguyễn Trãi")
    expect(page.locator("#household-list a.row.household")).to_have_count(4)
    expect(household_row(page, "12").locator(".status")).to_have_text("Chưa thăm")
    assert_no_horizontal_scroll(page)

    household_row(page, "12").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^12, Nguyễn Trãi"))
    expect(page.locator("#household-status")).to_have_text("Chưa thăm")
    assert_no_horizontal_scroll(page)

    form = page.locator("form.visit-form")
    short = [(text, height) for text, height in form.evaluate(SHORT_TAP_TARGETS) if height < 44]
    assert form.locator(".chip span").count() > 0
    assert not short, f"tap targets under 44 px in the visit form: {short}"

    form.locator("fieldset.chips", has=page.locator("legend", has_text="Kết quả")) \
        .get_by_text("Gặp được", exact=True).tap()
    expect(form.locator("input[name=outcome][value=met]")).to_be_checked()
    form.locator("fieldset.chips", has=page.locator("legend", has_text="Gặp ai")) \
        .get_by_text("Nguyễn Văn Cường", exact=True).tap()

    cuong = form.locator("div.subject").filter(
        has=page.locator("h3", has_text=re.compile(r"^\s*Nguyễn Văn Cường\s*$")))
    expect(cuong).to_have_count(1)
    chosen = {}
    for label, answer, value in (("Cài và kích hoạt VNeID mức 2", "Vừa hướng dẫn xong", "done"),
                                 ("Mở tài khoản thanh toán điện tử", "Đã có từ trước", "had")):
        item = cuong.locator("fieldset[data-item]").filter(has=page.locator("legend", has_text=label))
        expect(item).to_have_count(1)
        item.get_by_text(answer, exact=True).tap()
        expect(item.locator(f"input[type=radio][value={value}]")).to_be_checked()
        chosen[item.get_attribute("data-item")] = value
    assert chosen == {"vneid": "done", "epay": "had"}

    url_before = page.url
    page.evaluate("window.__noReload = 1")
    form.get_by_role("button", name="Lưu lần thăm").tap()

    expect(page.locator("#household-status")).to_have_text("Đã thăm")
    expect(page.locator("#visit-saved")).to_be_visible()
    expect(page.locator("#visit-saved")).to_contain_text("Đã lưu lần thăm")
    next_link = page.locator("#next-household")
    expect(next_link).to_be_visible()
    expect(next_link).to_have_text(re.compile(r"^\s*Hộ tiếp theo"))
    assert page.url == url_before, "the visit was saved by a page load, not by htmx"
    assert page.evaluate("window.__noReload") == 1, "the page was reloaded when the visit was saved"
    assert_no_horizontal_scroll(page)

    with app.app_context():
        visits = db.session.scalars(select(Visit)).all()
        assert len(visits) == 1
        visit = visits[0]
        assert (visit.household_id, visit.user_id, visit.outcome) == (area["h12"], area["member1"], "met")
        assert visit.met_resident_ids == [area["cuong"]]
        assert {(a.resident_id, a.kind, a.code, a.value) for a in visit.answers} == {
            (area["cuong"], "item", "vneid", "done"), (area["cuong"], "item", "epay", "had")}

    next_link.tap()
    expect(page).to_have_url(re.compile(rf"/households/{area['h2']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^2, Nguyễn Trãi"))
    expect(page.locator("#household-status")).to_have_text("Chưa thăm")

    page.locator("p.crumbs a", has_text="Nguyễn Trãi").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nguyễn Trãi")
    expect(household_row(page, "12").locator(".status")).to_have_text("Đã thăm")
    expect(household_row(page, "2").locator(".status")).to_have_text("Chưa thăm")


def test_member_pages_raise_no_script_errors_or_csp_violations(page, live_server, area):
    problems = []

    def on_console(message):
        if message.type != "error":
            return
        problems.append(f"console error: {message.text} at {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(CSP_RECORDER)

    def visited(what):
        assert not problems, f"{what} ({page.url}): {problems}"
        violations = page.evaluate("window.__csp")
        assert violations == [], f"{what} ({page.url}): CSP violations {violations}"

    page.goto("/login")
    expect(page.get_by_role("button", name="Đăng nhập")).to_be_visible()
    visited("login")

    log_in(page)
    expect(page.locator("a.row", has_text="Nguyễn Trãi")).to_be_visible()
    visited("home")

    page.goto(f"/streets/{area['nguyen_trai']}")
    expect(page.locator("#household-list a.row.household")).to_have_count(4)
    page.wait_for_load_state("load")
    visited("street")
    # The "Còn việc" tab swaps the list by htmx (no page load): it must work under the CSP too.
    page.evaluate("window.__noReload = 1")
    with page.expect_response(lambda response: "open=1" in response.url) as swapped:
        page.get_by_role("link", name="Còn việc").tap()
    assert swapped.value.request.headers.get("hx-request") == "true"
    expect(page).to_have_url(re.compile(r"[?&]open=1$"))
    expect(page.locator("#household-list a.row.household")).to_have_count(4)  # all four still have work
    assert page.evaluate("window.__noReload") == 1
    expect(page.get_by_role("link", name="Còn việc")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="Tất cả")).not_to_have_attribute("aria-current", "page")
    visited("street, open tab")

    page.goto(f"/households/{area['h12']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^12, Nguyễn Trãi"))
    page.wait_for_load_state("load")
    visited("household")
