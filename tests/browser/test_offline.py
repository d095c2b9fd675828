"""Working with no signal, in Chromium: the saved area, the outbox, and the sync that follows.

Offline is made twice over: Chromium's network emulation, and the server's port closed, because the
emulation may not cover requests the service worker makes itself.
"""
import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from visits.extensions import db
from visits.models import Visit

from tests.browser.test_member_loop_browser import log_in


# Resolves once the page's service worker is active and done activating; fails after 10 s.
SERVICE_WORKER_ACTIVATED = """() => Promise.race([
  navigator.serviceWorker.ready.then((registration) => new Promise((resolve) => {
    const worker = registration.active;
    if (worker.state === "activated") resolve(true);
    worker.addEventListener("statechange", () => { if (worker.state === "activated") resolve(true); });
  })),
  new Promise((_, reject) => setTimeout(() => reject(new Error("no service worker activated in 10 s")), 10000)),
])"""


def wait_for_service_worker(page):
    """Wait until the service worker is activated, then load the page again so that it controls it.

    A page whose navigation was on its way while the worker activated may stay uncontrolled, even with
    clients.claim(); the next navigation always goes through the worker, so the reload makes it certain.
    """
    page.evaluate(SERVICE_WORKER_ACTIVATED)
    page.reload()
    # A function, not an expression: an expression is run by eval, which the page's CSP forbids.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def download_area(page):
    page.goto("/")
    wait_for_service_worker(page)
    page.get_by_role("button", name="Tải về để làm offline").tap()
    expect(page.locator("#download-count")).to_have_text(re.compile(r"^Đã tải \d+ trang lúc"), timeout=30_000)


def go_offline(page, server):
    page.context.set_offline(True)
    server.stop()


def go_online(page, server):
    server.start()
    page.context.set_offline(False)


def record_visit(page, household_id, answer_item="dx_informed"):
    page.goto(f"/households/{household_id}")
    expect(page.locator("#household")).to_be_visible()
    page.locator(".visit-form fieldset.chips").first.get_by_text("Gặp được", exact=True).tap()
    page.locator(f"fieldset[data-item={answer_item}]").first.get_by_text("Vừa hướng dẫn xong").tap()
    page.get_by_role("button", name="Lưu lần thăm").tap()


def visits_in_db(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Visit.id)))


def test_three_visits_recorded_offline_reach_the_server_exactly_once(page, server, app, area):
    log_in(page)
    download_area(page)
    go_offline(page, server)

    page.reload()  # served from the phone: the page says it is a saved copy
    expect(page.locator("#saved-copy")).to_have_text(re.compile(r"^Bản lưu lúc \d\d:\d\d"))
    for household in ("h12", "h2", "h10"):
        record_visit(page, area[household])
        expect(page.locator("#visit-saved")).to_contain_text("Đã lưu trên điện thoại")
        expect(page.locator("#household-status")).to_have_text("Chờ đồng bộ")
    expect(page.locator("#sync-status .waiting")).to_have_text("Chờ đồng bộ: 3")

    page.reload()  # still offline: the outbox survives a reload
    expect(page.locator("#sync-status .waiting")).to_have_text("Chờ đồng bộ: 3")
    expect(page.locator("#household-status")).to_have_text("Chờ đồng bộ")
    assert visits_in_db(app) == 0

    go_online(page, server)
    expect(page.locator("#sync-status .waiting")).to_have_text("Chờ đồng bộ: 0", timeout=20_000)
    with app.app_context():
        households = sorted(db.session.scalars(select(Visit.household_id)))
    assert households == sorted([area["h12"], area["h2"], area["h10"]])
