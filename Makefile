# Postwise: every verb a developer needs. `make demo` and `make test` are all a new machine needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo up down test bench chaos bench-tools browser-tools lint format clean proto

setup: $(STAMP)  ## create .venv and install the pinned dependencies (quick no-op when current)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: setup  ## the whole loop on embedded defaults, ending with an HTML report and a summary
	$(BIN)/postwise demo

up: setup  ## start every service and print their URLs
	$(BIN)/postwise up

down: setup  ## stop the embedded services
	$(BIN)/postwise services stop

test: setup browser-tools  ## the whole test suite on real PostgreSQL and Redis
	$(BIN)/python -m pytest

bench: setup bench-tools  ## run every benchmark and write benchmarks/results/summary.md
	$(BIN)/python -m benchmarks

# Not part of bench: a 20,000-message campaign on private services while workers are killed,
# PostgreSQL restarts, routes fail or slow down and bad requests hit the API (README, Chaos).
chaos: setup  ## the chaos suite: prints one JSON object, exit 0 only when every check holds
	@$(BIN)/python -m benchmarks._chaos $(CHAOS_ARGS)

# The delivery benchmark measures against Postfix (smtp-sink, smtp-source and a private
# instance). Installed non-interactively on Debian/Ubuntu when missing, never configured as
# the system's mail server; elsewhere that benchmark reports the missing tools.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
bench-tools:  ## install Postfix's benchmark tools when missing (Debian/Ubuntu)
	@if command -v smtp-sink >/dev/null 2>&1 || [ -x /usr/sbin/smtp-sink ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "installing postfix (smtp-sink, smtp-source) for the delivery benchmark"; \
		echo "postfix postfix/main_mailer_type select No configuration" \
			| $(SUDO) debconf-set-selections; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends \
			postfix >/dev/null \
		|| { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get \
			install -y --no-install-recommends postfix >/dev/null; } \
		|| echo "could not install postfix; the delivery benchmark will report it"; \
	else echo "no apt-get: install Postfix to run the delivery benchmark"; fi

# The dashboards' browser test drives Debian's chromium through chromedriver (selenium).
# Installed non-interactively when missing (CI runs `make test` as root on Debian bookworm);
# without them that test is skipped and says why.
browser-tools:  ## install chromium and chromedriver when missing (Debian/Ubuntu)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium and chromium-driver for the dashboards' browser test"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends chromium chromium-driver >/dev/null \
		|| { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null; } \
		|| echo "could not install chromium; the dashboards' browser test will be skipped"; \
	else echo "no apt-get: install chromium and chromedriver to run the browser test"; fi

lint: setup  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

proto: setup  ## regenerate serving/proto/postwise_pb2.py(i) from serving/proto/postwise.proto
	$(BIN)/python -m grpc_tools.protoc -I serving/proto --python_out=serving/proto \
		--pyi_out=serving/proto serving/proto/postwise.proto

clean:  ## remove the virtualenv and local state (stops embedded services first)
	-$(BIN)/postwise services stop
	rm -rf $(VENV) .postwise
