# 议事厅: `make run` sets up and serves the demo; `make test` runs every check and test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run print-deps test test-deps lint typecheck unit messages bench bench-record clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# make run PORT=8080 serves on another port (default 8000, or YST_PORT).
run: $(STAMP) print-deps
	$(BIN)/python -m app serve --demo $(if $(PORT),--port $(PORT))

# The server's PDFs (app/web/pdf.py) need WeasyPrint's Debian libpango-1.0-0,
# libpangoft2-1.0-0 and libharfbuzz-subset0, and fonts-noto-cjk: installed when root (or with passwordless sudo),
# otherwise this stops naming the exact apt-get command.
print-deps: $(STAMP)
	$(BIN)/python -m tests.testenv print

# lint-imports: the house's import contracts in pyproject.toml ([tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/lint-imports --no-cache --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy app bench

# `make test` sees to what the suite needs (tests/testenv.py): Debian chromium, fonts-noto-cjk,
# libpango-1.0-0 and libpangoft2-1.0-0 (WeasyPrint), poppler-utils (pdftoppm),
# postgresql-client, and a PostgreSQL server: the one at YST_TEST_PG if it answers, else a
# throwaway cluster under var/ for this run. A selection: make test PYTEST_ARGS="tests/x.py -k y"
test: test-deps lint typecheck
	$(BIN)/python -m tests.testenv run -- $(BIN)/pytest $(PYTEST_ARGS)

test-deps: $(STAMP)
	$(BIN)/python -m tests.testenv deps

messages: $(STAMP)
	$(BIN)/python -m app.web.catalog

# Benchmarks (docs/benchmarks.md): `make bench` is a quick check of every tool and writes
# nothing; `make bench-record` takes the figures in docs/benchmarks.md (about 20 minutes, needs
# wrk and, for the PostgreSQL rows, a server at BENCH_PG).
BENCH_PG ?= $(or $(YST_TEST_PG),postgresql://postgres@127.0.0.1:5432/test)

bench: $(STAMP)
	$(BIN)/python bench/run.py --issues 5000 --comments 2000 --duration 2 --rounds 3 --no-write
	$(BIN)/python bench/vote.py --duration 2 --rounds 1 --tally-runs 5 --no-write
	$(BIN)/python bench/paced.py --duration 30 --no-write

bench-record: $(STAMP)
	$(BIN)/python bench/run.py --as resident
	$(BIN)/python bench/run.py --as chair
	$(BIN)/python bench/vote.py
	$(BIN)/python bench/vote.py --postgres $(BENCH_PG) --instances 1
	$(BIN)/python bench/vote.py --postgres $(BENCH_PG) --instances 2
	$(BIN)/python bench/paced.py --duration 400

clean:
	rm -rf $(VENV) var
