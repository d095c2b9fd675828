"""The active plan and its checklist, read once per request."""
from flask import current_app, g
from sqlalchemy import select

from .extensions import db
from .models import ChecklistItem, Plan
from .state import PlainItem, age_rules


def active_plan() -> Plan:
    if g.get("plan") is None:  # not cached while no plan is loaded yet
        g.plan = db.session.scalar(select(Plan).where(Plan.code == current_app.config["PLAN_CODE"])) \
            or db.session.scalar(select(Plan).where(Plan.active).order_by(Plan.year.desc()))
    return g.plan


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
        items = ChecklistItem.__table__
        g.plain_plan_items = [PlainItem(*row) for row in db.session.execute(
            select(items.c.code, items.c.label, items.c.applies_to, items.c.eligibility)
            .where(items.c.plan_id == active_plan().id).order_by(items.c.position))]
    return g.plain_plan_items
