"""From an empty app to a working ward with the browser alone, on a 360 px phone in Chromium.

The database is migrated with the default plan and nothing else: no user, no ward. The first admin is made on
the setup page; the admin makes a ward and its staff account; staff make a khu phố, its streets, a team, a
member and a leader, and bring the households in from the ward's Excel list; the leader gives a street out;
the member then finds both streets with their households on "Đường của tôi".
"""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.browser.conftest import PHONE, LiveServer
from tests.browser.test_member_loop_browser import assert_no_horizontal_scroll
from tests.import_workbooks import HEADERS, xlsx
from visits.extensions import db
from visits.models import User

ADMIN, STAFF, MEMBER, LEADER = (("quantri", "Quan-tri-2024!"), ("canbo", "Can-bo-phuong-2024"),
                                ("tv01", "Thanh-vien-2024"), ("totruong01", "To-truong-2024"))
HOUSEHOLDS = [
    [1, None, "KP1", "Nguyễn Trãi", "12", "Nguyễn Văn An", "1960", "0912 000 001"],
    [2, None, "KP1", "Nguyễn Trãi", "2A", "Lê Thị Bình", "1985", ""],
    [3, None, "KP1", "Lê Lợi", "5", "Vũ Văn Hải", "1970", ""],
]


@pytest.fixture
def empty_app_page(browser, app):
    """A phone on the app served over HTTP, with a database that holds nothing but the plan."""
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0
    server = LiveServer(app).start()
    context = browser.new_context(**PHONE, base_url=server.url)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
    server.stop()


def heading(page):
    return page.get_by_role("heading", level=1)


def log_in(page, username, password):
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").tap()


def log_out(page):
    page.get_by_role("button", name="Đăng xuất").tap()
    expect(page.get_by_role("button", name="Đăng nhập")).to_be_visible()


def fill_account(form, username, full_name, password):
    form.get_by_label("Tên đăng nhập").fill(username)
    form.get_by_label("Họ và tên").fill(full_name)
    form.get_by_label("Mật khẩu ban đầu").fill(password)


def street_block(page, name):
    return page.locator("li.manage-item").filter(has=page.locator(".title", has_text=re.compile(f"^{name}$")))


def test_an_empty_app_becomes_a_working_ward_in_the_browser(empty_app_page, app, tmp_path):
    page = empty_app_page

    # The first admin, on the setup page the empty app sends everyone to.
    page.goto("/")
    expect(heading(page)).to_have_text("Thiết lập lần đầu")
    page.get_by_label("Tên đăng nhập").fill(ADMIN[0])
    page.get_by_label("Họ và tên").fill("Trần Quản Trị")
    page.get_by_label("Mật khẩu", exact=True).fill(ADMIN[1])
    page.get_by_label("Nhập lại mật khẩu").fill(ADMIN[1])
    page.get_by_role("button", name="Tạo tài khoản quản trị").tap()
    expect(heading(page)).to_have_text("Các phường")
    assert_no_horizontal_scroll(page)

    # A ward and its staff account.
    page.get_by_label("Mã phường").fill("22345")
    page.get_by_label("Tên phường").fill("Phường Hồng Hà")
    page.get_by_label("Tỉnh / thành phố").fill("Quảng Ninh")
    page.get_by_role("button", name="Tạo phường").tap()
    expect(heading(page)).to_have_text("Phường Hồng Hà")
    fill_account(page.locator("#new-staff"), STAFF[0], "Phạm Thị Cán", STAFF[1])
    page.get_by_role("button", name="Tạo tài khoản cán bộ").tap()
    expect(page.locator(".flashes .flash-success")).to_contain_text("Đã tạo tài khoản cán bộ Phạm Thị Cán")
    assert_no_horizontal_scroll(page)
    log_out(page)
    assert page.goto("/setup/").status == 404  # the setup page is gone for good

    # Staff: a khu phố, two streets in walking order, a team.
    log_in(page, *STAFF)
    expect(heading(page)).to_have_text("Các khu phố")
    page.get_by_role("link", name="Quản lý khu phố, đường, tổ").tap()
    expect(heading(page)).to_have_text("Khu phố của Phường Hồng Hà")
    page.get_by_label("Mã khu phố").fill("KP1")
    page.get_by_label("Tên khu phố").fill("Khu phố 1")
    page.get_by_role("button", name="Tạo khu phố").tap()
    expect(heading(page)).to_have_text("Quản lý Khu phố 1")
    for name in ("Lê Lợi", "Nguyễn Trãi"):
        page.get_by_label("Tên đường, ngõ").fill(name)
        page.get_by_role("button", name="Thêm đường").tap()
        expect(street_block(page, name)).to_be_visible()
    page.get_by_role("button", name="Đưa Nguyễn Trãi lên").tap()
    expect(page.locator("li.manage-item .title").first).to_have_text("Nguyễn Trãi")
    expect(page.get_by_label("Tên tổ")).to_have_value("Tổ công nghệ số cộng đồng Khu phố 1")
    page.get_by_role("button", name="Tạo tổ").tap()
    expect(page.locator("#teams ~ .manage-list li.manage-item")).to_have_count(1)
    assert_no_horizontal_scroll(page)

    # Staff: a member and a leader of that team.
    page.get_by_role("link", name="Thêm, quản lý thành viên").tap()
    expect(heading(page)).to_have_text("Thành viên Tổ")
    for (username, password), full_name, role in ((MEMBER, "Nguyễn Thị Thành", "Thành viên"),
                                                  (LEADER, "Đỗ Văn Trưởng", "Tổ trưởng")):
        form = page.locator("form", has=page.get_by_role("button", name="Thêm thành viên"))
        fill_account(form, username, full_name, password)
        form.locator("select[name=role]").select_option(label=role)
        form.locator("select[name=team_id]").select_option(label="Tổ công nghệ số cộng đồng Khu phố 1 — Khu phố 1")
        form.get_by_role("button", name="Thêm thành viên").tap()
        expect(page.locator(".flashes .flash-success")).to_contain_text(f"Đã thêm {full_name}")
    assert_no_horizontal_scroll(page)

    # Staff: the households, from the ward's Excel list, through the import pages.
    workbook = tmp_path / "danh-sach-ho.xlsx"
    workbook.write_bytes(xlsx(HOUSEHOLDS, header_row=HEADERS))
    page.get_by_role("link", name="Nhập Excel").tap()
    page.get_by_label(re.compile("Tệp Excel")).set_input_files(str(workbook))
    page.get_by_role("button", name="Tải lên và kiểm tra").tap()
    expect(page.locator('[data-count="households_new"]')).to_have_text("3")
    page.get_by_role("button", name="Nhập vào dữ liệu").tap()
    expect(page.locator("#import-job .saved")).to_contain_text("Đã nhập xong: 3 hộ mới")

    # Staff give Nguyễn Trãi to the member.
    page.get_by_role("link", name="Địa bàn").tap()
    page.get_by_role("link", name=re.compile("Khu phố 1")).tap()
    expect(street_block(page, "Nguyễn Trãi").locator(".count")).to_have_text("0/2")
    street_block(page, "Nguyễn Trãi").get_by_label("Người đi Nguyễn Trãi").select_option(label="Nguyễn Thị Thành")
    street_block(page, "Nguyễn Trãi").get_by_role("button", name="Giao").tap()
    expect(page.locator(".flashes .flash-success")).to_have_text("Đã giao Nguyễn Trãi cho Nguyễn Thị Thành.")
    log_out(page)

    # The leader gives Lê Lợi to the same member from their own khu phố's streets.
    log_in(page, *LEADER)
    page.get_by_role("link", name="Tổ của tôi").tap()
    page.get_by_role("link", name="Quản lý đường").tap()
    expect(heading(page)).to_have_text("Quản lý Khu phố 1")
    expect(page.get_by_role("button", name="Tạo tổ")).to_have_count(0)  # teams are staff's
    street_block(page, "Lê Lợi").get_by_label("Người đi Lê Lợi").select_option(label="Nguyễn Thị Thành")
    street_block(page, "Lê Lợi").get_by_role("button", name="Giao").tap()
    expect(page.locator(".flashes .flash-success")).to_have_text("Đã giao Lê Lợi cho Nguyễn Thị Thành.")
    log_out(page)

    # The member: both streets, in walking order, with their households.
    log_in(page, *MEMBER)
    expect(heading(page)).to_have_text("Đường của tôi")
    mine = page.locator("main a.row")
    expect(mine).to_have_count(2)
    expect(mine.nth(0)).to_contain_text("Nguyễn Trãi")
    expect(mine.nth(0)).to_contain_text("0/2")
    expect(mine.nth(1)).to_contain_text("Lê Lợi")
    mine.nth(0).tap()
    expect(heading(page)).to_have_text("Nguyễn Trãi")
    expect(page.locator("#household-list a.row.household")).to_have_count(2)
    expect(page.locator("#household-list")).to_contain_text("Nguyễn Văn An")
    assert_no_horizontal_scroll(page)
