# The two commands: `make run` and `make test`. Everything else is set up on the way.
VENV    := .venv
PY      := $(VENV)/bin/python
FLASK   := $(VENV)/bin/flask --app wsgi
PORT    ?= 5000
PYTHON  ?= python3

.PHONY: run test bench loadtest faulttest db install dev clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[postgres]'
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(VENV)/bin/pip install -q -e '.[postgres,dev]'
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

db: install
	$(FLASK) init-db
	$(FLASK) demo-data --if-empty

run: db
	$(VENV)/bin/gunicorn --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

test: dev
	$(PY) -m pytest

bench: dev
	$(PY) bench/bench.py

# 200 members browsing and syncing for 60 s against gunicorn, on SQLite and PostgreSQL (README "Operations").
loadtest: dev
	$(PY) bench/loadtest.py

# The server SIGKILLed 20 times in the middle of sync batches, on SQLite and PostgreSQL (README "Operations").
faulttest: dev
	RELIABILITY_KILLS=$${RELIABILITY_KILLS:-20} REQUIRE_POSTGRES=1 \
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	$(PY) -m pytest -q -p no:cacheprovider tests/reliability/test_kill_during_sync.py

clean:
	rm -rf $(VENV) instance/visits.sqlite*
