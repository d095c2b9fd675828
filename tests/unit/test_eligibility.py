"""Who a checklist item applies to."""
from types import SimpleNamespace

import pytest

from visits.eligibility import AgeRules, household_eligible, resident_eligible

RULES = AgeRules(year=2024)


def person(birth_year=1980, phone_kind="smart", sim="4g", handset_2g_only=False):
    return SimpleNamespace(birth_year=birth_year, phone_kind=phone_kind, sim=sim, handset_2g_only=handset_2g_only)


@pytest.mark.parametrize("rule, resident, expected", [
    ("adult", person(2006), True),  # 18 in the plan year
    ("adult", person(2007), False),
    ("adult", person(None), False),
    ("smartphone", person(phone_kind="smart"), True),
    ("smartphone", person(phone_kind="basic"), False),
    ("no_smartphone", person(1950, phone_kind="basic"), True),
    ("no_smartphone", person(2015, phone_kind="none"), False),  # a child is not in target 4's population
    ("2g", person(sim="2g"), True),
    ("2g", person(sim="4g", handset_2g_only=True), True),  # a 4G SIM in a 2G-only phone stopped working
    ("2g", person(sim="4g"), False),
    ("young", person(2008), True),  # 16
    ("young", person(1994), True),  # 30
    ("young", person(1993), False),
    ("young", person(2009), False),
    ("all", person(None, phone_kind="none"), True),
])
def test_resident_rules(rule, resident, expected):
    assert resident_eligible(rule, resident, RULES) is expected


def test_plan_can_widen_the_young_band():
    assert resident_eligible("young", person(1990), AgeRules(2024, young_max=35))


def test_household_rules():
    assert household_eligible("household", SimpleNamespace(is_business=False))
    assert household_eligible("business", SimpleNamespace(is_business=True))
    assert not household_eligible("business", SimpleNamespace(is_business=False))


def test_unknown_rule_is_an_error_not_a_silent_no():
    with pytest.raises(ValueError):
        resident_eligible("left-handed", person(), RULES)
