"""Exports for leaders (their khu phố) and staff (their ward): summary, open households, raw visits and answers.

A small export is streamed in the response (CSV as it is written; .xlsx from a temporary file); one of more
than EXPORT_INLINE_MAX_ROWS rows becomes a background job (visits/exports/jobs.py) with a progress bar and a
download link. Members have no exports: for them these pages do not exist.
"""
import tempfile
from datetime import date

from flask import Blueprint, Response, abort, request, send_file, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, RadioField, SelectChoice, SelectField
from wtforms.validators import DataRequired, Optional, ValidationError

from ..database import write_intent
from ..extensions import db, htmx
from ..models import ExportJob, KhuPho
from ..pages import render, see_other
from ..scope import khu_pho_ids
from . import jobs
from .audit import log_export, record_export
from .sources import DATED, Filters, source_for
from .writing import csv_chunks, write_xlsx

bp = Blueprint("exports", __name__, url_prefix="/exports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_NAMES = {"summary": "tong-hop-chi-tieu", "open": "ho-con-viec", "visits": "lan-tham", "answers": "cau-tra-loi"}


class DayField(DateField):
    """A date field whose unreadable input says so in Vietnamese and names what was typed."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_("Ngày \"%(value)s\" không hợp lệ; hãy chọn ngày trên lịch (ngày/tháng/năm).",
                               value=" ".join(valuelist)[:20]))


class ExportForm(FlaskForm):
    kind = RadioField(_l("Dữ liệu"), choices=[
        SelectChoice("summary", _l("Tổng hợp chín chỉ tiêu theo khu phố")),
        SelectChoice("open", _l("Danh sách hộ còn việc, theo khu phố (để in)")),
        SelectChoice("visits", _l("Các lần thăm (dữ liệu gốc)")),
        SelectChoice("answers", _l("Các câu trả lời của mỗi lần thăm (dữ liệu gốc)"))],
        default="summary", validators=[DataRequired(_l("Hãy chọn dữ liệu cần tải."))])
    format = RadioField(_l("Định dạng"), choices=[
        SelectChoice("xlsx", _l("Excel (.xlsx)")), SelectChoice("csv", _l("CSV (UTF-8, mở được bằng Excel)"))],
        default="xlsx", validators=[DataRequired(_l("Hãy chọn định dạng tệp."))])
    khu_pho = SelectField(_l("Khu phố"), coerce=int, default=0)
    date_from = DayField(_l("Từ ngày"), validators=[Optional()])
    date_to = DayField(_l("Đến ngày"), validators=[Optional()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("Ngày kết thúc (%(to)s) phải sau hoặc bằng ngày bắt đầu (%(start)s).",
                               to=field.data.strftime("%d/%m/%Y"), start=self.date_from.data.strftime("%d/%m/%Y")))


@bp.before_request
@login_required
def leaders_and_staff_only():
    if current_user.role not in ("leader", "staff", "admin"):
        abort(404)


def places_in_scope() -> list[KhuPho]:
    allowed = khu_pho_ids(current_user)
    query = select(KhuPho).order_by(KhuPho.ward_id, KhuPho.code)
    return list(db.session.scalars(query if allowed is None else query.where(KhuPho.id.in_(allowed))))


def make_form(places: list[KhuPho]) -> ExportForm:
    if request.method == "POST":
        form = ExportForm()
    else:  # a link from the dashboard may choose the data and the khu phố
        form = ExportForm(formdata=None, kind=request.args.get("kind", "summary"),
                          khu_pho=request.args.get("khu_pho", 0, type=int))
    form.khu_pho.choices = [(0, _("Tất cả khu phố (%(n)s)", n=len(places)))] + [(p.id, p.name) for p in places]
    if request.method != "POST" and form.khu_pho.data not in {c[0] for c in form.khu_pho.choices}:
        form.khu_pho.data = 0
    return form


@bp.route("/", methods=["GET", "POST"])
def index():
    places = places_in_scope()
    form = make_form(places)
    if request.method == "POST" and form.validate():
        if not places:
            abort(404)
        chosen = [p for p in places if form.khu_pho.data in (0, p.id)]
        dated = form.kind.data in DATED
        filters = Filters(tuple(p.id for p in chosen), form.date_from.data if dated else None,
                          form.date_to.data if dated else None)
        return export(form.kind.data, form.format.data, filters, {p.ward_id for p in chosen})
    status = 422 if request.method == "POST" else 200
    return render("exports/index.html", form=form, jobs=recent_jobs()), status


def export(kind: str, format_: str, filters: Filters, ward_ids: set[int]):
    """Stream the export now, or start it in the background when it is too big for one request."""
    record_export(kind, filters.to_json(), format_)
    db.session.rollback()
    write_intent.set(False)  # SQLite: reading a long export takes no write lock (phones keep syncing)
    source = source_for(kind, filters)
    rows = source.count()
    if rows > jobs.setting("EXPORT_INLINE_MAX_ROWS"):
        write_intent.set(True)
        db.session.rollback()
        jobs.cleanup()
        job = jobs.create(current_user, ward_ids.pop() if len(ward_ids) == 1 else None, kind, format_,
                          filters.to_json(), rows)
        log_export(current_user, kind, filters.to_json(), format_, rows, background=True)
        return see_other(url_for("exports.job", job_id=job.id))
    log_export(current_user, kind, filters.to_json(), format_, rows)
    name = download_name(kind, filters, format_)
    if format_ == "csv":
        response = Response(stream_with_context(csv_chunks(source)), mimetype="text/csv; charset=utf-8")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    file = tempfile.TemporaryFile()  # gone when closed, after the response is sent
    write_xlsx(source, file, jobs.setting("EXPORT_SHEET_MAX_ROWS"))
    file.seek(0)
    return send_file(file, mimetype=XLSX, as_attachment=True, download_name=name)


def download_name(kind: str, filters: Filters, format_: str) -> str:
    parts = [FILE_NAMES[kind]]
    if len(filters.khu_pho_ids) == 1:
        code = db.session.scalar(select(KhuPho.code).where(KhuPho.id == filters.khu_pho_ids[0]))
        parts.append("".join(c for c in code if c.isascii() and c.isalnum()) or str(filters.khu_pho_ids[0]))
    if filters.date_from or filters.date_to:
        parts.append(f"{filters.date_from or ''}_{filters.date_to or ''}".replace("-", ""))
    parts.append(date.today().strftime("%Y%m%d"))
    return "-".join(parts) + "." + format_


def recent_jobs() -> list[ExportJob]:
    query = select(ExportJob).order_by(ExportJob.id.desc()).limit(10)
    if current_user.role == "staff":
        query = query.where(ExportJob.ward_id == current_user.ward_id)
    elif current_user.role != "admin":
        query = query.where(ExportJob.user_id == current_user.id)
    return [job for job in db.session.scalars(query) if in_scope(job)]


def in_scope(job: ExportJob) -> bool:
    """A job may be seen by its author, their ward's staff and admin, and only while every khu phố it holds is
    still within the viewer's scope (a leader moved to another team loses their old exports)."""
    if current_user.role == "admin":
        return True
    if job.user_id != current_user.id and not (current_user.role == "staff" and job.ward_id == current_user.ward_id):
        return False
    allowed = set(khu_pho_ids(current_user) or ())
    return set(job.filters.get("khu_pho_ids", ())) <= allowed


def job_or_404(job_id: int) -> ExportJob:
    job = db.session.get(ExportJob, job_id)
    if job is None or not in_scope(job):
        abort(404)
    return job


def kind_label(kind: str) -> str:
    return {"summary": _("Tổng hợp chín chỉ tiêu"), "open": _("Hộ còn việc"), "visits": _("Các lần thăm"),
            "answers": _("Các câu trả lời")}.get(kind, kind)


@bp.context_processor
def labels() -> dict:
    return {"state_label": state_label, "kind_label": kind_label, "keep_hours": jobs.setting("EXPORT_KEEP_HOURS")}


def state_label(state: str) -> str:
    return {"queued": _("Đang chờ"), "running": _("Đang tạo tệp"), "done": _("Xong"), "failed": _("Không thành công"),
            "expired": _("Tệp đã được xóa")}.get(state, state)


@bp.get("/viec/<int:job_id>")
def job(job_id: int):
    job = job_or_404(job_id)
    return render("exports/job.html", "exports/_job.html", job=job, percent=percent(job))


@bp.post("/viec/<int:job_id>/tien-do")
def progress(job_id: int):
    """The progress fragment, polled every second; a job whose process has died is started again here."""
    job = jobs.watch(job_or_404(job_id))
    if not htmx:
        return see_other(url_for("exports.job", job_id=job.id))
    return render("exports/job.html", "exports/_job.html", job=job, percent=percent(job))


def percent(job: ExportJob) -> int:
    if job.state == "done":
        return 100
    return min(99, job.rows_done * 100 // job.rows_total) if job.rows_total else 0


@bp.get("/viec/<int:job_id>/tep")
def download(job_id: int):
    job = job_or_404(job_id)
    path = jobs.file_of(job)
    if job.state != "done" or not path.exists():
        abort(404)
    filters = Filters.from_json(job.filters)
    return send_file(path, mimetype=XLSX if job.format == "xlsx" else "text/csv; charset=utf-8",
                     as_attachment=True, download_name=download_name(job.kind, filters, job.format))

