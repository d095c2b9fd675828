"""gunicorn's entry point for the reliability tests: the app on the test's database (its URL in the environment).

The login limit is the test suite's (base_config): four phones log in from 127.0.0.1 again and again.
With RELIABILITY_CRASH_AFTER_COMMIT=1 the server kills itself, master and workers, right after its first sync
batch is committed and before the answer leaves: the worst moment, which an outside kill rarely hits.
"""
import os
import signal

DATABASE_ENV = "RELIABILITY_DATABASE_URI"
CRASH_ENV = "RELIABILITY_CRASH_AFTER_COMMIT"


def app():
    from flask import request

    from tests.conftest import base_config
    from visits import create_app
    config = base_config(os.environ[DATABASE_ENV])
    config["TESTING"] = False  # errors become 500 answers, as in production, not tracebacks through gunicorn
    served = create_app(config)
    if os.environ.get(CRASH_ENV) == "1":
        @served.after_request
        def crash_after_commit(response):
            if response.status_code == 200 and request.endpoint == "sync.sync":  # committed, not yet sent
                os.killpg(os.getpgrp(), signal.SIGKILL)
            return response
    return served
