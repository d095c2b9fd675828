"""How long a login lasts, how it ends, and the cookies that carry it (README "Đăng nhập và phiên làm việc")."""
import pytest

from visits import sessions
from visits.extensions import db
from visits.models import User

from tests.fixtures import PASSWORD, csrf_token, login

HOUR, DAY = 3600, 86400


class Clock:
    def __init__(self, start: int):
        self.time = start

    def __call__(self) -> int:
        return self.time

    def advance(self, seconds: int) -> None:
        self.time += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(sessions.now())
    monkeypatch.setattr(sessions, "now", fake)
    return fake


def logged_in(client) -> bool:
    return client.get("/api/session").status_code == 200


def test_eight_idle_hours_end_a_session_and_the_sync_hears_401(client, area, clock):
    login(client, "member1")
    clock.advance(7 * HOUR)
    assert logged_in(client)  # a request within the limit starts the idle time again
    clock.advance(7 * HOUR)
    assert logged_in(client)
    clock.advance(8 * HOUR + 60)
    page = client.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    sync = client.post("/api/sync", json={"items": []})
    assert sync.status_code == 401 and "đăng nhập lại" in sync.get_json()["error"]


def test_a_remembered_phone_stays_a_week_idle_then_the_cookie_goes_too(client, area, clock):
    login(client, "member1", remember=True)
    clock.advance(6 * DAY)
    assert logged_in(client)
    clock.advance(7 * DAY + 60)
    assert not logged_in(client)
    assert client.get_cookie("remember_token") is None  # cleared with the session
    assert client.get("/").status_code == 302


def test_thirty_days_after_the_password_every_session_ends_even_in_use(client, area, clock):
    login(client, "member1", remember=True)
    for _week in range(4):
        clock.advance(6 * DAY)
        assert logged_in(client)
    remembered = client.get_cookie("remember_token").value
    clock.advance(7 * DAY)  # day 31, though used every six days
    assert not logged_in(client)
    alone = client.application.test_client()  # the remember-me cookie copied to another browser
    alone.set_cookie("remember_token", remembered)
    assert not logged_in(alone)


def test_the_remember_cookie_brings_back_a_session_the_browser_dropped(client, area, clock):
    login(client, "member1", remember=True)
    remembered = client.get_cookie("remember_token").value
    other = client.application.test_client()
    other.set_cookie("remember_token", remembered)
    clock.advance(2 * DAY)
    assert logged_in(other)
    clock.advance(2 * DAY)
    assert logged_in(other)  # the session it made has its own idle time, refreshed by use


def test_a_session_from_before_login_times_were_kept_is_ended(client, area):
    with client.session_transaction() as session:
        session["_user_id"] = f"{area['member1']}:1"
        session["seen"] = sessions.now()
    assert not logged_in(client)


def test_a_forged_login_time_in_the_future_is_refused(client, area):
    with client.session_transaction() as session:
        session["_user_id"] = f"{area['member1']}:1:{sessions.now() + 10 * DAY}"
        session["seen"] = sessions.now()
    assert not logged_in(client)


@pytest.mark.parametrize("action", ["deactivate", "password"])
def test_a_lost_phone_is_locked_out_at_once_remember_me_included(as_user, area, app, action):
    phone = app.test_client()
    login(phone, "member1", remember=True)
    remembered = phone.application.test_client()
    remembered.set_cookie("remember_token", phone.get_cookie("remember_token").value)
    leader = as_user("leader1")
    data = {"csrf_token": csrf_token(leader, "/members/"), "password": "mot-mat-khau-moi-dai"}
    assert leader.post(f"/members/{area['member1']}/{action}", data=data).status_code == 303
    assert not logged_in(phone)
    assert not logged_in(remembered)
    assert phone.post("/api/sync", json={"items": []}).status_code == 401


def test_logout_ends_the_session_and_the_remember_cookie(client, area):
    login(client, "member1", remember=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get_cookie("remember_token") is None
    assert not logged_in(client)


def test_session_cookies_are_httponly_and_lax(client, area):
    login(client, "member1", remember=True)
    for name in ("session", "remember_token"):
        cookie = client.get_cookie(name)
        assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure, name


def test_over_https_every_cookie_is_secure_and_hsts_is_sent(app, area):
    client = app.test_client()
    response = login(client, "member1", remember=True)
    assert "Strict-Transport-Security" not in response.headers
    secure = app.test_client()
    page = secure.get("/login", base_url="https://localhost")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = secure.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"username": "member1", "password": PASSWORD, "csrf_token": token, "remember": "y"})
    assert response.status_code == 302 and response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=")[0] for c in cookies} >= {"session", "remember_token"}
    assert all("; Secure" in c and "HttpOnly" in c for c in cookies), cookies


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"PREFERRED_URL_SCHEME": "https"}], indirect=True)
def test_preferred_scheme_https_makes_cookies_secure_behind_a_plain_http_hop(client, area):
    response = login(client, "member1", remember=True)
    assert all("; Secure" in c for c in response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("app_config", [{"PROXY_COUNT": 1, "RATELIMIT_LOGIN": "2 per minute"}], indirect=True)
def test_behind_a_proxy_the_forwarded_scheme_and_address_count(client, area):
    behind = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    page = client.get("/login", headers=behind)
    assert page.headers["Strict-Transport-Security"]
    # Two wrong passwords from one address behind the proxy; another address is still let in.
    for _ in range(2):
        token = csrf_token(client)
        client.post("/login", headers={**behind, "Referer": "https://localhost/login"},
                    data={"username": "member1", "password": "sai-mat-khau", "csrf_token": token})
    token = csrf_token(client)
    blocked = client.post("/login", headers={**behind, "Referer": "https://localhost/login"},
                          data={"username": "member1", "password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429
    other = client.post("/login", headers={"X-Forwarded-For": "203.0.113.8"},
                        data={"username": "member1", "password": PASSWORD, "csrf_token": token})
    assert other.status_code == 302


def test_deactivated_user_cannot_log_in(as_user, area, app):
    with app.app_context():
        db.session.get(User, area["member2"]).active = False
        db.session.commit()
    assert login(app.test_client(), "member2").status_code == 400
