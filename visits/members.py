"""Managing the team's members: staff for their ward's teams, a leader for the members of their own team.

Every action is a POST with a CSRF token; a person or team outside one's scope answers 404 and nothing changes.
Deactivating a member or resetting their password bumps session_version, which ends their sessions at once.
"""
import re

from flask import Blueprint, abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from .extensions import db
from .models import KhuPho, Team, User
from .pages import render, see_other
from .passwords import hash_password, new_password
from .scope import require_role

bp = Blueprint("members", __name__, url_prefix="/members")

MANAGER_ROLES = ("leader", "staff")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")


class AccountForm(FlaskForm):
    """A new account of any role: also used for staff (visits/wards.py) and the first admin (visits/setup.py)."""
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(_l("Hãy nhập tên đăng nhập.")),
                                                            Length(max=80)])
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(_l("Hãy nhập họ tên.")), Length(max=160)])
    password = PasswordField(_l("Mật khẩu ban đầu"), validators=[new_password])

    def validate_username(self, field) -> None:
        field.data = (field.data or "").strip().lower()
        if not USERNAME.match(field.data):
            raise ValidationError(_l("Tên đăng nhập chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang; "
                                     "từ 3 ký tự."))
        if db.session.scalar(select(User.id).where(User.username == field.data)) is not None:
            raise ValidationError(_l("Tên đăng nhập này đã có người dùng."))


class MemberForm(AccountForm):
    role = SelectField(_l("Vai trò"), validate_choice=False)
    team_id = SelectField(_l("Tổ"), coerce=int, validate_choice=False)

    def validate_role(self, field) -> None:
        if field.data not in {value for value, _label in self.role.choices}:
            raise ValidationError(_l("Vai trò này không được phép."))


class PasswordForm(FlaskForm):
    password = PasswordField(_l("Mật khẩu mới"), validators=[new_password])


class MoveForm(FlaskForm):
    team_id = SelectField(_l("Chuyển sang tổ"), coerce=int, validate_choice=False)


class ActionForm(FlaskForm):
    """Only the CSRF token: deactivate and reactivate."""


def role_choices() -> list[tuple[str, str]]:
    if current_user.role == "staff":
        return [("member", _("Thành viên")), ("leader", _("Tổ trưởng"))]
    return [("member", _("Thành viên"))]


def managed_roles() -> tuple[str, ...]:
    return ("member", "leader") if current_user.role == "staff" else ("member",)


def teams_in_scope() -> list[Team]:
    """Staff: every team of their ward; a leader: their own team."""
    require_role(*MANAGER_ROLES)
    if current_user.role == "staff":
        return db.session.scalars(select(Team).join(KhuPho, Team.khu_pho_id == KhuPho.id)
                                  .where(KhuPho.ward_id == current_user.ward_id)
                                  .order_by(KhuPho.code, Team.name)).all()
    if current_user.team_id is None:
        return []
    return db.session.scalars(select(Team).where(Team.id == current_user.team_id)).all()


def team_or_404(team_id: int | None) -> Team:
    for team in teams_in_scope():
        if team.id == team_id:
            return team
    abort(404)


def member_or_404(user_id: int) -> User:
    """A member (or, for staff, a leader) of a team in scope; never oneself, staff or admin."""
    team_ids = [t.id for t in teams_in_scope()]
    person = db.session.scalar(select(User).where(User.id == user_id, User.team_id.in_(team_ids),
                                                  User.role.in_(managed_roles()), User.id != current_user.id))
    if person is None:
        abort(404)
    return person


def roster(teams: list[Team]) -> list[tuple[Team, list[User]]]:
    people = db.session.scalars(select(User).where(User.team_id.in_([t.id for t in teams]),
                                                   User.role.in_(("member", "leader")))
                                .order_by(User.active.desc(), User.role.desc(), User.full_name)).all()
    return [(team, [p for p in people if p.team_id == team.id]) for team in teams]


def new_member_form() -> MemberForm:
    form = MemberForm()
    form.role.choices = role_choices()
    form.team_id.choices = [(t.id, f"{t.name} — {t.khu_pho.name}") for t in teams_in_scope()]
    return form


def list_page(form: MemberForm, status: int = 200):
    teams = teams_in_scope()
    return render("members/list.html", teams=roster(teams), form=form, action=ActionForm(),
                  move_choices=[(t.id, t.name) for t in teams], can_move=current_user.role == "staff",
                  managed=managed_roles(), status=status)


@bp.get("/")
@login_required
def index():
    return list_page(new_member_form())


@bp.post("/new")
@login_required
def create():
    form = new_member_form()
    if form.is_submitted():
        team_or_404(form.team_id.data)  # an id outside one's scope is 404, like everywhere
    if not form.validate_on_submit():
        return list_page(form, 400)
    person = User(username=form.username.data, full_name=form.full_name.data.strip(), role=form.role.data,
                  team_id=form.team_id.data, ward_id=team_or_404(form.team_id.data).khu_pho.ward_id,
                  password_hash=hash_password(form.password.data), active=True, session_version=1)
    db.session.add(person)
    db.session.commit()
    flash(_("Đã thêm %(name)s.", name=person.full_name), "success")
    return see_other(url_for("members.index"))


def end_sessions(person: User) -> None:
    person.session_version = (person.session_version or 1) + 1


def reset_password(person: User, form: "PasswordForm") -> None:
    """A leader, staff or admin sets a new password: every session of that person ends at once (a lost phone)."""
    person.password_hash = hash_password(form.password.data)
    end_sessions(person)
    db.session.commit()
    flash(_("Đã đặt lại mật khẩu của %(name)s; các phiên đăng nhập cũ đã kết thúc.", name=person.full_name),
          "success")


@bp.post("/<int:user_id>/deactivate")
@login_required
def deactivate(user_id: int):
    person = member_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    person.active = False
    end_sessions(person)
    db.session.commit()
    flash(_("Đã khóa tài khoản của %(name)s; mọi phiên đăng nhập đã kết thúc.", name=person.full_name), "success")
    return see_other(url_for("members.index"))


@bp.post("/<int:user_id>/reactivate")
@login_required
def reactivate(user_id: int):
    person = member_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    person.active = True
    db.session.commit()
    flash(_("Đã mở lại tài khoản của %(name)s.", name=person.full_name), "success")
    return see_other(url_for("members.index"))


@bp.route("/<int:user_id>/password", methods=["GET", "POST"])
@login_required
def password(user_id: int):
    person = member_or_404(user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        reset_password(person, form)
        return see_other(url_for("members.index"))
    return render("members/password.html", person=person, form=form, status=400 if form.is_submitted() else 200)


@bp.post("/<int:user_id>/move")
@login_required
def move(user_id: int):
    require_role("staff")
    person = member_or_404(user_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    team = team_or_404(form.team_id.data)  # staff: only a team of their own ward
    person.team_id = team.id
    db.session.commit()
    flash(_("Đã chuyển %(name)s sang %(team)s.", name=person.full_name, team=team.name), "success")
    return see_other(url_for("members.index"))
