# Citizen e-government assistant — see README.md.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export SANIC_REGISTER := False

.DEFAULT_GOAL := help
.PHONY: help setup browser db run serve chat train test test-py lint validate eval bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@PYBIN=$$(scripts/find-python.sh) || exit 1; \
	if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $$PYBIN"; "$$PYBIN" -m venv $(VENV) || exit 1; fi
	$(PY) -m pip install -q --upgrade "pip<25" wheel
	$(PY) -m pip install -q -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv with Python 3.10 and install everything (no-op when unchanged)

browser: ## Install Debian's chromium for the browser tests (apt, when missing)
	@scripts/ensure-chromium.sh

db: setup ## Create/upgrade the database and load seed data if empty
	$(PY) -m bot.cli db-init

train: setup ## Train a Rasa model unless one matching data and config exists
	$(PY) -m bot.cli train

run: db train ## Set up, seed, train if needed, then serve on 127.0.0.1:5005 (REST, + Telegram/Zalo when configured)
	$(PY) -m bot.cli serve

chat: setup ## Chat in the terminal with the running assistant (start it with `make run`)
	$(PY) -m bot.cli chat

validate: setup ## rasa data validate --fail-on-warnings
	$(RASA) data validate --fail-on-warnings --data nlu_data --domain domain --config config.yml

lint: setup ## ruff
	$(VENV)/bin/ruff check .

test: setup browser lint validate train ## Run the whole test suite (pytest on SQLite + PostgreSQL, rasa conversation tests)
	$(PY) -m pytest -q
	$(PY) -m bot.cli test-stories

eval: train ## NLU metrics on the held-out test set
	$(PY) -m benchmarks.nlu_eval

bench: train ## All benchmarks (prints the tables quoted in README)
	$(PY) -m benchmarks.run

clean: ## Remove the venv, models and local database
	rm -rf $(VENV) models/*.tar.gz var results .pytest_cache
