"""Reading the sheet's rows into the job's scratch rows: each cell read as the app's value, each household
placed (khu phố, street, key), every problem kept with its row and column.

Household columns may be repeated on every resident's row or left blank (or merged) under the household's
first row: a row without a house number and without a code belongs to the household above it, and a
blank khu phố or street is the one above it.
"""
import hashlib

from flask_babel import gettext as _

from ..text import address_key, fold
from . import values
from .places import Places, street_key
from .values import Bad, blank

PERSON_FIELDS = ("full_name", "birth", "phone", "phone_kind", "sim", "handset_2g_only", "has_epay")
READERS = {
    "row_label": values.as_text, "code": values.code, "khu_pho": values.as_text, "street": values.as_text,
    "house_number": values.house_number, "head_name": values.person_name, "is_business": values.yes_no,
    "full_name": values.person_name, "relation": values.as_text, "birth": values.birth_year,
    "phone": values.phone, "phone_kind": values.phone_kind, "sim": values.sim,
    "handset_2g_only": values.yes_no, "has_epay": values.yes_no,
}
EXAMPLE_LABELS = ("vi du", "vd", "mau", "dong mau")
HOUSEHOLD_CARRIED = ("code", "house_number", "head_name", "is_business", "street", "street_id", "street_name",
                     "khu_pho_id", "khu_pho_text", "address_key", "key")


def household_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class RowReader:
    """Turns sheet rows into scratch rows, carrying the household above from row to row (and chunk to chunk)."""

    def __init__(self, mapping: dict, places: Places, carry: dict):
        self.columns = {field: int(column) for column, field in mapping.items()}
        self.places = places
        self.carry = carry  # household: the household above; location: khu phố and street above
        self.has_names = "full_name" in self.columns

    def read(self, number: int, cells: dict) -> dict | None:
        """The scratch row for a sheet row, or None for an empty row or the template's example row."""
        raw = {field: cells.get(column) for field, column in self.columns.items()}
        if all(blank(v) for v in raw.values()):
            return None
        problems: list = []
        got = {}
        for field, value in raw.items():
            try:
                got[field] = READERS[field](value)
            except Bad as bad:
                got[field] = None
                problems.append([self.columns[field], str(bad), "household" if field in
                                 ("code", "khu_pho", "street", "house_number") else "row"])
        label = got.get("row_label")
        if label and not label.isdigit() and fold(label) in EXAMPLE_LABELS:
            return None
        household = self.household(got, problems)
        person = self.person(got, problems)
        data = {k: v for k, v in {**household, **person}.items() if v is not None}
        row = {"row_number": number, "household_key": None, "new_street": None, "data": data,
               "read_problems": problems, "check_problems": [], "skip": bool(problems)}
        if household.get("key") and not any(p[2] == "household" for p in problems):
            row["household_key"] = household_key(household["key"])
            if household.get("street_id") is None:
                row["new_street"] = f"{household['khu_pho_id']}|{household['street']}"[:200]
        else:
            row["skip"] = True
        return row

    def household(self, got: dict, problems: list) -> dict:
        code, house = got.get("code"), got.get("house_number")
        failed = any(p[2] == "household" for p in problems)
        above = self.carry.get("household")
        if code is None and house is None and not failed:
            return self.below(got, above, problems)
        place_text = got.get("khu_pho") or self.carry.get("location", {}).get("khu_pho")
        street_text = got.get("street") or self.carry.get("location", {}).get("street")
        household = {"code": code, "house_number": house, "head_name": got.get("head_name"),
                     "is_business": got.get("is_business"), "street": street_text, "khu_pho_text": place_text,
                     "lead": True}
        self.carry["location"] = {"khu_pho": place_text, "street": street_text}
        self.place(household, place_text, street_text, problems)
        if not any(p[2] == "household" for p in problems):
            if house is not None:
                household["address_key"] = address_key(household["street_name"], house)
            if code is not None:
                household["key"] = "c:" + code
            elif house is not None:
                household["key"] = "a:%s|%s|%s" % (household["khu_pho_id"], street_key(street_text),
                                                   household["address_key"])
        self.carry["household"] = {k: household.get(k) for k in HOUSEHOLD_CARRIED} if household.get("key") \
            else {"key": None}
        return household

    def below(self, got: dict, above: dict | None, problems: list) -> dict:
        """A row with neither house number nor code: one more resident of the household above."""
        if above is None:
            problems.append([self.columns.get("house_number"), _("Thiếu số nhà (hoặc mã hộ), và phía trên không có "
                                                                "hộ nào để dòng này thuộc về."), "household"])
            return {}
        if above.get("key") is None:
            return {"key": None}  # the household above could not be placed: nor can its residents
        for field in ("khu_pho", "street"):
            given = got.get(field)
            location = self.carry.get("location", {}).get(field)
            if given is not None and fold(given) != fold(location or ""):
                problems.append([self.columns.get("house_number"), _("Dòng có %(field)s khác dòng trên nhưng thiếu số "
                                                                    "nhà (hoặc mã hộ).", field=_field_word(field)),
                                 "household"])
                return {}
        household = dict(above, lead=False)
        for field in ("head_name", "is_business"):
            if got.get(field) is not None:
                household[field] = got[field]
        return household

    def place(self, household: dict, place_text: str | None, street_text: str | None, problems: list) -> None:
        if place_text is None:
            problems.append([self.columns.get("khu_pho"), _("Thiếu khu phố."), "household"])
            return
        if street_text is None:
            problems.append([self.columns.get("street"), _("Thiếu tên đường."), "household"])
            return
        try:
            khu_pho = self.places.khu_pho(place_text)
        except Bad as bad:
            problems.append([self.columns.get("khu_pho"), str(bad), "household"])
            return
        try:
            street = self.places.street(khu_pho, street_text)
        except Bad as bad:
            problems.append([self.columns.get("street"), str(bad), "household"])
            return
        household["khu_pho_id"] = khu_pho.id
        household["street_id"] = street.id if street else None
        household["street_name"] = street.name if street else street_text

    def person(self, got: dict, problems: list) -> dict:
        name = got.get("full_name") if self.has_names else got.get("head_name")
        given = [f for f in PERSON_FIELDS if f != "full_name" and got.get(f) is not None]
        if name is None and given and not any(p[2] == "row" for p in problems):
            problems.append([self.columns.get("full_name"), _("Thiếu họ tên."), "row"])
        return {"name": name, "name_key": fold(name) if name else None, "birth_year": got.get("birth"), "phone": got.get("phone"),
                "phone_kind": got.get("phone_kind"), "sim": got.get("sim"),
                "handset_2g_only": got.get("handset_2g_only"), "has_epay": got.get("has_epay"),
                "is_head": values.is_head(got.get("relation")) if "relation" in got else False}


def _field_word(field: str) -> str:
    return _("khu phố") if field == "khu_pho" else _("đường")
