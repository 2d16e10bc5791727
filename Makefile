# trialplanner: `make run` starts the app with demo data; `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Local production run over plain HTTP on loopback: put a TLS proxy in front for real use
# (then drop the two SECURE_ overrides and set BEHIND_TLS_PROXY=true).
SERVE_ENV = DEBUG=false SECRET_KEY="$${SECRET_KEY:-$$(cat .secret_key)}" \
	ALLOWED_HOSTS="$${ALLOWED_HOSTS:-127.0.0.1,localhost}" SECURE_SSL_REDIRECT=false SECURE_COOKIES=false

.PHONY: run serve test test-clock lint fmt setup system-deps browser-deps catalog demo messages clean pip-audit

## run: set up, migrate the SQLite default, load the catalog and demo data, serve on 127.0.0.1:8000
run: setup
	DEBUG=true $(BIN)/python manage.py migrate --no-input
	DEBUG=true $(BIN)/python manage.py load_catalog
	DEBUG=true $(BIN)/python manage.py load_medicine_dictionary
	DEBUG=true $(BIN)/python manage.py seed_demo
	@echo "Open http://127.0.0.1:8000/ and log in with a demo user above."
	DEBUG=true $(BIN)/python manage.py serverlock $(BIN)/python manage.py runserver 127.0.0.1:8000

## test: set up (incl. headless Chromium), then ruff, mypy on the engine, migrations check and the whole pytest suite
test: setup browser-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict trialplanner/engine/
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest -n 2 --durations=10 -m "not serial"
	$(BIN)/pytest -m serial

## test-clock: the suite with Python's clock a year and a day ahead, then two years back: catches tests that
## pass only on the day they were written (PostgreSQL's now() and the browser's clock are not moved)
test-clock: setup browser-deps
	for days in 366 -730; do \
		$(BIN)/pytest -n 2 -p no:cacheprovider --clock-offset $$days -m "not serial" \
		&& $(BIN)/pytest -p no:cacheprovider --clock-offset $$days -m serial || exit 1; \
	done

## serve: production settings (DEBUG off) under gunicorn + WhiteNoise on 127.0.0.1:8000
serve: setup
	@test -s .secret_key || (umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > .secret_key)
	@chmod 600 .secret_key
	$(SERVE_ENV) $(BIN)/python manage.py collectstatic --no-input -v0
	$(SERVE_ENV) $(BIN)/python manage.py migrate --no-input
	$(SERVE_ENV) $(BIN)/python manage.py load_catalog
	$(SERVE_ENV) $(BIN)/python manage.py load_medicine_dictionary
	$(SERVE_ENV) GUNICORN_ACCESS_LOG="$${GUNICORN_ACCESS_LOG:--}" \
		$(BIN)/python manage.py serverlock $(BIN)/gunicorn -c gunicorn.conf.py trialplanner.wsgi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict trialplanner/engine/

fmt: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

setup: $(STAMP)

$(STAMP): requirements.txt requirements-runtime.txt
	@$(MAKE) --no-print-directory system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

# psycopg2 builds against libpq (pg_config, a C compiler); WeasyPrint needs Pango and fonts.
system-deps:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is required."; exit 1; }
	@if ! command -v pg_config >/dev/null || ! command -v gcc >/dev/null \
		|| ! ldconfig -p | grep -q libpangoft2-1.0 || [ ! -d /usr/share/fonts/truetype/dejavu ]; then \
		$(SUDO) apt-get update -q && $(APT_INSTALL) libpq-dev gcc libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; fi

# Browser tests drive Debian's Chromium (never a downloaded browser build); the deployment tests start
# Debian's PgBouncer on loopback (tests/ops/test_deploy.py).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/sbin/pgbouncer ]; then \
		$(SUDO) apt-get update -q && $(APT_INSTALL) chromium fonts-liberation pgbouncer; fi

catalog: setup
	DEBUG=true $(BIN)/python manage.py load_catalog

demo: setup
	DEBUG=true $(BIN)/python manage.py seed_demo

# Rebuild the Spanish (and any other) translations after changing handout text.
messages: setup
	DEBUG=true $(BIN)/python manage.py makemessages -l es --no-location -i ".venv/*" -i "tests/*" -i "staticfiles/*"
	DEBUG=true $(BIN)/python manage.py compilemessages -i ".venv"

## pip-audit: check the pinned requirements against known vulnerabilities (needs network; not part of `make test`)
pip-audit:
	test -x .venv-audit/bin/pip-audit || ($(PYTHON) -m venv .venv-audit && .venv-audit/bin/pip install --quiet pip-audit==2.10.1)
	.venv-audit/bin/pip-audit --strict --requirement requirements.txt

clean:
	rm -rf $(VENV) .venv-audit staticfiles tests/artifacts .pytest_cache .ruff_cache .mypy_cache .hypothesis
