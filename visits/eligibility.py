"""Which checklist items apply to whom, from the facts a visit has recorded.

Age is the plan year minus the birth year (lists hold birth years), so who counts as adult
or young is fixed for a plan year.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class AgeRules:
    year: int
    adult_age: int = 18
    young_min: int = 16
    young_max: int = 30


def age(birth_year: int | None, rules: AgeRules) -> int | None:
    return None if birth_year is None else rules.year - birth_year


def resident_eligible(rule: str, resident, rules: AgeRules) -> bool:
    """True when an item with this eligibility rule applies to the resident."""
    years = age(resident.birth_year, rules)
    adult = years is not None and years >= rules.adult_age
    if rule == "all":
        return True
    if rule == "adult":
        return adult
    if rule == "smartphone":
        return resident.phone_kind == "smart"
    if rule == "no_smartphone":
        return adult and resident.phone_kind != "smart"
    if rule == "2g":
        return resident.sim == "2g" or bool(resident.handset_2g_only)
    if rule == "young":
        return years is not None and rules.young_min <= years <= rules.young_max
    raise ValueError(f"unknown eligibility rule {rule!r}")


def household_eligible(rule: str, household) -> bool:
    """True when a household-level item applies to the household."""
    if rule == "household":
        return True
    if rule == "business":
        return bool(household.is_business)
    raise ValueError(f"unknown eligibility rule {rule!r}")
