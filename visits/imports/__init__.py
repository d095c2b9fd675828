"""Importing household lists from Excel (see views.py for the pages, jobs.py for how the work is done)."""
from .views import bp

__all__ = ["bp"]
