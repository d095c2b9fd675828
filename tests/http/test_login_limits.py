"""Failed logins are limited per account and per address, with counts every gunicorn worker shares."""
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from visits import ratelimit_storage
from visits.ratelimit_storage import SQLiteFileStorage

from tests.fixtures import PASSWORD, csrf_token

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def limits_file(tmp_path):
    return tmp_path / "limits.sqlite"


@pytest.fixture
def app_config(limits_file):
    return {"RATELIMIT_STORAGE_URI": f"sqlitefile://{limits_file}", "RATELIMIT_LOGIN": "4 per minute",
            "RATELIMIT_LOGIN_ACCOUNT": "3 per 15 minutes"}


def attempt(client, username, password, address):
    token = csrf_token(client)
    return client.post("/login", environ_base={"REMOTE_ADDR": address},
                       data={"username": username, "password": password, "csrf_token": token})


def test_an_account_is_held_after_failures_from_many_addresses(app, area):
    for n in range(3):
        assert attempt(app.test_client(), "member1", "sai-mat-khau", f"10.0.0.{n}").status_code == 400
    held = attempt(app.test_client(), "member1", PASSWORD, "10.0.0.9")
    page = held.get_data(as_text=True)
    assert held.status_code == 429 and "Quá nhiều lần đăng nhập sai vào tài khoản này" in page
    assert "nhờ tổ trưởng" in page
    assert attempt(app.test_client(), "member2", PASSWORD, "10.0.0.9").status_code == 302  # others go on


def test_the_account_is_the_same_however_its_name_is_typed(app, area):
    for typed in ("member1", "Member1", " MEMBER1 "):
        assert attempt(app.test_client(), typed, "sai-mat-khau", "10.0.0.1").status_code == 400
    assert attempt(app.test_client(), "member1", PASSWORD, "10.0.0.2").status_code == 429


def test_an_address_is_held_after_failures_on_many_accounts(app, area):
    for name in ("member1", "member2", "leader1", "leader2"):
        assert attempt(app.test_client(), name, "sai-mat-khau", "10.0.0.5").status_code == 400
    held = attempt(app.test_client(), "staff", PASSWORD, "10.0.0.5")
    assert held.status_code == 429 and "Quá nhiều lần đăng nhập sai từ máy này" in held.get_data(as_text=True)
    assert attempt(app.test_client(), "staff", PASSWORD, "10.0.0.6").status_code == 302


def test_successful_logins_do_not_count(app, area):
    for _ in range(6):  # a ward office full of members logging in on one address
        assert attempt(app.test_client(), "member1", PASSWORD, "10.0.0.7").status_code == 302


def test_two_processes_share_the_counts(app, area, limits_file):
    """Another process (another gunicorn worker) fails three times; this one then holds the account."""
    child = textwrap.dedent(f"""
        from visits import create_app
        from tests.conftest import base_config
        from tests.fixtures import csrf_token
        app = create_app({{**base_config({app.config["SQLALCHEMY_DATABASE_URI"]!r}),
                          "RATELIMIT_STORAGE_URI": {app.config["RATELIMIT_STORAGE_URI"]!r},
                          "RATELIMIT_LOGIN_ACCOUNT": "3 per 15 minutes"}})
        for n in range(3):
            client = app.test_client()
            token = csrf_token(client)
            status = client.post("/login", environ_base={{"REMOTE_ADDR": f"10.1.0.{{n}}"}},
                                 data={{"username": "member1", "password": "sai", "csrf_token": token}}).status_code
            assert status == 400, status
    """)
    done = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert limits_file.exists()
    assert attempt(app.test_client(), "member1", PASSWORD, "10.2.0.1").status_code == 429


class FakeTime(types.SimpleNamespace):
    def time(self):
        return self.now


def test_the_file_storage_counts_in_fixed_windows(tmp_path, monkeypatch):
    clock = FakeTime(now=1000.0)
    monkeypatch.setattr(ratelimit_storage, "time", clock)
    one = SQLiteFileStorage(f"sqlitefile://{tmp_path / 'l.sqlite'}")
    two = SQLiteFileStorage(f"sqlitefile://{tmp_path / 'l.sqlite'}")  # another worker's
    assert one.incr("k", 60) == 1 and two.incr("k", 60) == 2 and one.get("k") == 2
    assert two.get_expiry("k") == 1060.0
    clock.now = 1059.0
    assert two.incr("k", 60, amount=2) == 4
    clock.now = 1060.0  # the window ended: the next hit starts a new one
    assert one.get("k") == 0 and one.incr("k", 60) == 1 and two.get_expiry("k") == 1120.0
    one.clear("k")
    assert two.get("k") == 0
    two.incr("a", 60)
    two.incr("b", 60)
    assert one.reset() == 2 and one.check()
