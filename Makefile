# wellness: the commands README.md and .ci/run use. GNU make; needs only python3 (>= 3.11).
#
#   make run    install, migrate, seed demo data, serve on http://127.0.0.1:8000
#   make test   install, run the test suite (SQLite; PostgreSQL when DATABASE_URL says so)
#   make lint   ruff check, ruff format --check and mypy
#   make clean  remove the virtualenv, caches and build output (keeps instance/)
#   make bench  load the catalog and enrollment APIs under gunicorn on PostgreSQL (not in CI)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BIND ?= 127.0.0.1:8000
PYTEST_ARGS ?=
BENCH_ARGS ?=
IMPORT_BENCH_ARGS ?=
ANALYTICS_BENCH_ARGS ?=
PO_FILES := $(wildcard wellness/translations/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

.DEFAULT_GOAL := help
.PHONY: help install $(VENV) run test lint translations clean

help:
	@echo "make run    install, migrate, seed demo data, serve on http://$(BIND)"
	@echo "make test   run the tests (PYTEST_ARGS='-k name' to narrow)"
	@echo "make lint   ruff check and format check"
	@echo "make audit  bandit on our code, pip-audit on the dependencies"
	@echo "make translations  refresh the message catalogs after changing UI text"
	@echo "make clean  remove .venv, caches and build output"
	@echo "make bench  benchmark the APIs on PostgreSQL with wrk (BENCH_ARGS='--rounds 1')"

# The virtualenv is rebuilt only when pyproject.toml changes (the stamp records the install).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Compiled catalogs are not committed (.gitignore); build them from the .po files.
%.mo: %.po $(STAMP)
	$(BIN)/pybabel --quiet compile --use-fuzzy -i $< -o $@

$(VENV) install: $(STAMP) $(MO_FILES)

run: install
	$(BIN)/wellness db upgrade
	$(BIN)/wellness demo
	$(BIN)/wellness serve --bind $(BIND)

test: install
	$(BIN)/pytest -n 2 -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Security checks (CI runs them): bandit on our code (settings in pyproject's [tool.bandit]),
# then pip-audit on the installed dependencies. pip-audit asks PyPI for each installed
# release's known vulnerabilities; where PyPI's per-release data cannot be reached (some
# registry mirrors) it skips the package yet still prints "No known vulnerabilities found",
# so the JSON report is read and the skips are counted out loud. PIP_AUDIT_STRICT=1 makes a
# skipped package fail the target.
PIP_AUDIT_STRICT ?=
.PHONY: audit
audit: install
	$(BIN)/bandit -q -c pyproject.toml -r wellness dashboards
	$(BIN)/pip-audit --skip-editable --progress-spinner off --format json \
		--output $(VENV)/pip-audit.json || { cat $(VENV)/pip-audit.json; exit 1; }
	@$(BIN)/python -c 'import json, os, sys; \
	deps = [d for d in json.load(open("$(VENV)/pip-audit.json"))["dependencies"] \
	        if d["name"] != "wellness"]; \
	skipped = [d["name"] for d in deps if "skip_reason" in d]; \
	vulnerable = [d["name"] for d in deps if d.get("vulns")]; \
	print(f"pip-audit: {len(deps) - len(skipped)} of {len(deps)} packages audited, " \
	      f"{len(vulnerable)} with known vulnerabilities"); \
	skipped and print(f"pip-audit: NOT AUDITED (vulnerability data unreachable): {len(skipped)} " \
	                  f"packages, e.g. {skipped[:5]}", file=sys.stderr); \
	sys.exit(1 if vulnerable or (skipped and os.environ.get("PIP_AUDIT_STRICT")) else 0)'

# After adding or changing UI text: refresh the catalogs, then translate the new German entries
# (tests/test_translations.py fails until every message has one).
translations: install
	$(BIN)/pybabel --quiet extract -F babel.cfg -k _l -k lazy_gettext -o $(VENV)/messages.pot .
	$(BIN)/pybabel --quiet update -i $(VENV)/messages.pot -d wellness/translations --no-fuzzy-matching

# Requests/s and p50/p99 of the catalog and enrollment APIs against /healthz and /readyz, under
# gunicorn on a throw-away PostgreSQL database, then a 100,000-row attendance import against a
# bare COPY, then the HR dashboard pages' aggregates for 50,000 employees against DuckDB
# (benchmarks/README.md). Needs wrk and PostgreSQL on 127.0.0.1:5432 (user postgres;
# BENCH_ARGS='--pg URL' for another); installs the `bench` extra (duckdb) into the virtualenv.
# Takes about 15 minutes; never part of `make test` or CI.
.PHONY: bench
bench: install
	@command -v wrk >/dev/null 2>&1 || { \
		echo "make bench needs wrk, the HTTP load generator:" >&2; \
		echo "  Debian/Ubuntu: sudo apt-get install -y wrk    macOS: brew install wrk" >&2; \
		exit 2; }
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/attendance_import.py $(IMPORT_BENCH_ARGS)
	$(BIN)/python benchmarks/analytics.py $(ANALYTICS_BENCH_ARGS)

# 100 simulated users (catalog, enrollments, check-ins, attendance uploads, analytics) for 60 s
# against two gunicorn instances behind a local round-robin balancer, sharing a throw-away
# PostgreSQL database on 127.0.0.1:5432 and Redis DB 14 on 127.0.0.1:6379; checks zero 5xx and
# that every acknowledged write is stored (benchmarks/README.md). LOADTEST_ARGS='--duration 20'.
LOADTEST_ARGS ?=
.PHONY: loadtest
loadtest: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/loadtest.py $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find wellness/translations -name '*.mo' -delete
