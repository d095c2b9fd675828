"""What reaches the views is clean text and ids that fit a column, whatever was sent.

- Unicode NFC everywhere: "Nguyễn" typed with a combining tilde and hook (as some phone keyboards do) is the
  same text as the precomposed one, for names, addresses, searches and passwords.
- Control characters (NUL and the like; a tab or a new line stays) and lone surrogates are dropped: nobody
  types them, and the databases refuse them (PostgreSQL text cannot hold NUL; neither database stores a
  lone surrogate as UTF-8), so they would otherwise fail the request with a 500.
- An id in a URL above the largest integer a PostgreSQL column holds matches no route (404), rather than
  failing the query.

Form values are cleaned as the request parses them (CleanRequest); JSON bodies where they are parsed by hand
(parsed_json, in visits/sync.py and visits/outbox_upload.py).
"""
import json
import re
import unicodedata

from flask import Request
from werkzeug.routing import IntegerConverter

MAX_ID = 2 ** 31 - 1
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    if text.isascii() and text.isprintable():
        return text  # the usual case, first
    return unicodedata.normalize("NFC", _UNWANTED.sub("", text))


def clean_json(value):
    """A parsed JSON value with every string, keys too, cleaned (see clean_text): the value itself when every string
    in it is clean already (the usual case: looking costs less than a copy)."""
    return value if _clean(value) else _cleaned(value)


def _clean(value) -> bool:
    kind = value.__class__
    if kind is str:
        return value.isascii() and value.isprintable() or clean_text(value) == value
    # The usual leaves inline: a batch holds some four thousand strings.
    if kind is dict:
        for k, v in value.items():
            if not (k.__class__ is str and k.isascii() and k.isprintable() or _clean(k)):
                return False
            if not (v.__class__ is str and v.isascii() and v.isprintable() or _clean(v)):
                return False
    elif kind is list:
        for v in value:
            if not (v.__class__ is str and v.isascii() and v.isprintable() or _clean(v)):
                return False
    return True


def _cleaned(value):
    kind = value.__class__
    if kind is str:
        return clean_text(value)
    if kind is dict:
        return {k if k.__class__ is str and k.isascii() and k.isprintable() else _cleaned(k):
                v if v.__class__ is str and v.isascii() and v.isprintable() else _cleaned(v)
                for k, v in value.items()}
    if kind is list:
        return [v if v.__class__ is str and v.isascii() and v.isprintable() else _cleaned(v) for v in value]
    return value


def parsed_json(data: bytes):
    """json.loads(data), cleaned as clean_json cleans it.

    A body sent by JSON.stringify is usually not walked at all: when its text holds no escape, no character
    clean_text drops and is NFC already, every string in it is a piece of that text between two quotes, and so clean
    too (a quote never combines with its neighbours, so the pieces of an NFC text are NFC).
    """
    value = json.loads(data)
    try:
        text = data.decode()
    except UnicodeDecodeError:  # a UTF-16 or UTF-32 body, which json.loads reads too
        return clean_json(value)
    if "\\" in text or _UNWANTED.search(text) or not unicodedata.is_normalized("NFC", text):
        return clean_json(value)
    return value


class CleanRequest(Request):
    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form:
            pairs = [(key, value) for key, value in form.items(multi=True)]
            cleaned = [(clean_text(key), clean_text(value)) for key, value in pairs]
            if cleaned != pairs:
                self.__dict__["form"] = self.parameter_storage_class(cleaned)


class IdConverter(IntegerConverter):
    """<int:…> in every route: no larger than a database id can be."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
