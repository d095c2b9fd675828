"""The group-session register (target 7): họp tổ dân phố, sinh hoạt chi bộ, sự kiện, with who attended.

Staff keep it for their ward's khu phố, a leader for their own. Attendees are picked from the khu phố's household
list, a street or a search at a time; each pick is saved at once, so nothing ticked is lost when the filter
changes. Attending residents count as informed (visits/attendance.py), in the same transaction.
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload
from wtforms import HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import UUID, AnyOf, DataRequired, InputRequired, Length, Optional

from . import attendance
from .checklist import plan_items, plan_rules
from .extensions import db
from .models import (SESSION_KINDS, GroupSession, GroupSessionAttendee, Household, KhuPho, Resident, Street,
                     new_uuid)
from .pages import render, see_other
from .registers import check_past_day, khu_pho_in_reach
from .text import fold
from .training import DayField

bp = Blueprint("group_sessions", __name__, url_prefix="/sessions")

KIND_LABELS = {"hop_to_dan_pho": _l("Họp tổ dân phố"), "sinh_hoat_chi_bo": _l("Sinh hoạt chi bộ"),
               "su_kien": _l("Sự kiện"), "khac": _l("Khác")}
CANDIDATES_SHOWN = 200
WITH_ADDRESS = joinedload(Resident.household).joinedload(Household.street)  # shown beside each name


class SessionForm(FlaskForm):
    session_uuid = HiddenField(validators=[Optional(), UUID(_l("Mã buổi sinh hoạt không hợp lệ."))])
    held_on = DayField(_l("Ngày tổ chức"), validators=[InputRequired(_l("Hãy nhập ngày tổ chức.")), check_past_day])
    kind = SelectField(_l("Hình thức"), choices=[SelectChoice(k, KIND_LABELS[k]) for k in SESSION_KINDS],
                       validate_choice=False, validators=[
                           AnyOf(SESSION_KINDS, _l("Hình thức không hợp lệ: hãy chọn trong danh sách."))])
    khu_pho_id = SelectField(_l("Khu phố"), coerce=int, validate_choice=False)
    topic = StringField(_l("Nội dung tuyên truyền"), validators=[
        DataRequired(_l("Hãy nhập nội dung buổi sinh hoạt.")), Length(max=300)])


class PickForm(FlaskForm):
    """Add or remove attendees: the ticked resident ids are read from the request (resident_id, repeated)."""


def session_form(session: GroupSession | None = None) -> SessionForm:
    form = SessionForm(obj=session)
    form.khu_pho_id.choices = [(p.id, p.name) for p in khu_pho_in_reach()]
    if session is None and not form.is_submitted():
        form.session_uuid.data = new_uuid()
    return form


def chosen_khu_pho(form: SessionForm) -> int:
    """The form's khu phố; 404 for one out of reach (a forged form), as for any id outside one's scope."""
    if form.khu_pho_id.data not in {value for value, _label in form.khu_pho_id.choices}:
        abort(404)
    return form.khu_pho_id.data


def session_or_404(session_id: int) -> GroupSession:
    reach = [p.id for p in khu_pho_in_reach()]
    session = db.session.scalar(select(GroupSession).where(GroupSession.id == session_id,
                                                           GroupSession.khu_pho_id.in_(reach)))
    if session is None:
        abort(404)
    return session


@bp.get("/")
@login_required
def index():
    places = khu_pho_in_reach()
    sessions = db.session.execute(
        select(GroupSession, func.count(GroupSessionAttendee.resident_id))
        .outerjoin(GroupSessionAttendee, GroupSessionAttendee.session_id == GroupSession.id)
        .where(GroupSession.khu_pho_id.in_([p.id for p in places])).group_by(GroupSession.id)
        .order_by(GroupSession.held_on.desc(), GroupSession.id.desc())).all()
    return render("group_sessions/index.html", sessions=sessions, kinds=KIND_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    form = session_form()
    if form.is_submitted():
        chosen_khu_pho(form)
    if form.validate_on_submit():
        if form.session_uuid.data:  # the same form sent twice is one session
            earlier = db.session.scalar(select(GroupSession).where(GroupSession.uuid == form.session_uuid.data))
            if earlier is not None:
                return see_other(url_for("group_sessions.page", session_id=session_or_404(earlier.id).id))
        session = GroupSession(created_by_id=current_user.id)
        if form.session_uuid.data:
            session.uuid = form.session_uuid.data
        fill(session, form)
        session.held_on = form.held_on.data
        db.session.add(session)
        db.session.commit()
        flash(_("Đã ghi buổi sinh hoạt. Hãy chọn những người đã tham dự."), "success")
        return see_other(url_for("group_sessions.page", session_id=session.id) + "#add")
    return render("group_sessions/new.html", form=form, status=400 if form.is_submitted() else 200)


def fill(session: GroupSession, form: SessionForm) -> None:
    """Everything but the day, which attendance.change_day sets on an edit (the informed state follows it)."""
    session.kind = form.kind.data
    session.topic = form.topic.data.strip()
    session.khu_pho_id = chosen_khu_pho(form)


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
def edit(session_id: int):
    session = session_or_404(session_id)
    form = session_form(session)
    if form.is_submitted():
        chosen_khu_pho(form)
    if form.validate_on_submit():
        if form.khu_pho_id.data != session.khu_pho_id and session.attendees:
            form.khu_pho_id.errors.append(_("Buổi này đã có người tham dự của %(place)s: hãy bỏ họ khỏi danh sách "
                                            "trước khi đổi khu phố.", place=session.khu_pho.name))
        else:
            fill(session, form)
            attendance.change_day(session, form.held_on.data, plan_items(), plan_rules())
            db.session.commit()
            flash(_("Đã lưu buổi sinh hoạt."), "success")
            return see_other(url_for("group_sessions.page", session_id=session.id))
    return render("group_sessions/edit.html", form=form, session=session, status=400 if form.is_submitted() else 200)


@bp.post("/<int:session_id>/delete")
@login_required
def delete(session_id: int):
    session = session_or_404(session_id)
    if not PickForm().validate_on_submit():
        abort(400)
    attendance.delete_session(session, plan_items(), plan_rules())
    db.session.commit()
    flash(_("Đã xóa buổi sinh hoạt."), "success")
    return see_other(url_for("group_sessions.index"))


# --- Attendees ---------------------------------------------------------------------------------------

@dataclass
class Filter:
    street_id: int | None
    q: str

    @classmethod
    def of(cls, values) -> "Filter":
        return cls(values.get("street", type=int) or None, (values.get("q") or "").strip()[:100])


def attendees_of(session: GroupSession) -> list[Resident]:
    return db.session.scalars(
        select(Resident).join(GroupSessionAttendee, GroupSessionAttendee.resident_id == Resident.id)
        .join(Household, Household.id == Resident.household_id).join(Street, Street.id == Household.street_id)
        .where(GroupSessionAttendee.session_id == session.id).options(WITH_ADDRESS)
        .order_by(Street.position, Street.name, Household.sort_key, Resident.id)).all()


def candidates(session: GroupSession, chosen: Filter) -> tuple[list[Resident], bool]:
    """Residents of the session's khu phố on the chosen street or matching the search (name or address, with or
    without diacritics), in walking order; and whether there were more than are shown."""
    query = select(Resident).join(Household, Household.id == Resident.household_id) \
        .join(Street, Street.id == Household.street_id) \
        .where(Household.khu_pho_id == session.khu_pho_id, Resident.moved_away.is_(False))
    if chosen.street_id:
        query = query.where(Household.street_id == chosen.street_id)
    for word in fold(chosen.q).split():
        query = query.where(or_(Resident.name_key.contains(word, autoescape=True),
                                Household.address_key.contains(word, autoescape=True)))
    found = db.session.scalars(query.options(WITH_ADDRESS).order_by(Street.position, Street.name, Household.sort_key, Resident.id)
                               .limit(CANDIDATES_SHOWN + 1)).all()
    return found[:CANDIDATES_SHOWN], len(found) > CANDIDATES_SHOWN


@bp.get("/<int:session_id>")
@login_required
def page(session_id: int):
    """The session with its attendees, and residents to add: a street may be chosen in the address (an id); a
    search by name comes only in a POST (add_attendees), so no resident's name is put in an address or a log."""
    chosen = Filter.of(request.args)
    chosen.q = ""
    return attendee_page(session_or_404(session_id), chosen)


def attendee_page(session: GroupSession, chosen: Filter):
    streets = db.session.scalars(select(Street).where(Street.khu_pho_id == session.khu_pho_id)
                                 .order_by(Street.position, Street.name)).all()
    if chosen.street_id not in {s.id for s in streets}:
        chosen.street_id = None
    shown, more = candidates(session, chosen)
    attendees = attendees_of(session)
    return render("group_sessions/page.html", session=session, kinds=KIND_LABELS, attendees=attendees,
                  attending={r.id for r in attendees}, candidates=shown, more=more, streets=streets,
                  chosen=chosen, form=PickForm(), shown_max=CANDIDATES_SHOWN)


def ticked(session: GroupSession) -> set[int]:
    """The resident ids ticked on the form; 404 unless every one lives in the session's khu phố (nothing changes)."""
    try:
        ids = {int(value) for value in request.form.getlist("resident_id")}
    except ValueError:
        abort(400)
    if ids:
        found = set(db.session.scalars(select(Resident.id).join(Household, Household.id == Resident.household_id)
                                       .where(Resident.id.in_(ids), Household.khu_pho_id == session.khu_pho_id)))
        if found != ids:
            abort(404)
    return ids


@bp.post("/<int:session_id>/attendees")
@login_required
def add_attendees(session_id: int):
    """Add the ticked residents (whichever button was pressed: filtering keeps what was ticked), then show the
    chosen street or search."""
    session = session_or_404(session_id)
    if not PickForm().validate_on_submit():
        abort(400)
    ids = ticked(session)
    moved_away = set(db.session.scalars(select(Resident.id).where(Resident.id.in_(ids), Resident.moved_away)))
    if moved_away:
        abort(404)  # never offered: a forged form
    added = attendance.add_attendees(session, ids, plan_items(), plan_rules())
    if added:
        db.session.commit()
        flash(_("Đã thêm %(n)s người tham dự.", n=added), "success")
    chosen = Filter.of(request.form)
    if request.form.get("do") == "filter" and chosen.q:
        return attendee_page(session, chosen)  # shown, not redirected: the search stays out of the address
    return see_other(url_for("group_sessions.page", session_id=session.id, street=chosen.street_id) + "#add")


@bp.post("/<int:session_id>/attendees/remove")
@login_required
def remove_attendees(session_id: int):
    session = session_or_404(session_id)
    if not PickForm().validate_on_submit():
        abort(400)
    ids = ticked(session)
    removed = attendance.remove_attendees(session, ids, plan_items(), plan_rules())
    if removed:
        db.session.commit()
        flash(_("Đã bỏ %(n)s người khỏi danh sách tham dự.", n=removed), "success")
    return see_other(url_for("group_sessions.page", session_id=session.id) + "#attendees")


# --- For the monthly report -------------------------------------------------------------------------

@dataclass
class SessionCounts:
    sessions: int = 0
    attendances: int = 0  # one per resident per session
    residents: int = 0  # different residents who attended at least one


def session_counts(ward_id: int, start: date, end: date) -> dict[int, SessionCounts]:
    """Sessions held from start to end (both included) per khu phố of the ward (every khu phố, zeros included)."""
    result = {place_id: SessionCounts() for place_id in db.session.scalars(
        select(KhuPho.id).where(KhuPho.ward_id == ward_id))}
    window = (GroupSession.khu_pho_id.in_(list(result)), GroupSession.held_on >= start, GroupSession.held_on <= end)
    for place_id, n in db.session.execute(select(GroupSession.khu_pho_id, func.count(GroupSession.id))
                                          .where(*window).group_by(GroupSession.khu_pho_id)):
        result[place_id].sessions = n
    people: dict = defaultdict(set)
    for place_id, resident_id in db.session.execute(
            select(GroupSession.khu_pho_id, GroupSessionAttendee.resident_id)
            .join(GroupSessionAttendee, GroupSessionAttendee.session_id == GroupSession.id).where(*window)):
        result[place_id].attendances += 1
        people[place_id].add(resident_id)
    for place_id, residents in people.items():
        result[place_id].residents = len(residents)
    return result
