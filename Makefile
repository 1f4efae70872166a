# One entry point for users and CI. Needs only Python 3.11, make and bash.
#   make all    install everything (from the lock file) and run the main job
#   make test   install everything and run the linters and the tests
#   make wheel-test   build the wheel, test it installed in Python 3.12 and 3.13
#   make docs         the API reference from the docstrings (docs/_build/api/)
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: all setup test lint lock wheel-test docs clean-outputs

all: setup
	$(RUN) -m analysis all

# uv lives in its own small venv so that syncing the project venv never removes it.
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Install exactly what uv.lock pins (the dev extra holds the test tools). CI adds the
# spark extra (pyspark; needs Java 17) with EXTRAS="dev spark" to run the engine test.
EXTRAS ?= dev
empty :=
space := $(empty) $(empty)
SYNCED := $(VENV)/.synced-$(subst $(space),-,$(strip $(EXTRAS)))

$(SYNCED): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen $(foreach extra,$(EXTRAS),--extra $(extra)) --python $(PYTHON)
	touch $@

setup: $(SYNCED)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(VENV)/bin/pytest -q

# Build the wheel and test it pip-installed outside the repository in fresh Python 3.12 and
# 3.13 environments (.ci/wheel_test.py says what it checks). A missing interpreter is
# skipped, but fails with CI=true or REQUIRE_WHEEL_PYTHONS=1; $PYTHON312 and $PYTHON313
# name interpreters that pyenv does not know.
wheel-test: setup
	$(RUN) .ci/wheel_test.py --uv $(UV)

# The API reference, generated from the docstrings into docs/_build/api/ (not committed);
# a module that does not import, or a docstring pdoc cannot render, fails the build.
docs: setup
	rm -rf docs/_build/api
	$(VENV)/bin/pdoc --docformat numpy --no-show-source -o docs/_build/api \
		analysis.estimate analysis.estimate.results analysis.estimate.checks \
		analysis.estimate.samples analysis.estimate.mobility_model analysis.estimate.stage \
		analysis.errors analysis.config
	test -f docs/_build/api/analysis/estimate.html

# Re-resolve the lock file after changing dependencies in pyproject.toml.
lock: $(UV)
	$(UV) lock --python $(PYTHON)

clean-outputs:
	rm -rf data/processed/* data/delivery data/estimates
