"""The checklist is read once per process and plan revision (visits/checklist.py): a change to it reaches the
next request, and a request with nothing changed does not read it again."""
from sqlalchemy import event, select

from visits.checklist import active_plan
from visits.extensions import db
from visits.models import ChecklistItem, Plan


def checklist_reads(app, send) -> int:
    """How many statements that read checklist_item send() made."""
    statements = []
    with app.app_context():
        engine = db.engine

    def seen(_conn, _cursor, statement, *_rest):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert send().status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return sum("FROM checklist_item" in s for s in statements)


def test_a_page_with_nothing_changed_does_not_read_the_checklist_again(app, as_user, area):
    member = as_user("member1")
    page = lambda: member.get(f"/households/{area['h12']}")  # noqa: E731
    page()
    assert checklist_reads(app, page) == 0


def test_a_relabelled_item_shows_on_the_next_page_of_every_process(app, as_user, area):
    member = as_user("member1")
    before = member.get(f"/households/{area['h12']}").get_data(as_text=True)
    with app.app_context():
        item = db.session.scalar(select(ChecklistItem).where(ChecklistItem.code == "vneid"))
        old_label, revision = item.label, active_plan().revision
        assert old_label in before
        item.label = "Cài đặt VNeID mức 2 (nhãn mới)"
        db.session.commit()
        assert db.session.get(Plan, item.plan_id).revision == revision + 1
    after = lambda: member.get(f"/households/{area['h12']}")  # noqa: E731
    assert checklist_reads(app, after) == 1
    page = after().get_data(as_text=True)
    assert "Cài đặt VNeID mức 2 (nhãn mới)" in page and old_label not in page


def test_an_item_added_or_removed_moves_the_revision(app, area):
    with app.app_context():
        plan = active_plan()
        first = plan.revision
        model = db.session.scalar(select(ChecklistItem).where(ChecklistItem.plan_id == plan.id))
        added = ChecklistItem(plan_id=plan.id, target_id=model.target_id, code="thu_nghiem", label="Mục thử",
                              applies_to="household", eligibility="all", steps=[], position=99)
        db.session.add(added)
        db.session.commit()
        assert db.session.get(Plan, plan.id).revision == first + 1
        db.session.delete(added)
        db.session.commit()
        assert db.session.get(Plan, plan.id).revision == first + 2
