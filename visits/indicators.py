"""The nine targets as numbers: what one household adds to each indicator's numerator and denominator.

Definitions are those of ../shared/domain/targets.md. Denominators come from the roster (every resident
not moved away), never from who happened to be visited. A household's contribution depends only on its
own residents, answers and facts, so the khu phố counters can be kept up to date by adding the change
in one household's contribution, in the same transaction as the visit that caused it.
"""
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from .eligibility import AgeRules, age

REACHED = ("done", "had", "declined")
ADOPTED = ("done", "had")
TARGET1_ITEMS = ("dvc", "portal", "postal", "vneid", "vssid", "essential")
KNOWLEDGE_ITEMS = ("portal", "postal")  # "không có nhu cầu" excuses guidance, not knowing
APP_ITEMS = ("vneid", "vssid", "essential", "epay")
BUSINESS_ITEMS = ("business_epay", "ecommerce_sale", "qn_ecommerce")


@dataclass(frozen=True)
class Indicator:
    key: str
    target: int
    label: str
    main: bool = False  # the figure shown in the target's cell; others are shown beside it


def _indicators() -> list[Indicator]:
    rows = [Indicator("t1", 1, "Được hướng dẫn đủ mọi mục của chỉ tiêu 1", True)]
    for code in TARGET1_ITEMS:
        rows += [Indicator(f"t1_{code}_reached", 1, f"{code}: đã được hướng dẫn"),
                 Indicator(f"t1_{code}_adopted", 1, f"{code}: đã dùng được")]
    rows += [Indicator("t2", 2, "Hộ được hướng dẫn thương mại điện tử", True),
             Indicator("t2_business_epay", 2, "Hộ SXKD có tài khoản thanh toán điện tử"),
             Indicator("t2_ecommerce_sale", 2, "Hộ SXKD có giao dịch thương mại điện tử"),
             Indicator("t2_qn_ecommerce", 2, "Hộ SXKD bán trên sàn TMĐT Quảng Ninh"),
             Indicator("t3", 3, "Người dùng 2G được vận động chuyển 4G", True),
             Indicator("t3_now_4g", 3, "Nay đã dùng SIM 4G trên máy 4G"),
             Indicator("t4", 4, "Người chưa có điện thoại thông minh được vận động", True),
             Indicator("t4_now_smartphone", 4, "Nay đã có điện thoại thông minh"),
             Indicator("t5", 5, "Người trưởng thành có tài khoản thanh toán điện tử", True),
             Indicator("t5_15plus", 5, "Từ 15 tuổi có tài khoản thanh toán điện tử"),
             Indicator("t6", 6, "Hộ có thành viên trẻ biết thanh toán điện tử", True),
             Indicator("t6_no_young", 6, "Hộ không có thành viên 16–30 tuổi"),
             Indicator("t7", 7, "Người dân nắm biết chủ trương chuyển đổi số", True),
             Indicator("t7_household", 7, "Hộ có ít nhất một người trưởng thành nắm biết"),
             Indicator("t7_langso", 7, "Được giới thiệu trang Làng số"),
             Indicator("t8", 8, "Người trưởng thành có điện thoại thông minh và cài ứng dụng số", True),
             Indicator("t8_15plus", 8, "Từ 15 tuổi có điện thoại thông minh và cài ứng dụng số"),
             Indicator("visited", 0, "Hộ đã được thăm"),
             Indicator("residents", 0, "Nhân khẩu")]
    return rows


INDICATORS = _indicators()
KEYS = [i.key for i in INDICATORS]
SUM_KEYS = {key: (f"{key}:num", f"{key}:den") for key in KEYS}
TARGET1_KEYS = {code: (f"t1_{code}_reached", f"t1_{code}_adopted") for code in TARGET1_ITEMS}


@dataclass
class PersonView:
    """What the indicators need to know of one resident."""
    key: int
    birth_year: int | None
    phone_kind: str
    sim: str
    handset_2g_only: bool
    has_epay: bool | None
    baseline: dict = field(default_factory=dict)  # facts at first contact in the plan year


@dataclass
class HouseholdView:
    is_business: bool
    visited: bool
    people: list[PersonView]
    answers: dict  # (resident key or 0, code) -> latest answer


def contribution(view: HouseholdView, rules: AgeRules) -> Counter:
    """The household's numerators and denominators, as {"t1:num": n, "t1:den": d, ...}."""
    out: Counter = Counter()
    add = adder(out)
    household_terms(view.is_business, view.visited, view.answers, add)
    young_helper = has_young = adult_informed = False
    for person in view.people:
        person_terms(person, view.answers, rules, add)
        young, helper, informed = household_flags(person, view.answers, rules)
        has_young |= young
        young_helper |= helper
        adult_informed |= informed
    add("t6", young_helper)
    add("t6_no_young", not has_young)
    add("t7_household", adult_informed)
    return out


def adder(out: Counter, sign: int = 1):
    """add(key, hit, count=True): one more in the indicator's denominator (if count) and numerator (if hit too);
    sign -1 takes them away, for the difference between two states of one household."""
    get = out.get  # out[k] += sign would call Counter.__missing__, in Python, for every key new to out

    def add(key: str, hit: bool, count: bool = True) -> None:
        # Called about 80 times per household on every recount: the key names are made once, in SUM_KEYS.
        if count:
            num, den = SUM_KEYS[key]
            out[den] = get(den, 0) + sign
            if hit:
                out[num] = get(num, 0) + sign
    return add


def household_terms(is_business: bool, visited: bool, answers: dict, add) -> None:
    """The terms of the household itself (its answers under resident key 0)."""
    add("visited", visited)
    add("t2", answers.get((0, "ecommerce_guide")) in REACHED)
    for code in BUSINESS_ITEMS:
        add(f"t2_{code}", answers.get((0, code)) in ADOPTED, count=is_business)


def person_terms(person: PersonView, answers: dict, rules: AgeRules, add, codes=None) -> None:
    """One resident's terms. With codes, only those that read the resident's answers on these items (or, with
    "ecommerce_guide", the household's): what one visit's answers can change, the rest staying as they were."""
    reached = lambda who, code: answers.get((who, code)) in REACHED  # noqa: E731
    adopted = lambda who, code: answers.get((who, code)) in ADOPTED  # noqa: E731
    every_term = codes is None
    years = age(person.birth_year, rules)
    adult = years is not None and years >= rules.adult_age
    fifteen = years is not None and years >= 15
    smart = person.phone_kind == "smart"
    if every_term:
        add("residents", True)
    # Target 1: smartphone owners reached on every item; knowledge items only count when adopted. (Its terms count
    # smartphone owners only: for anyone else there is nothing to add.)
    if smart and (every_term or not codes.isdisjoint(TARGET1_ITEMS)):
        every = all(adopted(person.key, c) if c in KNOWLEDGE_ITEMS else reached(person.key, c)
                    for c in TARGET1_ITEMS)
        add("t1", every)
        for code, (reached_key, adopted_key) in TARGET1_KEYS.items():
            if every_term or code in codes:
                add(reached_key, reached(person.key, code))
                add(adopted_key, adopted(person.key, code))
    # Targets 3 and 4: cohorts fixed at first contact, so a switch does not shrink them.
    if every_term or "sim4g" in codes or "smartphone" in codes:
        base = {**_facts(person), **person.baseline}
        in_2g = base["sim"] == "2g" or base["handset_2g_only"] in (True, "yes")
        add("t3", reached(person.key, "sim4g"), count=in_2g)
        add("t3_now_4g", person.sim == "4g" and not person.handset_2g_only, count=in_2g)
        no_smart = adult and base["phone_kind"] != "smart"
        add("t4", reached(person.key, "smartphone"), count=no_smart)
        add("t4_now_smartphone", smart, count=no_smart)
    # Target 5: the e-payment fact, or the item answered as done or had.
    if every_term or "epay" in codes:
        epay = person.has_epay is True or adopted(person.key, "epay")
        add("t5", epay, count=adult)
        add("t5_15plus", epay, count=fifteen)
    # Target 7: informed in person (group sessions count through the same answer).
    if every_term or "dx_informed" in codes:
        add("t7", reached(person.key, "dx_informed"))
    if every_term or "langso" in codes:
        add("t7_langso", reached(person.key, "langso"))
    # Target 8: a basic phone cannot install apps.
    if every_term or not codes.isdisjoint(APP_ITEMS) or "ecommerce_guide" in codes:
        apps = smart and (any(adopted(person.key, c) for c in APP_ITEMS) or adopted(0, "ecommerce_guide"))
        add("t8", apps, count=adult)
        add("t8_15plus", apps, count=fifteen)


def household_flags(person: PersonView, answers: dict, rules: AgeRules) -> tuple[bool, bool, bool]:
    """(young, young and helps with e-payment, adult and informed): what targets 6 and 7 count per household."""
    years = age(person.birth_year, rules)
    young = years is not None and rules.young_min <= years <= rules.young_max
    adult = years is not None and years >= rules.adult_age
    return (young, young and answers.get((person.key, "epay_helper")) in ADOPTED,
            adult and answers.get((person.key, "dx_informed")) in REACHED)


def _facts(person: PersonView) -> dict:
    return {"sim": person.sim, "handset_2g_only": person.handset_2g_only, "phone_kind": person.phone_kind}


def first_contact(visits: list[tuple[datetime, str]], year: int) -> tuple[datetime, str] | None:
    """The earliest visit of the plan year, as (recorded_at, uuid), or None."""
    in_year = [v for v in visits if v[0].year == year]
    return min(in_year) if in_year else None
