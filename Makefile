# The two commands of the README: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench install

$(BIN)/salesbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/salesbot

demo: install
	$(BIN)/salesbot demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/http_load.py
	$(BIN)/python bench/http_load.py --command who
	$(BIN)/python bench/http_load.py --command log
	$(BIN)/python bench/near_duplicates.py
	$(BIN)/python bench/digest_scale.py
	$(BIN)/python bench/targets_home.py
