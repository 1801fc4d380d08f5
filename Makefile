# Every target creates .venv when it is missing: torch==2.13.0 first (the CPU build), then the project.
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test fuzz bench bench-accuracy bench-tune bench-distributed bench-serve check venv clean

# The project's install also builds the compiled GRU training loops (setup.py); the last line says whether training
# uses them, and the step fails when they differ from torch's GRU (tsrnn.model.fast.parity).
$(STAMP): pyproject.toml setup.py tsrnn/model/fast/fastkernel.c
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -m tsrnn.model.fast.parity
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tsrnn tui demo

test: $(STAMP)
	$(PY) -m pytest -q

fuzz: $(STAMP)
	TSRNN_FUZZ=long $(PY) -m pytest -q tests/unit/data/test_loader_fuzz.py -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m bench.bench_speed

# then fold sets spread over the year: compare's defaults against MSTL and seasonal naive (bench/fold_sets.py)
bench-accuracy: $(STAMP)
	$(PY) -m bench.bench_accuracy
	$(PY) -m bench.fold_sets

# tsrnn tune (4 minutes per dataset) and the mean of its best 3 trials against bench/accuracy.md (about 22 minutes)
bench-tune: $(STAMP)
	$(PY) -m bench.bench_tune

# --engine local against --engine dask on 100k and 1M generated series (about 5 minutes on 2 cores)
bench-distributed: $(STAMP)
	$(PY) -m bench.bench_distributed

# tsrnn serve on loopback: 1/16/64 clients with and without dynamic batching (hey when installed: apt-get install
# hey), a 60 s soak with malformed requests and a reload, the in-process overhead; writes bench/serve.md (about 7 minutes)
bench-serve: $(STAMP)
	$(PY) -m bench.bench_serve

check: $(STAMP)
	$(VENV)/bin/ruff check tsrnn tui tests bench
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
