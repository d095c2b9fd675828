"""The uploaded file: refused early when it is not a real, sane .xlsx, then read in chunks that can resume.

openpyxl (read-only) opens the workbook once, on upload, to find the sheet and its header row. The sheet's
XML is then copied out of the zip beside the upload, with its shared strings, so each later chunk starts
at a byte offset and costs only its own rows; the rows are parsed by openpyxl's own sheet parser.
"""
import io
import json
import re
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from xml.etree.ElementTree import ParseError

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601
from openpyxl.worksheet._reader import FORMULA_TAG, INLINE_STRING, VALUE_TAG, WorkSheetParser, _cast_number
from openpyxl.xml.constants import SHEET_MAIN_NS

from .fields import HEADER_ROWS_SCANNED, HeaderGuess, auto_mapping, find_header, widest_row
from .values import FORMULA_WITHOUT_VALUE, excel_error

MB = 1024 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, and password-protected .xlsx


class Refused(Exception):
    """The file cannot be imported at all; the message says why and what to do, in Vietnamese."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def size_message(limit: int) -> str:
    return _("Tệp lớn hơn %(mb)s MB nên không nhận. Hãy chia danh sách thành nhiều tệp nhỏ hơn "
             "(ví dụ mỗi khu phố một tệp) rồi nhập lần lượt.", mb=limit // MB)


def check_file(path: Path, max_bytes: int, max_unpacked: int) -> None:
    """Refuse what is not an .xlsx (a CSV or PDF renamed, an old .xls) and zip bombs, before openpyxl opens it.

    The sizes checked are those the zip declares; Python's zipfile never inflates an entry past its declared
    size (it stops and fails the CRC check), so a lying entry cannot get around them.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise Refused(size_message(max_bytes), 413)
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head:
        raise Refused(_("Tệp trống (0 byte)."))
    if head.startswith(b"%PDF"):
        raise Refused(_("Đây là tệp PDF được đổi đuôi thành .xlsx. Ứng dụng chỉ đọc được bảng tính Excel (.xlsx): "
                        "hãy dùng tệp Excel gốc của danh sách, hoặc tải tệp mẫu về và điền vào."))
    if head.startswith(OLE_MAGIC):
        raise Refused(_("Đây là tệp Excel 97-2003 (.xls) hoặc tệp có đặt mật khẩu. Hãy mở bằng Excel, bỏ mật khẩu "
                        "nếu có, rồi chọn Lưu thành (Save As) dạng \"Excel Workbook (.xlsx)\"."))
    if not head.startswith(b"PK\x03\x04"):
        if _looks_like_text(head):
            raise Refused(_("Đây là tệp văn bản (CSV hoặc trang web) được đổi đuôi thành .xlsx, không phải bảng tính "
                            "Excel. Hãy mở bằng Excel rồi chọn Lưu thành (Save As) dạng \"Excel Workbook (.xlsx)\"."))
        raise Refused(_("Tệp này không phải là bảng tính Excel (.xlsx)."))
    _check_zip(path, max_unpacked)


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return head.startswith((b"\xff\xfe", b"\xfe\xff"))  # UTF-16 text, as Excel saves "Unicode text"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start > len(head) - 4  # cut in the middle of a character
    return True


def _check_zip(path: Path, max_unpacked: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise Refused(_("Tệp .xlsx bị hỏng (không mở được). Hãy mở bằng Excel, lưu lại rồi tải lên lần nữa.")) from None
    names = {e.filename for e in entries}
    # The shared strings are held in memory whole while reading: a quarter of the limit is ample for real lists.
    strings = sum(e.file_size for e in entries if e.filename.lower().startswith("xl/sharedstrings"))
    if len(entries) > 10000 or sum(e.file_size for e in entries) > max_unpacked or strings > max_unpacked // 4:
        raise Refused(_("Tệp khi giải nén lớn bất thường (hơn %(mb)s MB) nên không nhận: có thể là tệp độc hại. "
                        "Hãy dùng tệp Excel gốc của danh sách.", mb=max_unpacked // MB))
    if any(e.flag_bits & 0x1 for e in entries):
        raise Refused(_("Tệp có đặt mật khẩu. Hãy bỏ mật khẩu rồi lưu lại dạng .xlsx."))
    if "xl/workbook.xml" not in names:
        if "content.xml" in names:
            raise Refused(_("Đây là bảng tính LibreOffice (.ods). Hãy chọn Lưu thành dạng Excel (.xlsx)."))
        raise Refused(_("Tệp nén này không phải là bảng tính Excel (.xlsx) (có thể là tệp Word hoặc tệp khác)."))


# --- Opening once: which sheet, which header row ---------------------------------------------------------

@dataclass
class SheetChoice:
    title: str
    worksheet_path: str
    header: HeaderGuess
    recognised: bool  # False: no header row was recognised; the widest row is offered for mapping by hand
    mapping: dict
    source: str  # auto | saved
    others_with_data: list = field(default_factory=list)
    rows: list = field(default_factory=list)  # the sheet's first rows, as openpyxl read them


def open_workbook(path: Path):
    """openpyxl in read-only mode, with values instead of formulas; its warnings about features it drops
    (data validation extensions, a missing default style) are not the user's problem."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds (KeyError, ValueError, TypeError...)
        raise Refused(_("Không mở được tệp Excel này (tệp hỏng hoặc không đúng chuẩn). "
                        "Hãy mở bằng Excel, lưu lại dạng .xlsx rồi tải lên lần nữa.")) from None


def first_rows(worksheet) -> list[list]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [list(r) for r in worksheet.iter_rows(min_row=1, max_row=HEADER_ROWS_SCANNED, min_col=1,
                                                     values_only=True)]


def choose_sheet(workbook, saved_mappings: dict) -> SheetChoice:
    """The sheet whose header names the most fields (or has a shape seen before); the first sheet with data
    when no header is recognised anywhere. Refused when no sheet has any data."""
    found, with_data = [], []
    sheets = sorted(workbook.worksheets, key=lambda ws: getattr(ws, "sheet_state", "visible") != "visible")
    for worksheet in sheets:
        rows = first_rows(worksheet)
        if not any(v not in (None, "") for row in rows for v in row):
            continue
        with_data.append((worksheet, rows))
        guess = find_header(rows, saved_mappings)
        if guess is not None:
            found.append((guess.saved is None, -guess.score, len(found), worksheet, guess))
    if not with_data:
        raise Refused(_("Tệp không có dữ liệu: các trang tính đều trống (đã xem %(n)s dòng đầu của mỗi trang).",
                        n=HEADER_ROWS_SCANNED))
    others = [ws.title for ws, _rows in with_data]
    if found:
        *_rank, worksheet, guess = min(found, key=lambda f: f[:3])
        mapping = dict(guess.saved) if guess.saved is not None else auto_mapping(guess.headers)
        rows = next(r for ws, r in with_data if ws is worksheet)
        return SheetChoice(worksheet.title, worksheet._worksheet_path, guess, True, mapping,
                           "saved" if guess.saved is not None else "auto",
                           [t for t in others if t != worksheet.title], rows)
    worksheet, rows = with_data[0]
    return SheetChoice(worksheet.title, worksheet._worksheet_path, widest_row(rows), False, {}, "auto",
                       [t for t in others if t != worksheet.title], rows)


# --- Copying the sheet out, and reading it chunk by chunk ------------------------------------------------

_ROOT_TAG = re.compile(rb"<((?:[A-Za-z_][\w.\-]*:)?worksheet)\b[^>]*>")
_DATA_TAG = re.compile(rb"<((?:[A-Za-z_][\w.\-]*:)?sheetData)\b[^>]*?(/?)>")
ROW_START = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?row[\s/>]")
SHEET_FILE, STRINGS_FILE = "sheet.xml", "strings.json"


def extract(upload: Path, workbook, choice: SheetChoice, folder: Path) -> dict:
    """Copy the chosen sheet's XML and the shared strings beside the upload; what reading it needs."""
    sheet_path = folder / SHEET_FILE
    with zipfile.ZipFile(upload) as archive, archive.open(choice.worksheet_path) as source, \
            open(sheet_path, "wb") as target:
        shutil.copyfileobj(source, target, MB)
    with open(folder / STRINGS_FILE, "w", encoding="utf-8") as target:
        json.dump([str(s) for s in workbook.shared_strings], target, ensure_ascii=False)
    size = sheet_path.stat().st_size
    with open(sheet_path, "rb") as handle:
        head = handle.read(MB)
        handle.seek(max(0, size - MB))
        tail = handle.read()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise Refused(_("Trang tính có khai báo XML lạ (DOCTYPE) nên không nhận: có thể là tệp độc hại."))
    root, data = _ROOT_TAG.search(head), _DATA_TAG.search(head)
    if root is None or data is None:
        raise Refused(_("Không đọc được trang tính \"%(name)s\".", name=choice.title))
    data_tag = data.group(1)
    if data.group(2):  # <sheetData/>: no rows at all
        data_start = data_end = data.end()
    else:
        data_start = data.end()
        closing = tail.rfind(b"</" + data_tag + b">")
        if closing < 0:
            raise Refused(_("Trang tính \"%(name)s\" bị cắt cụt (tệp hỏng).", name=choice.title))
        data_end = max(0, size - len(tail)) + closing
    prefix = b'<?xml version="1.0" encoding="UTF-8"?>' + root.group(0) + b"<" + data_tag + b">"
    return {"name": choice.title, "xml_size": size, "data_start": data_start, "data_end": data_end,
            "prefix": prefix.decode("utf-8"),
            "suffix": f"</{data_tag.decode()}></{root.group(1).decode()}>",
            "mac_epoch": workbook.epoch == MAC_EPOCH, "date_styles": sorted(workbook._date_formats),
            "timedelta_styles": sorted(workbook._timedelta_formats)}


class SheetReader:
    """Rows of the copied sheet from a byte offset: each call parses whole rows only, about max_bytes of XML."""

    def __init__(self, folder: Path, sheet: dict):
        self.path = folder / SHEET_FILE
        self.sheet = sheet
        with open(folder / STRINGS_FILE, encoding="utf-8") as handle:
            self.strings = json.load(handle)

    def chunk(self, offset: int, max_bytes: int) -> tuple[bytes, int]:
        """The XML of the whole rows from offset on (about max_bytes of it), and the offset after them."""
        end = self.sheet["data_end"]
        size = max_bytes
        with open(self.path, "rb") as handle:
            while True:
                handle.seek(offset)
                block = handle.read(min(size, end - offset))
                if offset + len(block) >= end:
                    return block, end
                last = None
                for match in ROW_START.finditer(block):
                    last = match.start()
                if last:  # a row starts after the first: cut there, so every row read is whole
                    return block[:last], offset + last
                size *= 2  # one row longer than the block

    def rows(self, offset: int, max_bytes: int, last_row: int) -> tuple[list[tuple[int, dict]], int]:
        """[(row number, {column number: value})] of the rows in the next chunk, and the offset after it.

        last_row is the number of the row before offset, for sheets whose rows do not carry their number.
        """
        xml, after = self.chunk(offset, max_bytes)
        if not xml.strip():
            return [], after
        source = io.BytesIO(self.sheet["prefix"].encode() + xml + self.sheet["suffix"].encode())
        parser = ValueParser(source, self.strings, data_only=True,
                             epoch=MAC_EPOCH if self.sheet["mac_epoch"] else WINDOWS_EPOCH,
                             date_formats=set(self.sheet["date_styles"]),
                             timedelta_formats=set(self.sheet["timedelta_styles"]))
        parser.row_counter = last_row
        try:
            rows = [(number, {column: value for column, value in cells if value is not None})
                    for number, cells in parser.parse()]
        except (ParseError, ValueError, IndexError):
            raise Refused(_("Tệp bị hỏng ở khoảng dòng %(row)s của trang tính: không đọc tiếp được.",
                            row=last_row + 1)) from None
        return rows, after


_T = "{%s}t" % SHEET_MAIN_NS
_R = "{%s}r" % SHEET_MAIN_NS


@lru_cache(maxsize=4096)
def _column(letters: str) -> int:
    return column_index_from_string(letters)


class ValueParser(WorkSheetParser):
    """openpyxl's sheet parser with a leaner cell: (column, value), where a formula that was never calculated
    is FORMULA_WITHOUT_VALUE rather than nothing, and an Excel error a marker that says which."""

    def parse_cell(self, element):
        coordinate = element.get("r")
        if coordinate:
            column = self.col_counter = _column(coordinate.rstrip("0123456789"))
        else:
            self.col_counter += 1
            column = self.col_counter
        data_type = element.get("t", "n")
        if data_type == "inlineStr":
            child = element.find(INLINE_STRING)
            return column, (_inline_text(child) if child is not None else None)
        value = element.findtext(VALUE_TAG, None) or None
        if value is None:
            return column, (FORMULA_WITHOUT_VALUE if element.find(FORMULA_TAG) is not None else None)
        if data_type == "s":
            return column, self.shared_strings[int(value)]
        if data_type == "n":
            number = _cast_number(value)
            style = element.get("s")
            if style and int(style) in self.date_formats:
                try:
                    return column, from_excel(number, self.epoch, timedelta=int(style) in self.timedelta_formats)
                except (OverflowError, ValueError):
                    return column, excel_error("VALUE!")
            return column, number
        if data_type == "b":
            return column, value.strip() not in ("0", "false")
        if data_type == "e":
            return column, excel_error(value)
        if data_type == "d":
            return column, from_ISO8601(value)
        return column, value  # "str": a formula's text result


def _inline_text(node) -> str:
    """The text of an inline string: its runs, without phonetic hints."""
    parts = []
    for child in node:
        if child.tag == _T:
            parts.append(child.text or "")
        elif child.tag == _R:
            text = child.find(_T)
            parts.append(text.text or "" if text is not None else "")
    return "".join(parts)
