# The two commands a newcomer needs: `make run` and `make test`; `make test-quick` while working.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml package.json | cksum | cut -d' ' -f1)

.PHONY: install run test test-quick lint format bench bench-mail bench-wire bench-timing bench-alert eval bench-websub bench-topics clean

install: $(STAMP) node_modules/axe-core/axe.min.js

run: $(STAMP)
	$(BIN)/watchdesk run

# Everything, on every core (pytest-xdist), as CI runs it; PYTEST_ARGS="-n 0" runs it in one process.
test: $(STAMP) node_modules/axe-core/axe.min.js
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

# Everything but the tests marked slow (other processes, seconds each) and browser, on every core.
test-quick: $(STAMP)
	$(BIN)/pytest -n auto -m "not slow and not browser" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/watchdesk check
	$(BIN)/watchdesk makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-mail: $(STAMP)
	$(BIN)/python bench/mail.py

bench-wire: $(STAMP)
	$(BIN)/python bench/wire.py

bench-topics: $(STAMP)
	$(BIN)/python bench/topics.py

bench-timing: $(STAMP)
	$(BIN)/python bench/timing.py

bench-alert: $(STAMP)
	$(BIN)/python bench/alert.py

# The wire against its labelled evaluation set (docs/wire.md, "Evaluation set"); EVAL_ARGS="--only wildfire".
eval: $(STAMP)
	$(BIN)/python -m watchdesk.wire.eval $(EVAL_ARGS)

bench-websub: $(STAMP)
	$(BIN)/python bench/websub.py

$(STAMP): pyproject.toml package.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules var/screenshots
