"""Importing a 50,000-row household list: rows per second, and the peak memory of the process that imports it.

`.venv/bin/python bench/bench_import.py` prints `BENCH import_rows_per_s <n> rows/s` and
`BENCH import_peak_mb <n> MB`. The workbook is built first (openpyxl, write-only); the import then runs in a
child process, through the real pages (upload, the progress polls, confirm, the polls again) on a fresh SQLite
database, and its peak memory is the child's ru_maxrss. Targets: at least 2,000 rows/s, under 300 MB.
"""
import io
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROWS = 50_000
KHU_PHO = 6
STREETS_PER_KHU_PHO = 8
HEADERS = ["STT", "Mã hộ", "Khu phố", "Đường", "Số nhà", "Họ và tên", "Quan hệ với chủ hộ", "Ngày sinh",
           "Số điện thoại", "Loại điện thoại", "SIM", "Ghi chú"]
NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Vũ Thị Gấm",
         "Đặng Văn Hải", "Bùi Thị Lan", "Đỗ Minh Long", "Ngô Thu Mai", "Phan Quang Nam", "Hồ Ngọc Oanh")


def street_name(k: int, s: int) -> str:
    return f"Phố {k + 1}-{s + 1} Hồng Gai"


def build_workbook(path: Path, rows: int = ROWS, seed: int = 50) -> int:
    """A ward list of `rows` residents: household columns on a household's first row only, birth dates as dates,
    text and years, phones written several ways. Returns the number of households."""
    from openpyxl import Workbook
    rng = random.Random(seed)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Danh sách")
    sheet.append(["DANH SÁCH HỘ GIA ĐÌNH VÀ NHÂN KHẨU"])
    sheet.append([])
    sheet.append(HEADERS)
    written, households = 0, 0
    while written < rows:
        households += 1
        k, s = rng.randrange(KHU_PHO), rng.randrange(STREETS_PER_KHU_PHO)
        size = min(rng.choice((1, 2, 3, 3, 4, 5)), rows - written)
        for index in range(size):
            written += 1
            year = 1935 + (written * 7 + index) % 88
            phone = f"09{rng.randint(10000000, 99999999)}"
            household = [f"HG{households:06d}", f"KP{k + 1:02d}", street_name(k, s), str(households)] if index == 0 \
                else [None, None, None, None]
            sheet.append([written] + household + [
                f"{rng.choice(NAMES)} {written}", "Chủ hộ" if index == 0 else "Con",
                rng.choice((datetime(year, 3, 9), f"09/03/{year}", f"9-3-{year}", year)),
                rng.choice((phone, f"{phone[:4]} {phone[4:7]} {phone[7:]}", "+84" + phone[1:], None)),
                rng.choice(("thông minh", "thường", None)), rng.choice(("4G", "2G", None)), None])
    book.save(path)
    return households


def child(workbook_path: str, directory: str) -> None:
    """In the measured process: a fresh database, a ward, and the import through the pages."""
    import logging

    from flask_migrate import upgrade
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    from visits import create_app
    from visits.extensions import db
    from visits.models import Household, KhuPho, Resident, Street, User, Ward
    from visits.passwords import hash_password
    from visits.plans import ensure_default_plan
    from visits.sessions import logged_in_session

    logging.disable(logging.WARNING)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory}/bench.sqlite", "SECRET_KEY": "bench",
                      "IMPORT_FOLDER": f"{directory}/imports"})
    with app.app_context():
        upgrade()
        ensure_default_plan()
        ward = Ward(code="HG", name="Phường Hồng Gai")
        db.session.add(ward)
        db.session.flush()
        for k in range(KHU_PHO):
            place = KhuPho(ward_id=ward.id, code=f"KP{k + 1:02d}", name=f"Khu phố {k + 1}")
            db.session.add(place)
            db.session.flush()
            db.session.add_all([Street(khu_pho_id=place.id, name=street_name(k, s), position=s)
                                for s in range(STREETS_PER_KHU_PHO)])
        staff = User(username="canbo", password_hash=hash_password("canbo12345"), role="staff", ward_id=ward.id)
        db.session.add(staff)
        db.session.commit()
        fields = logged_in_session(staff)
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(fields)
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/imports/").get_data(as_text=True)).group(1)
    data = Path(workbook_path).read_bytes()
    boundary, body = encode_multipart({"csrf_token": token, "file": FileStorage(io.BytesIO(data), "ds.xlsx")})
    headers = {"HX-Request": "true", "X-CSRFToken": token}

    def poll(url: str) -> tuple[str, int]:
        polls = 0
        while True:
            polls += 1
            page = client.post(url + "/step", headers=headers).get_data(as_text=True)
            state = re.search(r'data-state="(\w+)"', page).group(1)
            if state not in ("reading", "checking", "importing"):
                return state, polls

    started = time.perf_counter()
    response = client.post("/imports/", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    url = response.headers["Location"]
    state, polls_before = poll(url)
    assert state == "preview", state
    checked = time.perf_counter()
    client.post(url + "/nhap", data={"csrf_token": token, "mode": "all"})
    state, polls_after = poll(url)
    assert state == "done", state
    elapsed = time.perf_counter() - started
    with app.app_context():
        households = db.session.query(Household).count()
        residents = db.session.query(Resident).count()
        db.session.remove()
        db.engine.dispose()
    print(json.dumps({"seconds": elapsed, "preview_seconds": checked - started, "households": households,
                      "residents": residents, "polls": polls_before + polls_after}))


def bench_import() -> list[tuple[str, float, str]]:
    """Build the 50,000-row file, import it in a child process, and return the figures."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "ds-50000.xlsx"
        households = build_workbook(path)
        done = subprocess.run([sys.executable, __file__, "--child", str(path), directory], capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    assert figures["residents"] == ROWS and figures["households"] == households, figures
    # On a busy machine the wall clock says more about the neighbours than about the import: the child's CPU
    # time (which includes making the database and the ward) is printed beside it.
    print(f"import of {ROWS} rows: {figures['seconds']:.1f} s ({figures['preview_seconds']:.1f} s to the preview), "
          f"{figures['polls']} polls; child CPU {usage.ru_utime + usage.ru_stime:.1f} s", file=sys.stderr)
    return [("import_rows_per_s", round(ROWS / figures["seconds"]), "rows/s"), ("import_peak_mb", round(peak_mb), "MB")]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        for name, value, unit in bench_import():
            print(f"BENCH {name} {value} {unit}", flush=True)
