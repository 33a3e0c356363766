# Two entry points: `make demo` (one full local session) and `make test`.
# Each creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20

.PHONY: demo test venv synth clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

demo: venv
	$(PY) -m local run $(ARGS)

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

synth: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npx --yes aws-cdk@2.1148.1 synth -c skip_bundling=true

clean:
	rm -rf $(VENV) cdk.out .pytest_cache
