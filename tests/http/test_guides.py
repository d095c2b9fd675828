"""Residents' guides, QR codes, scan counts and "Nhờ Tổ hỗ trợ", over HTTP.

Public pages: no login, no cookie, no resident's data, small. QR codes decode (zbarimg) to their URLs. Scans
are counted per code, tag and day with nothing about the person. Help requests: consent, spam traps, rate
limit, and the leader's to-do list, scoped like the rest of the app.
"""
import gzip
import os
import re
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from visits.demo_data import build_demo_ward
from visits.extensions import db
from visits.guide_content import GuideLibrary, check_folder, parse_guide
from visits.models import ChecklistItem, HelpRequest, Household, KhuPho, QrScan, Resident, User, Visit

from tests.fixtures import csrf_token, login

GUIDES = Path(__file__).resolve().parents[2] / "guides"
NINE = {"vneid", "vssid", "dich-vu-cong", "buu-chinh-cong-ich", "thanh-toan-dien-tu", "thuong-mai-dien-tu",
        "chuyen-4g", "lua-dao", "cong-thong-tin"}
PAGE_BUDGET = 40 * 1024  # a guide's first load, compressed, HTML + CSS + JS + icons


def public_paths(area) -> list[str]:
    paths = ["/g/", "/g/vneid/qr.svg", "/g/vneid/qr.png", "/g/khong-co", f"/k/{area['kp1']}",
             f"/k/{area['kp2']}", f"/k/{area['kp1']}/qr.png", f"/k/{area['kp1']}/ho-tro/da-gui"]
    for slug in sorted(NINE):
        paths += [f"/g/{slug}", f"/g/{slug}?src=tr-k{area['kp1']}", f"/g/{slug}/cam-tay", f"/g/{slug}/cam-tay?buoc=3"]
    return paths


# --- The guides themselves ------------------------------------------------------------------------

def test_nine_guides_exist_and_every_checklist_item_links_to_one(client, app):
    with app.app_context():
        slugs = set(db.session.scalars(select(ChecklistItem.guide_slug)))
    assert slugs <= NINE and "" not in slugs
    index = client.get("/g/").get_data(as_text=True)
    for slug in NINE:
        assert f'href="/g/{slug}"' in index, slug
        page = client.get(f"/g/{slug}")
        assert page.status_code == 200, slug
        assert re.search(r"<ol class=\"steps\">\s*<li>", page.get_data(as_text=True)), slug


def test_guide_files_are_valid_plain_vietnamese_with_unverified_facts_marked():
    assert check_folder(GUIDES) == []
    guides = {g.slug: g for g in GuideLibrary(GUIDES).all()}
    assert set(guides) == NINE
    for guide in guides.values():
        assert re.search(r"[ăâđêôơưáàảãạếềểễệốồổỗộớờởỡợ]", guide.title.lower()), guide.title  # full diacritics
        assert guide.before and guide.contacts is not None, guide.slug  # what to have ready; where to call
        assert any(section.sources for section in guide.after), f"{guide.slug} names no source"
        assert all(len(step.text) <= 120 for step in guide.steps)
        assert guide.checked
    # Facts the domain notes could not confirm stay marked until someone checks them at the source.
    for slug, fact in [("vneid", "1900 0368"), ("vssid", "1900 9068"), ("dich-vu-cong", "1800 1096"),
                       ("buu-chinh-cong-ich", "1900 54 54 81"), ("dich-vu-cong", "dichvucong.quangninh.gov.vn")]:
        assert any(fact in line for line in guides[slug].unverified), (slug, fact)
    # ...and facts checked against a source are not marked.
    assert not any("tinnhiemmang" in line for line in guides["lua-dao"].unverified)
    page = (GUIDES / "vneid.md").read_text()
    assert "1900 0368" in page


def test_a_guide_file_cannot_inject_markup_and_bad_files_are_named():
    text = "---\ntitle: Thử\n---\n## Các bước\n1. <script>alert(1)</script> **đậm**\n2. [x](javascript:alert(1))\n"
    guide = parse_guide("thu", text)
    html = str(guide.steps[0].line) + str(guide.steps[1].line)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<strong>đậm</strong>" in html
    assert 'href="javascript' not in html
    with pytest.raises(ValueError, match="thu.md: .*title"):
        parse_guide("thu", "---\nsummary: x\n---\n## Các bước\n1. a\n2. b\n")
    with pytest.raises(ValueError, match="numbered steps"):
        parse_guide("thu", "---\ntitle: Thử\n---\n## Chỉ có chữ\nkhông có bước\n")
    with pytest.raises(ValueError, match="ASCII"):
        parse_guide("chuyển-4g", "---\ntitle: Thử\n---\n## Các bước\n1. a\n2. b\n")


def test_staff_edit_a_file_and_the_page_changes_without_a_restart(client, app, tmp_path, runner):
    folder = tmp_path / "guides"
    shutil.copytree(GUIDES, folder)
    app.extensions["guides"] = GuideLibrary(folder, rescan_seconds=0)
    app.config["GUIDES_DIR"] = str(folder)
    path = folder / "chuyen-4g.md"
    path.write_text(path.read_text().replace("Gọi thử, nhắn tin thử", "Gọi thử cho con cháu"))
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert "Gọi thử cho con cháu" in client.get("/g/chuyen-4g").get_data(as_text=True)
    assert runner.invoke(args=["guides", "check"]).exit_code == 0
    (folder / "moi.md").write_text("---\ntitle: Mới\n---\nkhông có bước nào\n")
    path.write_text("---\nsummary: đang sửa dở\n---\n")  # a half-finished edit
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 10))
    result = runner.invoke(args=["guides", "check"])
    assert result.exit_code == 1 and "moi.md" in result.output and "chuyen-4g.md" in result.output
    assert "Gọi thử cho con cháu" in client.get("/g/chuyen-4g").get_data(as_text=True)  # the last good version
    assert client.get("/g/moi").status_code == 404 and client.get("/g/").status_code == 200


# --- Public pages ---------------------------------------------------------------------------------

def test_public_pages_need_no_login_and_set_no_cookie(client, area):
    for path in public_paths(area):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert response.status_code == 200 or path == "/g/khong-co", path
        assert "Set-Cookie" not in response.headers, path
        assert "/login" not in response.headers.get("Location", ""), path
    assert client.get("/g/khong-co").status_code == 404
    assert client.get("/k/999999").status_code == 404


def test_only_the_help_form_sets_a_cookie_for_its_csrf_token(client, area):
    response = client.get(f"/k/{area['kp1']}/ho-tro")
    assert response.status_code == 200 and "Set-Cookie" in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def resident_data(app) -> list[str]:
    with app.app_context():
        names = set(db.session.scalars(select(Resident.full_name))) | set(db.session.scalars(select(Household.head_name)))
        names |= {n for n in db.session.scalars(select(User.full_name)) if n}
        addresses = {f"{h.house_number}, {h.street.name}" for h in db.session.scalars(select(Household))}
    return sorted(n for n in names | addresses if n)


def test_public_pages_never_show_residents_data(client, app, area):
    secrets = resident_data(app)
    assert "Nguyễn Văn An" in secrets and len(secrets) > 10
    for path in public_paths(area) + [f"/k/{area['kp1']}/ho-tro"]:
        if path.endswith(".png"):
            continue
        page = client.get(path).get_data(as_text=True)
        shown = [s for s in secrets if s in page]
        assert not shown, (path, shown)


def test_khu_pho_pages_of_the_demo_ward_show_no_ones_name(client, app):
    with app.app_context():
        build_demo_ward(households=150)
        places = db.session.scalars(select(KhuPho.id)).all()
    secrets = resident_data(app)
    assert len(secrets) > 300
    for place in places:
        for path in (f"/k/{place}", f"/k/{place}/ho-tro"):
            page = client.get(path).get_data(as_text=True)
            assert not [s for s in secrets if s in page], path


class Assets(HTMLParser):
    """The files a page makes the browser fetch: stylesheets, scripts, icons, images."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") in ("stylesheet", "icon", "manifest"):
            self.urls.append(attrs["href"])
        elif tag in ("script", "img") and attrs.get("src") and attrs.get("loading") != "lazy":
            self.urls.append(attrs["src"])


def first_load_bytes(client, path: str) -> tuple[int, list[str]]:
    """Bytes on the wire for a page and everything it loads, gzip-compressed as the server sends them."""
    headers = {"Accept-Encoding": "gzip"}
    page = client.get(path, headers=headers)
    assert page.status_code == 200 and page.headers.get("Content-Encoding") == "gzip", path
    parser = Assets()
    parser.feed(gzip.decompress(page.data).decode())
    total = len(page.data)
    for url in parser.urls:
        with client.get(url, headers=headers) as asset:
            assert asset.status_code == 200, url
            total += len(asset.data)  # compressed when the server compresses it (text), as is for PNG
    return total, parser.urls


def test_a_guide_page_first_load_is_within_40_kb_compressed(client):
    for slug in sorted(NINE):
        for path in (f"/g/{slug}", f"/g/{slug}/cam-tay"):
            total, urls = first_load_bytes(client, path)
            assert any(u.endswith("guide.css") for u in urls) and any(u.endswith("guide.js") for u in urls)
            assert not any("htmx" in u or "app.js" in u for u in urls), urls
            assert total <= PAGE_BUDGET, f"{path}: {total} bytes"


# --- QR codes -------------------------------------------------------------------------------------

def zbar(image: bytes, suffix: str, tmp_path) -> list[str]:
    """Decode every QR code in an image with Debian's zbarimg, the reader CI installs."""
    if not shutil.which("zbarimg"):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("zbarimg is missing (apt-get install zbar-tools)")
        pytest.skip("zbarimg is missing (apt-get install zbar-tools)")
    path = tmp_path / f"code{suffix}"
    path.write_bytes(image)
    result = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_every_qr_code_decodes_back_to_its_url(client, area, tmp_path):
    kp1 = area["kp1"]
    for slug in sorted(NINE):
        for kind in ("png", "svg"):
            response = client.get(f"/g/{slug}/qr.{kind}?src=tr-k{kp1}")
            assert response.mimetype == ("image/png" if kind == "png" else "image/svg+xml")
            assert zbar(response.data, f".{kind}", tmp_path) == [f"http://localhost/g/{slug}?src=tr-k{kp1}"]
    for kind in ("png", "svg"):
        code = client.get(f"/k/{kp1}/qr.{kind}?src=zl-k{kp1}").data
        assert zbar(code, f".{kind}", tmp_path) == [f"http://localhost/k/{kp1}?src=zl-k{kp1}"]
    # A tag that is not ours is left off, so a printed code never carries junk.
    junk = client.get("/g/vneid/qr.png?src=%3Cscript%3E").data
    assert zbar(junk, ".png", tmp_path) == ["http://localhost/g/vneid"]


def test_codes_carry_the_public_address_when_one_is_set(client, app, area, tmp_path):
    app.config["PUBLIC_URL"] = "https://tocnscd.example.vn/"
    code = client.get(f"/g/lua-dao/qr.png?src=mc-p{area['ward']}").data
    assert zbar(code, ".png", tmp_path) == [f"https://tocnscd.example.vn/g/lua-dao?src=mc-p{area['ward']}"]


# --- Scan counts ----------------------------------------------------------------------------------

def test_scans_are_counted_per_code_tag_and_day_and_nothing_else(client, app, area):
    kp1 = area["kp1"]
    for _ in range(2):
        response = client.get(f"/g/vneid?src=tr-k{kp1}", headers={"User-Agent": "Zalo", "X-Forwarded-For": "1.2.3.4"})
        assert response.headers["Cache-Control"] == "no-cache" and "Set-Cookie" not in response.headers
    client.get(f"/k/{kp1}?src=zl-k{kp1}")
    for junk in ("tr-k999999", "zz", "tr-k1;drop", ""):
        client.get(f"/g/vneid?src={junk}")
    client.get("/g/vneid")
    with app.app_context():
        rows = {(r.code, r.tag, r.count, r.ward_id, r.khu_pho_id) for r in db.session.scalars(select(QrScan))}
        days = set(db.session.scalars(select(QrScan.day)))
        columns = {c["name"] for c in inspect(db.engine).get_columns("qr_scan")}
    assert rows == {("g/vneid", f"tr-k{kp1}", 2, area["ward"], kp1), (f"k/{kp1}", f"zl-k{kp1}", 1, area["ward"], kp1)}
    assert len(days) == 1 and abs((days.pop() - date.today()).days) <= 1
    assert columns == {"id", "code", "tag", "day", "count", "ward_id", "khu_pho_id"}


def add_scans(app, area):
    with app.app_context():
        today = date.today()
        db.session.add_all([
            QrScan(code="g/vneid", tag=f"tr-k{area['kp1']}", day=today, count=3, ward_id=area["ward"], khu_pho_id=area["kp1"]),
            QrScan(code="g/lua-dao", tag=f"tr-k{area['kp2']}", day=today, count=5, ward_id=area["ward"], khu_pho_id=area["kp2"]),
            QrScan(code="g/vssid", tag=f"mc-p{area['ward']}", day=today, count=7, ward_id=area["ward"]),
            QrScan(code="g/chuyen-4g", tag=f"tr-k{area['kp9']}", day=today, count=11, khu_pho_id=area["kp9"],
                   ward_id=db.session.get(KhuPho, area["kp9"]).ward_id)])
        db.session.commit()


@pytest.mark.parametrize("username, seen, unseen", [
    ("staff", ["Cài và kích hoạt VNeID mức 2", "Nhận diện lừa đảo trực tuyến", "Dùng VssID"], ["Chuyển SIM"]),
    ("leader1", ["Cài và kích hoạt VNeID mức 2"], ["Nhận diện lừa đảo", "Dùng VssID", "Chuyển SIM"]),
    ("staff_other", ["Chuyển SIM, máy 2G sang 4G"], ["Cài và kích hoạt VNeID", "Nhận diện lừa đảo", "Dùng VssID"]),
])
def test_staff_see_the_scans_of_their_own_place(as_user, app, area, username, seen, unseen):
    add_scans(app, area)
    page = as_user(username).get("/qr/luot-quet").get_data(as_text=True)
    for text in seen:
        assert text in page, (username, text)
    for text in unseen:
        assert text not in page, (username, text)


def test_members_and_anonymous_cannot_see_staff_pages(client, as_user, area):
    staff_pages = ["/qr/", "/qr/luot-quet", "/qr/in/huong-dan", f"/qr/in/khu-pho/{area['kp1']}", "/ho-tro/",
                   f"/qr/khu-pho/{area['kp1']}/lien-he"]
    for path in staff_pages:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    member = as_user("member1")
    for path in staff_pages:
        assert member.get(path).status_code == 404, path


# --- Printable sheets and the khu phố contact -------------------------------------------------------

def test_print_sheets_carry_a_tag_of_the_users_place_and_stay_in_scope(as_user, area):
    staff = as_user("staff")
    sheet = staff.get("/qr/in/huong-dan").get_data(as_text=True)
    assert sheet.count(f"/qr.svg?src=mc-p{area['ward']}") == 9
    sheet = staff.get(f"/qr/in/huong-dan?kenh=zl&noi=k{area['kp2']}").get_data(as_text=True)
    assert sheet.count(f"src=zl-k{area['kp2']}") == 9 and "Khu phố 2" in sheet
    flyer = staff.get(f"/qr/in/khu-pho/{area['kp1']}").get_data(as_text=True)
    assert f"/k/{area['kp1']}/qr.svg?src=tr-k{area['kp1']}" in flyer and flyer.count("/qr.svg") == 10
    assert staff.get(f"/qr/in/khu-pho/{area['kp9']}").status_code == 404
    assert staff.get(f"/qr/in/huong-dan?noi=k{area['kp9']}").status_code == 404
    assert staff.get("/qr/in/huong-dan?kenh=xx").status_code == 404


def test_a_leader_prints_only_for_their_khu_pho(client, as_user, area):
    leader = as_user("leader1")
    assert f"src=tr-k{area['kp1']}" in leader.get("/qr/in/huong-dan").get_data(as_text=True)
    assert leader.get(f"/qr/in/huong-dan?noi=k{area['kp2']}").status_code == 404
    assert leader.get(f"/qr/in/huong-dan?noi=p{area['ward']}").status_code == 404
    assert leader.get(f"/qr/in/khu-pho/{area['kp2']}").status_code == 404
    assert leader.get(f"/qr/in/khu-pho/{area['kp1']}").status_code == 200


def test_a_leader_sets_how_residents_reach_the_team(client, as_user, area):
    leader = as_user("leader1")
    path = f"/qr/khu-pho/{area['kp1']}/lien-he"
    for bad_link in ("zalo nhóm", "javascript://zalo.me/%0Aalert(1)"):
        bad = leader.post(path, data={"csrf_token": csrf_token(leader, path), "zalo_url": bad_link})
        assert bad.status_code == 400, bad_link
    saved = leader.post(path, data={"csrf_token": csrf_token(leader, path), "meeting_place": "Nhà văn hóa khu phố 1",
                                    "meeting_time": "Tối thứ Bảy, 19:00–21:00", "zalo_url": "https://zalo.me/g/abc123"})
    assert saved.status_code == 303
    public = client.get(f"/k/{area['kp1']}").get_data(as_text=True)
    assert "Nhà văn hóa khu phố 1" in public and 'href="https://zalo.me/g/abc123"' in public
    assert "Nhà văn hóa khu phố 1" not in client.get(f"/k/{area['kp2']}").get_data(as_text=True)
    assert leader.get(f"/qr/khu-pho/{area['kp2']}/lien-he").status_code == 404


# --- "Nhờ Tổ hỗ trợ" ------------------------------------------------------------------------------

def help_data(client, place, **overrides) -> dict:
    path = f"/k/{place}/ho-tro"
    page = client.get(path).get_data(as_text=True)
    started = re.search(r'id="started" name="started" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(client, path), "started": started, "address": "12 Nguyễn Trãi",
            "phone": "0912 345 678", "need": "vneid", "details": "Bà cụ 80 tuổi, nghe kém", "consent": "y",
            "website": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def help_requests(app) -> list[HelpRequest]:
    with app.app_context():
        rows = db.session.scalars(select(HelpRequest).order_by(HelpRequest.id)).all()
        db.session.expunge_all()
        return rows


@pytest.fixture
def quick_form(app):
    app.config["HELP_MIN_FILL_SECONDS"] = 0
    return app


def test_a_resident_asks_for_help_and_that_khu_phos_leader_sees_it(client, quick_form, as_user, area):
    app = quick_form
    response = client.post(f"/k/{area['kp1']}/ho-tro", data=help_data(client, area["kp1"]))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/k/{area['kp1']}/ho-tro/da-gui")
    [saved] = help_requests(app)
    assert (saved.khu_pho_id, saved.address, saved.phone, saved.need, saved.status) == \
        (area["kp1"], "12 Nguyễn Trãi", "0912345678", "vneid", "open")
    assert saved.consent_at is not None
    leader = as_user("leader1")
    todo = leader.get("/ho-tro/").get_data(as_text=True)
    assert "12 Nguyễn Trãi" in todo and 'href="tel:0912345678"' in todo and "Bà cụ 80 tuổi" in todo
    assert "Người dân nhờ hỗ trợ: 1 đang chờ" in leader.get("/team/").get_data(as_text=True)
    assert f'value="{area["h12"]}"' in todo  # the household the address points to is offered


@pytest.mark.parametrize("username", ["leader2", "staff_other"])
def test_other_places_do_not_see_the_request(client, quick_form, as_user, area, username):
    client.post(f"/k/{area['kp1']}/ho-tro", data=help_data(client, area["kp1"]))
    assert "0912345678" not in as_user(username).get("/ho-tro/").get_data(as_text=True)


def test_help_is_refused_without_consent(client, quick_form, area):
    response = client.post(f"/k/{area['kp1']}/ho-tro", data=help_data(client, area["kp1"], consent=None))
    assert response.status_code == 400
    assert "Cần đồng ý thì Tổ mới được dùng số điện thoại" in response.get_data(as_text=True)
    assert help_requests(quick_form) == []


def test_help_is_refused_with_a_wrong_phone_or_no_address(client, quick_form, area):
    for bad in ({"phone": "12345"}, {"address": ""}):
        response = client.post(f"/k/{area['kp1']}/ho-tro", data=help_data(client, area["kp1"], **bad))
        assert response.status_code == 400, bad
    assert help_requests(quick_form) == []


def test_help_is_refused_past_the_rate_limit(client, quick_form, area):
    quick_form.config["RATELIMIT_HELP"] = "3 per hour"
    for n in range(3):
        data = help_data(client, area["kp1"], address=f"{n + 1} Lê Lợi")
        assert client.post(f"/k/{area['kp1']}/ho-tro", data=data).status_code == 303
    blocked = client.post(f"/k/{area['kp1']}/ho-tro", data=help_data(client, area["kp1"], address="9 Lê Lợi"))
    assert blocked.status_code == 429 and "Đã gửi quá nhiều yêu cầu" in blocked.get_data(as_text=True)
    assert [r.address for r in help_requests(quick_form)] == ["1 Lê Lợi", "2 Lê Lợi", "3 Lê Lợi"]


def test_spam_traps_keep_bots_out(client, app, area):
    path = f"/k/{area['kp1']}/ho-tro"
    app.config["HELP_MIN_FILL_SECONDS"] = 60
    too_fast = client.post(path, data=help_data(client, area["kp1"]))
    assert too_fast.status_code == 400 and "Gửi nhanh quá" in too_fast.get_data(as_text=True)
    app.config["HELP_MIN_FILL_SECONDS"] = 0
    trapped = client.post(path, data=help_data(client, area["kp1"], website="http://spam.example"))
    assert trapped.status_code == 303  # told it worked...
    forged = client.post(path, data=help_data(client, area["kp1"], started="abc.def"))
    assert forged.status_code == 400
    other_place = client.post(path, data=help_data(client, area["kp1"], started=re.search(
        r'name="started" type="hidden" value="([^"]+)"', client.get(f"/k/{area['kp2']}/ho-tro").get_data(as_text=True)).group(1)))
    assert other_place.status_code == 400
    no_token = client.post(path, data=help_data(client, area["kp1"], csrf_token=""))
    assert no_token.status_code == 400
    assert help_requests(app) == []  # ...and nothing was kept


def test_the_leader_closes_a_request_with_the_visited_household_and_the_phone_is_erased(client, quick_form, as_user, area):
    client.post(f"/k/{area['kp1']}/ho-tro", data=help_data(client, area["kp1"]))
    [req] = help_requests(quick_form)
    leader2 = quick_form.test_client()
    assert login(leader2, "leader2").status_code == 302
    token = csrf_token(leader2, "/ho-tro/")
    assert leader2.post(f"/ho-tro/{req.id}/dong", data={"csrf_token": token}).status_code == 404
    leader = as_user("leader1")
    token = csrf_token(leader, "/ho-tro/")
    wrong_place = leader.post(f"/ho-tro/{req.id}/dong", data={"csrf_token": token, "household_id": area["h_hl"]})
    assert wrong_place.status_code == 404
    closed = leader.post(f"/ho-tro/{req.id}/dong", data={"csrf_token": token, "household_id": area["h12"],
                                                         "outcome": "Đã kích hoạt VNeID mức 2"})
    assert closed.status_code == 303
    [req] = help_requests(quick_form)
    assert (req.status, req.phone, req.household_id, req.outcome) == ("closed", "", area["h12"], "Đã kích hoạt VNeID mức 2")
    todo = leader.get("/ho-tro/").get_data(as_text=True)
    assert "0912345678" not in todo and f'href="/households/{area["h12"]}"' in todo
    with quick_form.app_context():
        assert db.session.query(Visit).count() == 0


# --- The member at the door ----------------------------------------------------------------------

def test_each_checklist_item_links_to_its_guide_and_the_hands_on_mode(as_user, area):
    page = as_user("member1").get(f"/households/{area['h12']}").get_data(as_text=True)
    for slug in ("vneid", "dich-vu-cong", "chuyen-4g", "thanh-toan-dien-tu"):
        assert f'href="/g/{slug}/cam-tay?k={area["kp1"]}"' in page and f'href="/g/{slug}"' in page, slug


def test_the_hands_on_code_carries_the_members_khu_pho(client, area):
    tagged = client.get(f"/g/vssid/cam-tay?k={area['kp1']}").get_data(as_text=True)
    assert f'src="/g/vssid/qr.svg?src=ct-k{area["kp1"]}"' in tagged
    for junk in ("999999", "abc"):
        assert 'src="/g/vssid/qr.svg?src=ct"' in client.get(f"/g/vssid/cam-tay?k={junk}").get_data(as_text=True)


def test_hands_on_mode_walks_by_plain_links_without_javascript(client):
    page = client.get("/g/vneid/cam-tay?buoc=3").get_data(as_text=True)
    slides = re.findall(r'<section class="slide" data-slide data-label="([^"]+)"( hidden)?>', page)
    assert len(slides) == 11  # what to prepare, nine steps, done
    assert [label for label, hidden in slides if not hidden] == ["Bước 3/9"]
    assert 'href="?buoc=2"' in page and 'href="?buoc=4"' in page
    assert "Đến Công an phường để đăng ký tài khoản mức 2." in re.search(
        r'data-label="Bước 3/9">(.*?)</section>', page, re.S).group(1)
    last = client.get("/g/vneid/cam-tay?buoc=99").get_data(as_text=True)
    assert re.search(r'data-label="Xong">', last) and 'src="/g/vneid/qr.svg?src=ct"' in last
