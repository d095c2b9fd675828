"""First run: while the database has no user at all, /setup lets the first person create the admin account.

Once any user exists the page answers 404, so it can never make a second admin. The check is repeated inside
the writing transaction, under a lock, so two people submitting at once still make only one.
"""
from flask import Blueprint, abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from sqlalchemy import select, text
from wtforms import PasswordField
from wtforms.validators import EqualTo

from . import sessions
from .extensions import db
from .members import AccountForm
from .models import User
from .pages import render, see_other
from .passwords import hash_password

bp = Blueprint("setup", __name__, url_prefix="/setup")


class FirstAdminForm(AccountForm):
    confirm = PasswordField(_l("Nhập lại mật khẩu"),
                            validators=[EqualTo("password", _l("Hai lần nhập mật khẩu không khớp."))])


def no_user_yet() -> bool:
    return db.session.scalar(select(User.id).limit(1)) is None


def lock_users() -> None:
    """Serialise first-run attempts; SQLite already holds its write lock (BEGIN IMMEDIATE on a POST)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE app_user IN EXCLUSIVE MODE"))


@bp.route("/", methods=["GET", "POST"])
def first_admin():
    if not no_user_yet():
        abort(404)
    form = FirstAdminForm()
    if form.validate_on_submit():
        lock_users()
        if not no_user_yet():  # someone else finished first
            abort(404)
        admin = User(username=form.username.data, full_name=form.full_name.data.strip(), role="admin",
                     password_hash=hash_password(form.password.data), active=True, session_version=1)
        db.session.add(admin)
        db.session.commit()
        admin.signed_in_at = sessions.now()  # as a password login does, or the next request finds no session
        login_user(admin)
        sessions.start_session(remember=False)
        flash(_("Đã tạo tài khoản quản trị %(name)s. Bước tiếp theo: tạo phường.", name=admin.username),
              "success")
        return see_other(url_for("wards.index"))
    return render("setup/first_admin.html", form=form, status=400 if form.is_submitted() else 200)
