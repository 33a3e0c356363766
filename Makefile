# Two entry points: `make demo` (one full local session) and `make test`.
# Each creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20

.PHONY: demo test check venv paths synth clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(MAKE) --no-print-directory paths
	touch $@

# The layer and the project on the venv's path (as Lambda has /opt/python), so bare
# tools (lint-imports, python -c "import tvreport") find them without PYTHONPATH.
paths:
	$(PY) -c "import pathlib, site; pathlib.Path(site.getsitepackages()[0], 'tvreport-project.pth').write_text('$(CURDIR)/layers/shared/python\n$(CURDIR)\n')"

demo: venv
	$(PY) -m local run $(ARGS)

# Lint, import order, types and the layering contracts; `test` runs them first,
# so either failing fails `make test` (and CI). Fast tier: make test PYTEST_ARGS=tests/unit
check: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	PYTHONPATH=layers/shared/python:. $(VENV)/bin/lint-imports

test: venv check
	$(PY) -m pytest $(PYTEST_ARGS)

synth: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npx --yes aws-cdk@2.1148.1 synth -c skip_bundling=true

clean:
	rm -rf $(VENV) cdk.out .pytest_cache
