"""Residents' data protection: erasure on request, the household's consent at the first visit, the public
page, no location asked, and no personal data in URLs, logs or error pages."""
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fixtures import login
from visits import counters
from visits.checklist import active_plan
from visits.erasure import ERASED_NAME
from visits.extensions import db
from visits.models import AuditEntry, Change, Household, Resident, SyncConflict, Visit, VisitAnswer

ROOT = Path(__file__).resolve().parents[2]
H12_NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Nguyễn Văn Cường")
PHONE = "0912345678"


@pytest.fixture
def as_user(as_fresh_user):
    return as_fresh_user


def now(minutes: float = 5) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()


def sync(client, items):
    token = client.get("/api/session").get_json()["csrf_token"]
    response = client.post("/api/sync", json={"items": items}, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["results"]


def page_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def counted() -> tuple:
    plan = active_plan()
    return counters.counts(plan), counters.counts(plan, street_level=True)


def everything_kept(app) -> str:
    """Every place a name may have been copied to, as one text."""
    with app.app_context():
        return json.dumps([
            [c.payload for c in db.session.scalars(select(Change))],
            [c.payload for c in db.session.scalars(select(SyncConflict))],
            [e.details for e in db.session.scalars(select(AuditEntry))],
            [v.notes for v in db.session.scalars(select(Visit))],
            [(r.full_name, r.name_key, r.phone) for r in db.session.scalars(select(Resident))],
            [h.head_name for h in db.session.scalars(select(Household))],
        ], ensure_ascii=False)


def history_for_h12(app, area, member) -> dict:
    """Visits with answers and notes, a correction, a phone from the list, and a conflict kept for review."""
    with app.app_context():
        db.session.get(Resident, area["binh"]).phone = PHONE
        db.session.commit()
        uuids = {name: db.session.get(Resident, area[name]).uuid for name in ("an", "binh", "cuong")}
        uuids["h12"] = db.session.get(Household, area["h12"]).uuid
    correction = {"type": "correction", "uuid": str(uuid.uuid4()), "resident": uuids["binh"], "recorded_at": now(1),
                  "full_name": "Trần Thị Bình", "birth_year": 1965, "facts": {"phone_kind": "smart", "sim": "4g"}}
    items = [
        {"type": "visit", "uuid": str(uuid.uuid4()), "household": uuids["h12"], "recorded_at": now(2),
         "outcome": "met", "notes": "Chị Trần Thị Bình hẹn tuần sau", "met": [uuids["binh"]],
         "answers": [{"resident": uuids["binh"], "code": "vneid", "value": "done"},
                     {"resident": uuids["cuong"], "code": "epay", "value": "had"}],
         "facts": [{"resident": uuids["binh"], "field": "has_epay", "value": "yes"}]},
        correction,
    ]
    assert [r["status"] for r in sync(member, items)] == ["accepted", "accepted"]
    reused = dict(correction, full_name="Trần Thị Bình Nhì")  # the same UUID, other content: kept for review
    assert [r["status"] for r in sync(member, [reused])] == ["conflict"]
    return uuids


# --- Erasure on request ------------------------------------------------------------------------------------

def test_erasure_removes_the_name_everywhere_and_the_counters_do_not_move(as_user, app, area, runner):
    history_for_h12(app, area, as_user("member1"))
    with app.app_context():
        before = counted()
        answers = db.session.query(VisitAnswer).count()
    leader = as_user("leader1")
    path = f"/residents/{area['binh']}/xoa-du-lieu"
    assert "Trần Thị Bình" in leader.get(path).get_data(as_text=True)  # the confirmation names whom
    response = leader.post(path, data={"csrf_token": page_token(leader, path)})
    assert response.status_code == 303
    with app.app_context():
        binh = db.session.get(Resident, area["binh"])
        assert (binh.full_name, binh.name_key, binh.phone) == (ERASED_NAME, "", None)
        assert binh.erased_at is not None and binh.birth_year == 1965  # the age still counts
        after = counted()
        assert db.session.query(VisitAnswer).count() == answers
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "erase")).all()
        assert (entry.user_id, entry.entity_id) == (area["leader1"], area["binh"])
    assert after == before
    assert runner.invoke(args=["recompute"]).exit_code == 0
    with app.app_context():
        assert counted() == before
    kept = everything_kept(app)
    assert "Trần Thị Bình" not in kept and "tran thi binh" not in kept and PHONE not in kept
    assert "Nguyễn Văn An" in kept  # the others keep theirs
    household_page = leader.get(f"/households/{area['h12']}").get_data(as_text=True)
    assert "Trần Thị Bình" not in household_page and ERASED_NAME in household_page


@pytest.mark.parametrize("username, status", [("member1", 404), ("leader2", 404), ("staff_other", 404),
                                              ("staff", 200), ("admin", 200)])
def test_who_may_erase(as_user, area, username, status):
    assert as_user(username).get(f"/residents/{area['binh']}/xoa-du-lieu").status_code == status


def test_erasure_needs_the_csrf_token_and_then_changes_nothing(as_user, app, area):
    response = as_user("staff").post(f"/residents/{area['binh']}/xoa-du-lieu", data={})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Resident, area["binh"]).full_name == "Trần Thị Bình"


# --- Consent at the first visit ----------------------------------------------------------------------------

def visit_form(client, household_id: int) -> tuple[str, str, str]:
    page = client.get(f"/households/{household_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    visit_uuid = re.search(r'name="visit_uuid" type="hidden" value="([^"]+)"', page).group(1)
    return page, token, visit_uuid


def test_consent_is_asked_at_the_first_visit_and_recorded_with_who_and_when(as_user, app, area):
    member = as_user("member1")
    page, token, visit_uuid = visit_form(member, area["h2"])
    assert 'name="consent" value="yes"' in page and "/bao-ve-du-lieu" in page
    stamp = now()
    response = member.post(f"/households/{area['h2']}/visits", data={
        "csrf_token": token, "visit_uuid": visit_uuid, "recorded_at": stamp, "outcome": "met", "consent": "yes"})
    assert response.status_code == 303
    with app.app_context():
        household = db.session.get(Household, area["h2"])
        assert (household.consent, household.consent_by_id) == ("yes", area["member1"])
        assert household.consent_at.isoformat()[:16] == stamp[:16]
        assert db.session.get(Resident, area["dung"]).full_name == "Lê Thị Dung"
    page, _token, _uuid = visit_form(member, area["h2"])
    assert 'name="consent"' not in page and "Hộ đã đồng ý" in page


def test_a_bad_consent_answer_is_refused_and_nothing_is_saved(as_user, app, area):
    member = as_user("member1")
    _page, token, visit_uuid = visit_form(member, area["h2"])
    response = member.post(f"/households/{area['h2']}/visits", data={
        "csrf_token": token, "visit_uuid": visit_uuid, "recorded_at": now(), "outcome": "met", "consent": "maybe"})
    assert response.status_code == 422
    assert "đồng ý lưu dữ liệu không hợp lệ" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Visit).count() == 0
        assert db.session.get(Household, area["h2"]).consent is None


def test_a_household_that_refuses_offline_keeps_only_anonymous_counts(as_user, app, area, runner):
    member = as_user("member1")
    uuids = history_for_h12(app, area, member)
    with app.app_context():
        before = counted()
    refusal = {"type": "visit", "uuid": str(uuid.uuid4()), "household": uuids["h12"], "recorded_at": now(3),
               "outcome": "met", "notes": "Anh Nguyễn Văn An không muốn", "met": [], "answers": [], "facts": [],
               "consent": "no"}
    assert [r["status"] for r in sync(member, [refusal])] == ["accepted"]
    with app.app_context():
        household = db.session.get(Household, area["h12"])
        assert (household.consent, household.consent_by_id, household.head_name) == ("no", area["member1"], "")
        assert [r.full_name for r in household.residents] == [ERASED_NAME] * 3
        assert all(r.phone is None for r in household.residents)
        after = counted()
    # The counts are the visit's own (it reached the household): nothing else moved, and a recompute agrees.
    assert runner.invoke(args=["recompute"]).exit_code == 0
    with app.app_context():
        assert counted() == after
        assert {k: v for k, v in after[0].items() if k[0] != area["kp1"]} == \
            {k: v for k, v in before[0].items() if k[0] != area["kp1"]}
    kept = everything_kept(app)
    for name in H12_NAMES:
        assert name not in kept
    assert PHONE not in kept and "Lê Thị Dung" in kept  # another household keeps its names
    assert [r["status"] for r in sync(member, [refusal])] == ["duplicate"]  # a replay is still known


def test_refusing_erases_the_names_at_once_and_the_counters_stay_a_recompute(as_user, app, area, runner):
    member = as_user("member1")
    with app.app_context():
        h2a = db.session.get(Household, area["h2a"]).uuid
    visit = {"type": "visit", "uuid": str(uuid.uuid4()), "household": h2a, "recorded_at": now(), "outcome": "met",
             "notes": "", "met": [], "answers": [], "facts": []}
    sync(member, [visit])
    with app.app_context():
        with_names = counted()
    sync(member, [dict(visit, uuid=str(uuid.uuid4()), recorded_at=now(6), consent="no")])
    with app.app_context():
        assert db.session.get(Household, area["h2a"]).residents[0].full_name == ERASED_NAME
        without_names = counted()
    assert runner.invoke(args=["recompute"]).exit_code == 0
    with app.app_context():
        assert counted() == without_names == with_names  # a second "met" visit with no answers adds nothing


# --- The public page, and no location ---------------------------------------------------------------------

def test_the_data_protection_page_is_public_plain_and_linked(client, as_user, area):
    response = client.get("/bao-ve-du-lieu")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    page = response.get_data(as_text=True)
    for words in ("Nghị định 13/2023/NĐ-CP", "Luật Bảo vệ dữ liệu cá nhân", "Tổ ghi những gì", "Để làm gì",
                  "Ai được xem", "Giữ bao lâu", "yêu cầu xóa", "không dùng định vị GPS"):
        assert words in page, words
    assert "/bao-ve-du-lieu" in client.get("/login").get_data(as_text=True)
    assert "/bao-ve-du-lieu" in as_user("member1").get("/").get_data(as_text=True)  # the footer
    assert "/bao-ve-du-lieu" in client.get("/g/").get_data(as_text=True)


def test_no_template_or_script_asks_for_the_location(client):
    sources = [p for folder in ("templates", "static", "service_worker", "guides") for p in (ROOT / folder).rglob("*")
               if p.is_file() and p.suffix in (".html", ".js", ".md", ".json", ".webmanifest")]
    assert len(sources) > 20
    for path in sources:
        text = path.read_text(encoding="utf-8", errors="replace")
        for call in ("geolocation", "getCurrentPosition", "watchPosition"):
            assert call not in text, f"{path.relative_to(ROOT)} uses {call}"
    assert client.get("/login").headers["Permissions-Policy"] == "geolocation=()"


# --- No personal data in URLs, logs or error pages -------------------------------------------------------------

PAGES = ["/", "/search", "/team/", "/dashboard/", "/audit/", "/members/", "/training/", "/ho-tro/", "/outbox"]


def urls_in(page: str) -> list[str]:
    return re.findall(r'(?:href|action|src|hx-get|hx-post|hx-push-url)="([^"]*)"', page)


def test_no_name_or_phone_in_any_link_of_the_pages(as_user, app, area):
    with app.app_context():
        db.session.get(Resident, area["an"]).phone = PHONE
        db.session.commit()
        names = [r.full_name for r in db.session.scalars(select(Resident))]
        streets = [f"/streets/{area['nguyen_trai']}", f"/households/{area['h12']}", f"/residents/{area['an']}/edit"]
    for username in ("member1", "leader1", "staff"):
        client = as_user(username)
        for path in PAGES + streets:
            page = client.get(path).get_data(as_text=True)
            for url in urls_in(page):
                for secret in names + [PHONE, "nguyen-van-an", "nguyen+van"]:
                    assert secret.lower() not in url.lower(), (username, path, url)


def test_no_route_takes_a_name_or_phone_in_its_path(app):
    """Paths carry ids, slugs and file names only: a new route with a name in it must be a deliberate choice."""
    allowed = {"filename", "kind", "number", "slug", "month_text"}  # month_text: YYYY-MM
    for rule in app.url_map.iter_rules():
        for argument in rule.arguments:
            if rule._converters[argument].__class__.__name__ == "AnyConverter":
                continue  # one of a few fixed words, e.g. deactivate|reactivate
            assert argument.endswith("_id") or argument in allowed, (rule.rule, argument)
            assert rule._converters[argument].__class__.__name__ != "UnicodeConverter" or argument in allowed, \
                (rule.rule, argument)  # ids are integers: a name could not pass for one


def test_search_takes_its_words_in_the_body_never_in_the_url(as_user, area):
    member = as_user("member1")
    page = member.get("/search").get_data(as_text=True)
    assert re.search(r'<form class="search" method="post"', page)
    in_url = member.get("/search?q=nguyen+van+an").get_data(as_text=True)
    assert "Nguyễn Văn An" not in in_url  # a name in a query string finds nothing: no link can carry one
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    found = member.post("/search", data={"q": "nguyen van an", "csrf_token": token}).get_data(as_text=True)
    assert "Nguyễn Văn An" in found


def test_the_access_log_keeps_no_query_string_or_referer():
    settings: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), settings)
    fmt = settings["access_log_format"]
    assert "%(U)s" in fmt
    for leak in ("%(r)s", "%(q)s", "%(f)s", "%({"):
        assert leak not in fmt
    assert "--config gunicorn.conf.py" in (ROOT / "Makefile").read_text()


def test_error_pages_do_not_echo_what_was_sent(as_user, area):
    member = as_user("member1")
    missing = member.get("/households/999999?ten=Nguyen+Van+An&sdt=0912345678")
    assert missing.status_code == 404
    refused = member.post(f"/residents/{area['an']}/edit", data={"full_name": "Nguyễn Văn Anh", "phone": PHONE})
    assert refused.status_code == 400
    for response in (missing, refused):
        body = response.get_data(as_text=True)
        assert "Nguyen Van An" not in body and "Nguyễn Văn Anh" not in body and "0912345678" not in body
    api = member.post("/api/sync", json={"items": [{"type": "resident", "full_name": "Nguyễn Văn Anh"}]})
    assert api.status_code == 400 and "Nguyễn Văn Anh" not in api.get_data(as_text=True)  # no CSRF header
