"""Residents' data protection: the public page that says what is kept and why, and erasure on request.

Erasure (visits/erasure.py) is for staff (their ward) and a leader (their khu phố); the resident's answers still
count in the targets, anonymously.
"""
from flask import Blueprint, abort, flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from .erasure import erase_resident
from .extensions import db
from .pages import render, see_other
from .scope import require_role, resident_or_404

bp = Blueprint("privacy", __name__)

ERASERS = ("leader", "staff", "admin")


class EraseForm(FlaskForm):
    """Only the CSRF token: the confirmation is the POST itself."""


@bp.get("/bao-ve-du-lieu")
def page():
    """Public, in plain Vietnamese: no login, no cookie (the residents' layout)."""
    return render_template("privacy/page.html")


@bp.route("/residents/<int:resident_id>/xoa-du-lieu", methods=["GET", "POST"])
@login_required
def erase(resident_id: int):
    require_role(*ERASERS)
    resident = resident_or_404(resident_id)
    household = resident.household
    form = EraseForm()
    if resident.erased_at is not None:
        flash(_("Dữ liệu cá nhân của nhân khẩu này đã được xóa trước đó."), "success")
        return see_other(url_for("households.page", household_id=household.id))
    if form.is_submitted():
        if not form.validate():
            abort(400)
        erase_resident(resident, current_user)
        db.session.commit()
        flash(_("Đã xóa họ tên, số điện thoại và ghi chú liên quan; các câu trả lời vẫn được đếm, không kèm tên."),
              "success")
        return see_other(url_for("households.page", household_id=household.id))
    return render("privacy/erase.html", resident=resident, household=household, form=form)
