"""A bounded load test on loopback: `.venv/bin/python bench/loadtest.py [sqlite] [postgres]` (make loadtest).

For each backend: a fresh database (SQLite in a temporary directory; PostgreSQL in a schema of its own in the
`test` database, dropped afterwards) holding the demo ward, served by gunicorn on 127.0.0.1 and a free port.
LOAD_CLIENTS simulated members (asyncio + aiohttp, one cookie jar each) log in once each before the clock starts,
then for LOAD_SECONDS browse their khu phố ("Đường của tôi", a street, a household) and sync batches of new
visits to /api/sync, pausing LOAD_THINK_MIN..LOAD_THINK_MAX seconds after every answer. It prints
`BENCH load_rps_<backend>`, `load_p50_ms_`, `load_p95_ms_`, `load_p99_ms_`, `load_errors_` and checks afterwards
that every visit the server acknowledged (accepted or duplicate) is in the database exactly once, that nothing
else was written, and that the target counters equal a recompute; a failed check exits non-zero.

Members share the 36 demo accounts (client n logs in as member n mod 36): sessions are signed cookies, so six
phones on one account are six independent sessions. The server gets one setting that production does not: a
login rate limit of LOGIN_LIMIT, because 200 logins from 127.0.0.1 in a few seconds are exactly what the
production limit (10 a minute per address) is there to refuse. Nothing else differs from `make run`.

An error is a connection failure, a timeout, an answer other than 200/302, a sync item not accepted, or an answer
that mentions "database is locked".
"""
import asyncio
import json
import os
import random
import re
import runpy
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIENTS = int(os.environ.get("LOAD_CLIENTS", 200))
SECONDS = float(os.environ.get("LOAD_SECONDS", 60))
THINK = (float(os.environ.get("LOAD_THINK_MIN", 0.4)), float(os.environ.get("LOAD_THINK_MAX", 1.2)))
HOUSEHOLDS = int(os.environ.get("LOAD_HOUSEHOLDS", 5000))
# gunicorn as `make run` starts it: the processes and threads of gunicorn.conf.py, unless the run says otherwise.
SERVED = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
WORKERS = int(os.environ.get("LOAD_WORKERS", SERVED["workers"]))
THREADS = int(os.environ.get("LOAD_THREADS", SERVED["threads"]))
POSTGRES = os.environ.get("LOAD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
LOGIN_LIMIT = "10000 per minute"  # the load test's own setting: see the module docstring
MEMBER_PASSWORD = "thanhvien123"  # visits.demo_data.PASSWORDS["member"]
DATABASE_ENV = "LOAD_DATABASE_URI"
TIMEOUT = 30  # seconds before a request counts as an error

# What a member does next, and how often: mostly reading pages, now and then a batch of visits from the outbox.
ACTIONS = (("home", 15), ("street", 35), ("household", 35), ("sync", 15))
SYNC_SIZE = (1, 10)  # visits per batch


def served_app():
    """gunicorn's entry point: the app on the database the load test built, with the load test's login limit."""
    sys.path.insert(0, str(ROOT))
    from visits import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": os.environ[DATABASE_ENV], "SECRET_KEY": "loadtest",
                       "RATELIMIT_LOGIN": LOGIN_LIMIT})


# --- The database ------------------------------------------------------------------------------------------

def sqlite_database(directory: str) -> str:
    return f"sqlite:///{directory}/load.sqlite"


def postgres_schema() -> tuple[str, callable]:
    """A new schema in the test database: its URL, and a function that drops it."""
    from sqlalchemy import create_engine, text

    from visits.config import normalise_database_url
    url = normalise_database_url(POSTGRES)
    schema = f"load_{uuidlib.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    # application_name marks the server's connections, so that PostgreSQL's own CPU time for them is counted.
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}&application_name={schema}", drop


def build_ward(uri: str) -> None:
    """Migrate, load the default plan and the demo ward, and count the targets, as `make run` does."""
    from flask_migrate import upgrade

    from visits import counters, create_app
    from visits.checklist import active_plan
    from visits.demo_data import build_demo_ward
    from visits.extensions import db
    from visits.plans import ensure_default_plan

    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "loadtest"})
    with app.app_context():
        upgrade()
        ensure_default_plan()
        build_demo_ward(households=HOUSEHOLDS)
        counters.recompute(active_plan())
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@dataclass
class KhuPho:
    streets: list[int]
    households: list[int]
    visitable: list[tuple[str, list]]  # (household UUID, [(resident UUID or None, item code), ...])


def members_and_places(uri: str) -> tuple[list[str], dict[str, KhuPho]]:
    """The member accounts, and for each the streets, households and visitable items of their khu phố."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from visits import create_app
    from visits.checklist import plan_items, plan_rules
    from visits.extensions import db
    from visits.models import Household, Street, Team, User
    from visits.state import applicable_items

    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "loadtest"})
    with app.app_context():
        items, rules = plan_items(), plan_rules()
        places = {}
        for khu_pho_id in db.session.scalars(select(Team.khu_pho_id)):
            households = db.session.scalars(select(Household).where(Household.khu_pho_id == khu_pho_id)
                                            .options(selectinload(Household.residents))
                                            .order_by(Household.id)).all()
            visitable = []
            for household in households:
                resident_uuid = {r.id: r.uuid for r in household.residents}
                pairs = [(resident_uuid.get(key), item.code)
                         for key, eligible in applicable_items(household, items, rules).items() for item in eligible]
                if pairs:
                    visitable.append((household.uuid, pairs))
            places[khu_pho_id] = KhuPho(
                streets=list(db.session.scalars(select(Street.id).where(Street.khu_pho_id == khu_pho_id))),
                households=[h.id for h in households], visitable=visitable)
        members = db.session.execute(select(User.username, Team.khu_pho_id).join(Team, User.team_id == Team.id)
                                     .where(User.role == "member").order_by(User.username)).all()
        db.session.remove()
        db.engine.dispose()
    return [username for username, _k in members], {username: places[k] for username, k in members}


def check_database(uri: str, acknowledged: set[str], sent: set[str], visits_before: int) -> list[str]:
    """What is wrong in the database after the run (nothing: an empty list)."""
    from sqlalchemy import func, select

    from visits import counters, create_app
    from visits.checklist import active_plan
    from visits.extensions import db
    from visits.models import Visit

    problems = []
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "loadtest"})
    with app.app_context():
        per_uuid = dict(db.session.execute(select(Visit.uuid, func.count()).group_by(Visit.uuid)).all())
        missing = [u for u in acknowledged if per_uuid.get(u, 0) == 0]
        doubled = [u for u, n in per_uuid.items() if n > 1]
        strangers = set(per_uuid) - sent
        if missing:
            problems.append(f"{len(missing)} acknowledged visits are not in the database, e.g. {missing[:3]}")
        if doubled:
            problems.append(f"{len(doubled)} visits are in the database more than once, e.g. {doubled[:3]}")
        if len(strangers) != visits_before:
            problems.append(f"{len(strangers) - visits_before} visits in the database that no client sent")
        plan = active_plan()
        kept = counters.counts(plan), counters.counts(plan, street_level=True)
        counters.recompute(plan)
        db.session.flush()
        if (counters.counts(plan), counters.counts(plan, street_level=True)) != kept:
            problems.append("the target counters differ from a recompute")
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    return problems


def count_visits(uri: str) -> int:
    from sqlalchemy import func, select

    from visits import create_app
    from visits.extensions import db
    from visits.models import Visit
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "loadtest"})
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Visit))
        db.session.remove()
        db.engine.dispose()
    return count


# --- The server --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    def __init__(self, uri: str, directory: str):
        self.uri, self.directory = uri, Path(directory)
        self.port = free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Gunicorn":
        env = dict(os.environ, **{DATABASE_ENV: self.uri})
        self.log = open(self.directory / "gunicorn.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
             "--workers", str(WORKERS), "--threads", str(THREADS), "--bind", f"127.0.0.1:{self.port}", "--chdir", str(ROOT), "--pythonpath", str(ROOT / "bench"),
             "--backlog", "2048", "--log-level", "warning", "loadtest:served_app()"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/login", timeout=5) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start: {self.errors()}")
            time.sleep(0.2)

    def cpu_seconds(self) -> dict[int, float]:
        """CPU time (user + system) used so far by each of gunicorn's processes."""
        pids = [self.process.pid]
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
        return {pid: process_cpu(pid) for pid in pids}

    def database_cpu_seconds(self) -> dict[int, float]:
        """On PostgreSQL: CPU time used so far by each of the database's processes serving gunicorn."""
        return {pid: process_cpu(pid) for pid in self.database_pids()}

    def database_pids(self) -> list[int]:
        from sqlalchemy.engine import make_url
        url = make_url(self.uri)
        name = url.query.get("application_name")
        if not name:
            return []
        from sqlalchemy import create_engine, text
        engine = create_engine(url.set(query={}))
        try:
            with engine.connect() as c:
                return list(c.scalars(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                                      {"name": name}))
        finally:
            engine.dispose()

    def errors(self) -> str:
        return (self.directory / "gunicorn.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
            self.log.close()


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def used_since(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


# --- The clients -------------------------------------------------------------------------------------------

@dataclass
class Tally:
    latencies: dict = field(default_factory=lambda: {name: [] for name, _w in ACTIONS})
    errors: list = field(default_factory=list)
    sent: set = field(default_factory=set)
    acknowledged: set = field(default_factory=set)
    locked: int = 0


class Member:
    """One simulated member: a cookie jar, a khu phố, and a loop of pages and syncs."""

    def __init__(self, number: int, username: str, place: KhuPho, base: str, tally: Tally):
        self.username, self.place, self.base, self.tally = username, place, base, tally
        self.rng = random.Random(number)
        self.token = ""

    async def log_in(self, http) -> None:
        async with http.get(f"{self.base}/login") as response:
            page = await response.text()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        form = {"csrf_token": token, "username": self.username, "password": MEMBER_PASSWORD}
        async with http.post(f"{self.base}/login", data=form, allow_redirects=False) as response:
            if response.status != 302:
                raise RuntimeError(f"{self.username} could not log in: {response.status}")
        async with http.get(f"{self.base}/api/session") as response:
            self.token = (await response.json())["csrf_token"]

    async def run(self, http, until: float) -> None:
        names = [name for name, _w in ACTIONS]
        weights = [w for _name, w in ACTIONS]
        await asyncio.sleep(self.rng.uniform(0, THINK[1]))  # the members do not all start on the same tick
        while time.monotonic() < until:
            action = self.rng.choices(names, weights)[0]
            await getattr(self, action)(http)
            await asyncio.sleep(self.rng.uniform(*THINK))

    async def timed(self, name: str, request) -> tuple[int, str] | None:
        import aiohttp
        started = time.monotonic()
        try:
            async with request as response:
                body = await response.text()
                status = response.status
        except (OSError, asyncio.TimeoutError, aiohttp.ClientError) as problem:
            self.tally.errors.append(f"{name}: {problem!r}")
            return None
        self.tally.latencies[name].append(time.monotonic() - started)
        if "database is locked" in body:
            self.tally.locked += 1
            self.tally.errors.append(f"{name}: database is locked")
        if status not in (200, 302):
            self.tally.errors.append(f"{name}: HTTP {status}")
            return None
        return status, body

    async def home(self, http) -> None:
        await self.timed("home", http.get(f"{self.base}/", allow_redirects=False))

    async def street(self, http) -> None:
        street = self.rng.choice(self.place.streets)
        await self.timed("street", http.get(f"{self.base}/streets/{street}", allow_redirects=False))

    async def household(self, http) -> None:
        household = self.rng.choice(self.place.households)
        await self.timed("household", http.get(f"{self.base}/households/{household}", allow_redirects=False))

    async def sync(self, http) -> None:
        batch = [self.visit() for _ in range(self.rng.randint(*SYNC_SIZE))]
        self.tally.sent.update(item["uuid"] for item in batch)
        answer = await self.timed("sync", http.post(f"{self.base}/api/sync", json={"items": batch},
                                                    headers={"X-CSRFToken": self.token}))
        if answer is None:
            return
        for result in json.loads(answer[1])["results"]:
            if result["status"] in ("accepted", "duplicate"):
                self.tally.acknowledged.add(result["uuid"])
            else:
                self.tally.errors.append(f"sync item {result['status']}: {result.get('reason', '')[:80]}")

    def visit(self) -> dict:
        household_uuid, pairs = self.rng.choice(self.place.visitable)
        picked = self.rng.sample(pairs, min(3, len(pairs)))
        return {"type": "visit", "uuid": str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4)),
                "household": household_uuid, "recorded_at": datetime.now(timezone.utc).isoformat(),
                "outcome": "met", "notes": self.rng.choice(("", "", "Hẹn tối thứ Bảy quay lại.")),
                "met": sorted({r for r, _code in picked if r}),
                "answers": [{"resident": r, "code": code,
                             "value": self.rng.choice(("done", "had", "later", "declined"))} for r, code in picked],
                "facts": []}


@dataclass
class Clock:
    """The measured window: wall seconds, and CPU seconds of the server and of this load generator."""
    wall: float = 0.0
    server_cpu: float = 0.0
    database_cpu: float = 0.0  # PostgreSQL's processes serving gunicorn
    client_cpu: float = 0.0
    logins: float = 0.0


async def load(server: Gunicorn, usernames: list[str], places: dict[str, KhuPho]) -> tuple[Tally, Clock]:
    """Log every member in, then run them all for SECONDS; the tally and the clock of the measured window."""
    import aiohttp

    tally, clock = Tally(), Clock()
    members = [Member(n, usernames[n % len(usernames)], places[usernames[n % len(usernames)]], server.url, tally)
               for n in range(CLIENTS)]
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    sessions = [aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.CookieJar(unsafe=True),
                                      connector=aiohttp.TCPConnector(limit=1)) for _ in members]
    try:
        started = time.monotonic()
        gate = asyncio.Semaphore(8)  # Argon2 costs ~50 ms a login: a few at a time, before the clock starts

        async def log_in(member, http):
            async with gate:
                await member.log_in(http)
        await asyncio.gather(*(log_in(m, s) for m, s in zip(members, sessions)))
        clock.logins = time.monotonic() - started
        started, server_cpu, client_cpu = time.monotonic(), server.cpu_seconds(), time.process_time()
        database_cpu = server.database_cpu_seconds()
        await asyncio.gather(*(m.run(s, started + SECONDS) for m, s in zip(members, sessions)))
        clock.wall = time.monotonic() - started
        clock.server_cpu = used_since(server_cpu, server.cpu_seconds())
        clock.database_cpu = used_since(database_cpu, server.database_cpu_seconds())
        clock.client_cpu = time.process_time() - client_cpu
    finally:
        await asyncio.gather(*(s.close() for s in sessions))
    return tally, clock


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run(backend: str) -> bool:
    """One backend's run: prints the figures; True when the database checks passed."""
    with tempfile.TemporaryDirectory() as directory:
        drop = None
        if backend == "sqlite":
            uri = sqlite_database(directory)
        else:
            uri, drop = postgres_schema()
        try:
            started = time.monotonic()
            build_ward(uri)
            usernames, places = members_and_places(uri)
            before = count_visits(uri)
            print(f"# {backend}: demo ward of {HOUSEHOLDS} households ready in {time.monotonic() - started:.1f} s",
                  file=sys.stderr)
            server = Gunicorn(uri, directory).start()
            try:
                tally, clock = asyncio.run(load(server, usernames, places))
            finally:
                server.stop()
            log = server.errors()
            problems = check_database(uri, tally.acknowledged, tally.sent, before)
        finally:
            if drop:
                drop()
    everything = [t for values in tally.latencies.values() for t in values]
    if "database is locked" in log:
        problems.append("gunicorn's log mentions \"database is locked\"")
    requests = len(everything)
    print(f"# {backend}: {CLIENTS} members logged in in {clock.logins:.1f} s; {clock.wall:.1f} s of load; "
          f"{WORKERS} workers x {THREADS} threads; think {THINK[0]}-{THINK[1]} s; "
          f"{len(tally.acknowledged)} visits acknowledged; load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    per_request = {name: seconds / max(requests, 1) * 1000 for name, seconds in
                   (("gunicorn", clock.server_cpu), ("database", clock.database_cpu), ("client", clock.client_cpu))}
    capacity = 2 * requests / max(clock.server_cpu + clock.database_cpu + clock.client_cpu, 1e-9)
    print(f"#   CPU per request: gunicorn {per_request['gunicorn']:.1f} ms, "
          f"PostgreSQL {per_request['database']:.1f} ms, "
          f"load generator {per_request['client']:.1f} ms; the 2 cores would serve about {capacity:.0f} requests/s "
          "with nothing else running", file=sys.stderr)
    for name, values in tally.latencies.items():
        print(f"#   {name:<9} {len(values):>6} requests, p50 {percentile(values, .5) * 1000:.0f} ms, "
              f"p95 {percentile(values, .95) * 1000:.0f} ms", file=sys.stderr)
    for error in sorted(set(tally.errors))[:10]:
        print(f"#   error: {error}", file=sys.stderr)
    for line in log.splitlines():
        if "WORKER TIMEOUT" in line or "Error" in line or "locked" in line:
            print(f"#   gunicorn: {line[:200]}", file=sys.stderr)
    for problem in problems:
        print(f"# FAILED {backend}: {problem}", file=sys.stderr)
    print(f"BENCH load_rps_{backend} {requests / clock.wall:.1f} requests/s")
    for share in (50, 95, 99):
        print(f"BENCH load_p{share}_ms_{backend} {percentile(everything, share / 100) * 1000:.1f} ms")
    print(f"BENCH load_errors_{backend} {len(tally.errors)} errors")
    print(f"BENCH load_visits_{backend} {len(tally.acknowledged)} visits")
    print(f"BENCH load_server_cpu_ms_{backend} {per_request['gunicorn'] + per_request['database']:.2f} ms/request")
    print(f"BENCH load_capacity_rps_{backend} {capacity:.0f} requests/s")
    return not problems


def main(argv: list[str]) -> int:
    backends = argv or ["sqlite", "postgres"]
    results = [run(backend) for backend in backends]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
