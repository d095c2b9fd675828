"""Saving a visit from the household page: one htmx request, the household region comes back updated."""
from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import consent
from .checklist import plan_items, plan_rules
from .extensions import db
from .forms import VisitForm
from .households import household_context
from .pages import render
from .recording import Rejected, VisitInput, client_time, record_visit
from .scope import household_or_404

bp = Blueprint("visit_log", __name__)


@bp.post("/households/<int:household_id>/visits")
@login_required
def save(household_id: int):
    household = household_or_404(household_id)
    form = VisitForm()
    if form.validate_on_submit():
        try:
            outcome = record_visit(current_user, household, visit_input(form), plan_items(), plan_rules())
        except Rejected as problem:
            form.outcome.errors.append(str(problem))
        else:
            if outcome.status == "conflict":
                db.session.rollback()
                form.outcome.errors.append(_("Lần thăm này đã được lưu với nội dung khác; chưa lưu gì thêm."))
            elif outcome.status == "accepted" and not _consent_given(form, household, outcome.record):
                db.session.rollback()
            else:
                db.session.commit()
                return saved_response(household, outcome.record)
    db.session.rollback()
    return render("households/page.html", "households/_household.html", status=422,
                  **household_context(household, form=form))


def saved_response(household, visit):
    if request.headers.get("HX-Request"):
        return render("households/page.html", "households/_household.html", saved=visit,
                      trigger={"visit-saved": {"household": household.id}},
                      **{k: v for k, v in household_context(household).items() if k != "saved"})
    flash(_("Đã lưu lần thăm."), "success")
    return redirect(url_for("households.page", household_id=household.id, saved=visit.uuid), 303)


def _consent_given(form: VisitForm, household, visit) -> bool:
    """Record the household's answer on data keeping, if asked; False (with the error on the form) if invalid."""
    try:
        consent.record_consent(household, current_user, consent.checked(request.form.get("consent")),
                               visit.recorded_at)
    except Rejected as problem:
        form.outcome.errors.append(str(problem))
        return False
    return True


def visit_input(form: VisitForm) -> VisitInput:
    """Read the visit's per-resident answers and changed facts from the submitted fields.

    Fields: met=<resident id>, a-<resident id or 0>-<item code>=<answer>,
    f-<resident id>-<fact>=<value> beside f0-… holding the value the page showed (only changes are kept).
    """
    fields = request.form
    answers = []
    for name, value in fields.items():
        if name.startswith("a-") and value:
            rid, code = _subject(name[2:])
            answers.append((rid or None, code, value))
    facts = []
    for name, value in fields.items():
        if name.startswith("f-"):
            rid, fact = _subject(name[2:])
            if value != fields.get(f"f0-{name[2:]}"):
                facts.append((rid, fact, value))
    met = [_integer(v) for v in fields.getlist("met")]
    return VisitInput(uuid=form.visit_uuid.data, recorded_at=client_time(form.recorded_at.data),
                      outcome=form.outcome.data, notes=(form.notes.data or "").strip(), met=met,
                      answers=answers, facts=facts)


def _subject(rest: str) -> tuple[int, str]:
    rid, _sep, code = rest.partition("-")
    return _integer(rid), code


def _integer(text: str) -> int:
    if not text.isdigit():
        raise Rejected(_("Mã nhân khẩu không hợp lệ: %(value)s", value=text[:20]))
    return int(text)
