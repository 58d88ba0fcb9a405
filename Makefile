# Two entry points for users: `make run` (the app on the shipped default, offline)
# and `make test` (the whole test suite). Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install install-dev browser checkpoints

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

# Rebuild the shipped models in checkpoints/ (MNIST ones read the IDX files in ../shared/data/mnist):
# Bernoulli decoders on binarised pixels, best epoch chosen on a validation split, figures
# reported on the test split (in each sidecar's "test").
MNIST_DIR ?= ../shared/data/mnist
TRAIN := $(BIN)/python -m vae_core.train --likelihood bernoulli --binarize
checkpoints: install
	$(TRAIN) --dataset digits --arch mlp --latent-dim 2 --epochs 300 --out checkpoints/digits-mlp-2d
	$(TRAIN) --dataset digits --arch mlp --latent-dim 8 --epochs 300 --out checkpoints/digits-mlp-8d
	$(TRAIN) --dataset mnist --data-dir $(MNIST_DIR) --arch conv --latent-dim 2 --epochs 40 --out checkpoints/mnist-conv-2d
	$(TRAIN) --dataset mnist --data-dir $(MNIST_DIR) --arch conv --latent-dim 16 --epochs 40 --out checkpoints/mnist-conv-16d
