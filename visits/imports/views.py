"""Importing household lists from Excel: upload, map columns, preview, import; ward staff only."""
import io

from flask import Blueprint, abort, current_app, flash, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from ..extensions import csrf, db, htmx
from ..models import ImportJob, ImportRow, Ward
from ..pages import render, see_other
from . import jobs
from .fields import FIELDS, FIELD_NAMES, missing_fields
from .present import column_namer, job_context, state_label
from .sheets import problems_workbook, template_workbook
from .workbook import Refused, size_message

bp = Blueprint("imports", __name__, url_prefix="/imports")
FORM_OVERHEAD = 16 * 1024  # the multipart envelope, the CSRF token and the check box around the file


@bp.before_request
@login_required
def staff_only():
    """Members and leaders do not import: for them these pages do not exist."""
    if current_user.role not in ("staff", "admin"):
        abort(404)


def job_or_404(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None or (current_user.role != "admin" and job.ward_id != current_user.ward_id):
        abort(404)
    return job


def wards() -> list[Ward]:
    """The wards the user may import into: their own, or every ward for admin."""
    query = select(Ward).order_by(Ward.name)
    if current_user.role != "admin":
        query = query.where(Ward.id == current_user.ward_id)
    return list(db.session.scalars(query))


def index_page(error: str | None = None, status: int = 200):
    ward_ids = [w.id for w in wards()]
    recent = db.session.scalars(select(ImportJob).where(ImportJob.ward_id.in_(ward_ids))
                                .order_by(ImportJob.id.desc()).limit(10)).all() if ward_ids else []
    return render("imports/index.html", wards=wards(), recent=recent, error=error, state_label=state_label,
                  max_mb=jobs.setting("IMPORT_MAX_BYTES") // (1024 * 1024)), status


@bp.get("/")
def index():
    return index_page()


@bp.get("/mau-danh-sach-ho.xlsx")
def template():
    """The template to fill in, with Vietnamese headers and an example household."""
    return send_file(io.BytesIO(template_workbook()), as_attachment=True,
                     download_name="mau-danh-sach-ho-nhan-khau.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.post("/")
@csrf.exempt  # checked below, once the larger size limit of this view is set
def upload():
    """Take a workbook of up to IMPORT_MAX_BYTES (the app's limit is 2 MB elsewhere), check it, start a job."""
    limit = jobs.setting("IMPORT_MAX_BYTES")
    if request.content_length is not None and request.content_length > limit + FORM_OVERHEAD:
        return index_page(size_message(limit), 413)
    request.max_content_length = limit + FORM_OVERHEAD  # Flask ≥ 3.1: a limit for this request only
    with jobs.without_write_lock():  # the body may take minutes to arrive over a slow line
        job, error = received(limit)
    if error is not None:
        return index_page(*error)
    jobs.cleanup_stale()
    db.session.add(job)
    db.session.commit()
    return see_other(url_for("imports.job", job_id=job.id))


def received(limit: int) -> tuple[ImportJob | None, tuple | None]:
    """The job for the uploaded file, or (None, (message, status)) saying why there is none."""
    try:
        csrf.protect()
        upload, form = request.files.get("file"), request.form
    except RequestEntityTooLarge:
        return None, (size_message(limit), 413)
    if upload is None or not upload.filename:
        return None, (_("Hãy chọn tệp Excel (.xlsx) để nhập."), 422)
    ward_id = current_user.ward_id if current_user.role != "admin" else form.get("ward", type=int)
    if ward_id not in {w.id for w in wards()}:
        return None, (_("Hãy chọn phường để nhập danh sách vào."), 422)
    try:
        return jobs.receive(current_user.id, ward_id, upload, upload.filename, form.get("create_streets") == "1"), None
    except Refused as refused:
        return None, (str(refused), refused.status)


@bp.get("/<int:job_id>")
def job(job_id: int):
    job = job_or_404(job_id)
    return render("imports/job.html", "imports/_job.html", **job_context(job))


@bp.post("/<int:job_id>/step")
def step(job_id: int):
    """Do the next chunk of the job (the progress fragment polls this every second) and show where it is."""
    job = job_or_404(job_id)
    busy = False
    try:
        jobs.advance(job.id)
    except OperationalError:  # the database stayed locked for the whole busy timeout: the next poll goes on
        db.session.rollback()
        busy = True
    except Exception:  # noqa: BLE001 - the chunk rolled back; the next poll does it again, a few times at most
        db.session.rollback()
        current_app.logger.exception("import job %s: a chunk failed", job_id)
        jobs.chunk_failed(job_id)
    job = db.session.get(ImportJob, job_id)
    if not htmx:
        return see_other(url_for("imports.job", job_id=job.id))
    return render("imports/job.html", "imports/_job.html", **job_context(job, busy=busy))


@bp.route("/<int:job_id>/cot", methods=["GET", "POST"])
def mapping(job_id: int):
    """Say which of the sheet's columns holds which field; remembered for sheets of the same shape."""
    job = job_or_404(job_id)
    if job.state not in ("mapping", "preview"):
        abort(404)
    errors, chosen = [], None
    if request.method == "POST":
        chosen = {key[4:]: value for key, value in request.form.items()
                  if key.startswith("col-") and value in FIELD_NAMES}
        taken = [v for v in chosen.values()]
        doubled = sorted({v for v in taken if taken.count(v) > 1})
        if doubled:
            errors.append(_("Mỗi thông tin chỉ ghép với một cột; đang ghép nhiều cột với: %(fields)s.",
                            fields=", ".join(str(label) for name, label, _h in FIELDS if name in doubled)))
        missing = missing_fields(chosen)
        if missing:
            errors.append(_("Còn thiếu cột cho: %(fields)s.", fields=", ".join(missing)))
        if not errors:
            jobs.save_mapping(job, chosen, current_user)
            db.session.commit()
            return see_other(url_for("imports.job", job_id=job.id))
    context = job_context(job, mapping_errors=errors, show_mapping=True, chosen=chosen)
    return render("imports/job.html", None, **context), (422 if errors else 200)


@bp.post("/<int:job_id>/nhap")
def confirm(job_id: int):
    """Start writing: every row, or (said plainly, and ticked) only the rows without problems."""
    job = job_or_404(job_id)
    if job.state != "preview":
        return see_other(url_for("imports.job", job_id=job.id))
    valid_only = request.form.get("mode") == "valid_only"
    has_problems = job.summary.get("skipped_rows", 0) > 0
    if has_problems and not valid_only:
        flash(_("Tệp còn lỗi nên chưa nhập gì. Hãy sửa tệp rồi tải lên lại, hoặc chọn chỉ nhập các dòng hợp lệ."),
              "error")
    elif valid_only and has_problems and request.form.get("understood") != "1":
        flash(_("Hãy đánh dấu ô xác nhận rằng các dòng có lỗi sẽ bị bỏ qua."), "error")
    else:
        jobs.start_import(job, valid_only)
        db.session.commit()
    return see_other(url_for("imports.job", job_id=job.id))


@bp.post("/<int:job_id>/kiem-tra-lai")
def recheck(job_id: int):
    """Check again, with or without making the streets the sheet names that its khu phố do not have."""
    job = job_or_404(job_id)
    if job.state == "preview":
        jobs.recheck(job, request.form.get("create_streets") == "1")
        db.session.commit()
    return see_other(url_for("imports.job", job_id=job.id))


@bp.post("/<int:job_id>/huy")
def cancel(job_id: int):
    job = job_or_404(job_id)
    if job.state in ("mapping", "reading", "checking", "preview"):
        jobs.finish(job, "cancelled", _("Đã hủy; chưa nhập gì."))
        db.session.commit()
        flash(_("Đã hủy lần nhập này; chưa ghi gì vào dữ liệu."), "success")
    return see_other(url_for("imports.index"))


@bp.get("/<int:job_id>/loi.xlsx")
def problems(job_id: int):
    """Every problem of the file, for fixing it in Excel."""
    job = job_or_404(job_id)
    rows = ((number, list(read) + list(checked)) for number, read, checked in db.session.execute(
        select(ImportRow.row_number, ImportRow.read_problems, ImportRow.check_problems)
        .where(ImportRow.job_id == job.id, ImportRow.skip).order_by(ImportRow.row_number)).yield_per(2000))
    return send_file(problems_workbook(rows, column_namer(job)), as_attachment=True,
                     download_name=f"loi-nhap-{job.id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
