# Two entry points for users: `make run` (the app on the shipped default, offline)
# and `make test` (the whole test suite). Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install install-dev browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt

install-dev: $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt

run: install
	$(BIN)/streamlit run app.py

# Chromium for the end-to-end tests: Debian's package (Playwright's own download does not work offline).
browser:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "note: /usr/bin/chromium is missing (apt-get install chromium); browser tests will be skipped"; }

test: install-dev browser
	$(BIN)/python -m pytest
