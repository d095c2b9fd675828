"""Shaping a ward in the browser: khu phố, their streets (and who walks each) and their teams."""
from . import khu_pho, streets, teams  # noqa: F401 - each adds its routes to bp
from .access import bp

__all__ = ["bp"]
