"""Admin: the wards (code, name, province) and each ward's staff accounts (create, lock, reset a password)."""
from flask import Blueprint, abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from .extensions import db
from .members import AccountForm, ActionForm, PasswordForm, end_sessions, reset_password
from .models import KhuPho, User, Ward
from .pages import render, see_other
from .passwords import hash_password
from .scope import require_role
from .text import nfc

bp = Blueprint("wards", __name__, url_prefix="/wards")


class WardForm(FlaskForm):
    code = StringField(_l("Mã phường"), validators=[DataRequired(_l("Hãy nhập mã phường.")), Length(
        max=20, message=_l("Mã phường dài tối đa 20 ký tự."))])
    name = StringField(_l("Tên phường"), validators=[DataRequired(_l("Hãy nhập tên phường.")), Length(
        max=120, message=_l("Tên phường dài tối đa 120 ký tự."))])
    province = StringField(_l("Tỉnh / thành phố"), validators=[Length(
        max=120, message=_l("Tên tỉnh dài tối đa 120 ký tự."))])

    def __init__(self, *args, ward: Ward | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ward = ward

    def validate_code(self, field) -> None:
        field.data = nfc(field.data)
        taken = db.session.scalar(select(Ward.id).where(Ward.code == field.data))
        if taken is not None and (self.ward is None or taken != self.ward.id):
            raise ValidationError(_l("Mã phường này đã có."))

    def fill(self, ward: Ward) -> None:
        ward.code, ward.name, ward.province = self.code.data, nfc(self.name.data), nfc(self.province.data)


def ward_or_404(ward_id: int) -> Ward:
    require_role("admin")
    return db.get_or_404(Ward, ward_id)


def list_page(form: WardForm, status: int = 200):
    rows = db.session.execute(select(Ward, func.count(KhuPho.id)).outerjoin(KhuPho, KhuPho.ward_id == Ward.id)
                              .group_by(Ward.id).order_by(Ward.name)).all()
    return render("wards/list.html", rows=rows, form=form, status=status)


@bp.get("/")
@login_required
def index():
    require_role("admin")
    return list_page(WardForm(formdata=None))


@bp.post("/")
@login_required
def create():
    require_role("admin")
    form = WardForm()
    if not form.validate_on_submit():
        return list_page(form, 400)
    ward = Ward()
    form.fill(ward)
    db.session.add(ward)
    db.session.commit()
    flash(_("Đã tạo %(name)s. Hãy tạo tài khoản cán bộ phường.", name=ward.name), "success")
    return see_other(url_for("wards.page", ward_id=ward.id))


def ward_page(ward: Ward, form: WardForm | None = None, staff_form: AccountForm | None = None, status=200):
    staff = db.session.scalars(select(User).where(User.ward_id == ward.id, User.role == "staff")
                               .order_by(User.full_name)).all()
    return render("wards/page.html", ward=ward, staff=staff, status=status, action=ActionForm(),
                  form=form or WardForm(formdata=None, obj=ward, ward=ward),
                  staff_form=staff_form or AccountForm(formdata=None))


@bp.get("/<int:ward_id>")
@login_required
def page(ward_id: int):
    return ward_page(ward_or_404(ward_id))


@bp.post("/<int:ward_id>")
@login_required
def edit(ward_id: int):
    ward = ward_or_404(ward_id)
    form = WardForm(ward=ward)
    if not form.validate_on_submit():
        return ward_page(ward, form=form, status=400)
    form.fill(ward)
    db.session.commit()
    flash(_("Đã lưu %(name)s.", name=ward.name), "success")
    return see_other(url_for("wards.page", ward_id=ward.id))


@bp.post("/<int:ward_id>/staff")
@login_required
def create_staff(ward_id: int):
    ward = ward_or_404(ward_id)
    form = AccountForm()
    if not form.validate_on_submit():
        return ward_page(ward, staff_form=form, status=400)
    person = User(username=form.username.data, full_name=form.full_name.data.strip(), role="staff",
                  ward_id=ward.id, password_hash=hash_password(form.password.data), active=True,
                  session_version=1)
    db.session.add(person)
    db.session.commit()
    flash(_("Đã tạo tài khoản cán bộ %(name)s cho %(ward)s.", name=person.full_name, ward=ward.name), "success")
    return see_other(url_for("wards.page", ward_id=ward.id) + "#staff")



def staff_or_404(ward: Ward, user_id: int) -> User:
    person = db.session.scalar(select(User).where(User.id == user_id, User.ward_id == ward.id,
                                                  User.role == "staff"))
    if person is None:
        abort(404)
    return person


@bp.post("/<int:ward_id>/staff/<int:user_id>/<any(deactivate, reactivate):change>")
@login_required
def lock_staff(ward_id: int, user_id: int, change: str):
    """Lock a staff account (its sessions end at once) or open it again."""
    ward = ward_or_404(ward_id)
    person = staff_or_404(ward, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    person.active = change == "reactivate"
    if not person.active:
        end_sessions(person)
    db.session.commit()
    flash(_("Đã mở lại tài khoản của %(name)s.", name=person.full_name) if person.active else
          _("Đã khóa tài khoản của %(name)s; mọi phiên đăng nhập đã kết thúc.", name=person.full_name), "success")
    return see_other(url_for("wards.page", ward_id=ward.id) + "#staff")


@bp.route("/<int:ward_id>/staff/<int:user_id>/password", methods=["GET", "POST"])
@login_required
def staff_password(ward_id: int, user_id: int):
    ward = ward_or_404(ward_id)
    person = staff_or_404(ward, user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        reset_password(person, form)
        return see_other(url_for("wards.page", ward_id=ward.id) + "#staff")
    return render("members/password.html", person=person, form=form, back=url_for("wards.page", ward_id=ward.id),
                  back_label=ward.name, status=400 if form.is_submitted() else 200)
