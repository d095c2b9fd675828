"""flask backup / restore: a backup taken while a member's phone keeps syncing restores whole and consistent,
and restore refuses what would lose data or is not a backup of this schema."""
import random
import sqlite3
import threading

from sqlalchemy import func, select

from visits import create_app
from visits.extensions import db
from visits.models import Household, Visit, VisitAnswer

from tests.conftest import base_config
from tests.fixtures import login
from tests.http.test_sync_api import (assert_counters_are_a_recompute, assert_state_is_a_recompute, statuses,
                                      token_of, uuids, visit)

ANSWERS_PER_VISIT = 3


class Writer(threading.Thread):
    """member1's phone, syncing batches of five visits one after the other until told to stop."""

    def __init__(self, app, area):
        super().__init__(daemon=True)
        self.client = app.test_client()
        assert login(self.client, "member1").status_code == 302
        self.token = token_of(self.client)
        self.u = uuids(app, area)
        self.rng = random.Random(7)
        self.batches, self.failure = 0, None
        self.changed = threading.Condition()
        self.stopping = threading.Event()

    def batch(self) -> list[dict]:
        u, pick = self.u, self.rng.choice
        return [visit(u["h12"], met=[u["cuong"]], answers=[
            {"resident": u["cuong"], "code": "vneid", "value": pick(("done", "later"))},
            {"resident": u["an"], "code": "epay", "value": pick(("had", "declined"))},
            {"resident": None, "code": "ecommerce_guide", "value": pick(("later", "done"))}]) for _ in range(5)]

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                response = self.client.post("/api/sync", json={"items": self.batch()},
                                            headers={"X-CSRFToken": self.token})
                assert set(statuses(response)) == {"accepted"}, response.get_json()
                with self.changed:
                    self.batches += 1
                    self.changed.notify_all()
        except Exception as problem:  # noqa: BLE001 - handed to the test, which fails with it
            self.failure = problem
            with self.changed:
                self.changed.notify_all()

    def wait_for(self, batches: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.batches >= batches or self.failure, timeout=120)
        assert self.failure is None, self.failure

    def finish(self) -> int:
        self.stopping.set()
        self.join(timeout=120)
        assert self.failure is None, self.failure
        return self.batches


def visit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Visit))


def assert_whole_and_consistent(app) -> int:
    """Every visit with all its answers, household states and target counters equal to a recompute; the visits."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA integrity_check").all() == [("ok",)]
        answers = dict(db.session.execute(select(VisitAnswer.visit_id, func.count())
                                          .group_by(VisitAnswer.visit_id)).all())
        visits = list(db.session.scalars(select(Visit.id)))
        assert visits and all(answers.get(v) == ANSWERS_PER_VISIT for v in visits)
        for household_id in db.session.scalars(select(Household.id)):
            assert_state_is_a_recompute(household_id)
        assert_counters_are_a_recompute()
        return len(visits)


def restored_app(database_url, tmp_path):
    """The app on the database a backup is restored into: a new SQLite file, or (PostgreSQL) the same schema,
    which pg_restore --clean replaces."""
    if database_url.startswith("sqlite"):
        return create_app(base_config(f"sqlite:///{tmp_path}/restored.sqlite")), []
    return create_app(base_config(database_url)), ["--force"]


def test_a_backup_taken_under_write_load_restores_whole_and_consistent(app, area, runner, database_url, tmp_path):
    writer = Writer(app, area)
    writer.start()
    writer.wait_for(batches=3)
    backup = runner.invoke(args=["backup", str(tmp_path / "backup")])
    taken_after = writer.batches
    writer.wait_for(batches=taken_after + 3)  # the phone went on syncing after the copy was made
    written = writer.finish() * 5
    assert backup.exit_code == 0, backup.output
    assert "Đã sao lưu" in backup.output

    target, force = restored_app(database_url, tmp_path)
    restore = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup"), *force])
    assert restore.exit_code == 0, restore.output
    restored = assert_whole_and_consistent(target)
    assert 3 * 5 <= restored <= taken_after * 5 < written  # one moment between the start and the end of the copy
    with target.app_context():
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_database_with_data_without_force(app, area, runner, tmp_path):
    assert runner.invoke(args=["backup", str(tmp_path / "backup")]).exit_code == 0
    client = app.test_client()
    login(client, "member1")
    u = uuids(app, area)
    assert statuses(client.post("/api/sync", json={"items": [visit(u["h12"])]},
                                headers={"X-CSRFToken": token_of(client)})) == ["accepted"]
    refused = runner.invoke(args=["restore", str(tmp_path / "backup")])
    assert refused.exit_code != 0 and "--force" in refused.output
    with app.app_context():
        assert visit_count() == 1  # nothing was replaced
    forced = runner.invoke(args=["restore", str(tmp_path / "backup"), "--force"])
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        db.session.remove()
        assert visit_count() == 0  # the backup's moment, before the visit


def test_restore_refuses_what_is_not_a_backup(app, area, runner, tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    refused = runner.invoke(args=["restore", str(junk), "--force"])
    assert refused.exit_code != 0
    assert "không phải là bản sao lưu" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Household)) == 6  # the area, untouched


def test_restore_refuses_a_backup_of_another_schema_version(sqlite_template, tmp_path):
    """The revision check is the same code on both databases; an edited backup is easiest made in SQLite."""
    source = create_app(base_config(f"sqlite:///{sqlite_template}"))
    assert source.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")]).exit_code == 0
    with sqlite3.connect(tmp_path / "backup") as edited:
        edited.execute("UPDATE alembic_version SET version_num = '000000000000'")
    target = create_app(base_config(f"sqlite:///{tmp_path}/new.sqlite"))
    refused = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert refused.exit_code != 0 and "000000000000" in refused.output and "flask db upgrade" in refused.output
    assert not (tmp_path / "new.sqlite").exists() or (tmp_path / "new.sqlite").stat().st_size == 0


def test_backup_does_not_overwrite_a_file(app, runner, tmp_path):
    existing = tmp_path / "kept"
    existing.write_text("an earlier backup")
    refused = runner.invoke(args=["backup", str(existing)])
    assert refused.exit_code != 0 and "đã có" in refused.output
    assert existing.read_text() == "an earlier backup"


def test_backup_of_a_missing_sqlite_database_refuses_and_creates_nothing(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path}/absent.sqlite"))
    refused = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
    assert refused.exit_code != 0 and "Không có cơ sở dữ liệu" in refused.output
    assert not (tmp_path / "absent.sqlite").exists() and not (tmp_path / "backup").exists()
