"""The domain model of DESIGN §2: places, people, the plan, and visits with their derived state."""
from __future__ import annotations

import uuid as uuidlib
from datetime import date, datetime, timezone

from flask_login import UserMixin
from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_uuid() -> str:
    return str(uuidlib.uuid4())


# --- Places ---------------------------------------------------------------------------------------

class Ward(db.Model):
    __tablename__ = "ward"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    province: Mapped[str] = mapped_column(String(120), default="")


class KhuPho(db.Model):
    __tablename__ = "khu_pho"
    __table_args__ = (UniqueConstraint("ward_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    ward: Mapped[Ward] = relationship()


class Street(db.Model):
    __tablename__ = "street"
    id: Mapped[int] = mapped_column(primary_key=True)
    khu_pho_id: Mapped[int] = mapped_column(ForeignKey("khu_pho.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    position: Mapped[int] = mapped_column(Integer, default=0)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    khu_pho: Mapped[KhuPho] = relationship()
    member: Mapped[User | None] = relationship(foreign_keys=[member_id])


class Household(db.Model):
    __tablename__ = "household"
    __table_args__ = (Index("ix_household_street_sort", "street_id", "sort_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    khu_pho_id: Mapped[int] = mapped_column(ForeignKey("khu_pho.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(40))
    house_number: Mapped[str] = mapped_column(String(80))
    sort_key: Mapped[str] = mapped_column(String(200))
    address_key: Mapped[str] = mapped_column(String(300), index=True)
    head_name: Mapped[str] = mapped_column(String(160), default="")
    is_business: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Derived from visits, kept up to date in the visit's transaction.
    status: Mapped[str] = mapped_column(String(20), default="chua_tham", index=True)
    last_visit_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_visit_uuid: Mapped[str | None] = mapped_column(String(36))
    open_items: Mapped[int] = mapped_column(Integer, default=0)
    street: Mapped[Street] = relationship()
    residents: Mapped[list[Resident]] = relationship(back_populates="household",
                                                     order_by="Resident.id")


PHONE_KINDS = ("none", "basic", "smart")
SIM_KINDS = ("2g", "4g", "unknown")


class Resident(db.Model):
    __tablename__ = "resident"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(160))
    name_key: Mapped[str] = mapped_column(String(160), index=True)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    phone_kind: Mapped[str] = mapped_column(String(10), default="none")
    handset_2g_only: Mapped[bool] = mapped_column(Boolean, default=False)
    sim: Mapped[str] = mapped_column(String(10), default="unknown")
    has_epay: Mapped[bool | None] = mapped_column(Boolean)
    moved_away: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    household: Mapped[Household] = relationship(back_populates="residents")


# --- People who use the app -----------------------------------------------------------------------

ROLES = ("member", "leader", "staff", "admin")


class Team(db.Model):
    __tablename__ = "team"
    id: Mapped[int] = mapped_column(primary_key=True)
    khu_pho_id: Mapped[int] = mapped_column(ForeignKey("khu_pho.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    khu_pho: Mapped[KhuPho] = relationship()


class User(UserMixin, db.Model):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(160), default="")
    role: Mapped[str] = mapped_column(String(10))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped to end every session and "remember me" cookie of this user at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    team: Mapped[Team | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


# --- The plan -------------------------------------------------------------------------------------

class Plan(db.Model):
    __tablename__ = "plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    adult_age: Mapped[int] = mapped_column(Integer, default=18)
    young_min: Mapped[int] = mapped_column(Integer, default=16)
    young_max: Mapped[int] = mapped_column(Integer, default=30)
    report_cutoff_day: Mapped[int] = mapped_column(Integer, default=14)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Target(db.Model):
    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    short: Mapped[str] = mapped_column(String(120))
    population: Mapped[str] = mapped_column(String(200))
    threshold: Mapped[float] = mapped_column(Float)
    strive: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline: Mapped[date | None] = mapped_column(Date)


class ChecklistItem(db.Model):
    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id"))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    applies_to: Mapped[str] = mapped_column(String(10))  # resident | household | business
    eligibility: Mapped[str] = mapped_column(String(20))  # see visits/eligibility.py
    steps: Mapped[list] = mapped_column(JSON, default=list)
    guide_slug: Mapped[str] = mapped_column(String(60), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    target: Mapped[Target] = relationship()


# --- Visits and what they change ------------------------------------------------------------------

OUTCOMES = ("met", "nobody_home", "refused", "come_back")
ANSWERS = ("done", "had", "declined", "later", "na")


class Visit(db.Model):
    """An immutable event; a correction is a new visit, never an edit."""
    __tablename__ = "visit"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))
    met_resident_ids: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    household: Mapped[Household] = relationship()
    user: Mapped[User] = relationship()
    answers: Mapped[list[VisitAnswer]] = relationship(back_populates="visit")


class VisitAnswer(db.Model):
    """One line of a visit: a checklist answer (kind 'item') or a fact about a resident."""
    __tablename__ = "visit_answer"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="item")  # item | fact
    code: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(20))
    visit: Mapped[Visit] = relationship(back_populates="answers")


class ItemState(db.Model):
    """The latest answer per subject and code (latest recorded_at wins, ties by visit UUID).

    resident_key is the resident's id, or 0 for the household itself.
    """
    __tablename__ = "item_state"
    __table_args__ = (UniqueConstraint("household_id", "resident_key", "kind", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    resident_key: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(10), default="item")
    code: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    # The UUID of the line's source: a visit, or for facts also a change (list, correction, move).
    visit_uuid: Mapped[str] = mapped_column(String(36))


class Change(db.Model):
    """A change made in the field (new household, new resident, correction, moved away)."""
    __tablename__ = "change"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    # None for rows that came from a household list rather than from a member's phone.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    user: Mapped[User | None] = relationship()


class SyncConflict(db.Model):
    """An item sent again under a UUID already used for other content: refused, kept for review."""
    __tablename__ = "sync_conflict"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
