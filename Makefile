# Each target sets up what it needs, so any one works alone on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-douyin test lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,postgres,web,bench]"
	touch $(STAMP)

demo: $(STAMP)
	rm -f demo.db
	$(VENV)/bin/aftersales --database-url sqlite:///demo.db demo

# A Douyin-shaped shop (fen amounts, the new kinds, platform deadlines) through the douyin adapter.
demo-douyin: $(STAMP)
	rm -f demo-douyin.db
	$(VENV)/bin/aftersales --database-url sqlite:///demo-douyin.db demo --shape douyin

lint: $(STAMP)
	$(VENV)/bin/ruff check aftersales adapters tests examples benchmarks
	$(VENV)/bin/mypy aftersales adapters

test: lint
	$(PY) -m pytest

bench: $(STAMP)
	for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) demo.db demo-douyin.db aftersales-demo-report.html .pytest_cache .mypy_cache .ruff_cache
