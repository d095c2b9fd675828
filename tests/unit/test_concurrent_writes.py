"""Writers that read first and then write never meet "database is locked"."""
import uuid

from sqlalchemy import event, func, select

from visits.checklist import plan_items, plan_rules
from visits.extensions import db
from visits.models import Household, User, Visit, utcnow
from visits.recording import VisitInput, record_visit

from tests.fixtures import run_at_once


def test_parallel_visits_all_land(app, area):
    per_thread = 15

    def writer(member):
        for _ in range(per_thread):
            with app.test_request_context("/", method="POST"):
                app.preprocess_request()  # marks the request as a write: BEGIN IMMEDIATE on SQLite
                user = db.session.get(User, area[member])
                household = db.session.get(Household, area["h12"])
                record_visit(user, household, VisitInput(uuid=str(uuid.uuid4()), recorded_at=utcnow(),
                                                         outcome="met"), plan_items(), plan_rules())
                db.session.commit()
                db.session.remove()

    assert run_at_once(writer, [("member1",), ("member1b",), ("leader1",)]) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == 3 * per_thread


def test_posts_begin_immediate_and_gets_do_not(app, area):
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect != "sqlite":
        assert dialect == "postgresql"  # PostgreSQL takes row locks as it writes; nothing to choose
        return
    begins = []
    for method in ("GET", "POST"):
        with app.test_request_context("/", method=method):
            app.preprocess_request()
            listener = lambda conn, cursor, sql, *rest: begins.append((method, sql)) if sql.startswith("BEGIN") else None  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            db.session.scalar(select(func.count(Visit.id)))
            db.session.remove()
            event.remove(db.engine, "before_cursor_execute", listener)
    assert begins == [("GET", "BEGIN"), ("POST", "BEGIN IMMEDIATE")]
