"""Vietnamese first; other languages follow through Flask-Babel catalogues."""
from flask import Flask, g, request
from flask_babel import get_translations
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

SUPPORTED = ("vi", "en")


def select_locale() -> str:
    return request.accept_languages.best_match(SUPPORTED, default="vi") if request else "vi"


def install_template_gettext(app: Flask) -> None:
    """Templates translate through the request's catalogue, looked up once per request.

    Flask-Babel's own template callables find the domain, the locale and the catalogue again for every string;
    a household page has some 300 strings, and that search was a third of its rendering time. `_` and `gettext`
    then skip Jinja's generic wrappers too (two more calls per string), and a string without variables is
    translated once per catalogue: half of what was left.
    """
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext)


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, string: str, **variables) -> str:
    """Jinja's newstyle gettext (the translation is a format string, marked safe where autoescaping is on),
    with the result of a string without variables kept per catalogue."""
    catalogue = translations()
    if not eval_ctx.autoescape:
        return catalogue.ugettext(string) % variables
    if variables:
        return Markup(catalogue.ugettext(string)) % variables
    done = catalogue.__dict__.setdefault("_template_strings", {})
    found = done.get(string)
    if found is None:
        found = done[string] = Markup(catalogue.ugettext(string)) % {}
    return found


def translations():
    """The catalogue of this request (or app context), kept in g after the first string."""
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found
