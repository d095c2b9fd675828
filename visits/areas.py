"""Where a member walks: "Đường của tôi", a street in house order, the next household, search."""
from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.orm import Bundle

from . import fragments
from .extensions import db
from .models import Household, KhuPho, Resident, Street
from .pages import render
from .scope import khu_pho_ids, khu_pho_or_404, scoped, street_or_404
from .text import fold

bp = Blueprint("areas", __name__)
# Cached pieces and links of every page (base.html) and of the area lists (visits/fragments.py); registered by
# this blueprint because every app has it.
for part in (fragments.fixed_url, fragments.id_url, fragments.street_rows, fragments.household_rows,
             fragments.page_top, fragments.page_foot, fragments.page_scripts):
    bp.add_app_template_global(part)

LATER = ("hen_quay_lai", "khong_co_nha")


def visited_count():
    """How many of the joined households have been visited at least once (0 when there are none)."""
    return func.coalesce(func.sum(case((Household.status != "chua_tham", 1), else_=0)), 0)


def street_progress(query):
    """Streets with their household count and visited count, in walking order."""
    return db.session.execute(
        query.add_columns(func.count(Household.id), visited_count())
        .outerjoin(Household, Household.street_id == Street.id)
        .group_by(Street.id).order_by(Street.khu_pho_id, Street.position, Street.name)).all()


# "Đường của tôi": the member's streets, then the others of their khu phố, in one query built once (see scope.py);
# a street as the two columns a row shows (templates/areas/_rows.html), not an ORM object.
HOME_STREETS = select(Bundle("street", Street.id, Street.name), func.count(Household.id), visited_count(),
                      Street.member_id) \
    .outerjoin(Household, Household.street_id == Street.id) \
    .where(or_(Street.member_id == bindparam("user_id"), Street.khu_pho_id.in_(bindparam("allowed", expanding=True)))) \
    .group_by(Street.id).order_by(Street.khu_pho_id, Street.position, Street.name)


@bp.get("/")
@login_required
def home():
    if current_user.role in ("staff", "admin"):
        return khu_pho_list()
    user_id = current_user.id
    rows = db.session.execute(HOME_STREETS, {"user_id": user_id, "allowed": khu_pho_ids(current_user)}).all()
    mine = [(street, total, visited) for street, total, visited, member_id in rows if member_id == user_id]
    others = [(street, total, visited) for street, total, visited, member_id in rows if member_id != user_id]
    return render("areas/home.html", mine=mine, others=others)


def khu_pho_list():
    rows = db.session.execute(
        scoped(select(KhuPho), KhuPho.id).add_columns(func.count(Household.id), visited_count())
        .outerjoin(Household, Household.khu_pho_id == KhuPho.id).group_by(KhuPho.id).order_by(KhuPho.code)).all()
    return render("areas/khu_pho_list.html", rows=rows)


@bp.get("/khu-pho/<int:khu_pho_id>")
@login_required
def khu_pho(khu_pho_id: int):
    place = khu_pho_or_404(khu_pho_id)
    streets = street_progress(select(Street).where(Street.khu_pho_id == place.id))
    return render("areas/khu_pho.html", place=place, streets=streets)


# A street's households in walking order; True: only those with something left to do. Only the columns a row
# shows (templates/areas/_rows.html): fifty ORM objects a page cost more than the rest of the query.
_IN_STREET = select(Household.id, Household.status, Household.is_business, Household.open_items,
                    Household.house_number, Household.head_name) \
    .where(Household.street_id == bindparam("street_id")) \
    .order_by(Household.sort_key, Household.id)
STREET_HOUSEHOLDS = {False: _IN_STREET,
                     True: _IN_STREET.where(or_(Household.status != "da_tham", Household.open_items > 0))}


@bp.get("/streets/<int:street_id>")
@login_required
def street(street_id: int):
    place = street_or_404(street_id, with_khu_pho=True)
    only_open = request.args.get("open") == "1"
    households = db.session.execute(STREET_HOUSEHOLDS[only_open], {"street_id": place.id}).all()
    return render("areas/street.html", "areas/_household_list.html", street=place, households=households,
                  only_open=only_open)


@bp.get("/streets/<int:street_id>/next")
@login_required
def next_household(street_id: int):
    """The next door of the round: unvisited first in street order, then those to come back to."""
    place = street_or_404(street_id)
    after = request.args.get("after", type=int)
    households = db.session.execute(
        select(Household.id, Household.status).where(Household.street_id == place.id)
        .order_by(Household.sort_key, Household.id)).all()
    chosen = pick_next(households, after)
    if chosen is None:
        flash(_("Đã đi hết các hộ của %(street)s.", street=place.name), "success")
        return redirect(url_for("areas.street", street_id=place.id))
    return redirect(url_for("households.page", household_id=chosen))


def pick_next(households: list, after: int | None) -> int | None:
    """Households as (id, status) in street order; the one to visit after `after`."""
    ids = [h for h, _status in households]
    start = ids.index(after) + 1 if after in ids else 0
    rotated = households[start:] + households[:start]
    for wanted in (("chua_tham",), LATER):
        for household_id, status in rotated:
            if status in wanted and household_id != after:
                return household_id
    return None


@bp.route("/search", methods=["GET", "POST"])
@login_required
def search():
    """Find a household or a resident by name or address, with or without diacritics.

    The words come in a POST body, never in the query string: a name must not travel in a URL.
    """
    query = request.form.get("q", "") if request.method == "POST" else ""
    words = fold(query).split()
    households, residents = [], []
    if words:
        household_query = scoped(select(Household), Household.khu_pho_id)
        resident_query = scoped(select(Resident).join(Household), Household.khu_pho_id).where(
            Resident.moved_away.is_(False))
        for word in words:
            household_query = household_query.where(Household.address_key.contains(word, autoescape=True))
            resident_query = resident_query.where(Resident.name_key.contains(word, autoescape=True))
        households = db.session.scalars(household_query.order_by(Household.sort_key).limit(20)).all()
        residents = db.session.scalars(resident_query.order_by(Resident.name_key).limit(20)).all()
    return render("areas/search.html", "areas/_search_results.html", q=query,
                  households=households, residents=residents, searched=bool(words))


__all__ = ["bp", "pick_next", "khu_pho_ids"]
