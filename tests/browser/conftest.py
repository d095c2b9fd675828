"""Browser fixtures: Debian's chromium driven by Playwright against the app served over real HTTP.

No browser is ever downloaded: the tests use /usr/bin/chromium. Without it (or without Playwright) the
tests skip, unless REQUIRE_BROWSER=1, where that is a failure.
"""
import os
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
VIEWPORT = {"width": 360, "height": 740}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str):
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


PHONE = {"viewport": VIEWPORT, "device_scale_factor": 2, "is_mobile": True, "has_touch": True, "locale": "vi-VN"}


@pytest.fixture(scope="session")
def playwright():
    """The Playwright driver, for tests that launch Chromium themselves (a persistent profile)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as problem:
        _unavailable(f"Playwright cannot be imported ({problem})")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is missing")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright):
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


class LiveServer:
    """The app over real HTTP on 127.0.0.1; stop() closes the port, as a phone in an alley sees it.

    stop() also cuts the connections Chromium keeps alive: otherwise a request sent on one of them
    would still be answered by a "stopped" server.
    """

    def __init__(self, app):
        self.app, self.port, self.server, self.thread = app, 0, None, None
        self.connections, self.lock = set(), threading.Lock()

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)  # listening on return
        self.port = self.server.server_port
        accept = self.server.get_request

        def get_request():
            connection, address = accept()
            with self.lock:
                self.connections.add(connection)
            return connection, address

        def shutdown_request(connection, close=self.server.shutdown_request):
            with self.lock:
                self.connections.discard(connection)
            close(connection)

        self.server.get_request, self.server.shutdown_request = get_request, shutdown_request
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="live-server", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            connections, self.connections = self.connections, set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its handler
        self.thread.join(timeout=10)
        self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def server(app, area):
    """The test's app (with the small ward), served; the test may stop and start it."""
    live = LiveServer(app).start()
    yield live
    if live.server is not None:
        live.stop()


@pytest.fixture
def live_server(server):
    """The base URL of the served app."""
    return server.url


@pytest.fixture
def page(browser, live_server):
    """A phone-sized page (360×740, touch, Vietnamese) whose relative URLs go to the live server."""
    context = browser.new_context(**PHONE, base_url=live_server)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()
