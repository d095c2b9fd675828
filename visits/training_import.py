"""The training register from an .xlsx sheet: many completions at once, all or nothing.

Upload → every problem listed as row, column and what is wrong (nothing is written while any remains) → a
preview of what will be added → confirm. The checked rows travel to the confirm step signed, and are checked
again there. A row the register already has (same person, course and day) is not added twice, so uploading the
same file again adds nothing. The file checks are the household import's (visits/imports/workbook.py).
"""
import io
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from .extensions import csrf, db
from .imports.fields import normalise_header
from .imports.values import Bad, as_text, blank, calendar_day, limited
from .imports.workbook import MB, Refused, check_file, open_workbook, size_message
from .models import TrainingCompletion, User, utcnow
from .pages import render, see_other
from .registers import EARLIEST_YEAR, local_today
from .text import fold
from .training import DEFAULT_COURSE, people_in_scope

bp = Blueprint("training_import", __name__, url_prefix="/training/import")

MAX_BYTES = 1 * MB  # a ward's register is a few hundred rows: far below this
MAX_UNPACKED = 20 * MB
MAX_ROWS = 2000  # the checked rows travel signed in the preview's form: keep it well under the form limit
HEADER_ROWS_SCANNED = 10
FORM_OVERHEAD = 16 * 1024
EXAMPLE_LABEL = "vi du"  # "Ví dụ", folded

# (field, header in the template, other headers it is known by, folded as normalise_header gives them)
COLUMNS = (
    ("row_label", "STT", ("stt", "tt", "so tt")),
    ("username", "Tên đăng nhập", ("ten dang nhap", "tai khoan", "ten tai khoan", "username")),
    ("full_name", "Họ và tên", ("ho va ten", "ho ten", "thanh vien", "ten thanh vien")),
    ("course", "Khóa học", ("khoa hoc", "ten khoa hoc")),
    ("completed_on", "Ngày hoàn thành (dd/mm/yyyy)", ("ngay hoan thanh", "ngay hoan thanh khoa hoc", "ngay")),
    ("certificate", "Số chứng nhận", ("so chung nhan", "so chung chi", "ma chung nhan", "chung nhan")),
)
FIELD_OF_HEADER = {alias: name for name, _header, aliases in COLUMNS for alias in aliases}
REQUIRED = ("username", "completed_on")
EXAMPLE = ("Ví dụ", "tv01a", "Nguyễn Văn An", DEFAULT_COURSE, "15/06/2024", "OT-2024-0001")


def setting(name: str, default):
    return current_app.config.get(name, default)


# --- The template --------------------------------------------------------------------------------------

def template_workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Sổ đào tạo")
    sheet.append([header for _name, header, _aliases in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    sheet.append(list(EXAMPLE))
    for cell in sheet[2]:
        cell.font = Font(italic=True, color="666666")
    for number, width in enumerate((8, 18, 26, 40, 22, 18), start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    guide = book.create_sheet(_("Hướng dẫn"))
    for line in (
            (_("Mỗi dòng"), _("Một thành viên đã hoàn thành một khóa học.")),
            (_("Tên đăng nhập"), _("Tên đăng nhập của thành viên trong ứng dụng (bắt buộc).")),
            (_("Họ và tên"), _("Không bắt buộc; nếu ghi, phải khớp với tài khoản (không phân biệt dấu, hoa thường).")),
            (_("Khóa học"), _("Để trống thì ghi là \"%(course)s\".", course=DEFAULT_COURSE)),
            (_("Ngày hoàn thành"), _("Ngày/tháng/năm, ví dụ 15/06/2024 (ô ngày của Excel cũng được); không ở tương lai.")),
            (_("Dòng ví dụ"), _("Dòng có STT là \"Ví dụ\" không được nhập; có thể xóa đi.")),
            (_("Nhập lại"), _("Dòng đã có trong sổ (cùng người, khóa học, ngày) được bỏ qua, nên nhập lại cùng tệp "
                             "không ghi trùng."))):
        guide.append(list(line))
    guide.column_dimensions["A"].width = 20
    guide.column_dimensions["B"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- Reading and checking ------------------------------------------------------------------------------

@dataclass
class Entry:
    row: int
    user_id: int
    name: str
    course: str
    completed_on: date
    certificate: str
    already: bool = False


@dataclass
class Checked:
    entries: list[Entry] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, what is wrong)


def find_header(rows: list[tuple]) -> tuple[int, dict[str, int]] | None:
    """The first row naming the required columns: (its index, {field: column index})."""
    for index, row in enumerate(rows):
        columns = {}
        for number, value in enumerate(row):
            name = FIELD_OF_HEADER.get(normalise_header(value))
            if name and name not in columns:
                columns[name] = number
        if all(name in columns for name in REQUIRED):
            return index, columns
    return None


def read_sheet(path: Path) -> tuple[list[tuple], int, dict[str, int], list[str]]:
    """The data rows of the first sheet with a recognised header: (rows, row number of the header, columns,
    header texts). Refused when no sheet has one, or when the sheet is too long."""
    book = open_workbook(path)
    try:
        for sheet in book.worksheets:
            rows = [tuple(r) for r in sheet.iter_rows(max_row=HEADER_ROWS_SCANNED, values_only=True)]
            found = find_header(rows)
            if found is None:
                continue
            index, columns = found
            data = []
            for row in sheet.iter_rows(min_row=index + 2, values_only=True):
                if len(data) > MAX_ROWS:
                    raise Refused(_("Tệp có hơn %(n)s dòng: hãy chia thành nhiều tệp.", n=MAX_ROWS))
                data.append(tuple(row))
            return data, index + 1, columns, [as_header(v) for v in rows[index]]
    finally:
        book.close()
    raise Refused(_("Không tìm thấy dòng tiêu đề có cột \"Tên đăng nhập\" và cột \"Ngày hoàn thành\" (trong %(n)s dòng "
                    "đầu của mỗi trang tính). Hãy dùng tệp mẫu.", n=HEADER_ROWS_SCANNED))


def as_header(value) -> str:
    return "" if value is None else str(value).strip()


def check_rows(rows, header_row: int, columns: dict, headers: list[str], people: list[User]) -> Checked:
    """Every row checked against the people one may record for and the register; every problem kept."""
    result = Checked()
    by_username = {p.username.lower(): p for p in people}
    seen: dict = {}
    today = local_today()

    def column_name(name: str) -> str:
        number = columns[name]
        header = headers[number] if number < len(headers) and headers[number] else name
        return f"{get_column_letter(number + 1)} ({header})"

    for offset, row in enumerate(rows):
        number = header_row + 1 + offset

        def cell(name):
            index = columns.get(name)
            return row[index] if index is not None and index < len(row) else None

        if all(blank(v) for v in row):
            continue
        label = cell("row_label")
        if isinstance(label, str) and fold(label) == EXAMPLE_LABEL:
            continue
        problems = []

        def read(name, reader):
            try:
                return reader(cell(name))
            except Bad as bad:
                problems.append((number, column_name(name), str(bad)))
                return None

        username = read("username", lambda v: limited(as_text(v), 80))
        person = None
        if username is None and not any(p[1] == column_name("username") for p in problems):
            problems.append((number, column_name("username"), _("Thiếu tên đăng nhập.")))
        elif username is not None:
            person = by_username.get(username.strip().lower())
            if person is None:
                problems.append((number, column_name("username"), _(
                    "Không có thành viên nào có tên đăng nhập \"%(name)s\" trong các tổ bạn quản lý.", name=username)))
        name = read("full_name", lambda v: limited(as_text(v), 160)) if "full_name" in columns else None
        if person is not None and name and fold(name) != fold(person.full_name or ""):
            problems.append((number, column_name("full_name"), _(
                "Họ tên \"%(name)s\" không khớp với tài khoản %(username)s (%(full)s).", name=name,
                username=person.username, full=person.full_name)))
        course = (read("course", lambda v: limited(as_text(v), 200)) if "course" in columns else None) or DEFAULT_COURSE
        day = read("completed_on", calendar_day)
        if day is None and not any(p[1] == column_name("completed_on") for p in problems):
            problems.append((number, column_name("completed_on"), _("Thiếu ngày hoàn thành.")))
        elif day is not None and day > today:
            problems.append((number, column_name("completed_on"), _(
                "Ngày hoàn thành %(day)s ở tương lai.", day=day.strftime("%d/%m/%Y"))))
        elif day is not None and day.year < EARLIEST_YEAR:
            problems.append((number, column_name("completed_on"), _(
                "Ngày hoàn thành %(day)s quá xa trong quá khứ (trước năm 2020).", day=day.strftime("%d/%m/%Y"))))
        certificate = (read("certificate", lambda v: limited(as_text(v), 80))
                       if "certificate" in columns else None) or ""
        if problems:
            result.problems += problems
            continue
        key = (person.id, fold(course), day)
        if key in seen:
            result.problems.append((number, column_name("username"), _(
                "Trùng với dòng %(row)s (cùng người, khóa học và ngày).", row=seen[key])))
            continue
        seen[key] = number
        result.entries.append(Entry(number, person.id, person.full_name or person.username, course, day,
                                    certificate))
    mark_recorded(result.entries)
    return result


def mark_recorded(entries: list[Entry]) -> None:
    """Mark the entries the register already has (same person, course and day)."""
    if not entries:
        return
    recorded = {(c.user_id, fold(c.course), c.completed_on) for c in db.session.scalars(
        select(TrainingCompletion).where(TrainingCompletion.user_id.in_({e.user_id for e in entries})))}
    for entry in entries:
        entry.already = (entry.user_id, fold(entry.course), entry.completed_on) in recorded


# --- Pages -----------------------------------------------------------------------------------------------

class ConfirmForm(FlaskForm):
    """The CSRF token; the checked rows come signed in the field "rows"."""


def serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="training-import")


def upload_page(error: str | None = None, status: int = 200, checked: Checked | None = None, filename: str = ""):
    token = ""
    if checked is not None and not checked.problems:
        token = serializer().dumps({"by": current_user.id, "rows": [
            [e.row, e.user_id, e.course, e.completed_on.isoformat(), e.certificate] for e in checked.entries]})
    return render("training/import.html", error=error, checked=checked, token=token, filename=filename,
                  form=ConfirmForm(formdata=None), max_mb=setting("TRAINING_IMPORT_MAX_BYTES", MAX_BYTES) // MB,
                  status=status)


@bp.before_request
@login_required
def keepers_only():
    if current_user.role not in ("leader", "staff"):
        abort(404)


@bp.get("/")
def index():
    return upload_page()


@bp.get("/mau-so-dao-tao.xlsx")
def template():
    return send_file(io.BytesIO(template_workbook()), as_attachment=True, download_name="mau-so-dao-tao.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.post("/")
@csrf.exempt  # checked below, once the size of the body is known to be sane
def upload():
    limit = setting("TRAINING_IMPORT_MAX_BYTES", MAX_BYTES)
    if request.content_length is not None and request.content_length > limit + FORM_OVERHEAD:
        return upload_page(size_message(limit), 413)
    request.max_content_length = limit + FORM_OVERHEAD
    try:
        csrf.protect()
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return upload_page(size_message(limit), 413)
    if upload is None or not upload.filename:
        return upload_page(_("Hãy chọn tệp Excel (.xlsx) để nhập."), 422)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.xlsx"
        upload.save(path)
        try:
            check_file(path, limit, setting("TRAINING_IMPORT_MAX_UNPACKED", MAX_UNPACKED))
            rows, header_row, columns, headers = read_sheet(path)
        except Refused as refused:
            return upload_page(str(refused), refused.status)
    checked = check_rows(rows, header_row, columns, headers, people_in_scope())
    if not checked.problems and not checked.entries:
        return upload_page(_("Tệp không có dòng dữ liệu nào (ngoài dòng tiêu đề và dòng ví dụ)."), 422)
    return upload_page(status=422 if checked.problems else 200, checked=checked, filename=upload.filename)


@bp.post("/confirm")
def confirm():
    """Write the previewed rows, checked again (people may have moved since); all or none."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        payload = serializer().loads(request.form.get("rows", ""))
    except BadSignature:
        abort(400)
    if payload.get("by") != current_user.id:
        abort(400)
    allowed = {p.id: p for p in people_in_scope()}
    entries = []
    for row, user_id, course, day, certificate in payload["rows"]:
        if user_id not in allowed:
            return upload_page(_("Dòng %(row)s: thành viên không còn thuộc tổ bạn quản lý; chưa ghi gì. Hãy tải tệp "
                                 "lên lại.", row=row), 409)
        entries.append(Entry(row, user_id, "", course, date.fromisoformat(day), certificate))
    mark_recorded(entries)
    new = [e for e in entries if not e.already]
    now = utcnow()
    db.session.add_all(TrainingCompletion(user_id=e.user_id, course=e.course, completed_on=e.completed_on,
                                          certificate=e.certificate, recorded_by_id=current_user.id, recorded_at=now)
                       for e in new)
    db.session.commit()
    flash(_("Đã ghi %(new)s lượt hoàn thành khóa học; %(old)s dòng đã có trong sổ nên bỏ qua.", new=len(new),
            old=len(entries) - len(new)), "success")
    return see_other(url_for("training.index"))
