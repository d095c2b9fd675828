"""The monthly report as an .xlsx laid out the way ward staff send one: title block, merged Vietnamese headers,
shares as percentage formats, A4 landscape fitted to the page width, with the header repeated on every page.

Built from the report's figures (visits/monthly_figures.py), so a sent report exports exactly what was sent.
"""
from datetime import date, datetime, timedelta

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

# The activity columns after STT and Khu phố: (figure, header, width).
TEAM = (("members", "Số thành viên", 9.5), ("trained", "Đã hoàn thành khóa kỹ năng số", 11))
ACTIVITY = (("visits", "Lượt thăm hộ", 8.5), ("late_visits", "Trong đó đến muộn", 8.5),
            ("households", "Hộ được gặp", 8.5), ("residents", "Người dân được hướng dẫn", 10.5),
            ("sessions", "Buổi sinh hoạt nhóm", 9.5), ("news", "Tin, bài đã đăng", 8))
HEADER_TOP, HEADER_ROWS = 10, 3  # the table's header: group row, column row, numbering row


def font(size: float = 11, bold: bool = False, italic: bool = False, underline: str | None = None) -> Font:
    return Font(name=FONT, size=size, bold=bold, italic=italic, underline=underline)


def vn_date(moment: datetime | date) -> str:
    return f"ngày {moment.day:02d} tháng {moment.month:02d} năm {moment.year}"


def report_workbook(figures: dict, sent, sender) -> Workbook:
    """The workbook: the report sheet, and a sheet of each target's numerator and denominator."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Báo cáo"
    month = parse_month(figures["month"])
    write_report(sheet, figures, month, sent, sender)
    write_details(book.create_sheet("Chi tiết chỉ tiêu"), figures, month)
    return book


def merged(sheet: Worksheet, cells: str, value, style: Font, align: Alignment = CENTER) -> None:
    sheet.merge_cells(cells)
    first = sheet[cells.split(":")[0]]
    first.value, first.font, first.alignment = value, style, align


def write_report(sheet: Worksheet, figures: dict, month: date, sent, sender) -> None:
    targets = figures["targets"]
    first_target = 3 + len(TEAM) + len(ACTIVITY)
    last = get_column_letter(first_target + len(targets) - 1)
    half = get_column_letter(6)
    right = get_column_letter(first_target + 1)
    month_end = next_month(month) - timedelta(days=1)
    ward = figures["ward"]
    # Title block: the issuing body on the left, the national motto on the right, then the title.
    merged(sheet, f"A1:{half}1", f"UBND {ward['name'].upper()}", font(12, bold=True))
    merged(sheet, f"A2:{half}2", "TỔ CÔNG NGHỆ SỐ CỘNG ĐỒNG", font(12, bold=True, underline="single"))
    merged(sheet, f"{right}1:{last}1", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font(12, bold=True))
    merged(sheet, f"{right}2:{last}2", "Độc lập - Tự do - Hạnh phúc", font(12, bold=True, underline="single"))
    signed_on = (sent.sent_at + VN_OFFSET) if sent is not None else datetime.fromisoformat(figures["computed_at"]) \
        + VN_OFFSET
    place = ward["name"].removeprefix("Phường ").strip()
    merged(sheet, f"{right}3:{last}3", f"{place}, {vn_date(signed_on)}", font(12, italic=True))
    merged(sheet, f"A5:{last}5", "BÁO CÁO", font(14, bold=True))
    merged(sheet, f"A6:{last}6",
           f"Kết quả hoạt động của Tổ công nghệ số cộng đồng tháng {month.month:02d} năm {month.year}",
           font(13, bold=True))
    merged(sheet, f"A7:{last}7", f"(Thực hiện {figures['plan']['name']})", font(12, italic=True))
    if sent is not None:
        status = (f"Trạng thái: Đã gửi lúc {(sent.sent_at + VN_OFFSET):%H:%M} {vn_date(sent.sent_at + VN_OFFSET)}"
                  f"; người gửi: {sender.full_name or sender.username if sender else '—'}.")
    else:
        status = (f"Trạng thái: Nháp (chưa gửi) — số liệu tính lúc {signed_on:%H:%M} {vn_date(signed_on)}, "
                  "còn thay đổi khi có thêm lần thăm.")
    merged(sheet, f"A8:{last}8", status, font(11, italic=True))

    # The table's header: three rows, groups merged across their columns, the first two merged down.
    top, sub, numbers = HEADER_TOP, HEADER_TOP + 1, HEADER_TOP + 2
    groups = [(1, 1, "STT"), (2, 2, "Khu phố"),
              (3, 2 + len(TEAM), "Thành viên Tổ CNSCĐ"),
              (3 + len(TEAM), 2 + len(TEAM) + len(ACTIVITY), "Kết quả hoạt động trong tháng"),
              (first_target, first_target + len(targets) - 1,
               f"Kết quả thực hiện các chỉ tiêu đến hết ngày {month_end:%d/%m/%Y} (tỉ lệ đạt)")]
    for start, end, title in groups:
        if end == start and start <= 2:
            sheet.merge_cells(start_row=top, start_column=start, end_row=sub, end_column=end)
        elif end > start:
            sheet.merge_cells(start_row=top, start_column=start, end_row=top, end_column=end)
        cell = sheet.cell(top, start, title)
        cell.font, cell.alignment = font(11, bold=True), CENTER
    headers = [title for _key, title, _w in TEAM + ACTIVITY]
    headers += [f"CT {t['number']}. {t['short']} ({'phấn đấu' if t['strive'] else '≥ ' + format(t['threshold'], '.0%')})"
                for t in targets]
    for offset, title in enumerate(headers):
        cell = sheet.cell(sub, 3 + offset, title)
        cell.font, cell.alignment = font(10, bold=True), CENTER
    for column in range(1, first_target + len(targets)):
        cell = sheet.cell(numbers, column, f"({column})")
        cell.font, cell.alignment = font(9, italic=True), CENTER
    for row in range(top, numbers + 1):
        for column in range(1, first_target + len(targets)):
            sheet.cell(row, column).border = BOX
            sheet.cell(row, column).fill = HEAD_FILL

    # The rows: one per khu phố, then the ward's total.
    row_number = numbers + 1
    for index, figures_row in enumerate(figures["rows"], start=1):
        write_row(sheet, row_number, index, figures_row, targets, first_target, total=False)
        row_number += 1
    if figures.get("total"):
        write_row(sheet, row_number, None, figures["total"] | {"name": "Toàn phường"}, targets, first_target,
                  total=True)
        row_number += 1

    notes_at = row_number + 1
    notes = notes_for(figures, month_end)
    sheet.cell(notes_at, 1, "Ghi chú:").font = font(11, bold=True, italic=True)
    for offset, note in enumerate(notes, start=1):
        merged(sheet, f"A{notes_at + offset}:{last}{notes_at + offset}", f"- {note}", font(11, italic=True), LEFT)
    sign_at = notes_at + len(notes) + 2
    merged(sheet, f"{right}{sign_at}:{last}{sign_at}", "NGƯỜI LẬP BÁO CÁO", font(12, bold=True))
    merged(sheet, f"{right}{sign_at + 1}:{last}{sign_at + 1}", "(Ký, ghi rõ họ tên)", font(11, italic=True))
    if sender is not None:
        merged(sheet, f"{right}{sign_at + 5}:{last}{sign_at + 5}", sender.full_name or sender.username,
               font(12, bold=True))

    layout(sheet, first_target, len(targets), top, numbers)


def write_row(sheet: Worksheet, row: int, index: int | None, data: dict, targets, first_target: int,
              total: bool) -> None:
    values = [index, data["name"]] + [data.get(key, 0) for key, _t, _w in TEAM + ACTIVITY]
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row, column, value)
        cell.alignment = LEFT if column == 2 else CENTER
        cell.number_format = "#,##0" if column > 2 else "General"
    for offset, target in enumerate(targets):
        num, den = data["targets"].get(str(target["number"]), (0, 0))
        cell = sheet.cell(row, first_target + offset, num / den if den else "—")
        cell.number_format, cell.alignment = "0.0%", CENTER
    for column in range(1, first_target + len(targets)):
        cell = sheet.cell(row, column)
        cell.border, cell.font = BOX, font(11, bold=total)
        if total:
            cell.fill = TOTAL_FILL


def notes_for(figures: dict, month_end: date) -> list[str]:
    total = figures.get("total") or {}
    late = total.get("late_visits", sum(r.get("late_visits", 0) for r in figures["rows"]))
    notes = [f"Các chỉ tiêu tính đến hết ngày {month_end:%d/%m/%Y} (giờ Việt Nam); mẫu số lấy từ danh sách hộ và "
             "nhân khẩu của khu phố, không chỉ từ những người đã gặp. Chỉ tiêu 9 lấy từ sổ đào tạo của Tổ.",
             "Hộ được gặp: số hộ có lần thăm gặp được người trong tháng; người dân được hướng dẫn: số người có ít "
             "nhất một mục được hướng dẫn xong trong tháng.",
             f"Đến muộn: {late} lượt thăm của các tháng trước đồng bộ sau khi báo cáo tháng đó đã gửi, được tính "
             "vào tháng này."]
    if figures.get("total"):
        ward_news = total.get("news", 0) - sum(r.get("news", 0) for r in figures["rows"])
        if ward_news:
            notes.append(f"Tin, bài: {ward_news} tin, bài chung của phường chỉ tính ở dòng Toàn phường.")
    return notes


def layout(sheet: Worksheet, first_target: int, target_count: int, top: int, numbers: int) -> None:
    widths = [5, 16] + [w for _k, _t, w in TEAM + ACTIVITY] + [10.5] * target_count
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.row_dimensions[top].height = 32
    sheet.row_dimensions[top + 1].height = 92
    for row in (5, 6, 7):
        sheet.row_dimensions[row].height = 20
    sheet.freeze_panes = sheet.cell(numbers + 1, 3)
    sheet.print_title_rows = f"{top}:{numbers}"
    setup = sheet.page_setup
    setup.orientation, setup.paperSize = "landscape", sheet.PAPERSIZE_A4
    setup.fitToWidth, setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5
    sheet.oddFooter.center.text = "Trang &P/&N"
    sheet.oddFooter.center.font = FONT
    sheet.sheet_view.showGridLines = False


def write_details(sheet: Worksheet, figures: dict, month: date) -> None:
    """Each target's numerator and denominator per khu phố, for whoever checks the shares."""
    targets = figures["targets"]
    last = get_column_letter(2 + 3 * len(targets))
    merged(sheet, f"A1:{last}1", f"Chi tiết các chỉ tiêu đến hết tháng {month.month:02d}/{month.year}: "
                                 "số đạt, tổng số (mẫu số) và tỉ lệ", font(13, bold=True))
    top, sub = 3, 4
    sheet.merge_cells(start_row=top, start_column=1, end_row=sub, end_column=1)
    sheet.merge_cells(start_row=top, start_column=2, end_row=sub, end_column=2)
    sheet.cell(top, 1, "STT")
    sheet.cell(top, 2, "Khu phố")
    for i, target in enumerate(targets):
        column = 3 + 3 * i
        sheet.merge_cells(start_row=top, start_column=column, end_row=top, end_column=column + 2)
        sheet.cell(top, column, f"CT {target['number']}. {target['short']}")
        for offset, title in enumerate(("Số đạt", "Tổng số", "Tỉ lệ")):
            sheet.cell(sub, column + offset, title)
    for row in (top, sub):
        for column in range(1, 3 + 3 * len(targets)):
            cell = sheet.cell(row, column)
            cell.font, cell.alignment, cell.border, cell.fill = font(10, bold=True), CENTER, BOX, HEAD_FILL
    rows = list(enumerate(figures["rows"], start=1))
    if figures.get("total"):
        rows.append((None, figures["total"] | {"name": "Toàn phường"}))
    for r, (index, data) in enumerate(rows, start=sub + 1):
        sheet.cell(r, 1, index)
        sheet.cell(r, 2, data["name"]).alignment = LEFT
        for i, target in enumerate(targets):
            num, den = data["targets"].get(str(target["number"]), (0, 0))
            column = 3 + 3 * i
            sheet.cell(r, column, num).number_format = "#,##0"
            sheet.cell(r, column + 1, den).number_format = "#,##0"
            sheet.cell(r, column + 2, num / den if den else "—").number_format = "0.0%"
        for column in range(1, 3 + 3 * len(targets)):
            cell = sheet.cell(r, column)
            cell.border, cell.font = BOX, font(10, bold=index is None)
            if column != 2:
                cell.alignment = CENTER
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 5, 16
    for column in range(3, 3 + 3 * len(targets)):
        sheet.column_dimensions[get_column_letter(column)].width = 7.5
    sheet.row_dimensions[top].height = 48
    sheet.freeze_panes = sheet.cell(sub + 1, 3)
    sheet.print_title_rows = f"{top}:{sub}"
    sheet.page_setup.orientation, sheet.page_setup.paperSize = "landscape", sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
