"""Entry point for gunicorn and the flask command."""
from visits import create_app

app = create_app()
