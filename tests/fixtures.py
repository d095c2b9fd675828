"""A small hand-built ward: two khu phố, each with a team, a leader and members, streets and households."""
import re
import threading
from dataclasses import dataclass, field

import pytest

from visits.checklist import plan_items, plan_rules
from visits.extensions import db
from visits.models import Household, KhuPho, Street, Team, User, Ward
from visits.passwords import hash_password
from visits.roster import new_household, new_resident

PASSWORD = "mat-khau-thu-nghiem"
_HASH = hash_password(PASSWORD)  # one Argon2 hash for every test user keeps the suite fast


@dataclass
class Area:
    ids: dict = field(default_factory=dict)

    def __getitem__(self, name):
        return self.ids[name]


def add_household(street: Street, number: str, head: str, residents=(), business=False) -> Household:
    """Add a household the way a household list does: roster facts as changes."""
    household = new_household(street, number, head, is_business=business)
    for name, year, phone, sim in residents:
        new_resident(household, name, year, {"phone_kind": phone, "sim": sim}, plan_items(), plan_rules())
    return household


def add_user(username, role, team=None, ward=None) -> User:
    user = User(username=username, password_hash=_HASH, role=role, full_name=username.title(),
                team_id=team.id if team else None, ward_id=ward.id if ward else None)
    db.session.add(user)
    db.session.flush()
    return user


@pytest.fixture
def area(app) -> Area:
    """Ward W: KP1 (streets Nguyễn Trãi with 4 households, Lê Lợi with 1) and KP2 (Hạ Long, 1 household)."""
    ids = {}
    with app.app_context():
        ward = Ward(code="W1", name="Phường Hồng Gai", province="Quảng Ninh")
        other_ward = Ward(code="W2", name="Phường Bãi Cháy", province="Quảng Ninh")
        db.session.add_all([ward, other_ward])
        db.session.flush()
        kp1 = KhuPho(ward_id=ward.id, code="KP1", name="Khu phố 1")
        kp2 = KhuPho(ward_id=ward.id, code="KP2", name="Khu phố 2")
        kp3 = KhuPho(ward_id=other_ward.id, code="KP9", name="Khu phố 9")
        db.session.add_all([kp1, kp2, kp3])
        db.session.flush()
        team1, team2 = Team(khu_pho_id=kp1.id, name="Tổ 1"), Team(khu_pho_id=kp2.id, name="Tổ 2")
        db.session.add_all([team1, team2])
        db.session.flush()
        users = {
            "member1": add_user("member1", "member", team1, ward),
            "member1b": add_user("member1b", "member", team1, ward),
            "leader1": add_user("leader1", "leader", team1, ward),
            "member2": add_user("member2", "member", team2, ward),
            "leader2": add_user("leader2", "leader", team2, ward),
            "staff": add_user("staff", "staff", ward=ward),
            "staff_other": add_user("staff_other", "staff", ward=other_ward),
            "admin": add_user("admin", "admin"),
        }
        nguyen_trai = Street(khu_pho_id=kp1.id, name="Nguyễn Trãi", position=1, member_id=users["member1"].id)
        le_loi = Street(khu_pho_id=kp1.id, name="Lê Lợi", position=2, member_id=users["member1b"].id)
        ha_long = Street(khu_pho_id=kp2.id, name="Hạ Long", position=1, member_id=users["member2"].id)
        db.session.add_all([nguyen_trai, le_loi, ha_long])
        db.session.flush()
        h12 = add_household(nguyen_trai, "12", "Nguyễn Văn An", [
            ("Nguyễn Văn An", 1960, "basic", "2g"), ("Trần Thị Bình", 1965, "smart", "4g"),
            ("Nguyễn Văn Cường", 2000, "smart", "4g")])
        h2 = add_household(nguyen_trai, "2", "Lê Thị Dung", [("Lê Thị Dung", 1980, "smart", "4g")], business=True)
        h2a = add_household(nguyen_trai, "2A", "Phạm Văn Em", [("Phạm Văn Em", 1950, "none", "unknown")])
        h10 = add_household(nguyen_trai, "10/3", "Hoàng Thị Gấm", [("Hoàng Thị Gấm", 1990, "smart", "4g")])
        h_ll = add_household(le_loi, "5", "Vũ Văn Hải", [("Vũ Văn Hải", 1970, "smart", "4g")])
        h_hl = add_household(ha_long, "7", "Đỗ Thị Lan", [("Đỗ Thị Lan", 1985, "smart", "4g")])
        db.session.commit()
        ids.update({name: user.id for name, user in users.items()})
        ids.update(ward=ward.id, kp1=kp1.id, kp2=kp2.id, kp9=kp3.id, team1=team1.id, team2=team2.id,
                   nguyen_trai=nguyen_trai.id, le_loi=le_loi.id, ha_long=ha_long.id,
                   h12=h12.id, h2=h2.id, h2a=h2a.id, h10=h10.id, h_ll=h_ll.id, h_hl=h_hl.id,
                   an=h12.residents[0].id, binh=h12.residents[1].id, cuong=h12.residents[2].id,
                   dung=h2.residents[0].id, lan=h_hl.residents[0].id)
    return Area(ids)


def csrf_token(client, path="/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username, password=PASSWORD, remember=False):
    token = csrf_token(client)
    data = {"username": username, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


@pytest.fixture
def as_user(client, area):
    """Log the test client in as one of the area's users: as_user("member1")."""
    def _login(username):
        response = login(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client
    return _login


@pytest.fixture
def as_fresh_user(app, area):
    """A fresh client logged in as the user, so that several people can act in one test."""
    def _login(username):
        client = app.test_client()
        assert login(client, username).status_code == 302
        return client
    return _login


def run_at_once(work, arguments) -> list[str]:
    """Run work(*args) for each args in its own thread, all together; the errors they raised, as text."""
    errors: list[str] = []

    def guarded(*args):
        try:
            work(*args)
        except Exception as error:  # noqa: BLE001 - every failure is reported to the test
            errors.append(repr(error))

    threads = [threading.Thread(target=guarded, args=args) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
