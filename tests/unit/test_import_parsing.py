"""Reading household lists cell by cell: headers, birth dates, phones, yes/no, files to refuse, and the sheet
read in chunks giving exactly what openpyxl gives."""
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from tests.import_workbooks import CSV, PDF, REALISTIC_HEADERS, zip_bomb
from visits.imports import values
from visits.imports.fields import auto_mapping, field_of, find_header, missing_fields, signature
from visits.imports.places import street_key
from visits.imports.values import Bad
from visits.imports.workbook import MB, Refused, SheetReader, check_file, choose_sheet, extract, open_workbook

TODAY = date(2024, 6, 1)


# --- Headers ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("header, field", [
    ("Họ và tên", "full_name"), ("HO VA TEN", "full_name"), ("họ tên", "full_name"), ("  Họ  và tên ", "full_name"),
    ("Ngày, tháng, năm sinh", "birth"), ("Năm sinh", "birth"), ("SĐT", "phone"), ("Số ĐT", "phone"),
    ("Khu phố", "khu_pho"), ("KP", "khu_pho"), ("Tổ dân phố", "khu_pho"), ("Đường / Ngõ", "street"),
    ("Số nhà", "house_number"), ("Chủ hộ", "head_name"), ("Mã hộ", "code"), ("SIM (2G/4G)", "sim"),
    ("Hộ kinh doanh (có/không)", "is_business"), ("Quan hệ với chủ hộ", "relation"), ("Ghi chú", None),
    (None, None), (1960, None),
])
def test_headers_are_known_with_or_without_diacritics_and_in_any_case(header, field):
    assert field_of(header) == field


def test_every_realistic_header_is_mapped_and_extra_columns_are_not():
    mapping = auto_mapping(REALISTIC_HEADERS)
    assert sorted(mapping.values()) == sorted(["row_label", "code", "khu_pho", "street", "house_number", "full_name",
                                               "relation", "birth", "phone", "phone_kind", "sim", "is_business"])
    assert "13" not in mapping and "14" not in mapping  # Ghi chú, Dân tộc
    assert missing_fields(mapping) == []


def test_the_first_column_of_a_field_wins():
    assert auto_mapping(["Ngày sinh", "Năm sinh", "Họ tên"]) == {"1": "birth", "3": "full_name"}


def test_missing_fields_are_named():
    assert missing_fields({"1": "full_name", "2": "street"}) == ["Khu phố", "Số nhà"]
    assert missing_fields({"1": "khu_pho", "2": "street", "3": "house_number"}) == ["Họ và tên (hoặc Chủ hộ)"]


def test_the_header_row_is_found_below_title_rows():
    rows = [["DANH SÁCH HỘ GIA ĐÌNH", None, None], [None, None, None], ["Phường Hồng Gai", None, None],
            ["STT", "Họ và tên", "Số nhà"], [1, "Nguyễn Văn An", "12"]]
    guess = find_header(rows, {})
    assert (guess.row, guess.score, guess.saved) == (4, 2, None)


def test_a_row_naming_one_field_is_not_a_header():
    assert find_header([["Họ và tên"], ["Nguyễn Văn An"]], {}) is None


def test_a_shape_seen_before_is_recognised_by_its_signature():
    headers = ["TT", "Tên người", "Khu"]
    saved = {signature(headers): {"2": "full_name"}}
    guess = find_header([["Danh sách"], headers, [1, "An", "KP1"]], saved)
    assert (guess.row, guess.saved) == (2, {"2": "full_name"})
    assert signature(["Tên người ", "KHU", None]) == signature(["tên người", "Khu"])


# --- Cells ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, year", [
    (datetime(1960, 9, 5), 1960), (date(1961, 1, 2), 1961), (1962, 1962), (1963.0, 1963), ("1964", 1964),
    ("05/09/1965", 1965), ("5-9-1966", 1966), ("5.9.1967", 1967), ("1968-09-05", 1968), ("09/1969", 1969),
    ("12/31/1970", 1970), (" 01/02/1971 ", 1971), (None, None), ("", None), ("   ", None),
])
def test_birth_dates_in_every_usual_style_give_the_year(cell, year):
    assert values.birth_year(cell, TODAY) == year


@pytest.mark.parametrize("cell, message", [
    ("31/02/1960", "không có thật"), ("abc", "Không đọc được ngày sinh"), ("05/09/60", "Không đọc được ngày sinh"),
    (1850, "phải từ 1900 đến 2024"), ("2030", "phải từ 1900 đến 2024"), (1960.5, "Không đọc được ngày sinh"),
    (True, "Không đọc được ngày sinh"), (values.FORMULA_WITHOUT_VALUE, "chưa có kết quả tính"),
    (values.excel_error("#N/A"), "lỗi công thức (#N/A)"),
])
def test_a_birth_date_that_cannot_be_read_says_why(cell, message):
    with pytest.raises(Bad, match=re.escape(message)):
        values.birth_year(cell, TODAY)


@pytest.mark.parametrize("cell, phone", [
    ("0912345678", "0912345678"), ("0912 345 678", "0912345678"), ("+84 912 345 678", "0912345678"),
    ("+84912345678", "0912345678"), ("84912345678", "0912345678"), ("0084 912345678", "0912345678"),
    (912345678, "0912345678"), (912345678.0, "0912345678"), ("0912.345.678", "0912345678"),
    ("0912-345-678", "0912345678"), ("(0203) 3825 123", "02033825123"), ("0912345678 / 0987654321", "0912345678"),
    ("0912 345 678; 0987 654 321", "0912345678"), (None, None), ("", None),
])
def test_phone_numbers_are_stored_normalised(cell, phone):
    assert values.phone(cell) == phone


@pytest.mark.parametrize("cell", ["12345", "091234567890", "abc", 12.5, datetime(2024, 1, 1)])
def test_a_wrong_phone_number_is_reported(cell):
    with pytest.raises(Bad, match="không hợp lệ"):
        values.phone(cell)


@pytest.mark.parametrize("cell, answer", [
    ("có", True), ("Có", True), ("CO", True), ("x", True), ("X", True), (1, True), (True, True), ("rồi", True),
    ("không", False), ("Không", False), ("k", False), (0, False), (False, False), ("chưa", False), (None, None),
    ("", None),
])
def test_yes_and_no_in_the_ways_people_write_them(cell, answer):
    assert values.yes_no(cell) is answer


def test_an_unclear_yes_or_no_is_reported():
    with pytest.raises(Bad, match='Không rõ "có lẽ"'):
        values.yes_no("có lẽ")


@pytest.mark.parametrize("cell, kind", [("Thông minh", "smart"), ("smartphone", "smart"), ("thuong", "basic"),
                                        ("Điện thoại thường", "basic"), ("cục gạch", "basic"), ("không có", "none"),
                                        (None, None)])
def test_phone_kinds(cell, kind):
    assert values.phone_kind(cell) == kind


@pytest.mark.parametrize("cell, sim", [("2G", "2g"), ("2g", "2g"), ("4G", "4g"), ("SIM 4G", "4g"), ("3G", "4g"),
                                       ("5G", "4g"), ("không rõ", "unknown"), (None, None)])
def test_sims(cell, sim):
    assert values.sim(cell) == sim


def test_a_house_number_excel_turned_into_a_date_is_given_back():
    assert values.house_number(datetime(2024, 3, 10)) == "10/3"
    assert values.house_number(12.0) == "12"
    assert values.house_number(" 12A ") == "12A"


def test_names_in_capitals_get_the_usual_capitals_and_others_stay_as_written():
    assert values.person_name("NGUYỄN VĂN AN") == "Nguyễn Văn An"
    assert values.person_name("Nguyễn văn An") == "Nguyễn văn An"
    with pytest.raises(Bad):
        values.person_name(1960)


def test_street_names_with_or_without_their_kind():
    assert street_key("Đường Lê Lợi") == street_key("le loi") == street_key("Phố Lê Lợi") == "le loi"
    assert street_key("Ngõ 5 Lê Lợi") == "ngo 5 le loi"


# --- Files -------------------------------------------------------------------------------------------------------

def workbook_file(tmp_path: Path, rows: list, name: str = "a.xlsx") -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    path = tmp_path / name
    book.save(path)
    return path


@pytest.mark.parametrize("content, message", [
    (CSV, "tệp văn bản"), ("Họ tên\tSố nhà\n".encode("utf-16"), "tệp văn bản"), (PDF, "tệp PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "97-2003"), (b"\x89PNG\r\n\x1a\n" + bytes(100), "không phải"),
    (b"", "Tệp trống"),
])
def test_what_is_not_an_xlsx_is_named(tmp_path, content, message):
    path = tmp_path / "a.xlsx"
    path.write_bytes(content)
    with pytest.raises(Refused, match=message):
        check_file(path, 20 * MB, 200 * MB)


def test_other_zip_files_are_not_workbooks(tmp_path):
    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
        archive.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(Refused, match="không phải là bảng tính Excel"):
        check_file(path, 20 * MB, 200 * MB)


def test_a_zip_bomb_is_refused_by_its_declared_sizes(tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(zip_bomb(210))
    assert path.stat().st_size < 2 * MB
    with pytest.raises(Refused, match="giải nén lớn bất thường"):
        check_file(path, 20 * MB, 200 * MB)


def test_size_limit(tmp_path):
    path = workbook_file(tmp_path, [["Họ và tên", "Số nhà"]])
    check_file(path, 20 * MB, 200 * MB)
    with pytest.raises(Refused, match="lớn hơn") as refused:
        check_file(path, path.stat().st_size - 1, 200 * MB)
    assert refused.value.status == 413


def test_the_sheet_whose_header_names_most_fields_is_chosen(tmp_path):
    book = Workbook()
    book.active.title = "Hướng dẫn"
    for line in (["Họ và tên"], ["Số nhà"], ["Khu phố"]):  # a column per row is no header
        book.active.append(line)
    data = book.create_sheet("Danh sách")
    data.append(["Họ và tên", "Khu phố", "Đường", "Số nhà"])
    data.append(["Nguyễn Văn An", "KP1", "Nguyễn Trãi", "12"])
    path = tmp_path / "two.xlsx"
    book.save(path)
    workbook = open_workbook(path)
    choice = choose_sheet(workbook, {})
    workbook.close()
    assert (choice.title, choice.header.row, choice.recognised) == ("Danh sách", 1, True)
    assert choice.others_with_data == ["Hướng dẫn"]


def test_an_empty_workbook_is_refused(tmp_path):
    workbook = open_workbook(workbook_file(tmp_path, []))
    with pytest.raises(Refused, match="không có dữ liệu"):
        choose_sheet(workbook, {})
    workbook.close()


def test_chunks_give_exactly_what_openpyxl_gives(tmp_path):
    """The sheet read from byte offsets, a few rows at a time, equals openpyxl's own read of it: shared and
    inline strings, numbers, dates, booleans, empty cells, formulas with and without a cached value."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Họ và tên", "Số nhà", "Ngày sinh", "Có", "Số"])
    for n in range(400):
        sheet.append([f"Nguyễn Văn {n} <&> \"x\"", n if n % 3 else f"{n}A", datetime(1950 + n % 70, 1 + n % 12, 1),
                      n % 2 == 0, None if n % 5 == 0 else n * 1.5])
    sheet["E3"] = "=1+1"
    path = tmp_path / "chunks.xlsx"
    book.save(path)
    reference = load_workbook(path, read_only=True, data_only=True)
    expected = [list(r) for r in reference.active.iter_rows(values_only=True)]
    reference.close()
    workbook = open_workbook(path)
    info = extract(path, workbook, choose_sheet(workbook, {}), tmp_path)
    workbook.close()
    reader, offset, last_row, got, chunks = SheetReader(tmp_path, info), info["data_start"], 0, [], 0
    while offset < info["data_end"]:
        rows, offset = reader.rows(offset, 700, last_row)
        chunks += 1
        for number, cells in rows:
            last_row = number
            got.append([cells.get(c) for c in range(1, 6)])
    assert chunks > 20
    assert got[2][4] is values.FORMULA_WITHOUT_VALUE
    got[2][4] = None  # openpyxl gives nothing for a formula never calculated
    assert got == expected
