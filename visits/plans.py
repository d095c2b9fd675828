"""Putting a plan's targets and checklist into the database."""
from sqlalchemy import select

from . import plan_2024
from .extensions import db
from .models import ChecklistItem, Plan, Target


def ensure_default_plan() -> Plan:
    """Load the 2024 plan unless it is there already; returns it."""
    plan = db.session.scalar(select(Plan).where(Plan.code == plan_2024.PLAN["code"]))
    if plan is not None:
        return plan
    plan = Plan(**plan_2024.PLAN, active=True)
    db.session.add(plan)
    db.session.flush()
    targets = {}
    for number, short, text, population, threshold, strive, deadline in plan_2024.TARGETS:
        targets[number] = Target(plan_id=plan.id, number=number, short=short, text=text,
                                 population=population, threshold=threshold, strive=strive, deadline=deadline)
        db.session.add(targets[number])
    db.session.flush()
    for position, (code, number, applies_to, eligibility, label, guide, steps) in enumerate(plan_2024.ITEMS):
        db.session.add(ChecklistItem(plan_id=plan.id, target_id=targets[number].id, code=code, label=label,
                                     applies_to=applies_to, eligibility=eligibility, steps=steps,
                                     guide_slug=guide, position=position))
    db.session.flush()
    return plan
