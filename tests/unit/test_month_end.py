"""The targets at a month's end, counted again from what was recorded before it, equal the counters of a ward
where nothing later ever happened."""
from collections import Counter
from datetime import date, datetime

from sqlalchemy import delete, select, update

from visits import counters
from visits.checklist import active_plan, plan_items, plan_rules
from visits.extensions import db
from visits.models import Change, Household, KhuPho, Resident, User, Visit, VisitAnswer
from visits.month_end import month_of, month_start_utc, next_month, parse_month, sums_at_month_ends
from visits.roster import mark_moved
from visits.state import recompute_household

from tests.http.test_reports import visit_at, ward  # noqa: F401 - the ward fixture


def counted(plan, ids) -> dict:
    return {kp: Counter({k: v for k, v in vector.items() if v}) for (kp, _s), vector in counters.counts(plan, ids).items()}


def test_month_end_equals_the_counters_without_the_later_visits(app, ward):  # noqa: F811
    area = ward
    visit_at(app, area, "h12", datetime(2024, 2, 3, 3), [(area["an"], "sim4g", "later"),
                                                         (area["binh"], "vneid", "done")])
    visit_at(app, area, "h12", datetime(2024, 3, 3, 3), [(area["an"], "sim4g", "done"),
                                                         (area["cuong"], "epay_helper", "done")])
    visit_at(app, area, "h2", datetime(2024, 3, 9, 3), [(None, "ecommerce_guide", "done"),
                                                        (None, "business_epay", "had")])
    visit_at(app, area, "h_hl", datetime(2024, 4, 2, 3), [(area["lan"], "dx_informed", "done")], member="member2")
    with app.app_context():
        # Bình moves away in April: March still counts her, April does not.
        mark_moved(db.session.get(User, area["member1"]), db.session.get(Resident, area["binh"]),
                   "8f2b9c1e-6a7d-4e1f-9b3a-2c5d7e9f1a2b", datetime(2024, 4, 5, 3), plan_items(), plan_rules())
        db.session.commit()
        plan = active_plan()
        ids = list(db.session.scalars(select(KhuPho.id)))
        months = [parse_month(m) for m in ("2024-01", "2024-02", "2024-03", "2024-04", "2026-12")]
        at = sums_at_month_ends(plan, months, ids)
        assert at[date(2026, 12, 1)] == counted(plan, ids)  # after everything: the counters as they are
        assert at[date(2024, 3, 1)] != at[date(2024, 4, 1)]
        for month in reversed(months[:-1]):
            # Forget everything recorded from the month's end on, rebuild state and counters, compare.
            end = month_start_utc(next_month(month))
            later = list(db.session.scalars(select(Visit.id).where(Visit.recorded_at >= end)))
            db.session.execute(delete(VisitAnswer).where(VisitAnswer.visit_id.in_(later)))
            db.session.execute(delete(Visit).where(Visit.id.in_(later)))
            db.session.execute(delete(Change).where(Change.recorded_at >= end))
            for household in db.session.scalars(select(Household)):
                recompute_household(household, plan_items(), plan_rules())
            counters.recompute(plan)
            db.session.commit()
            assert at[month] == counted(plan, ids), month
        assert sum(v["visited:num"] for v in at[date(2024, 1, 1)].values()) == 0  # no visit yet in January


def test_households_and_residents_added_later_are_not_in_earlier_months(app, ward):  # noqa: F811
    with app.app_context():
        db.session.execute(update(Change).where(Change.resident_id == ward["lan"])
                           .values(recorded_at=datetime(2024, 5, 1, 3)))
        db.session.commit()
        plan = active_plan()
        at = sums_at_month_ends(plan, [date(2024, 4, 1), date(2024, 5, 1)], [ward["kp2"]])
        assert at[date(2024, 4, 1)][ward["kp2"]]["residents:den"] == 0
        assert at[date(2024, 5, 1)][ward["kp2"]]["residents:den"] == 1
        assert month_of(datetime(2024, 3, 31, 17, 30)) == date(2024, 4, 1)  # 00:30 on 1 April in Vietnam
