"""Passwords: at least 8 characters and not a common one, wherever one is set; forgotten ones reset in person."""
import unicodedata

import pytest
from sqlalchemy import select

from visits.extensions import db
from visits.models import User
from visits.passwords import password_problem, verify_password

from tests.fixtures import PASSWORD, csrf_token, login

# From zxcvbn's list of leaked passwords, and from the Vietnamese list; none of them in the old short list.
COMMON = ["sunshine", "trustno1", "qwertyuiop", "princess1", "1q2w3e4r", "anhyeuem123", "PASSWORD1", " iloveyou "]


def user(app, user_id) -> User:
    with app.app_context():
        found = db.session.get(User, user_id)
        db.session.expunge(found)
        return found


@pytest.mark.parametrize("value, problem", [
    ("1234567", "ít nhất 8 ký tự"), ("", "ít nhất 8 ký tự"), ("x" * 129, "tối đa 128"),
    *[(common, "quá phổ biến") for common in COMMON]])
def test_short_long_and_common_passwords_are_refused(app, value, problem):
    with app.test_request_context():
        assert problem in password_problem(value)


def test_a_long_uncommon_passphrase_is_fine(app):
    with app.test_request_context():
        assert password_problem("đi từng ngõ gõ từng nhà") is None and password_problem("x" * 128) is None


def test_creating_and_resetting_refuse_a_common_password(as_user, area, app):
    staff = as_user("staff")
    token = csrf_token(staff, "/members/")
    created = staff.post("/members/new", data={"csrf_token": token, "username": "member3", "full_name": "Ba",
                                               "role": "member", "team_id": area["team1"], "password": "sunshine"})
    assert created.status_code == 400 and "quá phổ biến" in created.get_data(as_text=True)
    reset = staff.post(f"/members/{area['member1']}/password", data={"csrf_token": token, "password": "trustno1"})
    assert reset.status_code == 400 and "quá phổ biến" in reset.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "member3")) is None
    assert verify_password(user(app, area["member1"]).password_hash, PASSWORD)


def test_the_command_line_refuses_a_common_password(runner, area):
    result = runner.invoke(args=["create-user", "lan", "--role", "member", "--khu-pho", "KP1"], input="qwertyuiop\n")
    assert result.exit_code != 0 and "quá phổ biến" in result.output


def change(client, current, new, confirm=None):
    return client.post("/account/password", data={"csrf_token": csrf_token(client, "/account/password"),
                                                  "current": current, "password": new,
                                                  "confirm": new if confirm is None else confirm})


def test_changing_ones_own_password_ends_the_other_sessions_only(as_user, area, app):
    other_phone = app.test_client()
    login(other_phone, "member1", remember=True)
    client = as_user("member1")
    assert change(client, "sai-mat-khau", "mot-mat-khau-moi").status_code == 400
    assert change(client, PASSWORD, "princess1").status_code == 400
    mismatch = change(client, PASSWORD, "mot-mat-khau-moi", "mot-mat-khau-khac")
    assert mismatch.status_code == 400 and "không giống nhau" in mismatch.get_data(as_text=True)
    assert user(app, area["member1"]).session_version == 1 and other_phone.get("/").status_code == 200
    done = change(client, PASSWORD, "mot-mat-khau-moi")
    assert done.status_code == 303
    assert client.get("/").status_code == 200  # this phone goes on
    assert other_phone.get("/").status_code == 302  # the other one is out, remember-me and all
    assert login(app.test_client(), "member1", "mot-mat-khau-moi").status_code == 302
    assert login(app.test_client(), "member1", PASSWORD).status_code == 400


def test_a_password_with_diacritics_works_however_the_keyboard_composed_it(as_user, area, app):
    client = as_user("member1")
    precomposed = unicodedata.normalize("NFC", "Mật khẩu của tôi")
    assert change(client, PASSWORD, precomposed).status_code == 303
    decomposed = unicodedata.normalize("NFD", precomposed)
    assert decomposed != precomposed
    assert login(app.test_client(), "member1", decomposed).status_code == 302


def test_forgotten_passwords_are_reset_by_a_person_not_an_email_link(client, area):  # no user: /login is /setup/
    page = client.get("/login").get_data(as_text=True)
    assert "nhờ tổ trưởng hoặc cán bộ phường đặt lại" in page
    assert "email" not in page.lower() and "quên mật khẩu?</a>" not in page.lower()


@pytest.mark.parametrize("app_config", [{"RATELIMIT_LOGIN_ACCOUNT": "3 per 15 minutes"}])
def test_guessing_the_current_password_is_limited_like_logins(as_user, area, app_config):
    client = as_user("member1")
    for _ in range(3):
        assert change(client, "doan-mo-1", "mot-mat-khau-moi").status_code == 400
    held = change(client, PASSWORD, "mot-mat-khau-moi")
    assert held.status_code == 429 and "Quá nhiều lần nhập sai" in held.get_data(as_text=True)
