# fer: `make bench` runs the main job on the embedded synthetic demo data; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first, on its own, so the CPU machine's local wheels are used when present.
# The ray extra is only for the Ray executor's tests (~20 s to install, ~1 min of tests); the core never needs it.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
PLUGINS := $(sort $(wildcard plugins/fer-*))
STAMP := $(VENV)/.fer-installed
# The demo grid: 2 fast models x {none, smote, weighted}, each cell capped at 25 s of training: about 3 minutes
# on 2 cores (measured in README "Quick start"). Without augmentation at lr 2e-3 the small CNNs reach 0.8-0.95
# accuracy on the demo faces in that time and the balancers lift the rare class (disgust).
# It goes to runs/demo-bench/, so `make bench` again skips the finished cells and shows the leaderboard.
BENCH_MODELS ?= mycnn_v1,multibranch
BENCH_ARGS ?= --models $(BENCH_MODELS) --balancers smote,weighted --data demo --epochs 10 --time-budget 25 --augment none --lr 0.002 --name demo-bench

.PHONY: install test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml) Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q 'setuptools>=77' wheel
	$(BIN)/python -c "import torch, torchvision" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q --no-build-isolation -e '.[dev,onnx,ray]' $(addprefix -e ./,$(PLUGINS))
	touch $@

# pytest exits 5 when it collects nothing: that is a broken suite, not a pass.
test: install
	@$(BIN)/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: install
	$(BIN)/fer bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check fer_core plugins tests benchmarks
	$(BIN)/ruff format --check fer_core plugins tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
