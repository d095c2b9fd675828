"""Exports: the neighbourhood summary, open households per khu phố, raw visits and answers (.xlsx and CSV)."""
from .views import bp  # noqa: F401
