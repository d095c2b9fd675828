"""What a status, an outcome, an answer, a phone or a SIM is called on a page: template globals in Python.

They were Jinja macros; a household page shows some 130 of them (six answers per checklist item), and a macro
call costs about ten times a dictionary look-up. Each language's words are translated once (as the page
scripts' messages are, visits/pwa.py).
"""
from functools import lru_cache

from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup


def install_labels(app: Flask) -> None:
    app.jinja_env.globals.update(status_label=status_label, outcome_label=outcome_label, answer_label=answer_label,
                                 phone_label=phone_label, sim_label=sim_label)


def status_label(status: str | None) -> Markup:
    return _label("status", status)


def outcome_label(outcome: str | None) -> Markup:
    return _label("outcome", outcome)


def answer_label(value: str | None) -> Markup:
    return _label("answer", value)


def phone_label(kind: str | None) -> Markup:
    return _label("phone", kind)


def sim_label(sim: str | None) -> Markup:
    return _label("sim", sim)


def _label(kind: str, value: str | None) -> Markup:
    table = translated_labels(str(get_locale()))[kind]
    return table.get(value, table[None])


@lru_cache(maxsize=8)
def translated_labels(locale: str) -> dict[str, dict]:
    """The labels in `locale`, which is the current request's (the cache key; gettext reads the request).
    None is the label of any other value."""
    words = {
        "status": {"da_tham": _("Đã thăm"), "hen_quay_lai": _("Hẹn quay lại"), "khong_co_nha": _("Không có nhà"),
                   None: _("Chưa thăm")},
        "outcome": {"met": _("Gặp được"), "nobody_home": _("Không có nhà"), "come_back": _("Hẹn quay lại"),
                    None: _("Từ chối")},
        "answer": {"done": _("Vừa hướng dẫn xong"), "had": _("Đã có từ trước"), "declined": _("Không có nhu cầu"),
                   "later": _("Hẹn lần sau"), "na": _("Không áp dụng"), None: _("Chưa hỏi")},
        "phone": {"smart": _("Điện thoại thông minh"), "basic": _("Điện thoại thường"),
                  None: _("Không có điện thoại")},
        "sim": {"2g": _("SIM 2G"), "4g": _("SIM 4G"), None: _("SIM chưa rõ")},
    }
    # Markup, as the macros' translated strings were: the catalogue is ours, not user input.
    return {kind: {value: Markup(text) for value, text in table.items()} for kind, table in words.items()}
