"""Adding households and residents to the roster, each with its change record.

A resident's facts (phone, SIM, e-payment) enter as the facts of a "resident.add" change, so the
derived state can always be rebuilt from changes and visits alone.
"""
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from .addresses import sort_key
from .extensions import db
from .models import Change, Household, Resident, Street, User, new_uuid, utcnow
from .recording import (Outcome, Rejected, apply_change_facts, checked_time, checked_uuid, facts_payload,
                        record_change)
from .state import encode_fact, refresh_counters
from .text import address_key, fold, nfc


def new_household(street: Street, house_number: str, head_name: str = "", is_business: bool = False,
                  code: str | None = None, uuid: str | None = None, user: User | None = None,
                  recorded_at: datetime | None = None) -> Household:
    house_number, head_name = nfc(house_number), nfc(head_name)
    household = Household(uuid=uuid or new_uuid(), street_id=street.id, khu_pho_id=street.khu_pho_id,
                          code=code or None, house_number=house_number, sort_key=sort_key(house_number),
                          address_key=address_key(street.name, house_number), head_name=head_name,
                          is_business=is_business, created_by_id=user.id if user else None)
    db.session.add(household)
    db.session.flush()
    outcome = record_change(user, "household.add", household.uuid, recorded_at or utcnow(), household, None,
                            {"house_number": house_number, "head_name": head_name, "is_business": is_business,
                             "code": code or None})
    _must_be_new(outcome)
    refresh_counters([household.id])  # one more household in the denominators
    return household


def new_resident(household: Household, full_name: str, birth_year: int | None, facts: dict, items, rules,
                 uuid: str | None = None, user: User | None = None,
                 recorded_at: datetime | None = None) -> Resident:
    full_name = nfc(full_name)
    resident = Resident(uuid=uuid or new_uuid(), household_id=household.id, full_name=full_name,
                        name_key=fold(full_name), birth_year=birth_year,
                        created_by_id=user.id if user else None)
    db.session.add(resident)
    db.session.flush()
    db.session.refresh(household, ["residents"])
    payload = {"full_name": full_name, "birth_year": birth_year, **facts_payload(facts)}
    outcome = record_change(user, "resident.add", resident.uuid, recorded_at or utcnow(), household, resident,
                            payload)
    _must_be_new(outcome)
    db.session.flush()
    apply_change_facts(outcome.record, household, items, rules)
    return resident


def correct_resident(user: User, resident: Resident, uuid: str, recorded_at: datetime, full_name: str,
                     birth_year: int | None, facts: dict, items, rules) -> Outcome:
    """Correct a resident's name and birth year, and record the facts that changed as a dated change.

    The change keeps the facts as sent besides those that changed, so that the same correction sent again is
    known for a duplicate even though the facts it changed are now the resident's.
    """
    household = resident.household
    uuid, recorded_at = checked_uuid(uuid), checked_time(recorded_at)
    sent = facts_payload(facts)["facts"]
    earlier = db.session.scalar(select(Change).where(Change.uuid == uuid))
    if earlier is not None:
        same = _same_correction(earlier, resident, nfc(full_name), birth_year, sent)
        return Outcome("duplicate" if same else "conflict", earlier)
    changed = {k: v for k, v in sent.items() if v != encode_fact(k, getattr(resident, k))}
    payload = {"full_name": nfc(full_name), "birth_year": birth_year, "facts": changed, "facts_sent": sent}
    outcome = record_change(user, "resident.correct", uuid, recorded_at, household, resident, payload)
    if outcome.status == "accepted":
        resident.full_name, resident.name_key = payload["full_name"], fold(payload["full_name"])
        resident.birth_year = birth_year
        db.session.flush()
        apply_change_facts(outcome.record, household, items, rules)
    return outcome


def _same_correction(earlier: Change, resident: Resident, full_name: str, birth_year: int | None,
                     sent: dict) -> bool:
    payload = earlier.payload
    if earlier.kind != "resident.correct" or earlier.resident_id != resident.id or \
            (payload.get("full_name"), payload.get("birth_year")) != (full_name, birth_year):
        return False
    if "facts_sent" in payload:
        return payload["facts_sent"] == sent
    # Kept before the facts sent were: what changed then must be among what is sent now.
    return all(sent.get(k) == v for k, v in payload.get("facts", {}).items())


def _must_be_new(outcome: Outcome) -> None:
    """A household or resident is added with a change under its own UUID; that UUID must not be taken."""
    if outcome.status != "accepted":
        raise Rejected(_("Mã định danh này đã được dùng cho một thay đổi khác; chưa lưu gì."))


def mark_moved(user: User, resident: Resident, uuid: str, recorded_at: datetime, items, rules) -> Outcome:
    """Record that a resident no longer lives here; they leave the household's open items and the targets."""
    household = resident.household
    outcome = record_change(user, "resident.moved", uuid, recorded_at, household, resident,
                            {"facts": {"moved_away": "yes"}})
    if outcome.status == "accepted":
        db.session.flush()
        apply_change_facts(outcome.record, household, items, rules)
    return outcome
