"""SQLite made safe for a phone that deletes a visit once the server says it has it."""
from contextvars import ContextVar

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

# Outside a request (CLI, tests) every transaction may write, so it takes the write lock up front.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


def configure_sqlite(app: Flask) -> None:
    """Set WAL, foreign keys, busy timeout and durable commits on every SQLite connection."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)

    @app.before_request
    def _mark_writes():
        # GETs only read: a deferred BEGIN lets them run beside a writer under WAL.
        write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Take transaction control from pysqlite so that BEGIN is ours to choose.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    # An acknowledged visit must survive a power cut: the phone has already dropped it.
    cursor.execute("PRAGMA synchronous=FULL")
    # A sync batch reads and writes a few thousand index pages: the default 2 MiB cache rereads them from the OS.
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # A write that starts deferred can fail with "database is locked" when it upgrades;
    # BEGIN IMMEDIATE waits for the lock at the start, inside the busy timeout, instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
