"""What one household adds to each of the nine targets, computed by hand."""
from visits.eligibility import AgeRules
from visits.indicators import HouseholdView, PersonView, contribution, first_contact

RULES = AgeRules(year=2024)


def person(key, birth_year=1980, phone="smart", sim="4g", only_2g=False, epay=None, baseline=None):
    return PersonView(key, birth_year, phone, sim, only_2g, epay, baseline or {})


def ratio(vector, key):
    return vector[f"{key}:num"], vector[f"{key}:den"]


def test_target_1_needs_every_item_and_knowledge_items_adopted():
    answers = {(1, c): "declined" for c in ("dvc", "vneid", "vssid", "essential")}
    answers.update({(1, "portal"): "had", (1, "postal"): "done"})
    answers.update({(2, c): "declined" for c in ("dvc", "vneid", "vssid", "essential", "portal", "postal")})
    view = HouseholdView(False, True, [person(1), person(2), person(3, phone="basic")], answers)
    vector = contribution(view, RULES)
    assert ratio(vector, "t1") == (1, 2)  # person 2 declined knowing the portal: not counted; 3 has no smartphone
    assert ratio(vector, "t1_portal_reached") == (2, 2)
    assert ratio(vector, "t1_portal_adopted") == (1, 2)


def test_target_2_counts_households_and_business_outcomes():
    business = HouseholdView(True, True, [person(1)], {(0, "ecommerce_guide"): "done", (0, "business_epay"): "had",
                                                      (0, "ecommerce_sale"): "declined"})
    vector = contribution(business, RULES)
    assert ratio(vector, "t2") == (1, 1)
    assert ratio(vector, "t2_business_epay") == (1, 1)
    assert ratio(vector, "t2_ecommerce_sale") == (0, 1)  # declined is not a sale
    plain = contribution(HouseholdView(False, False, [person(1)], {}), RULES)
    assert ratio(plain, "t2") == (0, 1) and ratio(plain, "t2_business_epay") == (0, 0)


def test_target_3_cohort_is_fixed_at_first_contact():
    switched = person(1, sim="4g", baseline={"sim": "2g"})
    only_2g_phone = person(2, sim="4g", only_2g=True)
    never = person(3, sim="4g")
    view = HouseholdView(False, True, [switched, only_2g_phone, never], {(1, "sim4g"): "done"})
    vector = contribution(view, RULES)
    assert ratio(vector, "t3") == (1, 2)
    assert ratio(vector, "t3_now_4g") == (1, 2)  # a 4G SIM in a 2G-only phone does not count as switched


def test_target_4_cohort_is_adults_without_smartphone_at_first_contact():
    bought_one = person(1, phone="smart", baseline={"phone_kind": "basic"})
    child = person(2, birth_year=2015, phone="none")
    grandma = person(3, birth_year=1940, phone="basic")
    view = HouseholdView(False, True, [bought_one, child, grandma], {(3, "smartphone"): "declined"})
    vector = contribution(view, RULES)
    assert ratio(vector, "t4") == (1, 2)  # grandma was asked; the child is not in the population
    assert ratio(vector, "t4_now_smartphone") == (1, 2)


def test_targets_5_and_8_over_adults_with_a_15_plus_figure():
    adult_with_fact = person(1, epay=True)
    adult_with_answer = person(2, phone="basic")
    teen = person(3, birth_year=2008, epay=True)  # 16: 15+ but not adult
    view = HouseholdView(False, True, [adult_with_fact, adult_with_answer, teen],
                         {(2, "epay"): "done", (1, "vneid"): "had", (3, "vssid"): "done"})
    vector = contribution(view, RULES)
    assert ratio(vector, "t5") == (2, 2)
    assert ratio(vector, "t5_15plus") == (3, 3)
    assert ratio(vector, "t8") == (1, 2)  # person 2 has only a basic phone
    assert ratio(vector, "t8_15plus") == (2, 3)


def test_target_6_is_per_household_and_lists_those_without_young_people():
    with_young = HouseholdView(False, True, [person(1, birth_year=2000), person(2, 1960)], {(1, "epay_helper"): "done"})
    without = HouseholdView(False, True, [person(1, 1950)], {})
    assert ratio(contribution(with_young, RULES), "t6") == (1, 1)
    assert ratio(contribution(with_young, RULES), "t6_no_young") == (0, 1)
    assert ratio(contribution(without, RULES), "t6") == (0, 1)
    assert ratio(contribution(without, RULES), "t6_no_young") == (1, 1)


def test_target_7_residents_and_households():
    view = HouseholdView(False, True, [person(1, birth_year=2015), person(2)], {(1, "dx_informed"): "done"})
    vector = contribution(view, RULES)
    assert ratio(vector, "t7") == (1, 2)
    assert ratio(vector, "t7_household") == (0, 1)  # only a child was informed


def test_first_contact_is_the_earliest_visit_of_the_plan_year():
    from datetime import datetime
    visits = [(datetime(2024, 5, 1), "b"), (datetime(2023, 12, 1), "a"), (datetime(2024, 5, 1), "a")]
    assert first_contact(visits, 2024) == (datetime(2024, 5, 1), "a")
    assert first_contact(visits, 2025) is None
