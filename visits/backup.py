"""Backups: `flask --app wsgi backup [FILE]` and `flask --app wsgi restore FILE [--force]`.

SQLite: the online backup API (sqlite3's Connection.backup) copies the database in one step under a read
transaction, so the copy is one moment of the database even while gunicorn goes on writing (WAL lets the writers
run beside it). PostgreSQL: pg_dump in its custom format, which reads everything in one repeatable-read
snapshot, and pg_restore; both must be on PATH (the PostgreSQL client tools of the server's major version).

A backup is checked after it is written, and again before it is restored: SQLite's integrity check, or
pg_restore's table of contents, and the schema's migration revision, which must be the code's head (restore a
backup with the version of the app that made it, then `flask db upgrade`). Restore replaces the whole database,
so it refuses a database that holds data unless --force is given. Stop the server before restoring.
"""
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url

from .extensions import db

bp = Blueprint("backup", __name__, cli_group=None)

DATA_TABLES = ("household", "visit", "app_user")  # a database with rows in any of these holds data worth keeping


class BackupError(click.ClickException):
    """A backup or restore that cannot go ahead; the message says why, and nothing was changed."""


@bp.cli.command("backup")
@click.argument("destination", required=False, type=click.Path(dir_okay=False, path_type=Path))
def backup_command(destination: Path | None) -> None:
    """Copy the database to FILE (default: instance/backups/visits-<UTC time>.sqlite or .dump)."""
    url = database_url()
    destination = destination or default_destination(url)
    if destination.exists():
        raise BackupError(f"Tệp {destination} đã có; hãy chọn tên khác.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        backup_sqlite(sqlite_path(url), destination)
    else:
        backup_postgres(url, destination)
    click.echo(f"Đã sao lưu cơ sở dữ liệu vào {destination} (phiên bản lược đồ {backup_revision(url, destination)}).")


@bp.cli.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Ghi đè cơ sở dữ liệu đang có dữ liệu.")
def restore_command(source: Path, force: bool) -> None:
    """Replace the database with the backup in FILE (stop the server first)."""
    url = database_url()
    revision = backup_revision(url, source)
    head = migrations_head()
    if revision != head:
        raise BackupError(f"Bản sao lưu ở phiên bản lược đồ {revision}, mã nguồn đang ở {head}: hãy khôi phục bằng "
                          "phiên bản ứng dụng đã tạo bản sao lưu, rồi chạy flask db upgrade.")
    if holds_data() and not force:
        raise BackupError("Cơ sở dữ liệu đang có dữ liệu; khôi phục sẽ thay thế toàn bộ. Dừng máy chủ, rồi chạy "
                          "lại với --force nếu chắc chắn.")
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        restore_sqlite(source, sqlite_path(url))
    else:
        restore_postgres(url, source)
    click.echo(f"Đã khôi phục cơ sở dữ liệu từ {source} (phiên bản lược đồ {revision}).")


# --- Where and what ------------------------------------------------------------------------------------------

def database_url() -> URL:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def default_destination(url: URL) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite" if url.get_backend_name() == "sqlite" else "dump"
    return Path(current_app.instance_path) / "backups" / f"visits-{stamp}.{suffix}"


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("Cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu được.")
    return Path(url.database)


def migrations_head() -> str:
    migrate = current_app.extensions["migrate"].migrate
    return ScriptDirectory.from_config(migrate.get_config()).get_current_head()


def holds_data() -> bool:
    tables = set(inspect(db.engine).get_table_names())
    with db.engine.connect() as connection:
        return any(connection.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first() is not None
                   for table in DATA_TABLES if table in tables)


def backup_revision(url: URL, path: Path) -> str:
    """The migration revision a backup holds, once the file is known to be a whole, readable backup."""
    if url.get_backend_name() == "sqlite":
        return sqlite_revision(path)
    return postgres_revision(path)


# --- SQLite ----------------------------------------------------------------------------------------------

def backup_sqlite(source: Path, destination: Path) -> None:
    """Copy a live database with the online backup API, to a temporary name first, then check it and rename."""
    if not source.exists():
        raise BackupError(f"Không có cơ sở dữ liệu {source} để sao lưu.")
    partial = destination.with_name(destination.name + ".partial")
    origin = sqlite3.connect(f"file:{source}?mode=rw", uri=True)  # never creates an empty database
    copy = sqlite3.connect(partial)
    try:
        origin.execute("PRAGMA busy_timeout=15000")
        origin.backup(copy)  # every page in one step: one read transaction, one moment of the database
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        copy.close()
        origin.close()
    try:
        sqlite_revision(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(destination)


def sqlite_revision(path: Path) -> str:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as problem:
        raise BackupError(f"{path} không mở được như một tệp SQLite: {problem}") from None
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchall()
        if verdict != [("ok",)]:
            raise BackupError(f"{path} hỏng: {verdict[0][0]}")
        return single_revision(connection.execute("SELECT version_num FROM alembic_version").fetchall(), path)
    except sqlite3.DatabaseError as problem:
        raise BackupError(f"{path} không phải là bản sao lưu của ứng dụng: {problem}") from None
    finally:
        connection.close()


def restore_sqlite(source: Path, destination: Path) -> None:
    """Write the backup over the database through SQLite itself, so that its -wal and -shm stay in step."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    target = sqlite3.connect(destination)
    try:
        target.execute("PRAGMA busy_timeout=15000")
        origin.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
        verdict = target.execute("PRAGMA integrity_check").fetchall()
    finally:
        target.close()
        origin.close()
    if verdict != [("ok",)]:
        raise BackupError(f"Cơ sở dữ liệu sau khi khôi phục hỏng: {verdict[0][0]}")


def single_revision(rows: list, path: Path) -> str:
    if len(rows) != 1:
        raise BackupError(f"{path} không ghi một phiên bản lược đồ duy nhất ({len(rows)} dòng alembic_version).")
    return rows[0][0]


# --- PostgreSQL ------------------------------------------------------------------------------------------

def postgres_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"Không tìm thấy {name}: hãy cài công cụ PostgreSQL (gói postgresql-client).")
    return found


def libpq(url: URL) -> tuple[str, dict]:
    """The URL as pg_dump takes it, and an environment with the password (kept out of the process list)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def current_schema() -> str:
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT current_schema()")).scalar_one()


def backup_postgres(url: URL, destination: Path) -> None:
    """pg_dump --format=custom of the app's schema (the whole database when it lives in public)."""
    dsn, env = libpq(url)
    schema = current_schema()
    command = [postgres_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
               f"--file={destination}.partial"]
    if schema != "public":
        command.append(f"--schema={schema}")
    run(command + [dsn], env)
    partial = Path(f"{destination}.partial")
    try:
        postgres_revision(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(destination)


def postgres_revision(path: Path) -> str:
    """Read the backup's table of contents and its alembic_version row, without a database."""
    listing = subprocess.run([postgres_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"{path} không phải là bản sao lưu pg_dump (định dạng custom): "
                          f"{listing.stderr.strip()[:300]}")
    data = subprocess.run([postgres_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-",
                           str(path)], capture_output=True, text=True)
    block = re.search(r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n(.*?)^\\\.$", data.stdout,
                      re.MULTILINE | re.DOTALL)
    rows = [(line,) for line in block.group(1).splitlines()] if block else []
    return single_revision(rows, path)


def restore_postgres(url: URL, source: Path) -> None:
    """pg_restore --clean into the database (and schema) the backup came from, all in one transaction."""
    dsn, env = libpq(url)
    run([postgres_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
         "--single-transaction", "--exit-on-error", f"--dbname={dsn}", str(source)], env)


def run(command: list[str], env: dict) -> None:
    with tempfile.TemporaryFile() as errors:
        result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        if result.returncode != 0:
            errors.seek(0)
            raise BackupError(f"{Path(command[0]).name} thất bại: {errors.read().decode(errors='replace')[:500]}")
