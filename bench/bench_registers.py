"""Group sessions: the time to add and then remove 100 attendees of one khu phố in one request's work (each
settles the informed state of their households and the counters), on the demo ward drawn at 2,000 households."""
import tempfile
import time
from datetime import date

from bench import close, fresh_sqlite_app

ATTENDEES = 100


def session_attendees() -> list[tuple]:
    from sqlalchemy import select

    from visits import attendance, counters
    from visits.checklist import active_plan, plan_items, plan_rules
    from visits.demo_data import build_demo_ward
    from visits.extensions import db
    from visits.models import GroupSession, Household, KhuPho, Resident

    with tempfile.TemporaryDirectory() as directory:
        app = fresh_sqlite_app(directory)
        try:
            with app.app_context():
                build_demo_ward(households=2000)
                counters.recompute(active_plan())
                db.session.commit()
            with app.app_context():  # a new request's cache: recompute let go of every row, the plan's items too
                place = db.session.scalar(select(KhuPho).order_by(KhuPho.code))
                people = db.session.scalars(select(Resident.id).join(Household).where(
                    Household.khu_pho_id == place.id, Resident.moved_away.is_(False))
                    .order_by(Resident.id).limit(ATTENDEES)).all()
                session = GroupSession(khu_pho_id=place.id, held_on=date.today(), kind="hop_to_dan_pho",
                                       topic="Bench")
                db.session.add(session)
                db.session.commit()
                started = time.perf_counter()
                attendance.add_attendees(session, people, plan_items(), plan_rules())
                db.session.commit()
                added = time.perf_counter() - started
                started = time.perf_counter()
                attendance.remove_attendees(session, people, plan_items(), plan_rules())
                db.session.commit()
                removed = time.perf_counter() - started
        finally:
            close(app)
    return [("session_add_100_attendees_s", round(added, 3), "s"),
            ("session_remove_100_attendees_s", round(removed, 3), "s")]
