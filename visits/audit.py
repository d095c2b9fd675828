"""Who changed what and when: one AuditEntry per change of data.

Changes made through the ORM are caught by a session hook (after every flush), with the logged-in user of
the request. Bulk paths that write with Core (Excel import, sync batches, demo data) call record() once per
operation instead. Visits are their own record of who and when (Visit.user_id, received_at), so they get no
entry here; the audit page shows them beside the entries.

The log must not become a second copy of personal data: a personal field appears by name only, never with
its value.
"""
from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime

from flask import g, has_request_context
from flask_sqlalchemy.session import Session
from sqlalchemy import event, insert, inspect, select

from .extensions import db
from .models import AuditEntry, Household, KhuPho, Team, User, Ward, utcnow

# Fields whose values identify a person (residents, members) or are secrets: logged by name only.
PERSONAL_FIELDS = frozenset({
    "full_name", "name_key", "head_name", "phone", "birth_year", "password_hash", "username",
    "house_number", "address", "address_key", "sort_key", "details", "notes", "outcome", "certificate",
})
# Derived from visits and changes (which are their own record), or bookkeeping: not a change worth a line.
DERIVED_FIELDS = frozenset({
    "status", "last_visit_at", "last_visit_uuid", "open_items", "updated_at",
    "phone_kind", "sim", "handset_2g_only", "has_epay", "moved_away",
})
# Tables that are records of events themselves, derived state, counts or scratch: never audited row by row.
NOT_AUDITED = frozenset({
    "audit_entry", "visit", "visit_answer", "item_state", "change", "sync_conflict", "household_contribution",
    "indicator_count", "qr_scan", "import_row", "import_job",
})

_paused: ContextVar[bool] = ContextVar("audit_paused", default=False)
# Who acts outside a request (a CLI command may set it); None: the system itself.
acting_user_id: ContextVar[int | None] = ContextVar("audit_acting_user_id", default=None)


def record(action: str, entity: str, entity_id: int | None = None, khu_pho_id: int | None = None,
           details: dict | None = None, ward_id: int | None = None, user_id: int | None = None) -> None:
    """Log one operation explicitly (an import job, a sync batch, an export), in the caller's transaction.

    The ward is the khu phố's, else the acting user's; personal fields in details are kept by name only.
    """
    user_id = user_id if user_id is not None else current_user_id()
    if ward_id is None and khu_pho_id is not None:
        ward_id = db.session.scalar(select(KhuPho.ward_id).where(KhuPho.id == khu_pho_id))
    if ward_id is None and user_id is not None:
        ward_id = db.session.scalar(select(User.ward_id).where(User.id == user_id))
    db.session.add(AuditEntry(at=utcnow(), user_id=user_id, action=action, entity=entity, entity_id=entity_id,
                              khu_pho_id=khu_pho_id, ward_id=ward_id, details=safe_details(details or {})))


def record_sync(results: list[dict], user) -> None:
    """One entry for a sync batch that wrote something: how many items came, and how each was answered."""
    counts = Counter(str(r.get("status")) for r in results)
    if not counts["accepted"]:
        return
    khu_pho_id = user.team.khu_pho_id if user.team_id and user.team else None  # read with the user (auth.load_user)
    record("sync", "visit", khu_pho_id=khu_pho_id, details={"items": len(results), **counts},
           ward_id=user.ward_id, user_id=user.id)


@contextmanager
def paused():
    """No row-by-row entries inside (a bulk operation that records itself once)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def current_user_id() -> int | None:
    """The logged-in user of the request, read without loading anything; else the CLI's acting user."""
    if not has_request_context():
        return acting_user_id.get()
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    identity = inspect(user).identity
    return identity[0] if identity else None


def safe_details(details: dict) -> dict:
    """Details fit for the log: values of personal fields dropped, their names kept."""
    personal = sorted(k for k in details if k in PERSONAL_FIELDS)
    kept = {k: plain(v) for k, v in details.items() if k not in PERSONAL_FIELDS}
    if personal:
        kept["personal"] = sorted(set(kept.get("personal", [])) | set(personal))
    return kept


def plain(value):
    """A value as JSON can hold it."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


# --- Changes made through the ORM -------------------------------------------------------------------------

@event.listens_for(Session, "after_flush")
def _log_flush(session, _context) -> None:
    """After each flush (ids known, histories still there): an entry per audited row added, changed, deleted."""
    if _paused.get():
        return
    found = [(obj, "create") for obj in session.new] + [(obj, "update") for obj in session.dirty] + \
        [(obj, "delete") for obj in session.deleted]
    rows = []
    for obj, action in found:
        table = getattr(obj, "__tablename__", None)
        if table is None or table in NOT_AUDITED:
            continue
        details = _details(obj, action)
        if details is None:
            continue
        rows.append((obj, action, table, details))
    if not rows:
        return
    connection = session.connection()
    user_id = current_user_id()
    places = Places(connection)
    at = utcnow()
    connection.execute(insert(AuditEntry.__table__), [
        {"at": at, "user_id": user_id, "action": action, "entity": table, "entity_id": _entity_id(obj),
         **places.of(obj), "details": details} for obj, action, table, details in rows])


def _details(obj, action: str) -> dict | None:
    """Which fields: values for plain ones, names for personal ones; None when nothing worth a line changed."""
    state = inspect(obj)
    values, changed, personal = {}, {}, []
    for attr in state.mapper.column_attrs:
        key = attr.key
        if action == "update":
            history = state.attrs[key].history
            if not history.has_changes() or key in DERIVED_FIELDS:
                continue
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if before == after:
                continue
            if key in PERSONAL_FIELDS:
                personal.append(key)
            else:
                changed[key] = [plain(before), plain(after)]
        else:
            value = state.dict.get(key)  # what the row was written with, or held when deleted
            if key in PERSONAL_FIELDS:
                if value not in (None, ""):
                    personal.append(key)
            elif key not in DERIVED_FIELDS and key != "id":
                values[key] = plain(value)
    if action == "update":
        if not changed and not personal:
            return None
        return {"changed": changed, **({"personal": sorted(personal)} if personal else {})}
    return {"fields": values, **({"personal": sorted(personal)} if personal else {})}


def _entity_id(obj) -> int | None:
    """The row's id (its first key column), as the session holds it: a new row's is set by now."""
    state = inspect(obj)
    column = state.mapper.primary_key[0]
    value = state.dict.get(state.mapper.get_property_by_column(column).key)
    if value is None and state.identity:
        value = state.identity[0]
    return value if isinstance(value, int) else None


class Places:
    """The khu phố and ward an audited row belongs to, looked up with few queries per flush."""

    def __init__(self, connection):
        self.connection = connection
        self.wards: dict[int, int | None] = {}

    def of(self, obj) -> dict:
        if isinstance(obj, Ward):
            return {"khu_pho_id": None, "ward_id": _entity_id(obj)}
        if isinstance(obj, KhuPho):
            return {"khu_pho_id": _entity_id(obj), "ward_id": attribute(obj, "ward_id")}
        khu_pho_id = self.khu_pho_of(obj)
        ward_id = self.ward_of(khu_pho_id) if khu_pho_id is not None else attribute(obj, "ward_id")
        return {"khu_pho_id": khu_pho_id, "ward_id": ward_id}

    def khu_pho_of(self, obj) -> int | None:
        if attribute(obj, "khu_pho_id") is not None:
            return attribute(obj, "khu_pho_id")
        if attribute(obj, "household_id") is not None:
            return self.scalar(select(Household.khu_pho_id).where(Household.id == attribute(obj, "household_id")))
        if attribute(obj, "team_id") is not None:
            return self.scalar(select(Team.khu_pho_id).where(Team.id == attribute(obj, "team_id")))
        if attribute(obj, "session_id") is not None:  # a group session's attendee
            from .models import GroupSession
            return self.scalar(select(GroupSession.khu_pho_id).where(GroupSession.id == attribute(obj, "session_id")))
        if not isinstance(obj, User) and attribute(obj, "user_id") is not None:  # e.g. a training record
            return self.scalar(select(Team.khu_pho_id).join(User, User.team_id == Team.id)
                               .where(User.id == attribute(obj, "user_id")))
        return None

    def ward_of(self, khu_pho_id: int) -> int | None:
        if khu_pho_id not in self.wards:
            self.wards[khu_pho_id] = self.scalar(select(KhuPho.ward_id).where(KhuPho.id == khu_pho_id))
        return self.wards[khu_pho_id]

    def scalar(self, query):
        return self.connection.execute(query).scalar()


def attribute(obj, name: str):
    """A column's value; for a row just deleted only what the session still holds (it cannot be loaded)."""
    state = inspect(obj)
    if name not in state.mapper.column_attrs:
        return None
    if name in state.dict or state.deleted or state.was_deleted:
        return state.dict.get(name)
    return getattr(obj, name)

