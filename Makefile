# 政务新媒体发布中心 — two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test lint typecheck pytest install translations bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

install: $(BIN)/.installed

## run: the whole hub on the embedded default (SQLite, embedded Redis, simulator, worker, web UI) with demo data
# Ports: make run PORT=6100 (web), WECHAT_PORT=, WEIBO_PORT=, WEBSITE_PORT=, DOUYIN_PORT=, KUAISHOU_PORT= (the simulators).
run: install
	$(BIN)/hub demo $(if $(PORT),--port $(PORT)) $(if $(WECHAT_PORT),--sim-port $(WECHAT_PORT)) \
	  $(if $(WEIBO_PORT),--weibo-port $(WEIBO_PORT)) $(if $(WEBSITE_PORT),--website-port $(WEBSITE_PORT)) \
	  $(if $(DOUYIN_PORT),--douyin-port $(DOUYIN_PORT)) $(if $(KUAISHOU_PORT),--kuaishou-port $(KUAISHOU_PORT))

## test: lint, type-check and the whole test suite
test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check hub adapters review tests bench
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy hub adapters review

# With HUB_TEST_DATABASE_URL (PostgreSQL, as in CI) the audit trail's tests run a second time on the
# embedded default (SQLite): its append and verify paths differ by store.
pytest: install
	$(BIN)/python -m pytest -q
	@if [ -n "$$HUB_TEST_DATABASE_URL" ]; then \
	  echo "tests/audit again on the embedded default (SQLite):"; \
	  env -u HUB_TEST_DATABASE_URL $(BIN)/python -m pytest -q tests/audit; \
	fi

## translations: add new UI strings to the English catalog and compile it (then translate the empty ones)
translations: install
	$(BIN)/python -m hub.i18n extract

bench: install
	$(BIN)/python bench/checks.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
