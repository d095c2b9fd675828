"""Exports hold the numbers computed by hand for the small ward, only within the user's scope, in files Excel reads."""
import csv
import io
import re
import subprocess
import sys
import uuid
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from visits.checklist import plan_items, plan_rules
from visits.exports import audit, jobs
from visits.exports.run import record
from visits.extensions import db
from visits.models import AuditEntry, ExportJob, Household, User
from visits.recording import VisitInput, record_visit

from tests.fixtures import csrf_token

# Stored in UTC: 2024-03-01 23:30 UTC is 2 March 06:30 in Vietnam.
EARLY = datetime(2024, 3, 1, 23, 30)
LATE = datetime(2024, 5, 10, 3, 0)


@pytest.fixture
def app_config(tmp_path):
    return {"EXPORT_FOLDER": str(tmp_path / "exports")}


def visit(app, area, household, answers, at, member="member1", outcome="met", notes=""):
    with app.app_context():
        record_visit(db.session.get(User, area[member]), db.session.get(Household, area[household]),
                     VisitInput(uuid=str(uuid.uuid4()), recorded_at=at, outcome=outcome, notes=notes,
                                answers=answers), plan_items(), plan_rules())
        db.session.commit()


@pytest.fixture
def visited(app, area):
    """Three visits in KP1 (two in March, one in May) and one in KP2."""
    visit(app, area, "h12", [(area["cuong"], "dx_informed", "done"), (area["an"], "sim4g", "declined"),
                             (None, "ecommerce_guide", "done")], EARLY, notes="=1+1 không phải công thức")
    visit(app, area, "h2", [(area["dung"], "dx_informed", "later")], EARLY.replace(hour=23, minute=50))
    visit(app, area, "h2a", [], LATE, outcome="nobody_home")
    visit(app, area, "h_hl", [(area["lan"], "vneid", "done")], LATE, member="member2")
    return area


def post(client, **form):
    data = {"csrf_token": csrf_token(client, "/exports/"), "kind": "summary", "format": "xlsx", "khu_pho": "0",
            **form}
    return client.post("/exports/", data=data)


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    body = response.get_data()
    response.close()  # as a WSGI server does: the temporary file goes
    return load_workbook(io.BytesIO(body))


def sheet_rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def as_dicts(rows: list[list]) -> list[dict]:
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data()
    response.close()
    assert body.startswith(b"\xef\xbb\xbf")  # the UTF-8 byte-order mark, so Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_members_have_no_exports(as_user, area):
    client = as_user("member1")
    assert client.get("/exports/").status_code == 404
    token = csrf_token(client, "/")
    assert client.post("/exports/", data={"kind": "visits", "format": "csv", "csrf_token": token}).status_code == 404


def test_summary_holds_the_dashboard_numbers_of_the_ward_only(as_user, visited):
    book = workbook(post(as_user("staff"), kind="summary"))
    rows = as_dicts(sheet_rows(book["Tổng hợp"]))
    assert [r["Khu phố"] for r in rows] == ["Khu phố 1", "Khu phố 2", "Tổng cộng"]  # not KP9 of another ward
    kp1, kp2, total = rows
    assert (kp1["Hộ đã thăm"], kp1["Tổng số hộ"]) == (3, 5)
    # Target 7 as on the dashboard: Cường informed of 7 residents in KP1; none of 1 in KP2.
    assert (kp1["CT 7: đạt"], kp1["CT 7: tổng"], kp1["CT 7: tỉ lệ (%)"]) == (1, 7, 14.3)
    assert (kp2["CT 7: đạt"], kp2["CT 7: tổng"]) == (0, 1)
    assert (total["CT 7: đạt"], total["CT 7: tổng"], total["CT 7: tỉ lệ (%)"]) == (1, 8, 12.5)
    assert (kp1["CT 2: đạt"], kp1["CT 2: tổng"]) == (1, 5)  # h12 guided on e-commerce


def test_a_leader_exports_only_their_khu_pho(as_user, visited):
    client = as_user("leader1")
    rows = as_dicts(sheet_rows(workbook(post(client, kind="summary"))["Tổng hợp"]))
    assert [r["Khu phố"] for r in rows] == ["Khu phố 1", "Tổng cộng"]
    refused = post(client, kind="visits", khu_pho=str(visited["kp2"]))
    assert refused.status_code == 422 and "Khu phố 2" not in refused.get_data(as_text=True)
    visits = csv_rows(post(client, kind="visits", format="csv"))
    assert {row[2] for row in visits[1:]} == {"Khu phố 1"}
    assert len(visits) == 1 + 3


def test_staff_of_another_ward_see_none_of_this_ward(as_user, visited):
    rows = csv_rows(post(as_user("staff_other"), kind="visits", format="csv"))
    assert rows == [rows[0]]  # the header alone: KP9 has no visits, and KP1/KP2 are not theirs


def test_raw_visits_csv_round_trips_diacritics_and_filters_by_date_and_khu_pho(as_user, visited):
    client = as_user("staff")
    rows = csv_rows(post(client, kind="visits", format="csv"))
    header, body = rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]
    assert header[:3] == ["Mã lần thăm", "Thời điểm (giờ Việt Nam)", "Khu phố"]
    assert len(body) == 4
    first = body[0]
    assert (first["Đường"], first["Số nhà"], first["Chủ hộ"]) == ("Nguyễn Trãi", "12", "Nguyễn Văn An")
    assert first["Thời điểm (giờ Việt Nam)"] == "2024-03-02 06:30:00"
    assert first["Kết quả"] == "Gặp được" and first["Thành viên"] == "Member1"
    assert first["Ghi chú"] == "'=1+1 không phải công thức"  # never run as a formula by Excel
    # Vietnamese days: 2 March (the 23:30 and 23:50 UTC visits of 1 March) only.
    march = csv_rows(post(client, kind="visits", format="csv", date_from="2024-03-02", date_to="2024-03-02"))
    assert [r[4] for r in march[1:]] == ["12", "2"]
    may = csv_rows(post(client, kind="visits", format="csv", date_from="2024-05-01", khu_pho=str(visited["kp2"])))
    assert [(r[2], r[4]) for r in may[1:]] == [("Khu phố 2", "7")]


def test_bad_dates_are_refused_with_a_vietnamese_message(as_user, visited):
    client = as_user("staff")
    backwards = post(client, kind="visits", date_from="2024-05-01", date_to="2024-03-01")
    assert backwards.status_code == 422
    assert "Ngày kết thúc (01/03/2024) phải sau hoặc bằng ngày bắt đầu (01/05/2024)." in backwards.get_data(as_text=True)
    junk = post(client, kind="visits", date_from="32/13/2024")
    assert junk.status_code == 422 and "Ngày &#34;32/13/2024&#34; không hợp lệ" in junk.get_data(as_text=True)


def test_raw_answers_xlsx_has_one_row_per_answer_with_labels(as_user, visited):
    book = workbook(post(as_user("staff"), kind="answers", date_to="2024-03-31"))
    rows = as_dicts(sheet_rows(book["Câu trả lời"]))
    assert [(r["Số nhà"], r["Người được hỏi"], r["Mã mục"], r["Câu trả lời"]) for r in rows] == [
        ("12", "Nguyễn Văn Cường", "dx_informed", "Vừa hướng dẫn xong"),
        ("12", "Nguyễn Văn An", "sim4g", "Không có nhu cầu"),
        ("12", "Cả hộ", "ecommerce_guide", "Vừa hướng dẫn xong"),
        ("2", "Lê Thị Dung", "dx_informed", "Hẹn lần sau")]
    assert rows[0]["Mục"] == "Được tuyên truyền chủ trương về chuyển đổi số"
    assert rows[0]["Thời điểm (giờ Việt Nam)"] == datetime(2024, 3, 2, 6, 30)


def test_xlsx_text_that_looks_like_a_formula_stays_text(as_user, visited):
    book = workbook(post(as_user("staff"), kind="visits"))
    notes = [r["Ghi chú"] for r in as_dicts(sheet_rows(book["Lần thăm"]))]
    assert "=1+1 không phải công thức" in notes


def test_open_households_one_sheet_per_khu_pho_for_printing(as_user, app, visited):
    book = workbook(post(as_user("staff"), kind="open"))
    assert book.sheetnames == ["Khu phố 1", "Khu phố 2"]
    sheet = book["Khu phố 1"]
    assert sheet.print_title_rows == "$1:$1"  # the header on every printed page
    rows = as_dicts(sheet_rows(sheet))
    assert [(r["Đường"], r["Số nhà"]) for r in rows] == [
        ("Nguyễn Trãi", "2"), ("Nguyễn Trãi", "2A"), ("Nguyễn Trãi", "10/3"), ("Nguyễn Trãi", "12"), ("Lê Lợi", "5")]
    with app.app_context():
        stored = {h.house_number: h.open_items for h in db.session.scalars(select(Household))}
    assert all(r["Số việc còn mở"] == stored[r["Số nhà"]] for r in rows)
    h12 = rows[3]["Việc còn mở"]
    # Cường was informed (dx_informed done), An declined SIM 4G: neither is open any more.
    assert "Nguyễn Văn Cường: " in h12 and "Nguyễn Văn An: " in h12
    cuong = h12.split("Nguyễn Văn Cường: ")[1].split(";")[0]
    assert "Được tuyên truyền chủ trương về chuyển đổi số" not in cuong
    assert "Chuyển sang SIM 4G" not in h12.split("Nguyễn Văn An: ")[1].split(";")[0]


def test_a_leader_gets_the_open_list_of_their_khu_pho_only(as_user, visited):
    book = workbook(post(as_user("leader2"), kind="open"))
    assert book.sheetnames == ["Khu phố 2"]
    assert [r[2] for r in sheet_rows(book["Khu phố 2"])[1:]] == ["7"]


class TestSheetSplit:
    @pytest.fixture
    def app_config(self, tmp_path):
        return {"EXPORT_FOLDER": str(tmp_path / "exports"), "EXPORT_SHEET_MAX_ROWS": 3}

    def test_rows_beyond_a_sheet_continue_on_further_sheets_with_the_header(self, as_user, visited):
        book = workbook(post(as_user("staff"), kind="visits"))
        assert book.sheetnames == ["Lần thăm", "Lần thăm (2)"]
        first, second = sheet_rows(book["Lần thăm"]), sheet_rows(book["Lần thăm (2)"])
        assert len(first) == 3 and len(second) == 3  # at most 3 rows a sheet, header included
        assert first[0] == second[0] and first[0][0] == "Mã lần thăm"
        assert [r[4] for r in first[1:] + second[1:]] == ["12", "2", "2A", "7"]


class TestBackground:
    @pytest.fixture
    def app_config(self, tmp_path):
        return {"EXPORT_FOLDER": str(tmp_path / "exports"), "EXPORT_INLINE_MAX_ROWS": 2}

    def test_a_big_export_runs_in_its_own_process_with_progress_and_a_download_link(self, as_user, client, app,
                                                                                     visited):
        staff = as_user("staff")
        started = post(staff, kind="visits")
        assert started.status_code == 303
        url = started.headers["Location"]
        job_id = int(re.search(r"/viec/(\d+)", url).group(1))
        page = staff.get(url).get_data(as_text=True)
        assert "Các lần thăm" in page
        with app.app_context():
            job = jobs.wait(job_id)
            assert (job.state, job.rows_total, job.rows_done, job.attempt) == ("done", 4, 4, 1)
        fragment = staff.post(f"/exports/viec/{job_id}/tien-do", headers={
            "HX-Request": "true", "X-CSRFToken": csrf_token(staff, "/exports/")}).get_data(as_text=True)
        assert 'data-state="done"' in fragment and "hx-trigger" not in fragment
        assert f"/exports/viec/{job_id}/tep" in fragment
        rows = sheet_rows(workbook(staff.get(f"/exports/viec/{job_id}/tep"))["Lần thăm"])
        assert [r[4] for r in rows[1:]] == ["12", "2", "2A", "7"]
        assert "/exports/viec/" in staff.get("/exports/").get_data(as_text=True)  # listed among recent files

    def test_csv_in_the_background_keeps_the_byte_order_mark(self, as_user, app, visited):
        staff = as_user("staff")
        job_id = int(re.search(r"/viec/(\d+)", post(staff, kind="answers", format="csv").headers["Location"])[1])
        with app.app_context():
            assert jobs.wait(job_id).state == "done"
        rows = csv_rows(staff.get(f"/exports/viec/{job_id}/tep"))
        assert len(rows) == 1 + 5 and rows[1][6] == "Nguyễn Văn Cường"

    def test_a_job_whose_process_died_is_started_again_on_the_next_poll(self, as_user, app, visited):
        staff = as_user("staff")
        job_id = int(re.search(r"/viec/(\d+)", post(staff, kind="visits").headers["Location"])[1])
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        with app.app_context():
            jobs.wait(job_id)
            job = db.session.get(ExportJob, job_id)
            # As if the worker had died half way: running, its process gone, no file.
            job.state, job.pid, job.rows_done = "running", dead.pid, 2
            db.session.commit()
            jobs.file_of(job).unlink()
            half_written = jobs.part_of(job, 1)
            half_written.write_bytes(b"PK")
        fragment = staff.post(f"/exports/viec/{job_id}/tien-do", headers={
            "HX-Request": "true", "X-CSRFToken": csrf_token(staff, "/exports/")}).get_data(as_text=True)
        assert "data-state" in fragment
        with app.app_context():
            job = jobs.wait(job_id)
            assert (job.state, job.attempt, job.rows_done) == ("done", 2, 4)
            assert jobs.file_of(job).exists() and not half_written.exists()
            assert not record(job_id, 1, rows_done=1)  # the first attempt, were it alive, would stop
        download = staff.get(f"/exports/viec/{job_id}/tep")
        download.close()
        assert download.status_code == 200

    def test_a_job_that_keeps_dying_fails_with_a_message(self, as_user, app, visited):
        staff = as_user("staff")
        job_id = int(re.search(r"/viec/(\d+)", post(staff, kind="visits").headers["Location"])[1])
        with app.app_context():
            jobs.wait(job_id)
            job = db.session.get(ExportJob, job_id)
            job.state, job.pid, job.attempt = "running", None, jobs.MAX_ATTEMPTS
            job.heartbeat_at = datetime(2024, 1, 1)  # silent for long
            db.session.commit()
        page = staff.get(f"/exports/viec/{job_id}").get_data(as_text=True)
        assert 'data-state="running"' in page
        fragment = staff.post(f"/exports/viec/{job_id}/tien-do", headers={
            "HX-Request": "true", "X-CSRFToken": csrf_token(staff, "/exports/")}).get_data(as_text=True)
        assert 'data-state="failed"' in fragment and "Không tạo được tệp sau 3 lần thử" in fragment

    def test_files_of_another_ward_or_user_are_never_downloadable(self, as_user, client, app, visited):
        leader = as_user("leader1")
        job_id = int(re.search(r"/viec/(\d+)", post(leader, kind="visits").headers["Location"])[1])
        with app.app_context():
            assert jobs.wait(job_id).state == "done"
        own = leader.get(f"/exports/viec/{job_id}/tep")
        own.close()
        assert own.status_code == 200
        for other, status in (("leader2", 404), ("staff_other", 404), ("member1", 404), ("staff", 200),
                              ("admin", 200)):
            client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
            viewer = as_user(other)
            download = viewer.get(f"/exports/viec/{job_id}/tep")
            download.close()
            assert download.status_code == status, other
            assert viewer.get(f"/exports/viec/{job_id}").status_code == status, other


def test_the_dashboard_links_to_a_prefilled_export(as_user, area):
    client = as_user("staff")
    khu_pho_page = client.get(f"/dashboard/khu-pho/{area['kp2']}").get_data(as_text=True)
    link = re.search(r'href="(/exports/\?kind=open&amp;khu_pho=\d+)"', khu_pho_page).group(1).replace("&amp;", "&")
    form = client.get(link).get_data(as_text=True)
    assert re.search(r'value="open"[^>]*checked|checked[^>]*value="open"', form)
    assert re.search(rf'<option selected value="{area["kp2"]}"|<option value="{area["kp2"]}" selected', form)
    assert "Khu phố 9" not in form  # another ward's khu phố is not offered


def test_each_export_is_logged_without_personal_data(as_user, visited, caplog, monkeypatch):
    # The migrations the fixtures run load Alembic's logging config, which disables loggers made before it.
    monkeypatch.setattr(audit.logger, "disabled", False)
    client = as_user("staff")
    with caplog.at_level("INFO", logger="visits.exports"):
        csv_rows(post(client, kind="answers", format="csv", date_from="2024-03-02"))
    lines = [r.getMessage() for r in caplog.records if r.name == "visits.exports"]
    assert len(lines) == 1
    assert f"user={visited['staff']} role=staff kind=answers format=csv rows=5" in lines[0]
    assert f"khu_pho={visited['kp1']},{visited['kp2']} from=2024-03-02" in lines[0] and "Nguyễn" not in lines[0]  # 4 answers in March, 1 in May


def test_each_export_is_in_the_audit_log_with_who_and_what(app, as_user, visited):
    client = as_user("staff")
    csv_rows(post(client, kind="answers", format="csv", date_from="2024-03-02"))
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
        assert [(e.user_id, e.entity, e.details["format"], e.details["date_from"], sorted(e.details["khu_pho_ids"]))
                for e in entries] == [(visited["staff"], "answers", "csv", "2024-03-02",
                                       sorted([visited["kp1"], visited["kp2"]]))]
