# One target per routine task. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench schemas reference baseline clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,train,dask,cloud]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/medata demo medata-demo --replace

test: $(STAMP)
	bash .ci/ensure-chromium
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_probe.py
	$(BIN)/python bench/bench_validate.py
	$(BIN)/python bench/bench_dedupe.py
	$(BIN)/python bench/bench_stats.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_near.py
	$(BIN)/python bench/bench_views.py
	$(BIN)/python bench/bench_descriptors.py
	$(BIN)/python bench/bench_merge.py
	$(BIN)/python bench/bench_cluster.py

schemas: $(STAMP)
	$(BIN)/python -m medata.schemas_export

reference: $(STAMP)
	$(BIN)/python -m medata.checks.reference manifests/kmirfan-micro-expressions-2022-11.parquet \
		../shared/data/micro-expressions.zip

clean:
	rm -rf $(VENV) medata-demo .pytest_cache .mypy_cache .ruff_cache
