"""Logging in and out; a session names the user, the version of their sessions and when they logged in."""
import unicodedata
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, get_flashed_messages, jsonify, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_url, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from .extensions import db, limiter, login_manager
from .models import User
from .pages import see_other
from .passwords import hash_password, new_password, verify_password
from .setup import no_user_yet
from . import sessions

bp = Blueprint("auth", __name__)
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
login_manager.login_message_category = "info"
# "basic" protection only marks sessions non-fresh (nothing here needs a fresh login), and it rewrites an
# anonymous session's cookie on every request: a page still loading while the member logs in elsewhere
# would then overwrite the new login. Sessions are ended by bumping session_version instead.
login_manager.session_protection = None


class LoginForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(_l("Hãy nhập tên đăng nhập."))])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(_l("Hãy nhập mật khẩu."))])
    remember = BooleanField(_l("Ghi nhớ trên điện thoại này"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Mật khẩu đang dùng"), validators=[DataRequired(_l("Hãy nhập mật khẩu đang dùng."))])
    password = PasswordField(_l("Mật khẩu mới"), validators=[new_password])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"),
                            validators=[EqualTo("password", _l("Hai lần nhập mật khẩu mới không giống nhau."))])


# With its team, which scope.py reads on nearly every request: one query instead of two. Built once: every
# request runs it, and a statement made afresh (as Session.get does) costs twice as much CPU as running this one.
USER_WITH_TEAM = select(User).options(joinedload(User.team)).where(User.id == bindparam("user_id"))


@login_manager.user_loader
def load_user(session_id: str):
    """Sessions carry "id:version:login time" (User.get_id), signed; so do remember-me cookies.

    A bumped version ends them all at once; past SESSION_ABSOLUTE_TIMEOUT after the login they end too.
    """
    parts = session_id.split(":")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None  # also a session from before login times were kept: log in again once
    user_id, version, signed_in_at = (int(part) for part in parts)
    now = sessions.now()
    if not now - current_app.config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds() < signed_in_at <= now + 60:
        return None
    user = db.session.scalar(USER_WITH_TEAM, {"user_id": user_id})
    if user is None or not user.active or user.session_version != version:
        return None
    user.signed_in_at = signed_in_at
    return user


@login_manager.unauthorized_handler
def unauthorized():
    """Pages go to the login form; htmx and API requests get a 401 that the page can act on."""
    if request.headers.get("HX-Request") or request.path.startswith("/api/"):
        return jsonify(error=_("Phiên đăng nhập đã hết. Hãy đăng nhập lại.")), 401
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url("auth.login", request.full_path.rstrip("?")))


def login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def account_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN_ACCOUNT"]


def typed_username() -> str:
    return unicodedata.normalize("NFC", request.form.get("username", "")).strip().lower()


def account_key() -> str:
    """Failed logins are counted per account too, however the name was typed, from whatever address."""
    return "account:" + typed_username()[:80]


def failed(response) -> bool:
    """Only a refused login counts: a ward office's members logging in at once are not held up."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"], deduct_when=failed,
               error_message=_l("Quá nhiều lần đăng nhập sai từ máy này. Vui lòng chờ vài phút rồi thử lại."))
@limiter.limit(account_limit, methods=["POST"], deduct_when=failed, key_func=account_key,
               error_message=_l("Quá nhiều lần đăng nhập sai vào tài khoản này. Vui lòng chờ 15 phút rồi thử "
                                "lại, hoặc nhờ tổ trưởng hay cán bộ phường đặt lại mật khẩu."))
def login():
    if current_user.is_authenticated:
        return redirect(url_for("areas.home"))
    if request.method == "GET" and no_user_yet():  # an empty app: nobody could log in yet
        get_flashed_messages()  # so "please log in" does not greet the first admin
        return redirect(url_for("setup.first_admin"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == typed_username()))
        if verify_password(user.password_hash if user else None, form.password.data) and user.active:
            sessions.log_in(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")))
        flash(_("Sai tên đăng nhập hoặc mật khẩu."), "error")
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("Đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


def own_account_key() -> str:
    """Guessing one's current password counts against the account, as wrong logins do."""
    return "account:" + (current_user.username if current_user.is_authenticated else "")


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(account_limit, methods=["POST"], deduct_when=lambda response: response.status_code != 303,
               key_func=own_account_key,
               error_message=_l("Quá nhiều lần nhập sai mật khẩu của tài khoản này. Vui lòng chờ 15 phút rồi thử lại."))
def change_password():
    """A user changes their own password; every other session of theirs ends (a phone left somewhere)."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if verify_password(current_user.password_hash, form.current.data):
            user = current_user._get_current_object()
            user.password_hash = hash_password(form.password.data)
            user.session_version += 1
            db.session.commit()
            sessions.log_in(user, remember=bool(session.get("remembered")))  # this session goes on, new version
            flash(_("Đã đổi mật khẩu. Các máy khác đang đăng nhập tài khoản này đã bị đăng xuất."), "success")
            return see_other(url_for("areas.home"))
        form.current.errors.append(_("Mật khẩu đang dùng không đúng."))
    return render_template("auth/password.html", form=form), 400 if form.is_submitted() else 200


def safe_next(target: str | None) -> str:
    """Only follow a ?next= that stays on this site."""
    if target and not urlsplit(target).netloc and not urlsplit(target).scheme and target.startswith("/") \
            and not target.startswith("//"):
        return target
    return url_for("areas.home")
