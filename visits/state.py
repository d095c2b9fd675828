"""The current state of residents and households, derived from visits and field changes.

Every answer or fact is a line (subject, kind, code, value, recorded_at, source UUID). For each
subject and code the line with the latest recorded_at wins, ties broken by the larger UUID, so two
phones that synced in either order agree on the result. ItemState keeps the winners, updated in
the same transaction as the visit; recompute_household rebuilds them from scratch.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .eligibility import AgeRules, household_eligible, resident_eligible
from .extensions import db
from .models import Change, ChecklistItem, Household, ItemState, Plan, Resident, Visit

BOOLEAN_FACTS = ("handset_2g_only", "has_epay", "moved_away")
REACHED = ("done", "had", "declined", "na")
FACT_FIELDS = ("phone_kind", "sim", "handset_2g_only", "has_epay", "moved_away")
FACT_DEFAULTS = {"phone_kind": "none", "sim": "unknown", "handset_2g_only": False, "has_epay": None,
                 "moved_away": False}


@dataclass(frozen=True)
class Line:
    resident_key: int  # the resident's id, 0 for the household
    kind: str  # item | fact
    code: str
    value: str
    recorded_at: datetime
    source_uuid: str

    @property
    def rank(self) -> tuple:
        return (self.recorded_at, self.source_uuid)


def apply_line(household: Household, line: Line, existing: dict) -> bool:
    """Make the line the state of its subject if it is newer than what is there; True if it won."""
    key = (line.resident_key, line.kind, line.code)
    current = existing.get(key)
    if current is not None and (current.recorded_at, current.visit_uuid) >= line.rank:
        return False
    if current is None:
        current = ItemState(household_id=household.id, resident_key=line.resident_key,
                            kind=line.kind, code=line.code)
        db.session.add(current)
        existing[key] = current
    current.value = line.value
    current.recorded_at = line.recorded_at
    current.visit_uuid = line.source_uuid
    if line.kind == "fact":
        _set_fact(household, line.resident_key, line.code, line.value)
    return True


def states_of(household: Household) -> dict:
    """The household's current state rows, keyed by (resident_key, kind, code)."""
    rows = db.session.scalars(select(ItemState).where(ItemState.household_id == household.id))
    return {(r.resident_key, r.kind, r.code): r for r in rows}


def _set_fact(household: Household, resident_id: int, field: str, value: str) -> None:
    resident = next(r for r in household.residents if r.id == resident_id)
    setattr(resident, field, decode_fact(field, value))


def decode_fact(field: str, value: str):
    """Facts travel as strings; the resident's columns hold booleans where a fact is yes/no."""
    if field in BOOLEAN_FACTS:
        return {"yes": True, "no": False}.get(value)
    return value


def encode_fact(field: str, value) -> str | None:
    if field in BOOLEAN_FACTS:
        return None if value is None else ("yes" if value else "no")
    return value


def age_rules(plan: Plan) -> AgeRules:
    return AgeRules(plan.year, plan.adult_age, plan.young_min, plan.young_max)


def open_items_for(household: Household, items: list[ChecklistItem], rules: AgeRules,
                   states: dict) -> dict:
    """The items still open per subject: {resident id or 0: [item, ...]} (only subjects with some)."""
    result = {}
    for subject_key, eligible in _subjects(household, items, rules):
        waiting = [item for item in eligible
                   if getattr(states.get((subject_key, "item", item.code)), "value", None) not in REACHED]
        if waiting:
            result[subject_key] = waiting
    return result


def applicable_items(household: Household, items: list[ChecklistItem], rules: AgeRules) -> dict:
    """Every item that applies, per subject: {resident id or 0: [item, ...]}."""
    return {key: eligible for key, eligible in _subjects(household, items, rules) if eligible}


def _subjects(household, items, rules):
    yield 0, [i for i in items if i.applies_to != "resident" and household_eligible(i.eligibility, household)]
    for resident in household.residents:
        if not resident.moved_away:
            yield resident.id, [i for i in items
                                if i.applies_to == "resident" and resident_eligible(i.eligibility, resident, rules)]


def refresh_household(household: Household, items, rules, states: dict) -> None:
    """Recount the household's open items after its state changed."""
    household.open_items = sum(len(v) for v in open_items_for(household, items, rules, states).values())


STATUS_OF_OUTCOME = {"met": "da_tham", "refused": "da_tham",
                     "come_back": "hen_quay_lai", "nobody_home": "khong_co_nha"}


def apply_visit_outcome(household: Household, visit: Visit) -> None:
    """The household's status follows its latest visit."""
    if household.last_visit_at is not None and \
            (household.last_visit_at, household.last_visit_uuid) >= (visit.recorded_at, visit.uuid):
        return
    household.last_visit_at = visit.recorded_at
    household.last_visit_uuid = visit.uuid
    household.status = STATUS_OF_OUTCOME[visit.outcome]


def lines_of_visit(visit: Visit) -> list[Line]:
    return [Line(a.resident_id or 0, a.kind, a.code, a.value, visit.recorded_at, visit.uuid)
            for a in visit.answers]


def lines_of_change(change: Change) -> list[Line]:
    facts = change.payload.get("facts", {})
    return [Line(change.resident_id, "fact", field, value, change.recorded_at, change.uuid)
            for field, value in facts.items() if value is not None]


def recompute_household(household: Household, items, rules) -> None:
    """Rebuild the household's state from all its visits and changes, as if they arrived now."""
    db.session.execute(ItemState.__table__.delete().where(ItemState.household_id == household.id))
    for resident in household.residents:
        for field in FACT_FIELDS:
            # Facts from the household list arrive as a change too, so defaults are the true start.
            setattr(resident, field, FACT_DEFAULTS[field])
    household.status, household.last_visit_at, household.last_visit_uuid = "chua_tham", None, None
    existing: dict = {}
    visits = db.session.scalars(select(Visit).where(Visit.household_id == household.id)).all()
    changes = db.session.scalars(select(Change).where(Change.household_id == household.id,
                                                      Change.resident_id.is_not(None))).all()
    for visit in visits:
        apply_visit_outcome(household, visit)
        for line in lines_of_visit(visit):
            apply_line(household, line, existing)
    for change in changes:
        for line in lines_of_change(change):
            apply_line(household, line, existing)
    refresh_household(household, items, rules, existing)

