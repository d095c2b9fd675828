"""The active plan and its checklist, read once per request."""

from flask import current_app, g
from sqlalchemy import bindparam, select

from .extensions import db
from .models import ChecklistItem, Plan
from .state import PlainItem, age_rules


# Built once: every household page and sync batch reads the plan and its items.
PLAN_BY_CODE = select(Plan).where(Plan.code == bindparam("code"))
LATEST_ACTIVE_PLAN = select(Plan).where(Plan.active).order_by(Plan.year.desc())
ITEMS_OF_PLAN = select(ChecklistItem).where(ChecklistItem.plan_id == bindparam("plan_id")) \
    .order_by(ChecklistItem.position)
_items = ChecklistItem.__table__
PLAIN_ITEMS_OF_PLAN = select(_items.c.code, _items.c.label, _items.c.applies_to, _items.c.eligibility) \
    .where(_items.c.plan_id == bindparam("plan_id")).order_by(_items.c.position)


def active_plan() -> Plan:
    if g.get("plan") is None:  # not cached while no plan is loaded yet
        g.plan = db.session.scalar(PLAN_BY_CODE, {"code": current_app.config["PLAN_CODE"]}) \
            or db.session.scalar(LATEST_ACTIVE_PLAN)
    return g.plan


def plan_items() -> list[ChecklistItem]:
    if "plan_items" not in g:
        g.plan_items = list(db.session.scalars(ITEMS_OF_PLAN, {"plan_id": active_plan().id}))
    return g.plan_items


def plan_rules():
    return age_rules(active_plan())


def plain_plan_items() -> list[PlainItem]:
    """The checklist as plain data (state.PlainItem), read as bare rows: what a sync batch of visits needs."""
    if "plain_plan_items" not in g:
        g.plain_plan_items = [PlainItem(*row) for row in db.session.execute(PLAIN_ITEMS_OF_PLAN,
                                                                            {"plan_id": active_plan().id})]
    return g.plain_plan_items
