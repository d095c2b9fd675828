"""Pieces of pages rendered once per process and language, then reused: Markup that depends only on its arguments.

A household page shows the same checklist item, with the same label, steps, guide links and six answer chips,
for every adult of every household, and a street the same row for every household but its number and name.
Rendering them through Jinja was most of those pages' work. Here a piece is rendered by its own macro once,
with markers where the per-row values (an id, a name) go; later pages only fill the markers in, escaped as
Jinja escapes them. The macros print those values and never test them, so one rendering serves them all.

The cache hangs on the request's catalogue (visits/i18n.py translations), so each language has its own; the
key holds every other value the macro reads (an item's code, label and steps, a household's status, ...), so a
changed plan, checklist or household gives a new key, never stale markup. Each gunicorn worker fills its own.
The pieces around every page's content (menu, footer, scripts) and the app's fixed links are kept the same way.
"""
import re
from types import SimpleNamespace

from flask import current_app, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from .forms import VisitForm
from .i18n import translations
from .models import new_uuid
from .state import encode_fact

LIMIT = 20_000  # pieces per language: far above a ward's shapes; a bound should plans or checklists churn

# Markers for the printed values: an integer for ids (url_for's int converter takes no string), for the others
# strings that no name, label or URL holds.
ID, NAME, HOUSE, HEAD = str(918273645), "\x00name\x00", "\x00house\x00", "\x00head\x00"
CSRF, UUID, YEAR = "\x00csrf\x00", "\x00uuid\x00", "\x00year\x00"
MARKS = re.compile(f"({'|'.join(re.escape(mark) for mark in (ID, NAME, HOUSE, HEAD, CSRF, UUID, YEAR))})")


def cached(key: tuple, render) -> list:
    """The piece under key in the request's language, rendered by render() the first time."""
    store = translations().__dict__.setdefault("_fragments", {})
    found = store.get(key)
    if found is None:
        if len(store) >= LIMIT:
            store.clear()
        found = store[key] = render()
    return found


def macro(template: str, name: str):
    """A macro of a template, callable from Python in the request's context (its globals: _, labels)."""
    return getattr(current_app.jinja_env.get_template(template).module, name)


def skeleton(template: str, name: str, *arguments) -> list:
    """A macro's markup for arguments holding markers, cut at each marker: [text, marker, text, ..., text]."""
    return MARKS.split(str(macro(template, name)(*arguments)))


def filled_in(pieces: list, values: dict) -> Markup:
    """A skeleton with each marker replaced by its (escaped) value."""
    out = [pieces[0]]
    for at in range(1, len(pieces), 2):
        out.append(values[pieces[at]])
        out.append(pieces[at + 1])
    return Markup("".join(out))


# --- Every page (templates/_page.html, around base.html's content) --------------------------------------------

def page_top() -> Markup:
    """The menu bar of the user's role, the banners and the top of <main>."""
    user = current_user._get_current_object()
    signed_in = user.is_authenticated
    role = user.role if signed_in else None
    pieces = cached(("page_top", signed_in, role), lambda: skeleton("_page.html", "page_top", signed_in, role, CSRF))
    # The token only where the logout form is: a signed-out page asks for one in its <head> anyway.
    return filled_in(pieces, {CSRF: escape(generate_csrf())} if len(pieces) > 1 else {})


def page_foot() -> Markup:
    signed_in = current_user.is_authenticated
    return filled_in(cached(("page_foot", signed_in), lambda: skeleton("_page.html", "page_foot", signed_in)), {})


def page_scripts() -> Markup:
    """htmx from the CDN with its fallback, or our copy; then the app's scripts."""
    cdn_url, sri = current_app.config.get("HTMX_CDN_URL"), current_app.config.get("HTMX_SRI")
    pieces = cached(("page_scripts", cdn_url, sri), lambda: skeleton("_page.html", "page_scripts", cdn_url, sri))
    return filled_in(pieces, {})


# --- The household page (templates/households/) ---------------------------------------------------------------

FACTS = ("phone_kind", "sim", "handset_2g_only", "has_epay")  # a resident's facts (_facts.html, _person.html)


def item_fieldset(item, key: int, current: str | None, guide: tuple[str, str] | None) -> Markup:
    """The fieldset of one checklist item for one subject (0: the household, else a resident id), with its
    current answer and guide links."""
    pieces = cached(("item_fieldset", item.code, item.label, tuple(item.steps or ()), current, guide),
                    lambda: skeleton("households/_item.html", "item_fieldset", item, int(ID), current, guide))
    return filled_in(pieces, {ID: str(int(key))})


def person(resident, waiting: list) -> Markup:
    """A resident in the household's list, with the items still open for them."""
    facts = tuple(getattr(resident, fact) for fact in FACTS)
    born, labels = bool(resident.birth_year), tuple(item.label for item in waiting)
    pieces = cached(("person", born, labels) + facts,
                    lambda: skeleton("households/_person.html", "person", SimpleNamespace(
                        id=int(ID), full_name=NAME, birth_year=YEAR if born else None, **dict(zip(FACTS, facts))),
                        [SimpleNamespace(label=label) for label in labels]))
    return filled_in(pieces, {ID: str(int(resident.id)), NAME: escape(resident.full_name),
                              YEAR: escape(resident.birth_year)})


def checklist(items: list, key: int, answer_of, guide_links: dict) -> Markup:
    """The fieldsets of one subject's items in a row; answer_of(key, code): the current answer, guide_links:
    each guide slug's two links (visits/households.py household_context)."""
    return Markup("".join([item_fieldset(item, key, answer_of(key, item.code), guide_links.get(item.guide_slug))
                           for item in items]))


def resident_facts(resident) -> Markup:
    """A resident's phone, SIM and account selects, with their current answers."""
    values = tuple(getattr(resident, fact) for fact in FACTS)
    pieces = cached(("resident_facts",) + values,
                    lambda: skeleton("households/_facts.html", "resident_facts",
                                     SimpleNamespace(id=int(ID), **dict(zip(FACTS, values))), encode_fact))
    return filled_in(pieces, {ID: str(int(resident.id))})


def visit_form_head(form) -> Markup:
    """The visit form's hidden fields and outcome chips; form: one sent back, or None for a new visit."""
    if form is not None:
        return macro("households/_visit_form.html", "visit_form_head")(form)
    pieces = cached(("visit_form_head",), lambda: skeleton("households/_visit_form.html", "visit_form_head",
                                                             blank_visit_form()))
    return filled_in(pieces, {UUID: new_uuid(), CSRF: escape(generate_csrf())})


def visit_form_notes(form) -> Markup:
    render = macro("households/_visit_form.html", "visit_form_notes")
    return render(form) if form is not None else cached(("visit_form_notes",), lambda: render(blank_visit_form()))


def blank_visit_form() -> VisitForm:
    """A new visit's form with markers for its UUID and CSRF token (the token field prints current_token)."""
    form = VisitForm(formdata=None, visit_uuid=UUID)
    form.csrf_token.current_token = CSRF
    return form


# --- Rows of the area lists (templates/areas/_rows.html) ------------------------------------------------------
# A street of fifty households is fifty rows of a handful of shapes: a shape (status, business or not, open
# items, progress) is rendered once per language, and each row fills in its id and names, escaped as Jinja does.

def street_rows(rows) -> Markup:
    """Rows of (street, households, visited), one <li> each."""
    return Markup("".join([street_row(street, total, visited) for street, total, visited in rows]))


def household_rows(households) -> Markup:
    return Markup("".join([household_row(household) for household in households]))


def street_row(street, total: int, visited: int) -> Markup:
    pieces = cached(("street_row", total, visited),
                    lambda: skeleton("areas/_rows.html", "street_row", SimpleNamespace(id=int(ID), name=NAME),
                                     total, visited))
    return filled_in(pieces, {ID: str(int(street.id)), NAME: escape(street.name)})


def household_row(household) -> Markup:
    status, business, open_items = household.status, bool(household.is_business), household.open_items
    pieces = cached(("household_row", status, business, open_items),
                    lambda: skeleton("areas/_rows.html", "household_row", SimpleNamespace(
                        id=int(ID), house_number=HOUSE, head_name=HEAD, status=status, is_business=business,
                        open_items=open_items)))
    return filled_in(pieces, {ID: str(int(household.id)), HOUSE: escape(household.house_number),
                              HEAD: escape(household.head_name)})


# --- URLs -----------------------------------------------------------------------------------------------------
# url_for matches the endpoint, converts every value and quotes the result: a few dozen times a page for links
# that are the same on every request. Behind one process the script root is fixed, but it is in the key anyway.

_urls: dict = {}


def fixed_url(endpoint: str, **values) -> str:
    """url_for of a link that never changes (a static file, a menu entry, a guide)."""
    key = (request.script_root, endpoint, tuple(values.items()))
    found = _urls.get(key)
    if found is None:
        found = _urls[key] = url_for(endpoint, **values)
    return found


def id_url(endpoint: str, name: str, value: int, **values) -> str:
    """url_for(endpoint, name=value, **values) for an integer route argument, built once per endpoint."""
    key = (request.script_root, endpoint, name, tuple(values.items()))
    parts = _urls.get(key)
    if parts is None:
        parts = _urls[key] = url_for(endpoint, **{name: int(ID)}, **values).split(ID)
    return str(int(value)).join(parts)
