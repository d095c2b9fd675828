"""The app's fields a sheet's columns can fill, the header names each is known by, and finding the header row."""
import hashlib
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..text import fold

# (field, label shown to staff, header in the template). The order is the template's.
FIELDS = (
    ("row_label", _l("STT"), "STT"),
    ("code", _l("Mã hộ"), "Mã hộ"),
    ("khu_pho", _l("Khu phố"), "Khu phố"),
    ("street", _l("Đường/ngõ"), "Đường/ngõ"),
    ("house_number", _l("Số nhà"), "Số nhà"),
    ("head_name", _l("Chủ hộ"), "Chủ hộ"),
    ("is_business", _l("Hộ kinh doanh"), "Hộ kinh doanh (có/không)"),
    ("full_name", _l("Họ và tên"), "Họ và tên"),
    ("relation", _l("Quan hệ với chủ hộ"), "Quan hệ với chủ hộ"),
    ("birth", _l("Ngày sinh hoặc năm sinh"), "Ngày sinh"),
    ("phone", _l("Số điện thoại"), "Số điện thoại"),
    ("phone_kind", _l("Loại điện thoại"), "Loại điện thoại (thông minh/thường/không có)"),
    ("sim", _l("SIM (2G/4G)"), "SIM (2G/4G)"),
    ("handset_2g_only", _l("Máy chỉ dùng được 2G"), "Máy chỉ dùng được 2G (có/không)"),
    ("has_epay", _l("Có tài khoản thanh toán điện tử"), "Có tài khoản thanh toán điện tử (có/không)"),
)
FIELD_NAMES = tuple(name for name, _label, _header in FIELDS)
HOUSEHOLD_FIELDS = ("code", "khu_pho", "street", "house_number", "head_name", "is_business")
# Without these no household can be placed: a khu phố, a street, a house number, and a person's name.
REQUIRED = ("khu_pho", "street", "house_number")
NAME_FIELDS = ("full_name", "head_name")

# Header texts as normalise_header gives them.
ALIASES = {
    "row_label": ("stt", "tt", "so tt", "so thu tu"),
    "code": ("ma ho", "ma so ho", "ma ho gia dinh", "ma ho gd", "so ho khau", "so so ho khau", "id ho", "ma so ho gd"),
    "khu_pho": ("khu pho", "kp", "to dan pho", "tdp", "khu dan cu", "khu pho to dan pho", "khu pho tdp", "ten khu pho",
                "ma khu pho", "thon khu pho", "khu"),
    "street": ("duong", "duong ngo", "ngo duong", "duong pho", "ten duong", "duong ngo pho", "duong pho ngo", "pho",
               "ngo", "ngo pho", "pho ngo", "tuyen duong", "ten duong pho", "ten duong ngo", "duong hem", "hem"),
    "house_number": ("so nha", "nha so", "so nha ngo", "so", "so nha ngach", "so nha hem"),
    "head_name": ("chu ho", "ho ten chu ho", "ho va ten chu ho", "ten chu ho"),
    "is_business": ("ho kinh doanh", "ho san xuat kinh doanh", "ho sxkd", "kinh doanh", "sxkd", "ho kd", "hkd",
                    "la ho kinh doanh"),
    "full_name": ("ho va ten", "ho ten", "ten", "ho ten nhan khau", "ho va ten nhan khau", "nhan khau",
                  "ten nhan khau", "ho va ten thanh vien", "thanh vien ho"),
    "relation": ("quan he voi chu ho", "quan he", "quan he chu ho", "qh voi chu ho", "qh chu ho", "moi quan he",
                 "quan he voi ch"),
    "birth": ("ngay sinh", "nam sinh", "ngay thang nam sinh", "ns", "sinh ngay", "ngay sinh nam sinh",
              "ngay thang nam", "nam sinh ngay sinh"),
    "phone": ("so dien thoai", "dien thoai", "sdt", "so dt", "dt", "dtdd", "di dong", "so di dong",
              "dien thoai di dong", "dien thoai lien he", "sdt lien he", "so dien thoai lien he", "so dtdd"),
    "phone_kind": ("loai dien thoai", "loai dt", "loai may", "loai may dien thoai", "dien thoai dang dung"),
    "sim": ("sim", "loai sim", "sim 2g 4g", "thue bao", "loai thue bao", "sim 2g hay 4g"),
    "handset_2g_only": ("may chi dung duoc 2g", "may chi dung 2g", "may chi 2g", "dien thoai chi dung 2g",
                        "chi dung 2g", "may 2g", "may chi dung duoc song 2g"),
    "has_epay": ("co tai khoan thanh toan dien tu", "thanh toan dien tu", "tai khoan thanh toan",
                 "co tai khoan thanh toan", "tk thanh toan", "vi dien tu", "tai khoan thanh toan dien tu",
                 "co tk thanh toan", "thanh toan khong dung tien mat"),
}
FIELD_OF_HEADER = {alias: field for field, aliases in ALIASES.items() for alias in aliases}
HEADER_ROWS_SCANNED = 30

_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def label_of(field: str) -> str:
    return next(str(label) for name, label, _header in FIELDS if name == field)


def normalise_header(value) -> str:
    """A header cell as the aliases are written: folded, without notes in brackets or punctuation."""
    if value is None:
        return ""
    text = _PARENTHESES.sub(" ", fold(str(value)))
    return _NOT_WORD.sub(" ", text).strip()


def field_of(value) -> str | None:
    return FIELD_OF_HEADER.get(normalise_header(value))


def signature(headers: list) -> str:
    """What two sheets of the same shape share: their header cells, folded, in order."""
    texts = [normalise_header(h) for h in headers]
    while texts and not texts[-1]:
        texts.pop()
    return hashlib.sha256("\x1f".join(texts).encode()).hexdigest()


def auto_mapping(headers: list) -> dict[str, str]:
    """Column number (as text, 1-based) -> field for the headers it knows; the first column wins a field."""
    mapping, taken = {}, set()
    for number, header in enumerate(headers, start=1):
        field = field_of(header)
        if field and field not in taken:
            mapping[str(number)] = field
            taken.add(field)
    return mapping


def missing_fields(mapping: dict) -> list[str]:
    """The fields a mapping must still give before rows can be read (labels, for staff)."""
    given = set(mapping.values())
    missing = [label_of(f) for f in REQUIRED if f not in given]
    if not given & set(NAME_FIELDS):
        missing.append(str(_l("Họ và tên (hoặc Chủ hộ)")))
    return missing


@dataclass
class HeaderGuess:
    row: int  # 1-based row number in the sheet
    headers: list
    score: int  # fields recognised (STT not counted)
    saved: dict | None = None  # a mapping remembered for this shape


def find_header(rows: list[list], saved_mappings: dict[str, dict]) -> HeaderGuess | None:
    """The header row among the first rows of a sheet: a row of a shape seen before, else the row naming
    the most fields (at least two); None when no row looks like a header."""
    best = None
    for index, values in enumerate(rows[:HEADER_ROWS_SCANNED], start=1):
        headers = list(values)
        if not any(v not in (None, "") for v in headers):
            continue
        saved = saved_mappings.get(signature(headers))
        if saved is not None:
            return HeaderGuess(index, headers, len(saved), saved)
        score = len({f for f in auto_mapping(headers).values() if f != "row_label"})
        if score >= 2 and (best is None or score > best.score):
            best = HeaderGuess(index, headers, score)
    return best


def widest_row(rows: list[list]) -> HeaderGuess | None:
    """When no header is recognised: the first row with the most filled cells, offered for mapping by hand."""
    best = None
    for index, values in enumerate(rows[:HEADER_ROWS_SCANNED], start=1):
        filled = sum(1 for v in values if v not in (None, ""))
        if filled and (best is None or filled > best.score):
            best = HeaderGuess(index, list(values), filled)
    return best
