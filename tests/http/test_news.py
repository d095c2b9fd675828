"""The news register: staff for their ward, a leader for their khu phố; months with no story are flagged."""
from datetime import date, timedelta

from visits.extensions import db
from visits.models import NewsStory
from visits.news import news_counts
from visits.registers import local_today

from tests.fixtures import csrf_token


def post_story(client, title="Người dân Khu phố 1 dùng VNeID", posted_on=None, khu_pho="0", url="", path="/news/"):
    posted_on = posted_on or local_today().isoformat()
    return client.post(path, data={"csrf_token": csrf_token(client, "/news/"), "title": title, "url": url,
                                   "posted_on": posted_on, "khu_pho_id": khu_pho})


def stories(app) -> list[tuple]:
    with app.app_context():
        return [(s.title, s.posted_on, s.khu_pho_id, s.ward_id, s.url)
                for s in db.session.query(NewsStory).order_by(NewsStory.id)]


def add_story(app, area, title, posted_on, khu_pho=None, ward="ward"):
    with app.app_context():
        story = NewsStory(ward_id=area[ward], khu_pho_id=area[khu_pho] if khu_pho else None, title=title,
                          posted_on=posted_on)
        db.session.add(story)
        db.session.commit()
        return story.id


def test_staff_add_edit_delete(as_user, area, app):
    client = as_user("staff")
    response = post_story(client, "Chợ Hạ Long bán hàng qua mã QR", "2026-03-05", str(area["kp2"]),
                          "https://honggai.example.vn/tin/cho-qr")
    assert response.status_code == 303 and response.headers["Location"].endswith("/news/?year=2026")
    assert post_story(client, "Cả phường ra quân chuyển đổi số", "2026-03-20").status_code == 303
    assert stories(app) == [
        ("Chợ Hạ Long bán hàng qua mã QR", date(2026, 3, 5), area["kp2"], area["ward"],
         "https://honggai.example.vn/tin/cho-qr"),
        ("Cả phường ra quân chuyển đổi số", date(2026, 3, 20), None, area["ward"], "")]
    page = client.get("/news/?year=2026").get_data(as_text=True)
    march = page.split('id="month-2026-03"')[1].split("</section>")[0]
    assert "2 tin bài" in march and "Toàn phường" in march and "Khu phố 2" in march
    assert march.index("Cả phường ra quân") < march.index("Chợ Hạ Long")  # newest first
    assert 'href="https://honggai.example.vn/tin/cho-qr"' in march

    with app.app_context():
        story_id = db.session.query(NewsStory.id).filter_by(posted_on=date(2026, 3, 5)).scalar()
    assert client.get(f"/news/{story_id}/edit").status_code == 200
    edited = post_story(client, "Chợ Hạ Long thanh toán không tiền mặt", "2026-04-02", str(area["kp1"]),
                        path=f"/news/{story_id}/edit")
    assert edited.status_code == 303
    assert stories(app)[0][:3] == ("Chợ Hạ Long thanh toán không tiền mặt", date(2026, 4, 2), area["kp1"])
    deleted = client.post(f"/news/{story_id}/delete", data={"csrf_token": csrf_token(client, "/news/")})
    assert deleted.status_code == 303
    assert [s[0] for s in stories(app)] == ["Cả phường ra quân chuyển đổi số"]


def test_a_month_without_news_is_flagged(as_user, area, app):
    add_story(app, area, "Tháng hai có tin", date(2025, 2, 10), "kp1")
    client = as_user("staff")
    page = client.get("/news/?year=2025").get_data(as_text=True)
    assert "Tháng 01/2025 chưa có tin bài nào" in page
    assert "Tháng 02/2025 chưa có tin bài nào" not in page
    assert "Tháng 12/2025 chưa có tin bài nào" in page
    assert page.count("chưa có tin bài nào") == 11
    assert page.index("Tháng 12/2025") < page.index("Tháng 02/2025") < page.index("Tháng 01/2025")
    this_month = local_today().strftime("%m/%Y")
    current = client.get("/news/").get_data(as_text=True)
    assert f"Tháng {this_month} chưa có tin bài nào (tháng đang diễn ra)" in current
    next_month = (local_today().replace(day=28) + timedelta(days=5)).strftime("%m/%Y")
    assert f"Tháng {next_month}" not in current  # months to come are not listed


def test_leader_keeps_their_own_khu_pho_only(as_user, area, app):
    mine = add_story(app, area, "Tin của Khu phố 1", date(2026, 1, 5), "kp1")
    theirs = add_story(app, area, "Tin của Khu phố 2", date(2026, 1, 6), "kp2")
    ward_wide = add_story(app, area, "Tin toàn phường", date(2026, 1, 7))
    client = as_user("leader1")
    page = client.get("/news/?year=2026").get_data(as_text=True)
    assert "Tin của Khu phố 1" in page and "Tin của Khu phố 2" not in page and "Tin toàn phường" not in page
    assert f'<option value="{area["kp1"]}"' in page and f'value="{area["kp2"]}"' not in page
    assert 'value="0"' not in page  # a leader cannot post for the whole ward
    assert client.get(f"/news/{theirs}/edit").status_code == 404
    assert client.get(f"/news/{ward_wide}/edit").status_code == 404
    assert client.post(f"/news/{theirs}/delete", data={"csrf_token": csrf_token(client, "/news/")}).status_code == 404
    assert post_story(client, "Giả mạo", "2026-01-09", str(area["kp2"])).status_code == 404
    assert post_story(client, "Giả mạo toàn phường", "2026-01-09", "0").status_code == 404
    assert post_story(client, "Tin mới của Khu phố 1", "2026-01-09", str(area["kp1"])).status_code == 303
    assert client.get(f"/news/{mine}/edit").status_code == 200
    assert [s[0] for s in stories(app)] == ["Tin của Khu phố 1", "Tin của Khu phố 2", "Tin toàn phường",
                                           "Tin mới của Khu phố 1"]
    assert stories(app)[3][3] == area["ward"]


def test_out_of_scope_and_wrong_roles_answer_404(as_user, area, app, client):
    story = add_story(app, area, "Tin của phường", date(2026, 1, 5))
    other_ward = add_story(app, area, "Tin phường khác", date(2026, 1, 5), "kp9", ward="ward")
    member = as_user("member1")
    assert member.get("/news/").status_code == 404
    assert member.get(f"/news/{story}/edit").status_code == 404
    member.post("/logout", data={"csrf_token": csrf_token(member, "/")})
    other = as_user("staff_other")
    assert other.get(f"/news/{story}/edit").status_code == 404
    assert other.post(f"/news/{story}/delete", data={"csrf_token": csrf_token(other, "/news/")}).status_code == 404
    assert post_story(other, "Sang phường khác", "2026-01-09", str(area["kp1"])).status_code == 404
    assert len(stories(app)) == 2 and other_ward


def test_invalid_or_forged_forms_change_nothing(as_user, area, app):
    story = add_story(app, area, "Tin gốc", date(2026, 1, 5))
    client = as_user("staff")
    no_token = client.post("/news/", data={"title": "Không có mã", "posted_on": "2026-01-01", "khu_pho_id": "0"})
    assert no_token.status_code == 400
    for fields, message in [
        ({"title": ""}, "Hãy nhập tiêu đề tin bài."),
        ({"posted_on": "2099-01-01"}, "Ngày không thể ở tương lai."),
        ({"posted_on": "2019-12-31"}, "trước năm 2020"),
        ({"posted_on": "31/02/2026"}, "Ngày không hợp lệ."),
        ({"url": "javascript:alert(1)"}, "Đường dẫn không hợp lệ"),
        ({"url": "ftp://honggai.example.vn/a"}, "http:// hoặc https://"),
    ]:
        data = {"title": "Tin", "posted_on": "2026-01-09", "khu_pho": "0", "url": "", **fields}
        response = post_story(client, data["title"], data["posted_on"], data["khu_pho"], data["url"])
        assert response.status_code == 400, fields
        assert message in response.get_data(as_text=True), fields
        edit = post_story(client, data["title"], data["posted_on"], data["khu_pho"], data["url"],
                          path=f"/news/{story}/edit")
        assert edit.status_code == 400, fields
    assert stories(app) == [("Tin gốc", date(2026, 1, 5), None, area["ward"], "")]
    assert client.post(f"/news/{story}/delete").status_code == 400  # no CSRF token
    assert len(stories(app)) == 1


def test_news_counts_for_the_report(app, area):
    add_story(app, area, "a", date(2026, 10, 15), "kp1")
    add_story(app, area, "b", date(2026, 11, 14), "kp1")
    add_story(app, area, "c", date(2026, 11, 1))
    add_story(app, area, "d", date(2026, 11, 15), "kp2")  # after the period
    add_story(app, area, "e", date(2026, 10, 14), "kp2")  # before it
    with app.app_context():
        counts = news_counts(area["ward"], date(2026, 10, 15), date(2026, 11, 14))
    assert counts == {area["kp1"]: 2, area["kp2"]: 0, None: 1}
    assert sum(counts.values()) == 3
