"""Importing household lists from Excel: every bad workbook gives a clear message and writes nothing; a
realistic list imports correctly, and importing it again changes nothing."""
import html
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.fixtures import csrf_token
from tests.import_workbooks import (CSV, HEADERS, PDF, realistic_households, realistic_workbook, simple_rows,
                                    with_cached_values, xlsx, zip_bomb)
from visits import counters
from visits.checklist import active_plan, plan_items, plan_rules
from visits.extensions import db
from visits.imports import writing
from visits.models import (Change, Household, ImportJob, ImportMapping, ImportRow, ItemState, KhuPho, Resident,
                           Street)
from visits.state import recompute_household

WORKING = ("reading", "checking", "importing")


@pytest.fixture
def app_config(tmp_path):
    """Uploads kept in the test's folder, and small chunks so that a job takes many polls."""
    return {"IMPORT_FOLDER": str(tmp_path / "imports"), "IMPORT_STEP_SECONDS": 0,
            "IMPORT_READ_BYTES": 32 * 1024, "IMPORT_CHUNK_HOUSEHOLDS": 150}


# --- Helpers ---------------------------------------------------------------------------------------------------

def upload(client, data: bytes, name: str = "danh-sach.xlsx", **form):
    """POST the file as a browser does. The body is encoded here, in memory: the test client would spool a
    large one to a temporary file it never closes."""
    token = csrf_token(client, "/imports/")
    boundary, body = encode_multipart({"csrf_token": token, **form, "file": FileStorage(io.BytesIO(data), name)})
    return client.post("/imports/", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def poll(client, url: str, limit: int = 3000) -> str:
    """Poll the progress fragment as htmx does until the job waits for the user; its state then."""
    token = csrf_token(client, "/imports/")
    for _ in range(limit):
        response = client.post(url + "/step", headers={"HX-Request": "true", "X-CSRFToken": token})
        assert response.status_code == 200
        state = re.search(r'data-state="(\w+)"', response.get_data(as_text=True)).group(1)
        if state not in WORKING:
            return state
    pytest.fail("the job did not finish")


def start(client, data: bytes, **form) -> str:
    """Upload and read/check the file; the job's URL."""
    response = upload(client, data, **form)
    assert response.status_code == 303, text_of(response)[:800]
    url = response.headers["Location"]
    poll(client, url)
    return url


def confirm(client, url: str, **form) -> str:
    response = client.post(url + "/nhap", data={"csrf_token": csrf_token(client, "/imports/"), **form})
    assert response.status_code == 303
    return poll(client, url)


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def page(client, url: str) -> str:
    return text_of(client.get(url))


def counts(page_text: str) -> dict:
    return {name: int(value.replace(".", "")) for name, value in re.findall(r'data-count="(\w+)">([\d.]+)<', page_text)}


def problems(page_text: str) -> list[tuple[int, str, str]]:
    table = re.search(r'<table class="table" id="import-problems">.*?</table>', page_text)
    assert table, "no table of problems"
    return [(int(row), column, message) for row, column, message in
            re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(0))]


def state(app, url: str) -> str:
    with app.app_context():
        return db.session.get(ImportJob, int(url.rsplit("/", 1)[1])).state


def derived(household) -> tuple:
    """A household's derived state: open items, residents' fact columns, and its state rows."""
    db.session.refresh(household)
    facts = sorted((r.id, r.phone_kind, r.sim, r.handset_2g_only, r.has_epay, r.moved_away) for r in household.residents)
    states = sorted((s.resident_key, s.kind, s.code, s.value, s.recorded_at, s.visit_uuid) for s in db.session.scalars(
        select(ItemState).where(ItemState.household_id == household.id)))
    return household.open_items, facts, states


def tables(app) -> dict:
    with app.app_context():
        return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Household, Resident, Change, ItemState, Street, KhuPho)}


# --- Who may import ---------------------------------------------------------------------------------------------

def test_members_and_leaders_get_404_and_staff_see_only_their_ward(as_user, client, app):
    for username in ("member1", "leader1"):
        as_user(username)
        assert client.get("/imports/").status_code == 404
        assert client.get("/imports/mau-danh-sach-ho.xlsx").status_code == 404
        assert upload(client, xlsx(simple_rows(), header_row=HEADERS)).status_code == 404
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    as_user("staff")
    url = start(client, xlsx(simple_rows(), header_row=HEADERS))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    as_user("staff_other")
    assert client.get(url).status_code == 404
    assert client.post(url + "/nhap", data={"csrf_token": csrf_token(client, "/imports/"), "mode": "all"}).status_code == 404
    assert state(app, url) == "preview"


def test_admin_chooses_the_ward_to_import_into(as_user, client, app, area):
    as_user("admin")
    assert "Nhập vào phường" in page(client, "/imports/")
    response = upload(client, xlsx(simple_rows(), header_row=HEADERS))
    assert response.status_code == 422 and "Hãy chọn phường" in text_of(response)
    url = start(client, xlsx(simple_rows(), header_row=HEADERS), ward=str(area["ward"]))
    assert counts(page(client, url))["households_new"] == 2
    with app.app_context():
        assert db.session.get(ImportJob, int(url.rsplit("/", 1)[1])).ward_id == area["ward"]


def test_upload_needs_the_csrf_token(as_user, client, app):
    as_user("staff")
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(xlsx(simple_rows(), header_row=HEADERS)),
                                                           "a.xlsx")})
    response = client.post("/imports/", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


# --- The template -----------------------------------------------------------------------------------------------

def test_template_has_vietnamese_headers_and_its_example_rows_are_never_imported(as_user, client, app):
    as_user("staff")
    response = client.get("/imports/mau-danh-sach-ho.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert {"Họ và tên", "Khu phố", "Đường/ngõ", "Số nhà", "Ngày sinh", "Số điện thoại"} <= set(rows[1])
    assert rows[2][0] == "Ví dụ" and rows[2][rows[1].index("Họ và tên")] == "Nguyễn Văn An"
    assert [s.title for s in book.worksheets] == ["Danh sách", "Hướng dẫn"]
    book.close()
    before = tables(app)
    url = start(client, response.data)
    text = page(client, url)
    assert "Không có dòng dữ liệu nào" in text
    assert "Nhập vào dữ liệu" not in text
    assert tables(app) == before


# --- Files refused before anything is read ----------------------------------------------------------------------

@pytest.mark.parametrize("content, expected", [
    (CSV, "tệp văn bản (CSV"), (PDF, "tệp PDF"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ".xls"),
])
def test_a_file_that_is_not_an_xlsx_is_refused_clearly(as_user, client, app, content, expected):
    as_user("staff")
    before = tables(app)
    response = upload(client, content, name="danh-sach.xlsx")
    assert response.status_code == 422
    assert expected in text_of(response)
    assert tables(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_a_zip_bomb_is_refused_before_openpyxl_opens_it(as_user, client, app, monkeypatch):
    opened = []
    monkeypatch.setattr("visits.imports.jobs.open_workbook", lambda path: opened.append(path))
    as_user("staff")
    bomb = zip_bomb(210)
    assert len(bomb) < 2 * 1024 * 1024
    response = upload(client, bomb)
    assert response.status_code == 422
    assert "giải nén lớn bất thường" in text_of(response)
    assert opened == []


def test_a_file_over_20_mb_is_refused_with_a_size_message(as_user, client, app):
    as_user("staff")
    response = upload(client, b"PK\x03\x04" + b"\0" * (20 * 1024 * 1024))
    assert response.status_code == 413
    assert "Tệp lớn hơn 20 MB" in text_of(response)
    # Exactly 20 MB is within the limit: refused, but for what it is, not for its size.
    exactly = upload(client, b"x" * (20 * 1024 * 1024 - 10) + b"\n" * 10)
    assert exactly.status_code == 422
    assert "Tệp lớn hơn" not in text_of(exactly)


def test_an_empty_sheet_is_refused(as_user, client, app):
    as_user("staff")
    response = upload(client, xlsx([]))
    assert response.status_code == 422
    assert "Tệp không có dữ liệu" in text_of(response)


# --- Headers ----------------------------------------------------------------------------------------------------

def test_wrong_headers_ask_staff_to_map_columns_and_the_mapping_is_remembered(as_user, client, app):
    as_user("staff")
    headers = ["TT", "Tên người", "Khu", "Phố/ngõ", "Nhà", "Ngày đẻ", "ĐTDĐ cá nhân"]
    rows = [[1, "Đặng Văn Mới", "KP1", "Nguyễn Trãi", "20", "1970", "0912000001"]]
    before = tables(app)
    response = upload(client, xlsx(rows, header_row=headers))
    url = response.headers["Location"]
    text = page(client, url)
    assert 'data-state="mapping"' in text and "Chưa nhận ra đủ cột" in text
    assert tables(app) == before
    form = {"csrf_token": csrf_token(client, "/imports/"), "col-1": "row_label", "col-2": "full_name", "col-3": "khu_pho",
            "col-4": "street", "col-5": "house_number", "col-6": "birth", "col-7": "phone"}
    missing = client.post(url + "/cot", data={**form, "col-5": ""})
    assert missing.status_code == 422 and "Còn thiếu cột cho: Số nhà" in text_of(missing)
    assert client.post(url + "/cot", data=form).status_code == 303
    assert poll(client, url) == "preview"
    assert counts(page(client, url))["households_new"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportMapping)) == 1
    # The next file of the same shape goes straight through, with the mapping saved.
    url2 = start(client, xlsx(rows + [[2, "Bùi Thị Hoa", "KP2", "Hạ Long", "30", "1980", None]], header_row=headers))
    text = page(client, url2)
    assert "cách ghép đã lưu" in text and counts(text)["households_new"] == 2
    form_page = client.get(url2 + "/cot").get_data(as_text=True)
    assert re.search(r'name="col-2".*?<option value="full_name" selected>', form_page, re.S)
    assert tables(app) == before


def test_a_sheet_without_a_header_row_says_so_and_writes_nothing(as_user, client, app):
    as_user("staff")
    before = tables(app)
    response = upload(client, xlsx(simple_rows()))
    text = page(client, response.headers["Location"])
    assert "Không nhận ra dòng tiêu đề" in text
    assert tables(app) == before


def test_the_data_on_a_second_sheet_is_found_and_used(as_user, client, app):
    as_user("staff")
    data = xlsx(simple_rows(), title="Danh sách hộ", header_row=HEADERS,
                sheets_before=[("Hướng dẫn", [["Điền danh sách ở trang sau."], ["Mỗi dòng một nhân khẩu."]])])
    url = start(client, data)
    text = page(client, url)
    assert 'trang tính "Danh sách hộ"' in text
    assert counts(text)["residents_new"] == 2
    assert confirm(client, url, mode="all") == "done"
    with app.app_context():
        assert db.session.scalar(select(Resident.phone).where(Resident.full_name == "Bùi Thị Hoa")) == "0912000002"


# --- Cells --------------------------------------------------------------------------------------------------------

def test_formulas_give_their_values_and_one_never_calculated_is_reported(as_user, client, app):
    as_user("staff")
    rows = simple_rows()
    rows[0][6] = "=1900+70"  # calculated by Excel: the cached value is read
    rows[1][6] = "=1900+80"  # never calculated (as openpyxl writes it): reported, nothing written
    data = with_cached_values(xlsx(rows, header_row=HEADERS), {"G2": "1970"})
    before = tables(app)
    url = start(client, data)
    text = page(client, url)
    assert problems(text) == [(3, "G (Ngày sinh)", "Ô có công thức nhưng chưa có kết quả tính. Hãy mở tệp bằng Excel "
                                                    "cho tính xong rồi lưu lại, hoặc dán dạng giá trị.")]
    assert confirm(client, url, mode="all") == "preview"  # refused: the file has an error
    assert tables(app) == before
    assert confirm(client, url, mode="valid_only", understood="1") == "done"
    with app.app_context():
        assert db.session.scalar(select(Resident.birth_year).where(Resident.full_name == "Đặng Văn Mới")) == 1970
        assert db.session.scalar(select(Resident.id).where(Resident.full_name == "Bùi Thị Hoa")) is None


def test_birth_dates_written_as_text_in_three_styles(as_user, client, app):
    as_user("staff")
    rows = [[1, None, "KP1", "Lê Lợi", "40", "Ngô Văn Một", "05/09/1961", None],
            [2, None, None, None, None, "Ngô Thị Hai", "5-9-1962", None],
            [3, None, None, None, None, "Ngô Văn Ba", "1963", None]]
    url = start(client, xlsx(rows, header_row=HEADERS))
    assert counts(page(client, url)) == {"households_new": 1, "households_update": 0, "households_same": 0,
                                         "residents_new": 3, "residents_update": 0, "residents_same": 0}
    assert confirm(client, url, mode="all") == "done"
    with app.app_context():
        years = dict(db.session.execute(select(Resident.full_name, Resident.birth_year)
                                        .where(Resident.full_name.like("Ngô%"))).all())
    assert years == {"Ngô Văn Một": 1961, "Ngô Thị Hai": 1962, "Ngô Văn Ba": 1963}


def test_bad_cells_are_reported_by_row_and_column(as_user, client, app):
    as_user("staff")
    rows = [[1, None, "KP1", "Lê Lợi", "40", "Ngô Văn Một", "31/02/1961", "12345"]]
    before = tables(app)
    url = start(client, xlsx(rows, header_row=HEADERS))
    found = problems(page(client, url))
    assert (2, "G (Ngày sinh)", 'Ngày sinh "31/02/1961" không có thật.') in found
    assert (2, "H (Số điện thoại)", 'Số điện thoại "12345" không hợp lệ: cần 10 chữ số bắt đầu bằng 0 (hoặc +84).') \
        in found
    assert tables(app) == before


# --- Rows -----------------------------------------------------------------------------------------------------------

def test_duplicate_rows_are_an_error_and_only_valid_rows_can_be_chosen(as_user, client, app):
    as_user("staff")
    rows = simple_rows() + [[3, None, "KP1", "Nguyễn Trãi", "20", "Đặng Văn Mới", "01/02/1970", "0912 000 001"]]
    before = tables(app)
    url = start(client, xlsx(rows, header_row=HEADERS))
    text = page(client, url)
    assert problems(text) == [(4, "F (Họ và tên)", "Trùng với dòng 2: cùng hộ, cùng họ tên và năm sinh.")]
    assert "2 dòng được nhập, 1 dòng có lỗi" in text
    assert confirm(client, url, mode="all") == "preview"
    assert confirm(client, url, mode="valid_only") == "preview"  # the box saying rows are skipped was not ticked
    assert tables(app) == before
    assert confirm(client, url, mode="valid_only", understood="1") == "done"
    after = tables(app)
    assert (after["household"], after["resident"]) == (before["household"] + 2, before["resident"] + 2)
    assert "1 dòng có lỗi đã được bỏ qua" in page(client, url)


def test_an_unknown_khu_pho_is_an_error_and_never_created(as_user, client, app):
    as_user("staff")
    rows = [[1, None, "Khu phố 15", "Nguyễn Trãi", "20", "Đặng Văn Mới", "1970", None]]
    before = tables(app)
    url = start(client, xlsx(rows, header_row=HEADERS), create_streets="1")
    found = problems(page(client, url))
    assert len(found) == 1 and found[0][:2] == (2, "C (Khu phố)")
    assert 'không có khu phố "Khu phố 15"' in found[0][2] and "không tự tạo khu phố" in found[0][2]
    assert confirm(client, url, mode="all") == "preview"
    assert tables(app) == before


def test_an_unknown_street_is_an_error_unless_staff_choose_to_create_streets(as_user, client, app):
    as_user("staff")
    rows = [[1, None, "KP2", "Phố Mới Mở", "3", "Đặng Văn Mới", "1970", None],
            [2, None, "KP2", "Lê Lợi", "4", "Bùi Thị Hoa", "1980", None]]
    before = tables(app)
    url = start(client, xlsx(rows, header_row=HEADERS))
    text = page(client, url)
    assert [p[:2] for p in problems(text)] == [(2, "D (Đường/ngõ)"), (3, "D (Đường/ngõ)")]
    assert 'Khu phố 2 chưa có đường "Phố Mới Mở"' in problems(text)[0][2]
    assert "(Đường này có ở Khu phố 1.)" in problems(text)[1][2]
    assert tables(app) == before
    response = client.post(url + "/kiem-tra-lai", data={"csrf_token": csrf_token(client, "/imports/"),
                                                          "create_streets": "1"})
    assert response.status_code == 303
    assert poll(client, url) == "preview"
    text = page(client, url)
    assert "Sẽ tạo 2 đường mới" in text and "Phố Mới Mở (Khu phố 2)" in text
    assert confirm(client, url, mode="all") == "done"
    after = tables(app)
    assert after["street"] == before["street"] + 2 and after["khu_pho"] == before["khu_pho"]
    assert after["household"] == before["household"] + 2


def test_one_row_per_household_with_the_head_as_its_resident(as_user, client, app):
    as_user("staff")
    headers = ["Mã hộ", "Chủ hộ", "Năm sinh", "Số nhà", "Đường", "Khu phố", "Hộ SXKD", "Điện thoại"]
    rows = [["HG-1", "Phan Văn Tâm", 1955, "101", "Lê Lợi", "KP1", "x", "0912.111.222"],
            ["HG-2", "LÝ THỊ MAI", 1960, "103", "Lê Lợi", "KP1", None, 912111333]]
    url = start(client, xlsx(rows, header_row=headers))
    assert counts(page(client, url))["households_new"] == 2
    assert confirm(client, url, mode="all") == "done"
    with app.app_context():
        households = {h.code: h for h in db.session.scalars(select(Household).where(Household.code.like("HG-%")))}
        assert households["HG-1"].is_business and not households["HG-2"].is_business
        assert [(r.full_name, r.birth_year, r.phone) for r in households["HG-2"].residents] == \
            [("Lý Thị Mai", 1960, "0912111333")]
        assert households["HG-2"].head_name == "Lý Thị Mai"


def test_a_resident_already_there_is_updated_with_a_dated_change(as_user, client, app, area):
    as_user("staff")
    headers = ["Khu phố", "Đường", "Số nhà", "Họ và tên", "Năm sinh", "SĐT", "Loại điện thoại", "SIM",
               "Có tài khoản thanh toán điện tử"]
    rows = [["KP1", "Nguyễn Trãi", "12", "Nguyễn Văn An", 1960, "0912 345 678", "thông minh", "4G", "không"],
            [None, None, None, "Trần Thị Bình", 1965, None, None, None, None]]
    url = start(client, xlsx(rows, header_row=headers))
    assert counts(page(client, url)) == {"households_new": 0, "households_update": 0, "households_same": 1,
                                         "residents_new": 0, "residents_update": 1, "residents_same": 1}
    assert confirm(client, url, mode="all") == "done"
    with app.app_context():
        an = db.session.get(Resident, area["an"])
        assert (an.phone, an.phone_kind, an.sim, an.has_epay) == ("0912345678", "smart", "4g", False)
        change = db.session.scalar(select(Change).where(Change.resident_id == an.id, Change.kind == "resident.correct"))
        assert change.payload["facts"] == {"phone_kind": "smart", "sim": "4g", "has_epay": "no"}
        state = db.session.scalar(select(ItemState).where(ItemState.resident_key == an.id, ItemState.code == "sim"))
        assert (state.value, state.visit_uuid) == ("4g", change.uuid)
        plan = active_plan()
        kept = counters.counts(plan), counters.counts(plan, street_level=True)
        counters.recompute(plan)
        assert (counters.counts(plan), counters.counts(plan, street_level=True)) == kept


ERASED_HEADERS = ["Khu phố", "Đường", "Số nhà", "Họ và tên", "Năm sinh", "SĐT"]
H12_ROWS = [["KP1", "Nguyễn Trãi", "12", "Nguyễn Văn An", 1960, "0912 345 678"],
            [None, None, None, "Tra\u0300n Thi\u0323 Bi\u0300nh", 1965, "0912 000 009"],  # combining marks
            [None, None, None, "Nguyễn Văn Cường", None, None]]


def names_of_h12(app, area) -> tuple[list, str]:
    with app.app_context():
        household = db.session.get(Household, area["h12"])
        db.session.refresh(household)
        return sorted(r.full_name for r in household.residents), household.head_name


def test_a_list_imported_again_does_not_bring_back_an_erased_resident(as_user, client, app, area):
    from visits.erasure import ERASED_NAME, erase_resident
    with app.app_context():
        for key in ("an", "binh"):  # the head of the household, and another
            erase_resident(db.session.get(Resident, area[key]), None)
        db.session.commit()
        residents = db.session.scalar(select(func.count()).select_from(Resident))
    as_user("staff")
    url = start(client, xlsx(H12_ROWS, header_row=ERASED_HEADERS))
    shown = page(client, url)
    assert counts(shown)["residents_new"] == 0 and counts(shown)["households_update"] == 0
    erased = [row for row, _column, message in problems(shown) if "đã được xóa dữ liệu cá nhân theo yêu cầu" in message]
    assert erased == [2, 3]  # the sheet's rows of An and Bình, named
    assert confirm(client, url, mode="valid_only", understood="1") == "done"  # the problem rows left out
    assert names_of_h12(app, area) == (sorted([ERASED_NAME, ERASED_NAME, "Nguyễn Văn Cường"]), "")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Resident)) == residents
        assert db.session.scalar(select(func.count()).select_from(Resident).where(Resident.phone.is_not(None))) == 0
        keys = {r.erased_key for r in db.session.scalars(select(Resident).where(Resident.erased_at.is_not(None)))}
        assert len(keys) == 2 and not any("nguyen" in k or "binh" in k for k in keys)  # a hash, not the name


def test_a_list_imported_again_adds_no_name_to_a_household_that_refused(as_user, client, app, area):
    from visits.consent import record_consent
    from visits.erasure import ERASED_NAME
    from visits.models import User, utcnow
    with app.app_context():
        record_consent(db.session.get(Household, area["h12"]), db.session.get(User, area["member1"]), "no", utcnow())
        db.session.commit()
    as_user("staff")
    rows = H12_ROWS + [[None, None, None, "Phạm Văn Mới", 2001, None]]  # someone new: not kept either
    url = start(client, xlsx(rows, header_row=ERASED_HEADERS))
    shown = page(client, url)
    refused = [row for row, _column, message in problems(shown) if "từ chối cho lưu dữ liệu cá nhân" in message]
    assert refused == [2, 3, 4, 5]
    assert confirm(client, url, mode="valid_only", understood="1") == "done"  # the problem rows left out
    assert names_of_h12(app, area) == ([ERASED_NAME] * 3, "")


def test_a_household_found_by_its_code_at_another_address_moves_and_the_counters_follow(as_user, client, app):
    as_user("staff")
    headers = ["Mã hộ", "Khu phố", "Đường", "Số nhà", "Họ và tên", "Năm sinh", "Loại điện thoại"]
    first = [["HG-9", "KP1", "Lê Lợi", "101", "Phan Văn Tâm", 1955, "thông minh"]]
    assert confirm(client, start(client, xlsx(first, header_row=headers)), mode="all") == "done"
    moved = [["HG-9", "KP2", "Hạ Long", "50", "Phan Văn Tâm", 1955, "thông minh"]]
    url = start(client, xlsx(moved, header_row=headers))
    assert counts(page(client, url))["households_update"] == 1
    assert confirm(client, url, mode="all") == "done"
    with app.app_context():
        household = db.session.scalar(select(Household).where(Household.code == "HG-9"))
        assert (household.street.name, household.house_number, household.khu_pho_id) == \
            ("Hạ Long", "50", household.street.khu_pho_id)
        assert household.address_key == "ha long 50"
        plan = active_plan()
        kept = counters.counts(plan), counters.counts(plan, street_level=True)
        counters.recompute(plan)
        assert (counters.counts(plan), counters.counts(plan, street_level=True)) == kept


# --- Large files, in chunks ------------------------------------------------------------------------------------------

def test_a_realistic_list_imports_correctly_and_a_second_import_changes_nothing(as_user, client, app, area):
    houses = realistic_households(5000)
    residents = sum(len(h.people) for h in houses)
    assert residents == 5000
    data = realistic_workbook(houses)
    as_user("staff")
    before = tables(app)
    url = start(client, data)
    text = page(client, url)
    assert 'tiêu đề ở dòng 4' in text
    assert "Ghi chú" not in re.search(r"Ghép cột:(.*?)Sửa cách ghép cột", text).group(1)  # extra column ignored
    assert counts(text) == {"households_new": len(houses) - 1, "households_update": 0, "households_same": 1,
                            "residents_new": 4997, "residents_update": 1, "residents_same": 2}
    assert "id=\"import-errors\"" not in text
    assert confirm(client, url, mode="all") == "done"
    after = tables(app)
    assert after["household"] == before["household"] + len(houses) - 1
    assert after["resident"] == before["resident"] + 4997
    assert after["change"] == before["change"] + len(houses) - 1 + 4997 + 1
    assert (after["street"], after["khu_pho"]) == (before["street"], before["khu_pho"])
    with app.app_context():
        stored = {(h.street.name, h.house_number): h for h in db.session.scalars(select(Household))}
        for house in houses[1:400]:
            household = stored[(house.street, house.number)]
            assert household.code == house.code and household.is_business == house.business
            assert household.head_name == house.people[0].name
            people = {(r.full_name, r.birth_year): r for r in household.residents}
            for person in house.people:
                resident = people[(person.name, person.year)]
                assert resident.phone == person.phone
                assert resident.phone_kind == (person.phone_kind or "none")
                assert resident.sim == (person.sim or "unknown")
        assert db.session.scalar(select(Resident.phone).where(Resident.id == area["binh"])) == "0912999888"
        # What was written in bulk is what the state rebuilt from the changes alone gives.
        items, rules = plan_items(), plan_rules()
        for household in list(stored.values())[::40]:
            kept = derived(household)
            recompute_household(household, items, rules)
            db.session.flush()
            assert derived(household) == kept, household.house_number
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 0  # scratch rows gone
        plan = active_plan()
        kept = counters.counts(plan), counters.counts(plan, street_level=True)
        counters.recompute(plan)
        assert (counters.counts(plan), counters.counts(plan, street_level=True)) == kept
        db.session.rollback()
    # The same file again: everything unchanged, and nothing written.
    url2 = start(client, data)
    assert counts(page(client, url2)) == {"households_new": 0, "households_update": 0, "households_same": len(houses),
                                          "residents_new": 0, "residents_update": 0, "residents_same": 5000}
    assert confirm(client, url2, mode="all") == "done"
    assert tables(app) == after


def test_a_worker_dying_mid_chunk_loses_nothing_and_duplicates_nothing(as_user, client, app, monkeypatch):
    houses = realistic_households(600, seed=3)
    houses[0].number = "998"  # not the ward's own Nguyễn Trãi 12: every household is new
    as_user("staff")
    before = tables(app)
    url = start(client, realistic_workbook(houses))
    response = client.post(url + "/nhap", data={"csrf_token": csrf_token(client, "/imports/"), "mode": "all"})
    assert response.status_code == 303
    token = csrf_token(client, "/imports/")
    assert client.post(url + "/step", headers={"HX-Request": "true", "X-CSRFToken": token}).status_code == 200
    real = writing.Writer.write_state

    def crash(self):
        real(self)  # everything of the chunk written in the transaction... then the worker dies
        raise RuntimeError("worker killed")
    monkeypatch.setattr(writing.Writer, "write_state", crash)
    response = client.post(url + "/step", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200 and "đang thử lại (lần 1)" in text_of(response)
    monkeypatch.setattr(writing.Writer, "write_state", real)
    assert poll(client, url) == "done"
    after = tables(app)
    assert after["household"] == before["household"] + len(houses)
    assert after["resident"] == before["resident"] + sum(len(h.people) for h in houses)


def test_a_chunk_failing_again_and_again_stops_the_job_with_a_message(as_user, client, app, monkeypatch):
    as_user("staff")
    url = start(client, xlsx(simple_rows(), header_row=HEADERS))
    monkeypatch.setattr(writing.Writer, "write_state", lambda self: 1 / 0)
    assert confirm(client, url, mode="all") == "failed"
    assert "Máy chủ gặp lỗi nhiều lần" in page(client, url)
    with app.app_context():
        assert db.session.scalar(select(ImportJob.failures).where(ImportJob.id == int(url.rsplit("/", 1)[1]))) == 5
        assert db.session.scalar(select(func.count()).select_from(Household).where(Household.house_number == "20")) == 0


def test_two_polls_never_do_the_same_chunk(as_user, client, app):
    """A poll takes the job's lock first: on PostgreSQL a poll that finds it taken (another worker is doing a
    chunk) only reports progress; on SQLite the poll's transaction holds the database's write lock from its start."""
    as_user("staff")
    response = upload(client, realistic_workbook(realistic_households(300, seed=9)))
    url = response.headers["Location"]
    job_id = int(url.rsplit("/", 1)[1])
    token = csrf_token(client, "/imports/")
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.connect() as other:
                other.execute(select(ImportJob.id).where(ImportJob.id == job_id).with_for_update())
                assert client.post(url + "/step", headers={"HX-Request": "true", "X-CSRFToken": token}).status_code == 200
                assert (db.session.get(ImportJob, job_id).rows_read, state(app, url)) == (0, "reading")
                other.rollback()
        else:
            begun = []

            def record(_connection, _cursor, statement, *_args):
                begun.append(statement)
            event.listen(engine, "before_cursor_execute", record)
            try:
                assert client.post(url + "/step", headers={"HX-Request": "true", "X-CSRFToken": token}).status_code == 200
            finally:
                event.remove(engine, "before_cursor_execute", record)
            assert "BEGIN IMMEDIATE" in begun
            assert begun.index("BEGIN IMMEDIATE") < next(i for i, sql in enumerate(begun) if "import_job" in sql)
    client.post(url + "/step", headers={"HX-Request": "true", "X-CSRFToken": token})
    with app.app_context():
        assert db.session.get(ImportJob, job_id).rows_read > 0


def test_the_progress_fragment_polls_and_a_plain_request_gets_the_page(as_user, client, app):
    as_user("staff")
    response = upload(client, realistic_workbook(realistic_households(300, seed=5)))
    url = response.headers["Location"]
    full = client.get(url).get_data(as_text=True)
    assert "<html" in full and 'hx-trigger="every 1s"' in full and "<progress" in full
    token = csrf_token(client, "/imports/")
    partial = client.post(url + "/step", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert "<html" not in partial.get_data(as_text=True) and "HX-Request" in partial.headers["Vary"]
    assert partial.get_data(as_text=True).lstrip().startswith('<section id="import-job"')
    plain = client.post(url + "/step", data={"csrf_token": token})
    assert plain.status_code == 303 and plain.headers["Location"].endswith(url)
    assert client.post(url + "/step", headers={"HX-Request": "true"}).status_code == 400  # no CSRF token


def test_cancelling_removes_the_upload_and_its_rows(as_user, client, app, tmp_path):
    as_user("staff")
    url = start(client, xlsx(simple_rows(), header_row=HEADERS))
    assert any((tmp_path / "imports").iterdir())
    response = client.post(url + "/huy", data={"csrf_token": csrf_token(client, "/imports/")})
    assert response.status_code == 303
    assert state(app, url) == "cancelled"
    assert not any((tmp_path / "imports").iterdir())
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 0
