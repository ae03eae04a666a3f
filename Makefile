# Orchestra Ops: every entry point a person or CI uses.
# The virtual environment is built from requirements.lock (exact versions, hashes),
# so every machine and CI run the same packages.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP  := $(VENV)/.installed

.PHONY: venv lock lint format test test-fast chaos demo bench audit deploy sandbox doctor clean pulumi vercel-tools

venv: $(STAMP)

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE=1 is set (this machine
# and CI), every process the tests start would otherwise recompile Prefect from source.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

## Regenerate the lock after changing dependencies in pyproject.toml.
lock:
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"; }
	$(BIN)/uv pip compile pyproject.toml --group dev --python-version 3.11 --generate-hashes --quiet -o requirements.lock

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Test files run on parallel workers (pytest-xdist), each file whole on one worker so a
## module's tests keep their order; most of the suite waits on servers and processes.
## Modules go out in the order tests/conftest.py sorts them (longest first), not xdist's
## (most tests first), so no long module starts last.
## Four workers on two cores: the end-to-end modules spend much of their time waiting.
TEST_WORKERS ?= 4
XDIST := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
## The suite writes bytecode for this project's own files (into the ignored __pycache__
## folders) even where PYTHONDONTWRITEBYTECODE=1 is set: otherwise each test worker, flow
## run and provider process recompiles the product and pytest rewrites every test module
## again (collection alone takes 13 s of CPU a worker instead of 6).
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest

test: lint vercel-tools
	$(PYTEST) $(XDIST)

## Vercel's own CLI and SDK, pinned in tools/vercel-conformance (npm cache outside the
## repo), for tests/sandbox/test_vercel_cli.py and test_vercel_sdk.py. Without a registry
## the install fails, this says so, and those tests skip naming the reason.
VERCEL_TOOLS := tools/vercel-conformance
vercel-tools: $(VERCEL_TOOLS)/node_modules/.package-lock.json

$(VERCEL_TOOLS)/node_modules/.package-lock.json: $(VERCEL_TOOLS)/package-lock.json $(VERCEL_TOOLS)/package.json
	@cd $(VERCEL_TOOLS) && npm ci --cache "$(HOME)/.cache/orchestra-ops/npm" --ignore-scripts \
		--no-audit --no-fund --loglevel=error >.install.log 2>&1 \
		|| echo "vercel-tools: npm ci failed (see $(VERCEL_TOOLS)/.install.log): the Vercel CLI and SDK tests will skip" >&2

## The whole chaos matrix and every trial (longer than CI's share; see tests/chaos).
chaos: venv
	ORCHESTRA_SOAK=1 $(PYTEST) tests/chaos -q

## The inner loop: what needs no Prefect server and takes under a few seconds (< 1 min).
test-fast: venv
	FAST_PROPERTIES=1 $(PYTEST) -x -q -m "not slow and not prefect_server" $(XDIST)

## The demo runs its stacks on the Pulumi CLI: pulumi on PATH, else the `make pulumi`
## build (made here on first use; without it the demo says what is missing and stops).
demo: venv
	@command -v pulumi >/dev/null || bash tools/build-pulumi.sh >/dev/null || true
	$(BIN)/orchestra-ops demo

sandbox: venv
	$(BIN)/orchestra-ops sandbox --endpoints-file .orchestra-ops/endpoints.json

doctor: venv
	$(BIN)/orchestra-ops doctor

## Benchmarks: ratios measured side by side; figures land in bench/results/latest.json.
## The roadmap and provisioning figures are measured with the Pulumi CLI (as for demo).
bench: venv vercel-tools
	@command -v pulumi >/dev/null || bash tools/build-pulumi.sh >/dev/null || true
	$(BIN)/python bench/emulator_rps.py
	$(BIN)/python bench/frontend.py
	$(BIN)/python bench/vercel_uploader.py
	$(BIN)/python bench/security.py
	$(BIN)/python bench/roadmap.py
	$(BIN)/python bench/provisioning.py
	$(BIN)/python bench/prefect_overhead.py

## Scan this project's own lock against the real advisory services (examples/ is
## deliberately vulnerable, so only the lock is scanned).
audit: venv
	@rm -rf .orchestra-ops/audit-src && mkdir -p .orchestra-ops/audit-src
	@cp requirements.lock .orchestra-ops/audit-src/
	$(BIN)/orchestra-ops security scan .orchestra-ops/audit-src --out-dir .orchestra-ops/audit

## Deploy every flow of prefect.yaml to the server at PREFECT_API_URL, with a process pool,
## then close each deployment's parameter schema (deployments/parameter_schemas.py: the
## server refuses unknown top-level keys too),
## and the automations of deployments/automations.py: crashed when heartbeats stop, and
## alerts on Failed, Crashed and Late runs and on a pool without a worker, sent to
## ORCHESTRA_NOTIFY_WEBHOOK_URL (none without it, and it says so).
## Runs clone this checkout's commit from its origin (ORCHESTRA_GIT_REPOSITORY overrides):
## the checkout must be clean and the commit pushed (deployments/source.py checks both).
## The weekly scan's default target is relative: each run finds it in its own clone.
ORCHESTRA_TARGET_REPO ?= examples/orchestra-main
deploy: venv
	@test -n "$$PREFECT_API_URL" || { echo "make deploy: set PREFECT_API_URL to your Prefect server's API (e.g. http://127.0.0.1:4200/api)" >&2; exit 2; }
	$(BIN)/prefect work-pool inspect orchestra-ops-process >/dev/null 2>&1 || $(BIN)/prefect work-pool create orchestra-ops-process --type process
	ORCHESTRA_TARGET_REPO=$(ORCHESTRA_TARGET_REPO) $(BIN)/python -m deployments.source $(BIN)/prefect --no-prompt deploy --all
	$(BIN)/python -m deployments.parameter_schemas
	$(BIN)/python -m deployments.automations

## Build the Pulumi CLI matching the pinned pulumi SDK from Go modules (needs Go), into
## a cache outside the repo; prints its bin dir: PATH="$(make -s pulumi):$PATH".
pulumi:
	@bash tools/build-pulumi.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
