"""Natural order of house numbers: 2, 2A, 10, 10/3, 12, then lanes such as "Ngõ 5, số 7"."""
import re

from .text import fold

_TOKENS = re.compile(r"\d+|[a-z]+")
_LANE_WORDS = {"ngo", "ngach", "hem", "kiet", "to"}
_NOISE = {"so", "nha"}


def sort_key(house_number: str) -> str:
    """A string whose plain ordering is the natural order of house numbers.

    Numbers are zero-padded so "10" sorts after "2"; a letter suffix ("2A") sorts right
    after its number; an address inside a lane sorts after the street's own numbers, lane by lane.
    """
    words = _TOKENS.findall(fold(house_number))
    in_lane = any(w in _LANE_WORDS for w in words)
    parts = [f"{int(w):06d}" if w.isdigit() else w for w in words if w not in _NOISE]
    parts = [p for p in parts if p not in _LANE_WORDS]
    return ("1" if in_lane else "0") + ".".join(parts)
