"""Bad input, generated (hypothesis): the sync API and the forms answer it with a clear 4xx, and write nothing.

Random and malformed JSON, wrong types, unknown ids, dates far off, huge bodies, and Unicode edge cases: a
name typed with combining diacritics is the same name as the precomposed one (NFC everywhere), and control
characters or lone surrogates never reach the database. Example counts are kept small: the suite runs twice.
"""
import hashlib
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from visits.extensions import db
from visits.models import Household, Resident
from visits.request_input import clean_text
from visits.text import nfc

from tests.fixtures import login

FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
# Vietnamese letters, their diacritics as combining marks, spaces, and characters a database refuses.
vietnamese = st.text(alphabet=st.sampled_from(list("aăâeêioôơuưyđAĂÂĐ nguyễnNGUYỄN") + [
    "\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b", "\x00", "\x1f", "\t"]),
    max_size=30)


def checksum(app) -> str:
    digest = hashlib.sha256()
    with app.app_context(), db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = sorted(repr(tuple(row)) for row in conn.exec_driver_sql(f'SELECT * FROM "{table.name}"'))
            digest.update(f"{table.name}:{''.join(rows)}".encode())
    return digest.hexdigest()


@pytest.fixture
def member(as_user):
    client = as_user("member1")
    client.token = client.get("/api/session").get_json()["csrf_token"]
    return client


@pytest.fixture
def staff(app, area):
    client = app.test_client()
    login(client, "staff")
    client.token = client.get("/api/session").get_json()["csrf_token"]
    return client


def now(minutes: float = 1) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()


def household_uuid(app, key) -> str:
    with app.app_context():
        return db.session.get(Household, key).uuid


def post_json(client, body):
    return client.post("/api/sync", json=body, headers={"X-CSRFToken": client.token})


def refused_batch(response) -> bool:
    """A 400 naming the problem, or a batch whose every item is refused (rejected, or held as unknown)."""
    if response.status_code == 400:
        return bool(response.get_json()["error"])
    return response.status_code == 200 and all(
        r["status"] in ("rejected", "not_yet") and r.get("reason") for r in response.get_json()["results"])


# --- The sync API ------------------------------------------------------------------------------------------

@FEW
@given(body=json_values | st.fixed_dictionaries({"items": st.lists(json_values, max_size=5)}))
def test_any_json_body_is_refused_clearly_and_writes_nothing(app, member, body):
    before = checksum(app)
    response = post_json(member, body)
    assert refused_batch(response), response.get_data(as_text=True)[:300]
    assert checksum(app) == before


@FEW
@given(raw=st.binary(max_size=200))
def test_malformed_bytes_are_a_400_and_write_nothing(app, member, raw):
    before = checksum(app)
    response = member.post("/api/sync", data=raw, content_type="application/json",
                           headers={"X-CSRFToken": member.token})
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]
    assert checksum(app) == before


def good_visit(app, area, **fields) -> dict:
    item = {"type": "visit", "uuid": str(uuid.uuid4()), "household": household_uuid(app, area["h12"]),
            "recorded_at": now(), "outcome": "met", "notes": "",
            "answers": [{"resident": None, "code": "ecommerce_guide", "value": "done"}], "facts": [], "met": []}
    item.update(fields)
    return item


def test_the_unbroken_visit_is_accepted(app, area, member):
    """The item the property below breaks is a good one: only the broken field refuses it."""
    assert post_json(member, {"items": [good_visit(app, area)]}).get_json()["results"][0]["status"] == "accepted"


far_off = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).filter(
    lambda d: not datetime(2020, 1, 1) <= d <= datetime.now() + timedelta(days=2))
wrong_text = st.none() | st.integers() | st.floats(allow_nan=False) | st.booleans() | st.lists(st.text(), max_size=2)
broken = st.one_of(
    st.tuples(st.just("uuid"), wrong_text | st.text(max_size=50).filter(lambda s: not _is_uuid(s))),
    st.tuples(st.just("household"), wrong_text | st.text(max_size=50)),
    st.tuples(st.just("recorded_at"), wrong_text | st.text(max_size=30) | far_off.map(lambda d: d.isoformat() + "Z")),
    st.tuples(st.just("outcome"), wrong_text | st.text(max_size=30).filter(
        lambda s: s not in ("met", "nobody_home", "come_back", "refused"))),
    st.tuples(st.just("answers"), st.text() | st.integers() | st.lists(
        st.fixed_dictionaries({"code": st.text(max_size=10), "value": wrong_text | st.text(max_size=5)}),
        min_size=1, max_size=3)),
    st.tuples(st.just("facts"), st.text(min_size=1) | st.lists(st.fixed_dictionaries(
        {"resident": st.text(max_size=40), "field": st.text(max_size=10), "value": json_values}), min_size=1)),
    st.tuples(st.just("met"), st.text(min_size=1) | st.lists(st.integers() | st.text(max_size=40), min_size=1)),
    st.tuples(st.just("type"), wrong_text | st.text(max_size=20).filter(
        lambda s: s not in ("visit", "household", "resident", "correction", "moved"))),
)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@FEW
@given(change=broken)
def test_a_visit_with_one_field_wrong_is_refused_with_a_reason_and_writes_nothing(app, area, member, change):
    name, value = change
    item = good_visit(app, area, **{name: value})
    before = checksum(app)
    response = post_json(member, {"items": [item]})
    assert refused_batch(response), (name, value, response.get_data(as_text=True)[:300])
    assert checksum(app) == before


@FEW
@given(count=st.integers(101, 150))
def test_too_many_items_in_one_batch_is_a_400(app, member, count):
    before = checksum(app)
    response = post_json(member, {"items": [{}] * count})
    assert response.status_code == 400 and "100" in response.get_json()["error"]
    assert checksum(app) == before


def test_a_body_over_the_size_limit_is_a_413_and_writes_nothing(app, area, member):
    before = checksum(app)
    notes = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = post_json(member, {"items": [good_visit(app, area, notes=notes)]})
    assert response.status_code == 413 and "quá lớn" in response.get_json()["error"]
    page = member.post(f"/streets/{area['nguyen_trai']}/households/new",
                       data={"csrf_token": member.token, "house_number": notes, "change_uuid": str(uuid.uuid4())})
    assert page.status_code == 413 and "quá lớn" in page.get_data(as_text=True)
    assert checksum(app) == before


@FEW
@given(name=vietnamese.filter(lambda s: clean_text(s).strip()))
@example(name="Nguye\u0302\u0303n\x00 Va\u0306n \ud800An")
def test_a_name_is_one_name_however_it_was_composed(app, area, member, name):
    """Sent decomposed, stored precomposed (and without control characters); the same item sent again
    precomposed is a replay, not a conflicting second version."""
    item_uuid = str(uuid.uuid4())
    item = {"type": "resident", "uuid": item_uuid, "household": household_uuid(app, area["h12"]),
            "recorded_at": now(), "full_name": unicodedata.normalize("NFD", name), "facts": {}}
    first = post_json(member, {"items": [item]}).get_json()["results"][0]
    assume(first["status"] == "accepted")  # a name that is only spaces is refused, as it should be
    with app.app_context():
        stored = db.session.scalar(select(Resident.full_name).where(Resident.uuid == item_uuid))
    assert stored == nfc(clean_text(name)) and unicodedata.is_normalized("NFC", stored) and "\x00" not in stored
    again = dict(item, full_name=unicodedata.normalize("NFC", name))
    assert post_json(member, {"items": [again]}).get_json()["results"][0]["status"] == "duplicate"


# --- The forms ---------------------------------------------------------------------------------------------

@FEW
@example(full_name="Nguye\u0302\u0303n\x00", birth_year="1990")
@given(full_name=st.text(max_size=200) | vietnamese, birth_year=st.text(max_size=8) | st.integers().map(str))
def test_the_resident_form_stores_clean_text_or_refuses_and_writes_nothing(app, area, member, full_name, birth_year):
    before = checksum(app)
    change = str(uuid.uuid4())
    response = member.post(f"/households/{area['h12']}/residents/new", data={
        "csrf_token": member.token, "change_uuid": change, "full_name": full_name, "birth_year": birth_year,
        "confirm_duplicate": "y", "phone_kind": "none", "sim": "unknown", "handset_2g_only": "no", "has_epay": ""})
    if response.status_code == 303:
        with app.app_context():
            stored = db.session.scalar(select(Resident.full_name).where(Resident.uuid == change))
        assert stored == nfc(clean_text(full_name))
    else:
        assert response.status_code == 422 and 'class="error' in response.get_data(as_text=True)
        assert checksum(app) == before


@FEW
@given(outcome=st.text(max_size=12), notes=st.text(max_size=50),
       extra=st.dictionaries(st.text(min_size=1, max_size=12).map(lambda s: "a-" + s), st.text(max_size=8), max_size=3),
       recorded_at=st.none() | st.text(max_size=25) | far_off.map(lambda d: d.isoformat()))
def test_the_visit_form_saves_or_refuses_and_writes_nothing(app, area, member, outcome, notes, extra, recorded_at):
    before = checksum(app)
    data = {"csrf_token": member.token, "visit_uuid": str(uuid.uuid4()), "outcome": outcome, "notes": notes, **extra}
    if recorded_at is not None:
        data["recorded_at"] = recorded_at
    response = member.post(f"/households/{area['h12']}/visits", data=data)
    assert response.status_code in (303, 422), response.status_code
    if response.status_code == 422:
        assert checksum(app) == before


@FEW
@given(day=st.dates().map(str) | st.text(max_size=12), course=st.text(max_size=250), certificate=st.text(max_size=100))
def test_the_training_form_saves_or_refuses_and_writes_nothing(app, area, staff, day, course, certificate):
    before = checksum(app)
    response = staff.post("/training/", data={"csrf_token": staff.token, "user_id": area["member1"],
                                              "course": course, "completed_on": day, "certificate": certificate})
    assert response.status_code in (303, 400), response.status_code
    if response.status_code == 400:
        assert checksum(app) == before
    else:
        assert "2020-01-01" <= day <= datetime.now().date().isoformat()


@FEW
@given(number=st.integers(min_value=10_000) | st.integers(max_value=-1))
def test_an_unknown_or_impossible_id_is_a_404(app, area, member, number):
    for path in (f"/households/{number}", f"/streets/{number}", f"/residents/{number}/edit", f"/khu-pho/{number}"):
        assert member.get(path).status_code == 404, path
    before = checksum(app)
    response = member.post(f"/households/{number}/visits", data={
        "csrf_token": member.token, "visit_uuid": str(uuid.uuid4()), "outcome": "met"})
    assert response.status_code == 404 and checksum(app) == before
