"""Reading one cell as the app's value: names, house numbers, birth dates in any of the usual styles, phones.

Each reader takes what openpyxl gives (str, int, float, bool, datetime, or a marker below) and returns the
value, None for a blank cell, or raises Bad with what is wrong, in Vietnamese.
"""
import re
from datetime import date, datetime
from functools import lru_cache

from flask_babel import gettext as _

from ..text import fold, nfc


class Bad(ValueError):
    """A cell that cannot be read; the message says why and how to write it."""


class Marker(str):
    """A cell that holds no value of its own: a formula never calculated, or an Excel error such as #N/A."""


FORMULA_WITHOUT_VALUE = Marker("formula")


def excel_error(code: str) -> Marker:
    return Marker("#" + code.lstrip("#"))


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not isinstance(value, Marker) and not value.strip())


def checked(value):
    """Raise Bad for a cell with no usable value (a formula without its result, an Excel error)."""
    if value is FORMULA_WITHOUT_VALUE:
        raise Bad(_("Ô có công thức nhưng chưa có kết quả tính. Hãy mở tệp bằng Excel cho tính xong rồi lưu lại, "
                    "hoặc dán dạng giá trị."))
    if isinstance(value, Marker):
        raise Bad(_("Ô có lỗi công thức (%(code)s).", code=str(value)))
    return value


def as_text(value) -> str | None:
    """Any cell as text: numbers without ".0", spaces collapsed, precomposed."""
    value = checked(value)
    if blank(value):
        return None
    if isinstance(value, bool):
        return _("có") if value else _("không")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    return nfc(str(value)) or None


def limited(text: str | None, limit: int) -> str | None:
    if text is not None and len(text) > limit:
        raise Bad(_("Quá dài: tối đa %(n)s ký tự.", n=limit))
    return text


def person_name(value) -> str | None:
    """A name as written; one typed in capitals ("NGUYỄN VĂN AN") is given the usual capitals."""
    text = limited(as_text(value), 160)
    if text is None:
        return None
    if not any(c.isalpha() for c in text):
        raise Bad(_("\"%(value)s\" không phải là họ tên.", value=text))
    return text.title() if text.isupper() else text


def house_number(value) -> str | None:
    """A house number; one Excel turned into a date ("10/3" became 10 March) is given back as day/month."""
    value = checked(value)
    if isinstance(value, datetime):
        return f"{value.day}/{value.month}"
    return limited(as_text(value), 80)


def code(value) -> str | None:
    return limited(as_text(value), 40)


def code_key(text: str) -> str:
    """Codes are compared without case, diacritics or spaces."""
    return fold(text).replace(" ", "")


_YEAR = re.compile(r"(\d{4})")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
_YEAR_MONTH_DAY = re.compile(r"(\d{4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})")
_MONTH_YEAR = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{4})")


def birth_year(value, today: date | None = None) -> int | None:
    """The year of a birth date written as a date cell, as text (dd/mm/yyyy, d-m-yyyy, dd.mm.yyyy, yyyy-mm-dd,
    mm/yyyy) or as a year alone."""
    value = checked(value)
    if blank(value):
        return None
    this_year = (today or date.today()).year
    if isinstance(value, (datetime, date)):
        year = value.year
    elif isinstance(value, bool):
        raise Bad(_bad_birth(value))
    elif isinstance(value, (int, float)):
        if not float(value).is_integer():
            raise Bad(_bad_birth(value))
        year = int(value)
    else:
        year = _year_of_text(str(value).strip())
    if not 1900 <= year <= this_year:
        raise Bad(_("Năm sinh %(year)s không hợp lệ: phải từ 1900 đến %(max)s.", year=year, max=this_year))
    return year


def _year_of_text(text: str) -> int:
    if _YEAR.fullmatch(text):
        return int(text)
    found = _DAY_MONTH_YEAR.fullmatch(text)
    if found:
        day, month, year = (int(g) for g in found.groups())
        # Only the year is kept, so a month/day date (US order) is as good as day/month.
        if not (_real_date(year, month, day) or _real_date(year, day, month)):
            raise Bad(_("Ngày sinh \"%(value)s\" không có thật.", value=text))
        return year
    found = _YEAR_MONTH_DAY.fullmatch(text)
    if found:
        year, month, day = (int(g) for g in found.groups())
        if not _real_date(year, month, day):
            raise Bad(_("Ngày sinh \"%(value)s\" không có thật.", value=text))
        return year
    found = _MONTH_YEAR.fullmatch(text)
    if found and 1 <= int(found.group(1)) <= 12:
        return int(found.group(2))
    raise Bad(_bad_birth(text))


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _bad_birth(value) -> str:
    return _("Không đọc được ngày sinh \"%(value)s\": hãy ghi ngày/tháng/năm (05/09/1960) hoặc chỉ năm (1960).",
             value=str(value)[:40])


_PHONE_NOISE = re.compile(r"[\s.\-()\u00a0'‘’]")
_PHONE_SPLIT = re.compile(r"[,;/|]|\bhoac\b|\bhoặc\b")
PHONE = re.compile(r"0\d{9,10}")


def phone(value) -> str | None:
    """A phone number as "0912345678": spaces, dots and dashes dropped, +84 or 84 turned into 0, the zero Excel
    drops from a number put back; the first number when a cell holds several."""
    value = checked(value)
    if blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or isinstance(value, float) or isinstance(value, (datetime, date)):
        raise Bad(_bad_phone(value))
    text = str(value).strip()
    first = next((piece for piece in _PHONE_SPLIT.split(text) if piece.strip()), "")
    digits = _PHONE_NOISE.sub("", first)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    elif len(digits) == 9 and digits[0] in "35789":
        digits = "0" + digits  # a number cell: Excel dropped the leading zero
    if not PHONE.fullmatch(digits):
        raise Bad(_bad_phone(text))
    return digits


def _bad_phone(value) -> str:
    return _("Số điện thoại \"%(value)s\" không hợp lệ: cần 10 chữ số bắt đầu bằng 0 (hoặc +84).",
             value=str(value)[:40])


YES = {"co", "x", "1", "yes", "y", "true", "dung", "roi", "da co", "co roi", "v", "\u2713", "\u2714", "c"}
NO = {"khong", "0", "no", "n", "false", "chua", "chua co", "k", "ko", "khong co", "sai", "-"}


@lru_cache(maxsize=1024)
def word_key(text: str) -> str:
    """A cell of a small vocabulary (có/không, 4G, thông minh...) folded; cached, as the same few recur."""
    return fold(text)


def yes_no(value) -> bool | None:
    value = checked(value)
    if blank(value):
        return None
    if isinstance(value, bool):
        return value
    key = word_key(as_text(value) or "")
    if key in YES:
        return True
    if key in NO:
        return False
    raise Bad(_("Không rõ \"%(value)s\": hãy ghi \"có\" hoặc \"không\".", value=str(value)[:40]))


PHONE_KINDS = {
    "smart": {"thong minh", "dien thoai thong minh", "dt thong minh", "smartphone", "smart", "tm", "android",
              "iphone", "cam ung", "may thong minh"},
    "basic": {"thuong", "dien thoai thuong", "dt thuong", "pho thong", "co ban", "cuc gach", "basic", "may thuong",
              "dien thoai co ban", "phim bam", "may phim bam"},
    "none": {"khong", "khong co", "none", "0", "khong dung", "chua co"},
}
KIND_OF = {text: kind for kind, texts in PHONE_KINDS.items() for text in texts}


def phone_kind(value) -> str | None:
    value = checked(value)
    if blank(value):
        return None
    kind = KIND_OF.get(word_key(as_text(value) or ""))
    if kind is None:
        raise Bad(_("Không rõ loại điện thoại \"%(value)s\": hãy ghi \"thông minh\", \"thường\" hoặc \"không có\".",
                    value=str(value)[:40]))
    return kind


def sim(value) -> str | None:
    """2G stays 2G; 3G, 4G and 5G SIMs all work on the networks that stay (the target is switching 2G off)."""
    value = checked(value)
    if blank(value):
        return None
    key = word_key(as_text(value) or "").replace("sim", "").replace(" ", "")
    if key == "2g":
        return "2g"
    if key in ("3g", "4g", "5g", "4g5g", "3g4g"):
        return "4g"
    if key in ("khongro", "chuaro", "unknown", "?", "khongbiet"):
        return "unknown"
    raise Bad(_("Không rõ loại SIM \"%(value)s\": hãy ghi \"2G\" hoặc \"4G\".", value=str(value)[:40]))


def is_head(value) -> bool:
    """True when the relation to the head of household says this is the head."""
    text = as_text(value)
    return text is not None and word_key(text) in ("chu ho", "ch", "la chu ho", "chu")


def calendar_day(value) -> date | None:
    """A day written as a date cell or as text, day first (dd/mm/yyyy, d-m-yyyy, dd.mm.yyyy) or yyyy-mm-dd; None
    for a blank cell. A plain number is refused: it is a date only when the cell is formatted as one."""
    value = checked(value)
    if blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (bool, int, float)):
        raise Bad(_("Ô là một con số (%(value)s), không phải ngày: hãy ghi ngày dạng ngày/tháng/năm (15/06/2024).",
                    value=str(value)[:20]))
    text = str(value).strip()
    found = _DAY_MONTH_YEAR.fullmatch(text)
    if found:
        day, month, year = (int(g) for g in found.groups())
    else:
        found = _YEAR_MONTH_DAY.fullmatch(text)
        if found is None:
            raise Bad(_("Không đọc được ngày \"%(value)s\": hãy ghi ngày/tháng/năm (15/06/2024).", value=text[:40]))
        year, month, day = (int(g) for g in found.groups())
    if not _real_date(year, month, day):
        raise Bad(_("Ngày \"%(value)s\" không có thật.", value=text[:40]))
    return date(year, month, day)
