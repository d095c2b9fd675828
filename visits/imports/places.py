"""Finding the ward's khu phố and streets named in a sheet, however the sheet spells them."""
import re
from collections import defaultdict
from functools import lru_cache

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import KhuPho, Street, Ward
from ..text import fold
from .values import Bad

_NUMBERED = re.compile(r"(?:kp|khu pho|khu|to dan pho|tdp|to)?\s*0*(\d+)")
_GENERIC_STREET_WORDS = ("duong", "pho", "duong pho")


@lru_cache(maxsize=4096)
def street_key(name: str) -> str:
    """"Đường Lê Lợi", "Lê Lợi" and "le loi" are one street; "Ngõ 5 Lê Lợi" is another."""
    words = fold(name).replace(",", " ").split()
    for generic in _GENERIC_STREET_WORDS:
        parts = generic.split()
        if len(words) > len(parts) and words[:len(parts)] == parts:
            words = words[len(parts):]
            break
    return " ".join(words)


class Places:
    """The khu phố and streets of one ward, read once per chunk."""

    def __init__(self, ward_id: int):
        self.ward = db.session.get(Ward, ward_id)
        self.khu_phos = {k.id: k for k in db.session.scalars(select(KhuPho).where(KhuPho.ward_id == ward_id)
                                                           .order_by(KhuPho.code))}
        self.by_key: dict[str, set[int]] = defaultdict(set)
        for place in self.khu_phos.values():
            for text in (place.code, place.name):
                self.by_key[fold(text).replace(" ", "")].add(place.id)
                number = _NUMBERED.fullmatch(fold(text))
                if number:
                    self.by_key["#" + number.group(1).lstrip("0")].add(place.id)
        self.found: dict = {}  # (khu phố id or None, text) -> what khu_pho() and street() answered
        self.streets: dict[tuple[int, str], list[Street]] = defaultdict(list)
        self.street_places: dict[str, set[int]] = defaultdict(set)
        if self.khu_phos:
            for street in db.session.scalars(select(Street).where(Street.khu_pho_id.in_(list(self.khu_phos)))
                                             .order_by(Street.id)):
                self.streets[(street.khu_pho_id, street_key(street.name))].append(street)
                self.street_places[street_key(street.name)].add(street.khu_pho_id)

    def khu_pho(self, text: str) -> KhuPho:
        """The khu phố a cell names by code ("KP01"), name ("Khu phố 1") or number ("1", "KP 1")."""
        return self._cached((None, text), self._khu_pho)

    def street(self, khu_pho: KhuPho, text: str) -> Street | None:
        """The street of this khu phố with this name, or None when the khu phố has none of that name."""
        return self._cached((khu_pho.id, text), lambda t: self._street(khu_pho, t))

    def _cached(self, key: tuple, find):
        """A sheet names the same few places thousands of times: each answer (or problem) is found once."""
        if key not in self.found:
            try:
                self.found[key] = (find(key[1]), None)
            except Bad as bad:
                self.found[key] = (None, bad)
        value, problem = self.found[key]
        if problem is not None:
            raise Bad(str(problem))
        return value

    def _khu_pho(self, text: str) -> KhuPho:
        key = fold(text)
        found = self.by_key.get(key.replace(" ", ""), set())
        if not found:
            number = _NUMBERED.fullmatch(key)
            if number:
                found = self.by_key.get("#" + number.group(1).lstrip("0"), set())
        if len(found) == 1:
            return self.khu_phos[next(iter(found))]
        examples = ", ".join(k.code for k in list(self.khu_phos.values())[:3])
        if found:
            raise Bad(_("\"%(value)s\" khớp với nhiều khu phố; hãy ghi mã khu phố (ví dụ %(examples)s).",
                        value=text, examples=examples))
        raise Bad(_("%(ward)s không có khu phố \"%(value)s\". Hãy ghi mã hoặc tên khu phố có sẵn "
                    "(ví dụ %(examples)s); ứng dụng không tự tạo khu phố.",
                    ward=self.ward.name if self.ward else "", value=text, examples=examples or "—"))

    def _street(self, khu_pho: KhuPho, text: str) -> Street | None:
        matches = self.streets.get((khu_pho.id, street_key(text)), [])
        if len(matches) > 1:
            raise Bad(_("%(khu_pho)s có %(n)s đường cùng tên \"%(value)s\"; hãy sửa tên đường trong ứng dụng cho "
                        "khác nhau.", khu_pho=khu_pho.name, n=len(matches), value=text))
        return matches[0] if matches else None

    def add_street(self, street: Street) -> None:
        self.found = {key: value for key, value in self.found.items() if key[0] != street.khu_pho_id}
        self.streets[(street.khu_pho_id, street_key(street.name))].append(street)
        self.street_places[street_key(street.name)].add(street.khu_pho_id)

    def unknown_street(self, khu_pho_id: int, text: str) -> str:
        """Why a street is an error, naming the khu phố that do have it."""
        place = self.khu_phos[khu_pho_id]
        elsewhere = [self.khu_phos[k].name for k in sorted(self.street_places.get(street_key(text), set()))]
        message = _("%(khu_pho)s chưa có đường \"%(value)s\". Hãy sửa tên đường cho khớp với ứng dụng, hoặc chọn "
                    "\"tạo đường mới khi chưa có\".", khu_pho=place.name, value=text)
        if elsewhere:
            message += " " + _("(Đường này có ở %(places)s.)", places=", ".join(elsewhere))
        return message
