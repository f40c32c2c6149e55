# The two commands a newcomer runs: `make demo` and `make test`.
# Both set everything up first; setup is idempotent and cached (a second run
# downloads nothing).
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TOXIPROXY := .tools/bin/toxiproxy-server

.PHONY: setup system docker demo test bench clean

setup: system $(STAMP) $(TOXIPROXY)

system:
	@bash compose/setup/system-deps.sh

# The compose backend's prerequisites: Docker engine running (root installs and
# starts it); images are built on first use by the harness itself.
docker:
	@bash compose/setup/docker.sh

$(STAMP): pyproject.toml compose/image/requirements.txt
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	@echo "installing Python dependencies into $(VENV)"
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[dev]' -r compose/image/requirements.txt
	@touch $@

$(TOXIPROXY):
	@bash compose/setup/toxiproxy.sh $(CURDIR)/.tools/bin

demo: setup
	$(VENV)/bin/failover run scenarios/ci/ --backend local --junit reports/junit.xml

# Compose-backend tests need Docker: as root, `make test` starts it; without it
# they skip locally and fail under CI=true.
test: setup
	@if [ "$$(id -u)" = 0 ]; then bash compose/setup/docker.sh || true; fi
	$(PYTHON) -m pytest

bench: setup
	$(PYTHON) tests/benchmarks/stack_bench.py
	$(PYTHON) tests/benchmarks/rto_calibration_bench.py
	$(PYTHON) tests/benchmarks/scoring_bench.py
	$(PYTHON) tests/benchmarks/locust_bench.py
	$(PYTHON) tests/benchmarks/run_bench.py
	$(PYTHON) tests/benchmarks/live_check_bench.py
	$(PYTHON) tests/benchmarks/model_server_bench.py
	$(PYTHON) tests/benchmarks/inject_bench.py
	$(PYTHON) tests/benchmarks/rollback_bench.py --flagger-trials 1
	$(PYTHON) tests/benchmarks/report_bench.py
	$(PYTHON) tests/benchmarks/failover_speed_bench.py --backends local compose
	$(PYTHON) tests/benchmarks/trials_bench.py --trials 10

clean:
	rm -rf $(VENV) .tools compose/image/.build
