# Portail — the README's commands. Everything a fresh machine needs is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
MAIL_PORT ?= 8025
# The demo serves the installed insurer plugins (plugins/, "portal.plugins" entry points).
DEMO_ENV := PORTAL_MAIL_PORT=$(MAIL_PORT) \
            PORTAL_PUBLIC_URL=http://$(HOST):$(PORT) PORTAL_SECRET_KEY="$$(cat instance/secret_key)"
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install demo test test-sqlite test-postgresql system-packages lint clean bench bench-cnss

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

instance/secret_key:
	mkdir -p instance
	$(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@
	chmod 600 $@

## make demo: install, load the demo data into SQLite, serve on http://127.0.0.1:5000
demo: install instance/secret_key
	$(DEMO_ENV) $(FLASK) portal demo
	@echo "E-mails of the demo are printed below by a local SMTP server on port $(MAIL_PORT)."
	@$(PY) -m aiosmtpd -n -l $(HOST):$(MAIL_PORT) -c aiosmtpd.handlers.Debugging & \
	  trap "kill $$! 2>/dev/null" EXIT; \
	  $(DEMO_ENV) $(FLASK) run --host $(HOST) --port $(PORT)

## Debian packages the tests need (a browser for Playwright; Pango and fonts for WeasyPrint's PDF; poppler-utils's pdftotext to read PDFs back)
system-packages:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdftotext ] || ! /sbin/ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || ! fc-list 2>/dev/null | grep -qi 'Noto Naskh Arabic\|Noto Sans Arabic'; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core fonts-dejavu-core poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null; \
	  else \
	    echo "Missing Debian packages: run as root or: sudo apt-get install chromium fonts-noto-core fonts-dejavu-core poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0"; exit 1; \
	  fi; \
	fi

## make test: install what the tests need and run them all, on SQLite then PostgreSQL
test: install system-packages test-sqlite test-postgresql

test-sqlite:
	$(PY) -m pytest -q -p no:cacheprovider

test-postgresql:
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest -q -p no:cacheprovider -m "not browser"

## make bench: import then export 100,000 generated rows (ROWS=… to change), on SQLite and on
## PostgreSQL ($(TEST_DATABASE_URL); TEST_DATABASE_URL= for SQLite only); numbers to read, not a test
bench: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m bench $(if $(ROWS),--rows $(ROWS))

## make bench-cnss: one establishment with 1,000,000 DR (DR=… to change); the first page of a filtered DR
## search and the DR summary through the application vs the bare SQL behind them, with the query plans
bench-cnss: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m bench cnss $(if $(DR),--dr $(DR))

lint: install
	$(PY) -m compileall -q app plugins tests

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
