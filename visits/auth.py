"""Logging in and out; a session names the user and the version of their sessions."""
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, get_flashed_messages, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_url, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired

from .extensions import db, limiter, login_manager
from .models import User
from .passwords import verify_password
from .setup import no_user_yet

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
    remember = BooleanField(_l("Ghi nhớ trên điện thoại này (30 ngày)"))


@login_manager.user_loader
def load_user(session_id: str):
    """Sessions carry "id:version"; a bumped version ends them all, remember-me cookies included."""
    user_id, _sep, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
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


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"],
               error_message=_l("Quá nhiều lần đăng nhập. Vui lòng chờ vài phút rồi thử lại."))
def login():
    if current_user.is_authenticated:
        return redirect(url_for("areas.home"))
    if request.method == "GET" and no_user_yet():  # an empty app: nobody could log in yet
        get_flashed_messages()  # so "please log in" does not greet the first admin
        return redirect(url_for("setup.first_admin"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip().lower()))
        if verify_password(user.password_hash if user else None, form.password.data) and user.active:
            login_user(user, remember=form.remember.data)
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


def safe_next(target: str | None) -> str:
    """Only follow a ?next= that stays on this site."""
    if target and not urlsplit(target).netloc and not urlsplit(target).scheme and target.startswith("/") \
            and not target.startswith("//"):
        return target
    return url_for("areas.home")
