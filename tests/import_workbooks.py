"""Workbooks for the import tests, built in code: real-world household lists with their quirks, and files
that must be refused (a CSV or PDF renamed .xlsx, a zip bomb)."""
import io
import random
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

from openpyxl import Workbook

HEADERS = ["STT", "Mã hộ", "Khu phố", "Đường/ngõ", "Số nhà", "Họ và tên", "Ngày sinh", "Số điện thoại"]


def xlsx(rows: list, title: str = "Danh sách", header_row: list | None = None, before: list | None = None,
         sheets_before: list | None = None) -> bytes:
    """A workbook whose data sheet holds the `before` rows (titles), the header row and the rows; sheets_before
    are (title, rows) sheets put ahead of it."""
    book = Workbook()
    book.remove(book.active)
    for name, other_rows in sheets_before or []:
        other = book.create_sheet(name)
        for row in other_rows:
            other.append(row)
    sheet = book.create_sheet(title)
    for row in before or []:
        sheet.append(row)
    if header_row is not None:
        sheet.append(header_row)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def simple_rows() -> list:
    """Two households on streets the test ward has, one resident each."""
    return [[1, None, "KP1", "Nguyễn Trãi", "20", "Đặng Văn Mới", "01/02/1970", "0912 000 001"],
            [2, None, "KP2", "Hạ Long", "30", "Bùi Thị Hoa", "1980", "+84 912 000 002"]]


def with_cached_values(data: bytes, values: dict) -> bytes:
    """The workbook with a cached result put into formula cells, as Excel leaves them: {"H3": "1960"}."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                text = content.decode()
                for coordinate, value in values.items():
                    text = re.sub(rf'(<c r="{coordinate}"[^>]*>)(<f>[^<]*</f>)<v\s*/?>(?:</v>)?',
                                  rf"\g<1>\g<2><v>{value}</v>", text)
                content = text.encode()
            target.writestr(item, content)
    return target_buffer.getvalue()


def zip_bomb(unpacked_mb: int = 210) -> bytes:
    """A valid-looking .xlsx whose sheet inflates to hundreds of MB (of zeros) from a few hundred KB."""
    real = zipfile.ZipFile(io.BytesIO(xlsx(simple_rows(), header_row=HEADERS)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in real.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with bomb.open(item.filename, "w", force_zip64=True) as sheet:
                    chunk = b"\0" * (1024 * 1024)
                    for _ in range(unpacked_mb):
                        sheet.write(chunk)
            else:
                bomb.writestr(item, real.read(item.filename))
    return buffer.getvalue()


CSV = "Họ và tên,Khu phố,Đường,Số nhà\nNguyễn Văn An,KP1,Nguyễn Trãi,12\n".encode("utf-8")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- A realistic ward list ---------------------------------------------------------------------------------

SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
MIDDLE = ("Văn", "Thị", "Minh", "Ngọc", "Đức", "Thu", "Quang", "Thanh")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Hà", "Hương", "Lan", "Long", "Mai", "Nam", "Phúc", "Quân", "Sơn",
         "Thảo", "Trang", "Tuấn", "Vy", "Yến", "Khánh", "Linh")
RELATIONS = ("Vợ", "Chồng", "Con", "Con", "Cháu", "Mẹ", "Bố")
REALISTIC_HEADERS = ["STT", "MÃ HỘ", "khu pho", "Đường / Ngõ", "Số nhà", "Họ và tên", "Quan hệ với chủ hộ",
                     "Ngày, tháng, năm sinh", "SĐT", "Loại ĐT", "Sim", "HKD", "Ghi chú", "Dân tộc"]


@dataclass
class Person:
    name: str
    year: int
    phone: str | None  # as stored: "0912345678"
    phone_kind: str | None
    sim: str | None


@dataclass
class House:
    code: str | None
    khu_pho: str  # KP1 | KP2
    street: str
    number: str
    business: bool
    people: list = field(default_factory=list)


def realistic_households(rows_wanted: int = 5000, seed: int = 62) -> list[House]:
    """Households on the test ward's streets, about rows_wanted residents in all. Nguyễn Trãi 12 is the
    household the ward already has (its residents as the fixture has them; Bình now with a phone)."""
    rng = random.Random(seed)
    houses = [House(None, "KP1", "Nguyễn Trãi", "12", False, [
        Person("Nguyễn Văn An", 1960, None, None, None), Person("Trần Thị Bình", 1965, "0912999888", None, None),
        Person("Nguyễn Văn Cường", 2000, None, None, None)])]
    taken = {("Nguyễn Trãi", "12"), ("Nguyễn Trãi", "2"), ("Nguyễn Trãi", "2A"), ("Nguyễn Trãi", "10/3"),
             ("Lê Lợi", "5"), ("Hạ Long", "7")}
    streets = (("KP1", "Nguyễn Trãi"), ("KP1", "Lê Lợi"), ("KP2", "Hạ Long"))
    count, serial = 3, 0
    while count < rows_wanted:
        khu_pho, street = rng.choice(streets)
        serial += 1
        number = rng.choice((str(serial), f"{serial}A", f"Ngõ {serial % 40 + 1}, số {serial}", str(serial)))
        if (street, number) in taken:
            continue
        taken.add((street, number))
        size = min(rng.choice((1, 2, 3, 3, 4, 5)), rows_wanted - count)
        people, used = [], set()
        while len(people) < size:
            name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            year = rng.randint(1935, 2022)
            if (name, year) in used:
                continue
            used.add((name, year))
            phone = rng.choice((None, f"09{rng.randint(10000000, 99999999)}", f"03{rng.randint(10000000, 99999999)}"))
            people.append(Person(name, year, phone, rng.choice((None, "smart", "basic", "none")),
                                 rng.choice((None, "4g", "2g"))))
        code = f"HG-{serial:05d}" if rng.random() < 0.5 else None
        houses.append(House(code, khu_pho, street, number, rng.random() < 0.1, people))
        count += size
    return houses


def realistic_workbook(houses: list[House], seed: int = 7) -> bytes:
    """The households as a ward would have typed them: two merged title rows and a blank row above the headers,
    headers in capitals or without diacritics, extra columns, households either repeated on every row or left
    blank (sometimes merged) under their first row, khu phố and streets spelled several ways, birth dates as
    dates, as text in three styles and as years, phones with spaces, dots, +84 or as numbers, some names in
    capitals, and blank rows between some households."""
    rng = random.Random(seed)
    book = Workbook()
    sheet = book.active
    sheet.title = "DS ho"
    sheet.append(["DANH SÁCH HỘ GIA ĐÌNH VÀ NHÂN KHẨU"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(REALISTIC_HEADERS))
    sheet.append(["Phường Hồng Gai, năm 2024"])
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=6)
    sheet.append([])
    sheet.append(REALISTIC_HEADERS)
    last_row = 4  # sheet.max_row does not count blank rows appended
    place_names = {"KP1": ("KP1", "Khu phố 1", "kp 1", "1"), "KP2": ("KP2", "khu pho 2", "Khu phố 2")}
    street_names = {"Nguyễn Trãi": ("Nguyễn Trãi", "nguyen trai", "Đường Nguyễn Trãi", "NGUYỄN TRÃI"),
                    "Lê Lợi": ("Lê Lợi", "Phố Lê Lợi", "le loi"), "Hạ Long": ("Hạ Long", "ha long", "Đường Hạ Long")}
    serial = 0
    for house in houses:
        repeated = rng.random() < 0.5
        merged = not repeated and len(house.people) > 1 and rng.random() < 0.3
        first_row = last_row + 1
        for index, person in enumerate(house.people):
            serial += 1
            household = [house.code, rng.choice(place_names[house.khu_pho]), rng.choice(street_names[house.street]),
                         _number_cell(house.number, rng)]
            if index and not repeated:
                household = [None, None, None, None]
            name = person.name.upper() if rng.random() < 0.1 else person.name
            sheet.append([serial] + household + [name, "Chủ hộ" if index == 0 else rng.choice(RELATIONS),
                         _birth_cell(person.year, rng), _phone_cell(person.phone, rng),
                         {"smart": "Thông minh", "basic": "thuong", "none": "không có", None: None}[person.phone_kind],
                         {"4g": "4G", "2g": "2g", None: None}[person.sim],
                         ("x" if house.business else None) if index == 0 or repeated else None,
                         rng.choice((None, None, "tạm trú", "KT3")), "Kinh"])
            last_row += 1
        if merged:
            sheet.merge_cells(start_row=first_row, start_column=5, end_row=last_row, end_column=5)
        if rng.random() < 0.05:
            sheet.append([])
            last_row += 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _number_cell(number: str, rng: random.Random):
    return int(number) if number.isdigit() and rng.random() < 0.5 else number


def _birth_cell(year: int, rng: random.Random):
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    return rng.choice((datetime(year, month, day), f"{day:02d}/{month:02d}/{year}", f"{day}-{month}-{year}", year,
                       str(year)))


def _phone_cell(phone: str | None, rng: random.Random):
    if phone is None:
        return None
    return rng.choice((phone, f"{phone[:4]} {phone[4:7]} {phone[7:]}", "+84 " + phone[1:], int(phone),
                       f"{phone[:4]}.{phone[4:7]}.{phone[7:]}"))
