"""Pages as a phone gets them: bytes over the network and the offline download, in Chromium (bench/bench.py).

The app runs under gunicorn (as in production, README "Running on PostgreSQL with gunicorn") on a fresh SQLite
database holding a demo ward, on 127.0.0.1 and a free port; Debian's chromium (/usr/bin/chromium, never a
downloaded browser) is driven by Playwright, and the bytes are read from the DevTools protocol:
Network.loadingFinished's encodedDataLength is what came over the wire for a request (headers and the body as
sent, i.e. compressed by flask-compress), and Network.responseReceived's response.fromServiceWorker tells a
response the service worker answered from one that came from the network.

`HTMX_CDN_URL` is "" in these benchmarks: the pages then load the vendored copy of htmx from the app itself
(static/js/vendor/), so its bytes are counted like every other script rather than left to a CDN.
"""
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "vi-VN"}
# "": no CDN, so the app serves its vendored htmx and the benchmarks count its bytes (see the module docstring).
APP_CONFIG = {"SECRET_KEY": "bench", "HTMX_CDN_URL": ""}
MEMBER_PASSWORD = "thanhvien123"  # visits.demo_data.PASSWORDS["member"]
DATABASE_ENV = "BENCH_PAGES_DATABASE_URI"
WORKERS = 2

# Chrome DevTools' "Fast 3G" preset (Network.emulateNetworkConditions takes bytes per second and milliseconds).
FAST_3G = {"offline": False, "latency": 150, "downloadThroughput": 1.6 * 1024 * 1024 / 8,
           "uploadThroughput": 750 * 1024 / 8}

# Resolves once the page's service worker is active and done activating (as tests/browser/test_offline.py).
SERVICE_WORKER_ACTIVATED = """() => Promise.race([
  navigator.serviceWorker.ready.then((registration) => new Promise((resolve) => {
    const worker = registration.active;
    if (worker.state === "activated") resolve(true);
    worker.addEventListener("statechange", () => { if (worker.state === "activated") resolve(true); });
  })),
  new Promise((_, reject) => setTimeout(() => reject(new Error("no service worker activated in 20 s")), 20000)),
])"""


def served_app():
    """gunicorn's entry point: the app on the database the benchmark built (its URI in the environment)."""
    sys.path.insert(0, str(ROOT))
    from visits import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": os.environ[DATABASE_ENV], **APP_CONFIG})


# --- The database ------------------------------------------------------------------------------------------

def build_ward(directory: str, households: int) -> str:
    """A new, migrated SQLite database with the default plan and a demo ward, its counters computed as
    `flask demo-data` leaves them. Returns its URI."""
    from flask_migrate import upgrade

    from visits import counters, create_app
    from visits.checklist import active_plan
    from visits.demo_data import build_demo_ward
    from visits.extensions import db
    from visits.plans import ensure_default_plan

    uri = f"sqlite:///{directory}/bench-pages.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, **APP_CONFIG})
    with app.app_context():
        upgrade()
        ensure_default_plan()
        build_demo_ward(households=households)
        counters.recompute(active_plan())
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return uri


def members_households(uri: str) -> dict[str, list[int]]:
    """For each member (role "member"), the ids of the households of their khu phố, in id order."""
    from sqlalchemy import select

    from visits import create_app
    from visits.extensions import db
    from visits.models import Household, Team, User

    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, **APP_CONFIG})
    with app.app_context():
        by_khu_pho: dict[int, list[int]] = {}
        for household_id, khu_pho_id in db.session.execute(select(Household.id, Household.khu_pho_id)
                                                           .order_by(Household.id)):
            by_khu_pho.setdefault(khu_pho_id, []).append(household_id)
        members = db.session.execute(select(User.username, Team.khu_pho_id).join(Team, User.team_id == Team.id)
                                     .where(User.role == "member").order_by(User.username)).all()
        db.session.remove()
        db.engine.dispose()
    return {username: by_khu_pho.get(khu_pho_id, []) for username, khu_pho_id in members}


# --- The server --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn serving the app on the given database; its access log has each request's time (%(D)s, µs)
    and body bytes as sent (%(B)s)."""

    def __init__(self, uri: str, directory: str, workers: int = WORKERS):
        self.uri, self.directory, self.workers = uri, Path(directory), workers
        self.port, self.process = 0, None
        self.log = self.directory / "gunicorn-access.log"

    def start(self) -> "Gunicorn":
        self.port = free_port()
        env = dict(os.environ, **{DATABASE_ENV: self.uri})
        env.pop("HTMX_CDN_URL", None)
        self.errors = open(self.directory / "gunicorn-error.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
             "--chdir", str(ROOT), "--pythonpath", str(ROOT / "bench"), "--log-level", "warning",
             "--access-logfile", str(self.log), "--access-logformat", "%(m)s %(U)s%(q)s %(s)s %(B)s %(D)s",
             "bench_pages:served_app()"], env=env, stdout=self.errors, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/login", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start: {(self.directory / 'gunicorn-error.log').read_text()}")
            time.sleep(0.2)
        self.log.write_text("")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
            self.errors.close()

    def access_log(self) -> list[tuple[str, str, int, int, float]]:
        """(method, path with query, status, body bytes, seconds) of every request since start()."""
        rows = []
        for line in self.log.read_text().splitlines():
            method, path, status, size, micros = line.split(" ")
            rows.append((method, path, int(status), int(size) if size.isdigit() else 0, int(micros) / 1e6))
        return rows

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# --- The browser -------------------------------------------------------------------------------------------

@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(context, username: str) -> None:
    """Log in with the context's own HTTP client, which shares the browser's cookies but not its cache: no
    page is loaded and no service worker registered, so the next page is the phone's true first load."""
    form = context.request.get("/login")
    assert form.status == 200, form.status
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text()).group(1)
    response = context.request.post("/login", form={"csrf_token": token, "username": username,
                                                    "password": MEMBER_PASSWORD}, max_redirects=0)
    assert response.status in (302, 303), (response.status, response.text()[:300])


def log_in_page(page, username: str) -> None:
    """Log in through the login page, as a member does."""
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(MEMBER_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("heading", level=1, name="Đường của tôi").wait_for()


def wait_for_service_worker(page) -> None:
    """Until the service worker is activated, then a reload so that it certainly controls the page."""
    page.evaluate(SERVICE_WORKER_ACTIVATED)
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def wait_for_update_checks(page, server: "Gunicorn", since: int, count: int, timeout_s: float = 5) -> None:
    """Until gunicorn has answered `count` requests for /sw.js since its log's row `since` (the registration,
    then the browser's update check some time after each navigation), so that none falls into a measure."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and \
            sum(path == "/sw.js" for _m, path, *_rest in server.access_log()[since:]) < count:
        page.wait_for_timeout(100)


class NetworkLog:
    """Every request of one page, from its CDP session's Network events (not the service worker's own
    requests: those are on the worker's target, see WorkerRequests)."""

    def __init__(self, cdp):
        self.cdp, self.requests = cdp, {}
        for event in ("requestWillBeSent", "responseReceived", "loadingFinished", "loadingFailed",
                      "requestServedFromCache"):
            cdp.on(f"Network.{event}", getattr(self, "_" + event))
        cdp.send("Network.enable")

    def clear(self) -> None:
        self.requests = {}

    def _entry(self, request_id: str) -> dict:
        return self.requests.setdefault(request_id, {"url": "", "type": "", "status": None, "encoding": "",
                                                     "from_sw": False, "from_cache": False, "bytes": None,
                                                     "sent": None, "received": None, "finished": None,
                                                     "failed": None})

    def _requestWillBeSent(self, event):
        entry = self._entry(event["requestId"])
        entry.update(url=event["request"]["url"], type=event.get("type", ""))
        entry["sent"] = entry["sent"] or event["timestamp"]

    def _responseReceived(self, event):
        entry, response = self._entry(event["requestId"]), event["response"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        entry.update(status=response["status"], type=event.get("type", entry["type"]),
                     received=event["timestamp"], encoding=headers.get("content-encoding", ""),
                     from_sw=bool(response.get("fromServiceWorker")),
                     from_cache=entry["from_cache"] or bool(response.get("fromDiskCache")))

    def _requestServedFromCache(self, event):
        self._entry(event["requestId"])["from_cache"] = True

    def _loadingFinished(self, event):
        entry = self._entry(event["requestId"])
        entry.update(bytes=event["encodedDataLength"], finished=event["timestamp"])

    def _loadingFailed(self, event):
        self._entry(event["requestId"]).update(failed=event.get("errorText", "failed"), finished=event["timestamp"])

    def finished(self) -> list[dict]:
        return [r for r in self.requests.values() if r["bytes"] is not None or r["failed"]]

    def pending(self) -> list[dict]:
        return [r for r in self.requests.values() if r["bytes"] is None and not r["failed"]]


class WorkerRequests:
    """The service worker's own requests (its script, importScripts, the precache, the fetches it makes for
    pages). Playwright attaches a CDP session to the worker's target and reports its requests in the context;
    a request's sizes() are that session's Network.loadingFinished encodedDataLength, split into headers and
    body, so header + body bytes are the same measure as NetworkLog's."""

    def __init__(self, context):
        self.requests = []
        context.on("requestfinished", self._finished)

    def _finished(self, request):
        if request.service_worker is not None:
            self.requests.append(request)

    def clear(self) -> None:
        self.requests = []

    def rows(self) -> list[dict]:
        rows = []
        for request in self.requests:
            sizes = request.sizes()
            rows.append({"url": request.url, "type": request.resource_type,
                         "bytes": sizes["responseHeadersSize"] + sizes["responseBodySize"]})
        return rows


def settle(page, log: NetworkLog, quiet_ms: int = 1000, timeout_s: float = 30) -> None:
    """Until the page has had no request in flight for quiet_ms (the CDP events are read while waiting)."""
    deadline, quiet_since = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        if log.pending():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_ms / 1000:
            return
    raise TimeoutError(f"requests still in flight: {[r['url'] for r in log.pending()]}")


def kb(n: int | float) -> float:
    return round(n / 1024, 1)


def describe(rows, origin: str = "") -> str:
    """One line per request, for stderr."""
    return "\n".join(f"  {r.get('type', ''):<11} {r['bytes'] or 0:>7} B "
                     f"{'sw ' if r.get('from_sw') else ''}{'cache ' if r.get('from_cache') else ''}"
                     f"{r.get('encoding') or ''} {r['url'].replace(origin, '')}" for r in rows)


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- The benchmarks ----------------------------------------------------------------------------------------

PAGES_HOUSEHOLDS = 2000  # the demo ward drawn smaller for the page-weight figures: a household page is the same
PAGES_MEMBER = "tv01a"
DOWNLOAD_HOUSEHOLDS = 500 * 12  # 12 khu phố of 500 households on average (342 to 657 with the demo's seed)
DOWNLOAD_KHU_PHO_SIZE = 500


def service_worker_bytes(worker: WorkerRequests, server: Gunicorn) -> tuple[int, list[dict]]:
    """The service worker's requests and their bytes. DevTools gives the worker's main script (/sw.js,
    fetched by the browser for the registration) the bytes of its headers only; its body, as gunicorn logged
    it, is added."""
    rows = worker.rows()
    logged = [size for method, path, status, size, _s in server.access_log() if path == "/sw.js" and status == 200]
    for row in rows:
        if row["url"].endswith("/sw.js") and row["type"] == "script" and logged and row["bytes"] < logged[0]:
            row["bytes"] += logged.pop(0)
    return sum(r["bytes"] for r in rows), rows


def household_first_load() -> list[tuple[str, float, str]]:
    """The household page's first load on a phone: bytes over the network for the page and everything it loads,
    in a fresh context (empty cache), logged in, with service workers blocked; then the same first load with the
    service worker allowed, adding its script and the shell it precaches (the install runs during that load).
    Chromium asks for the favicon (icon-192.png) but not for the manifest or apple-touch-icon during a load."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        uri = build_ward(directory, PAGES_HOUSEHOLDS)
        household = members_households(uri)[PAGES_MEMBER][0]
        server = Gunicorn(uri, directory).start()
        try:
            with chromium() as browser:
                figures = {}
                for mode, extra in (("block", {}), ("allow", {}),
                                    ("gzip", {"extra_http_headers": {"Accept-Encoding": "gzip, deflate"}})):
                    context = browser.new_context(**PHONE, base_url=server.url,
                                                  service_workers="block" if mode == "gzip" else mode, **extra)
                    context.set_default_timeout(30_000)
                    worker = WorkerRequests(context)
                    log_in(context, PAGES_MEMBER)
                    page = context.new_page()
                    log = NetworkLog(context.new_cdp_session(page))
                    page.goto(f"/households/{household}")
                    if mode == "allow":
                        page.evaluate(SERVICE_WORKER_ACTIVATED)  # the install (its precache) is done
                    settle(page, log)
                    rows = log.finished()
                    assert not [r for r in rows if r["failed"] or r["from_sw"]], describe(rows, server.url)
                    page_bytes = sum(r["bytes"] for r in rows)
                    figures[mode] = page_bytes
                    note(f"household_first_load ({mode}): /households/{household}, {len(rows)} requests, "
                         f"{page_bytes} B\n{describe(rows, server.url)}")
                    if mode == "allow":
                        page.wait_for_timeout(500)  # the worker's last requestfinished events
                        worker_bytes, worker_rows = service_worker_bytes(worker, server)
                        figures["sw"] = page_bytes + worker_bytes
                        note(f"  + service worker: {len(worker_rows)} requests, {worker_bytes} B\n"
                             f"{describe(worker_rows, server.url)}")
                    context.close()
        finally:
            server.stop()
    note(f"household_first_load with gzip only (Accept-Encoding: gzip, deflate): {kb(figures['gzip'])} KB")
    return [("household_first_load_kb", kb(figures["block"]), "KB"),
            ("household_first_load_with_sw_kb", kb(figures["sw"]), "KB")]


def household_repeat_shell() -> list[tuple[str, float, str]]:
    """Another household page once the service worker controls the phone: the shell (CSS, JS, icons) must all
    come from the worker's cache; what comes from the network is the page's HTML (fetched by the worker)."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        uri = build_ward(directory, PAGES_HOUSEHOLDS)
        first, second = members_households(uri)[PAGES_MEMBER][:2]
        server = Gunicorn(uri, directory).start()
        try:
            with chromium() as browser:
                context = browser.new_context(**PHONE, base_url=server.url, service_workers="allow")
                context.set_default_timeout(30_000)
                worker = WorkerRequests(context)
                log_in(context, PAGES_MEMBER)
                page = context.new_page()
                log = NetworkLog(context.new_cdp_session(page))
                page.goto(f"/households/{first}")
                wait_for_service_worker(page)
                settle(page, log)
                wait_for_update_checks(page, server, 0, 2)  # the registration's, then the reload's
                logged_before = len(server.access_log())
                log.clear()
                worker.clear()
                page.goto(f"/households/{second}")
                settle(page, log)
                page.wait_for_timeout(500)
                rows = log.finished()
                worker_rows = worker.rows()
                # After a navigation the browser checks /sw.js for a new version; DevTools shows that request on
                # neither the page nor the worker, so it is read from gunicorn's log (and not in the figures).
                wait_for_update_checks(page, server, logged_before, 1)
                context.close()
            logged = server.access_log()[logged_before:]
        finally:
            server.stop()
    network = [r for r in rows if not r["from_sw"]]
    assert not [r for r in rows if r["failed"]], describe(rows, server.url)
    shell = sum(r["bytes"] for r in network if r["type"] != "Document") + \
        sum(r["bytes"] for r in worker_rows if "/static/" in r["url"])
    total = sum(r["bytes"] for r in network) + sum(r["bytes"] for r in worker_rows)
    note(f"household_repeat_shell: /households/{second}, page requests:\n{describe(rows, server.url)}\n"
         f"  service worker's requests:\n{describe(worker_rows, server.url)}\n"
         f"  gunicorn saw (status, body bytes): {[(path, status, size) for _m, path, status, size, _s in logged]}\n"
         f"  not counted: the browser's update check of the service worker after the navigation, "
         f"{sum(size for _m, path, _st, size, _s in logged if path in ('/sw.js', '/static/js/outbox.js'))} B "
         f"of body (/sw.js has no ETag, so it comes whole each time) plus headers")
    return [("household_repeat_shell_kb", kb(shell), "KB"), ("household_repeat_total_kb", kb(total), "KB")]


DOWNLOAD_DONE = "() => /^Đã tải \\d+ trang lúc/.test(document.getElementById('download-count').textContent)"


def offline_download() -> list[tuple[str, float, str]]:
    """"Tải về để làm offline" for a khu phố of about 500 households on Fast 3G: seconds from the tap to the
    done message, and the pages saved."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        uri = build_ward(directory, DOWNLOAD_HOUSEHOLDS)
        members = members_households(uri)
        # The member whose khu phố is the smallest of those with at least 500 households.
        sized = sorted((len(ids), username) for username, ids in members.items()
                       if len(ids) >= DOWNLOAD_KHU_PHO_SIZE) or [max((len(v), u) for u, v in members.items())]
        households, member = sized[0]
        server = Gunicorn(uri, directory).start()
        try:
            with chromium() as browser:
                context = browser.new_context(**PHONE, base_url=server.url, service_workers="allow")
                context.set_default_timeout(60_000)
                log_in(context, member)
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                log = NetworkLog(cdp)
                # On the page's own session: it shapes the page's requests, which the download's fetches are
                # (sw.js leaves /offline/pages to the network: their bodies take bytes / 1.6 Mbit/s, see stderr),
                # but not the requests the service worker makes itself (a page it fetches network-first took the
                # same 0.07 s with 2 s of emulated latency). The emulated latency delays a response by at least
                # 150 ms from the request, so it overlaps the server's time rather than adding to it.
                cdp.send("Network.emulateNetworkConditions", FAST_3G)
                logged_before = len(server.access_log())
                page.goto("/")
                wait_for_service_worker(page)
                settle(page, log)
                wait_for_update_checks(page, server, logged_before, 2)  # out of the measure
                logged_before = len(server.access_log())
                log.clear()
                started = time.perf_counter()
                page.get_by_role("button", name="Tải về để làm offline").click()
                page.wait_for_function(DOWNLOAD_DONE, timeout=600_000, polling=50)
                elapsed = time.perf_counter() - started
                message = page.locator("#download-count").text_content()
                rows = log.finished()
                context.close()
            logged = server.access_log()[logged_before:]
        finally:
            server.stop()
    pages = int(re.search(r"Đã tải (\d+) trang", message).group(1))
    slices = sorted((r for r in rows if "/offline/pages" in r["url"]), key=lambda r: r["sent"])
    served = [(size, seconds) for _m, path, _status, size, seconds in logged if path.startswith("/offline/pages")]
    waiting = sum(r["finished"] - r["sent"] for r in slices)
    body = sum(r["finished"] - r["received"] for r in slices)
    wire = sum(r["bytes"] for r in slices)
    note(f"offline_download: {member}, khu phố of {households} households, {pages} pages in {len(slices)} slices "
         f"of {wire} B ({kb(wire)} KB, {slices[0]['encoding'] if slices else ''}), {elapsed:.2f} s\n"
         f"  waiting for slices {waiting:.2f} s (of which the body at Fast 3G {body:.2f} s; "
         f"{wire / FAST_3G['downloadThroughput']:.2f} s at 1.6 Mbit/s), gunicorn rendering them "
         f"{sum(s for _b, s in served):.2f} s, the rest (the page putting pages in the cache) "
         f"{elapsed - waiting:.2f} s\n" + "\n".join(
             f"  {r['url'].rsplit('?', 1)[-1]:<11} {r['bytes']:>7} B  {r['finished'] - r['sent']:.3f} s"
             + (f"  server {served[i][1]:.3f} s" if i < len(served) else "") for i, r in enumerate(slices)))
    return [("offline_download_500_s", round(elapsed, 2), "s"), ("offline_download_pages", pages, "pages")]
