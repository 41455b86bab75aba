# The two set-up commands of the README:
#   make demo   installs mimir and runs its main job on the embedded defaults
#   make test   installs mimir with its test tools and runs the whole test suite
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test install install-test system-deps lint typecheck

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests use for real services: PostgreSQL, a browser, a PACS (Orthanc with its
# DICOMweb plug-in) and a DICOM validator (dciodvfy from dicom3tools). The tests start their own
# Orthanc on a free port; the system service the package may install is never used.
system-deps:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	   || ! command -v chromium >/dev/null 2>&1 || ! command -v Orthanc >/dev/null 2>&1 \
	   || ! ls /usr/share/orthanc/plugins/libOrthancDicomWeb.so* >/dev/null 2>&1 \
	   || ! command -v dciodvfy >/dev/null 2>&1; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql chromium \
	    orthanc orthanc-dicomweb dicom3tools; \
	fi

demo: install
	$(BIN)/mimir demo quickstart

lint: install
	$(BIN)/ruff check mimir agent tools memory prompts evals app results tests benchmarks
	$(BIN)/mypy mimir agent tools memory evals app results

test: install system-deps lint
	$(BIN)/python -m pytest -m "not gpu" -p no:cacheprovider
