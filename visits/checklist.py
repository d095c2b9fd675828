"""The active plan and its checklist, read once per request."""
from functools import lru_cache

from flask import current_app, g
from sqlalchemy import bindparam, select

from .extensions import db
from .models import ChecklistItem, Plan
from .state import PlainItem, age_rules


def active_plan() -> Plan:
    if g.get("plan") is None:  # not cached while no plan is loaded yet
        g.plan = db.session.scalar(_plan_by_code(), {"code": current_app.config["PLAN_CODE"]}) \
            or db.session.scalar(select(Plan).where(Plan.active).order_by(Plan.year.desc()))
    return g.plan


# Statements read on most requests are built once: building one costs more than running it.

@lru_cache(maxsize=1)
def _plan_by_code():
    return select(Plan).where(Plan.code == bindparam("code"))


@lru_cache(maxsize=1)
def _plain_items_of_plan():
    items = ChecklistItem.__table__
    return select(items.c.code, items.c.label, items.c.applies_to, items.c.eligibility) \
        .where(items.c.plan_id == bindparam("plan_id")).order_by(items.c.position)


def plan_items() -> list[ChecklistItem]:
    if "plan_items" not in g:
        g.plan_items = list(db.session.scalars(
            select(ChecklistItem).where(ChecklistItem.plan_id == active_plan().id).order_by(ChecklistItem.position)))
    return g.plan_items


def plan_rules():
    return age_rules(active_plan())


def plain_plan_items() -> list[PlainItem]:
    """The checklist as plain data (state.PlainItem), read as bare rows: what a sync batch of visits needs."""
    if "plain_plan_items" not in g:
        g.plain_plan_items = [PlainItem(*row) for row in db.session.execute(_plain_items_of_plan(),
                                                                            {"plan_id": active_plan().id})]
    return g.plain_plan_items
