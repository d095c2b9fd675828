"""Benchmarks of issue 4: the ward dashboard at 5,000 and 400,000 households, and the raw .xlsx export.

dashboard(): for each database (SQLite; PostgreSQL in a schema of its own, dropped afterwards) and each size,
a fresh database filled by visits.demo_data.build_demo_ward (as `flask demo-data --households N` does, counters
included; on PostgreSQL then ANALYZE), then GET /dashboard/ as the ward's staff (`canbo`) through the test
client: 3 warm-up requests, then the median wall time of DASHBOARD_REQUESTS. Building 400,000 households takes
minutes on each database (about 4 minutes of CPU for SQLite, 6 for PostgreSQL here), so this is the long one.

export(): a SQLite database with EXPORT_ROWS visits (a 2,000-household demo ward whose visits are copied in
bulk, with new UUIDs, until there are that many), then in child processes of their own:
- export_rows_per_s: visits.exports.writing.write_xlsx over the raw-visits source (the code a background export
  runs: keyset reads of 5,000 rows, names looked up, formula guard, write-only openpyxl), all EXPORT_ROWS rows;
- export_peak_mb_1m: that child's peak resident memory (ru_maxrss), the interpreter and app included (about
  95 MB before the first row);
- export_bare_rows_per_s: a bare openpyxl write-only loop appending the same rows (the export's first 100,000
  rows, read into a list before the clock starts, cycled to BARE_ROWS) and saving;
- export_ratio: the first over the bare rate (budget: at least 0.7).
Rates are rows per second of the child's CPU time (time.process_time: its wall time on an idle machine), so
that other work on a shared machine does not move them; both children are single-threaded.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DASHBOARD_SIZES = (5000, 400_000)
DASHBOARD_REQUESTS = 21
EXPORT_ROWS = 1_000_000
BARE_SAMPLE = 100_000
BARE_ROWS = 200_000


# --- The dashboard ------------------------------------------------------------------------------------------

def demo_app(url: str, households: int):
    from flask_migrate import upgrade

    from visits import counters, create_app
    from visits.checklist import active_plan
    from visits.demo_data import build_demo_ward
    from visits.extensions import db
    from visits.plans import ensure_default_plan

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        ensure_default_plan()
        db.session.commit()
        build_demo_ward(households=households)
        counters.recompute(active_plan())
        db.session.commit()
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            # The planner's statistics, as autovacuum gathers them soon after a bulk load on a real server;
            # without them the same page takes some 20 ms instead of 12 at 5,000 households here.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("ANALYZE")
    return app


def staff_client(app):
    from bench import session_client
    return session_client(app, "canbo")


def dashboard_median_ms(app) -> float:
    client = staff_client(app)
    times = []
    for attempt in range(3 + DASHBOARD_REQUESTS):
        started = time.perf_counter()
        response = client.get("/dashboard/")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and "Khu phố 12" in response.get_data(as_text=True)
        if attempt >= 3:
            times.append(elapsed * 1000)
    return statistics.median(times)


def close(app) -> None:
    from visits.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def postgres_schema():
    """A fresh schema on the PostgreSQL of BENCH_DATABASE_URL / TEST_DATABASE_URL: (url, drop) or None."""
    from sqlalchemy import create_engine, text

    from visits.config import normalise_database_url
    base = normalise_database_url(os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
                                  or "postgresql://postgres@127.0.0.1:5432/test")
    try:
        admin = create_engine(base)
        schema = f"bench_{uuidlib.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # noqa: BLE001 - no PostgreSQL here: say so and go on
        print(f"dashboard postgres skipped: {error.__class__.__name__}: {str(error)[:200]}", file=sys.stderr)
        return None

    def drop():
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", drop


def dashboard() -> list:
    figures = []
    for size in DASHBOARD_SIZES:
        label = f"{size // 1000}k"
        with tempfile.TemporaryDirectory() as directory:
            app = demo_app(f"sqlite:///{directory}/bench.sqlite", size)
            try:
                figures.append((f"dashboard_ms_{label}_sqlite", round(dashboard_median_ms(app), 1), "ms"))
            finally:
                close(app)
        made = postgres_schema()
        if made is None:
            continue
        url, drop = made
        try:
            app = demo_app(url, size)
            try:
                figures.append((f"dashboard_ms_{label}_postgres", round(dashboard_median_ms(app), 1), "ms"))
            finally:
                close(app)
        finally:
            drop()
    order = {name: i for i, name in enumerate(f"dashboard_ms_{s // 1000}k_{db}" for db in ("sqlite", "postgres")
                                               for s in DASHBOARD_SIZES)}
    return sorted(figures, key=lambda figure: order[figure[0]])


# --- The export -----------------------------------------------------------------------------------------------

def export_database(path: str, rows: int) -> None:
    """A demo ward of 2,000 households whose visits are copied in bulk until there are `rows` of them."""
    from sqlalchemy import func, select, text

    from visits.extensions import db
    from visits.models import Visit
    app = demo_app(f"sqlite:///{path}", 2000)
    try:
        with app.app_context():
            copy = 0
            while (have := db.session.scalar(select(func.count(Visit.id)))) < rows:
                copy += 1
                db.session.execute(text(
                    "INSERT INTO visit (uuid, household_id, user_id, recorded_at, received_at, outcome, "
                    "met_resident_ids, notes, content_hash) SELECT substr(uuid, 1, 26) || printf('%010d', id + "
                    ":offset), household_id, user_id, recorded_at, received_at, outcome, met_resident_ids, notes, "
                    "content_hash FROM visit ORDER BY id LIMIT :limit"),
                    {"offset": copy * 10 ** 8, "limit": min(have, rows - have)})
                db.session.commit()
    finally:
        close(app)


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import logging; logging.disable(logging.WARNING)
from visits import create_app
from visits.exports.sources import Filters, RawVisits
from visits.exports.writing import write_xlsx
from visits.models import KhuPho
from visits.extensions import db
from visits.database import write_intent
from sqlalchemy import select
write_intent.set(False)  # as the background export's process reads
app = create_app({{"SQLALCHEMY_DATABASE_URI": "sqlite:///{db}", "SECRET_KEY": "bench"}})
with app.test_request_context():
    source = RawVisits(Filters(tuple(db.session.scalars(select(KhuPho.id)))))
    if {mode!r} == "export":
        started = time.process_time()
        rows = write_xlsx(source, {out!r})
        elapsed = time.process_time() - started
    else:
        from itertools import islice
        from openpyxl import Workbook
        sample = [list(row) for _title, rows in source.groups() for row in islice(rows, {sample})][:{sample}]
        db.session.remove()
        started = time.process_time()
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Lần thăm")
        sheet.append(source.header)
        for index in range({rows}):
            sheet.append(sample[index % len(sample)])
        workbook.save({out!r})
        elapsed = time.process_time() - started
        rows = {rows}
print(json.dumps({{"rows": rows, "seconds": elapsed, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def child(mode: str, database: str, out: str, rows: int) -> dict:
    code = CHILD.format(root=str(ROOT), db=database, mode=mode, out=out, rows=rows, sample=BARE_SAMPLE)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return json.loads(result.stdout.strip().splitlines()[-1])


def export() -> list:
    with tempfile.TemporaryDirectory() as directory:
        database = f"{directory}/export.sqlite"
        export_database(database, EXPORT_ROWS)
        ours = child("export", database, f"{directory}/export.xlsx", EXPORT_ROWS)
        assert ours["rows"] == EXPORT_ROWS, ours
        bare = child("bare", database, f"{directory}/bare.xlsx", BARE_ROWS)
    rate, bare_rate = ours["rows"] / ours["seconds"], bare["rows"] / bare["seconds"]
    return [("export_rows_per_s", round(rate), "rows/s"), ("export_bare_rows_per_s", round(bare_rate), "rows/s"),
            ("export_ratio", round(rate / bare_rate, 3), "x"),
            ("export_peak_mb_1m", round(ours["peak_kb"] / 1024, 1), "MB")]


if __name__ == "__main__":
    import logging
    logging.disable(logging.WARNING)
    if len(sys.argv) > 2:
        EXPORT_ROWS = int(sys.argv[2])
    for name, value, unit in (export() if sys.argv[1:2] == ["export"] else dashboard()):
        print(f"BENCH {name} {value} {unit}", flush=True)
