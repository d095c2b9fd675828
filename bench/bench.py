"""Benchmarks: `.venv/bin/python bench/bench.py [name ...]` prints one `BENCH <name> <value> <unit>` line per figure.

Each benchmark is a function registered with @bench that returns its figures as (name, value, unit).
With names on the command line only those benchmarks run (a benchmark's function name or a figure name).
"""
import gc
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCHES = []


def bench(function):
    BENCHES.append(function)
    return function


def fresh_sqlite_app(directory: str):
    """An app on a new, migrated SQLite database with the default plan loaded."""
    from flask_migrate import upgrade

    from visits import create_app
    from visits.extensions import db
    from visits.plans import ensure_default_plan

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory}/bench.sqlite", "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        ensure_default_plan()
        db.session.commit()
    return app


def close(app) -> None:
    from visits.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@bench
def demo_data():
    """Wall time to build the default 5,000-household demo ward into a fresh SQLite database."""
    from visits.demo_data import build_demo_ward
    with tempfile.TemporaryDirectory() as directory:
        app = fresh_sqlite_app(directory)
        try:
            with app.app_context():
                started = time.perf_counter()
                build_demo_ward()
                elapsed = time.perf_counter() - started
        finally:
            close(app)
    return [("demo_data_s_5k", round(elapsed, 3), "s")]


# --- Sync ingest -------------------------------------------------------------------------------------

SYNC_HOUSEHOLDS = 2000  # the demo ward drawn smaller: about 170 households per khu phố
SYNC_BATCHES = 30  # measured batches of 100 visits, after one warm-up batch
SYNC_BATCH = 100
SYNC_MEMBER = "tv01a"
RAW_ATTEMPTS = 3


def postgres_url() -> str:
    import os
    from visits.config import normalise_database_url
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or \
        "postgresql://postgres@127.0.0.1:5432/test"
    return normalise_database_url(url)


def sync_app(url: str):
    """An app on a new, migrated database holding a 2,000-household demo ward."""
    from flask_migrate import upgrade

    from visits import counters, create_app
    from visits.checklist import active_plan
    from visits.demo_data import build_demo_ward
    from visits.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        build_demo_ward(households=SYNC_HOUSEHOLDS)
        counters.recompute(active_plan())  # as `flask demo-data` does
        db.session.commit()
    return app


def logged_in_client(app):
    """A test client with a member's session (as login_user leaves it), and its CSRF token from /api/session."""
    client = session_client(app, SYNC_MEMBER)
    response = client.get("/api/session")
    assert response.status_code == 200, response.status_code
    return client, response.get_json()["csrf_token"]


def sync_batches(app, count: int, seed: int = 62) -> list[list[dict]]:
    """Batches of visits a member's phone would send: households spread over the member's khu phố, each visit
    with three answers on items that apply to residents (or the household) there, one second apart."""
    import random
    import uuid as uuidlib
    from datetime import timedelta

    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from visits.checklist import plan_items, plan_rules
    from visits.extensions import db
    from visits.models import Household, Team, User, utcnow
    from visits.state import applicable_items

    rng = random.Random(seed)
    with app.app_context():
        member = db.session.scalar(select(User).where(User.username == SYNC_MEMBER))
        khu_pho_id = db.session.scalar(select(Team.khu_pho_id).where(Team.id == member.team_id))
        households = db.session.scalars(select(Household).where(Household.khu_pho_id == khu_pho_id)
                                        .options(selectinload(Household.residents)).order_by(Household.id)).all()
        items, rules = plan_items(), plan_rules()
        choices = []
        for household in households:
            resident_uuid = {r.id: r.uuid for r in household.residents}
            pairs = [(resident_uuid.get(key), item.code)
                     for key, eligible in applicable_items(household, items, rules).items() for item in eligible]
            if len(pairs) >= 3:
                choices.append((household.uuid, pairs))
        db.session.remove()
    rng.shuffle(choices)
    start = utcnow().replace(microsecond=0) - timedelta(days=2)
    batches = []
    for b in range(count):
        batch = []
        for i in range(SYNC_BATCH):
            n = b * SYNC_BATCH + i
            household_uuid, pairs = choices[n % len(choices)]
            picked = rng.sample(pairs, 3)
            batch.append({
                "type": "visit", "uuid": str(uuidlib.UUID(int=rng.getrandbits(128), version=4)),
                "household": household_uuid, "recorded_at": (start + timedelta(seconds=n)).isoformat() + "Z",
                "outcome": "met", "notes": rng.choice(("", "", "Hẹn tối thứ Bảy quay lại.")),
                "met": sorted({r for r, _code in picked if r}),
                "answers": [{"resident": r, "code": code, "value": rng.choice(("done", "had", "later", "declined"))}
                            for r, code in picked],
                "facts": []})
        batches.append(batch)
    return batches


def post_batches(client, token: str, batches: list[list[dict]]) -> float:
    """POST each batch to /api/sync; the seconds it took. Every visit must come back accepted.

    The bodies are encoded before the clock starts and the answers read after it stops: that is the phone's work.
    They are encoded as the phone's JSON.stringify does, Vietnamese letters as they are rather than \\u escapes.
    """
    import json
    bodies = [json.dumps({"items": batch}, ensure_ascii=False).encode() for batch in batches]
    headers = {"X-CSRFToken": token}
    started = time.perf_counter()
    answers = [client.post("/api/sync", data=body, content_type="application/json", headers=headers)
               for body in bodies]
    elapsed = time.perf_counter() - started
    for response in answers:
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        statuses = {r["status"] for r in response.get_json()["results"]}
        assert statuses == {"accepted"}, response.get_json()["results"][:3]
    return elapsed


def ingest_rate(url: str) -> tuple[float, list, float]:
    """Visits per second through POST /api/sync on a fresh database at url; also the batches sent, and the share
    of the time spent bringing the khu phố target counters up to date (visits.counters)."""
    from visits import sync
    app = sync_app(url)
    counting = [0.0]
    refresh_counters = sync.refresh_counters_after_run

    def timed_refresh(households):
        started = time.perf_counter()
        refresh_counters(households)
        counting[0] += time.perf_counter() - started

    try:
        warm_up, *batches = sync_batches(app, SYNC_BATCHES + 1)
        client, token = logged_in_client(app)
        post_batches(client, token, [warm_up])
        # What a gunicorn worker does once loaded (gunicorn.conf.py, post_worker_init): the app's long-lived objects,
        # and here the batches this process holds for the client, left out of the collector's full passes.
        gc.freeze()
        sync.refresh_counters_after_run = timed_refresh
        elapsed = post_batches(client, token, batches)
    finally:
        gc.unfreeze()
        sync.refresh_counters_after_run = refresh_counters
        close(app)
    return SYNC_BATCHES * SYNC_BATCH / elapsed, batches, counting[0] / elapsed


def raw_rows(batches: list[list[dict]]) -> list[tuple[list, list]]:
    """The visit and answer rows of each batch as a plain insert would put them, UUIDs of households and residents
    replaced by stand-in integer ids (as the server would have looked them up)."""
    import hashlib
    import json
    from datetime import datetime

    ids = {}

    def key(value):
        return ids.setdefault(value, len(ids) + 1) if value else None

    now = datetime.now().isoformat(sep=" ")
    prepared, visit_id = [], 0
    for batch in batches:
        visits, answers = [], []
        for item in batch:
            visit_id += 1
            recorded_at = item["recorded_at"][:19].replace("T", " ")
            visits.append((visit_id, item["uuid"], key(item["household"]), 1, recorded_at, now, item["outcome"],
                           json.dumps(sorted(key(r) for r in item["met"])), item["notes"],
                           hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()))
            answers += [(visit_id, key(a["resident"]), "item", a["code"], a["value"]) for a in item["answers"]]
        prepared.append((visits, answers))
    return prepared


# The tables of the raw insert: the visit and answer columns and indexes, none of the app's other tables or keys.
RAW_TABLES = (
    "CREATE TABLE raw_visit (id INTEGER PRIMARY KEY, uuid VARCHAR(36) NOT NULL UNIQUE, "
    "household_id INTEGER NOT NULL, user_id INTEGER NOT NULL, recorded_at DATETIME NOT NULL, "
    "received_at DATETIME NOT NULL, outcome VARCHAR(20) NOT NULL, met_resident_ids JSON NOT NULL, notes TEXT NOT NULL, "
    "content_hash VARCHAR(64) NOT NULL)",
    "CREATE TABLE raw_visit_answer (id INTEGER PRIMARY KEY, visit_id INTEGER NOT NULL REFERENCES raw_visit (id), "
    "resident_id INTEGER, kind VARCHAR(10) NOT NULL, code VARCHAR(40) NOT NULL, value VARCHAR(20) NOT NULL)",
    "CREATE INDEX ix_raw_visit_answer_visit_id ON raw_visit_answer (visit_id)",
)
RAW_VISITS = "INSERT INTO raw_visit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
RAW_ANSWERS = "INSERT INTO raw_visit_answer (visit_id, resident_id, kind, code, value) VALUES (?, ?, ?, ?, ?)"


def raw_rate(directory: str, batches: list[list[dict]]) -> float:
    """The same visit and answer rows put in with plain sqlite3 executemany, one commit per 100 visits
    (the median of RAW_ATTEMPTS runs, each into a new scratch database)."""
    import sqlite3

    prepared = raw_rows(batches)
    rates = []
    for attempt in range(RAW_ATTEMPTS):
        connection = sqlite3.connect(f"{directory}/raw-{attempt}.sqlite", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        for statement in RAW_TABLES:
            connection.execute(statement)
        started = time.perf_counter()
        for visits, answers in prepared:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(RAW_VISITS, visits)
            connection.executemany(RAW_ANSWERS, answers)
            connection.execute("COMMIT")
        rates.append(len(prepared) * SYNC_BATCH / (time.perf_counter() - started))
        connection.close()
    return sorted(rates)[len(rates) // 2]  # the median: a few fsyncs make one attempt noisy


def floor_rate(directory: str, batches: list[list[dict]]) -> float:
    """The raw insert made inside the app's request: the same bodies POSTed by a logged-in member with the CSRF
    token, parsed, and their rows (as raw_rows makes them) written to raw's tables in the app's database through
    its session, with one commit and a JSON answer per batch; no lookups, checks, state or counters. Not a target:
    what is left of a batch's time for everything else once the request and the bare write are paid."""
    import json

    from flask import jsonify, request
    from flask_login import current_user
    from sqlalchemy import text

    from visits.extensions import csrf, db

    rows = {batch[0]["uuid"]: prepared for batch, prepared in zip(batches, raw_rows(batches))}

    @csrf.exempt  # checked below, as /api/sync checks it
    def write_rows():
        if not current_user.is_authenticated:
            return jsonify(error="login"), 401
        csrf.protect()
        items = json.loads(request.get_data())["items"]
        if items:
            visits, answers = rows[items[0]["uuid"]]
            connection = db.session.connection()
            connection.exec_driver_sql(RAW_VISITS, visits)
            connection.exec_driver_sql(RAW_ANSWERS, answers)
        db.session.commit()
        return jsonify(results=[{"uuid": item["uuid"], "status": "accepted"} for item in items])

    app = sync_app(f"sqlite:///{directory}/floor.sqlite")
    app.add_url_rule("/bench/floor", view_func=write_rows, methods=["POST"])
    try:
        with app.app_context():
            for statement in RAW_TABLES:
                db.session.execute(text(statement))
            db.session.commit()
        client, token = logged_in_client(app)
        bodies = [json.dumps({"items": batch}, ensure_ascii=False).encode() for batch in [[]] + batches]
        post = lambda body: client.post("/bench/floor", data=body, content_type="application/json",  # noqa: E731
                                        headers={"X-CSRFToken": token})
        assert post(bodies[0]).status_code == 200  # the warm-up: an empty batch
        gc.freeze()
        started = time.perf_counter()
        answers = [post(body) for body in bodies[1:]]
        elapsed = time.perf_counter() - started
        assert all(answer.status_code == 200 for answer in answers), answers[0].get_data(as_text=True)[:300]
    finally:
        gc.unfreeze()
        close(app)
    return len(batches) * SYNC_BATCH / elapsed


@bench
def sync_ingest():
    """Visits per second through POST /api/sync (100 visits of 3 answers per batch) on SQLite and PostgreSQL,
    against plain sqlite3 inserts of the same rows."""
    import uuid as uuidlib

    from sqlalchemy import create_engine, text

    figures = []
    with tempfile.TemporaryDirectory() as directory:
        sqlite_rate, batches, counters_share = ingest_rate(f"sqlite:///{directory}/bench.sqlite")
        raw = raw_rate(directory, batches)
        floor = floor_rate(directory, batches)
    figures.append(("sync_ingest_sqlite", round(sqlite_rate), "visits/s"))
    try:
        admin = create_engine(postgres_url())
        schema = f"bench_{uuidlib.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # noqa: BLE001 - no PostgreSQL here: say so and go on
        print(f"sync_ingest_postgres skipped: {error.__class__.__name__}: {str(error)[:200]}", file=sys.stderr)
    else:
        try:
            url = postgres_url()
            url += f"{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
            postgres_rate, _batches, _share = ingest_rate(url)
            figures.append(("sync_ingest_postgres", round(postgres_rate), "visits/s"))
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    figures.append(("sync_ingest_raw", round(raw), "visits/s"))
    figures.append(("sync_ingest_ratio", round(sqlite_rate / raw, 3), "x"))
    # Not a target: how much of the SQLite figure goes to the khu phố target counters (visits/counters.py).
    figures.append(("sync_ingest_sqlite_counters_share", round(counters_share, 2), "x"))
    # Not a target either: the raw insert inside the app's request (login, CSRF, JSON in and out, the session's
    # commit), with no lookups, checks, state or counters; its ratio to raw bounds what any sync path could reach.
    figures.append(("sync_ingest_floor_sqlite", round(floor), "visits/s"))
    figures.append(("sync_ingest_floor_ratio", round(floor / raw, 3), "x"))
    return figures


@bench
def import_rows():
    """The 50,000-row household list (bench/bench_import.py), in a child process of its own."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_import import bench_import
    return bench_import()


# --- The monthly report and the trend charts (visits/month_end.py, visits/reports.py) ------------------------

REPORT_MONTH = "2024-06"  # mid-year in the demo ward: targets at the month's end are counted again from visits
REPORT_RUNS = 3


def session_client(app, username: str):
    """A test client with the user's session as a password login leaves it (visits.sessions), no Argon2 hash."""
    from sqlalchemy import select

    from visits.extensions import db
    from visits.models import User
    from visits.sessions import logged_in_session
    with app.app_context():
        fields = logged_in_session(db.session.scalar(select(User).where(User.username == username)))
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(fields)
    return client


def staff_client(app, username: str = "canbo"):
    return session_client(app, username)


def timed_get(client, path: str) -> tuple[float, bytes]:
    """The median seconds of REPORT_RUNS GETs of path (each must answer 200), and the last body."""
    times, body = [], b""
    for _run in range(REPORT_RUNS):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        body = response.data
    return sorted(times)[len(times) // 2], body


@bench
def monthly_report():
    """The 5,000-household demo ward: the monthly report's .xlsx (figures at the month's end and the workbook,
    through GET /reports/<month>.xlsx as ward staff), the year's trend charts (GET /dashboard/trend), and, only
    where LibreOffice is installed, the time to convert the .xlsx to PDF and its page count."""
    import re
    import shutil
    import subprocess

    from visits import counters
    from visits.checklist import active_plan
    from visits.demo_data import build_demo_ward
    from visits.extensions import db

    figures = []
    with tempfile.TemporaryDirectory() as directory:
        app = fresh_sqlite_app(directory)
        try:
            with app.app_context():
                build_demo_ward()
                counters.recompute(active_plan())
                db.session.commit()
            client = staff_client(app)
            seconds, workbook = timed_get(client, f"/reports/{REPORT_MONTH}.xlsx")
            figures.append(("monthly_report_s", round(seconds, 3), "s"))
            seconds, _page = timed_get(client, "/dashboard/trend")
            figures.append(("trend_charts_s", round(seconds, 3), "s"))
        finally:
            close(app)
        office = shutil.which("libreoffice") or shutil.which("soffice")
        if office is None:
            print("monthly_report_pdf skipped: LibreOffice is not installed", file=sys.stderr)
            return figures
        source = Path(directory) / "report.xlsx"
        source.write_bytes(workbook)
        started = time.perf_counter()
        subprocess.run([office, "--headless", f"-env:UserInstallation=file://{directory}/lo-profile",
                        "--convert-to", "pdf", "--outdir", directory, str(source)],
                       check=True, capture_output=True, timeout=300)
        elapsed = time.perf_counter() - started
        pdf = (Path(directory) / "report.pdf").read_bytes()
        if os.environ.get("BENCH_REPORT_PDF"):  # keep the PDF to look at (pdftoppm -png -r 60 it)
            Path(os.environ["BENCH_REPORT_PDF"]).write_bytes(pdf)
        figures.append(("monthly_report_pdf_s", round(elapsed, 2), "s"))
        pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
        figures.append(("monthly_report_pdf_pages", pages, "pages"))
    return figures


# --- Pages on a phone (bench/bench_pages.py: gunicorn, Chromium, bytes from the DevTools protocol) ----------

@bench
def household_first_load_kb():
    """A household page's first load, in KB over the network: the page and its subresources (service workers
    blocked), and with what the service worker fetches and precaches during that load. Budget: 60 KB."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_pages import household_first_load
    return household_first_load()


@bench
def household_repeat_shell_kb():
    """Another household page with the service worker in control: CSS, JS and icons from the network (must be 0),
    and everything from the network (the HTML)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_pages import household_repeat_shell
    return household_repeat_shell()


@bench
def offline_download_500_s():
    """"Tải về để làm offline" for a khu phố of about 500 households on Fast 3G, in seconds. Budget: 30 s."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_pages import offline_download
    return offline_download()


@bench
def request_cpu_ms():
    """CPU per request of the load test's four kinds (home, street, household, sync) and their mix, in process on
    a 5,000-household SQLite ward (bench/bench_cpu.py). Aim: the mix under 5 ms."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_cpu import request_cpu
    return request_cpu()


@bench
def session_attendees():
    """Adding, then removing, 100 attendees of a group session (bench/bench_registers.py)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_registers import session_attendees as run
    return run()


# --- Issue 4: the ward dashboard at 5,000 and 400,000 households; the raw .xlsx export (bench/bench_exports.py) --

@bench
def dashboard_ms():
    """Median time of GET /dashboard/ for the ward's staff at 5,000 and 400,000 households, SQLite and PostgreSQL.
    Budget: at most 150 ms at 400,000, and at most 1.5x the figure at 5,000."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_exports import dashboard
    return dashboard()


@bench
def export():
    """Raw visits as .xlsx: rows/s beside a bare openpyxl write-only loop (ratio budget: at least 0.7), and peak
    memory at 1,000,000 rows (budget: under 150 MB)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_exports import export
    return export()


def main(argv: list[str]) -> int:
    logging.disable(logging.WARNING)  # keep Alembic's INFO lines out of the figures
    chosen = [b for b in BENCHES if not argv or b.__name__ in argv or any(name.startswith(b.__name__)
                                                                          for name in argv)]
    if not chosen:
        known = ", ".join(b.__name__ for b in BENCHES)
        print(f"no benchmark named {' '.join(argv)}; known: {known}", file=sys.stderr)
        return 2
    for function in chosen:
        for name, value, unit in function():
            if not argv or function.__name__ in argv or name in argv:
                print(f"BENCH {name} {value} {unit}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
