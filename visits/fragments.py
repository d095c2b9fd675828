"""Pieces of pages rendered once per process and language, then reused: Markup that depends only on its arguments.

A household page shows the same checklist item, with the same label, steps, guide links and six answer chips,
for every adult of every household; rendering it through Jinja cost a third of the page. Here a piece is
rendered by its template once, with a marker where a per-household value (a resident id) goes, and later
pages only join the cached parts around that value.

The cache hangs on the request's catalogue (visits/i18n.py translations), so each language has its own; the
key holds every value the template reads (an item's code, label and steps, not its id), so a changed plan or
checklist gives a new key, never stale markup. Each gunicorn worker fills its own.
"""
import re
from types import SimpleNamespace

from flask import current_app, request, url_for
from markupsafe import Markup, escape

from .i18n import translations

SLOT = "\x00slot\x00"  # stands for a per-page value in a cached piece; never in a label or a URL
LIMIT = 20_000  # pieces per language: far above a ward's plans x answers x guides, a bound if plans churn


def cached(key: tuple, render) -> Markup | list:
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


def filled(parts: list, value) -> Markup:
    """A cached piece with its slots filled by value (an int: nothing to escape)."""
    return Markup(str(int(value)).join(parts))


def skeleton(template: str, name: str, *arguments) -> list:
    """A macro's markup for arguments holding markers, cut at each marker: [text, marker, text, ..., text]."""
    text = str(macro(template, name)(*arguments))
    return re.split(f"({'|'.join(re.escape(mark) for mark in MARKS)})", text)


def filled_in(pieces: list, values: dict) -> Markup:
    """A skeleton with each marker replaced by its (escaped) value."""
    out = [pieces[0]]
    for at in range(1, len(pieces), 2):
        out.append(values[pieces[at]])
        out.append(pieces[at + 1])
    return Markup("".join(out))


def item_fieldset(item, key: int, current: str | None, guide: tuple[str, str] | None) -> Markup:
    """templates/households/_item.html's fieldset of one checklist item for one subject (0: the household,
    else a resident id), with its current answer and guide links."""
    parts = cached(("item_fieldset", item.code, item.label, tuple(item.steps or ()), current, guide),
                   lambda: macro("households/_item.html", "item_fieldset")(item, SLOT, current, guide).split(SLOT))
    return filled(parts, key)


# --- Rows of the area lists (templates/areas/_rows.html) ------------------------------------------------------
# A street of fifty households is fifty rows of a handful of shapes: a shape (status, business or not, open
# items, progress) is rendered once per language, and each row fills in its id and names, escaped as Jinja does.

ID, NAME, HOUSE, HEAD = str(918273645), "\x00name\x00", "\x00house\x00", "\x00head\x00"
MARKS = (ID, NAME, HOUSE, HEAD)


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
    """url_for of a link that never changes (a static file, a menu entry)."""
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
