"""Who may shape a ward: staff their ward's khu phố, streets and teams (admin any ward); a leader the streets
of their own khu phố. Everything is reached through these functions, so an id outside one's scope is 404."""
from flask import Blueprint, abort
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import KhuPho, Street, Team, User, Ward
from ..scope import khu_pho_or_404, require_role, scoped, street_or_404

bp = Blueprint("manage", __name__, url_prefix="/manage")

PLACE_ROLES = ("staff", "admin")  # khu phố and teams
STREET_ROLES = ("leader", "staff", "admin")


def ward_or_404(ward_id: int) -> Ward:
    require_role(*PLACE_ROLES)
    if current_user.role == "staff" and ward_id != current_user.ward_id:
        abort(404)
    return db.get_or_404(Ward, ward_id)


def place_or_404(khu_pho_id: int) -> KhuPho:
    """A khu phố whose details and teams the user may change."""
    require_role(*PLACE_ROLES)
    return khu_pho_or_404(khu_pho_id)


def streets_of_or_404(khu_pho_id: int) -> KhuPho:
    """A khu phố whose streets the user may change: a leader's own, staff's ward's, any for admin."""
    require_role(*STREET_ROLES)
    return khu_pho_or_404(khu_pho_id)


def street_in_scope_or_404(street_id: int) -> Street:
    require_role(*STREET_ROLES)
    return street_or_404(street_id)


def team_or_404(team_id: int) -> Team:
    require_role(*PLACE_ROLES)
    team = db.session.scalar(scoped(select(Team).where(Team.id == team_id), Team.khu_pho_id))
    if team is None:
        abort(404)
    return team


def walkers(khu_pho_id: int) -> list[User]:
    """Who may be given a street of this khu phố: the active members and leaders of its teams."""
    return db.session.scalars(
        select(User).join(Team, User.team_id == Team.id)
        .where(Team.khu_pho_id == khu_pho_id, User.active, User.role.in_(("member", "leader")))
        .order_by(User.full_name, User.username)).all()
