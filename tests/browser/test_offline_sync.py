"""The sync as a phone in an alley lives it, in Chromium: what can go wrong between the outbox and the server.

Each case ends on the database: every visit the member saved is stored exactly once (counted by its UUID
and by household), whatever broke on the way. Waiting is done by Playwright (auto-waiting `expect`,
`wait_for_function`, events); there is no sleep.
"""
import re
import struct
import threading
import uuid as uuidlib
from collections import Counter
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

import visits.pwa
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
from tests.browser.test_member_loop_browser import log_in
from tests.browser.test_offline import (SERVICE_WORKER_ACTIVATED, download_area, go_offline, go_online,
                                        wait_for_service_worker)
from tests.fixtures import PASSWORD
from visits.checklist import plan_items, plan_rules
from visits.extensions import db
from visits.models import Household, ItemState, User, Visit, VisitAnswer
from visits.state import recompute_household

SYNC = "**/api/sync"


# --- What the phone shows -----------------------------------------------------------------------------

def waiting(page):
    return page.locator("#sync-status .waiting")


def record_visit(page, household_id, outcome, answers):
    """Fill the visit form as a member does: the outcome chip, then answers as (resident, item code, answer)."""
    page.goto(f"/households/{household_id}")
    form = page.locator("form.visit-form")
    expect(form).to_be_visible()
    outcomes = form.locator("fieldset.chips", has=page.locator("legend", has_text="Kết quả"))
    outcomes.get_by_text(outcome, exact=True).tap()
    for resident, code, answer in answers:
        subject = form.locator("div.subject").filter(
            has=page.locator("h3", has_text=re.compile(rf"^\s*{resident}\s*$")))
        subject.locator(f"fieldset[data-item={code}]").get_by_text(answer, exact=True).tap()
    form.get_by_role("button", name="Lưu lần thăm").tap()


def record_offline(page, household_id, outcome="Gặp được", answers=()):
    """Record a visit with no signal: it is kept on the phone, and the page says so."""
    record_visit(page, household_id, outcome, answers)
    expect(page.locator("#visit-saved")).to_contain_text("Đã lưu trên điện thoại")
    expect(page.locator("#household-status")).to_have_text("Chờ đồng bộ")


def outbox(page):
    """The outbox as IndexedDB holds it, oldest first."""
    return page.evaluate("Outbox.all()")


def phone_in_the_alley(page, server, area, households=("h12", "h2", "h10")):
    """Log in with signal, take the area along, lose the signal, and record a visit at each door."""
    log_in(page)
    download_area(page)
    go_offline(page, server)
    page.reload()
    expect(page.locator("#saved-copy")).to_be_visible()
    for name in households:
        record_offline(page, area[name], answers=(_first_resident(name),))
    expect(waiting(page)).to_have_text(f"Chờ đồng bộ: {len(households)}")
    items = outbox(page)
    assert [item["household_id"] for item in items] == [str(area[name]) for name in households]
    return [item["uuid"] for item in items]


FIRST_RESIDENT = {"h12": "Nguyễn Văn An", "h2": "Lê Thị Dung", "h2a": "Phạm Văn Em", "h10": "Hoàng Thị Gấm"}


def _first_resident(name):
    return FIRST_RESIDENT[name], "dx_informed", "Vừa hướng dẫn xong"


# --- What the server has ------------------------------------------------------------------------------

def stored(app):
    """Every stored visit as {uuid: (household id, username, number of answers)}; no UUID may be there twice."""
    with app.app_context():
        rows = db.session.execute(select(Visit.uuid, Visit.household_id, User.username)
                                  .join(User, Visit.user_id == User.id)).all()
        answers = Counter(db.session.scalars(select(Visit.uuid).join(VisitAnswer, VisitAnswer.visit_id == Visit.id)))
    per_uuid = Counter(uuid for uuid, _h, _u in rows)
    assert max(per_uuid.values(), default=1) == 1, f"a visit stored twice: {per_uuid}"
    return {uuid: (household, username, answers[uuid]) for uuid, household, username in rows}


def assert_stored_once(app, area, uuids, households, username="member1", answers=1):
    visits = stored(app)
    assert sorted(visits) == sorted(uuids), "the stored visits are not exactly the ones the phone saved"
    assert Counter(visits[u][0] for u in uuids) == Counter(area[h] for h in households)
    assert {visits[u][1] for u in uuids} == {username}
    assert all(visits[u][2] == answers for u in uuids), f"answers stored twice or lost: {visits}"


def household_state(app, household_id, recompute=False):
    """A household's derived state, named by people rather than ids (the ids differ between runs)."""
    with app.app_context():
        household = db.session.get(Household, household_id)
        if recompute:
            recompute_household(household, plan_items(), plan_rules())
            db.session.flush()
        names = {r.id: r.full_name for r in household.residents} | {0: "(hộ)"}
        authors = dict(db.session.execute(select(Visit.uuid, User.username).join(User, Visit.user_id == User.id)
                                          .where(Visit.household_id == household_id)).all())
        rows = db.session.scalars(select(ItemState).where(ItemState.household_id == household_id)).all()
        state = {"status": household.status, "open_items": household.open_items,
                 "last_visit": authors.get(household.last_visit_uuid),
                 "items": sorted((names[r.resident_key], r.kind, r.code, r.value,
                                  authors.get(r.visit_uuid, "danh sách hộ")) for r in rows)}
        db.session.rollback()
    return state


def batch(households):
    """Visit items as a phone sends them (answered: the household's e-commerce guide), one per household UUID."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return [{"type": "visit", "uuid": str(uuidlib.uuid4()), "household": household_uuid, "recorded_at": now,
             "outcome": "met", "notes": "", "met": [], "facts": [],
             "answers": [{"resident": None, "code": "ecommerce_guide", "value": "done"}]}
            for household_uuid in households]


def put_in_outbox(page, entries):
    """Put visit items straight into the phone's outbox, oldest first, as if recorded a minute ago."""
    page.evaluate("""(items) => Promise.all(items.map((item, n) => Outbox.add({
        uuid: item.payload.uuid, kind: 'visit', payload: item.payload, username: 'member1',
        household_id: item.household_id, street_id: item.street_id, label: item.label,
        created: Date.now() - 60000 + n})))""", entries)


def household_uuids(app, area, names):
    with app.app_context():
        return [db.session.get(Household, area[name]).uuid for name in names]


# --- Logging in while the app installs itself ---------------------------------------------------------------

def test_logging_in_while_the_app_installs_keeps_the_member_logged_in(page, server, app, area, monkeypatch):
    """The worker installed by the login page fetches its shell (the offline page among it) while the member
    types. If that answer carried the session cookie of before the login and came after it, the member would
    be logged out again at once. Here the server holds that answer until the member has logged in."""
    arrived, release, inner = threading.Event(), threading.Event(), app.wsgi_app

    def slow_offline_page(environ, start_response):
        if environ["PATH_INFO"] != "/offline" or arrived.is_set():
            return inner(environ, start_response)
        answer = [b"".join(inner(environ, lambda status, headers, exc_info=None: sent.extend([status, headers])))]
        arrived.set()
        release.wait(20)
        start_response(*sent)
        return answer

    sent = []
    monkeypatch.setattr(app, "wsgi_app", slow_offline_page)
    page.goto("/login")
    assert arrived.wait(10), "the service worker did not fetch the offline page"
    log_in(page)
    release.set()  # the worker's answer arrives after the login's
    page.evaluate(SERVICE_WORKER_ACTIVATED)
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đường của tôi")


# --- b. The server stops in the middle of a sync ---------------------------------------------------------

@pytest.mark.parametrize("lost", ["request", "response", "server_crash"])
def test_a_sync_cut_in_the_middle_loses_nothing_and_doubles_nothing(page, server, app, area, lost):
    """request: the signal goes after the batch was sent, before the server read it.
    response: the server committed the batch, and the signal went before the answer reached the phone.
    server_crash: the server committed and then died; the phone kept its signal, and the member taps "Gửi ngay"."""
    uuids = phone_in_the_alley(page, server, area)

    def cut(route):
        if lost == "request":
            go_offline(page, server)
            route.continue_()  # sent into a closed port with no signal: it fails
            return
        route.fetch()  # the server applies the batch and commits...
        if lost == "response":
            go_offline(page, server)  # ...and the answer never reaches the phone
        else:
            server.stop()
        route.abort("connectionreset")

    page.context.route(SYNC, cut, times=1)
    with page.context.expect_event("requestfailed", lambda r: r.url.endswith("/api/sync")):
        go_online(page, server)  # back in signal: the outbox is replayed, into the cut above
    assert len(stored(app)) == (0 if lost == "request" else 3)
    expect(waiting(page)).to_have_text("Chờ đồng bộ: 3")  # the phone never heard: it keeps all three
    assert [item["uuid"] for item in outbox(page)] == uuids

    replies = []

    def keep_reply(route):
        # Read as it passes: the app may replay on its own just before the tap that opens the outbox page, and once
        # the page has navigated away the browser no longer holds the answer's body.
        response = route.fetch()
        replies.append(response.json())
        route.fulfill(response=response)

    page.context.route(SYNC, keep_reply, times=1)
    if lost == "server_crash":
        server.start()
        page.locator("#sync-status a").first.tap()  # the status bar leads to the outbox
        expect(page.get_by_role("heading", level=1)).to_have_text("Chờ đồng bộ")
        page.get_by_role("button", name="Gửi ngay").tap()
    else:
        go_online(page, server)
    expect(waiting(page)).to_have_text("Chờ đồng bộ: 0")
    expected = "accepted" if lost == "request" else "duplicate"
    assert len(replies) == 1
    assert [(r["uuid"], r["status"]) for r in replies[0]["results"]] == [(u, expected) for u in uuids]
    assert outbox(page) == []
    assert_stored_once(app, area, uuids, ("h12", "h2", "h10"))


# --- c. The same batch posted twice ----------------------------------------------------------------------

POST_TWICE = """async ({items, together}) => {
  const post = async () => {
    const session = await (await fetch('/api/session', {cache: 'no-store'})).json();
    const response = await fetch('/api/sync', {method: 'POST', cache: 'no-store', body: JSON.stringify({items}),
      headers: {'Content-Type': 'application/json', 'X-CSRFToken': session.csrf_token}});
    return {status: response.status, body: await response.json()};
  };
  return together ? Promise.all([post(), post()]) : [await post(), await post()];
}"""


def statuses(answer):
    assert answer["status"] == 200, answer
    return [(r["uuid"], r["status"]) for r in answer["body"]["results"]]


def test_the_same_batch_posted_twice_is_stored_once(page, server, app, area):
    log_in(page)
    names = ("h12", "h2", "h10")
    before = {name: household_state(app, area[name]) for name in names}

    # One after the other, as a phone does when the first answer was lost.
    items = batch(household_uuids(app, area, names))
    first, second = page.evaluate(POST_TWICE, {"items": items, "together": False})
    uuids = [item["uuid"] for item in items]
    assert statuses(first) == [(u, "accepted") for u in uuids]
    assert statuses(second) == [(u, "duplicate") for u in uuids]
    assert_stored_once(app, area, uuids, names)
    after = {name: household_state(app, area[name]) for name in names}
    assert all(after[name] != before[name] for name in names)

    # Both at once, as when a retry overtakes a request the server is still working on.
    again = batch(household_uuids(app, area, names))
    answers = page.evaluate(POST_TWICE, {"items": again, "together": True})
    outcomes = [sorted(pair) for pair in zip(*(dict(statuses(a)).values() for a in answers))]
    assert outcomes == [["accepted", "duplicate"]] * 3, answers
    assert_stored_once(app, area, uuids + [item["uuid"] for item in again], names * 2)

    # The outbox replayed twice over: two replays at once, then the same items again, as a phone does
    # when it was switched off between the server's answer and the removal from IndexedDB.
    one = batch(household_uuids(app, area, ("h2a",)))
    entry = {"uuid": one[0]["uuid"], "kind": "visit", "payload": one[0], "username": "member1",
             "household_id": str(area["h2a"]), "street_id": str(area["nguyen_trai"]), "label": "2A, Nguyễn Trãi"}
    outcomes = page.evaluate("""async (entry) => {
      await Outbox.add(structuredClone(entry));
      const both = await Promise.all([Outbox.sync(), Outbox.sync()]);
      const left = (await Outbox.all()).length;
      await Outbox.add(structuredClone(entry));
      return {both, left, again: await Outbox.sync(), after: (await Outbox.all()).length};
    }""", entry)
    assert sorted(outcomes["both"]) == ["busy", "done"] and outcomes["left"] == 0
    assert outcomes["again"] == "done" and outcomes["after"] == 0
    visits = stored(app)
    assert len(visits) == 7 and visits[entry["uuid"]][0] == area["h2a"]
    final = {name: household_state(app, area[name]) for name in names}
    assert final == {name: household_state(app, area[name], recompute=True) for name in names}


# --- d. The session ends while the phone is offline ---------------------------------------------------------

@pytest.mark.parametrize("ended_by", ["session_version", "cookies_cleared"])
def test_session_ended_offline_asks_to_log_in_and_keeps_everything(page, server, app, area, ended_by):
    uuids = phone_in_the_alley(page, server, area, households=("h12", "h2"))
    relogin = page.locator("#sync-status .relogin")
    expect(relogin).to_be_hidden()  # the session is fine so far: no call to log in
    if ended_by == "session_version":  # e.g. staff deactivated and reactivated the member, or reset the password
        with app.app_context():
            db.session.execute(update(User).where(User.id == area["member1"])
                               .values(session_version=User.session_version + 1))
            db.session.commit()
    else:
        page.context.clear_cookies()

    go_online(page, server)
    expect(relogin).to_be_visible()
    expect(relogin).to_have_text("Phiên đăng nhập đã hết — đăng nhập lại để gửi")
    expect(waiting(page)).to_have_text("Chờ đồng bộ: 2")
    assert stored(app) == {}
    assert [item["uuid"] for item in outbox(page)] == uuids

    relogin.tap()
    page.get_by_label("Tên đăng nhập").fill("member1")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Chờ đồng bộ")
    expect(page.locator("#outbox-empty")).to_be_visible()
    expect(waiting(page)).to_have_text("Chờ đồng bộ: 0")
    expect(relogin).to_be_hidden()
    assert_stored_once(app, area, uuids, ("h12", "h2"))


# --- e. Two members, one household, both offline ----------------------------------------------------------

FINAL_STATES = []


def new_phone(browser, server, username):
    context = browser.new_context(**PHONE, base_url=server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, username)
    download_area(page)
    return page


@pytest.mark.parametrize("first", ["member1", "member1b"])
def test_two_members_at_one_door_offline_agree_whatever_the_sync_order(browser, server, app, area, first):
    phones = {name: new_phone(browser, server, name) for name in ("member1", "member1b")}
    try:
        for phone in phones.values():
            phone.context.set_offline(True)
        server.stop()
        # member1 comes first: come back later, says the family; An will learn it next time, Cường does not
        # want it. Then member1b finds An at home and shows him. The later visit wins each item it answers;
        # what it leaves alone (Cường) stays as member1 left it.
        record_offline(phones["member1"], area["h12"], outcome="Hẹn quay lại",
                       answers=(("Nguyễn Văn An", "dx_informed", "Hẹn lần sau"),
                                ("Nguyễn Văn Cường", "dx_informed", "Không có nhu cầu")))
        record_offline(phones["member1b"], area["h12"], outcome="Gặp được",
                       answers=(("Nguyễn Văn An", "dx_informed", "Vừa hướng dẫn xong"),))
        uuids = {name: outbox(phone)[0]["uuid"] for name, phone in phones.items()}

        server.start()
        order = [first, "member1b" if first == "member1" else "member1"]
        for synced, name in enumerate(order, start=1):
            phones[name].context.set_offline(False)
            expect(waiting(phones[name])).to_have_text("Chờ đồng bộ: 0")
            visits = stored(app)
            assert sorted(visits) == sorted(uuids[n] for n in order[:synced])
    finally:
        for phone in phones.values():
            phone.context.close()

    visits = stored(app)
    assert {visits[uuids[name]][:3] for name in uuids} == {(area["h12"], "member1", 2), (area["h12"], "member1b", 1)}
    state = household_state(app, area["h12"])
    assert state["status"] == "da_tham" and state["last_visit"] == "member1b"
    items = {(who, code): (value, by) for who, kind, code, value, by in state["items"] if kind == "item"}
    assert items == {("Nguyễn Văn An", "dx_informed"): ("done", "member1b"),
                     ("Nguyễn Văn Cường", "dx_informed"): ("declined", "member1")}
    assert state == household_state(app, area["h12"], recompute=True)  # as if both arrived at once
    FINAL_STATES.append(state)
    assert all(other == state for other in FINAL_STATES)  # the other order (and database) ended the same


# --- f. A rejected item stays, with its reason, and the member discards it ------------------------------------

def test_a_rejected_item_stays_with_its_reason_while_the_rest_syncs(page, server, app, area):
    log_in(page)
    download_area(page)
    go_offline(page, server)
    page.reload()
    bad_answer, other_khu_pho = batch(household_uuids(app, area, ("h2a", "h_hl")))
    bad_answer["answers"][0]["value"] = "maybe"
    put_in_outbox(page,
                  [{"payload": bad_answer, "household_id": str(area["h2a"]), "street_id": str(area["nguyen_trai"]),
                    "label": "2A, Nguyễn Trãi"},
                   {"payload": other_khu_pho, "household_id": str(area["h_hl"]), "street_id": str(area["ha_long"]),
                    "label": "7, Hạ Long"}])
    for name in ("h12", "h2"):
        record_offline(page, area[name], answers=(_first_resident(name),))
    items = outbox(page)
    assert [i["uuid"] for i in items][:2] == [bad_answer["uuid"], other_khu_pho["uuid"]]  # oldest first
    good = [i["uuid"] for i in items][2:]
    expect(waiting(page)).to_have_text("Chờ đồng bộ: 4")

    go_online(page, server)
    expect(waiting(page)).to_have_text("Chờ đồng bộ: 2")
    expect(page.locator("#sync-status")).to_have_class(re.compile(r"\bhas-problem\b"))
    assert_stored_once(app, area, good, ("h12", "h2"))

    page.locator("#sync-status a").first.tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Chờ đồng bộ")
    rows = page.locator("#outbox-list li.outbox-item")
    expect(rows).to_have_count(2)
    bad_row, other_row = rows.nth(0), rows.nth(1)
    expect(bad_row.locator(".title")).to_have_text("Lần thăm · 2A, Nguyễn Trãi")
    expect(bad_row.locator(".reason")).to_have_text(
        "Câu trả lời \"maybe\" cho mục Hướng dẫn cài ứng dụng bán hàng trên sàn TMĐT không hợp lệ.")
    expect(other_row.locator(".title")).to_have_text("Lần thăm · 7, Hạ Long")
    expect(other_row.locator(".reason")).to_have_text("Hộ này không thuộc khu phố của bạn.")
    expect(rows.get_by_role("button", name="Gửi lại")).to_have_count(2)  # refused: the member may try again
    assert {i["state"] for i in outbox(page)} == {"rejected"}

    # Replaying again does not send them: they wait for the member.
    sent = []
    page.context.on("request", lambda request: sent.append(request) if request.url.endswith("/api/sync") else None)
    assert page.evaluate("Outbox.sync()") == "done"
    assert sent == []
    expect(rows).to_have_count(2)

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    for _ in range(2):
        rows.first.get_by_role("button", name="Bỏ mục này").tap()
    expect(rows).to_have_count(0)
    assert dialogs == ["Bỏ hẳn mục này? Nó sẽ không được gửi lên máy chủ."] * 2
    expect(page.locator("#outbox-empty")).to_be_visible()
    expect(waiting(page)).to_have_text("Chờ đồng bộ: 0")
    expect(page.locator("#sync-status")).not_to_have_class(re.compile(r"\bhas-problem\b"))
    assert_stored_once(app, area, good, ("h12", "h2"))


# --- g. The browser is closed with items waiting ------------------------------------------------------------

def open_profile(playwright, profile, server, offline=False):
    """Chromium with a profile on disk, like the phone's own browser: IndexedDB outlives closing it."""
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        base_url=server.url, offline=offline, **PHONE)
    context.set_default_timeout(10_000)
    return context, (context.pages[0] if context.pages else context.new_page())


def test_items_waiting_survive_closing_the_browser(playwright, server, app, area, tmp_path):
    profile = tmp_path / "phone-profile"
    context, page = open_profile(playwright, profile, server)
    try:
        page.goto("/login")
        page.get_by_label("Tên đăng nhập").fill("member1")
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_text("Ghi nhớ trên điện thoại này").tap()
        page.get_by_role("button", name="Đăng nhập").tap()
        expect(page.get_by_role("heading", level=1)).to_have_text("Đường của tôi")
        download_area(page)
        go_offline(page, server)
        page.reload()
        for name in ("h12", "h2"):
            record_offline(page, area[name], answers=(_first_resident(name),))
        expect(waiting(page)).to_have_text("Chờ đồng bộ: 2")
        uuids = [item["uuid"] for item in outbox(page)]
    finally:
        context.close()

    context, page = open_profile(playwright, profile, server, offline=True)  # opened again, still in the alley
    try:
        page.goto("/")
        expect(page.locator("#saved-copy")).to_be_visible()
        expect(waiting(page)).to_have_text("Chờ đồng bộ: 2")
        assert [item["uuid"] for item in outbox(page)] == uuids
        go_online(page, server)
        expect(waiting(page)).to_have_text("Chờ đồng bộ: 0")
    finally:
        context.close()
    assert_stored_once(app, area, uuids, ("h12", "h2"))


# --- h. Installable -------------------------------------------------------------------------------------------

def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", body[16:24])


def test_the_app_is_installable(playwright, server, area, tmp_path):
    context, page = open_profile(playwright, tmp_path / "install-profile", server)
    try:
        response = page.request.get("/manifest.webmanifest")
        assert response.ok and response.headers["content-type"].startswith("application/manifest+json")
        manifest = response.json()
        assert manifest["name"] == "Tổ công nghệ số cộng đồng" and manifest["short_name"] == "Tổ CNSCĐ"
        assert manifest["start_url"] == "/?source=pwa" and manifest["scope"] == "/"
        assert manifest["display"] == "standalone"
        assert manifest["theme_color"] == "#0b5394" and manifest["background_color"]
        icons = {(icon["sizes"], icon.get("purpose", "any")): icon for icon in manifest["icons"]}
        assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= set(icons)
        for (sizes, _purpose), icon in icons.items():
            image = page.request.get(icon["src"])
            assert image.ok and image.headers["content-type"] == icon["type"] == "image/png"
            assert "x".join(map(str, png_size(image.body()))) == sizes

        page.goto("/login")
        expect(page.locator("link[rel=manifest]")).to_have_attribute("href", "/manifest.webmanifest")
        wait_for_service_worker(page)
        cdp = context.new_cdp_session(page)
        assert cdp.send("Page.getAppManifest")["errors"] == []
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    finally:
        context.close()


# --- i. A new version of the app never loses the outbox ---------------------------------------------------------

def refuse_syncs(app, monkeypatch):
    """Make the served app answer POST /api/sync with 503 until the returned event is cleared."""
    down, inner = threading.Event(), app.wsgi_app
    down.set()

    def wsgi(environ, start_response):
        if down.is_set() and environ["PATH_INFO"] == "/api/sync":
            start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "60")])
            return [b"upgrading"]
        return inner(environ, start_response)

    monkeypatch.setattr(app, "wsgi_app", wsgi)
    return down


def test_a_new_version_keeps_the_outbox(page, server, app, area, monkeypatch):
    uuids = phone_in_the_alley(page, server, area, households=("h12", "h2"))
    old_shell = [name for name in page.evaluate("caches.keys()") if name.startswith("tocnscd-shell-")]
    assert old_shell == [f"tocnscd-shell-{visits.pwa.shell_version()}"]

    # The signal is back, but the server refuses syncs for now (an upgrade in progress): pages load, the
    # items stay. The new version is out. (Refused by the server rather than by a Playwright route: routing
    # makes Chromium reinstall the worker over and over once a new version has come, reloading the page.)
    sync_down = refuse_syncs(app, monkeypatch)
    monkeypatch.setattr(visits.pwa, "shell_version", lambda: "next-version")
    go_online(page, server)
    page.reload()
    banner = page.locator("#update-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_text(re.compile(r"^\s*Có phiên bản mới\s+—\s+tải lại\s*$"))
    expect(waiting(page)).to_have_text("Chờ đồng bộ: 2")

    with page.expect_navigation():
        banner.get_by_role("button", name="tải lại").tap()
    expect(banner).to_be_hidden()
    page.wait_for_function("() => navigator.serviceWorker.controller?.state === 'activated'")
    shells = [name for name in page.evaluate("caches.keys()") if name.startswith("tocnscd-shell-")]
    assert shells == ["tocnscd-shell-next-version"]  # the old shell went; the saved pages and the outbox stay
    expect(waiting(page)).to_have_text("Chờ đồng bộ: 2")
    assert [item["uuid"] for item in outbox(page)] == uuids
    assert stored(app) == {}

    page.locator("#sync-status a").first.tap()
    rows = page.locator("#outbox-list li.outbox-item")
    expect(rows).to_have_count(2)
    expect(rows.get_by_role("button", name="Gửi lại")).to_have_count(0)  # waiting, not refused: nothing to retry
    expect(rows.get_by_role("button", name="Bỏ mục này")).to_have_count(2)
    sync_down.clear()
    page.get_by_role("button", name="Gửi ngay").tap()
    expect(waiting(page)).to_have_text("Chờ đồng bộ: 0")
    expect(rows).to_have_count(0)
    assert_stored_once(app, area, uuids, ("h12", "h2"))


# --- A batch the server refuses as a whole --------------------------------------------------------------------

def test_an_oversized_item_is_shown_with_its_reason_and_does_not_hold_back_the_rest(page, server, app, area):
    log_in(page)
    download_area(page)
    huge, fine = batch(household_uuids(app, area, ("h2a", "h12")))
    huge["notes"] = "x" * (3 * 1024 * 1024)  # over the server's 2 MB limit: the request is refused with 413
    put_in_outbox(page,
                  [{"payload": huge, "household_id": str(area["h2a"]), "street_id": str(area["nguyen_trai"]),
                    "label": "2A, Nguyễn Trãi"},
                   {"payload": fine, "household_id": str(area["h12"]), "street_id": str(area["nguyen_trai"]),
                    "label": "12, Nguyễn Trãi"}])
    assert page.evaluate("Outbox.sync()") == "done"
    left = outbox(page)
    assert [(i["uuid"], i["state"]) for i in left] == [(huge["uuid"], "rejected")]
    assert left[0]["reason"] == "Dữ liệu gửi lên quá lớn nên đã bị từ chối; chưa lưu gì."
    with app.app_context():
        assert [v.uuid for v in db.session.scalars(select(Visit))] == [fine["uuid"]]
    assert page.evaluate("Outbox.sync()") == "done"  # a refused item is not sent again by itself
    assert [i["state"] for i in outbox(page)] == ["rejected"]
