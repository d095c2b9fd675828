"""Vietnamese first; other languages follow through Flask-Babel catalogues."""
from flask import request

SUPPORTED = ("vi", "en")


def select_locale() -> str:
    return request.accept_languages.best_match(SUPPORTED, default="vi") if request else "vi"
