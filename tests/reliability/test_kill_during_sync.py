"""The server killed (SIGKILL, master and workers at once) in the middle of sync batches, restarted, and the
phones' outboxes replayed: no acknowledged visit lost, none written twice, the target counters equal to a recompute,
and no answer ever a 5xx or "database is locked" (a dropped connection is what a phone sees of the kill, and it
keeps the batch and sends it again, as static/js/outbox.js does).

Every other kill is the server's own, right after a batch is committed and before its answer leaves
(tests/reliability/served.py): the phone must then hear "duplicate" for that batch when it sends it again.
RELIABILITY_KILLS sets how many kills each database gets: 2 in the normal suite, 20 with `make faulttest`.
"""
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from sqlalchemy import func, select

from visits.extensions import db
from visits.models import Household, Visit, VisitAnswer

from tests.fixtures import PASSWORD
from tests.http.test_sync_api import assert_counters_are_a_recompute, assert_state_is_a_recompute, uuids, visit
from tests.reliability.served import CRASH_ENV, DATABASE_ENV

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("RELIABILITY_KILLS", 2))
BATCH = 10  # visits per request: small batches, so that kills land inside them often
PHONES = ("member1", "member1b", "leader1", "member2")
GONE = (ConnectionError, http.client.HTTPException, TimeoutError, urllib.error.URLError)


class Server:
    """gunicorn in a session of its own, so that one killpg takes the master and every worker at once."""

    def __init__(self, database_url: str, directory: Path):
        self.env = dict(os.environ, **{DATABASE_ENV: database_url})
        self.log = directory / "gunicorn.log"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = None
        self.generation = 0  # counts starts; a phone that lost its connection waits for the next one
        self.in_flight = 0
        self.answered = 0  # batches answered by the running generation
        self.changed = threading.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, crash_after_commit: bool = False) -> None:
        self.env[CRASH_ENV] = "1" if crash_after_commit else ""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                # --preload: the app is imported once, before the workers fork, so that restarts are quick.
                [sys.executable, "-m", "gunicorn", "--preload", "--workers", "2", "--threads", "2",
                 "--chdir", str(ROOT), "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning",
                 "tests.reliability.served:app()"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        while True:  # until it answers: each try either connects or fails at once (or within its timeout)
            if self.process.poll() is not None:  # up, and already crashed after a phone's first batch
                assert crash_after_commit, self.log.read_text()
                break
            try:
                with urllib.request.urlopen(f"{self.url}/login", timeout=10) as response:
                    if response.status == 200:
                        break
            except GONE:
                with self.changed:
                    self.changed.wait(0.05)
        with self.changed:
            self.generation += 1
            self.answered = 0
            self.changed.notify_all()

    def crashed(self) -> None:
        """Wait for the server to kill itself after committing a batch."""
        self.process.wait(timeout=120)

    def kill_mid_batch(self, rng: random.Random) -> None:
        """SIGKILL while a batch is on its way or being written, once this generation has answered a few."""
        with self.changed:
            assert self.changed.wait_for(lambda: self.in_flight > 0 and self.answered >= len(PHONES), timeout=120)
            # A little later, so that the kill falls anywhere from reading the request to sending the answer.
            self.changed.wait(rng.uniform(0, 0.03))
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


class Phone(threading.Thread):
    """A member's phone: records visits into its outbox and syncs it oldest first, BATCH at a time; an item
    leaves the outbox only once the server has answered it accepted or duplicate."""

    def __init__(self, server: Server, username: str, households: list[tuple[str, list[str]]], seed: int):
        super().__init__(daemon=True)
        self.server, self.username, self.households = server, username, households
        self.rng = random.Random(seed)
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.outbox: list[dict] = []
        self.tried: set[str] = set()  # items sent at least once
        self.replayed: set[str] = set()  # items of the last request that had been sent before
        self.lost_connections = 0
        self.sent: set[str] = set()
        self.acknowledged: set[str] = set()
        self.replayed_duplicates = 0  # written before a kill, answered only after it
        self.problems: list[str] = []
        self.draining = threading.Event()

    def log_in(self) -> str:
        """Log in (unless an earlier try, cut off by a kill, already did) and return the session's CSRF token."""
        try:
            answer = json.loads(self.opener.open(f"{self.server.url}/api/session", timeout=30).read())
        except urllib.error.HTTPError as error:
            assert error.code == 401, error.code
            page = self.opener.open(f"{self.server.url}/login", timeout=30).read().decode()
            token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
            form = urllib.parse.urlencode({"csrf_token": token, "username": self.username, "password": PASSWORD})
            self.opener.open(f"{self.server.url}/login", data=form.encode(), timeout=30).read()
            answer = json.loads(self.opener.open(f"{self.server.url}/api/session", timeout=30).read())
        assert answer["username"] == self.username
        return answer["csrf_token"]

    def record(self) -> dict:
        household, residents = self.rng.choice(self.households)
        item = visit(household, met=residents[:1], answers=[
            {"resident": residents[0], "code": "vneid", "value": self.rng.choice(("done", "later", "had"))},
            {"resident": residents[-1], "code": "epay", "value": self.rng.choice(("had", "declined"))},
            {"resident": None, "code": "ecommerce_guide", "value": self.rng.choice(("later", "done"))}])
        self.sent.add(item["uuid"])
        return item

    def run(self) -> None:
        try:
            self.token = self.when_up(self.log_in)
            self.sync()
        except Exception as problem:  # noqa: BLE001 - reported to the test
            self.problems.append(f"{self.username}: {problem!r}")

    def sync(self) -> None:
        while True:
            if not self.draining.is_set():
                self.outbox += [self.record() for _ in range(BATCH - len(self.outbox))]
            if not self.outbox:
                return
            batch = self.outbox[:BATCH]
            results = self.when_up(lambda: self.post(batch))
            for item, result in zip(batch, results, strict=True):
                assert result["uuid"] == item["uuid"]
                if result["status"] not in ("accepted", "duplicate"):
                    self.problems.append(f"{self.username}: {result}")
                    return
                self.acknowledged.add(item["uuid"])
                self.replayed_duplicates += result["status"] == "duplicate" and item["uuid"] in self.replayed
            del self.outbox[:len(batch)]

    def when_up(self, request):
        """request(), again and again while the connection is lost: once the server is back (or after 5 s)."""
        while True:
            generation = self.server.generation
            try:
                return request()
            except GONE:
                self.lost_connections += 1
                with self.server.changed:
                    self.server.changed.wait_for(lambda: self.server.generation > generation, timeout=5)

    def post(self, batch: list[dict]) -> list[dict]:
        request = urllib.request.Request(f"{self.server.url}/api/sync", data=json.dumps({"items": batch}).encode(),
                                         headers={"Content-Type": "application/json", "X-CSRFToken": self.token})
        uuids = {item["uuid"] for item in batch}
        self.replayed = uuids & self.tried
        self.tried |= uuids
        with self.server.changed:
            self.server.in_flight += 1
            self.server.changed.notify_all()
        try:
            with self.opener.open(request, timeout=60) as response:
                body = response.read().decode()
        except urllib.error.HTTPError as error:  # an answer, not a lost connection: never expected here
            body = error.read().decode(errors="replace")
            self.problems.append(f"{self.username}: HTTP {error.code}: {body[:300]}")
            raise AssertionError(body[:300]) from None
        finally:
            with self.server.changed:
                self.server.in_flight -= 1
        if "database is locked" in body:
            self.problems.append(f"{self.username}: database is locked")
        with self.server.changed:
            self.server.answered += 1
            self.server.changed.notify_all()
        return json.loads(body)["results"]


def phone_households(app, area) -> dict[str, list]:
    """Households each phone's member may visit, with residents to answer for (first and last)."""
    u = uuids(app, area)
    kp1 = [(u["h12"], [u["cuong"], u["an"]]), (u["h2"], [u["dung"]])]
    return {"member1": kp1, "member1b": kp1, "leader1": kp1, "member2": [(u["h_hl"], [u["lan"]])]}


def test_no_acknowledged_visit_is_lost_or_doubled_when_the_server_is_killed(app, area, database_url, tmp_path):
    rng = random.Random(2024)
    server = Server(database_url, tmp_path)
    server.start()
    households = phone_households(app, area)
    phones = [Phone(server, name, households[name], seed) for seed, name in enumerate(PHONES)]
    try:
        for phone in phones:
            phone.start()
        for kill in range(KILLS):
            if kill % 2 == 0:
                server.kill_mid_batch(rng)
            else:
                server.crashed()
            server.start(crash_after_commit=kill % 2 == 0 and kill + 1 < KILLS)
        for phone in phones:
            phone.draining.set()
        for phone in phones:
            phone.join(timeout=300)
            assert not phone.is_alive(), f"{phone.username} did not empty its outbox"
    finally:
        server.stop()
    problems = [p for phone in phones for p in phone.problems]
    assert problems == []
    assert "database is locked" not in server.log.read_text()

    sent = set().union(*(phone.sent for phone in phones))
    acknowledged = set().union(*(phone.acknowledged for phone in phones))
    assert acknowledged == sent  # every outbox emptied: each item was answered accepted or duplicate in the end
    with app.app_context():
        copies = dict(db.session.execute(select(Visit.uuid, func.count()).group_by(Visit.uuid)).all())
        answers = dict(db.session.execute(select(Visit.uuid, func.count(VisitAnswer.id))
                                          .join(VisitAnswer, VisitAnswer.visit_id == Visit.id)
                                          .group_by(Visit.uuid)).all())
        assert set(copies) == acknowledged  # nothing lost, nothing that no phone sent
        assert set(copies.values()) == {1}  # nothing twice
        assert set(answers.values()) == {3} and len(answers) == len(copies)  # every visit with all its answers
        for household_id in db.session.scalars(select(Household.id)):
            assert_state_is_a_recompute(household_id)
        assert_counters_are_a_recompute()
    if KILLS >= 2:  # the server crashed after a commit: that batch was written once and answered on replay
        assert sum(p.replayed_duplicates for p in phones) >= 1
    print(f"{KILLS} kills, {sum(p.lost_connections for p in phones)} requests cut off, {len(acknowledged)} visits, "
          f"{sum(p.replayed_duplicates for p in phones)} written before a kill and acknowledged on replay")
