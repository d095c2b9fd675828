"""Vietnamese first; other languages follow through Flask-Babel catalogues."""
from flask import Flask, g, request
from flask_babel import get_translations

SUPPORTED = ("vi", "en")


def select_locale() -> str:
    return request.accept_languages.best_match(SUPPORTED, default="vi") if request else "vi"


def install_template_gettext(app: Flask) -> None:
    """Templates translate through the request's catalogue, looked up once per request.

    Flask-Babel's own template callables find the domain, the locale and the catalogue again for every string;
    a household page has some 300 strings, and that search was a third of its rendering time.
    """
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)


def translations():
    """The catalogue of this request (or app context), kept in g after the first string."""
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found
