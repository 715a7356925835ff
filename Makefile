# The two commands of the README: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# The suite runs in parallel processes: most of its time is waiting for servers to start.
TEST_WORKERS ?= 3
#: The fixed instants `make dates` runs the date-sensitive tests at (UTC): a month end, a year
#: end, a week across two months, the DST changes of New York and Berlin, Chinese New Year.
DATES := 2026-11-30T15:30:00Z 2026-12-31T23:30:00Z 2026-12-02T04:00:00Z \
	2027-03-14T12:00:00Z 2027-03-28T12:00:00Z 2026-10-25T12:00:00Z 2026-11-01T12:00:00Z \
	2027-02-06T04:00:00Z

.PHONY: demo test check dates lint bench install

$(BIN)/salesbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/salesbot

demo: install
	$(BIN)/salesbot demo $(if $(FRESH),--fresh) $(if $(TOUR),--tour)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# The inner loop: lint and every test that starts no server and needs no PostgreSQL.
check: lint
	$(BIN)/python -m pytest -q -n 2 -m "not needs_server"

# The tests that read the calendar, at each of DATES (SQLite; the logic is the same on both).
dates: install
	for at in $(DATES); do \
		echo "== $$at"; \
		SALESBOT_TEST_NOW=$$at $(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m dates \
			-k "not postgresql" || exit 1; \
	done

bench: install
	$(BIN)/python bench/http_load.py
	$(BIN)/python bench/http_load.py --command who
	$(BIN)/python bench/http_load.py --command log
	$(BIN)/python bench/http_load.py --rate 200 --seconds 30 --workers 2 --postgres
	$(BIN)/python bench/race.py
	$(BIN)/python bench/near_duplicates.py
	$(BIN)/python bench/digest_scale.py
	$(BIN)/python bench/targets_home.py
