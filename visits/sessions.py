"""How long a login lasts (ASVS V7.3): an idle timeout, an absolute one, and "remember me" within both.

- Idle: SESSION_IDLE_TIMEOUT (8 h) without a request ends the session: a phone left on a café table at noon
  still works in the afternoon, not the next morning. With "remember me" ticked it is
  SESSION_REMEMBER_IDLE_TIMEOUT (7 days): the member's own phone, used every few days, offline in between.
  The remember-me cookie lives as long and slides with use, so it cannot outlive the idle limit either.
- Absolute: SESSION_ABSOLUTE_TIMEOUT (30 days) after the password was typed, whatever happened since; the
  login time is inside the signed session id (User.get_id), so a copied cookie cannot outlive it.
- Ending every session of a user at once (deactivation, password reset, a lost phone): session_version.

A member whose session ended while offline keeps their outbox: the sync answers 401, the page asks them to
log in again, and the outbox is sent after.
"""
import time

from flask import Flask, current_app, request, session
from flask_login import login_user, logout_user, user_loaded_from_cookie

SEEN_EVERY = 60  # seconds: the session cookie is rewritten at most once a minute to record activity


def now() -> int:
    """The clock, in whole seconds (tests move it)."""
    return int(time.time())


def start_session(remember: bool) -> None:
    """Called right after a password login."""
    session["seen"] = now()
    session["remembered"] = bool(remember)


def log_in(user, remember: bool = False) -> None:
    """A password was just typed (login, first admin, own password changed): a session that starts now."""
    user.signed_in_at = now()
    login_user(user, remember=remember)
    start_session(remember=remember)


def logged_in_session(user) -> dict:
    """The session a password login leaves, for tools that skip the login page (bench/)."""
    user.signed_in_at = now()
    return {"_user_id": user.get_id(), "_fresh": True, "seen": now(), "remembered": False}


def idle_limit() -> float:
    key = "SESSION_REMEMBER_IDLE_TIMEOUT" if session.get("remembered") else "SESSION_IDLE_TIMEOUT"
    return current_app.config[key].total_seconds()


def end_idle_sessions() -> None:
    """Before every request: log out a session idle too long (its remember-me cookie is cleared with it)."""
    if "_user_id" not in session or request.endpoint == "static":  # a stylesheet is not the member at work
        return
    seen, moment = session.get("seen"), now()
    if not isinstance(seen, int) or moment - seen > idle_limit():
        logout_user()
        session.pop("seen", None)
        session.pop("remembered", None)
        return
    if moment - seen >= SEEN_EVERY:
        session["seen"] = moment
        if session.get("remembered"):
            session["_remember"] = "set"  # Flask-Login sets the remember-me cookie again, for its full duration


def _restored_from_cookie(_app, user=None, **_extra) -> None:
    """The browser had dropped its session but kept the remember-me cookie: a remembered session again."""
    start_session(remember=True)


def configure_sessions(app: Flask) -> None:
    app.before_request(end_idle_sessions)
    user_loaded_from_cookie.connect(_restored_from_cookie, app)
