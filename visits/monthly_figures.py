"""The figures of a ward's monthly report: team, activity in the month, and the nine targets at the month's end.

A visit belongs to the report of the month it was made in (Vietnam time), unless it reached the server after
that report was sent: then it belongs to the next report not yet sent when it arrived, which counts it among
its activity and says how many such late visits it holds. The figures come out as plain JSON-ready data, so a
sent report keeps exactly what it sent (MonthlyReport.figures).
"""
from collections import Counter
from datetime import date, datetime

from sqlalchemy import case, func, literal, select

from .dashboard import MAIN_KEY, TRAINING_TARGET
from .extensions import db
from .models import (GroupSession, Household, KhuPho, MonthlyReport, NewsStory, Plan, Target, Visit, VisitAnswer,
                     Ward, utcnow)
from .month_end import (month_key, month_of, month_start_utc, next_month, sums_at_month_ends,
                        training_at_month_ends)

ACTIVITY = ("visits", "late_visits", "households", "residents", "sessions", "news")


def report_figures(ward: Ward, plan: Plan, month: date, khu_pho_ids: list[int] | None = None) -> dict:
    """The report's figures for the ward (or only these of its khu phố), as they stand now."""
    places = db.session.scalars(select(KhuPho).where(KhuPho.ward_id == ward.id).order_by(KhuPho.code)).all()
    if khu_pho_ids is not None:
        places = [p for p in places if p.id in khu_pho_ids]
    ids = [p.id for p in places]
    targets = db.session.scalars(select(Target).where(Target.plan_id == plan.id).order_by(Target.number)).all()
    sums = sums_at_month_ends(plan, [month], ids)[month]
    trained = training_at_month_ends([month], ids)[month]
    activity = month_activity(ward, month, ids)
    rows = []
    for place in places:
        rows.append(row(place.name, place.id, sums.get(place.id, Counter()), trained.get(place.id, (0, 0)),
                        activity.get(place.id, {}), targets))
    total_sums = sum((sums.get(i, Counter()) for i in ids), Counter())
    total_trained = tuple(sum(trained.get(i, (0, 0))[k] for i in ids) for k in (0, 1))
    total_activity = {key: sum(activity.get(i, {}).get(key, 0) for i in ids) for key in ACTIVITY}
    if khu_pho_ids is None:
        total_activity["news"] += activity.get(None, {}).get("news", 0)  # stories about the whole ward
    return {
        "month": month_key(month),
        "ward": {"id": ward.id, "name": ward.name, "province": ward.province},
        "plan": {"code": plan.code, "name": plan.name},
        "computed_at": utcnow().isoformat(timespec="seconds"),
        "targets": [{"number": t.number, "short": t.short, "threshold": t.threshold, "strive": t.strive}
                    for t in targets],
        "rows": rows,
        # A leader's part of the report has no ward total: it would only repeat their row.
        "total": row(ward.name, None, total_sums, total_trained, total_activity, targets) if khu_pho_ids is None
        else None,
    }


def row(name: str, khu_pho_id: int | None, sums: Counter, trained: tuple, activity: dict, targets) -> dict:
    figures = {}
    for target in targets:
        key = MAIN_KEY.get(target.number)
        if key:
            figures[str(target.number)] = [sums[f"{key}:num"], sums[f"{key}:den"]]
        elif target.number == TRAINING_TARGET:
            figures[str(target.number)] = list(trained)
    return {"name": name, "khu_pho_id": khu_pho_id, "members": trained[1], "trained": trained[0],
            "households_total": sums["visited:den"], "households_visited": sums["visited:num"],
            **{key: activity.get(key, 0) for key in ACTIVITY}, "targets": figures}


def month_activity(ward: Ward, month: date, khu_pho_ids: list[int]) -> dict:
    """Per khu phố (None: the ward's own news): visits, late visits, households met, residents helped,
    group sessions and news stories of the month."""
    start, end = month_start_utc(month), month_start_utc(next_month(month))
    late = late_visit_ids(ward, month, khu_pho_ids)
    in_month = (Visit.recorded_at >= start) & (Visit.recorded_at < end)
    counted = (in_month | Visit.id.in_(late)) if late else in_month
    is_late = case((Visit.id.in_(late), 1), else_=0) if late else literal(0)
    result: dict = {}
    for kp, visits, late_visits, households in db.session.execute(
            select(Household.khu_pho_id, func.count(Visit.id),
                   func.sum(is_late),
                   func.count(func.distinct(case((Visit.outcome == "met", Visit.household_id)))))
            .join(Household, Visit.household_id == Household.id)
            .where(counted, Household.khu_pho_id.in_(khu_pho_ids)).group_by(Household.khu_pho_id)):
        result[kp] = {"visits": visits, "late_visits": int(late_visits or 0), "households": households}
    for kp, residents in db.session.execute(
            select(Household.khu_pho_id, func.count(func.distinct(VisitAnswer.resident_id)))
            .join(Visit, VisitAnswer.visit_id == Visit.id).join(Household, Visit.household_id == Household.id)
            .where(counted, Household.khu_pho_id.in_(khu_pho_ids), VisitAnswer.kind == "item",
                   VisitAnswer.value == "done", VisitAnswer.resident_id.is_not(None))
            .group_by(Household.khu_pho_id)):
        result.setdefault(kp, {})["residents"] = residents
    last_day = next_month(month)
    for kp, sessions in db.session.execute(
            select(GroupSession.khu_pho_id, func.count(GroupSession.id))
            .where(GroupSession.khu_pho_id.in_(khu_pho_ids), GroupSession.held_on >= month,
                   GroupSession.held_on < last_day).group_by(GroupSession.khu_pho_id)):
        result.setdefault(kp, {})["sessions"] = sessions
    for kp, stories in db.session.execute(
            select(NewsStory.khu_pho_id, func.count(NewsStory.id))
            .where(NewsStory.ward_id == ward.id, NewsStory.posted_on >= month, NewsStory.posted_on < last_day)
            .group_by(NewsStory.khu_pho_id)):
        result.setdefault(kp, {})["news"] = stories
    return result


def late_visit_ids(ward: Ward, month: date, khu_pho_ids: list[int]) -> list[int]:
    """The visits of earlier months that reached the server after their month's report was sent, and belong to
    this month's report: the first report after their month that was not yet sent when they arrived."""
    sent = sent_times(ward, before=month)
    if not sent:
        return []
    earliest = min(sent)
    candidates = db.session.execute(
        select(Visit.id, Visit.recorded_at, Visit.received_at).join(Household, Visit.household_id == Household.id)
        .where(Household.khu_pho_id.in_(khu_pho_ids), Visit.recorded_at >= month_start_utc(earliest),
               Visit.recorded_at < month_start_utc(month), Visit.received_at > min(sent.values())))
    late = []
    for visit_id, recorded_at, received_at in candidates:
        belongs = month_of(recorded_at)
        while belongs < month and belongs in sent and sent[belongs] < received_at:
            belongs = next_month(belongs)
        if belongs == month and month_of(recorded_at) != month:
            late.append(visit_id)
    return late


def sent_times(ward: Ward, before: date) -> dict[date, datetime]:
    """When the ward's reports of the months before this one were sent."""
    rows = db.session.execute(select(MonthlyReport.month, MonthlyReport.sent_at).where(
        MonthlyReport.ward_id == ward.id, MonthlyReport.status == "da_gui", MonthlyReport.month < month_key(before)))
    return {date(int(m[:4]), int(m[5:7]), 1): at for m, at in rows if at is not None}


def only_khu_pho(figures: dict, khu_pho_id: int) -> dict:
    """A sent report's figures cut down to one khu phố's row, for its leader."""
    rows = [r for r in figures["rows"] if r["khu_pho_id"] == khu_pho_id]
    return {**figures, "rows": rows, "total": None}
