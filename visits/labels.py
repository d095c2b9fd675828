"""What a status, an outcome, an answer, a phone or a SIM is called on a page: template globals in Python.

They were Jinja macros; a household page shows some 130 of them (six answers per checklist item), and a macro
call costs about ten times a dictionary look-up. Each language's words are translated once (as the page
scripts' messages are, visits/pwa.py).
"""
from flask import Flask
from flask_babel import gettext as _
from markupsafe import Markup

from .i18n import translations

ANSWERS = ("done", "had", "declined", "later", "na")  # the answers a member can pick, in the form's order


def install_labels(app: Flask) -> None:
    app.jinja_env.globals.update(status_label=status_label, outcome_label=outcome_label, answer_label=answer_label,
                                 phone_label=phone_label, sim_label=sim_label,
                                 answer_choices=answer_choices)


def status_label(status: str | None) -> Markup:
    return _label("status", status)


def outcome_label(outcome: str | None) -> Markup:
    return _label("outcome", outcome)


def answer_label(value: str | None) -> Markup:
    return _label("answer", value)


def answer_choices() -> list[tuple[str, Markup]]:
    """The answers of a checklist item and their labels, in the form's order."""
    table = _labels()["answer"]
    return [(value, table[value]) for value in ANSWERS]


def phone_label(kind: str | None) -> Markup:
    return _label("phone", kind)


def sim_label(sim: str | None) -> Markup:
    return _label("sim", sim)


def _label(kind: str, value: str | None) -> Markup:
    table = _labels()[kind]
    return table.get(value, table[None])


def _labels() -> dict[str, dict]:
    """The labels in the request's language, kept with its catalogue (found once per request, visits/i18n.py)."""
    catalogue = translations()
    found = catalogue.__dict__.get("_labels")
    if found is None:
        found = catalogue._labels = translated_labels()
    return found


def translated_labels() -> dict[str, dict]:
    """The labels in the request's language; None is the label of any other value."""
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
