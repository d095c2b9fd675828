"""CPU per request, by kind, in process (bench/bench.py request_cpu_ms): the load test's four requests
(bench/loadtest.py: home, a street, a household, a sync of 1-10 visits) sent through Flask's test client by one
logged-in member on a fresh SQLite demo ward of 5,000 households.

CPU time, not wall time, and the best of several rounds: steadier than requests per second on a shared machine.
Under gunicorn with 200 clients a request costs more (threads, the HTTP server); bench/loadtest.py measures that.
"""
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("LOAD_HOUSEHOLDS", "5000")  # read by loadtest on import

import loadtest  # noqa: E402 - after the setting above

ROUNDS, PER_ROUND = 5, 40
ACCEPT = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what aiohttp, and a phone, ask for


def request_cpu() -> list[tuple[str, float, str]]:
    with tempfile.TemporaryDirectory() as directory:
        uri = loadtest.sqlite_database(directory)
        loadtest.build_ward(uri)
        usernames, places = loadtest.members_and_places(uri)
        from visits import create_app
        app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "bench",
                          "RATELIMIT_LOGIN": loadtest.LOGIN_LIMIT})
        requests = member_requests(app, usernames[0], places[usernames[0]])
        figures = {name: best_cpu_ms(send) for name, send in requests.items()}
        from visits.extensions import db
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    weights = dict(loadtest.ACTIONS)
    mix = sum(figures[name] * weights[name] for name in figures) / sum(weights.values())
    return [(f"request_cpu_ms_{name}", round(ms, 2), "ms") for name, ms in figures.items()] + \
        [("request_cpu_ms_mix", round(mix, 2), "ms")]


def member_requests(app, username: str, place) -> dict:
    """The four kinds of request, as functions, for a member logged in through the login form."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"csrf_token": token, "username": username,
                                         "password": loadtest.MEMBER_PASSWORD})
    assert answer.status_code == 302, answer.status_code
    api_token = client.get("/api/session").get_json()["csrf_token"]
    rng = random.Random(62)
    member = loadtest.Member(0, username, place, "", None)
    return {
        "home": lambda: client.get("/", headers=ACCEPT),
        "street": lambda: client.get(f"/streets/{rng.choice(place.streets)}", headers=ACCEPT),
        "household": lambda: client.get(f"/households/{rng.choice(place.households)}", headers=ACCEPT),
        "sync": lambda: client.post("/api/sync", headers={"X-CSRFToken": api_token, **ACCEPT},
                                    json={"items": [member.visit() for _ in range(rng.randint(*loadtest.SYNC_SIZE))]}),
    }


def best_cpu_ms(send) -> float:
    for _ in range(5):  # warm up: templates compiled, statements cached
        send()
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(PER_ROUND):
            answer = send()
            assert answer.status_code == 200, answer.status_code
        rounds.append((time.process_time() - started) / PER_ROUND * 1000)
    return min(rounds)
