"""The training register from .xlsx: a good file, each kind of bad file (nothing written, the problem named),
re-uploading adds nothing, and who may do it."""
import io
import os
import re
from datetime import date, datetime, timedelta

from openpyxl import Workbook, load_workbook
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from visits.extensions import db
from visits.models import TrainingCompletion
from visits.registers import local_today
from visits.training import DEFAULT_COURSE

from tests.fixtures import csrf_token

HEADERS = ["STT", "Tên đăng nhập", "Họ và tên", "Khóa học", "Ngày hoàn thành (dd/mm/yyyy)", "Số chứng nhận"]


def workbook(*rows, headers=HEADERS, title_rows=()) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in title_rows:
        sheet.append(list(row))
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client, content: bytes, filename="so-dao-tao.xlsx"):
    # The body is encoded here, in memory: for a large one the test client would spool it to a file it never closes.
    boundary, body = encode_multipart({"csrf_token": csrf_token(client, "/training/import/"),
                                       "file": FileStorage(io.BytesIO(content), filename)})
    return client.post("/training/import/", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def confirm(client, page: str):
    token = re.search(r'name="rows" value="([^"]+)"', page).group(1)
    return client.post("/training/import/confirm", data={"csrf_token": csrf_token(client, "/training/import/"),
                                                         "rows": token})


def completions(app) -> list[tuple]:
    with app.app_context():
        return [(c.user_id, c.course, c.completed_on, c.certificate)
                for c in db.session.query(TrainingCompletion).order_by(TrainingCompletion.id)]


def problems(page: str) -> list[tuple[str, str, str]]:
    rows = re.findall(r'<tr class="problem"><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>', page)
    return [(r, c, m.replace("&#34;", '"').replace("&quot;", '"')) for r, c, m in rows]


GOOD = (("Ví dụ", "tv01a", "Nguyễn Văn An", DEFAULT_COURSE, "15/06/2024", "OT-2024-0001"),
        (1, "member1", "member1", None, "15/06/2024", "OT-1"),
        (2, "MEMBER2", "Member2", "Kỹ năng số nâng cao", datetime(2024, 7, 2), None),
        (None, None, None, None, None, None),
        (3, "leader2", None, None, "2024-06-01", 123456))


def test_template_has_vietnamese_headers_and_an_example_row(as_user, area):
    response = as_user("staff").get("/training/import/mau-so-dao-tao.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet["A2"].value == "Ví dụ" and sheet["E2"].value == "15/06/2024"


def test_the_template_as_it_is_writes_nothing(as_user, area, app):
    client = as_user("staff")
    content = client.get("/training/import/mau-so-dao-tao.xlsx").data
    response = upload(client, content)
    assert response.status_code == 422 and "không có dòng dữ liệu nào" in response.get_data(as_text=True)
    assert completions(app) == []


def test_a_good_file_previews_then_writes_and_again_adds_nothing(as_user, area, app):
    client = as_user("staff")
    content = workbook(*GOOD, title_rows=[("SỔ ĐÀO TẠO TỔ CNSCĐ",)])
    preview = upload(client, content)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page[:2000]
    assert "Xem trước: 3 dòng sẽ ghi, 0 dòng đã có trong sổ" in page
    assert completions(app) == []  # nothing before the confirmation
    assert confirm(client, page).status_code == 303
    expected = [(area["member1"], DEFAULT_COURSE, date(2024, 6, 15), "OT-1"),
                (area["member2"], "Kỹ năng số nâng cao", date(2024, 7, 2), ""),
                (area["leader2"], DEFAULT_COURSE, date(2024, 6, 1), "123456")]
    assert completions(app) == expected
    again = upload(client, content).get_data(as_text=True)
    assert "Xem trước: 0 dòng sẽ ghi, 3 dòng đã có trong sổ" in again
    assert confirm(client, again).status_code == 303
    assert completions(app) == expected
    # The same preview confirmed twice (a double tap) writes once.
    assert confirm(client, page).status_code == 303
    assert completions(app) == expected


def test_every_problem_is_named_by_row_and_column_and_nothing_is_written(as_user, area, app):
    tomorrow = (local_today() + timedelta(days=1)).strftime("%d/%m/%Y")
    content = workbook(
        (1, "member1", None, None, "15/06/2024", None),
        (2, "khongco", None, None, "15/06/2024", None),
        (3, "member1b", None, None, "31/02/2024", None),
        (4, "member2", None, None, tomorrow, None),
        (5, "leader1", None, None, 45458, None),
        (6, None, None, None, "01/06/2024", None),
        (7, "member1", None, None, "15/06/2024", None),
        (8, "leader2", "Trần Văn Khác", None, "01/06/2024", None),
        (9, "member2", None, None, "mười lăm tháng sáu", None),
        (10, "member1b", None, None, None, None),
        (11, "member2", None, None, "01/01/2019", None))
    client = as_user("staff")
    response = upload(client, content)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    found = problems(page)
    assert found == [
        ("3", "B (Tên đăng nhập)", 'Không có thành viên nào có tên đăng nhập "khongco" trong các tổ bạn quản lý.'),
        ("4", "E (Ngày hoàn thành (dd/mm/yyyy))", 'Ngày "31/02/2024" không có thật.'),
        ("5", "E (Ngày hoàn thành (dd/mm/yyyy))", f"Ngày hoàn thành {tomorrow} ở tương lai."),
        ("6", "E (Ngày hoàn thành (dd/mm/yyyy))",
         "Ô là một con số (45458), không phải ngày: hãy ghi ngày dạng ngày/tháng/năm (15/06/2024)."),
        ("7", "B (Tên đăng nhập)", "Thiếu tên đăng nhập."),
        ("8", "B (Tên đăng nhập)", "Trùng với dòng 2 (cùng người, khóa học và ngày)."),
        ("9", "C (Họ và tên)", 'Họ tên "Trần Văn Khác" không khớp với tài khoản leader2 (Leader2).'),
        ("10", "E (Ngày hoàn thành (dd/mm/yyyy))",
         'Không đọc được ngày "mười lăm tháng sáu": hãy ghi ngày/tháng/năm (15/06/2024).'),
        ("11", "E (Ngày hoàn thành (dd/mm/yyyy))", "Thiếu ngày hoàn thành."),
        ("12", "E (Ngày hoàn thành (dd/mm/yyyy))", "Ngày hoàn thành 01/01/2019 quá xa trong quá khứ (trước năm 2020)."),
    ]
    assert 'name="rows"' not in page  # no way to confirm while a problem remains
    assert completions(app) == []


def test_files_that_are_not_xlsx_or_too_big_are_refused(as_user, area, app):
    client = as_user("staff")
    csv = "Tên đăng nhập,Ngày hoàn thành\nmember1,15/06/2024\n".encode()
    for content, message in [
        (csv, "tệp văn bản (CSV"),
        (b"%PDF-1.7\n" + b"0" * 500, "tệp PDF"),
        (b"", "Tệp trống (0 byte)"),
        (b"PK\x03\x04" + b"\x00" * 200, "bị hỏng"),
        (workbook(("a", "b"), headers=["Họ tên", "Ghi chú"]), "Không tìm thấy dòng tiêu đề"),
        (workbook(*[(i, "member1", None, None, "15/06/2024", i) for i in range(2002)]), "Tệp có hơn 2000 dòng"),
    ]:
        response = upload(client, content)
        assert response.status_code in (413, 422), message
        assert message in response.get_data(as_text=True), message
    good = workbook((1, "member1", None, None, "15/06/2024", None))
    for padding in (1024 * 1024, 3 * 1024 * 1024):  # over the import's limit; over the app's 2 MB for any request
        too_big = upload(client, good + os.urandom(padding))
        assert too_big.status_code == 413 and "Tệp lớn hơn 1 MB nên không nhận" in too_big.get_data(as_text=True)
    assert completions(app) == []


def test_who_may_import(as_user, area, app, client):
    member = as_user("member1")
    assert member.get("/training/import/").status_code == 404
    assert member.get("/training/import/mau-so-dao-tao.xlsx").status_code == 404
    member.post("/logout", data={"csrf_token": csrf_token(member, "/")})
    leader = as_user("leader1")
    page = upload(leader, workbook((1, "member2", None, None, "15/06/2024", None))).get_data(as_text=True)
    assert "Không có thành viên nào có tên đăng nhập &#34;member2&#34;" in page or \
        'Không có thành viên nào có tên đăng nhập "member2"' in problems(page)[0][2]
    mine = upload(leader, workbook((1, "member1", None, None, "15/06/2024", None))).get_data(as_text=True)
    token = re.search(r'name="rows" value="([^"]+)"', mine).group(1)
    leader.post("/logout", data={"csrf_token": csrf_token(leader, "/")})
    other = as_user("staff_other")  # someone else's preview cannot be confirmed
    assert other.post("/training/import/confirm", data={"csrf_token": csrf_token(other, "/"),
                                                        "rows": token}).status_code == 400
    assert other.post("/training/import/confirm", data={"csrf_token": csrf_token(other, "/"),
                                                        "rows": token[:-3] + "abc"}).status_code == 400
    assert completions(app) == []
