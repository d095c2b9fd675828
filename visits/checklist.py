"""The active plan, read once per request, and its checklist, read once per process and revision."""
from dataclasses import dataclass

from flask import current_app, g
from flask_sqlalchemy.session import Session
from sqlalchemy import bindparam, event, select

from .extensions import db
from .models import ChecklistItem, Plan
from .state import age_rules


# Built once: every household page and sync batch reads the plan and its items.
PLAN_BY_CODE = select(Plan).where(Plan.code == bindparam("code"))
LATEST_ACTIVE_PLAN = select(Plan).where(Plan.active).order_by(Plan.year.desc())
_items = ChecklistItem.__table__
ITEM_ROWS = select(_items.c.id, _items.c.plan_id, _items.c.target_id, _items.c.code, _items.c.label,
                   _items.c.applies_to, _items.c.eligibility, _items.c.steps, _items.c.guide_slug,
                   _items.c.position).where(_items.c.plan_id == bindparam("plan_id")).order_by(_items.c.position)


@dataclass(frozen=True, slots=True)
class Item:
    """A checklist item as plain data, with ChecklistItem's columns: one copy per process, which every request
    of the process reads (an ORM row belongs to one request's session)."""
    id: int
    plan_id: int
    target_id: int
    code: str
    label: str
    applies_to: str
    eligibility: str
    steps: tuple
    guide_slug: str
    position: int


def active_plan() -> Plan:
    if g.get("plan") is None:  # not cached while no plan is loaded yet
        g.plan = db.session.scalar(PLAN_BY_CODE, {"code": current_app.config["PLAN_CODE"]}) \
            or db.session.scalar(LATEST_ACTIVE_PLAN)
    return g.plan


def plan_items() -> list[Item]:
    return _checklist()


def plan_rules():
    return age_rules(active_plan())


def _checklist() -> list[Item]:
    """The active plan's checklist, kept by the process under the plan's revision: a household page or a sync
    batch spent a fifth of its time reading it, and it changes a few times a year at most."""
    if "checklist" not in g:
        plan = active_plan()
        key = (plan.id, plan.revision)
        kept = current_app.extensions.get("checklist")
        if kept is None or kept[0] != key:
            items = [Item(*row[:7], tuple(row.steps or ()), *row[8:]) for row in db.session.execute(
                ITEM_ROWS, {"plan_id": plan.id})]
            kept = key, items
            current_app.extensions["checklist"] = kept  # one assignment: a thread reading it sees old or new
        g.checklist = kept[1]
    return g.checklist


@event.listens_for(Session, "before_flush")
def _bump_revision(session, _context, _instances) -> None:
    """A change to a plan's checklist moves the plan's revision, so that every process reads the checklist
    again on its next request."""
    changed = {obj.plan_id for group in (session.new, session.dirty, session.deleted) for obj in group
               if isinstance(obj, ChecklistItem)}
    with session.no_autoflush:
        for plan_id in changed - {None}:
            plan = session.get(Plan, plan_id)
            if plan is not None:
                plan.revision = (plan.revision or 0) + 1
