"""Who may see what: a member and a leader see their team's khu phố, staff their ward, admin all.

Every view reaches data through these functions, so an id outside one's scope answers 404.
"""
from flask import abort, g
from flask_login import current_user
from sqlalchemy import Select, select

from .extensions import db
from .models import Household, KhuPho, Resident, Street, User


def khu_pho_ids(user: User) -> list[int] | None:
    """The khu phố the user may see, or None for every one (admin); read once per request and user."""
    key = (user.id, user.role, user.team_id, user.ward_id)
    cache = g.setdefault("khu_pho_ids", {})
    if key not in cache:
        cache[key] = _khu_pho_ids(user)
    return cache[key]


def _khu_pho_ids(user: User) -> list[int] | None:
    if user.role == "admin":
        return None
    if user.role == "staff":
        return list(db.session.scalars(select(KhuPho.id).where(KhuPho.ward_id == user.ward_id)))
    if user.team_id is None:
        return []
    return [user.team.khu_pho_id if user.team else None]  # the team comes with the user (auth.load_user)


def scoped(query: Select, column) -> Select:
    """Limit a query to the current user's khu phố through the given khu_pho_id column."""
    allowed = khu_pho_ids(current_user)
    return query if allowed is None else query.where(column.in_(allowed))


def _one_or_404(query: Select):
    found = db.session.scalar(query)
    if found is None:
        abort(404)
    return found


def household_or_404(household_id: int, *options) -> Household:
    """options: loader options (what the page shows besides the household, read in the same query)."""
    return _one_or_404(scoped(select(Household).options(*options).where(Household.id == household_id),
                              Household.khu_pho_id))


def street_or_404(street_id: int, *options) -> Street:
    return _one_or_404(scoped(select(Street).options(*options).where(Street.id == street_id), Street.khu_pho_id))


def resident_or_404(resident_id: int) -> Resident:
    return _one_or_404(scoped(select(Resident).join(Household).where(Resident.id == resident_id),
                              Household.khu_pho_id))


def khu_pho_or_404(khu_pho_id: int) -> KhuPho:
    return _one_or_404(scoped(select(KhuPho).where(KhuPho.id == khu_pho_id), KhuPho.id))


def require_role(*roles: str) -> None:
    if current_user.role not in roles:
        abort(404)
