# Petition intake assistant: every target sets up what it needs, and only once.
#   make run     set up, train if needed, migrate, start Rasa + actions + case service
#   make test    ruff, mypy, unit tests, conversation tests and end-to-end tests
#   make shell   chat in the terminal with the running assistant
#   make train   train the Rasa model (only when its inputs changed)
#   make wechat-chat   chat as a WeChat user (see README: WeChat simulator)
#   make telegram-webhook URL=...   register the Telegram webhook with its secret
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV := .venv
BOT := $(VENV)/bot
CASES := $(VENV)/cases
BOT_STAMP := $(BOT)/.installed
CASES_STAMP := $(CASES)/.installed
MODEL := models/petition.tar.gz
PIP_FLAGS := --quiet --disable-pip-version-check --no-input
# Training inputs: a change to any of these (and only these) retrains the model.
MODEL_INPUTS := config.yml $(shell find bot nlu -type f \( -name '*.yml' -o -name '*.yaml' -o -name '*.txt' -o -name '*.csv' -o -name '*.py' \) -not -path '*/__pycache__/*' 2>/dev/null)
EXTRA_DATA ?=
DATA ?=

export PYTHONPATH := $(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1
# Rasa and TensorFlow are chatty; these keep the logs readable.
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: help setup run shell test lint typecheck unit stories e2e train eval-nlu bench \
  learning-curve clean \
  wechat-chat telegram-webhook

help:
	@sed -n 's/^#   //p' Makefile

$(BOT_STAMP): requirements/bot.txt requirements/bot.lock requirements/dev.txt
	@py=$$(tools/find-python310) && echo "Setting up the bot environment with $$py (Rasa and TensorFlow: a few minutes the first time)" && \
	  rm -rf $(BOT) && "$$py" -m venv $(BOT)
	$(BOT)/bin/python -m pip install $(PIP_FLAGS) -r requirements/bot.txt -r requirements/dev.txt -c requirements/bot.lock
	touch $@

$(CASES_STAMP): requirements/cases.txt requirements/cases.lock requirements/dev.txt
	@py=$$(tools/find-python310) && echo "Setting up the cases environment with $$py" && \
	  rm -rf $(CASES) && "$$py" -m venv $(CASES)
	$(CASES)/bin/python -m pip install $(PIP_FLAGS) -r requirements/cases.txt -r requirements/dev.txt -c requirements/cases.lock
	touch $@

setup: $(BOT_STAMP) $(CASES_STAMP)

$(MODEL): $(BOT_STAMP) $(MODEL_INPUTS)
	@echo "Training the model (the training data, domain or config changed)"
	EXTRA_DATA="$(EXTRA_DATA)" $(BOT)/bin/rasa train --config config.yml --domain bot/domain \
	  --data bot/data nlu/data/intents --out models --fixed-model-name petition --force --quiet

train: $(MODEL)
	@want="$(EXTRA_DATA):$$(test -z "$(EXTRA_DATA)" || sha1sum < "$(EXTRA_DATA)")"; if [ "$$(cat models/.extra-data 2>/dev/null || echo :)" != "$$want" ]; then echo "Retraining: EXTRA_DATA changed"; $(MAKE) --no-print-directory -W config.yml $(MODEL) EXTRA_DATA="$(EXTRA_DATA)" && echo "$$want" > models/.extra-data; fi

run: setup $(MODEL)
	$(CASES)/bin/python -m tools.run

shell: $(CASES_STAMP)
	$(CASES)/bin/python -m tools.shell

lint: setup
	$(CASES)/bin/ruff check .
	$(CASES)/bin/ruff format --check .

typecheck: setup
	$(CASES)/bin/mypy cases actions tools common
	$(BOT)/bin/mypy nlu connectors

unit: setup $(MODEL)
	$(BOT)/bin/python -m pytest tests/nlu tests/connectors
	$(CASES)/bin/python -m pytest tests/common tests/cases tests/actions tests/tools

# Conversation tests of the dialogue policies (tests/stories/), then the real servers.
stories: setup $(MODEL)
	$(BOT)/bin/rasa test core --stories tests/stories --model $(MODEL) \
	  --fail-on-prediction-errors --out var/test-stories --no-plot --quiet

e2e: setup $(MODEL)
	$(CASES)/bin/python -m pytest tests/e2e

test: lint typecheck unit stories e2e

eval-nlu: setup $(MODEL)
	@test -n "$(DATA)" || { echo "usage: make eval-nlu DATA=file.csv" >&2; exit 2; }
	$(BOT)/bin/python -m nlu.evaluate --model $(MODEL) "$(DATA)"

bench: setup $(MODEL)
	$(BOT)/bin/python bench/nlu.py

# Category macro-F1 against the share of nlu/data trained on (DATA: a labelled CSV).
learning-curve: setup
	$(BOT)/bin/python bench/learning_curve.py $(if $(DATA),--data "$(DATA)")

clean:
	rm -rf models var .pytest_cache .mypy_cache .ruff_cache

# Chat as a WeChat user with the running assistant (real signed/encrypted protocol, local
# stand-in for the WeChat API); the first run writes var/wechat-sim.env for `make run`.
wechat-chat: $(BOT_STAMP)
	$(BOT)/bin/python -m connectors.simulator

# Register the Telegram webhook with its secret (TELEGRAM_BOT_TOKEN, TELEGRAM_SECRET_TOKEN).
telegram-webhook: $(BOT_STAMP)
	@test -n "$(URL)" || { echo "usage: make telegram-webhook URL=https://host/webhooks/telegram/webhook" >&2; exit 2; }
	$(BOT)/bin/python -m connectors.telegram_webhook "$(URL)"
