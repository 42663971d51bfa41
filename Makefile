# The two commands (see README): `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
DB     ?= data/kpi.sqlite
NODE_DIR := build/node

.PHONY: run test install install-dev demo browser-deps bench clean

run: install $(DB)                       ## build everything, then serve the dashboard on the demo store
	KPI_DEMO_MODE=true KPI_AUTH_MODE=local $(PY) -m kpi_cli serve --port $(PORT) --db $(DB)

test: install-dev browser-deps           ## install dev dependencies and run the whole suite
	$(PY) -m pytest

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(DB): | $(VENV)/.installed
	$(PY) -m kpi_cli demo --db $(DB)

demo: install                            ## rebuild the demo store from scratch
	$(PY) -m kpi_cli demo --db $(DB) --replace

# axe-core (accessibility rules) comes from the npm registry; Chromium is Debian's (see .ci/run).
browser-deps: $(NODE_DIR)/node_modules/axe-core/axe.min.js
$(NODE_DIR)/node_modules/axe-core/axe.min.js:
	mkdir -p $(NODE_DIR)
	cd $(NODE_DIR) && ( [ -f package.json ] || echo '{"private": true}' > package.json ) && npm install --silent --no-audit --no-fund axe-core@4

bench: install-dev                       ## print the performance figures
	$(PY) bench/bench_ingest.py

clean:
	rm -rf $(VENV) build *.egg-info
