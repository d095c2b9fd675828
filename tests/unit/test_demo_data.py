"""The demo ward: realistic, deterministic, and its bulk-written state equal to the reference path."""
import random
import shutil
import unicodedata
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from tests.conftest import base_config
from visits import create_app
from visits.addresses import sort_key
from visits.checklist import plan_items, plan_rules
from visits.demo_data import KHU_PHO_COUNT, WardDraft, build_demo_ward, database_is_empty
from visits.extensions import db
from visits.models import (Change, Household, ItemState, KhuPho, Resident, Street, Team, User, Visit, VisitAnswer,
                           Ward, utcnow)
from visits.passwords import verify_password
from visits.plans import ensure_default_plan
from visits.recording import FACT_VALUES, VisitInput, visit_digest
from visits.roster import new_household, new_resident
from visits.state import FACT_FIELDS, recompute_household
from visits.text import address_key, fold

HOUSEHOLDS, SEED = 120, 7


def has_diacritics(name: str) -> bool:
    return fold(name) != name.lower()


def snapshot() -> dict:
    """Everything derived from changes and visits, per household, read straight from the tables."""
    states = defaultdict(set)
    for row in db.session.execute(select(ItemState.household_id, ItemState.resident_key, ItemState.kind,
                                         ItemState.code, ItemState.value, ItemState.recorded_at,
                                         ItemState.visit_uuid)):
        states[row[0]].add(tuple(row[1:]))
    facts = defaultdict(dict)
    for row in db.session.execute(select(Resident.household_id, Resident.id, *(getattr(Resident, f) for f in
                                                                            FACT_FIELDS))):
        facts[row[0]][row[1]] = tuple(row[2:])
    return {h.id: (h.status, h.open_items, h.last_visit_at, h.last_visit_uuid, states[h.id], facts[h.id])
            for h in db.session.execute(select(Household.id, Household.status, Household.open_items,
                                               Household.last_visit_at, Household.last_visit_uuid))}


def test_demo_ward_is_realistic_and_matches_the_reference_path(app):
    with app.app_context():
        assert database_is_empty()
        logins = build_demo_ward(households=HOUSEHOLDS, seed=SEED)
        assert not database_is_empty()

        ward = db.session.scalar(select(Ward))
        assert (ward.code, ward.name, ward.province) == ("HG", "Phường Hồng Gai", "Quảng Ninh")
        khu_phos = db.session.scalars(select(KhuPho).order_by(KhuPho.id)).all()
        assert len(khu_phos) == KHU_PHO_COUNT == 12
        assert [k.code for k in khu_phos] == [f"KP{n:02d}" for n in range(1, 13)]
        assert [k.name for k in khu_phos] == [f"Khu phố {n}" for n in range(1, 13)]

        # A team per khu phố, a leader and three members each; every street has one of them.
        for number, khu_pho in enumerate(khu_phos, start=1):
            team = db.session.scalar(select(Team).where(Team.khu_pho_id == khu_pho.id))
            assert team.name == f"Tổ công nghệ số cộng đồng Khu phố {number}"
            people = db.session.scalars(select(User).where(User.team_id == team.id)).all()
            assert sorted((u.username, u.role) for u in people) == [
                (f"totruong{number:02d}", "leader"), (f"tv{number:02d}a", "member"),
                (f"tv{number:02d}b", "member"), (f"tv{number:02d}c", "member")]
            assert all(u.ward_id == ward.id and len(u.full_name.split()) == 3 for u in people)
            streets = db.session.scalars(select(Street).where(Street.khu_pho_id == khu_pho.id)
                                         .order_by(Street.position)).all()
            assert 6 <= len(streets) <= 12
            members = sorted(u.id for u in people if u.role == "member")
            assert [s.member_id for s in streets] == [members[i % 3] for i in range(len(streets))]
            assert all(s.name.startswith(("Đường ", "Phố ", "Ngõ ", "Tổ ")) for s in streets)
        staff = db.session.scalar(select(User).where(User.username == "canbo"))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        assert (staff.role, staff.ward_id, admin.role) == ("staff", ward.id, "admin")

        # The logins printed can really log in, one of each role; one hash per password.
        by_name = {username: password for username, password, _ in logins}
        assert {"admin", "canbo", "totruong01", "tv01a", "tv12c"} <= set(by_name)
        assert all(role for _, _, role in logins)
        users = {u.username: u for u in db.session.scalars(select(User))}
        for username in ("tv01a", "totruong01", "canbo", "admin"):
            assert verify_password(users[username].password_hash, by_name[username]), username
        assert not verify_password(users["tv01a"].password_hash, by_name["totruong01"])
        assert len({u.password_hash for u in users.values()}) == 4

        # Households and residents look like a Vietnamese household list.
        households = db.session.scalars(select(Household).options(selectinload(Household.residents))
                                        .order_by(Household.id)).all()
        assert len(households) == HOUSEHOLDS
        street_names = dict(db.session.execute(select(Street.id, Street.name)).all())
        residents = [r for h in households for r in h.residents]
        for household in households:
            assert 1 <= len(household.residents) <= 6
            assert household.head_name == household.residents[0].full_name
            assert household.sort_key == sort_key(household.house_number)
            assert household.address_key == address_key(street_names[household.street_id], household.house_number)
        assert 2.5 <= len(residents) / len(households) <= 3.6
        assert 1 <= sum(h.is_business for h in households) <= 0.2 * len(households)
        assert any("/" in h.house_number for h in households) and any(h.house_number.isdigit() for h in households)
        for resident in residents:
            assert resident.name_key == fold(resident.full_name)
            assert unicodedata.normalize("NFC", resident.full_name) == resident.full_name
            assert len(resident.full_name.split()) == 3
            assert 2024 - 90 <= resident.birth_year <= 2024
        assert sum(map(has_diacritics, (r.full_name for r in residents))) >= 0.9 * len(residents)
        assert {"Nguyễn", "Trần", "Lê"} <= {r.full_name.split()[0] for r in residents}
        ages = [2024 - r.birth_year for r in residents]
        assert min(ages) < 10 and max(ages) > 75
        assert {r.phone_kind for r in residents} == {"none", "basic", "smart"}
        children = [r for r in residents if 2024 - r.birth_year < 10]
        assert sum(r.phone_kind == "none" for r in children) > 0.8 * len(children)

        # Each household and resident entered with the change roster.py writes.
        changes = db.session.scalars(select(Change)).all()
        household_adds = {c.uuid: c for c in changes if c.kind == "household.add"}
        resident_adds = {c.uuid: c for c in changes if c.kind == "resident.add"}
        assert len(changes) == len(households) + len(residents)
        for household in households:
            change = household_adds[household.uuid]
            assert (change.household_id, change.resident_id) == (household.id, None)
            assert change.payload == {"house_number": household.house_number, "head_name": household.head_name,
                                      "is_business": household.is_business, "code": household.code}
        for resident in residents:
            change = resident_adds[resident.uuid]
            assert (change.household_id, change.resident_id) == (resident.household_id, resident.id)
            assert set(change.payload) == {"full_name", "birth_year", "facts"}
            assert (change.payload["full_name"], change.payload["birth_year"]) == (resident.full_name,
                                                                                    resident.birth_year)
            assert "phone_kind" in change.payload["facts"]
            for name, value in change.payload["facts"].items():
                assert value in FACT_VALUES[name], (name, value)

        # Some households were visited, by a member of their own khu phố, with answers.
        visits = db.session.scalars(select(Visit).options(selectinload(Visit.answers))).all()
        visited = {v.household_id for v in visits}
        assert 0.05 * HOUSEHOLDS <= len(visited) <= 0.25 * HOUSEHOLDS
        assert "met" in {v.outcome for v in visits} and {"nobody_home", "come_back"} & {v.outcome for v in visits}
        assert db.session.scalar(select(func.count()).select_from(VisitAnswer).where(VisitAnswer.kind == "item"))
        by_id = {h.id: h for h in households}
        for visit in visits:
            household = by_id[visit.household_id]
            assert visit.user.role == "member" and visit.user.team.khu_pho_id == household.khu_pho_id
            assert visit.recorded_at <= utcnow() and visit.recorded_at.year == 2024
            data = VisitInput(uuid=visit.uuid, recorded_at=visit.recorded_at, outcome=visit.outcome,
                              notes=visit.notes, met=visit.met_resident_ids,
                              answers=[(a.resident_id, a.code, a.value) for a in visit.answers if a.kind == "item"],
                              facts=[(a.resident_id, a.code, a.value) for a in visit.answers if a.kind == "fact"])
            assert visit.content_hash == visit_digest(household, data)
        assert {h.status for h in households if h.id not in visited} == {"chua_tham"}
        assert {h.status for h in households if h.id in visited} - {"chua_tham"}

        # The bulk path equals the reference: rebuilding every household from its changes and visits
        # changes nothing, neither states, nor fact columns, nor status and open items.
        built = snapshot()
        assert sum(len(s[4]) for s in built.values()) >= 2 * len(residents)
        assert all(built[h.id][1] > 0 for h in households if h.id not in visited)
        items, rules = plan_items(), plan_rules()
        for household in households:
            recompute_household(household, items, rules)
        db.session.flush()
        rebuilt = snapshot()
        assert rebuilt.keys() == built.keys()
        for household_id in built:
            assert rebuilt[household_id] == built[household_id], household_id

        # And roster.py itself, given an unvisited household's list entries, writes the same.
        model = next(h for h in households if h.id not in visited and len(h.residents) >= 3)
        street = db.session.get(Street, model.street_id)
        copy = new_household(street, model.house_number + "B", model.head_name, is_business=model.is_business,
                             code=model.code)
        for resident in model.residents:
            payload = resident_adds[resident.uuid].payload
            new_resident(copy, payload["full_name"], payload["birth_year"], payload["facts"], items, rules)
        db.session.flush()
        copied = [db.session.scalar(select(Change).where(Change.uuid == r.uuid)) for r in copy.residents]
        assert [c.payload for c in copied] == [resident_adds[r.uuid].payload for r in model.residents]
        after = snapshot()
        assert after[copy.id][:2] == after[model.id][:2]
        assert [after[copy.id][5][r.id] for r in copy.residents] == [after[model.id][5][r.id] for r in model.residents]

        def shape(household):
            position = {r.id: n for n, r in enumerate(household.residents)}
            return sorted((position.get(key, -1), kind, code, value) for key, kind, code, value, *_ in
                          after[household.id][4])
        assert shape(copy) == shape(model)
        db.session.rollback()


def names_and_places() -> dict:
    return {
        "residents": [tuple(r) for r in db.session.execute(
            select(Resident.uuid, Resident.full_name, Resident.birth_year, Resident.phone_kind, Resident.sim,
                   Resident.has_epay).order_by(Resident.uuid))],
        "households": [tuple(r) for r in db.session.execute(
            select(Household.uuid, Household.house_number, Street.name, Household.is_business, Household.status,
                   Household.open_items).join(Street).order_by(Household.uuid))],
        "visits": [tuple(r) for r in db.session.execute(
            select(Visit.uuid, Visit.recorded_at, Visit.outcome, Visit.notes).order_by(Visit.uuid))],
        "users": [tuple(r) for r in db.session.execute(select(User.username, User.full_name).order_by(User.username))],
    }


def test_the_same_seed_gives_the_same_ward(app, sqlite_template, tmp_path, monkeypatch):
    with app.app_context():
        build_demo_ward(households=60, seed=SEED)
        first = names_and_places()
        items, rules = plan_items(), plan_rules()
        drafts = {seed: WardDraft(random.Random(seed), 60, items, rules, utcnow()) for seed in (SEED, SEED + 1)}
        drafts = {seed: sorted(r.full_name for h in draft.households for r in h.residents)
                  for seed, draft in drafts.items()}
    assert drafts[SEED] == sorted(row[1] for row in first["residents"])
    assert drafts[SEED] != drafts[SEED + 1]

    path = tmp_path / "again.sqlite"
    shutil.copy(sqlite_template, path)
    again = create_app(base_config(f"sqlite:///{path}"))
    with again.app_context():
        ensure_default_plan()
        db.session.commit()
        monkeypatch.setattr("visits.demo_data.WRITE_BATCH", 7)  # written 7 households at a time: the same ward
        build_demo_ward(households=60, seed=SEED)
        second = names_and_places()
        db.session.remove()
        db.engine.dispose()
    assert len(first["households"]) == 60 and len(first["residents"]) > 100 and first["visits"]
    assert second == first


def test_cli_builds_once_and_prints_logins(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo-data", "--households", "50", "--if-empty"])
    assert result.exit_code == 0, result.output
    for login in ("admin", "quantri12345", "canbo", "canbo12345", "totruong01", "totruong123", "tv12c",
                  "thanhvien123"):
        assert login in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Household)) == 50
        users = db.session.scalar(select(func.count()).select_from(User))

    skipped = runner.invoke(args=["demo-data", "--households", "50", "--if-empty"])
    assert skipped.exit_code == 0, skipped.output
    assert "bỏ qua" in skipped.output
    # `make run` prints the logins every time, so the skip still lists them, in short.
    assert "totruong01 … totruong12" in skipped.output and "thanhvien123" in skipped.output

    refused = runner.invoke(args=["demo-data", "--households", "10"])
    assert refused.exit_code != 0 and "HG" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Household)) == 50
        assert db.session.scalar(select(func.count()).select_from(User)) == users


def test_the_demo_ward_is_one_audit_entry(app):
    from visits.models import AuditEntry
    with app.app_context():
        build_demo_ward(households=40, seed=3)
        found = db.session.execute(select(AuditEntry.action, AuditEntry.entity, AuditEntry.details).where(
            AuditEntry.entity.not_in(("plan", "target", "checklist_item")))).all()  # the app fixture's plan
        assert [(action, entity) for action, entity, _details in found] == [("demo_data", "ward")]
        assert found[0].details == {"households": 40, "seed": 3}
