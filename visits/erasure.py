"""Erasing a resident's identifying data for good, while their answers still count (anonymously) in the targets.

What goes: the name (and its search key), the phone, the household head's name when it is theirs, the same in
the change records that carried them, in sync conflicts kept for review, and the notes of the household's visits
(free text that may name anyone). What stays: the row itself with its birth year and facts (phone kind, SIM, …)
and every answer, because the targets count them by age and facts; nothing there names the person.
The counters therefore do not move, and `flask recompute` gives the same numbers before and after.
"""
import hashlib
import hmac

from flask import current_app
from sqlalchemy import select, update

from . import audit
from .extensions import db
from .models import AuditEntry, Change, Household, Resident, SyncConflict, User, Visit, utcnow
from .text import fold

ERASED_NAME = "(đã xóa)"
# Keys of change payloads and sync items that hold identifying data.
IDENTIFYING_KEYS = ("full_name", "phone", "head_name")


def erase_resident(resident: Resident, by: User | None, reason: str = "request") -> None:
    """Remove the resident's name and phone everywhere they are kept; in the caller's transaction."""
    db.session.flush()  # what came before is logged as usual
    with audit.paused():  # one "erase" entry below says it all, without a line per field and table
        household = resident.household
        old_name = resident.full_name
        _erase_row(resident)
        if household.head_name and fold(household.head_name) == fold(old_name):
            household.head_name = ""
        _scrub_changes(household, resident, old_name)
        _scrub_conflicts(resident.uuid)
        _scrub_notes(household)
        db.session.flush()
    audit.record("erase", "resident", resident.id, khu_pho_id=household.khu_pho_id,
                 details={"reason": reason, "fields": ["full_name", "phone", "head_name", "notes"]},
                 user_id=by.id if by else None)
    _scrub_audit(resident.id)


def erase_household(household: Household, by: User | None, reason: str = "refused") -> None:
    """Every resident of the household erased, and its head's name: what a household that refuses gets."""
    for resident in household.residents:
        if resident.erased_at is None:
            erase_resident(resident, by, reason)
    with audit.paused():
        household.head_name = ""
        _scrub_changes(household, None, None)
        db.session.flush()


def erased_key(name: str) -> str:
    """A keyed hash (HMAC-SHA256 under the app's SECRET_KEY) of a name as fold() writes it: a household list
    imported later that names the person again is recognised, and the row left out (visits/imports/checking.py).
    Without the key the hash says nothing; changing SECRET_KEY makes the app forget these keys."""
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, b"erased-resident:" + fold(name).encode(), hashlib.sha256).hexdigest()


def _erase_row(resident: Resident) -> None:
    if resident.erased_at is None:  # erased again: the name is gone already, keep the first key
        resident.erased_key = erased_key(resident.full_name)
    resident.full_name, resident.name_key, resident.phone = ERASED_NAME, "", None
    resident.erased_at = utcnow()


def _scrub_changes(household: Household, resident: Resident | None, old_name: str | None) -> None:
    """The change records keep the name and phone they carried: the resident's own, and the household's
    head name where it was theirs (resident None: every head name of the household)."""
    changes = db.session.scalars(select(Change).where(Change.household_id == household.id)).all()
    for change in changes:
        payload = dict(change.payload or {})
        if resident is not None and change.resident_id == resident.id:
            payload = {k: v for k, v in payload.items() if k not in IDENTIFYING_KEYS}
        elif change.resident_id is None:
            payload = _without_head(payload, old_name)
        if payload != change.payload:
            change.payload = payload


def _without_head(payload: dict, old_name: str | None) -> dict:
    """A household change's payload without the head's name (only when it is old_name, if given)."""
    def is_theirs(value) -> bool:
        return bool(value) and (old_name is None or fold(value) == fold(old_name))
    payload = dict(payload)
    if is_theirs(payload.get("head_name")):
        payload["head_name"] = ""
    if isinstance(payload.get("changes"), dict) and is_theirs(payload["changes"].get("head_name")):
        payload["changes"] = {**payload["changes"], "head_name": ""}
    return payload


def _scrub_conflicts(resident_uuid: str) -> None:
    """Items kept for review that name the resident (a new resident or a correction) lose the name."""
    for conflict in db.session.scalars(select(SyncConflict).where(SyncConflict.kind.in_(("resident", "correction")))):
        payload = conflict.payload or {}
        if resident_uuid in (payload.get("uuid"), payload.get("resident")):
            conflict.payload = {k: v for k, v in payload.items() if k not in IDENTIFYING_KEYS}


def _scrub_notes(household: Household) -> None:
    # The visit's content hash stays, so a phone sending the same visit again still gets "duplicate".
    db.session.execute(update(Visit).where(Visit.household_id == household.id, Visit.notes != "").values(notes=""))


def _scrub_audit(resident_id: int) -> None:
    """The log keeps no personal values, by construction; make sure of it for this resident's entries."""
    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "resident",
                                                             AuditEntry.entity_id == resident_id)):
        clean = audit.safe_details(entry.details or {})
        for part in ("fields", "changed"):
            if isinstance(clean.get(part), dict):
                clean[part] = audit.safe_details(clean[part])
        if clean != entry.details:
            entry.details = clean
