"""The team leader's view: who walks which street, and what each member has done and has left."""
from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from .areas import street_progress, visited_count
from .extensions import db
from .models import Household, Street, Team, User, Visit
from .pages import render
from .scope import require_role, street_or_404

bp = Blueprint("team", __name__, url_prefix="/team")


def my_team() -> Team:
    require_role("leader")
    team = db.session.get(Team, current_user.team_id) if current_user.team_id else None
    if team is None:
        abort(404)
    return team


def team_members(team: Team) -> list[User]:
    return db.session.scalars(select(User).where(User.team_id == team.id, User.active)
                              .order_by(User.role.desc(), User.full_name)).all()


@bp.get("/")
@login_required
def overview():
    team = my_team()
    members = team_members(team)
    streets = street_progress(select(Street).where(Street.khu_pho_id == team.khu_pho_id))
    return render("team/overview.html", team=team, members=members, streets=streets,
                  activity=member_activity(team, members))


def member_activity(team: Team, members: list[User]) -> dict:
    """Per member: visits recorded, households visited, households and open items left on their streets."""
    visits = dict(db.session.execute(
        select(Visit.user_id, func.count(Visit.id)).where(Visit.user_id.in_([m.id for m in members]))
        .group_by(Visit.user_id)).all())
    on_streets = {row[0]: row[1:] for row in db.session.execute(
        select(Street.member_id, func.count(Household.id), visited_count(),
               func.coalesce(func.sum(Household.open_items), 0))
        .join(Household, Household.street_id == Street.id)
        .where(Street.khu_pho_id == team.khu_pho_id, Street.member_id.is_not(None))
        .group_by(Street.member_id)).all()}
    return {m.id: {"visits": visits.get(m.id, 0), "households": on_streets.get(m.id, (0, 0, 0))[0],
                   "visited": on_streets.get(m.id, (0, 0, 0))[1], "open_items": on_streets.get(m.id, (0, 0, 0))[2]}
            for m in members}


@bp.post("/streets/<int:street_id>/assign")
@login_required
def assign(street_id: int):
    """Give a street to a member of the team (htmx swaps the street's row)."""
    team = my_team()
    street = street_or_404(street_id)
    member_id = request.form.get("member_id", type=int)
    members = team_members(team)
    if member_id is not None and member_id not in {m.id for m in members}:
        abort(404)
    street.member_id = member_id
    db.session.commit()
    row = street_progress(select(Street).where(Street.id == street.id))[0]
    return render("team/overview.html", "team/_street_row.html", row=row, members=members, team=team,
                  streets=[row], activity=member_activity(team, members), flash_text=_("Đã giao đường."))


@bp.get("/members/<int:member_id>")
@login_required
def member(member_id: int):
    """What one member has visited and what is still open on their streets."""
    team = my_team()
    person = db.session.scalar(select(User).where(User.id == member_id, User.team_id == team.id))
    if person is None:
        abort(404)
    streets = street_progress(select(Street).where(Street.member_id == person.id))
    recent = db.session.scalars(select(Visit).where(Visit.user_id == person.id)
                                .order_by(Visit.recorded_at.desc()).limit(30)).all()
    open_households = db.session.scalars(
        select(Household).join(Street, Household.street_id == Street.id)
        .where(Street.member_id == person.id, (Household.status != "da_tham") | (Household.open_items > 0))
        .order_by(Street.position, Household.sort_key).limit(200)).all()
    return render("team/member.html", team=team, person=person, streets=streets, recent=recent,
                  open_households=open_households)
