"""Vietnamese text folded for matching: "Nguyễn Văn An" and "nguyen van an" are the same key."""
import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Store every name precomposed, however the phone's keyboard typed it."""
    return unicodedata.normalize("NFC", _SPACES.sub(" ", text or "").strip())


def fold(text: str) -> str:
    """Lower-case, strip diacritics (đ → d) and collapse spaces."""
    decomposed = unicodedata.normalize("NFD", text or "")
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    bare = bare.replace("đ", "d").replace("Đ", "D")
    return _SPACES.sub(" ", bare).strip().lower()


def address_key(street_name: str, house_number: str) -> str:
    """The key two members' spellings of one address share: "Nguyễn Trãi 12" = "nguyen trai 12".

    A house number typed with its street's name ("nguyen trai 12" on Nguyễn Trãi) is the same house.
    """
    noise = {"so", "nha", "duong", "pho"}
    street = [w for w in re.findall(r"[0-9a-z]+", fold(street_name)) if w not in noise]
    house = [w for w in re.findall(r"[0-9a-z]+", fold(house_number)) if w not in noise]
    if street and house[:len(street)] == street:
        house = house[len(street):]
    return " ".join(street + house)
