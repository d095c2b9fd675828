"""One realistic demo ward (phường Hồng Gai): khu phố, streets, households, residents, teams and visits.

Everything is drawn from one seeded random generator, so a seed always gives the same ward. The
roster enters exactly as visits.roster would write it (a "household.add" change per household, a
"resident.add" change per resident whose facts become ItemState fact rows), and the sample visits
exactly as visits.recording.record_visit would, but all of it in bulk with SQLAlchemy Core: the
derived state (ItemState winners, Household.status and open_items) is computed in memory with the
same functions visits.state uses, so recompute_household gives the same result row for row.
"""
from __future__ import annotations

import random
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import click
from sqlalchemy import insert, select

from . import audit
from .addresses import sort_key
from .checklist import plan_items, plan_rules
from .eligibility import household_eligible, resident_eligible
from .extensions import db
from .models import (Change, Household, ItemState, KhuPho, Resident, Street, Team, User, Visit, VisitAnswer,
                     Ward, utcnow)
from .passwords import hash_password
from .plans import ensure_default_plan
from .recording import VisitInput, visit_digest
from .state import FACT_DEFAULTS, STATUS_OF_OUTCOME, Line, decode_fact, encode_fact, refresh_household
from .text import address_key, fold, nfc

WARD = {"code": "HG", "name": "Phường Hồng Gai", "province": "Quảng Ninh"}
KHU_PHO_COUNT = 12
MEMBER_SUFFIXES = ("a", "b", "c")
PASSWORDS = {"member": "thanhvien123", "leader": "totruong123", "staff": "canbo12345", "admin": "quantri12345"}

# When the khu phố household lists were typed in, and when the sample visits may have happened.
ROSTER_AT = datetime(2024, 1, 15, 1, 30)  # 08:30 in Hạ Long
VISITS_FROM = datetime(2024, 2, 1)
VISITS_UNTIL = datetime(2024, 12, 20)
VISITED_SHARE = 0.12

# --- Names ------------------------------------------------------------------------------------------

SURNAMES = {
    "Nguyễn": 31, "Trần": 10, "Lê": 8, "Phạm": 7, "Hoàng": 6, "Vũ": 5, "Đặng": 3, "Bùi": 3, "Đỗ": 3,
    "Ngô": 2, "Phan": 2, "Hồ": 1.5, "Dương": 1.5, "Đinh": 1.5, "Đào": 1.5, "Lương": 1, "Trịnh": 1,
    "Hà": 1, "Mai": 1, "Cao": 0.8, "Lưu": 0.8, "Tạ": 0.5, "Lý": 0.5, "Tô": 0.5, "Vương": 0.3,
}
MIDDLE = {
    ("m", "old"): {"Văn": 60, "Đức": 8, "Quang": 6, "Hữu": 6, "Công": 5, "Xuân": 5, "Minh": 5, "Ngọc": 3,
                   "Mạnh": 3, "Đình": 4},
    ("m", "young"): {"Văn": 15, "Minh": 12, "Đức": 10, "Quang": 6, "Hoàng": 6, "Tuấn": 5, "Gia": 8, "Bảo": 6,
                     "Anh": 5, "Hải": 5, "Trung": 5, "Đăng": 5, "Thành": 5},
    ("f", "old"): {"Thị": 70, "Thu": 6, "Ngọc": 5, "Thanh": 6, "Kim": 4, "Hồng": 5, "Minh": 3},
    ("f", "young"): {"Thị": 20, "Thu": 8, "Ngọc": 10, "Phương": 6, "Thanh": 6, "Khánh": 8, "Bảo": 7,
                     "Minh": 7, "Hà": 5, "Thảo": 5, "Mai": 5, "Diệu": 4, "Quỳnh": 5},
}
GIVEN = {
    ("m", "old"): ("An", "Bình", "Cường", "Dũng", "Đông", "Hải", "Hùng", "Hưng", "Khải", "Long", "Minh", "Nam",
                   "Phong", "Quý", "Sơn", "Tâm", "Thắng", "Thành", "Thịnh", "Toàn", "Trung", "Tuấn", "Vinh",
                   "Việt", "Chiến", "Lợi", "Thuận", "Tiến", "Hòa", "Chính", "Định", "Nghĩa"),
    ("m", "young"): ("Anh", "Bách", "Duy", "Dương", "Đạt", "Hiếu", "Hoàng", "Huy", "Khang", "Khánh", "Khôi",
                     "Kiên", "Lâm", "Long", "Minh", "Nam", "Nguyên", "Phúc", "Quân", "Sơn", "Tùng", "Vũ",
                     "Phong", "Thịnh", "Trí", "Đăng", "Hải", "Bảo"),
    ("f", "old"): ("Bình", "Chúc", "Dung", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hồng", "Huệ", "Hương", "Lan",
                   "Liên", "Loan", "Lý", "Mai", "Nga", "Nhung", "Oanh", "Phượng", "Thảo", "Thoa", "Thủy",
                   "Tuyết", "Vân", "Xuân", "Yến", "Hảo", "Thơm", "Lụa", "Gấm", "Cúc", "Đào", "Nụ"),
    ("f", "young"): ("An", "Anh", "Chi", "Diệp", "Giang", "Hà", "Hân", "Hương", "Huyền", "Khuê", "Linh", "Ly",
                     "Mai", "My", "Ngân", "Ngọc", "Nhi", "Nhiên", "Phương", "Quyên", "Quỳnh", "Tâm", "Thảo",
                     "Thư", "Trang", "Trâm", "Uyên", "Vy", "Yến", "Hằng", "Trinh"),
}

# --- Places -----------------------------------------------------------------------------------------

# Three main streets per khu phố, none shared, so that an address names one place in the ward.
MAIN_STREETS = (
    "Đường Lê Thánh Tông", "Phố Bến Đoan", "Phố Cao Thắng", "Đường Hạ Long", "Phố Bến Tàu", "Phố Hải Phúc",
    "Phố Ba Đèo", "Đường Bạch Đằng", "Phố Lê Quý Đôn", "Phố Vườn Đào", "Phố Lán Bè", "Phố Tuệ Tĩnh",
    "Phố Đoàn Thị Điểm", "Phố Võ Thị Sáu", "Phố Trần Quốc Nghiễn", "Phố Hải Lộc", "Phố Đông Hồ",
    "Phố Cột Đồng Hồ", "Phố Bãi Muối", "Đường Trần Hưng Đạo", "Phố Lê Lợi", "Phố Tô Hiến Thành",
    "Đường Nguyễn Văn Cừ", "Phố Kênh Liêm", "Phố Trần Thái Tông", "Phố Kim Đồng", "Phố Lê Hoàn",
    "Phố Nguyễn Văn Trỗi", "Phố Lê Lai", "Phố Phan Đình Phùng", "Phố Quang Trung", "Phố Hai Bà Trưng",
    "Phố Nguyễn Du", "Phố Lý Thường Kiệt", "Phố Phan Bội Châu", "Phố Hàng Than",
)
MAIN_PER_KHU_PHO = 3

NOTES = {
    "met": ("", "", "", "", "Bác nhờ con gái hướng dẫn thêm.", "Cô chú nhiệt tình, hẹn hỏi thêm về VssID.",
            "Gửi tờ rơi hướng dẫn dịch vụ công trực tuyến.", "Nhắc cả nhà không đưa mã OTP cho ai."),
    "nobody_home": ("", "Cả nhà đi làm.", "Gọi cửa không ai trả lời.", "Nhà khóa cửa, hàng xóm bảo đi quê."),
    "come_back": ("Hẹn tối thứ Bảy quay lại.", "Chỉ có cháu nhỏ ở nhà, hẹn hôm khác.",
                  "Bác đang bận bán hàng, hẹn chiều mai.", "Hẹn sau 19 giờ."),
    "refused": ("Hộ không muốn trao đổi.", "Ông bà bảo đã có con cháu hướng dẫn."),
}


class DemoDataExists(click.ClickException):
    """The demo ward is there already (its ward code or user names are taken)."""


def database_is_empty() -> bool:
    """True when there is no household yet."""
    return db.session.scalar(select(Household.id).limit(1)) is None


# --- The ward drawn in memory -----------------------------------------------------------------------

@dataclass
class DraftResident:
    tid: int  # a temporary id, unique in the ward; the state keys use it until the row has its id
    uuid: str
    full_name: str
    birth_year: int | None
    facts: dict  # the roster's facts, encoded as state.encode_fact gives them
    # The current fact columns, kept up to date as lines are applied (state._set_fact does the same).
    phone_kind: str = FACT_DEFAULTS["phone_kind"]
    sim: str = FACT_DEFAULTS["sim"]
    handset_2g_only: bool = FACT_DEFAULTS["handset_2g_only"]
    has_epay: bool | None = FACT_DEFAULTS["has_epay"]
    moved_away: bool = FACT_DEFAULTS["moved_away"]

    @property
    def id(self) -> int:  # what state.open_items_for keys a resident by
        return self.tid


@dataclass
class DraftVisit:
    uuid: str
    user_index: int
    recorded_at: datetime
    received_at: datetime
    outcome: str
    notes: str
    met: list  # temporary resident ids
    answers: list  # (temporary resident id or None, code, value)
    facts: list  # (temporary resident id, field, value)


@dataclass
class DraftHousehold:
    uuid: str
    street: int  # index into the ward's streets
    code: str
    house_number: str
    is_business: bool
    residents: list = field(default_factory=list)
    visits: list = field(default_factory=list)
    states: dict = field(default_factory=dict)  # (resident tid or 0, kind, code) -> winning Line
    status: str = "chua_tham"
    last_visit_at: datetime | None = None
    last_visit_uuid: str | None = None
    open_items: int = 0

    @property
    def head_name(self) -> str:
        return self.residents[0].full_name


@dataclass
class DraftStreet:
    khu_pho: int  # 0-based
    name: str
    position: int
    kind: str  # main | lane | group
    member: int  # 0..2 within the khu phố's team


class WardDraft:
    """The whole ward as plain Python objects, before any row is written."""

    def __init__(self, rng: random.Random, households: int, items, rules, now: datetime, lazy: bool = False):
        """lazy: leave the households to draw_households(), which hands them out one at a time (a ward of
        400,000 households is then written in batches instead of held whole in memory)."""
        self.rng, self.items, self.rules = rng, items, rules
        self.year = rules.year
        self.staff_names = {}
        self.team_names = []  # per khu phố: (leader name, [member names])
        self.streets: list[DraftStreet] = []
        self.households: list[DraftHousehold] = []
        self._next_tid = 0
        self.visits_until = min(VISITS_UNTIL, now - timedelta(hours=1))
        self.visits_from = min(VISITS_FROM, self.visits_until - timedelta(days=30))
        self._draw_people()
        self._draw_streets()
        self.count = households
        if not lazy:
            self.households = list(self.draw_households())

    # Identifiers and names --------------------------------------------------------------------

    def uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def pick(self, weights: dict) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def surname(self) -> str:
        return self.pick(SURNAMES)

    def full_name(self, sex: str, birth_year: int, surname: str | None = None) -> str:
        generation = "young" if birth_year >= 1988 else "old"
        middle = self.pick(MIDDLE[(sex, generation)])
        given = self.rng.choice(GIVEN[(sex, generation)])
        while given == middle:
            given = self.rng.choice(GIVEN[(sex, generation)])
        return f"{surname or self.surname()} {middle} {given}"

    def _draw_people(self) -> None:
        rng = self.rng
        self.staff_names = {"staff": self.full_name(rng.choice("mf"), self.year - rng.randint(28, 45)),
                            "admin": self.full_name(rng.choice("mf"), self.year - rng.randint(25, 40))}
        for _ in range(KHU_PHO_COUNT):
            leader = self.full_name(rng.choice("mf"), self.year - rng.randint(40, 62))
            members = [self.full_name(rng.choice("mf"), self.year - rng.randint(19, 45)) for _ in MEMBER_SUFFIXES]
            self.team_names.append((leader, members))

    # Streets ----------------------------------------------------------------------------------

    def _draw_streets(self) -> None:
        rng = self.rng
        mains = list(MAIN_STREETS)
        rng.shuffle(mains)
        group_number = 0
        for kp in range(KHU_PHO_COUNT):
            names = [(name, "main") for name in mains[kp * MAIN_PER_KHU_PHO:(kp + 1) * MAIN_PER_KHU_PHO]]
            lanes = set()
            for _ in range(rng.randint(2, 5)):
                short = rng.choice(names[:MAIN_PER_KHU_PHO])[0].split(" ", 1)[1]
                number = rng.choice([rng.randint(2, 40) * 2, rng.randint(1, 40) * 2 + 1])
                lanes.add((f"Ngõ {number} {short}", "lane"))
            names += sorted(lanes, key=lambda lane: sort_key(lane[0]))
            for _ in range(rng.randint(1, 3)):
                group_number += 1
                names.append((f"Tổ {group_number}", "group"))
            for position, (name, kind) in enumerate(names, start=1):
                self.streets.append(DraftStreet(kp, name, position, kind, (position - 1) % len(MEMBER_SUFFIXES)))

    # Households -------------------------------------------------------------------------------

    def draw_households(self):
        """Every household of the ward in street order, each drawn whole (residents, roster, visits, state)."""
        rng, count = self.rng, self.count
        kp_weight = [rng.uniform(0.7, 1.3) for _ in range(KHU_PHO_COUNT)]
        kind_weight = {"main": 3.0, "lane": 1.0, "group": 2.0}
        weights = [kp_weight[s.khu_pho] * kind_weight[s.kind] * rng.uniform(0.6, 1.4) for s in self.streets]
        per_street = [0] * len(self.streets)
        for index in rng.choices(range(len(self.streets)), weights=weights, k=count):
            per_street[index] += 1
        serial = [0] * KHU_PHO_COUNT
        for index, street in enumerate(self.streets):
            for number in self._house_numbers(street.kind, per_street[index]):
                serial[street.khu_pho] += 1
                business = rng.random() < (0.13 if street.kind == "main" else 0.035)
                household = DraftHousehold(
                    uuid=self.uuid(), street=index, code=f"KP{street.khu_pho + 1:02d}-{serial[street.khu_pho]:04d}",
                    house_number=number, is_business=business)
                self._draw_residents(household)
                self._settle_roster(household)
                if rng.random() < VISITED_SHARE:
                    self._draw_visits(household)
                refresh_household(household, self.items, self.rules, household.states)
                yield household

    def _house_numbers(self, kind: str, count: int) -> list[str]:
        """Distinct, natural-looking house numbers along one street, in walking order."""
        rng, numbers, seen = self.rng, [], set()
        current = rng.choice([1, 2]) if kind == "main" else 1

        def add(number: str) -> None:
            if number not in seen and len(numbers) < count:
                seen.add(number)
                numbers.append(number)

        while len(numbers) < count:
            roll = rng.random()
            if kind == "main":
                if roll < 0.06:
                    add(f"Ngõ {current}, số {rng.randint(1, 25)}")
                elif roll < 0.16:
                    add(f"{current}/{rng.randint(1, 9)}")
                else:
                    add(str(current))
                    if rng.random() < 0.08:
                        add(f"{current}A")
                        if rng.random() < 0.3:
                            add(f"{current}B")
                current += rng.choice((2, 2, 2, 2, 4, 6))
            else:
                if roll < 0.06:
                    add(f"{current}/{rng.randint(1, 6)}")
                else:
                    add(str(current))
                    if rng.random() < 0.06:
                        add(f"{current}A")
                current += rng.choice((1, 1, 2, 2, 3)) if kind == "lane" else rng.choice((1, 2, 3, 5))
        return numbers

    def _draw_residents(self, household: DraftHousehold) -> None:
        rng = self.rng
        size = rng.choices((1, 2, 3, 4, 5, 6), weights=(12, 22, 28, 24, 10, 4))[0]
        people = []  # (sex, age, surname)

        def child_ages(parent_age: int, count: int, low: int = 20, high: int = 38) -> list[int]:
            high = max(0, min(high, parent_age))
            return [parent_age - rng.randint(min(low, high), high) for _ in range(count)]

        if size == 1:
            if rng.random() < 0.6:
                people.append(("f" if rng.random() < 0.7 else "m", rng.randint(62, 90), None))
            else:
                people.append((rng.choice("mf"), rng.randint(22, 45), None))
        else:
            head_sex = "m" if rng.random() < 0.75 else "f"
            spouse_sex = "f" if head_sex == "m" else "m"
            family = self.surname()
            roll = rng.random()
            if size == 2:
                if roll < 0.5:
                    head_age = rng.randint(58, 88)
                    people += [(head_sex, head_age, family), (spouse_sex, self._spouse_age(head_age), None)]
                elif roll < 0.75:
                    head_age = rng.randint(24, 35)
                    people += [(head_sex, head_age, family), (spouse_sex, self._spouse_age(head_age), None)]
                else:
                    head_age = rng.randint(30, 60)
                    people += [(head_sex, head_age, family)]
                    people += [(rng.choice("mf"), age, family) for age in child_ages(head_age, 1)]
            elif roll < 0.45 or size == 3 and roll < 0.7:
                head_age = rng.randint(27, 48)
                people += [(head_sex, head_age, family), (spouse_sex, self._spouse_age(head_age), None)]
                kids = size - 2 - (1 if size >= 5 else 0)
                people += [(rng.choice("mf"), age, family) for age in child_ages(head_age, kids, 20, 36)]
                if size >= 5:
                    people.append(("f" if rng.random() < 0.7 else "m", min(90, head_age + rng.randint(22, 32)),
                                   None))
            elif roll < 0.75:
                head_age = rng.randint(45, 60)
                people += [(head_sex, head_age, family), (spouse_sex, self._spouse_age(head_age), None)]
                people += [(rng.choice("mf"), age, family) for age in child_ages(head_age, size - 2, 18, 35)]
            else:
                head_age = rng.randint(58, 84)
                people.append(("m", head_age, family))
                if size >= 4:
                    people.append(("f", self._spouse_age(head_age), None))
                son_age = max(18, head_age - rng.randint(24, 34))
                people += [("m", son_age, family), ("f", self._spouse_age(son_age), None)]
                kids = size - len(people)
                people += [(rng.choice("mf"), age, family) for age in child_ages(son_age, kids, 22, 34)]
            people = people[:size]
        for sex, age, surname in people:
            birth_year = self.year - max(0, min(age, 90))
            self._next_tid += 1
            household.residents.append(DraftResident(
                tid=self._next_tid, uuid=self.uuid(), full_name=nfc(self.full_name(sex, birth_year, surname)),
                birth_year=birth_year, facts=self._roster_facts(age)))

    def _spouse_age(self, age: int) -> int:
        return max(18, min(90, age + self.rng.randint(-7, 3)))

    def _roster_facts(self, age: int) -> dict:
        """Phone, SIM and e-payment as a household list would give them: only what is known."""
        rng = self.rng
        if age < 10:
            odds = (98, 2, 0)
        elif age < 16:
            odds = (50, 15, 35)
        elif age <= 30:
            odds = (2, 6, 92)
        elif age <= 50:
            odds = (3, 12, 85)
        elif age <= 65:
            odds = (7, 33, 60)
        elif age <= 75:
            odds = (15, 50, 35)
        else:
            odds = (38, 50, 12)
        phone = rng.choices(("none", "basic", "smart"), weights=odds)[0]
        facts = {"phone_kind": phone}
        if phone == "smart":
            facts["sim"] = rng.choices(("4g", "unknown", "2g"), weights=(90, 8, 2))[0]
        elif phone == "basic":
            facts["sim"] = rng.choices(("2g", "4g", "unknown"), weights=(45, 25, 30))[0]
            only_2g = rng.choices((True, False, None), weights=(40, 35, 25))[0]
            if only_2g is not None:
                facts["handset_2g_only"] = encode_fact("handset_2g_only", only_2g)
        epay = None
        if age >= 18:
            epay = rng.choices((True, False, None), weights={"smart": (70, 20, 10), "basic": (10, 60, 30),
                                                             "none": (0, 50, 50)}[phone])[0]
        elif age >= 16 and phone == "smart" and rng.random() < 0.3:
            epay = True
        if epay is not None:
            facts["has_epay"] = encode_fact("has_epay", epay)
        return facts

    # Derived state ----------------------------------------------------------------------------

    def _apply(self, household: DraftHousehold, line: Line) -> None:
        """state.apply_line on plain objects: the latest (recorded_at, UUID) wins."""
        key = (line.resident_key, line.kind, line.code)
        current = household.states.get(key)
        if current is not None and current.rank >= line.rank:
            return
        household.states[key] = line
        if line.kind == "fact":
            resident = next(r for r in household.residents if r.tid == line.resident_key)
            setattr(resident, line.code, decode_fact(line.code, line.value))

    def _settle_roster(self, household: DraftHousehold) -> None:
        for resident in household.residents:
            for name, value in resident.facts.items():
                self._apply(household, Line(resident.tid, "fact", name, value, ROSTER_AT, resident.uuid))

    # Visits -----------------------------------------------------------------------------------

    def _visit_time(self, after: datetime | None = None) -> datetime:
        rng = self.rng
        if after is None:
            days = (self.visits_until - self.visits_from).days
            day = self.visits_from + timedelta(days=rng.randint(0, max(0, days - 15)))
        else:
            day = after.replace(hour=0, minute=0, second=0) + timedelta(days=rng.randint(1, 14))
        # Between 07:30 and 20:30 in Hạ Long (UTC+7); stored in UTC, to the second.
        moment = day.replace(hour=0, minute=30, second=0) + timedelta(seconds=rng.randint(0, 13 * 3600))
        return min(moment, self.visits_until)

    def _draw_visits(self, household: DraftHousehold) -> None:
        rng = self.rng
        outcomes = []
        if rng.random() < 0.2:
            outcomes.append(rng.choice(("nobody_home", "nobody_home", "come_back")))
        outcomes.append(rng.choices(("met", "nobody_home", "come_back", "refused"), weights=(80, 9, 8, 3))[0])
        member = self.streets[household.street].member
        when = None
        for outcome in outcomes:
            when = self._visit_time(when)
            visit = DraftVisit(uuid=self.uuid(), user_index=member, recorded_at=when,
                               received_at=min(when + timedelta(minutes=rng.randint(0, 240)), self.visits_until),
                               outcome=outcome, notes=rng.choice(NOTES[outcome]), met=[], answers=[], facts=[])
            if outcome == "met":
                self._draw_conversation(household, visit)
                if any(code == "vneid" and value == "done" for _, code, value in visit.answers):
                    visit.notes = "Đã cài và kích hoạt VNeID."
            elif outcome == "refused":
                visit.met = [household.residents[0].tid]
            household.visits.append(visit)
            self._apply_visit(household, visit)

    def _draw_conversation(self, household: DraftHousehold, visit: DraftVisit) -> None:
        """Who was met, what was answered for a few items that apply to them, and any fact that changed."""
        rng = self.rng
        present = [r for r in household.residents if not r.moved_away]
        visit.met = sorted(r.tid for r in rng.sample(present, rng.randint(1, len(present))))
        for resident in household.residents:
            if resident.tid not in visit.met:
                continue
            eligible = [i for i in self.items if i.applies_to == "resident" and
                        resident_eligible(i.eligibility, resident, self.rules)]
            for item in rng.sample(eligible, min(len(eligible), rng.randint(1, 4))):
                value = rng.choices(("done", "had", "later", "declined"), weights=(45, 30, 15, 10))[0]
                visit.answers.append((resident.tid, item.code, value))
                if item.code == "epay" and value in ("done", "had"):
                    visit.facts.append((resident.tid, "has_epay", "yes"))
            if resident.phone_kind == "basic" and rng.random() < 0.05:
                visit.facts += [(resident.tid, "phone_kind", "smart"), (resident.tid, "sim", "4g")]
        household_items = [i for i in self.items if i.applies_to != "resident" and
                           household_eligible(i.eligibility, household)]
        for item in household_items:
            if rng.random() < 0.4:
                visit.answers.append((None, item.code, rng.choices(("done", "had", "later", "declined"),
                                                                   weights=(40, 30, 20, 10))[0]))
        absent = [r for r in present if r.tid not in visit.met and self.year - (r.birth_year or self.year) >= 18]
        if absent and rng.random() < 0.03:
            visit.facts.append((rng.choice(absent).tid, "moved_away", "yes"))

    def _apply_visit(self, household: DraftHousehold, visit: DraftVisit) -> None:
        if household.last_visit_at is None or \
                (household.last_visit_at, household.last_visit_uuid) < (visit.recorded_at, visit.uuid):
            household.last_visit_at, household.last_visit_uuid = visit.recorded_at, visit.uuid
            household.status = STATUS_OF_OUTCOME[visit.outcome]
        for rid, code, value in visit.answers:
            self._apply(household, Line(rid or 0, "item", code, value, visit.recorded_at, visit.uuid))
        for rid, name, value in visit.facts:
            self._apply(household, Line(rid, "fact", name, value, visit.recorded_at, visit.uuid))


# --- Writing it ---------------------------------------------------------------------------------------

def _insert_returning_ids(table, rows: list[dict]) -> dict:
    """Insert rows in bulk; their new ids by UUID."""
    if not rows:
        return {}
    result = db.session.execute(insert(table).returning(table.c.uuid, table.c.id), rows)
    return {uuid: id_ for uuid, id_ in result}


def usernames() -> list[str]:
    """Every login the demo ward makes."""
    names = ["admin", "canbo"]
    for number in range(1, KHU_PHO_COUNT + 1):
        names += [f"totruong{number:02d}"] + [f"tv{number:02d}{suffix}" for suffix in MEMBER_SUFFIXES]
    return names


def demo_login_summary() -> list[tuple[str, str, str]] | None:
    """The demo ward's logins in four lines, or None when the demo ward is not in this database."""
    if db.session.scalar(select(Ward.id).where(Ward.code == WARD["code"])) is None:
        return None
    last = f"{KHU_PHO_COUNT:02d}"
    return [(f"tv01a … tv{last}{MEMBER_SUFFIXES[-1]}", PASSWORDS["member"], "Thành viên Tổ CNSCĐ"),
            (f"totruong01 … totruong{last}", PASSWORDS["leader"], "Tổ trưởng Tổ CNSCĐ"),
            ("canbo", PASSWORDS["staff"], f"Cán bộ {WARD['name']}"),
            ("admin", PASSWORDS["admin"], "Quản trị hệ thống")]


WRITE_BATCH = 10_000  # households drawn, then written, at a time: memory stays flat however big the ward


def _write_households(draft: WardDraft, households: list, streets: list, members: list) -> None:
    """Write a batch of drawn households with their residents, roster changes, visits and state, in order (so
    ids come out as if the whole ward were written at once)."""
    if not households:
        return
    household_ids = _insert_returning_ids(Household.__table__, [{
        "uuid": h.uuid, "street_id": streets[h.street].id, "khu_pho_id": streets[h.street].khu_pho_id,
        "code": h.code, "house_number": nfc(h.house_number), "sort_key": sort_key(h.house_number),
        "address_key": address_key(streets[h.street].name, h.house_number), "head_name": nfc(h.head_name),
        "is_business": h.is_business, "created_by_id": None, "created_at": ROSTER_AT, "status": h.status,
        "last_visit_at": h.last_visit_at, "last_visit_uuid": h.last_visit_uuid, "open_items": h.open_items,
    } for h in households])
    resident_ids = _insert_returning_ids(Resident.__table__, [{
        "uuid": r.uuid, "household_id": household_ids[h.uuid], "full_name": r.full_name,
        "name_key": fold(r.full_name), "birth_year": r.birth_year, "phone_kind": r.phone_kind,
        "handset_2g_only": r.handset_2g_only, "sim": r.sim, "has_epay": r.has_epay, "moved_away": r.moved_away,
        "created_by_id": None, "created_at": ROSTER_AT,
    } for h in households for r in h.residents])
    real = {r.tid: resident_ids[r.uuid] for h in households for r in h.residents}

    changes = []
    for h in households:
        changes.append({"uuid": h.uuid, "kind": "household.add", "user_id": None,
                        "household_id": household_ids[h.uuid], "resident_id": None, "recorded_at": ROSTER_AT,
                        "received_at": ROSTER_AT,
                        "payload": {"house_number": nfc(h.house_number), "head_name": nfc(h.head_name),
                                    "is_business": h.is_business, "code": h.code}})
        for r in h.residents:
            changes.append({"uuid": r.uuid, "kind": "resident.add", "user_id": None,
                            "household_id": household_ids[h.uuid], "resident_id": real[r.tid],
                            "recorded_at": ROSTER_AT, "received_at": ROSTER_AT,
                            "payload": {"full_name": r.full_name, "birth_year": r.birth_year,
                                        "facts": dict(r.facts)}})
    db.session.execute(insert(Change.__table__), changes)

    visit_rows, answer_rows = [], []
    for h in households:
        for v in h.visits:
            data = VisitInput(uuid=v.uuid, recorded_at=v.recorded_at, outcome=v.outcome, notes=v.notes,
                              met=[real[t] for t in v.met],
                              answers=[(real[t] if t else None, code, value) for t, code, value in v.answers],
                              facts=[(real[t], name, value) for t, name, value in v.facts])
            visit_rows.append({
                "uuid": v.uuid, "household_id": household_ids[h.uuid],
                "user_id": members[draft.streets[h.street].khu_pho][v.user_index].id,
                "recorded_at": v.recorded_at, "received_at": v.received_at, "outcome": v.outcome,
                "met_resident_ids": sorted(data.met), "notes": v.notes,
                "content_hash": visit_digest(h, data)})
            answer_rows += [{"visit_uuid": v.uuid, "resident_id": rid, "kind": "item", "code": code, "value": value}
                            for rid, code, value in data.answers]
            answer_rows += [{"visit_uuid": v.uuid, "resident_id": rid, "kind": "fact", "code": name, "value": value}
                            for rid, name, value in data.facts]
    visit_ids = _insert_returning_ids(Visit.__table__, visit_rows)
    if answer_rows:
        db.session.execute(insert(VisitAnswer.__table__), [
            {"visit_id": visit_ids[a.pop("visit_uuid")], **a} for a in answer_rows])

    states = [
        {"household_id": household_ids[h.uuid], "resident_key": real[key[0]] if key[0] else 0,
         "kind": line.kind, "code": line.code, "value": line.value, "recorded_at": line.recorded_at,
         "visit_uuid": line.source_uuid}
        for h in households for key, line in h.states.items()]
    if states:
        db.session.execute(insert(ItemState.__table__), states)


def build_demo_ward(households: int = 5000, seed: int = 2024) -> list[tuple[str, str, str]]:
    """Build the demo ward in the current app context and commit; returns (username, password, role).

    The audit log gets one entry for the whole ward, not one per user, street or team made on the way.
    """
    with audit.paused():
        logins = _build_demo_ward(households, seed)
    ward_id = db.session.scalar(select(Ward.id).where(Ward.code == WARD["code"]))
    audit.record("demo_data", "ward", ward_id, details={"households": households, "seed": seed}, ward_id=ward_id)
    db.session.commit()
    return logins


def _build_demo_ward(households: int, seed: int) -> list[tuple[str, str, str]]:
    if db.session.scalar(select(Ward.id).where(Ward.code == WARD["code"])) is not None:
        raise DemoDataExists(f"Đã có phường mã {WARD['code']}; không tạo lại dữ liệu mẫu.")
    clash = list(db.session.scalars(select(User.username).where(User.username.in_(usernames()))
                                    .order_by(User.username)))
    if clash:
        raise DemoDataExists(f"Đã có tài khoản {', '.join(clash)}; không tạo lại dữ liệu mẫu.")
    ensure_default_plan()
    items, rules = plan_items(), plan_rules()
    draft = WardDraft(random.Random(seed), households, items, rules, utcnow(), lazy=True)

    # Places, teams and users: a few dozen rows, written through the ORM.
    ward = Ward(**WARD)
    db.session.add(ward)
    db.session.flush()
    hashes = {role: hash_password(password) for role, password in PASSWORDS.items()}  # Argon2: once each
    users = [User(username="admin", password_hash=hashes["admin"], full_name=draft.staff_names["admin"],
                  role="admin", created_at=ROSTER_AT),
             User(username="canbo", password_hash=hashes["staff"], full_name=draft.staff_names["staff"],
                  role="staff", ward_id=ward.id, created_at=ROSTER_AT)]
    logins = [("admin", PASSWORDS["admin"], "Quản trị hệ thống"),
              ("canbo", PASSWORDS["staff"], f"Cán bộ {WARD['name']}")]
    khu_phos, members = [], []
    for kp in range(KHU_PHO_COUNT):
        number = kp + 1
        khu_pho = KhuPho(ward_id=ward.id, code=f"KP{number:02d}", name=f"Khu phố {number}")
        db.session.add(khu_pho)
        db.session.flush()
        team = Team(khu_pho_id=khu_pho.id, name=f"Tổ công nghệ số cộng đồng {khu_pho.name}")
        db.session.add(team)
        db.session.flush()
        leader_name, member_names = draft.team_names[kp]
        users.append(User(username=f"totruong{number:02d}", password_hash=hashes["leader"], full_name=leader_name,
                          role="leader", team_id=team.id, ward_id=ward.id, created_at=ROSTER_AT))
        logins.append((f"totruong{number:02d}", PASSWORDS["leader"], f"Tổ trưởng Tổ CNSCĐ {khu_pho.name}"))
        team_members = [User(username=f"tv{number:02d}{suffix}", password_hash=hashes["member"], full_name=name,
                             role="member", team_id=team.id, ward_id=ward.id, created_at=ROSTER_AT)
                        for suffix, name in zip(MEMBER_SUFFIXES, member_names)]
        logins += [(u.username, PASSWORDS["member"], f"Thành viên Tổ CNSCĐ {khu_pho.name}") for u in team_members]
        users += team_members
        khu_phos.append(khu_pho)
        members.append(team_members)
    db.session.add_all(users)
    db.session.flush()
    streets = [Street(khu_pho_id=khu_phos[s.khu_pho].id, name=s.name, position=s.position,
                      member_id=members[s.khu_pho][s.member].id) for s in draft.streets]
    db.session.add_all(streets)
    db.session.flush()

    # The roster and its visits: thousands of rows, written with Core a batch of households at a time.
    batch = []
    for household in draft.draw_households():
        batch.append(household)
        if len(batch) == WRITE_BATCH:
            _write_households(draft, batch, streets, members)
            batch = []
    _write_households(draft, batch, streets, members)
    db.session.commit()
    return logins
