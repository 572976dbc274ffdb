# SignalDesk — `make run` starts the bot on SQLite, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run migrate test lint format bench lock texts clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the locked dependencies

run: install  ## apply migrations and run the bot (needs BOT_TOKEN; SQLite under ./data/)
	$(BIN)/python -m bot migrate
	$(BIN)/python -m bot

migrate: install  ## apply database migrations only
	$(BIN)/python -m bot migrate

test: install  ## the whole suite with coverage (PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest --cov --cov-report=term-missing:skip-covered

lint: install  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

texts: install  ## compile the text catalogue (bot/chat/texts/locales/*/messages.po -> .mo)
	$(BIN)/pybabel compile --statistics -d bot/chat/texts/locales -D messages

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install  ## benchmarks; they print figures (add PostgreSQL with BENCH_ARGS=--postgres)
	$(BIN)/python -m bench.webhooks $(BENCH_ARGS)
	$(BIN)/python -m bench.delivery $(BENCH_ARGS)
	$(BIN)/python -m bench.api $(BENCH_ARGS)

lock:  ## re-resolve dependencies into requirements.lock (in a scratch venv)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]' setuptools
	.lock-venv/bin/pip freeze --exclude-editable --all | grep -v '^pip==' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
