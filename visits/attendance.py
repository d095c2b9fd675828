"""Group sessions inform residents the way a visit answer does (target 7).

Each attendee of a session is a line of the derived state: item `dx_informed` answered "done", dated the end of
the session's day (Vietnam time) and carrying the session's UUID, so the usual latest-wins rule (state.beats)
settles it against visit answers: a visit recorded after that day wins over the session, and the other way round.
Because removing an attendee can take away the winning line, a household's informed rows are rebuilt from its
visit answers and its remaining attendance whenever a session touching it changes; recompute_household reads the
same lines, so the incremental state and a full rebuild agree.
"""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import delete, select

from .extensions import db
from .models import GroupSession, GroupSessionAttendee, Household, ItemState, Resident, Visit, VisitAnswer
from .state import Line, apply_line, lock_household, refresh_counters, refresh_household, states_of

INFORMED = "dx_informed"
ATTENDED = "done"
LOCAL_TIME = timezone(timedelta(hours=7))  # Vietnam time (no daylight saving); the database keeps naive UTC


def counted_at(held_on: date) -> datetime:
    """When a session's attendance stands in the latest-wins order: the last second of its day, Vietnam time."""
    local = datetime.combine(held_on, time(23, 59, 59), tzinfo=LOCAL_TIME)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def lines_of_attendance(household_id: int) -> list[Line]:
    """The informed lines every session gives the residents of this household."""
    rows = db.session.execute(
        select(GroupSessionAttendee.resident_id, GroupSession.held_on, GroupSession.uuid)
        .join(GroupSession, GroupSession.id == GroupSessionAttendee.session_id)
        .join(Resident, Resident.id == GroupSessionAttendee.resident_id)
        .where(Resident.household_id == household_id))
    return [Line(rid, "item", INFORMED, ATTENDED, counted_at(held_on), uuid) for rid, held_on, uuid in rows]


def lines_of_informed_answers(household_id: int) -> list[Line]:
    """The household's visit answers on the informed item, as lines."""
    rows = db.session.execute(
        select(VisitAnswer.resident_id, VisitAnswer.value, Visit.recorded_at, Visit.uuid)
        .join(Visit, Visit.id == VisitAnswer.visit_id)
        .where(Visit.household_id == household_id, VisitAnswer.kind == "item", VisitAnswer.code == INFORMED))
    return [Line(rid or 0, "item", INFORMED, value, at, uuid) for rid, value, at, uuid in rows]


def rebuild_informed(household_ids, items, rules) -> None:
    """Bring the informed state of these households up to date with their sessions, in the caller's transaction.

    Called after attendees are added or removed, a session's date changes, or a session is deleted (flushed first).
    """
    ids = sorted(set(household_ids))
    if not ids:
        return
    db.session.flush()
    for household in db.session.scalars(select(Household).where(Household.id.in_(ids)).order_by(Household.id)):
        lock_household(household)
        db.session.execute(delete(ItemState).where(ItemState.household_id == household.id,
                                                   ItemState.kind == "item", ItemState.code == INFORMED))
        states = states_of(household)
        for line in lines_of_informed_answers(household.id) + lines_of_attendance(household.id):
            apply_line(household, line, states)
        refresh_household(household, items, rules, states)
    refresh_counters(ids)


def households_of(resident_ids) -> set[int]:
    ids = list(resident_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(Resident.household_id).where(Resident.id.in_(ids))))


# --- Changing a session: each keeps the informed state and the counters in step, in the caller's transaction ---

def add_attendees(session: GroupSession, resident_ids, items, rules) -> int:
    """Add these residents (already checked to live in the session's khu phố); those already there count once."""
    new = set(resident_ids) - {a.resident_id for a in session.attendees}
    session.attendees.extend(GroupSessionAttendee(resident_id=rid) for rid in sorted(new))
    rebuild_informed(households_of(new), items, rules)
    return len(new)


def remove_attendees(session: GroupSession, resident_ids, items, rules) -> int:
    gone = [a for a in session.attendees if a.resident_id in set(resident_ids)]
    for attendee in gone:
        session.attendees.remove(attendee)
    rebuild_informed(households_of(a.resident_id for a in gone), items, rules)
    return len(gone)


def change_day(session: GroupSession, held_on: date, items, rules) -> None:
    """The day places the attendance in the latest-wins order, so the attendees' state is settled again."""
    if held_on == session.held_on:
        return
    session.held_on = held_on
    rebuild_informed(households_of(a.resident_id for a in session.attendees), items, rules)


def delete_session(session: GroupSession, items, rules) -> None:
    households = households_of(a.resident_id for a in session.attendees)
    db.session.delete(session)
    rebuild_informed(households, items, rules)
