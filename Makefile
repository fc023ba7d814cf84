# The verbs a user types. `make report` and `make test` are the two commands of the README.
SHELL := /bin/bash
VENV  ?= .venv
BIN   := $(VENV)/bin
MODE  ?= full
TICKER ?= AAPL
SOURCE ?= auto
OUT   ?= reports
ARGS  ?=
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: report test lab bench clean env help daily

help:
	@echo "make report [MODE=quick|full] [TICKER=AAPL] [SOURCE=auto|sample|yfinance|csv|synthetic]  run the series into reports/"
	@echo "make test                       the test suite (tiny settings, 5-15 minutes on 2 cores)"
	@echo "make lab [RUN=reports/<run-id>]  JupyterLab on notebooks/ (quick mode in reports/lab, or on a finished run)"
	@echo "make bench                      benchmarks into benchmarks/RESULTS.md"
	@echo "make clean                      remove reports/, caches and build files (keeps .venv)"

# The environment: created once with Python 3.12 (PATH, then pyenv), reinstalled when pyproject.toml changes.
$(BIN)/python:
	@py=$$(scripts/find-python.sh) && echo "creating $(VENV) with $$py" && "$$py" -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dask]"
	@touch $@

# plotly.js's 1.3 MB finance bundle for the report folders, fetched from npm once per plotly version (offline:
# the full 4.8 MB bundle is used and this says so).
env: $(VENV)/.installed
	@$(BIN)/python scripts/fetch_plotlyjs.py

report: env
	$(BIN)/lstm-lab run --ticker $(TICKER) --source $(SOURCE) --mode $(MODE) --out $(OUT) $(ARGS)

test: env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# `make lab RUN=reports/<run-id>`: notebooks opened in Lab read and write that finished run (LSTM_LAB_RUN).
lab: env
	@if [ -n "$(RUN)" ]; then test -f "$(RUN)/config.json" || { echo "make lab: $(abspath $(RUN)) holds no config.json; give RUN=reports/<run-id> of a finished run (lstm-lab list shows them)"; exit 2; }; fi
	LSTM_LAB_RUN="$(if $(RUN),$(abspath $(RUN)))" $(BIN)/jupyter lab notebooks/

bench: env
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf reports data/cache .pytest_cache build dist *.egg-info benchmarks/_work
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

# The daily job of a deployed model: collect -> predict (recorded in the ledger) -> score -> retrain if needed.
# Cron, on weekdays after the close:  30 22 * * 1-5  cd /path/to/lstm-stock-lab && make daily RUN=reports/<run-id>
RUN ?=
daily: env
	@test -n "$(RUN)" || { echo "usage: make daily RUN=reports/<run-id> [TICKER=AAPL] [SOURCE=auto]"; exit 2; }
	$(BIN)/lstm-lab collect --ticker $(TICKER) --source $(SOURCE) --refresh --out data/live/$(TICKER).csv
	$(BIN)/lstm-lab predict --model $(RUN) --csv data/live/$(TICKER).csv --ledger $(RUN)/ledger.sqlite
	$(BIN)/lstm-lab score --run $(RUN) --csv data/live/$(TICKER).csv
	$(BIN)/lstm-lab retrain --run $(RUN) --csv data/live/$(TICKER).csv
