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
    # The household's answer, asked at the first visit, to having its data kept (visits/consent.py):
    # "yes", "no" (its residents' names and phones are erased at once), or None: not asked yet.
    consent: Mapped[str | None] = mapped_column(String(10))
    consent_at: Mapped[datetime | None] = mapped_column(DateTime)
    consent_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
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
    # From a household list, normalised ("0912345678"); not a fact of the state, so not derived from visits.
    phone: Mapped[str | None] = mapped_column(String(20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set when the resident's identifying data was erased (visits/erasure.py); the answers still count.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A keyed hash of the erased name (visits/erasure.py erased_key): enough for a later household list
    # import to recognise the person and leave them out, not enough to read the name back.
    erased_key: Mapped[str | None] = mapped_column(String(64))
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
    signed_in_at = 0  # when this session's password was typed (epoch seconds); not a column, see auth.load_user

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}:{self.signed_in_at}"


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
    # One more on every change of the plan's checklist: each process keeps the checklist it read
    # under this number (visits/checklist.py), and reads it again when the number moves.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


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
    # A household's visits in the order they happened, from the index alone: its latest (the household page), its
    # first of the year (the counters' first contact, on every sync) and all of them (first_contact_facts).
    __table_args__ = (Index("ix_visit_household_recorded", "household_id", "recorded_at", "uuid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
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


class HouseholdContribution(db.Model):
    """What one household adds to each indicator of a plan, as last counted (see visits/counters.py)."""
    __tablename__ = "household_contribution"
    __table_args__ = (UniqueConstraint("plan_id", "household_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    vector: Mapped[dict] = mapped_column(JSON, default=dict)


class IndicatorCount(db.Model):
    """A running sum of contributions: per khu phố (street_id 0) and per street, per plan."""
    __tablename__ = "indicator_count"
    __table_args__ = (UniqueConstraint("plan_id", "khu_pho_id", "street_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    khu_pho_id: Mapped[int] = mapped_column(ForeignKey("khu_pho.id"))
    street_id: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(Integer, default=0)


# --- Guides for residents: scan counts, khu phố contacts, help requests (visits/guides.py) ------------

class QrScan(db.Model):
    """How often a printed code was opened on one day: no IP address, cookie or anything about the person."""
    __tablename__ = "qr_scan"
    __table_args__ = (UniqueConstraint("code", "tag", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80))  # "g/<slug>" for a guide, "k/<id>" for a khu phố page
    tag: Mapped[str] = mapped_column(String(20))  # where it was put up: see visits/qr.py
    day: Mapped[date] = mapped_column(Date, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id"), index=True)
    khu_pho_id: Mapped[int | None] = mapped_column(ForeignKey("khu_pho.id"), index=True)


class KhuPhoContact(db.Model):
    """How residents reach a khu phố's team, shown on its public page: so never a person's name or phone."""
    __tablename__ = "khu_pho_contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    khu_pho_id: Mapped[int] = mapped_column(ForeignKey("khu_pho.id"), unique=True)
    meeting_place: Mapped[str] = mapped_column(String(200), default="")
    meeting_time: Mapped[str] = mapped_column(String(200), default="")
    zalo_url: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class HelpRequest(db.Model):
    """A resident's "Nhờ Tổ hỗ trợ": open until the leader closes it after a visit; the phone is erased then."""
    __tablename__ = "help_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    khu_pho_id: Mapped[int] = mapped_column(ForeignKey("khu_pho.id"), index=True)
    address: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), default="")
    need: Mapped[str] = mapped_column(String(60))  # a guide's slug, or "khac"
    details: Mapped[str] = mapped_column(Text, default="")
    consent_at: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # open | closed
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(300), default="")
    khu_pho: Mapped[KhuPho] = relationship()
    household: Mapped[Household | None] = relationship()
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])


# --- Importing household lists from Excel (visits/imports/) -------------------------------------------

class ImportJob(db.Model):
    """One uploaded workbook on its way in: read, checked, previewed, then imported chunk by chunk.

    Each poll does the next chunk and saves where it stopped (offset: a byte in the sheet's XML while
    reading; cursor: the last household key while checking and importing), so a restarted worker goes on.
    """
    __tablename__ = "import_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    # mapping | reading | checking | preview | importing | done | failed | cancelled
    state: Mapped[str] = mapped_column(String(20), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    sheet: Mapped[dict] = mapped_column(JSON, default=dict)  # name, header row, headers, XML offsets, date styles
    signature: Mapped[str] = mapped_column(String(64), default="")
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)  # column number (as text) -> field
    mapping_source: Mapped[str] = mapped_column(String(10), default="auto")  # auto | saved | manual
    create_streets: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_only: Mapped[bool] = mapped_column(Boolean, default=False)
    offset: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str] = mapped_column(String(40), default="")
    carry: Mapped[dict] = mapped_column(JSON, default=dict)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # chunks that failed in a row (retried by the next poll)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)  # what the preview counted
    result: Mapped[dict] = mapped_column(JSON, default=dict)  # what the import wrote
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    ward: Mapped[Ward] = relationship()
    user: Mapped[User | None] = relationship()


class ImportRow(db.Model):
    """A data row of an import job, as read from the sheet: a scratch table, emptied when the job ends."""
    __tablename__ = "import_row"
    __table_args__ = (Index("ix_import_row_job_key", "job_id", "household_key"),
                      Index("ix_import_row_job_row", "job_id", "row_number"))
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id"))
    row_number: Mapped[int] = mapped_column(Integer)
    household_key: Mapped[str | None] = mapped_column(String(40))  # a digest of code or address; None: unknown
    new_street: Mapped[str | None] = mapped_column(String(200))  # "khu phố id|street" when the street is not there
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    read_problems: Mapped[list] = mapped_column(JSON, default=list)
    check_problems: Mapped[list] = mapped_column(JSON, default=list)
    skip: Mapped[bool] = mapped_column(Boolean, default=False)


class ImportMapping(db.Model):
    """How a ward's sheets of one shape (a digest of the header row) map columns to fields, as staff chose."""
    __tablename__ = "import_mapping"
    __table_args__ = (UniqueConstraint("ward_id", "signature"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    signature: Mapped[str] = mapped_column(String(64))
    headers: Mapped[list] = mapped_column(JSON, default=list)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- The team's own training: target 9 (visits/training.py) ------------------------------------------

class TrainingCompletion(db.Model):
    """A member finished the plan's digital-skills course on the MOOC platform, as staff or their leader recorded."""
    __tablename__ = "training_completion"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    course: Mapped[str] = mapped_column(String(200))
    completed_on: Mapped[date] = mapped_column(Date)
    certificate: Mapped[str] = mapped_column(String(80), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])


# --- The ward's other registers: news stories and group sessions (visits/registers) ------------------

NEWS_SCOPES = ("ward", "khu_pho")
SESSION_KINDS = ("hop_to_dan_pho", "sinh_hoat_chi_bo", "su_kien", "khac")


class NewsStory(db.Model):
    """A story about digital transformation posted on the ward's portal; the plan asks for one a month."""
    __tablename__ = "news_story"
    __table_args__ = (Index("ix_news_story_ward_posted", "ward_id", "posted_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    khu_pho_id: Mapped[int | None] = mapped_column(ForeignKey("khu_pho.id"), index=True)  # None: ward-wide
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(500), default="")
    posted_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    khu_pho: Mapped[KhuPho | None] = relationship()


class GroupSession(db.Model):
    """A meeting that informed residents (họp tổ dân phố, sinh hoạt chi bộ, sự kiện): its attendees count for target 7."""
    __tablename__ = "group_session"
    __table_args__ = (Index("ix_group_session_khu_pho_held", "khu_pho_id", "held_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    khu_pho_id: Mapped[int] = mapped_column(ForeignKey("khu_pho.id"))
    held_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))  # one of SESSION_KINDS
    topic: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    khu_pho: Mapped[KhuPho] = relationship()
    attendees: Mapped[list[GroupSessionAttendee]] = relationship(cascade="all, delete-orphan")


class GroupSessionAttendee(db.Model):
    __tablename__ = "group_session_attendee"
    session_id: Mapped[int] = mapped_column(ForeignKey("group_session.id"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True, index=True)


# --- The ward's monthly report (visits/reports.py) -----------------------------------------------------------

REPORT_STATUSES = ("nhap", "da_gui")  # Nháp, Đã gửi


class MonthlyReport(db.Model):
    """A ward's report for a month, once sent: its figures are frozen as sent (no row yet: still a draft)."""
    __tablename__ = "monthly_report"
    __table_args__ = (UniqueConstraint("ward_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, in Vietnam's time
    status: Mapped[str] = mapped_column(String(10), default="nhap")
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ward: Mapped[Ward] = relationship()
    sent_by: Mapped[User | None] = relationship(foreign_keys=[sent_by_id])
# --- Who changed what and when (visits/audit.py) ------------------------------------------------------------

class AuditEntry(db.Model):
    """One change of data: who, when, what (entity and id), where (khu phố, ward), and which fields.

    Personal fields appear by name only, never with their values (see audit.PERSONAL_FIELDS). Ids are plain
    integers, not foreign keys: an entry outlives the row it tells about.
    """
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_ward_at", "ward_id", "at"),
                      Index("ix_audit_entry_khu_pho_at", "khu_pho_id", "at"),
                      Index("ix_audit_entry_user_at", "user_id", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    khu_pho_id: Mapped[int | None] = mapped_column(Integer)
    ward_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
# --- Exports too big to stream within a request (visits/exports/) --------------------------------------

class ExportJob(db.Model):
    """An export written by an OS process of its own (visits/exports/jobs.py), into instance/exports/.

    attempt counts the processes started for it: a process that finds another attempt recorded stops, so a
    restarted job never has two writers of one file.
    """
    __tablename__ = "export_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id"), index=True)  # None: admin, several wards
    kind: Mapped[str] = mapped_column(String(20))  # summary | open | visits | answers
    format: Mapped[str] = mapped_column(String(10))  # xlsx | csv
    filters: Mapped[dict] = mapped_column(JSON, default=dict)  # date_from, date_to, khu_pho_ids (the scope)
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)  # queued|running|done|failed|expired
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255), default="")
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
