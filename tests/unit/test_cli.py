"""The command-line tasks: init-db, create-user."""
from sqlalchemy import select

from visits.extensions import db
from visits.models import ChecklistItem, Target, User
from visits.passwords import verify_password


def test_init_db_is_idempotent_and_loads_the_plan(app, runner):
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "sẵn sàng" in result.output
    with app.app_context():
        assert db.session.query(Target).count() == 9
        codes = set(db.session.scalars(select(ChecklistItem.code)))
        assert {"vneid", "dvc", "portal", "postal", "vssid", "essential", "ecommerce_guide", "business_epay",
                "ecommerce_sale", "qn_ecommerce", "sim4g", "smartphone", "epay", "epay_helper",
                "dx_informed", "langso"} == codes


def test_create_user_reads_the_password_from_stdin(app, runner, area):
    result = runner.invoke(args=["create-user", "Lan.Tran", "--role", "member", "--khu-pho", "KP1"],
                           input="mot-mat-khau-dai\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "lan.tran"))
        assert user.role == "member" and user.team_id == area["team1"]
        assert verify_password(user.password_hash, "mot-mat-khau-dai")


def test_create_user_refuses_bad_requests(app, runner, area):
    short = runner.invoke(args=["create-user", "x", "--role", "admin"], input="ngan\n")
    assert short.exit_code != 0 and "ít nhất 8 ký tự" in short.output
    unknown = runner.invoke(args=["create-user", "y", "--role", "member", "--khu-pho", "KP77"], input="mat-khau-du-dai\n")
    assert unknown.exit_code != 0 and "Không có khu phố mã KP77" in unknown.output
    taken = runner.invoke(args=["create-user", "member1", "--role", "admin"], input="mat-khau-du-dai\n")
    assert taken.exit_code != 0 and "đã có" in taken.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username.in_(["x", "y"]))) is None
