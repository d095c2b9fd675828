"""Command-line tasks: flask --app wsgi init-db | demo-data | create-user."""
import sys

import click
from flask import Blueprint
from flask_migrate import upgrade
from sqlalchemy import select

from .extensions import db
from .models import ROLES, KhuPho, Team, User
from .passwords import hash_password, password_problem
from .plans import ensure_default_plan

bp = Blueprint("cli", __name__, cli_group=None)


@bp.cli.command("init-db")
def init_db() -> None:
    """Create or migrate the schema and load the default plan."""
    upgrade()
    ensure_default_plan()
    db.session.commit()
    click.echo("Cơ sở dữ liệu đã sẵn sàng.")


@bp.cli.command("demo-data")
@click.option("--households", default=5000, show_default=True, help="Số hộ của phường mẫu.")
@click.option("--seed", default=2024, show_default=True, help="Hạt giống ngẫu nhiên.")
@click.option("--if-empty", is_flag=True, help="Chỉ tạo khi cơ sở dữ liệu chưa có hộ nào.")
def demo_data(households: int, seed: int, if_empty: bool) -> None:
    """Fill the database with one realistic demo ward and print its logins."""
    from .demo_data import build_demo_ward, database_is_empty, demo_login_summary
    if if_empty and not database_is_empty():
        click.echo("Đã có dữ liệu; bỏ qua dữ liệu mẫu.")
        logins = demo_login_summary()
        if not logins:
            return
    else:
        from . import counters
        from .checklist import active_plan
        logins = build_demo_ward(households=households, seed=seed)
        counters.recompute(active_plan())
        db.session.commit()
    click.echo("Tài khoản dùng thử:")
    for username, password, role in logins:
        click.echo(f"  {username:<24} {password:<16} {role}")


@bp.cli.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--khu-pho", "khu_pho_code", help="Mã khu phố (thành viên, tổ trưởng).")
@click.option("--full-name", default="")
def create_user(username: str, role: str, khu_pho_code: str | None, full_name: str) -> None:
    """Create a user; the password is asked at a prompt or read from stdin."""
    if sys.stdin.isatty():
        password = click.prompt("Mật khẩu", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)
    username = username.strip().lower()
    if db.session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(f"Tên đăng nhập {username} đã có.")
    user = User(username=username, password_hash=hash_password(password), role=role, full_name=full_name)
    if role in ("member", "leader"):
        if not khu_pho_code:
            raise click.ClickException("Thành viên và tổ trưởng cần --khu-pho.")
        khu_pho = db.session.scalar(select(KhuPho).where(KhuPho.code == khu_pho_code))
        if khu_pho is None:
            raise click.ClickException(f"Không có khu phố mã {khu_pho_code}.")
        team = db.session.scalar(select(Team).where(Team.khu_pho_id == khu_pho.id))
        if team is None:
            team = Team(khu_pho_id=khu_pho.id, name=f"Tổ công nghệ số cộng đồng {khu_pho.name}")
            db.session.add(team)
            db.session.flush()
        user.team_id, user.ward_id = team.id, khu_pho.ward_id
    elif role == "staff":
        khu_pho = db.session.scalar(select(KhuPho).order_by(KhuPho.id))
        user.ward_id = khu_pho.ward_id if khu_pho else None
    db.session.add(user)
    db.session.commit()
    click.echo(f"Đã tạo tài khoản {username} ({role}).")


@bp.cli.command("recompute")
def recompute_command() -> None:
    """Rebuild the target counters of the active plan from the roster and the visits."""
    from . import counters
    from .checklist import active_plan
    plan = active_plan()
    counted = counters.recompute(plan)
    db.session.commit()
    click.echo(f"Đã tính lại chỉ tiêu của {counted} hộ ({plan.code}).")
