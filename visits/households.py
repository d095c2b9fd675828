"""A household at the door: its residents and open items, and what a member adds or corrects there."""
from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select

from .checklist import plan_items, plan_rules
from .extensions import db
from .forms import CorrectionForm, HouseholdForm, MovedForm, ResidentForm, VisitForm
from .guides import has_guide
from .models import Household, Resident, User, Visit, new_uuid
from .pages import render, see_other
from .recording import Rejected, client_time
from . import fragments, roster
from .roster import new_household, new_resident
from .scope import household_or_404, resident_or_404, street_or_404
from .state import applicable_items, encode_fact, open_items_for, state_values_of
from .text import address_key, fold, nfc

bp = Blueprint("households", __name__)
bp.add_app_template_global(fragments.checklist, "checklist")
bp.add_app_template_global(fragments.person, "person")
bp.add_app_template_global(fragments.resident_facts, "resident_facts")
bp.add_app_template_global(fragments.visit_form_head, "visit_form_head")
bp.add_app_template_global(fragments.visit_form_notes, "visit_form_notes")


# Only what the page shows of the last visits: whole Visit rows cost a tenth of the page.
RECENT_VISITS = select(Visit.recorded_at, Visit.outcome, User.full_name, User.username) \
    .join(User, Visit.user_id == User.id).where(Visit.household_id == bindparam("household_id")) \
    .order_by(Visit.recorded_at.desc(), Visit.uuid.desc()).limit(5)


def household_context(household: Household, form: VisitForm | None = None, saved: Visit | None = None) -> dict:
    """Everything the household page and its swapped region show; form: a visit form sent back with an error,
    None for a new visit's blank one (visits/fragments.py visit_form_head)."""
    items, rules = plan_items(), plan_rules()
    states = state_values_of(household)
    applicable = applicable_items(household, items, rules)
    recent = db.session.execute(RECENT_VISITS, {"household_id": household.id}).all()
    return {"household": household, "street": household.street, "form": form, "saved": saved,
            "applicable": applicable, "guide_links": guide_links(household, applicable),
            "open": open_items_for(household, items, rules, states),
            "answer_of": lambda key, code: getattr(states.get((key, "item", code)), "value", None),
            "residents": [r for r in household.residents if not r.moved_away],
            "residents_by_id": {str(r.id): r.uuid for r in household.residents if not r.moved_away},
            "moved": [r for r in household.residents if r.moved_away],
            "recent": recent}


def guide_links(household: Household, applicable: dict) -> dict:
    """Each guide's two links, by slug, for the items that have one that opens: built once per guide, not once
    per item and resident (a page shows the same item for every adult)."""
    slugs = {item.guide_slug for eligible in applicable.values() for item in eligible}
    return {slug: (fragments.fixed_url("guides.hands_on", slug=slug, k=household.khu_pho_id),
                   fragments.fixed_url("guides.page", slug=slug))
            for slug in slugs if has_guide(slug)}


@bp.get("/households/<int:household_id>")
@login_required
def page(household_id: int):
    """The household; after a save, ?saved=<visit uuid> adds the confirmation and the next-door button."""
    household = household_or_404(household_id, for_page=True)
    saved = None
    if request.args.get("saved"):
        saved = db.session.scalar(select(Visit).where(Visit.uuid == request.args["saved"],
                                                      Visit.household_id == household.id))
    return render("households/page.html", "households/_household.html", **household_context(household, saved=saved))


@bp.route("/streets/<int:street_id>/households/new", methods=["GET", "POST"])
@login_required
def add_household(street_id: int):
    street = street_or_404(street_id)
    form = HouseholdForm(change_uuid=new_uuid())
    duplicates = []
    if form.validate_on_submit():
        key = address_key(street.name, form.house_number.data)
        duplicates = db.session.scalars(select(Household).where(
            Household.street_id == street.id, Household.address_key == key)).all()
        if not duplicates or form.confirm_duplicate.data:
            household = _create_household(street, form)
            if household is not None:
                flash(_("Đã thêm hộ %(number)s. Hãy thêm nhân khẩu.", number=household.house_number), "success")
                return see_other(url_for("households.page", household_id=household.id))
    return render("households/new.html", street=street, form=form, duplicates=duplicates), \
        (422 if form.errors or duplicates else 200)


def _create_household(street, form) -> Household | None:
    earlier = db.session.scalar(select(Household).where(Household.uuid == form.change_uuid.data))
    if earlier is not None:  # the same form sent twice
        return earlier if earlier.street_id == street.id else abort(409)
    try:
        household = new_household(street, form.house_number.data, form.head_name.data or "",
                                  form.is_business.data, uuid=form.change_uuid.data, user=current_user,
                                  recorded_at=client_time(form.recorded_at.data))
    except Rejected as problem:
        form.house_number.errors.append(str(problem))
        return None
    db.session.commit()
    return household


@bp.route("/households/<int:household_id>/residents/new", methods=["GET", "POST"])
@login_required
def add_resident(household_id: int):
    household = household_or_404(household_id)
    form = ResidentForm(change_uuid=new_uuid())
    duplicates = []
    if form.validate_on_submit():
        duplicates = db.session.scalars(select(Resident).join(Household).where(
            Household.street_id == household.street_id, Resident.name_key == fold(form.full_name.data),
            Resident.uuid != form.change_uuid.data)).all()
        if not duplicates or form.confirm_duplicate.data:
            if _create_resident(household, form):
                flash(_("Đã thêm %(name)s.", name=nfc(form.full_name.data)), "success")
                return see_other(url_for("households.page", household_id=household.id))
    return render("households/resident_new.html", household=household, form=form, duplicates=duplicates), \
        (422 if form.errors or duplicates else 200)


def _create_resident(household, form) -> bool:
    earlier = db.session.scalar(select(Resident).where(Resident.uuid == form.change_uuid.data))
    if earlier is not None:
        return earlier.household_id == household.id or abort(409)
    try:
        new_resident(household, form.full_name.data, form.birth_year.data, _facts_of(form),
                     plan_items(), plan_rules(), uuid=form.change_uuid.data, user=current_user,
                     recorded_at=client_time(form.recorded_at.data))
    except Rejected as problem:
        form.full_name.errors.append(str(problem))
        return False
    db.session.commit()
    return True


def _facts_of(form) -> dict:
    return {"phone_kind": form.phone_kind.data, "sim": form.sim.data,
            "handset_2g_only": form.handset_2g_only.data, "has_epay": form.has_epay.data or None}


@bp.route("/residents/<int:resident_id>/edit", methods=["GET", "POST"])
@login_required
def correct_resident(resident_id: int):
    """Correct a resident's name, birth year or facts; the facts enter the state as a dated change."""
    resident = resident_or_404(resident_id)
    household = resident.household
    form = CorrectionForm(change_uuid=new_uuid(), full_name=resident.full_name, birth_year=resident.birth_year,
                          phone_kind=resident.phone_kind, sim=resident.sim,
                          handset_2g_only=encode_fact("handset_2g_only", resident.handset_2g_only),
                          has_epay=encode_fact("has_epay", resident.has_epay) or "")
    if form.validate_on_submit():
        try:
            roster.correct_resident(current_user, resident, form.change_uuid.data, client_time(form.recorded_at.data),
                             form.full_name.data, form.birth_year.data, _facts_of(form), plan_items(), plan_rules())
        except Rejected as problem:
            form.full_name.errors.append(str(problem))
        else:
            db.session.commit()
            flash(_("Đã lưu thông tin của %(name)s.", name=resident.full_name), "success")
            return see_other(url_for("households.page", household_id=household.id))
    return render("households/resident_edit.html", resident=resident, household=household, form=form,
                  moved_form=MovedForm(change_uuid=new_uuid())), (422 if form.errors else 200)


@bp.post("/residents/<int:resident_id>/moved")
@login_required
def mark_moved(resident_id: int):
    resident = resident_or_404(resident_id)
    household = resident.household
    form = MovedForm()
    if not form.validate_on_submit():
        flash(_("Yêu cầu không hợp lệ, chưa lưu gì. Hãy tải lại trang và thử lại."), "error")
        return see_other(url_for("households.correct_resident", resident_id=resident.id))
    try:
        roster.mark_moved(current_user, resident, form.change_uuid.data, client_time(form.recorded_at.data),
                   plan_items(), plan_rules())
    except Rejected as problem:
        flash(str(problem), "error")
        return see_other(url_for("households.correct_resident", resident_id=resident.id))
    db.session.commit()
    flash(_("Đã ghi nhận %(name)s chuyển đi.", name=resident.full_name), "success")
    return see_other(url_for("households.page", household_id=household.id))
