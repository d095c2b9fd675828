"""The process that writes one background export: `python -m visits.exports.run <job id> <attempt>`.

Started by visits/exports/jobs.py with DATABASE_URL and EXPORT_FOLDER in its environment. It writes
<uuid>-<attempt>.part, records its progress and a heartbeat on the job row every 5,000 rows (each in a short
transaction of its own), and renames the file when complete. It stops, keeping nothing, as soon as it sees
that the job has moved to another attempt.
"""
import os
import socket
import sys

from sqlalchemy import update

from .. import create_app
from ..database import write_intent
from ..extensions import db
from ..models import ExportJob, utcnow


class Superseded(Exception):
    """Another attempt of this job has started: this one must stop writing."""


def main(job_id: int, attempt: int) -> int:
    app = create_app()
    if os.environ.get("EXPORT_FOLDER"):
        app.config["EXPORT_FOLDER"] = os.environ["EXPORT_FOLDER"]
    write_intent.set(False)  # SQLite: reading takes no write lock, so phones keep syncing meanwhile
    with app.test_request_context():  # gettext and url_for as in a request, in Vietnamese
        return run(job_id, attempt)


def run(job_id: int, attempt: int) -> int:
    from . import jobs
    from .sources import Filters, source_for
    from .writing import write_csv, write_xlsx

    if not record(job_id, attempt, pid=os.getpid(), host=socket.gethostname()):
        return 0
    job = db.session.get(ExportJob, job_id)
    source = source_for(job.kind, Filters.from_json(job.filters))
    part, final = jobs.part_of(job, attempt), jobs.file_of(job)
    db.session.rollback()  # no read transaction kept open between chunks, but for the chunk being read

    def progress(done: int) -> None:
        if not record(job_id, attempt, rows_done=done):
            raise Superseded

    try:
        if job.format == "xlsx":
            written = write_xlsx(source, part, jobs.setting("EXPORT_SHEET_MAX_ROWS"), progress)
        else:
            written = write_csv(source, part, progress)
        db.session.rollback()
        os.replace(part, final)
        if not record(job_id, attempt, state="done", rows_done=written, rows_total=written, finished_at=utcnow()):
            final.unlink(missing_ok=True)
    except Superseded:
        part.unlink(missing_ok=True)
    except BaseException:
        db.session.rollback()
        part.unlink(missing_ok=True)
        app_logger().exception("export job %s attempt %s failed", job_id, attempt)
        return 1  # the next poll sees the process gone and starts another attempt, up to MAX_ATTEMPTS
    return 0


def record(job_id: int, attempt: int, **values) -> bool:
    """Write values on the job while it is still this attempt's; False once another attempt has taken it."""
    db.session.rollback()
    token = write_intent.set(True)
    try:
        moved = db.session.execute(update(ExportJob).where(ExportJob.id == job_id, ExportJob.attempt == attempt,
                                                           ExportJob.state == "running")
                                   .values(heartbeat_at=utcnow(), **values)).rowcount
        db.session.commit()
    finally:
        write_intent.reset(token)
    return bool(moved)


def app_logger():
    from flask import current_app
    return current_app.logger


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
