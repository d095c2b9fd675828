"""What the ward's registers (news stories, group sessions) share: who keeps them, for which khu phố, and dates.

Staff keep them for every khu phố of their ward, a leader for their own team's khu phố; for anyone else
(members, admin) these pages do not exist.
"""
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.validators import ValidationError

from .extensions import db
from .models import KhuPho, utcnow
from .scope import khu_pho_ids, require_role

KEEPERS = ("leader", "staff")
VN_OFFSET = timedelta(hours=7)  # dates people write are Vietnam's; the clock of the database is UTC
EARLIEST_YEAR = 2020


def local_today() -> date:
    return (utcnow() + VN_OFFSET).date()


def khu_pho_in_reach() -> list[KhuPho]:
    """The khu phố the current user keeps registers for, in code order (404 for other roles)."""
    require_role(*KEEPERS)
    allowed = khu_pho_ids(current_user) or []
    return db.session.scalars(select(KhuPho).where(KhuPho.id.in_(allowed)).order_by(KhuPho.code)).all()


def ward_id_of_user() -> int | None:
    """The ward whose registers the user keeps: staff's own, a leader's through their khu phố."""
    if current_user.role == "staff":
        return current_user.ward_id
    places = khu_pho_in_reach()
    return places[0].ward_id if places else None


def check_past_day(_form, field) -> None:
    """A day that has happened (Vietnam time), from 2020 on."""
    if field.data is None:
        return
    if field.data > local_today():
        raise ValidationError(_l("Ngày không thể ở tương lai."))
    if field.data.year < EARLIEST_YEAR:
        raise ValidationError(_l("Ngày quá xa trong quá khứ (trước năm 2020)."))


def month_start(day: date) -> date:
    return day.replace(day=1)


def months_of_year(year: int, today: date) -> list[date]:
    """The first day of each month of the year up to today's month, newest first."""
    last = today.month if year == today.year else 12
    return [date(year, month, 1) for month in range(last, 0, -1)]
