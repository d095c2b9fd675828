"""The targets as they stood at the end of past months: one module for the monthly report and the trend charts.

The counters (visits/counters.py) hold the present: a visit made in March but synced in May is in them, and so
is everything since. A past month's figures are therefore counted again from the visits and changes recorded
(phone time) before the month's end, with the same indicators.contribution() the counters use, writing nothing.
Why not keep a snapshot of the counters at each month's end: a snapshot taken on the 1st misses the visits that
sync late (a phone a week without signal), needs a job that runs at midnight (there is none), and cannot be
made for months that passed before it was deployed; counting again gives the same answer whenever it is asked.

It stays cheap because a household with nothing recorded since a month's end contributes to it exactly what it
contributes now (its stored HouseholdContribution): only the households with a visit or change recorded after
the earliest month's end asked for are replayed, each only at the months where something of theirs happened, and
the rest come from the counters. The work grows with the visits since the first month asked for (a year's trend:
every visit of the year), not with the roster.
"""
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select

from . import counters
from .extensions import db
from .indicators import HouseholdView, PersonView, contribution, first_contact
from .models import (Change, Household, HouseholdContribution, Plan, Resident, Team, TrainingCompletion, User, Visit,
                     VisitAnswer)
from .state import FACT_DEFAULTS, FACT_FIELDS, age_rules, decode_fact

VN_OFFSET = timedelta(hours=7)  # times are stored in UTC; a month is counted in Vietnam's time


# --- Months ---------------------------------------------------------------------------------------------------

def parse_month(text: str) -> date | None:
    """The first day of a month written YYYY-MM, or None."""
    try:
        first = datetime.strptime(text or "", "%Y-%m").date()
    except ValueError:
        return None
    return first if 2000 <= first.year <= 2100 else None


def next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def month_key(first: date) -> str:
    return first.strftime("%Y-%m")


def month_start_utc(first: date) -> datetime:
    """The moment a month begins in Vietnam, as a UTC time like those stored."""
    return datetime(first.year, first.month, 1) - VN_OFFSET


def month_of(moment: datetime) -> date:
    """The month (its first day, in Vietnam's time) of a stored UTC time."""
    local = moment + VN_OFFSET
    return date(local.year, local.month, 1)


def months_between(first: date, last: date) -> list[date]:
    months = []
    while first <= last:
        months.append(first)
        first = next_month(first)
    return months


# --- Targets at month ends ------------------------------------------------------------------------------------

def sums_at_month_ends(plan: Plan, months: list[date], khu_pho_ids: list[int]) -> dict[date, dict[int, Counter]]:
    """Per month and khu phố, the indicator sums as they stood when the month ended (Vietnam time)."""
    months = sorted(months)
    if not months or not khu_pho_ids:
        return {m: {} for m in months}
    ends = [month_start_utc(next_month(m)) for m in months]
    touched = households_touched_since(ends[0], khu_pho_ids)
    base = {kp: Counter(vector) for (kp, _s), vector in counters.counts(plan, khu_pho_ids).items()}
    for household_id, vector in db.session.execute(select(HouseholdContribution.household_id,
                                                          HouseholdContribution.vector).where(
            HouseholdContribution.plan_id == plan.id, HouseholdContribution.household_id.in_(list(touched)))):
        base.setdefault(touched[household_id], Counter()).subtract(vector)
    # Each replayed household adds the change in its contribution at the months where it changed; the sums are
    # then the running total of those changes over the months, on top of what the others contribute now.
    deltas: list[dict[int, Counter]] = [defaultdict(Counter) for _m in months]
    rules = age_rules(plan)
    for history in histories(list(touched), plan.year):
        before = Counter()
        for i, end in enumerate(ends):
            if i and not history.changed_between(ends[i - 1], end):
                continue
            vector = history.contribution_at(end, rules)
            if vector != before:
                delta = Counter(vector)
                delta.subtract(before)
                deltas[i][history.khu_pho_id].update(delta)
                before = vector
    result, running = {}, {kp: Counter(v) for kp, v in base.items()}
    for month, delta in zip(months, deltas):
        for kp, change in delta.items():
            running.setdefault(kp, Counter()).update(change)
        result[month] = {kp: Counter({k: v for k, v in vector.items() if v}) for kp, vector in running.items()}
    return result


def households_touched_since(moment: datetime, khu_pho_ids: list[int]) -> dict[int, int]:
    """The households with a visit or change recorded at or after the moment: {household id: khu phố id}."""
    in_scope = Household.khu_pho_id.in_(khu_pho_ids)
    visited = select(Visit.household_id).where(Visit.recorded_at >= moment)
    changed = select(Change.household_id).where(Change.recorded_at >= moment, Change.household_id.is_not(None))
    return dict(db.session.execute(select(Household.id, Household.khu_pho_id).where(
        in_scope, or_(Household.id.in_(visited), Household.id.in_(changed), Household.created_at >= moment))).all())


class History:
    """Everything recorded about one household, to rebuild its contribution at any moment."""

    def __init__(self, khu_pho_id: int, is_business: bool, created_at: datetime, year: int):
        self.khu_pho_id, self.is_business, self.created_at, self.year = khu_pho_id, is_business, created_at, year
        self.residents: dict[int, tuple] = {}  # id -> (birth year, added at)
        self.visits: list[tuple[datetime, str]] = []
        self.items: list[tuple[tuple, int, str, str]] = []  # (rank, resident key, code, value)
        self.facts: list[tuple[tuple, int, str, str]] = []  # (rank, resident id, field, value)
        self.moments: list[datetime] = []

    def changed_between(self, start: datetime, end: datetime) -> bool:
        return any(start <= moment < end for moment in self.moments)

    def contribution_at(self, end: datetime, rules) -> Counter:
        """What the household added to the sums when the moment came: as counters.household_views sees it."""
        if self.created_at >= end:
            return Counter()
        answers, facts = {}, {}
        for rank, key, code, value in sorted(line for line in self.items if line[0][0] < end):
            answers[(key, code)] = value  # sorted by rank: the latest wins
        for rank, rid, name, value in sorted(line for line in self.facts if line[0][0] < end):
            facts[(rid, name)] = value
        visits = [v for v in self.visits if v[0] < end]
        first = first_contact(visits, self.year)
        baseline = defaultdict(dict)
        if first is not None:
            for rank, rid, name, value in sorted(line for line in self.facts if line[0] <= first):
                baseline[rid][name] = decode_fact(name, value)
        people = []
        for rid, (birth_year, added_at) in self.residents.items():
            if added_at >= end:
                continue
            now = {name: decode_fact(name, facts[(rid, name)]) if (rid, name) in facts else FACT_DEFAULTS[name]
                   for name in FACT_FIELDS}
            if now["moved_away"]:
                continue
            people.append(PersonView(rid, birth_year, now["phone_kind"], now["sim"], now["handset_2g_only"],
                                     now["has_epay"], baseline.get(rid, {})))
        return contribution(HouseholdView(self.is_business, bool(visits), people, answers), rules)


def histories(household_ids: list[int], year: int, chunk: int = 2000):
    """The histories of these households, a chunk at a time (a few queries per chunk)."""
    for start in range(0, len(household_ids), chunk):
        ids = household_ids[start:start + chunk]
        found = {row.id: History(row.khu_pho_id, row.is_business, row.created_at, year) for row in db.session.execute(
            select(Household.id, Household.khu_pho_id, Household.is_business, Household.created_at)
            .where(Household.id.in_(ids)))}
        added = {}
        for change in db.session.execute(select(Change.kind, Change.household_id, Change.resident_id,
                                                Change.recorded_at, Change.uuid, Change.payload)
                                         .where(Change.household_id.in_(ids))):
            history = found[change.household_id]
            history.moments.append(change.recorded_at)
            if change.kind == "household.add":
                history.created_at = change.recorded_at  # the list's date, not the day it was typed in
            if change.resident_id is None:
                continue
            if change.kind == "resident.add":
                added[change.resident_id] = change.recorded_at
            for name, value in (change.payload or {}).get("facts", {}).items():
                if value is not None and name in FACT_FIELDS:
                    history.facts.append(((change.recorded_at, change.uuid), change.resident_id, name, value))
        for rid, hid, birth_year, created_at in db.session.execute(
                select(Resident.id, Resident.household_id, Resident.birth_year, Resident.created_at)
                .where(Resident.household_id.in_(ids))):
            found[hid].residents[rid] = (birth_year, added.get(rid, created_at))
        for hid, at, uuid in db.session.execute(select(Visit.household_id, Visit.recorded_at, Visit.uuid)
                                                .where(Visit.household_id.in_(ids))):
            found[hid].visits.append((at, uuid))
            found[hid].moments.append(at)
        for hid, rid, kind, code, value, at, uuid in db.session.execute(
                select(Visit.household_id, VisitAnswer.resident_id, VisitAnswer.kind, VisitAnswer.code,
                       VisitAnswer.value, Visit.recorded_at, Visit.uuid)
                .join(Visit, VisitAnswer.visit_id == Visit.id).where(Visit.household_id.in_(ids))):
            if kind == "item":
                found[hid].items.append(((at, uuid), rid or 0, code, value))
            elif code in FACT_FIELDS:
                found[hid].facts.append(((at, uuid), rid, code, value))
        yield from found.values()


# --- Target 9 at month ends -----------------------------------------------------------------------------------

def training_at_month_ends(months: list[date], khu_pho_ids: list[int]) -> dict[date, dict[int, tuple[int, int]]]:
    """Per month and khu phố: (members who had finished the course by the month's last day, members then).

    Members are the active members and leaders of the khu phố's teams who joined before the month ended; who was
    deactivated when is not kept, so a member who left counts in no month.
    """
    first_done = dict(db.session.execute(select(TrainingCompletion.user_id, func.min(TrainingCompletion.completed_on))
                                         .group_by(TrainingCompletion.user_id)).all())
    people = db.session.execute(select(User.id, User.created_at, Team.khu_pho_id).join(Team, User.team_id == Team.id)
                                .where(User.active, User.role.in_(("member", "leader")),
                                       Team.khu_pho_id.in_(khu_pho_ids))).all()
    result = {}
    for month in months:
        end, last_day = month_start_utc(next_month(month)), next_month(month) - timedelta(days=1)
        counts: dict[int, list[int]] = {}
        for user_id, created_at, kp in people:
            if created_at >= end:
                continue
            count = counts.setdefault(kp, [0, 0])
            count[1] += 1
            done = first_done.get(user_id)
            count[0] += done is not None and done <= last_day
        result[month] = {kp: (c[0], c[1]) for kp, c in counts.items()}
    return result
