"""Workbooks the import hands out: the template to fill in, and the full list of a file's problems."""
import io
import tempfile

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .fields import FIELDS

EXAMPLE = ("Ví dụ", "HG-0001", "KP01", "Nguyễn Trãi", "12A", "Nguyễn Văn An", "không", "Nguyễn Văn An", "Chủ hộ",
           "05/09/1960", "0912 345 678", "thường", "2G", "có", "không")
EXAMPLE_2 = ("Ví dụ", None, None, None, None, None, None, "Trần Thị Bình", "Vợ", "1965", "+84 987 654 321",
             "thông minh", "4G", None, "có")


def template_workbook() -> bytes:
    """The household list template: a title, the headers, two example rows (skipped on import), and a sheet
    that says what each column takes."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Danh sách")
    headers = [header for _name, _label, header in FIELDS]
    sheet.append([_("DANH SÁCH HỘ GIA ĐÌNH VÀ NHÂN KHẨU")])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in (EXAMPLE, EXAMPLE_2):
        sheet.append(list(row))
        for cell in sheet[sheet.max_row]:
            cell.font = Font(italic=True, color="666666")
    for number in range(1, len(headers) + 1):
        sheet.column_dimensions[get_column_letter(number)].width = 18
    sheet.freeze_panes = "A3"
    for column, choices in (("G", "có,không"), ("L", "thông minh,thường,không có"), ("M", "2G,4G"),
                            ("N", "có,không"), ("O", "có,không")):
        validation = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
        validation.add(f"{column}3:{column}60000")
        sheet.add_data_validation(validation)
    guide = book.create_sheet(_("Hướng dẫn"))
    for line in guide_lines():
        guide.append(list(line))
    guide.column_dimensions["A"].width = 34
    guide.column_dimensions["B"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def guide_lines() -> list[tuple[str, str]]:
    return [
        (_("Cách điền"), ""),
        (_("Mỗi dòng"), _("Một nhân khẩu. Các cột của hộ (mã hộ, khu phố, đường, số nhà, chủ hộ) ghi ở dòng đầu của "
                          "hộ; các dòng sau của cùng hộ có thể để trống (hoặc ghi lặp lại).")),
        (_("Dòng ví dụ"), _("Các dòng có STT là \"Ví dụ\" không được nhập; có thể xóa đi.")),
        (_("Mã hộ"), _("Không bắt buộc. Khi có, mã hộ dùng để nhận ra hộ ở lần nhập sau; khi không có, hộ được "
                       "nhận ra theo số nhà trong đường.")),
        (_("Khu phố"), _("Mã (KP01) hoặc tên (Khu phố 1) của khu phố đã có trong ứng dụng. Khu phố không có sẽ báo lỗi.")),
        (_("Đường/ngõ"), _("Tên đường đã có trong khu phố. Khi nhập có thể chọn \"tạo đường mới khi chưa có\".")),
        (_("Ngày sinh"), _("Ngày/tháng/năm (05/09/1960 hoặc 5-9-1960) hoặc chỉ năm sinh (1960).")),
        (_("Số điện thoại"), _("10 chữ số, có thể có dấu cách hoặc bắt đầu bằng +84.")),
        (_("Loại điện thoại"), _("thông minh, thường, hoặc không có.")),
        (_("SIM (2G/4G)"), _("2G hoặc 4G.")),
        (_("Các cột có/không"), _("có hoặc không; để trống khi chưa biết.")),
        (_("Cột khác"), _("Các cột khác (ghi chú...) được bỏ qua.")),
    ]


def problems_workbook(rows, column_name) -> tempfile.SpooledTemporaryFile:
    """Every problem of a job, one per line (row, column, what is wrong), written as it is read."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Lỗi"))
    sheet.append([_("Dòng"), _("Cột"), _("Lỗi")])
    for number, problems in rows:
        for column, message, _level in problems:
            sheet.append([number, column_name(column), message])
    target = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    book.save(target)
    target.seek(0)
    return target
