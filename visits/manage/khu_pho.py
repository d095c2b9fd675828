"""Staff shape their ward: create a khu phố, change its code and name, delete an empty one.

The khu phố page gathers its streets and teams; leaders see the streets part of their own khu phố only.
"""
from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..areas import street_progress
from ..extensions import db
from ..models import Household, IndicatorCount, KhuPho, KhuPhoContact, Street, Team, User
from ..pages import render, see_other
from .access import PLACE_ROLES, bp, place_or_404, streets_of_or_404, walkers, ward_or_404
from .forms import ActionForm, AssignForm, DeleteKhuPhoForm, KhuPhoForm, StreetForm, TeamForm


@bp.get("/")
@login_required
def index():
    """Each role's way in: staff their ward, admin the list of wards, a leader their khu phố."""
    if current_user.role == "staff" and current_user.ward_id:
        return redirect(url_for("manage.ward", ward_id=current_user.ward_id))
    if current_user.role == "admin":
        return redirect(url_for("wards.index"))
    if current_user.role == "leader" and current_user.team_id:
        return redirect(url_for("manage.khu_pho", khu_pho_id=current_user.team.khu_pho_id))
    abort(404)


def ward_page(ward, form: KhuPhoForm | None = None, status: int = 200):
    households = select(Household.khu_pho_id, func.count(Household.id).label("n")) \
        .group_by(Household.khu_pho_id).subquery()
    streets = select(Street.khu_pho_id, func.count(Street.id).label("n")).group_by(Street.khu_pho_id).subquery()
    teams = select(Team.khu_pho_id, func.count(Team.id).label("n")).group_by(Team.khu_pho_id).subquery()
    rows = db.session.execute(
        select(KhuPho, func.coalesce(streets.c.n, 0), func.coalesce(households.c.n, 0),
               func.coalesce(teams.c.n, 0))
        .outerjoin(streets, streets.c.khu_pho_id == KhuPho.id)
        .outerjoin(households, households.c.khu_pho_id == KhuPho.id)
        .outerjoin(teams, teams.c.khu_pho_id == KhuPho.id)
        .where(KhuPho.ward_id == ward.id).order_by(KhuPho.code)).all()
    return render("manage/ward.html", ward=ward, rows=rows, status=status,
                  form=form or KhuPhoForm(formdata=None, ward_id=ward.id))


@bp.get("/wards/<int:ward_id>")
@login_required
def ward(ward_id: int):
    return ward_page(ward_or_404(ward_id))


@bp.post("/wards/<int:ward_id>/khu-pho")
@login_required
def create_khu_pho(ward_id: int):
    place_ward = ward_or_404(ward_id)
    form = KhuPhoForm(ward_id=place_ward.id)
    if not form.validate_on_submit():
        return ward_page(place_ward, form, 400)
    place = KhuPho(ward_id=place_ward.id, code=form.code.data, name=form.name.data)
    db.session.add(place)
    db.session.commit()
    flash(_("Đã tạo %(name)s. Hãy thêm đường và tổ.", name=place.name), "success")
    return see_other(url_for("manage.khu_pho", khu_pho_id=place.id))


def khu_pho_page(place: KhuPho, status: int = 200, retry: dict | None = None, **forms):
    """The khu phố with its streets (to rename, reorder, give out, delete) and teams; `retry` holds the
    forms that failed, by ("street" | "team", id), so what was typed is shown back with its error."""
    can_shape = current_user.role in PLACE_ROLES
    teams = db.session.execute(
        select(Team, func.count(User.id)).outerjoin(User, User.team_id == Team.id)
        .where(Team.khu_pho_id == place.id).group_by(Team.id).order_by(Team.name)).all() if can_shape else []
    context = {
        "place": place, "can_shape": can_shape, "teams": teams, "retry": retry or {},
        "streets": street_progress(select(Street).where(Street.khu_pho_id == place.id)),
        "walkers": walkers(place.id), "action": ActionForm(), "assign": AssignForm(formdata=None),
        "delete_form": DeleteKhuPhoForm(formdata=None),
        "khu_pho_form": KhuPhoForm(formdata=None, obj=place, ward_id=place.ward_id, place=place),
        "street_form": StreetForm(formdata=None, khu_pho_id=place.id),
        "team_form": TeamForm(formdata=None, name=_("Tổ công nghệ số cộng đồng %(name)s", name=place.name)),
    }
    context.update(forms)
    return render("manage/khu_pho.html", status=status, **context)


@bp.get("/khu-pho/<int:khu_pho_id>")
@login_required
def khu_pho(khu_pho_id: int):
    return khu_pho_page(streets_of_or_404(khu_pho_id))


@bp.post("/khu-pho/<int:khu_pho_id>")
@login_required
def edit_khu_pho(khu_pho_id: int):
    place = place_or_404(khu_pho_id)
    form = KhuPhoForm(ward_id=place.ward_id, place=place)
    if not form.validate_on_submit():
        return khu_pho_page(place, 400, khu_pho_form=form)
    place.code, place.name = form.code.data, form.name.data
    db.session.commit()
    flash(_("Đã lưu %(name)s.", name=place.name), "success")
    return see_other(url_for("manage.khu_pho", khu_pho_id=place.id))


@bp.post("/khu-pho/<int:khu_pho_id>/delete")
@login_required
def delete_khu_pho(khu_pho_id: int):
    place = place_or_404(khu_pho_id)
    back = url_for("manage.khu_pho", khu_pho_id=place.id)
    if not DeleteKhuPhoForm().validate_on_submit():  # a missing CSRF token never gets here (CSRFProtect)
        flash(_("Chưa xóa %(name)s: hãy đánh dấu ô xác nhận rồi bấm xóa.", name=place.name), "error")
        return see_other(back + "#delete")
    households = db.session.scalar(select(func.count(Household.id)).where(Household.khu_pho_id == place.id))
    if households:
        flash(_("Không xóa được %(name)s: khu phố còn %(n)s hộ. Chỉ xóa được khu phố chưa có hộ nào.",
                name=place.name, n=households), "error")
        return see_other(back)
    people = db.session.scalar(select(func.count(User.id)).join(Team, User.team_id == Team.id)
                               .where(Team.khu_pho_id == place.id))
    if people:
        flash(_("Không xóa được %(name)s: các tổ của khu phố còn %(n)s thành viên (kể cả tài khoản đã khóa). "
                "Hãy chuyển họ sang tổ khác trước.", name=place.name, n=people), "error")
        return see_other(back)
    name, ward_id = place.name, place.ward_id
    if not remove_khu_pho(place):
        flash(_("Không xóa được %(name)s: khu phố đã có dữ liệu khác (yêu cầu hỗ trợ, buổi sinh hoạt, tin bài "
                "hoặc lượt quét mã). Có thể đổi tên thay vì xóa.", name=name), "error")
        return see_other(back)
    flash(_("Đã xóa %(name)s.", name=name), "success")
    return see_other(url_for("manage.ward", ward_id=ward_id))


def remove_khu_pho(place: KhuPho) -> bool:
    """Delete an empty khu phố with its empty streets and teams; False (nothing deleted) when other records
    still name it, which the foreign keys tell us on both databases."""
    try:
        for model in (IndicatorCount, KhuPhoContact, Street, Team):
            db.session.execute(delete(model).where(model.khu_pho_id == place.id))
        db.session.delete(place)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True
