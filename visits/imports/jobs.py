"""An import job's life: upload, (mapping,) reading, checking, preview, importing, done.

No thread does the work: every poll of the progress fragment calls advance(), which does the next chunk
(about a second of work at most) and commits it with the job's new offset in one transaction. A worker
that dies mid-chunk loses only that chunk's uncommitted work, and the next poll, in any worker, does it
again. Two polls never do the same chunk: each chunk locks the job row first (SQLite: the write lock taken
by BEGIN IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, and a poll that finds it taken just
reports progress).
"""
import copy
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from .. import audit
from ..database import write_intent
from ..extensions import db
from ..models import ImportJob, ImportMapping, ImportRow, new_uuid, utcnow
from ..state import insert_many, update_many
from ..text import nfc
from .checking import Existing, Messages, next_groups, plan_household
from .fields import missing_fields, signature
from .places import Places
from .reading import RowReader
from .workbook import MB, Refused, SheetReader, check_file, choose_sheet, extract, open_workbook
from .writing import Writer

WORKING = ("reading", "checking", "importing")
MAX_FAILURES = 5
# A chunk is about a third of a second of work (1 MB of the sheet's XML is some 3,000 rows; 1,000 households
# about as many); a poll does chunks for up to IMPORT_STEP_SECONDS.
DEFAULTS = {"IMPORT_MAX_BYTES": 20 * MB, "IMPORT_MAX_UNPACKED": 200 * MB, "IMPORT_STEP_SECONDS": 1.0,
            "IMPORT_READ_BYTES": MB, "IMPORT_CHUNK_HOUSEHOLDS": 1000, "IMPORT_KEEP_DAYS": 3}
ROW_FIELDS = ("job_id", "row_number", "household_key", "new_street", "data", "read_problems", "check_problems", "skip")


def setting(name: str):
    return current_app.config.get(name, DEFAULTS[name])


def folder_of(job_uuid: str) -> Path:
    root = current_app.config.get("IMPORT_FOLDER") or str(Path(current_app.instance_path) / "imports")
    return Path(root) / job_uuid


# --- Upload ---------------------------------------------------------------------------------------------------

@contextmanager
def without_write_lock():
    """Receiving and opening a 20 MB upload may take a while: on SQLite no write lock is held meanwhile (a POST's
    transactions otherwise start with BEGIN IMMEDIATE), so phones keep syncing. Any transaction open before
    is ended first, and any read made inside is ended after."""
    db.session.rollback()
    token = write_intent.set(False)
    try:
        yield
    finally:
        db.session.rollback()
        write_intent.reset(token)


def receive(user_id: int, ward_id: int, upload, filename: str, create_streets: bool) -> ImportJob:
    """Keep the upload under instance/imports/, check it, find its sheet and header: a new job, not yet added
    to the session. Raises Refused (and keeps nothing) when the file cannot be imported."""
    job = ImportJob(uuid=new_uuid(), ward_id=ward_id, user_id=user_id, filename=nfc(filename or "")[:255],
                    create_streets=create_streets, state="reading")
    saved = {m.signature: m.mapping for m in db.session.scalars(
        select(ImportMapping).where(ImportMapping.ward_id == ward_id))}
    folder = folder_of(job.uuid)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "upload.xlsx"
    try:
        upload.save(path)
        check_file(path, setting("IMPORT_MAX_BYTES"), setting("IMPORT_MAX_UNPACKED"))
        workbook = open_workbook(path)
        try:
            choice = choose_sheet(workbook, saved)
            sheet = extract(path, workbook, choice, folder)
        finally:
            workbook.close()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    headers = [_shown(h) for h in choice.header.headers]
    job.size_bytes = path.stat().st_size
    samples = [[_shown(v) for v in row] for row in choice.rows[choice.header.row:choice.header.row + 3]]
    job.sheet = {**sheet, "header_row": choice.header.row, "headers": headers, "recognised": choice.recognised,
                 "others": choice.others_with_data, "samples": samples}
    job.signature = signature(choice.header.headers)
    job.mapping, job.mapping_source = choice.mapping, choice.source
    if not choice.recognised or missing_fields(job.mapping):
        job.state = "mapping"
    restart_reading(job, job.state)
    return job


def _shown(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    return nfc(str(value))[:120]


def save_mapping(job: ImportJob, mapping: dict, user) -> None:
    """Remember the staff member's mapping for sheets of this shape, and read the sheet again with it."""
    saved = db.session.scalar(select(ImportMapping).where(ImportMapping.ward_id == job.ward_id,
                                                          ImportMapping.signature == job.signature))
    if saved is None:
        saved = ImportMapping(ward_id=job.ward_id, signature=job.signature)
        db.session.add(saved)
    saved.headers, saved.mapping, saved.user_id, saved.updated_at = job.sheet["headers"], mapping, user.id, utcnow()
    job.mapping, job.mapping_source = mapping, "manual"
    restart_reading(job, "reading")


def restart_reading(job: ImportJob, state: str) -> None:
    if job.id is not None:
        db.session.execute(delete(ImportRow).where(ImportRow.job_id == job.id))
    job.state, job.message = state, ""
    job.offset, job.carry, job.cursor, job.rows_read = job.sheet["data_start"], {}, "", 0
    job.progress_done, job.progress_total = 0, job.sheet["data_end"] - job.sheet["data_start"]
    job.summary, job.result = {}, {}


# --- One poll --------------------------------------------------------------------------------------------------

def advance(job_id: int) -> None:
    """Do the next chunks of a working job, each committed on its own, while another one still fits in
    IMPORT_STEP_SECONDS (at least one chunk)."""
    started = time.monotonic()
    budget = setting("IMPORT_STEP_SECONDS")
    while True:
        chunk_started = time.monotonic()
        # populate_existing: the job as it is once locked, not as this request first read it.
        job = db.session.scalar(select(ImportJob).where(ImportJob.id == job_id)
                                .with_for_update(skip_locked=True).execution_options(populate_existing=True))
        if job is None or job.state not in WORKING:
            db.session.rollback()
            return
        try:
            STEPS[job.state](job)
        except Refused as refused:
            db.session.rollback()
            job = db.session.get(ImportJob, job_id)
            finish(job, "failed", str(refused))
        job.updated_at, job.failures = utcnow(), 0
        db.session.commit()
        now = time.monotonic()
        if now + (now - chunk_started) - started > budget:
            return


def chunk_failed(job_id: int) -> None:
    """A chunk failed (its transaction rolled back): the next poll tries it again, up to MAX_FAILURES times."""
    job = db.session.get(ImportJob, job_id)
    job.failures += 1
    if job.failures >= MAX_FAILURES and job.state in WORKING:
        finish(job, "failed", _("Máy chủ gặp lỗi nhiều lần khi xử lý tệp này nên đã dừng. Những gì đã nhập vẫn còn; "
                                "có thể tải tệp lên lại: hộ và nhân khẩu đã nhập sẽ không bị trùng."))
    db.session.commit()


def read_step(job: ImportJob) -> None:
    """Read the next rows of the sheet into scratch rows."""
    rows, after = SheetReader(folder_of(job.uuid), job.sheet).rows(job.offset, setting("IMPORT_READ_BYTES"),
                                                                     job.carry.get("last_row", 0))
    carry = copy.deepcopy(job.carry)
    reader = RowReader(job.mapping, Places(job.ward_id), carry)
    staged = []
    for number, cells in rows:
        carry["last_row"] = number
        if number <= job.sheet["header_row"]:
            continue
        row = reader.read(number, cells)
        if row is None:
            continue
        carry["problems"] = carry.get("problems", 0) + len(row["read_problems"])
        staged.append((job.id, *(row[name] for name in ROW_FIELDS[1:])))
    insert_many(ImportRow.__table__, ROW_FIELDS, staged)
    job.rows_read += len(staged)
    job.offset, job.carry = after, carry
    job.progress_done = after - job.sheet["data_start"]
    if after >= job.sheet["data_end"]:
        start_checking(job)


def start_checking(job: ImportJob) -> None:
    job.state, job.cursor, job.progress_done = "checking", "", 0
    job.progress_total = db.session.scalar(select(func.count(func.distinct(ImportRow.household_key)))
                                           .where(ImportRow.job_id == job.id)) or 0
    job.summary = {"counts": {}, "check_problems": 0}


def check_step(job: ImportJob) -> None:
    """Plan the next households against the app's data, keep their problems, and count what they would do."""
    groups = next_groups(job.id, job.cursor, setting("IMPORT_CHUNK_HOUSEHOLDS"))
    if not groups:
        return finish_checking(job)
    summary = copy.deepcopy(job.summary)
    counts = Counter(summary["counts"])
    updates = []
    for plan in plans_of(job, groups):
        if plan.action is not None:
            counts["households_" + plan.action] += 1
            counts.update("residents_" + r.action for r in plan.residents)
        for row in plan.rows:
            problems, skip = plan.problems.get(row.id, []), row.id in plan.skipped
            summary["check_problems"] += len(problems)
            if problems or row.check_problems != "[]" or skip != row.skip:
                updates.append((row.id, problems, skip))
    update_many(ImportRow.__table__, ("check_problems", "skip"), updates)
    summary["counts"] = dict(counts)
    job.summary, job.cursor = summary, groups[-1][0].key
    job.progress_done += len(groups)


def plans_of(job: ImportJob, groups: list) -> list:
    places = Places(job.ward_id)
    existing = Existing(groups, list(places.khu_phos))
    columns = {field: int(column) for column, field in job.mapping.items()}
    messages = Messages(places)
    return [plan_household(rows, existing, job.create_streets, columns, messages) for rows in groups]


def finish_checking(job: ImportJob) -> None:
    summary = copy.deepcopy(job.summary)
    summary["rows"] = job.rows_read
    summary["skipped_rows"] = db.session.scalar(select(func.count()).select_from(ImportRow).where(
        ImportRow.job_id == job.id, ImportRow.skip)) or 0
    summary["problems"] = job.carry.get("problems", 0) + summary["check_problems"]
    streets = list(db.session.scalars(select(ImportRow.new_street).where(
        ImportRow.job_id == job.id, ImportRow.new_street.is_not(None)).group_by(ImportRow.new_street)
        .order_by(ImportRow.new_street)))
    summary["new_street_count"], summary["new_streets"] = len(streets), streets[:50]
    job.summary, job.state = summary, "preview"


def start_import(job: ImportJob, valid_only: bool) -> None:
    job.valid_only, job.state, job.cursor = valid_only, "importing", ""
    job.progress_done, job.started_at, job.result = 0, utcnow(), {}


def import_step(job: ImportJob) -> None:
    """Write the next households' plans, planned again against the app's data as it is now."""
    groups = next_groups(job.id, job.cursor, setting("IMPORT_CHUNK_HOUSEHOLDS"))
    if not groups:
        return finish(job, "done")
    plans = plans_of(job, groups)
    writer = Writer(job, Places(job.ward_id), job.started_at)
    counts = Counter(job.result) + writer.write(plans)
    counts["skipped_rows"] += sum(len(p.skipped) for p in plans)
    job.result, job.cursor = dict(counts), groups[-1][0].key
    job.progress_done += len(groups)


def finish(job: ImportJob, state: str, message: str = "") -> None:
    """End the job: its scratch rows and files go (they hold residents' data)."""
    # Wait for a chunk another worker may be doing (PostgreSQL; SQLite's write lock is taken already), so that
    # no row it writes is left behind.
    db.session.execute(select(ImportJob.id).where(ImportJob.id == job.id).with_for_update())
    if state == "done":
        result = dict(job.result)
        result["skipped_rows"] = result.get("skipped_rows", 0) + (db.session.scalar(
            select(func.count()).select_from(ImportRow).where(ImportRow.job_id == job.id,
                                                              ImportRow.household_key.is_(None))) or 0)
        job.result = result
        audit.record("import", "import_job", job.id, details={"file_bytes": job.size_bytes, **result},
                     ward_id=job.ward_id, user_id=job.user_id)  # one entry per job, not per row
    db.session.execute(delete(ImportRow).where(ImportRow.job_id == job.id))
    job.state, job.message, job.finished_at = state, message, utcnow()
    shutil.rmtree(folder_of(job.uuid), ignore_errors=True)


STEPS = {"reading": read_step, "checking": check_step, "importing": import_step}


def recheck(job: ImportJob, create_streets: bool) -> None:
    """Check again (after choosing whether to create missing streets); the rows read stay."""
    job.create_streets = create_streets
    start_checking(job)


def cleanup_stale() -> int:
    """End jobs left unfinished for days (their files and scratch rows hold personal data). A job half way
    through importing is left alone: the next time it is opened it goes on."""
    before = utcnow() - timedelta(days=setting("IMPORT_KEEP_DAYS"))
    stale = db.session.scalars(select(ImportJob).where(
        ImportJob.state.in_(("mapping", "reading", "checking", "preview")),
        ImportJob.updated_at < before)).all()
    for job in stale:
        finish(job, "cancelled", _("Đã hủy vì để quá %(n)s ngày chưa xong.", n=setting("IMPORT_KEEP_DAYS")))
    return len(stale)
