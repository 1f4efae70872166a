# One entry point for users and CI. Needs only Python 3.11, make and bash.
#   make all    install everything (from the lock file) and run the pipeline: only the
#               steps whose inputs changed since the last run (see "The pipeline" below)
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

.PHONY: all pipeline setup test lint lock wheel-test docs clean-outputs

# Parallel jobs of the pipeline (the report's pages run side by side).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# `status` verifies every output against its manifest; it exits 2 when calibration
# targets fail, as `python -m analysis all` does (the reports are built all the same).
all: setup
	$(MAKE) --no-print-directory -j$(JOBS) pipeline
	$(RUN) -m analysis status --processed $(PROCESSED) --estimates $(ESTIMATES) \
		--validation $(VALIDATION) --worldbank $(WORLDBANK_DIR)

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
		analysis.estimate.samples analysis.estimate.mobility_model \
		analysis.estimate.specification analysis.estimate.stage analysis.estimate.steps \
		analysis.errors analysis.config
	test -f docs/_build/api/analysis/estimate.html

# Re-resolve the lock file after changing dependencies in pyproject.toml.
lock: $(UV)
	$(UV) lock --python $(PYTHON)

clean-outputs:
	rm -rf data/processed/* data/delivery data/estimates data/validation data/worldbank \
		data/.settings reports/*

# ----------------------------------------------------------------------------- The pipeline
# A graph of files. Each stage's target is the manifest it writes last, after every other
# output (analysis/output_set.py): the target exists only when the stage's output set is
# whole, and make reruns a stage only when a file it depends on is newer: its input
# stage's manifest, the package code it runs, or its settings. Each report page is its own
# target, so a changed notebook re-executes only its page (and the index).
# Make, not pytask, snakemake or DVC: it is already the entry point, needs nothing more
# installed, runs the pages in parallel (-j) and its graph is this file. It compares
# modification times, not contents: a file saved unchanged counts as changed.
# Every recipe is a `python -m analysis` subcommand, so each step can be run by hand.
# Folders and settings (override on the command line: make all SCALE=2 DATA=/scratch/run;
# SEED empty: the package's default seed):
DATA ?= data
REPORTS ?= reports
PROCESSED ?= $(DATA)/processed
ESTIMATES ?= $(DATA)/estimates
VALIDATION ?= $(DATA)/validation
WORLDBANK_DIR ?= $(DATA)/worldbank
NOTEBOOKS ?= analysis/notebooks
SEED ?=
SCALE ?= 1
# The World Bank-LinkedIn workbook (never committed); without it the worldbank stage
# records why and its page is a note on how to get the file.
WORLDBANK ?= $(or $(WORLDBANK_TALENT_MIGRATION_XLSX),../shared/data/worldbank-linkedin-talent-migration-2015-2019.xlsx)

# DELIVERY=DIR uses a delivery you have (real or synthetic); by default the synthetic
# world writes one into $(DATA)/delivery.
ifdef DELIVERY
DELIVERY_FILES := $(shell find $(DELIVERY) -type f 2>/dev/null)
else
DELIVERY := $(DATA)/delivery
DELIVERY_FILES := $(DELIVERY)/manifest.json
endif

# Settings that are not files are written into files that change only when a setting
# does, so that make sees them.
SETTINGS := $(DATA)/.settings
define setting
$(shell mkdir -p $(SETTINGS) && { echo '$(2)' | cmp -s - $(SETTINGS)/$(1) || echo '$(2)' > $(SETTINGS)/$(1); })$(SETTINGS)/$(1)
endef

# The code each stage runs: its own package folder and the package's shared modules (every
# module at the top of the package but the validate stage's).
code = $(shell find $(1) -type f \( -name '*.py' -o -name '*.toml' -o -name '*.csv' \
	-o -name '*.j2' \) -not -path '*/__pycache__/*')
SHARED_CODE := $(call code,analysis/data) \
	$(filter-out analysis/validate.py,$(wildcard analysis/*.py))
SOURCES_CODE := $(call code,analysis/sources) $(SHARED_CODE)

CLEANED := $(PROCESSED)/manifest.json
ESTIMATED := $(ESTIMATES)/estimates_manifest.json
VALIDATED := $(VALIDATION)/validation_manifest.json
WORLDBANK_DONE := $(WORLDBANK_DIR)/worldbank_manifest.json
NOTEBOOK_FILES := $(sort $(wildcard $(NOTEBOOKS)/*.ipynb))
PAGES := $(patsubst $(NOTEBOOKS)/%.ipynb,$(REPORTS)/html/%.html,$(NOTEBOOK_FILES))
INDEX := $(REPORTS)/index.html

pipeline: $(INDEX)

$(DATA)/delivery/manifest.json: $(SOURCES_CODE) $(call setting,synth,seed=$(SEED) scale=$(SCALE))
	$(RUN) -m analysis synth --out $(DATA)/delivery $(if $(SEED),--seed $(SEED)) --scale $(SCALE)

$(CLEANED): $(DELIVERY_FILES) $(call code,analysis/clean) $(SOURCES_CODE)
	$(RUN) -m analysis inspect --delivery $(DELIVERY)
	$(RUN) -m analysis clean --delivery $(DELIVERY) --out $(PROCESSED)

$(ESTIMATED): $(CLEANED) $(call code,analysis/estimate) $(SOURCES_CODE)
	$(RUN) -m analysis estimate --panel $(PROCESSED) --out $(ESTIMATES)

# exit status 2: calibration targets fail; the table is written and the pipeline goes on
# (`status` above reports it)
$(VALIDATED): $(ESTIMATED) analysis/validate.py $(call code,analysis/realdata) $(SOURCES_CODE)
	$(RUN) -m analysis validate --estimates $(ESTIMATES) --out $(VALIDATION) || test $$? -eq 2

# the real-data analyses: the workbook (when it exists) and their code; the settings file
# records the workbook's path, so naming another file reruns the stage
$(WORLDBANK_DONE): $(wildcard $(WORLDBANK)) $(call setting,worldbank,$(WORLDBANK)) \
		$(call code,analysis/realdata) $(SOURCES_CODE)
	$(RUN) -m analysis worldbank --workbook $(WORLDBANK) --out $(WORLDBANK_DIR)

REPORT_INPUTS := $(CLEANED) $(ESTIMATED) $(VALIDATED) $(call code,analysis/report) \
	$(call code,analysis/realdata) $(call code,analysis/estimate) $(SOURCES_CODE) \
	analysis/validate.py
$(REPORTS)/html/%.html: $(NOTEBOOKS)/%.ipynb $(REPORT_INPUTS)
	$(RUN) -m analysis report --notebook $< --out $(REPORTS) --estimates $(ESTIMATES) \
		--processed $(PROCESSED) --validation $(VALIDATION) --worldbank $(WORLDBANK_DIR)

# the one page that reads the worldbank stage's tables
$(REPORTS)/html/05_world_bank.html: $(WORLDBANK_DONE)

# the settings file holds the list of notebooks: a page added or removed rewrites the index
$(INDEX): $(PAGES) $(call setting,notebooks,$(notdir $(NOTEBOOK_FILES)))
	$(RUN) -m analysis report --index --out $(REPORTS) $(addprefix --notebook ,$(NOTEBOOK_FILES))
