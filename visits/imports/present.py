"""What the job's page shows: where the job is, its counts, its problems, and the column mapping form."""
from flask_babel import gettext as _
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from ..extensions import db
from ..models import ImportJob, ImportRow, KhuPho
from .fields import FIELDS
from .jobs import WORKING

PROBLEMS_SHOWN = 200


def state_label(state: str) -> str:
    return {"mapping": _("Cần ghép cột"), "reading": _("Đang đọc tệp"), "checking": _("Đang kiểm tra"),
            "preview": _("Chờ xác nhận"), "importing": _("Đang nhập"), "done": _("Đã nhập xong"),
            "failed": _("Không nhập được"), "cancelled": _("Đã hủy")}.get(state, state)


def column_namer(job: ImportJob):
    """"C (Khu phố)" for column 3, as staff see it in Excel; "—" when a problem is about no one column."""
    headers = job.sheet.get("headers", [])

    def name(column) -> str:
        if not column:
            return "—"
        header = headers[column - 1] if column <= len(headers) else ""
        return f"{get_column_letter(column)} ({header})" if header else get_column_letter(column)
    return name


def first_problems(job: ImportJob) -> list[tuple[int, str, str]]:
    """(row, column, what is wrong) for the first problems of the file, in row order."""
    name, shown = column_namer(job), []
    for number, read, checked in db.session.execute(
            select(ImportRow.row_number, ImportRow.read_problems, ImportRow.check_problems)
            .where(ImportRow.job_id == job.id, ImportRow.skip).order_by(ImportRow.row_number)
            .limit(PROBLEMS_SHOWN * 2)):
        shown += [(number, name(column), message) for column, message, _level in list(read) + list(checked)]
        if len(shown) >= PROBLEMS_SHOWN:
            break
    return shown[:PROBLEMS_SHOWN]


def new_streets(job: ImportJob) -> list[str]:
    """"Phố Mới (Khu phố 2)" for each street the sheet names that its khu phố does not have."""
    places = {k.id: k.name for k in db.session.scalars(select(KhuPho).where(KhuPho.ward_id == job.ward_id))}
    shown = []
    for value in job.summary.get("new_streets", []):
        khu_pho_id, _sep, street = value.partition("|")
        shown.append(f"{street} ({places.get(int(khu_pho_id), '?')})")
    return shown


def mapping_rows(job: ImportJob, chosen: dict | None) -> list[dict]:
    """One line per column of the header row: its letter, header, sample values and the field it fills."""
    mapping = chosen if chosen is not None else job.mapping
    samples = job.sheet.get("samples", [])
    rows = []
    for number, header in enumerate(job.sheet.get("headers", []), start=1):
        values = [row[number - 1] for row in samples if number - 1 < len(row) and row[number - 1]]
        if not header and not values:
            continue
        rows.append({"number": number, "letter": get_column_letter(number), "header": header,
                     "samples": values[:3], "field": mapping.get(str(number), "")})
    return rows


def job_context(job: ImportJob, busy: bool = False, mapping_errors=None, show_mapping: bool = False,
                chosen: dict | None = None) -> dict:
    total = job.progress_total or 0
    percent = min(100, int(job.progress_done * 100 / total)) if total else 0
    summary = job.summary or {}
    counts = summary.get("counts", {})
    context = {"job": job, "state_label": state_label(job.state), "working": job.state in WORKING,
               "percent": percent, "busy": busy, "counts": counts, "summary": summary, "result": job.result or {},
               "fields": [(name, str(label)) for name, label, _header in FIELDS],
               "mapped": [(column_namer(job)(int(c)), next(str(label) for n, label, _h in FIELDS if n == f))
                          for c, f in sorted(job.mapping.items(), key=lambda item: int(item[0]))],
               "show_mapping": show_mapping or job.state == "mapping", "mapping_errors": mapping_errors or [],
               "mapping_rows": mapping_rows(job, chosen), "problems": [], "new_streets": []}
    if job.state == "preview":
        context["problems"] = first_problems(job)
        context["new_streets"] = new_streets(job)
    return context
