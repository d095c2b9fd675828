"""The streets of a khu phố: add, rename, put in walking order, give to a member, delete an empty one.

Staff do this for their ward, a leader for their own khu phố; each action answers with the khu phố page.
"""
from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import Household, IndicatorCount, Street
from ..pages import see_other
from ..text import address_key
from .access import bp, street_in_scope_or_404, streets_of_or_404, walkers
from .forms import ActionForm, AssignForm, MoveForm, StreetForm
from .khu_pho import khu_pho_page


def back_to(khu_pho_id: int, anchor: str = "") -> str:
    return url_for("manage.khu_pho", khu_pho_id=khu_pho_id) + anchor


def walking_order(khu_pho_id: int) -> list[Street]:
    return db.session.scalars(select(Street).where(Street.khu_pho_id == khu_pho_id)
                              .order_by(Street.position, Street.name, Street.id)).all()


@bp.post("/khu-pho/<int:khu_pho_id>/streets")
@login_required
def create_street(khu_pho_id: int):
    place = streets_of_or_404(khu_pho_id)
    form = StreetForm(khu_pho_id=place.id)
    if not form.validate_on_submit():
        return khu_pho_page(place, 400, street_form=form)
    last = db.session.scalar(select(func.max(Street.position)).where(Street.khu_pho_id == place.id)) or 0
    street = Street(khu_pho_id=place.id, name=form.name.data, position=last + 1)
    db.session.add(street)
    db.session.commit()
    flash(_("Đã thêm %(name)s.", name=street.name), "success")
    return see_other(back_to(place.id, f"#street-{street.id}"))


@bp.post("/streets/<int:street_id>")
@login_required
def rename_street(street_id: int):
    street = street_in_scope_or_404(street_id)
    form = StreetForm(khu_pho_id=street.khu_pho_id, street=street)
    if not form.validate_on_submit():
        return khu_pho_page(street.khu_pho, 400, retry={("street", street.id): form})
    street.name = form.name.data
    # Households keep their address key (what search and duplicate checks match) in step with the street.
    for household in db.session.scalars(select(Household).where(Household.street_id == street.id)):
        household.address_key = address_key(street.name, household.house_number)
    db.session.commit()
    flash(_("Đã đổi tên thành %(name)s.", name=street.name), "success")
    return see_other(back_to(street.khu_pho_id, f"#street-{street.id}"))


@bp.post("/streets/<int:street_id>/move")
@login_required
def move_street(street_id: int):
    """One step up or down the walking order; positions are renumbered 1…n so a step is always one place."""
    street = street_in_scope_or_404(street_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    streets = walking_order(street.khu_pho_id)
    at = streets.index(street)
    to = at - 1 if form.direction.data == "up" else at + 1
    if 0 <= to < len(streets):
        streets[at], streets[to] = streets[to], streets[at]
    for position, each in enumerate(streets, start=1):
        each.position = position
    db.session.commit()
    return see_other(back_to(street.khu_pho_id, f"#street-{street.id}"))


@bp.post("/streets/<int:street_id>/assign")
@login_required
def assign_street(street_id: int):
    street = street_in_scope_or_404(street_id)
    form = AssignForm()
    if not form.validate_on_submit():
        abort(400)
    people = {p.id: p for p in walkers(street.khu_pho_id)}
    if form.member_id.data is not None and form.member_id.data not in people:
        abort(404)  # not a member of this khu phố's teams
    street.member_id = form.member_id.data
    db.session.commit()
    if street.member_id is None:
        flash(_("%(street)s chưa giao cho ai.", street=street.name), "success")
    else:
        person = people[street.member_id]
        flash(_("Đã giao %(street)s cho %(name)s.", street=street.name, name=person.full_name or person.username),
              "success")
    return see_other(back_to(street.khu_pho_id, f"#street-{street.id}"))


@bp.post("/streets/<int:street_id>/delete")
@login_required
def delete_street(street_id: int):
    street = street_in_scope_or_404(street_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    households = db.session.scalar(select(func.count(Household.id)).where(Household.street_id == street.id))
    if households:
        flash(_("Không xóa được %(name)s: đường còn %(n)s hộ. Chỉ xóa được đường chưa có hộ nào.",
                name=street.name, n=households), "error")
        return see_other(back_to(street.khu_pho_id, f"#street-{street.id}"))
    place_id, name = street.khu_pho_id, street.name
    db.session.execute(delete(IndicatorCount).where(IndicatorCount.street_id == street.id))
    db.session.delete(street)
    db.session.commit()
    flash(_("Đã xóa %(name)s.", name=name), "success")
    return see_other(back_to(place_id, "#streets"))
