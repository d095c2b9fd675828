"""Rate-limit counts in a SQLite file, so every gunicorn worker on the machine counts the same logins.

The in-memory storage counts per process: with two workers an attacker gets twice the tries, and a restart
forgets them. Redis or memcached would share them too, but a fresh machine may have neither; this file needs
nothing but the instance folder. RATELIMIT_STORAGE_URI = "sqlitefile:///path/to/file.sqlite" selects it
(the default, in instance/); "redis://…" or "memcached://…" still work for several machines.

Only the fixed-window strategy (Flask-Limiter's default) is supported: one row per key, a count and the
moment the window ends. Each hit is one statement in its own transaction, so counts never go missing
between workers.
"""
import os
import sqlite3
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from limits.storage import Storage

_SCHEMA = "CREATE TABLE IF NOT EXISTS counter (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
# A hit in a window that has ended starts a new window; otherwise it adds to the count.
_HIT = """
INSERT INTO counter (key, count, expires) VALUES (:key, :amount, :now + :expiry)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN counter.expires <= :now THEN :amount ELSE counter.count + :amount END,
    expires = CASE WHEN counter.expires <= :now THEN :now + :expiry ELSE counter.expires END
RETURNING count
"""
PURGE_EVERY = 3600  # seconds


class SQLiteFileStorage(Storage):
    STORAGE_SCHEME = ["sqlitefile"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        self.path = urlsplit(uri).path if uri else ""
        if not self.path:
            raise ValueError("sqlitefile:// needs a file path, e.g. sqlitefile:///srv/app/instance/limits.sqlite")
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        self.purged = 0.0
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # kept in the file: readers never wait for a writer
            conn.execute(_SCHEMA)
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return sqlite3.Error

    @contextmanager
    def _connection(self):
        """A connection per call: opening a local SQLite file is cheap, and nothing crosses a thread or a fork."""
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    def _one(self, sql: str, parameters) -> tuple | None:
        with self._connection() as conn:
            return conn.execute(sql, parameters).fetchone()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._connection() as conn:
            if now - self.purged > PURGE_EVERY:  # windows that ended stay in the file until then
                conn.execute("DELETE FROM counter WHERE expires <= ?", (now,))
                self.purged = now
            # fetchall: the statement runs to its end, so its autocommit transaction ends before the close
            [row] = conn.execute(_HIT, {"key": key, "amount": amount, "now": now, "expiry": expiry}).fetchall()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._one("SELECT count FROM counter WHERE key = ? AND expires > ?", (key, time.time()))
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._one("SELECT expires FROM counter WHERE key = ? AND expires > ?", (key, time.time()))
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._one("SELECT 1", ())
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with self._connection() as conn:
            return conn.execute("DELETE FROM counter").rowcount

    def clear(self, key: str) -> None:
        with self._connection() as conn:
            conn.execute("DELETE FROM counter WHERE key = ?", (key,))
