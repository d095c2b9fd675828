"""The schema is made only by migrations, on SQLite and PostgreSQL alike, and matches the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from visits.extensions import db
from visits.plans import ensure_default_plan


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == []


def test_migrations_run_down_to_empty_and_up_again(app):
    with app.app_context():
        db.session.remove()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"household", "resident", "visit", "visit_answer", "item_state", "change", "app_user"} <= tables
        assert ensure_default_plan().code == "KH62-2024"
        db.session.commit()


def test_connections_are_durable_and_in_wal_or_utf8(app):
    with app.app_context():
        with db.engine.connect() as connection:
            if db.engine.dialect.name == "postgresql":
                assert connection.exec_driver_sql("SHOW server_encoding").scalar() == "UTF8"
                return
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("synchronous") == 2  # FULL
            assert pragma("busy_timeout") == 15000
