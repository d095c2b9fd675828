"""Exports too big for one request: written by an OS process of their own, watched through the job's row.

Why a process, and not chunks on each poll as the import does (visits/imports/jobs.py): openpyxl's write-only
workbook cannot be reopened to go on where a previous request stopped, so an .xlsx must be written by one
process from start to end; and a thread inside a gunicorn worker dies with the worker (a restart, a timeout,
max-requests) without anyone knowing. So start() runs `python -m visits.exports.run <job id> <attempt>`
in a session of its own; it records its pid, host and a heartbeat on the job row at every 5,000 rows, and
writes instance/exports/<uuid>-<attempt>.part, renamed to <uuid>.<format> when complete. Each progress poll
checks the process: one that died (gone, a zombie, or silent for EXPORT_STALE_SECONDS) is started again, from
the beginning, as attempt n + 1, up to MAX_ATTEMPTS. Only the poll whose conditional UPDATE moves the attempt
number starts a process, and a process that finds a later attempt recorded stops, so there is one writer.
"""
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from ..extensions import db
from ..models import ExportJob, utcnow

MAX_ATTEMPTS = 3
DEFAULTS = {"EXPORT_INLINE_MAX_ROWS": 100_000, "EXPORT_STALE_SECONDS": 60, "EXPORT_KEEP_HOURS": 24,
            "EXPORT_SHEET_MAX_ROWS": 1_048_576}
STARTED: dict[int, subprocess.Popen] = {}  # processes this process started, reaped when seen finished
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def setting(name: str):
    return current_app.config.get(name, DEFAULTS[name])


def folder() -> Path:
    path = Path(current_app.config.get("EXPORT_FOLDER") or Path(current_app.instance_path) / "exports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_of(job: ExportJob) -> Path:
    return folder() / f"{job.uuid}.{job.format}"


def part_of(job: ExportJob, attempt: int) -> Path:
    return folder() / f"{job.uuid}-{attempt}.part"


def create(user, ward_id: int | None, kind: str, format_: str, filters: dict, rows_total: int) -> ExportJob:
    job = ExportJob(user_id=user.id, ward_id=ward_id, kind=kind, format=format_, filters=filters,
                    rows_total=rows_total, state="queued")
    db.session.add(job)
    db.session.commit()
    launch(job.id, 0)
    return db.session.get(ExportJob, job.id)


def launch(job_id: int, seen_attempt: int) -> bool:
    """Move the job to the next attempt and start its process; False when another poll did it first."""
    moved = db.session.execute(
        update(ExportJob).where(ExportJob.id == job_id, ExportJob.attempt == seen_attempt,
                                ExportJob.state.in_(("queued", "running")))
        .values(attempt=seen_attempt + 1, state="running", pid=None, host=socket.gethostname(),
                heartbeat_at=utcnow(), rows_done=0)).rowcount
    db.session.commit()
    if not moved:
        return False
    part_of(db.session.get(ExportJob, job_id), seen_attempt).unlink(missing_ok=True)  # a dead attempt's file
    environment = {**os.environ, "DATABASE_URL": current_app.config["SQLALCHEMY_DATABASE_URI"],
                   "EXPORT_FOLDER": str(folder())}
    process = subprocess.Popen([sys.executable, "-m", "visits.exports.run", str(job_id), str(seen_attempt + 1)],
                               cwd=PROJECT_ROOT, env=environment, start_new_session=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=None)
    reap()
    STARTED[process.pid] = process
    return True


def reap() -> None:
    """Collect the exit status of finished processes this one started, so none stays a zombie."""
    for pid, process in list(STARTED.items()):
        if process.poll() is not None:
            STARTED.pop(pid, None)


def alive(job: ExportJob) -> bool:
    """Whether the job's process is still at work: on this host, whether its pid runs (a slow export is not a
    dead one); elsewhere, or before the process has recorded its pid, whether it spoke within
    EXPORT_STALE_SECONDS."""
    if job.pid is None or job.host != socket.gethostname():
        silent = utcnow() - (job.heartbeat_at or job.created_at)
        return silent <= timedelta(seconds=setting("EXPORT_STALE_SECONDS"))
    process = STARTED.get(job.pid)
    if process is not None:
        if process.poll() is None:
            return True
        STARTED.pop(job.pid, None)  # poll() reaped it: no zombie left behind in the worker
        return False
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not is_zombie(job.pid)


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def watch(job: ExportJob) -> ExportJob:
    """On a progress poll: start the job again when its process has died; fail it after MAX_ATTEMPTS."""
    reap()
    if job.state != "running" or alive(job):
        return job
    db.session.refresh(job)
    if job.state != "running" or alive(job):  # it finished, or was restarted, meanwhile
        return job
    if job.attempt >= MAX_ATTEMPTS:
        job.state, job.finished_at = "failed", utcnow()
        job.message = _("Không tạo được tệp sau %(n)s lần thử. Hãy thử lại, hoặc chọn ít dữ liệu hơn.",
                        n=MAX_ATTEMPTS)
        db.session.commit()
        return job
    current_app.logger.warning("export job %s: its process stopped; starting attempt %s", job.id, job.attempt + 1)
    launch(job.id, job.attempt)
    return db.session.get(ExportJob, job.id, populate_existing=True)


def wait(job_id: int, timeout: float = 60.0) -> ExportJob:
    """Wait for a job to end (the command line and tests); polls as the progress page does."""
    deadline = time.monotonic() + timeout
    while True:
        job = db.session.get(ExportJob, job_id, populate_existing=True)
        job = watch(job)
        if job.state in ("done", "failed") or time.monotonic() > deadline:
            db.session.rollback()
            if job.pid in STARTED:  # its last transaction is committed: let the process exit
                STARTED.pop(job.pid).wait(timeout=max(1.0, deadline - time.monotonic()))
            return job
        db.session.rollback()
        time.sleep(0.1)


def cleanup() -> int:
    """Delete the files of exports older than EXPORT_KEEP_HOURS (they hold residents' data)."""
    before = utcnow() - timedelta(hours=setting("EXPORT_KEEP_HOURS"))
    old = db.session.scalars(select(ExportJob).where(ExportJob.created_at < before,
                                                     ExportJob.state.in_(("done", "failed")))).all()
    removed = 0
    for job in old:
        path = file_of(job)
        if path.exists():
            path.unlink()
            removed += 1
        for part in folder().glob(f"{job.uuid}-*.part"):
            part.unlink()
        if job.state == "done":
            job.state = "expired"
    db.session.commit()
    return removed
