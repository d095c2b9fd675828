"""A khu phố's teams (one or more): staff add, rename, and delete one that has nobody in it."""
from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from ..extensions import db
from ..models import Team, User
from ..pages import see_other
from .access import bp, place_or_404, team_or_404
from .forms import ActionForm, TeamForm
from .khu_pho import khu_pho_page


def back_to(team: Team) -> str:
    return url_for("manage.khu_pho", khu_pho_id=team.khu_pho_id) + "#teams"


@bp.post("/khu-pho/<int:khu_pho_id>/teams")
@login_required
def create_team(khu_pho_id: int):
    place = place_or_404(khu_pho_id)
    form = TeamForm()
    if not form.validate_on_submit():
        return khu_pho_page(place, 400, team_form=form)
    team = Team(khu_pho_id=place.id, name=form.name.data)
    db.session.add(team)
    db.session.commit()
    flash(_("Đã tạo %(name)s. Thêm thành viên ở trang Thành viên.", name=team.name), "success")
    return see_other(back_to(team))


@bp.post("/teams/<int:team_id>")
@login_required
def rename_team(team_id: int):
    team = team_or_404(team_id)
    form = TeamForm()
    if not form.validate_on_submit():
        return khu_pho_page(team.khu_pho, 400, retry={("team", team.id): form})
    team.name = form.name.data
    db.session.commit()
    flash(_("Đã đổi tên thành %(name)s.", name=team.name), "success")
    return see_other(back_to(team))


@bp.post("/teams/<int:team_id>/delete")
@login_required
def delete_team(team_id: int):
    team = team_or_404(team_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    people = db.session.scalar(select(func.count(User.id)).where(User.team_id == team.id))
    if people:
        flash(_("Không xóa được %(name)s: tổ còn %(n)s thành viên (kể cả tài khoản đã khóa). "
                "Hãy chuyển họ sang tổ khác trước.", name=team.name, n=people), "error")
        return see_other(back_to(team))
    back, name = back_to(team), team.name
    db.session.delete(team)
    db.session.commit()
    flash(_("Đã xóa %(name)s.", name=name), "success")
    return see_other(back)
