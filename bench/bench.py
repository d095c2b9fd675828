"""Benchmarks: `.venv/bin/python bench/bench.py [name ...]` prints one `BENCH <name> <value> <unit>` line per figure.

Each benchmark is a function registered with @bench that returns its figures as (name, value, unit).
With names on the command line only those benchmarks run (a benchmark's function name or a figure name).
"""
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCHES = []


def bench(function):
    BENCHES.append(function)
    return function


def fresh_sqlite_app(directory: str):
    """An app on a new, migrated SQLite database with the default plan loaded."""
    from flask_migrate import upgrade

    from visits import create_app
    from visits.extensions import db
    from visits.plans import ensure_default_plan

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory}/bench.sqlite", "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        ensure_default_plan()
        db.session.commit()
    return app


def close(app) -> None:
    from visits.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@bench
def demo_data():
    """Wall time to build the default 5,000-household demo ward into a fresh SQLite database."""
    from visits.demo_data import build_demo_ward
    with tempfile.TemporaryDirectory() as directory:
        app = fresh_sqlite_app(directory)
        try:
            with app.app_context():
                started = time.perf_counter()
                build_demo_ward()
                elapsed = time.perf_counter() - started
        finally:
            close(app)
    return [("demo_data_s_5k", round(elapsed, 3), "s")]


def main(argv: list[str]) -> int:
    logging.disable(logging.WARNING)  # keep Alembic's INFO lines out of the figures
    chosen = [b for b in BENCHES if not argv or b.__name__ in argv or any(name.startswith(b.__name__)
                                                                          for name in argv)]
    if not chosen:
        known = ", ".join(b.__name__ for b in BENCHES)
        print(f"no benchmark named {' '.join(argv)}; known: {known}", file=sys.stderr)
        return 2
    for function in chosen:
        for name, value, unit in function():
            if not argv or function.__name__ in argv or name in argv:
                print(f"BENCH {name} {value} {unit}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
