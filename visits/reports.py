"""The ward's monthly report: its page, sending it (which freezes its figures), and its Excel file.

Staff see and send their ward's report; a leader sees their khu phố's part; admin picks a ward and only looks.
"""
from datetime import date, timedelta
from io import BytesIO

from flask import Blueprint, abort, flash, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from .checklist import active_plan
from .dashboard import Cell
from .extensions import db
from .models import KhuPho, MonthlyReport, Team, User, Ward, utcnow
from .month_end import VN_OFFSET, month_key, next_month, parse_month, previous_month
from .monthly_figures import only_khu_pho, report_figures
from .pages import render, see_other
from .report_xlsx import report_workbook

bp = Blueprint("reports", __name__, url_prefix="/reports")


class SendForm(FlaskForm):
    """Sending a report: nothing to fill in, but the CSRF token."""


def require_report_role() -> None:
    if current_user.role not in ("leader", "staff", "admin"):
        abort(404)


def report_ward() -> Ward:
    """The ward whose report one sees: one's own; admin names it (?ward=) or gets the first."""
    if current_user.role == "admin":
        query = select(Ward).order_by(Ward.id)
        wanted = request.args.get("ward", type=int)
        ward = db.session.scalar(query.where(Ward.id == wanted) if wanted else query)
    elif current_user.role == "staff":
        ward = db.session.get(Ward, current_user.ward_id) if current_user.ward_id else None
    else:
        ward = db.session.scalar(select(Ward).join(KhuPho, KhuPho.ward_id == Ward.id)
                                 .join(Team, Team.khu_pho_id == KhuPho.id).where(Team.id == current_user.team_id))
    if ward is None:
        abort(404)
    return ward


def leader_khu_pho() -> int | None:
    """A leader's khu phố (they see only its row); None for staff and admin."""
    if current_user.role != "leader":
        return None
    return db.session.scalar(select(Team.khu_pho_id).where(Team.id == current_user.team_id))


def month_or_404(text: str | None) -> date:
    if not text:  # the report usually made is last month's (due before the 14th)
        return previous_month((utcnow() + VN_OFFSET).date().replace(day=1))
    month = parse_month(text)
    if month is None:
        abort(404)
    return month


def stored_report(ward: Ward, month: date) -> MonthlyReport | None:
    return db.session.scalar(select(MonthlyReport).where(MonthlyReport.ward_id == ward.id,
                                                         MonthlyReport.month == month_key(month)))


def figures_for(ward: Ward, month: date, report: MonthlyReport | None) -> dict:
    """What a sent report sent, or the figures as they stand now; a leader's cut to their khu phố."""
    khu_pho_id = leader_khu_pho()
    if report is not None and report.status == "da_gui":
        return only_khu_pho(report.figures, khu_pho_id) if khu_pho_id else report.figures
    return report_figures(ward, active_plan(), month, [khu_pho_id] if khu_pho_id else None)


def target_cells(figures: dict, row: dict) -> dict[int, Cell]:
    by_number = {t["number"]: t for t in figures["targets"]}
    return {int(n): Cell(num, den, by_number[int(n)]["threshold"], by_number[int(n)]["strive"])
            for n, (num, den) in row["targets"].items()}


@bp.get("/")
@login_required
def month():
    require_report_role()
    ward = report_ward()
    chosen = month_or_404(request.args.get("month"))
    report = stored_report(ward, chosen)
    figures = figures_for(ward, chosen, report)
    rows = [(r, target_cells(figures, r)) for r in figures["rows"]]
    total = figures["total"] and ({**figures["total"], "name": _("Toàn phường")}, target_cells(figures, figures["total"]))
    return render("reports/month.html", ward=ward, month=chosen, report=report, figures=figures, rows=rows,
                  total=total, targets=figures["targets"], form=SendForm(), can_send=current_user.role == "staff",
                  previous=month_key(previous_month(chosen)), following=month_key(next_month(chosen)),
                  month_end=next_month(chosen) - timedelta(days=1), vn_offset=VN_OFFSET)


@bp.post("/<month_text>/send")
@login_required
def send(month_text: str):
    """Freeze the month's figures as sent, with who sent them and when; a sent report is never sent again."""
    if current_user.role != "staff":
        abort(404)
    ward = report_ward()
    chosen = month_or_404(month_text)
    form = SendForm()
    if not form.validate_on_submit():
        abort(400)
    if next_month(chosen) > (utcnow() + VN_OFFSET).date():  # its figures at the month's end are not known yet
        flash(_("Tháng %(m)s chưa kết thúc: chỉ gửi được báo cáo của tháng đã qua.", m=month_key(chosen)), "error")
        return see_other(url_for("reports.month", month=month_key(chosen)))
    report = stored_report(ward, chosen)
    if report is not None and report.status == "da_gui":
        flash(_("Báo cáo tháng %(m)s đã được gửi trước đó; số liệu giữ nguyên như lúc gửi.", m=month_key(chosen)),
              "error")
        return see_other(url_for("reports.month", month=month_key(chosen)))
    if report is None:
        report = MonthlyReport(ward_id=ward.id, month=month_key(chosen))
        db.session.add(report)
    report.figures = report_figures(ward, active_plan(), chosen)
    report.status, report.sent_by_id, report.sent_at = "da_gui", current_user.id, utcnow()
    db.session.commit()
    flash(_("Đã gửi báo cáo tháng %(m)s.", m=month_key(chosen)), "success")
    return see_other(url_for("reports.month", month=month_key(chosen)))


@bp.get("/<month_text>.xlsx")
@login_required
def workbook(month_text: str):
    require_report_role()
    ward = report_ward()
    chosen = month_or_404(month_text)
    report = stored_report(ward, chosen)
    figures = figures_for(ward, chosen, report)
    sender = db.session.get(User, report.sent_by_id) if report is not None and report.sent_by_id else None
    book = report_workbook(figures, report if report is not None and report.status == "da_gui" else None, sender)
    data = BytesIO()
    book.save(data)
    data.seek(0)
    return send_file(data, as_attachment=True, download_name=f"bao-cao-to-cnscd-{month_key(chosen)}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
