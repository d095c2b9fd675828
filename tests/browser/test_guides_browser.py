"""Guides in Chromium: the hands-on mode on a 360 px phone, a guide opening offline once cached, and the A4
sheets printed to PDF, rendered to PNG (pdftoppm) and every code read back (zbarimg)."""
import os
import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser.test_member_loop_browser import CSP_RECORDER, PHONE_WIDTH, assert_no_horizontal_scroll
from tests.fixtures import PASSWORD

NINE = ["vneid", "vssid", "dich-vu-cong", "buu-chinh-cong-ich", "thanh-toan-dien-tu", "thuong-mai-dien-tu",
        "chuyen-4g", "lua-dao", "cong-thong-tin"]


def tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        message = f"{name} is missing (.ci/run installs it: zbar-tools, poppler-utils)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_hands_on_mode_one_step_at_a_time_at_360_px(page):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.add_init_script(CSP_RECORDER)
    page.goto("/g/vneid/cam-tay")
    count, slides = page.locator("[data-count-label]"), page.locator("[data-slide]:visible")
    back, forward = page.get_by_role("link", name="← Quay lại"), page.get_by_role("link", name="Tiếp →")
    expect(count).to_have_text("Chuẩn bị")
    expect(slides).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_text("Cài và kích hoạt VNeID mức 2")
    expect(back).to_have_attribute("aria-disabled", "true")

    forward.tap()
    expect(count).to_have_text("Bước 1/9")
    expect(slides).to_have_count(1)
    expect(slides).to_contain_text("Kiểm tra thẻ Căn cước gắn chip và SIM chính chủ.")
    expect(page).to_have_url(re.compile(r"\?buoc=1$"))
    forward.tap()
    expect(count).to_have_text("Bước 2/9")
    back.tap()
    expect(count).to_have_text("Bước 1/9")
    for box in (back.bounding_box(), forward.bounding_box()):
        assert box["height"] >= 56 and box["width"] >= 120, box
    assert_no_horizontal_scroll(page)

    for _ in range(9):
        forward.tap()
    expect(count).to_have_text("Xong")
    expect(forward).to_be_hidden()
    expect(page.get_by_role("link", name="Xong", exact=True)).to_be_visible()
    qr = page.get_by_role("img", name="Mã QR mở hướng dẫn Cài và kích hoạt VNeID mức 2")
    expect(qr).to_be_visible()
    assert qr.evaluate("(img) => img.decode().then(() => img.naturalWidth)") > 0  # loaded once shown
    assert_no_horizontal_scroll(page)

    page.keyboard.press("ArrowLeft")
    expect(count).to_have_text("Bước 9/9")
    page.reload()  # the step is in the address, so a reload (or no JavaScript) stays on it
    expect(count).to_have_text("Bước 9/9")
    expect(slides).to_contain_text("Không bao giờ đưa mã OTP")
    assert page.evaluate("window.__csp") == [] and errors == []


def test_every_guide_fits_a_360_px_screen(page):
    for slug in NINE:
        page.goto(f"/g/{slug}")
        expect(page.locator("ol.steps > li").first).to_be_visible()
        assert page.viewport_size["width"] == PHONE_WIDTH
        assert_no_horizontal_scroll(page)
        font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.line')).fontSize)")
        assert font >= 20, (slug, font)  # large type


def test_a_guide_opens_offline_once_cached(page, server):
    page.goto("/g/lua-dao")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    page.reload()  # now through the service worker, which keeps a copy of the page
    expect(page.get_by_role("heading", level=1)).to_have_text("Nhận diện lừa đảo trực tuyến")
    page.context.set_offline(True)
    server.stop()
    page.goto("/g/lua-dao")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nhận diện lừa đảo trực tuyến")
    expect(page.locator("ol.steps > li")).to_have_count(7)
    expect(page.locator("body")).to_contain_text("156")


def log_in(page, username):
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


PAGE_MARGIN_MM = 10  # @page margin in static/css/guide-print.css
DPI = 150  # a modest scan of a printed sheet
CSS_PX_MM = 25.4 / 96


def code_boxes(page) -> list[tuple[float, float, float, float]]:
    """Where each code lands on the A4 page, in mm from its top left: the print layout, read in the browser."""
    printable = round((210 - 2 * PAGE_MARGIN_MM) / CSS_PX_MM)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": printable, "height": 1000})
    boxes = page.locator("img").evaluate_all(
        "(all) => all.map((img) => { const r = img.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })")
    return [tuple(PAGE_MARGIN_MM + v * CSS_PX_MM if i < 2 else v * CSS_PX_MM for i, v in enumerate(box)) for box in boxes]


def decoded_codes(pdf: bytes, boxes, tmp_path) -> tuple[int, list[list[str]]]:
    """Pages in the PDF, and what zbarimg reads in each code's place on its first page, rendered at 150 dpi.

    A phone frames one code at a time, so each is read from its own region of the rendered page (pdftoppm's
    -x/-y/-W/-H): zbar, reading a whole page of codes at once, now and then misses one that alone reads every time.
    """
    pdftoppm, pdfinfo, zbarimg = tool("pdftoppm"), tool("pdfinfo"), tool("zbarimg")
    source = tmp_path / "sheet.pdf"
    source.write_bytes(pdf)
    info = subprocess.run([pdfinfo, str(source)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    width, height = map(float, re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.M).groups())
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2, info  # A4: 210 × 297 mm
    found = []
    for n, (x, y, w, h) in enumerate(boxes):
        assert x >= 0 and y >= 0 and x + w <= 210 and y + h <= 297, (n, x, y, w, h)
        px = [round((v - 2) * DPI / 25.4) for v in (x, y)] + [round((v + 4) * DPI / 25.4) for v in (w, h)]
        crop = tmp_path / f"code{n}.png"
        subprocess.run([pdftoppm, "-r", str(DPI), "-png", "-singlefile", "-x", str(px[0]), "-y", str(px[1]),
                        "-W", str(px[2]), "-H", str(px[3]), str(source), str(crop.with_suffix(""))], check=True)
        result = subprocess.run([zbarimg, "--raw", "-q", str(crop)], capture_output=True, text=True, timeout=60)
        found.append(result.stdout.split())
    return pages, found


@pytest.mark.parametrize("sheet", ["guides", "flyer"])
def test_printed_sheets_fit_one_a4_page_and_every_code_scans(browser, live_server, area, tmp_path, sheet):
    context = browser.new_context(base_url=live_server, locale="vi-VN")
    page = context.new_page()
    try:
        log_in(page, "staff")
        kp1, ward = area["kp1"], area["ward"]
        if sheet == "guides":
            page.goto("/qr/in/huong-dan")
            expected = {f"{live_server}/g/{slug}?src=mc-p{ward}" for slug in NINE}
        else:
            page.goto(f"/qr/in/khu-pho/{kp1}")
            expected = {f"{live_server}/g/{slug}?src=tr-k{kp1}" for slug in NINE} | {f"{live_server}/k/{kp1}?src=tr-k{kp1}"}
        images = page.locator("img")
        expect(images).to_have_count(len(expected))
        assert images.evaluate_all(  # every code fetched and decoded before printing
            "(all) => Promise.all(all.map((img) => img.decode())).then(() => all.every((img) => img.naturalWidth > 0))")
        pdf = page.pdf(format="A4", print_background=True)
        pages, found = decoded_codes(pdf, code_boxes(page), tmp_path)
        assert pages == 1
        assert all(len(codes) == 1 for codes in found), found  # each region holds exactly one readable code
        assert {codes[0] for codes in found} == expected
    finally:
        context.close()
