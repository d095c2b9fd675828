"""Who may see what: a member and a leader see their team's khu phố, staff their ward, admin all.

Every view reaches data through these functions, so an id outside one's scope answers 404.
"""
from flask import abort, g
from flask_login import current_user
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

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


def _by_id(entity, column, *options) -> dict:
    """The statements that read one row by id: for everyone (admin) and within a list of khu phố. Built once,
    so a request neither rebuilds them nor recomputes their cache key (SQLAlchemy memoises it per statement)."""
    query = select(entity).options(*options).where(entity.id == bindparam("id"))
    return {"all": query, "scoped": query.where(column.in_(bindparam("allowed", expanding=True)))}


def _one_or_404(statements: dict, row_id: int):
    allowed = khu_pho_ids(current_user)
    if allowed is None:
        result = db.session.execute(statements["all"], {"id": row_id})
    else:
        result = db.session.execute(statements["scoped"], {"id": row_id, "allowed": allowed})
    found = result.unique().scalar_one_or_none()  # unique(): a joined collection gives one row per resident
    if found is None:
        abort(404)
    return found


_HOUSEHOLD = {False: _by_id(Household, Household.khu_pho_id),
              True: _by_id(Household, Household.khu_pho_id, joinedload(Household.street),
                           joinedload(Household.residents))}
_STREET = {False: _by_id(Street, Street.khu_pho_id),
           True: _by_id(Street, Street.khu_pho_id, joinedload(Street.khu_pho))}
_RESIDENT = {"all": select(Resident).join(Household).where(Resident.id == bindparam("id"))}
_RESIDENT["scoped"] = _RESIDENT["all"].where(Household.khu_pho_id.in_(bindparam("allowed", expanding=True)))
_KHU_PHO = _by_id(KhuPho, KhuPho.id)


def household_or_404(household_id: int, for_page: bool = False) -> Household:
    """for_page: the household page shows its street and residents, read in the same query."""
    return _one_or_404(_HOUSEHOLD[for_page], household_id)


def street_or_404(street_id: int, with_khu_pho: bool = False) -> Street:
    return _one_or_404(_STREET[with_khu_pho], street_id)


def resident_or_404(resident_id: int) -> Resident:
    return _one_or_404(_RESIDENT, resident_id)


def khu_pho_or_404(khu_pho_id: int) -> KhuPho:
    return _one_or_404(_KHU_PHO, khu_pho_id)


def require_role(*roles: str) -> None:
    if current_user.role not in roles:
        abort(404)
