# One entry point for developers and CI. `make run` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
BUF_VERSION := 1.75.0
BUF := .tools/node_modules/.bin/buf
PROTO_FILES := $(wildcard protos/engagement/v1/*.proto protos/loyalty/v1/*.proto \
	protos/loyalty/stub/v1/*.proto)

.PHONY: install migrate run test test-faults bench bench-leaderboard bench-relay bench-rules bench-scale test-unit lint fmt types proto proto-check proto-release buf-lint buf-breaking static check lock clean

# The typed Python client, installable on its own; the ops commands of `engagement` use it.
CLIENT := clients/python
CLIENT_GEN := $(CLIENT)/engagement_client/gen

$(VENV)/.installed: pyproject.toml requirements.lock $(CLIENT)/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check 'uv>=0.5,<1'
	$(UV) pip sync --quiet --python $(PY) requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e . -e $(CLIENT)
	touch $@

install: $(VENV)/.installed

## Regenerate the pinned dependency set after editing pyproject.toml.
lock: install
	$(UV) pip compile --quiet --python $(PY) --extra dev --universal pyproject.toml -o requirements.lock

run: install
	$(VENV)/bin/engagement dev

## Apply database migrations to the server named by ENGAGEMENT_DATABASE_URL.
migrate: install
	$(VENV)/bin/engagement migrate

test: install
	$(PY) -m pytest -q

## Faults injected into Postgres, Redis, the service and the loyalty stub that the suite starts
## itself, under load; outage lengths from FAULTS_{REDIS,POSTGRES,LOYALTY}_DOWN_SECONDS.
test-faults: install
	$(PY) -m pytest -q tests/faults

test-unit: install
	$(PY) -m pytest -q tests/unit

fmt: install
	$(VENV)/bin/ruff format service leaderboard tests bench clients

lint: install
	$(VENV)/bin/ruff format --check service leaderboard tests bench clients
	$(VENV)/bin/ruff check service leaderboard tests bench clients
	$(VENV)/bin/lint-imports --no-cache

types: install
	$(VENV)/bin/mypy

# Generated code lands in service/gen, and a copy for the client in $(CLIENT_GEN); imports are
# rewritten to be package-absolute (under the package $(2)) so that no sys.path tricks are needed.
define generate
	rm -rf $(1) && mkdir -p $(1)
	$(PY) -m grpc_tools.protoc -I protos \
		--plugin=protoc-gen-mypy=$(VENV)/bin/protoc-gen-mypy \
		--plugin=protoc-gen-mypy_grpc=$(VENV)/bin/protoc-gen-mypy_grpc \
		--python_out=$(1) --grpc_python_out=$(1) --mypy_out=$(1) --mypy_grpc_out=$(1) \
		$(PROTO_FILES)
	find $(1) -name '*.py*' -exec sed -i -E \
		's/^from (engagement|loyalty)\./from $(2).gen.\1./; s/^import (engagement|loyalty)\./import $(2).gen.\1./' {} +
	find $(1) -type d -exec sh -c 'echo "\"\"\"Code generated from protos/ by make proto; do not edit.\"\"\"" > "$$0/__init__.py"' {} \;
endef

proto: install
	$(call generate,service/gen,service)
	$(call generate,$(CLIENT_GEN),engagement_client)

proto-check: install
	$(call generate,.tools/gen-check,service)
	diff -r service/gen .tools/gen-check >/dev/null || \
		(echo "service/gen is stale: run 'make proto' and commit the result" && exit 1)
	$(call generate,.tools/gen-check-client,engagement_client)
	diff -r $(CLIENT_GEN) .tools/gen-check-client >/dev/null || \
		(echo "$(CLIENT_GEN) is stale: run 'make proto' and commit the result" && exit 1)

$(BUF):
	npm install --silent --prefix .tools @bufbuild/buf@$(BUF_VERSION)

buf-lint: $(BUF)
	cd protos && ../$(BUF) lint

## The contract against the last release's image: a change that would break a caller fails.
buf-breaking: $(BUF)
	cd protos && ../$(BUF) breaking --against released-image.binpb

## On a release: make its contract the one later changes are checked against.
proto-release: $(BUF)
	cd protos && ../$(BUF) build -o released-image.binpb

## Throughput and latency of each scenario beside a no-op RPC; see bench/run.py --help.
## BENCH_WORKERS: server processes (default: one per CPU); above 1 the no-op runs on one first.
bench: install
	$(PY) -m bench.run $(if $(BENCH_WORKERS),--workers $(BENCH_WORKERS)) $(BENCH_ARGS)

## Our leaderboard library beside agoragames' leaderboard 3.7.3; see python -m bench.leaderboard --help.
## The peer's import name is ours too, so it goes to .tools/peer (off sys.path), not the venv.
bench-leaderboard: install
	test -d .tools/peer/leaderboard-3.7.3.dist-info || $(UV) pip install --quiet --python $(PY) \
		--no-deps --target .tools/peer 'leaderboard==3.7.3'
	$(PY) -m bench.leaderboard $(BENCH_LEADERBOARD_ARGS)

## Grants relayed to the loyalty stub per second and delivery lag; see bench/relay.py --help.
bench-relay: install
	$(PY) -m bench.relay $(BENCH_RELAY_ARGS)

## Events per second through the pure rules engine (tasks, badges, levels, boosts, caps) in one
## process, beside a no-op from the same run; see python -m bench.rules --help.
bench-rules: install
	$(PY) -m bench.rules $(BENCH_RULES_ARGS)

## A 10M-member board in Redis (load rate, bytes per member, rank latency beside PING) and the
## finalisation of a 1M-member period in Postgres; see python -m bench.scale --help.
bench-scale: install
	$(PY) -m bench.scale $(BENCH_SCALE_ARGS)

## Everything but the tests: what CI runs before them.
static: lint types buf-lint buf-breaking proto-check

check: static test

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
