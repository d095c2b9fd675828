"""Test fixtures: every test that touches the database runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL.

The schema is made once per run and backend by the real migrations; each test then gets it empty
(SQLite: a copy of the migrated file; PostgreSQL: its own schema, truncated between tests).
"""
import os
import shutil
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from visits import create_app
from visits.config import normalise_database_url
from visits.extensions import db
from visits.plans import ensure_default_plan

pytest_plugins = ["tests.fixtures"]


def require(flag: str) -> bool:
    return os.environ.get(flag) == "1"


def base_config(url: str) -> dict:
    return {"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": url,
            "HTMX_CDN_URL": "", "RATELIMIT_LOGIN": "1000 per minute", "RATELIMIT_LOGIN_ACCOUNT": "1000 per minute",
            "RATELIMIT_STORAGE_URI": "memory://"}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    app = create_app(base_config(f"sqlite:///{path}"))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if require("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL to run these cases")
    url = normalise_database_url(url)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped_url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    app = create_app(base_config(scoped_url))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    yield scoped_url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_schema")
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"))]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def app_config() -> dict:
    """Settings a test module adds to the test app's (override this fixture in the module)."""
    return {}


@pytest.fixture
def app(database_url, app_config):
    app = create_app({**base_config(database_url), **app_config})
    with app.app_context():
        ensure_default_plan()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def pytest_sessionfinish(session, exitstatus):
    """Where CI requires the browser and PostgreSQL cases, a skipped test is a failed run."""
    if not (require("REQUIRE_BROWSER") or require("REQUIRE_POSTGRES")):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        print(f"\nREQUIRE_BROWSER/REQUIRE_POSTGRES is set and {skipped} test(s) skipped: failing the run.")
        session.exitstatus = 1
