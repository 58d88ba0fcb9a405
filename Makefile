# Two entry points for users: `make run` (the app on the shipped default, offline)
# and `make test` (the whole test suite). Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# onnxruntime-web decodes z in the page. Pinned in web/package-lock.json, installed from the
# npm registry with npm, then the two files the app serves (the wasm build, licence MIT, in its
# package.json) are copied under static/, which Streamlit serves at /app/static/. Without npm
# the app still runs: pages decode on the server and say so.
ORT_DIST := web/node_modules/onnxruntime-web/dist
ORT := static/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm

.PHONY: run test test-fast install install-dev browser checkpoints web-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python $(ORT)
	$(BIN)/pip install -q -r requirements.txt

$(ORT): web/package.json web/package-lock.json
	@if command -v npm >/dev/null; then \
		(cd web && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error) && mkdir -p $(@D) && \
		cp $(ORT_DIST)/ort.wasm.bundle.min.mjs $(ORT_DIST)/ort-wasm-simd-threaded.wasm $(ORT_DIST)/../package.json $(@D)/; \
	else echo "note: npm is missing (apt-get install npm): pages will decode on the server"; fi

install-dev: $(BIN)/python $(ORT)
	$(BIN)/pip install -q -r requirements-dev.txt

# The dev packages too (TensorFlow.js, for bench/decode_runtimes.py's comparison only).
web-dev:
	cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

run: install
	$(BIN)/streamlit run app.py

# Chromium for the end-to-end tests: Debian's package (Playwright's own download does not work offline).
browser:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "note: /usr/bin/chromium is missing (apt-get install chromium); browser tests will be skipped"; }

# pytest's status 5 (it collected no tests) is a failure like any other: say so, and keep the status.
test: install-dev browser
	$(BIN)/python -m pytest; rc=$$?; \
	[ $$rc -ne 5 ] || echo "pytest collected no tests: that is a failure too" >&2; exit $$rc

# The inner loop: everything but the tests that train for long, start processes or drive a
# browser (markers slow and e2e); no install step, so run `make install-dev` once first.
test-fast:
	$(BIN)/python -m pytest -q -m "not slow and not e2e"

# Rebuild the shipped models in checkpoints/ (MNIST ones read the IDX files in ../shared/data/mnist;
# the shapes ones draw their colour data set afresh). Digits and MNIST: Bernoulli decoders on
# binarised pixels; shapes: a Gaussian with one learned sigma on the RGB pixels (why not the
# continuous Bernoulli: docs/design-decisions.md). Every model's best epoch is chosen on a
# validation split and its figures are measured on the test split (in each file's "test").
# The shapes runs: 20,000 drawn images, 30 epochs each (32 min of training each, run side by
# side with browser tests on the 2 cores, then ~10 min of test figures), one torch thread each:
# the arithmetic then does not depend on the core count, and two runs side by side do not stall
# each other's OpenMP threads.
MNIST_DIR ?= ../shared/data/mnist
TRAIN := $(BIN)/python -m vae_core.train --likelihood bernoulli --binarize
SHAPES := OMP_NUM_THREADS=1 $(BIN)/python -m vae_core.train --dataset shapes --dataset-size 20000 --test-fraction 0.1 \
	--arch conv --latent-dim 10 --likelihood gaussian --sigma global --batch-size 32 --epochs 30
checkpoints: install
	$(TRAIN) --dataset digits --arch mlp --latent-dim 2 --epochs 300 --out checkpoints/digits-mlp-2d
	$(TRAIN) --dataset digits --arch mlp --latent-dim 8 --epochs 300 --out checkpoints/digits-mlp-8d
	$(TRAIN) --dataset mnist --data-dir $(MNIST_DIR) --arch conv --latent-dim 2 --epochs 40 --out checkpoints/mnist-conv-2d
	$(TRAIN) --dataset mnist --data-dir $(MNIST_DIR) --arch conv --latent-dim 16 --epochs 40 --out checkpoints/mnist-conv-16d
	$(SHAPES) --beta 1 --out checkpoints/shapes-conv-10d-beta1
	$(SHAPES) --beta 4 --out checkpoints/shapes-conv-10d-beta4
