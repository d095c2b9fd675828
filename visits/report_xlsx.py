"""The monthly report as an .xlsx laid out the way ward staff send one: title block, merged Vietnamese headers,
shares as percentage formats, A4 landscape fitted to the page width, with the header repeated on every page.

Built from the report's figures (visits/monthly_figures.py), so a sent report exports exactly what was sent.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .month_end import VN_OFFSET, next_month, parse_month

FONT = "Times New Roman"  # what Vietnamese administrative documents are set in
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)

# The columns after STT and Khu phố: (figure, header, width).
TEAM = (("members", _l("Số thành viên"), 9.5), ("trained", _l("Đã hoàn thành khóa kỹ năng số"), 11))
ACTIVITY = (("visits", _l("Lượt thăm hộ"), 8.5), ("late_visits", _l("Trong đó đến muộn"), 8.5),
            ("households", _l("Hộ được gặp"), 8.5), ("residents", _l("Người dân được hướng dẫn"), 10.5),
            ("sessions", _l("Buổi sinh hoạt nhóm"), 9.5), ("news", _l("Tin, bài đã đăng"), 8))
FIRST_TARGET = 3 + len(TEAM) + len(ACTIVITY)  # the column of target 1
TABLE_TOP = 10  # the table's header: a group row, a column row, a numbering row


def font(size: float = 11, bold: bool = False, italic: bool = False, underline: str | None = None) -> Font:
    return Font(name=FONT, size=size, bold=bold, italic=italic, underline=underline)


def vn_date(moment: datetime | date) -> str:
    return _("ngày %(d)s tháng %(m)s năm %(y)s", d=f"{moment.day:02d}", m=f"{moment.month:02d}", y=moment.year)


@dataclass
class Report:
    """What the sheet is written from: the figures, and who sent them when (None: a draft)."""
    figures: dict
    month: date
    sent_at: datetime | None  # in Vietnam's time
    sender: str | None

    @property
    def month_end(self) -> date:
        return next_month(self.month) - timedelta(days=1)

    @property
    def dated(self) -> datetime:
        """The report's date: when it was sent, or when a draft's figures were counted (Vietnam time)."""
        return self.sent_at or datetime.fromisoformat(self.figures["computed_at"]) + VN_OFFSET

    @property
    def last_column(self) -> str:
        return get_column_letter(FIRST_TARGET + len(self.figures["targets"]) - 1)


def report_workbook(figures: dict, sent, sender) -> Workbook:
    """The workbook: the report sheet, and a sheet of each target's numerator and denominator."""
    report = Report(figures, parse_month(figures["month"]), sent.sent_at + VN_OFFSET if sent is not None else None,
                    (sender.full_name or sender.username) if sender is not None else None)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Báo cáo")
    title_block(sheet, report)
    bottom = table(sheet, report)
    notes_and_signature(sheet, report, bottom + 2)
    print_layout(sheet, report)
    write_details(book.create_sheet(_("Chi tiết chỉ tiêu")), report)
    return book


def merged(sheet: Worksheet, cells: str, value, style: Font, align: Alignment = CENTER) -> None:
    sheet.merge_cells(cells)
    first = sheet[cells.split(":")[0]]
    first.value, first.font, first.alignment = value, style, align


def title_block(sheet: Worksheet, report: Report) -> None:
    """The issuing body on the left, the national motto and the date on the right, then the title and status."""
    ward, last, right = report.figures["ward"], report.last_column, get_column_letter(FIRST_TARGET + 1)
    merged(sheet, "A1:F1", _("UBND %(ward)s", ward=ward["name"].upper()), font(12, bold=True))
    merged(sheet, "A2:F2", _("TỔ CÔNG NGHỆ SỐ CỘNG ĐỒNG"), font(12, bold=True, underline="single"))
    merged(sheet, f"{right}1:{last}1", _("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), font(12, bold=True))
    merged(sheet, f"{right}2:{last}2", _("Độc lập - Tự do - Hạnh phúc"), font(12, bold=True, underline="single"))
    place = ward["name"].removeprefix("Phường ").strip()
    merged(sheet, f"{right}3:{last}3", f"{place}, {vn_date(report.dated)}", font(12, italic=True))
    merged(sheet, f"A5:{last}5", _("BÁO CÁO"), font(14, bold=True))
    merged(sheet, f"A6:{last}6", _("Kết quả hoạt động của Tổ công nghệ số cộng đồng tháng %(m)s năm %(y)s",
                                   m=f"{report.month.month:02d}", y=report.month.year), font(13, bold=True))
    merged(sheet, f"A7:{last}7", _("(Thực hiện %(plan)s)", plan=report.figures["plan"]["name"]), font(12, italic=True))
    if report.sent_at is not None:
        status = _("Trạng thái: Đã gửi lúc %(t)s %(d)s; người gửi: %(who)s.", t=f"{report.sent_at:%H:%M}",
                   d=vn_date(report.sent_at), who=report.sender or "—")
    else:
        status = _("Trạng thái: Nháp (chưa gửi) — số liệu tính lúc %(t)s %(d)s, còn thay đổi khi có thêm lần thăm.",
                   t=f"{report.dated:%H:%M}", d=vn_date(report.dated))
    merged(sheet, f"A8:{last}8", status, font(11, italic=True))
    for row in (5, 6, 7):
        sheet.row_dimensions[row].height = 20


def table(sheet: Worksheet, report: Report) -> int:
    """The header (groups merged across their columns, STT and Khu phố merged down) and the rows, one per khu
    phố and the ward's total; returns the last row written."""
    targets = report.figures["targets"]
    top, sub, numbers = TABLE_TOP, TABLE_TOP + 1, TABLE_TOP + 2
    width = FIRST_TARGET + len(targets) - 1
    for column in (1, 2):
        sheet.merge_cells(start_row=top, start_column=column, end_row=sub, end_column=column)
    groups = [(1, 1, _("STT")), (2, 2, _("Khu phố")), (3, 2 + len(TEAM), _("Thành viên Tổ CNSCĐ")),
              (3 + len(TEAM), FIRST_TARGET - 1, _("Kết quả hoạt động trong tháng")),
              (FIRST_TARGET, width, _("Kết quả thực hiện các chỉ tiêu đến hết ngày %(d)s (tỉ lệ đạt)",
                                      d=f"{report.month_end:%d/%m/%Y}"))]
    for start, end, title in groups:
        if end > start:
            sheet.merge_cells(start_row=top, start_column=start, end_row=top, end_column=end)
        sheet.cell(top, start, title).font = font(11, bold=True)
    headers = [str(title) for _key, title, _w in TEAM + ACTIVITY]
    headers += [_("CT %(n)s. %(short)s (%(bar)s)", n=t["number"], short=t["short"],
                  bar=_("phấn đấu") if t["strive"] else f"≥ {t['threshold']:.0%}") for t in targets]
    for offset, title in enumerate(headers):
        sheet.cell(sub, 3 + offset, title).font = font(10, bold=True)
    for column in range(1, width + 1):
        sheet.cell(numbers, column, f"({column})").font = font(9, italic=True)
        for row in (top, sub, numbers):
            cell = sheet.cell(row, column)
            cell.border, cell.fill, cell.alignment = BOX, HEAD_FILL, CENTER
    row = numbers
    for row, (index, data) in enumerate(enumerate(report.figures["rows"], start=1), start=numbers + 1):
        table_row(sheet, row, index, data, targets)
    if report.figures.get("total"):
        row += 1
        table_row(sheet, row, None, report.figures["total"] | {"name": _("Toàn phường")}, targets)
    return row


def table_row(sheet: Worksheet, row: int, index: int | None, data: dict, targets) -> None:
    values = [index, data["name"]] + [data.get(key, 0) for key, _t, _w in TEAM + ACTIVITY]
    for offset, target in enumerate(targets):
        num, den = data["targets"].get(str(target["number"]), (0, 0))
        values.append(num / den if den else "—")
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row, column, value)
        cell.alignment = LEFT if column == 2 else CENTER
        cell.number_format = "General" if column <= 2 else "#,##0" if column < FIRST_TARGET else "0.0%"
        cell.border, cell.font = BOX, font(11, bold=index is None)
        if index is None:
            cell.fill = TOTAL_FILL
    sheet.row_dimensions[row].height = 18


def notes_and_signature(sheet: Worksheet, report: Report, at: int) -> None:
    last, right = report.last_column, get_column_letter(FIRST_TARGET + 1)
    notes = notes_for(report)
    sheet.cell(at, 1, _("Ghi chú:")).font = font(11, bold=True, italic=True)
    for offset, note in enumerate(notes, start=1):
        merged(sheet, f"A{at + offset}:{last}{at + offset}", f"- {note}", font(11, italic=True), LEFT)
    sign = at + len(notes) + 2
    merged(sheet, f"{right}{sign}:{last}{sign}", _("NGƯỜI LẬP BÁO CÁO"), font(12, bold=True))
    merged(sheet, f"{right}{sign + 1}:{last}{sign + 1}", _("(Ký, ghi rõ họ tên)"), font(11, italic=True))
    if report.sender:
        merged(sheet, f"{right}{sign + 5}:{last}{sign + 5}", report.sender, font(12, bold=True))


def notes_for(report: Report) -> list[str]:
    figures = report.figures
    total = figures.get("total")
    late = (total or {}).get("late_visits", sum(r.get("late_visits", 0) for r in figures["rows"]))
    notes = [_("Các chỉ tiêu tính đến hết ngày %(d)s (giờ Việt Nam); mẫu số lấy từ danh sách hộ và nhân khẩu của "
               "khu phố, không chỉ từ những người đã gặp. Chỉ tiêu 9 lấy từ sổ đào tạo của Tổ.",
               d=f"{report.month_end:%d/%m/%Y}"),
             _("Hộ được gặp: số hộ có lần thăm gặp được người trong tháng; người dân được hướng dẫn: số người có ít "
               "nhất một mục được hướng dẫn xong trong tháng."),
             _("Đến muộn: %(n)s lượt thăm của các tháng trước đồng bộ sau khi báo cáo tháng đó đã gửi, được tính "
               "vào tháng này.", n=late)]
    ward_news = total["news"] - sum(r["news"] for r in figures["rows"]) if total else 0
    if ward_news:
        notes.append(_("Tin, bài: %(n)s tin, bài chung của phường chỉ tính ở dòng Toàn phường.", n=ward_news))
    return notes


def print_layout(sheet: Worksheet, report: Report) -> None:
    """Column widths, the frozen header, and A4 landscape fitted to the width with the header on every page."""
    widths = [5, 16] + [w for _k, _t, w in TEAM + ACTIVITY] + [10.5] * len(report.figures["targets"])
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.row_dimensions[TABLE_TOP].height = 32
    sheet.row_dimensions[TABLE_TOP + 1].height = 92
    sheet.freeze_panes = sheet.cell(TABLE_TOP + 3, 3)
    sheet.print_title_rows = f"{TABLE_TOP}:{TABLE_TOP + 2}"
    a4_landscape(sheet)
    sheet.print_options.horizontalCentered = True
    sheet.oddFooter.center.text = _("Trang &P/&N")
    sheet.oddFooter.center.font = FONT
    sheet.sheet_view.showGridLines = False


def a4_landscape(sheet: Worksheet) -> None:
    setup = sheet.page_setup
    setup.orientation, setup.paperSize = "landscape", sheet.PAPERSIZE_A4
    setup.fitToWidth, setup.fitToHeight = 1, 0  # one page wide, as many pages tall as the rows need
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5


def write_details(sheet: Worksheet, report: Report) -> None:
    """Each target's numerator and denominator per khu phố, for whoever checks the shares."""
    targets = report.figures["targets"]
    width = 2 + 3 * len(targets)
    merged(sheet, f"A1:{get_column_letter(width)}1",
           _("Chi tiết các chỉ tiêu đến hết tháng %(m)s: số đạt, tổng số (mẫu số) và tỉ lệ",
             m=f"{report.month.month:02d}/{report.month.year}"), font(13, bold=True))
    top, sub = 3, 4
    for column, title in ((1, _("STT")), (2, _("Khu phố"))):
        sheet.merge_cells(start_row=top, start_column=column, end_row=sub, end_column=column)
        sheet.cell(top, column, title)
    for i, target in enumerate(targets):
        column = 3 + 3 * i
        sheet.merge_cells(start_row=top, start_column=column, end_row=top, end_column=column + 2)
        sheet.cell(top, column, _("CT %(n)s. %(short)s", n=target["number"], short=target["short"]))
        for offset, title in enumerate((_("Số đạt"), _("Tổng số"), _("Tỉ lệ"))):
            sheet.cell(sub, column + offset, title)
    for row in (top, sub):
        for column in range(1, width + 1):
            cell = sheet.cell(row, column)
            cell.font, cell.alignment, cell.border, cell.fill = font(10, bold=True), CENTER, BOX, HEAD_FILL
    rows = list(enumerate(report.figures["rows"], start=1))
    if report.figures.get("total"):
        rows.append((None, report.figures["total"] | {"name": _("Toàn phường")}))
    for row, (index, data) in enumerate(rows, start=sub + 1):
        values = [index, data["name"]]
        for target in targets:
            num, den = data["targets"].get(str(target["number"]), (0, 0))
            values += [num, den, num / den if den else "—"]
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row, column, value)
            cell.number_format = "General" if column <= 2 else "0.0%" if column % 3 == 2 else "#,##0"
            cell.border, cell.font = BOX, font(10, bold=index is None)
            cell.alignment = LEFT if column == 2 else CENTER
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 5, 16
    for column in range(3, width + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 7.5
    sheet.row_dimensions[top].height = 48
    sheet.freeze_panes = sheet.cell(sub + 1, 3)
    sheet.print_title_rows = f"{top}:{sub}"
    a4_landscape(sheet)
