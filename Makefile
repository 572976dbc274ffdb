# SignalDesk — `make run` starts the bot on SQLite, `make test` runs the whole suite.
PYTHON ?= python3
# The virtualenv; CI keeps one per lock outside its fresh clone (.ci/run).
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEV    := $(VENV)/.dev-stamp
# pytest-xdist processes for `make test` (each with its own PostgreSQL database). Three on
# two cores: a third of the suite's time is waiting (processes starting, Chromium, hand-over
# pauses) that another worker fills; idle workers steal queued tests from busy ones.
TEST_WORKERS ?= 3

.PHONY: install install-dev run migrate test chromium image-test lint format bench bench-quick lock texts clean

# Two locks: requirements.txt is what a server runs (and what a Python buildpack detects);
# requirements-dev.txt adds the test and lint tools on top of it. The app itself is not
# installed into the venv: it runs from the checkout (`python -m bot` in this folder, as
# the Procfile does), so no build step and no setuptools banner on every install.
$(STAMP): requirements.txt
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(DEV): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(DEV)

install: $(STAMP)  ## create .venv with the runtime lock only (what a server needs)

install-dev: $(DEV)  ## add the test and lint tools (requirements-dev.txt)

run: install  ## apply migrations and run the bot (needs BOT_TOKEN; SQLite under ./data/)
	$(BIN)/python -m bot migrate
	$(BIN)/python -m bot

migrate: install  ## apply database migrations only
	$(BIN)/python -m bot migrate

# Byte-compiled once before the workers start, each of which would compile every module
# itself (PYTHONDONTWRITEBYTECODE, or a fresh clone): ~1.5 s of CPU a process under coverage.
test: install-dev chromium  ## the whole suite with coverage (PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/python -m compileall -q -j 0 bot webapp db tests
	REQUIRE_BROWSER=1 $(BIN)/python -m pytest -p tests.support.libraries -n $(TEST_WORKERS) --dist worksteal --cov --cov-report=term-missing:skip-covered

# The Mini App's tests drive Debian's Chromium: installed here when missing (as root, as
# .ci/run does), otherwise one line says how; the browser tests are never skipped quietly.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make test: installing Debian's chromium for the Mini App's browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "make test: the Mini App's browser tests need Chromium: sudo apt-get install chromium" >&2; \
	    exit 2; \
	  fi; }

# The deployment files checked by nginx, caddy, systemd-analyze and docker-compose, then the
# Dockerfile built with buildah (as root; on a base made from Debian's packages, since no
# registry is reachable here) and run against the fakes and PostgreSQL: tests/image/.
IMAGE_TEST_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/image_test
image-test: install-dev  ## check deploy/ and compose.yaml, build the Dockerfile with buildah, run the image against the fakes
	tests/image/check_deploy.sh
	image="$$(tests/image/build.sh)" && \
	IMAGE_TEST_DATABASE_URL=$(IMAGE_TEST_DATABASE_URL) $(BIN)/python -m tests.image.run_image "$$image"

lint: install-dev  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

texts: install-dev  ## compile the text catalogue (bot/texts/locales/*/messages.po -> .mo)
	$(BIN)/pybabel compile --statistics -d bot/texts/locales -D messages

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev  ## the six benchmarks on SQLite; they print figures (PostgreSQL instead: BENCH_ARGS=--postgres)
	$(BIN)/python -m bench.webhooks $(BENCH_ARGS)
	$(BIN)/python -m bench.delivery $(BENCH_ARGS)
	$(BIN)/python -m bench.api $(BENCH_ARGS)
	$(BIN)/python -m bench.lifecycle $(BENCH_ARGS)
	$(BIN)/python -m bench.updates $(BENCH_ARGS)
	$(BIN)/python -m bench.outcomes $(BENCH_ARGS)

bench-quick: install-dev  ## the same, smaller and once: indicative figures in under two minutes
	$(BIN)/python -m bench.webhooks --quick $(BENCH_ARGS)
	$(BIN)/python -m bench.delivery --quick $(BENCH_ARGS)
	$(BIN)/python -m bench.api --quick $(BENCH_ARGS)
	$(BIN)/python -m bench.lifecycle --quick $(BENCH_ARGS)
	$(BIN)/python -m bench.updates --quick $(BENCH_ARGS)
	$(BIN)/python -m bench.outcomes --quick --part passes $(BENCH_ARGS)

lock:  ## re-resolve both locks (in scratch venvs): requirements.txt, requirements-dev.txt
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	# A new venv carries the setuptools its Python shipped with (65 on 3.11): upgraded
	# first, or the lock would pin that old one below what pyproject.toml builds with.
	.lock-venv/bin/pip install --quiet --upgrade pip setuptools
	.lock-venv/bin/pip install --quiet -e .
	( echo '# Runtime lock: what `make run` and a server install; regenerate with `make lock`.'; \
	  .lock-venv/bin/pip freeze --exclude-editable --all | grep -v '^pip==' ) > requirements.txt
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	( echo '# Test and lint tools on top of the runtime lock; regenerate with `make lock`.'; \
	  echo '-r requirements.txt'; \
	  .lock-venv/bin/pip freeze --exclude-editable --all | grep -v '^pip==' \
	    | grep -vxFf requirements.txt ) > requirements-dev.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
