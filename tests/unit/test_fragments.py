"""Cached fragments (visits/fragments.py) are what a fresh render gives, per language and per checklist."""
import re
from types import SimpleNamespace

import pytest
from babel.support import NullTranslations
from flask import g, url_for

from tests.conftest import base_config
from visits import create_app, fragments


class Shouting(NullTranslations):
    """Another language: every string translated, visibly."""

    def ugettext(self, message):
        pieces = re.split(r"(%\(\w+\)s)", message)  # placeholders stay as they are
        return "".join(piece if at % 2 else piece.upper() for at, piece in enumerate(pieces))

    gettext = ugettext


@pytest.fixture
def app(tmp_path):
    return create_app(base_config(f"sqlite:///{tmp_path / 'unused.sqlite'}"))


def item(**changes):
    fields = {"code": "vneid", "label": "Cài VNeID", "steps": ["Mở CH Play", "Tìm <VNeID>"], "guide_slug": "vneid"}
    return SimpleNamespace(**{**fields, **changes})


def fresh(one, key, current, guide):
    return fragments.macro("households/_item.html", "item_fieldset")(one, key, current, guide)


GUIDE = ("/guides/vneid/hands-on?k=3", "/guides/vneid")


@pytest.mark.parametrize("current", [None, "done", "later", "something-else"])
@pytest.mark.parametrize("guide", [None, GUIDE])
def test_cached_item_equals_a_fresh_render(app, current, guide):
    with app.test_request_context("/"):
        first = fragments.item_fieldset(item(), 12, current, guide)
        again = fragments.item_fieldset(item(), 12, current, guide)
        other = fragments.item_fieldset(item(), 345, current, guide)
        assert first == again == fresh(item(), 12, current, guide)
        assert other == fresh(item(), 345, current, guide)
        assert "a-345-vneid" in other and "a-12-" not in other
        assert "&lt;VNeID&gt;" in first  # escaped as the template escapes


def test_a_changed_checklist_item_gives_new_markup(app):
    with app.test_request_context("/"):
        before = fragments.item_fieldset(item(), 1, None, GUIDE)
        relabelled = fragments.item_fieldset(item(label="Cài VNeID mức 2"), 1, None, GUIDE)
        new_steps = fragments.item_fieldset(item(steps=["Mở App Store"]), 1, None, GUIDE)
        other_guide = fragments.item_fieldset(item(), 1, None, ("/guides/vneid/hands-on?k=4", "/guides/vneid"))
        assert "Cài VNeID mức 2" in relabelled and relabelled == fresh(item(label="Cài VNeID mức 2"), 1, None, GUIDE)
        assert "Mở App Store" in new_steps and "Mở CH Play" not in new_steps
        assert "k=4" in other_guide and other_guide != before


def test_each_language_has_its_own_markup(app):
    with app.test_request_context("/"):
        vietnamese = fragments.item_fieldset(item(), 1, None, GUIDE)
    with app.test_request_context("/"):
        g._translations = Shouting()
        shouted = fragments.item_fieldset(item(), 1, None, GUIDE)
        assert shouted == fresh(item(), 1, None, GUIDE)
    with app.test_request_context("/"):
        assert fragments.item_fieldset(item(), 1, None, GUIDE) == vietnamese
    assert "Cách làm" in vietnamese and "CÁCH LÀM" in shouted and "Cách làm" not in shouted


def test_urls_are_url_for(app):
    with app.test_request_context("/"):
        assert fragments.fixed_url("static", filename="css/app.css") == url_for("static", filename="css/app.css")
        assert fragments.fixed_url("auth.login", next="/outbox?a=1") == url_for("auth.login", next="/outbox?a=1")
        for household_id in (1, 42, 918273645):
            assert fragments.id_url("households.page", "household_id", household_id) == \
                url_for("households.page", household_id=household_id)
        assert fragments.id_url("areas.street", "street_id", 7, open=1) == \
            url_for("areas.street", street_id=7, open=1)
    with app.test_request_context("/", base_url="http://example.org/field"):
        assert fragments.fixed_url("areas.home") == "/field/"
        assert fragments.id_url("areas.street", "street_id", 5) == "/field/streets/5"


def household(**changes):
    fields = {"id": 81, "status": "chua_tham", "is_business": False, "open_items": 0, "house_number": "12/3A",
              "head_name": "Nguyễn Văn A"}
    return SimpleNamespace(**{**fields, **changes})


@pytest.mark.parametrize("changes", [{}, {"status": "da_tham", "open_items": 3}, {"is_business": True},
                                     {"head_name": None}, {"head_name": 'Trần "Bé" <b>&</b>', "house_number": "<5>"},
                                     {"id": 918273645, "status": "hen_quay_lai", "open_items": 1}])
def test_cached_rows_equal_a_fresh_render(app, changes):
    row = fragments.macro
    with app.test_request_context("/"):
        fragments.household_row(household())  # a first row of the shape fills the cache
        assert fragments.household_row(household(**changes)) == \
            row("areas/_rows.html", "household_row")(household(**changes))
        for total, visited in ((0, 0), (7, 3), (7, 7)):
            street = SimpleNamespace(id=changes.get("id", 4), name=changes.get("head_name") or "Phố <Huế>")
            fragments.street_row(SimpleNamespace(id=1, name="x"), total, visited)
            assert fragments.street_row(street, total, visited) == \
                row("areas/_rows.html", "street_row")(street, total, visited)


def test_rows_in_another_language(app):
    with app.test_request_context("/"):
        g._translations = Shouting()
        shouted = fragments.household_row(household(is_business=True, open_items=2))
        assert shouted == fragments.macro("areas/_rows.html", "household_row")(household(is_business=True,
                                                                                         open_items=2))
        assert "SXKD" in shouted and "VIỆC" in shouted


@pytest.mark.parametrize("facts", [(None, None, None, None), ("smart", "4g", False, True),
                                   ("basic", "2g", True, False), ("none", "unknown", None, False)])
def test_cached_resident_facts_equal_a_fresh_render(app, facts):
    from visits.state import encode_fact
    resident = SimpleNamespace(id=5021, **dict(zip(fragments.FACTS, facts)))
    with app.test_request_context("/"):
        fragments.resident_facts(SimpleNamespace(id=1, **dict(zip(fragments.FACTS, facts))))
        cached = fragments.resident_facts(resident)
        assert cached == fragments.macro("households/_facts.html", "resident_facts")(resident, encode_fact)
        assert 'name="f-5021-sim"' in cached and 'name="f-1-' not in cached


def test_a_new_visit_form_equals_a_fresh_render(app):
    from flask_wtf.csrf import generate_csrf
    from werkzeug.datastructures import MultiDict

    from visits.forms import VisitForm
    with app.test_request_context("/"):
        head = fragments.macro("households/_visit_form.html", "visit_form_head")
        notes = fragments.macro("households/_visit_form.html", "visit_form_notes")
        fragments.visit_form_head(None)
        blank = fragments.visit_form_head(None)
        uuid = re.search(r'name="visit_uuid" type="hidden" value="([^"]+)"', blank).group(1)
        assert blank == head(VisitForm(formdata=None, visit_uuid=uuid))
        assert generate_csrf() in blank and uuid not in fragments.visit_form_head(None)
        assert fragments.visit_form_notes(None) == notes(VisitForm(formdata=None))
        sent = VisitForm(formdata=MultiDict({"outcome": "nonsense", "notes": "Gọi lại <chiều>"}))
        sent.validate()
        assert fragments.visit_form_head(sent) == head(sent) and "error" in head(sent)
        assert fragments.visit_form_notes(sent) == notes(sent) and "Gọi lại &lt;chiều&gt;" in notes(sent)


@pytest.mark.parametrize("role", [None, "member", "leader", "staff", "admin"])
def test_page_parts_equal_a_fresh_render(app, role):
    from flask_wtf.csrf import generate_csrf
    with app.test_request_context("/"):
        if role:
            g._login_user = SimpleNamespace(is_authenticated=True, role=role)
        fragments.page_top()
        top = fragments.page_top()
        signed_in = role is not None
        assert top == fragments.macro("_page.html", "page_top")(signed_in, role, generate_csrf() if role else None)
        assert ('value="%s"' % generate_csrf() in top) == signed_in
        assert fragments.page_foot() == fragments.macro("_page.html", "page_foot")(signed_in)
    app.config.update(HTMX_CDN_URL="https://cdn.example/htmx.js", HTMX_SRI="sha384-x")
    with app.test_request_context("/"):
        assert "cdn.example" in fragments.page_scripts() == \
            fragments.macro("_page.html", "page_scripts")("https://cdn.example/htmx.js", "sha384-x")


def test_a_checklist_is_its_items_in_a_row(app):
    items = [item(), item(code="dvc", label="Dịch vụ công", guide_slug="dvc", steps=[]),
             item(code="x", guide_slug="")]
    answers = {(7, "vneid"): "done", (7, "x"): "na"}
    links = {"vneid": GUIDE}
    with app.test_request_context("/"):
        assert fragments.checklist(items, 7, lambda key, code: answers.get((key, code)), links) == "".join(
            fresh(one, 7, answers.get((7, one.code)), links.get(one.guide_slug)) for one in items)
        assert fragments.checklist([], 7, None, links) == ""


@pytest.mark.parametrize("changes", [{}, {"birth_year": None, "full_name": None}, {"full_name": "Lê <Thị> & Tư"},
                                     {"phone_kind": "basic", "sim": "2g", "handset_2g_only": True, "has_epay": True}])
@pytest.mark.parametrize("labels", [(), ("VNeID", "Dịch vụ <công>")])
def test_cached_people_equal_a_fresh_render(app, changes, labels):
    fields = {"id": 33, "full_name": "Nguyễn Văn A", "birth_year": 1961, "phone_kind": "smart", "sim": "4g",
              "handset_2g_only": False, "has_epay": None}
    resident = SimpleNamespace(**{**fields, **changes})
    waiting = [SimpleNamespace(label=label) for label in labels]
    with app.test_request_context("/"):
        other = SimpleNamespace(**{**fields, **changes, "id": 1, "full_name": "B", "birth_year": 2})
        fragments.person(other, waiting)  # fills the cache with another resident of a shape
        assert fragments.person(resident, waiting) == \
            fragments.macro("households/_person.html", "person")(resident, waiting)


def test_lists_of_rows(app):
    households = [household(id=n, open_items=n % 3, is_business=n == 4) for n in range(1, 6)]
    streets = [(SimpleNamespace(id=n, name=f"Phố {n}"), 10, n) for n in range(1, 4)]
    with app.test_request_context("/"):
        row = fragments.macro("areas/_rows.html", "household_row")
        assert fragments.household_rows(households) == "".join(row(h) for h in households)
        street = fragments.macro("areas/_rows.html", "street_row")
        assert fragments.street_rows(streets) == "".join(street(*one) for one in streets)
        assert fragments.household_rows([]) == fragments.street_rows([]) == ""
