"""The ward's dashboard: khu phố × the nine targets, read from the counters (its time does not grow with data)."""
from collections import Counter
from dataclasses import dataclass

from datetime import datetime, timedelta

from flask import Blueprint, abort, request
from flask_login import current_user, login_required
from sqlalchemy import case, exists, func, select

from . import counters, trend_chart
from .checklist import active_plan, plan_items
from .extensions import db
from .indicators import INDICATORS
from .models import (Household, HouseholdContribution, KhuPho, Street, Target, Team, TrainingCompletion, User, Visit,
                     VisitAnswer, utcnow)
from .pages import render
from .month_end import month_of, months_between
from .scope import khu_pho_ids, khu_pho_or_404

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

VN_OFFSET = timedelta(hours=7)  # visits are stored in UTC; a month is counted in Vietnam's time
MAIN_KEY = {i.target: i.key for i in INDICATORS if i.main}


@dataclass
class Cell:
    num: int
    den: int
    threshold: float
    strive: bool

    @property
    def share(self) -> float | None:
        return self.num / self.den if self.den else None

    @property
    def percent(self) -> str:
        return "—" if self.share is None else f"{int(self.share * 100 + 0.5)}%"  # half up, as people round

    @property
    def tone(self) -> str:
        """ok when the threshold is met; far below half way is bad; "phấn đấu" targets never fail."""
        if self.share is None:
            return "none"
        if self.share >= self.threshold:
            return "ok"
        return "progress" if self.strive or self.share >= self.threshold / 2 else "bad"

    @property
    def width(self) -> int:
        return 0 if self.share is None else min(100, int(round(self.share * 10)) * 10)


TRAINING_TARGET = 9


def cells(vector: Counter, targets: list[Target], trained: tuple[int, int] | None = None) -> dict[int, Cell]:
    """The cells of one row; trained (members with a completion, members) fills target 9 when given."""
    result = {}
    for target in targets:
        key = MAIN_KEY.get(target.number)
        if key:
            result[target.number] = Cell(vector[f"{key}:num"], vector[f"{key}:den"], target.threshold, target.strive)
        elif target.number == TRAINING_TARGET and trained is not None:
            result[target.number] = Cell(trained[0], trained[1], target.threshold, target.strive)
    return result


def training_counts(allowed: list[int] | None) -> dict[int, tuple[int, int]]:
    """Per khu phố: active members and leaders of its teams with at least one completion, and all of them."""
    has_completion = exists().where(TrainingCompletion.user_id == User.id)
    query = (select(Team.khu_pho_id, func.sum(case((has_completion, 1), else_=0)), func.count(User.id))
             .join(Team, User.team_id == Team.id)
             .where(User.active, User.role.in_(("member", "leader"))).group_by(Team.khu_pho_id))
    if allowed is not None:
        query = query.where(Team.khu_pho_id.in_(allowed))
    return {khu_pho_id: (int(num or 0), int(den)) for khu_pho_id, num, den in db.session.execute(query)}


def plan_targets(plan) -> list[Target]:
    return list(db.session.scalars(select(Target).where(Target.plan_id == plan.id).order_by(Target.number)))


def require_dashboard_role() -> None:
    if current_user.role not in ("leader", "staff", "admin"):
        abort(404)


@bp.get("/")
@login_required
def ward():
    """Khu phố × targets with the ward's total; a leader sees their own khu phố."""
    require_dashboard_role()
    plan = active_plan()
    targets = plan_targets(plan)
    allowed = khu_pho_ids(current_user)
    places = db.session.scalars((select(KhuPho) if allowed is None else select(KhuPho).where(KhuPho.id.in_(allowed)))
                                .order_by(KhuPho.ward_id, KhuPho.code)).all()
    sums = counters.counts(plan, allowed)
    trained = training_counts(allowed)
    total: Counter = Counter()
    trained_total = (0, 0)
    rows = []
    for place in places:
        vector = sums.get((place.id, 0), Counter())
        total.update(vector)
        place_trained = trained.get(place.id, (0, 0))
        trained_total = (trained_total[0] + place_trained[0], trained_total[1] + place_trained[1])
        rows.append((place, cells(vector, targets, place_trained), vector))
    return render("dashboard/ward.html", plan=plan, targets=targets, rows=rows,
                  total=cells(total, targets, trained_total), total_vector=total)


@bp.get("/khu-pho/<int:khu_pho_id>")
@login_required
def khu_pho(khu_pho_id: int):
    """One khu phố: per street, and per member through the streets they walk."""
    require_dashboard_role()
    place = khu_pho_or_404(khu_pho_id)
    plan = active_plan()
    targets = plan_targets(plan)
    streets = {s.id: s for s in db.session.scalars(select(Street).where(Street.khu_pho_id == place.id)
                                                   .order_by(Street.position, Street.name))}
    per_street = counters.counts(plan, [place.id], street_level=True)
    members = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(
        {s.member_id for s in streets.values() if s.member_id})))}
    trained_ids = set(db.session.scalars(select(TrainingCompletion.user_id).where(
        TrainingCompletion.user_id.in_(list(members)))))
    by_member: dict = {}
    street_rows = []
    for street in streets.values():
        vector = per_street.get((place.id, street.id), Counter())
        street_rows.append((street, cells(vector, targets), vector))
        by_member.setdefault(street.member_id, Counter()).update(vector)
    member_rows = [(members.get(mid), cells(vector, targets, (int(mid in trained_ids), 1) if mid else None), vector)
                   for mid, vector in by_member.items()]
    member_rows.sort(key=lambda row: (row[0] is None, row[0].full_name if row[0] else ""))
    total = counters.counts(plan, [place.id]).get((place.id, 0), Counter())
    trained = training_counts([place.id]).get(place.id, (0, 0))  # target 9 is the whole team's, not a street's
    return render("dashboard/khu_pho.html", plan=plan, place=place, targets=targets, street_rows=street_rows,
                  member_rows=member_rows, total=cells(total, targets, trained), total_vector=total,
                  open_targets=MAIN_KEY)


@bp.get("/khu-pho/<int:khu_pho_id>/target/<int:number>")
@login_required
def open_households(khu_pho_id: int, number: int):
    """The households of a khu phố still short on one target, with how many of theirs are still open."""
    require_dashboard_role()
    place = khu_pho_or_404(khu_pho_id)
    plan = active_plan()
    target = db.session.scalar(select(Target).where(Target.plan_id == plan.id, Target.number == number))
    key = MAIN_KEY.get(number)
    if target is None or key is None:
        abort(404)
    rows = db.session.execute(
        select(Household, HouseholdContribution.vector)
        .join(HouseholdContribution, HouseholdContribution.household_id == Household.id)
        .join(Street, Household.street_id == Street.id)
        .where(HouseholdContribution.plan_id == plan.id, Household.khu_pho_id == place.id)
        .order_by(Street.position, Street.name, Household.sort_key)).all()
    short = [(household, vector.get(f"{key}:den", 0) - vector.get(f"{key}:num", 0))
             for household, vector in rows if vector.get(f"{key}:num", 0) < vector.get(f"{key}:den", 0)]
    return render("dashboard/open.html", place=place, target=target, short=short)


@bp.get("/activity")
@login_required
def activity():
    """Team activity for a month: visits, households reached, residents helped per item — for rewards."""
    require_dashboard_role()
    month = request.args.get("month") or (utcnow() + VN_OFFSET).strftime("%Y-%m")
    try:
        start = datetime.strptime(month, "%Y-%m")
    except ValueError:
        abort(404)
    end = (start + timedelta(days=32)).replace(day=1)
    allowed = khu_pho_ids(current_user)
    in_scope = (Household.khu_pho_id.in_(allowed),) if allowed is not None else ()
    window = (Visit.recorded_at >= start - VN_OFFSET, Visit.recorded_at < end - VN_OFFSET)  # months in Vietnam's time
    per_member = db.session.execute(
        select(User, func.count(Visit.id), func.count(func.distinct(Visit.household_id)))
        .join(Visit, Visit.user_id == User.id).join(Household, Visit.household_id == Household.id)
        .where(*window, *in_scope).group_by(User.id).order_by(func.count(Visit.id).desc())).all()
    helped = db.session.execute(
        select(Visit.user_id, VisitAnswer.code, func.count(VisitAnswer.id))
        .join(Visit, VisitAnswer.visit_id == Visit.id).join(Household, Visit.household_id == Household.id)
        .where(*window, *in_scope, VisitAnswer.kind == "item", VisitAnswer.value == "done")
        .group_by(Visit.user_id, VisitAnswer.code)).all()
    done: dict = {}
    for user_id, code, count in helped:
        done.setdefault(user_id, {})[code] = count
    items = [i for i in plan_items() if any(i.code in d for d in done.values())]
    return render("dashboard/activity.html", month=month, rows=per_member, done=done, items=items,
                  previous=(start - timedelta(days=1)).strftime("%Y-%m"), following=end.strftime("%Y-%m"))


def plan_months(plan) -> list:
    """The plan year's months so far: January to this month, or the whole year once it is over."""
    first = datetime(plan.year, 1, 1).date()
    this_month = month_of(utcnow())
    return months_between(first, min(this_month, datetime(plan.year, 12, 1).date())) or [first]


@bp.get("/trend")
@login_required
def trend():
    """Each target's share at each month's end, as small charts; for the ward (one's scope) or one khu phố."""
    require_dashboard_role()
    place = khu_pho_or_404(request.args.get("khu_pho", type=int)) if request.args.get("khu_pho") else None
    allowed = khu_pho_ids(current_user)
    ids = [place.id] if place else (allowed if allowed is not None else list(db.session.scalars(select(KhuPho.id))))
    plan = active_plan()
    charts = trend_chart.charts(plan, plan_targets(plan), plan_months(plan), ids, MAIN_KEY, TRAINING_TARGET)
    return render("dashboard/trend.html", "dashboard/_trend.html", charts=charts, place=place, frame=trend_chart)
