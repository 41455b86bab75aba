# The two set-up commands of the README:
#   make demo   installs mimir and runs its main job on the embedded defaults
#   make test   installs mimir with its test tools and the vLLM environment, and runs the whole test suite
#   make fingerprints  re-fits the out-of-distribution fingerprint (and a classifier's temperature) of every
#                      shipped expert on demo patients of seed 61001; run it after any expert gets new weights
#   make base-check  installs mimir without extras into .venv-base and runs `mimir eval` and `mimir ask` there
#   make vllm-smoke  builds the separate vLLM environment, serves each architecture and checks it with
#                    `mimir vlm check --json` (one JSON line per architecture)
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

# vLLM (CPU build) lives in its own environment: it pins its own torch. Wheels are kept in a cache
# outside the clone (pip's HTTP cache does not keep the registry's files), so rebuilding is local.
VLLM_VENV ?= .venv-vllm
VLLM_LOCK := vllm-plugin/requirements-cpu.txt
VLLM_WHEELS ?= $(HOME)/.cache/mimir/vllm-wheels
VLLM_STAMP := $(VLLM_VENV)/.installed-$(shell cat $(VLLM_LOCK) vllm-plugin/pyproject.toml | sha1sum | cut -c1-12)
# --isolated: the public index only (vLLM's requirements must not pick up this machine's local torch).
VLLM_PIP := nice -n 10 $(VLLM_VENV)/bin/pip --isolated -q
# The vLLM tests must run wherever the suite runs: without .venv-vllm they fail instead of skipping.
REQUIRE_VLLM := MIMIR_REQUIRE_VLLM=1

# The review screen's image viewer (NiiVue) comes from the npm registry, pinned by app/web/package-lock.json.
VIEWER_STAMP := app/web/node_modules/.installed-$(shell cat app/web/package-lock.json | sha1sum | cut -c1-12)

.PHONY: demo test install install-test system-deps lint typecheck vllm-env vllm-smoke viewer fingerprints base-check base-check-first

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel

# -q: pip's own progress and the build back-end's banners stay off the screen; errors still show.
# every extra (mimir[all]: the review UI, Ray, PostgreSQL, TotalSegmentator, ...): the demo and the tests use them all
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[all,test]"
	touch $(STAMP)

install: $(STAMP) viewer

$(VIEWER_STAMP): app/web/package.json app/web/package-lock.json
	npm ci --prefix app/web --no-audit --no-fund --loglevel=error
	touch $(VIEWER_STAMP)

viewer: $(VIEWER_STAMP)

# Debian packages the tests use for real services: PostgreSQL, a browser, a PACS (Orthanc with its
# DICOMweb plug-in) and a DICOM validator (dciodvfy from dicom3tools). The tests start their own
# Orthanc on a free port; the system service the package may install is never used. Only what is
# missing is installed: NodeSource's nodejs carries its own npm, which Debian's npm conflicts with.
system-deps:
	@pkgs=""; \
	command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || pkgs="$$pkgs postgresql"; \
	command -v chromium >/dev/null 2>&1 || pkgs="$$pkgs chromium"; \
	command -v Orthanc >/dev/null 2>&1 || pkgs="$$pkgs orthanc"; \
	ls /usr/share/orthanc/plugins/libOrthancDicomWeb.so* >/dev/null 2>&1 || pkgs="$$pkgs orthanc-dicomweb"; \
	command -v dciodvfy >/dev/null 2>&1 || pkgs="$$pkgs dicom3tools"; \
	command -v npm >/dev/null 2>&1 || pkgs="$$pkgs npm"; \
	if [ -n "$$pkgs" ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$pkgs; \
	fi

$(VLLM_STAMP): $(VLLM_LOCK) vllm-plugin/pyproject.toml
	rm -rf $(VLLM_VENV) && $(PY) -m venv $(VLLM_VENV) && mkdir -p $(VLLM_WHEELS)
	$(VLLM_PIP) install --no-deps --no-index --find-links $(VLLM_WHEELS) -r $(VLLM_LOCK) \
	  || { $(VLLM_PIP) download --no-deps -d $(VLLM_WHEELS) -r $(VLLM_LOCK) \
	       && $(VLLM_PIP) install --no-deps --no-index --find-links $(VLLM_WHEELS) -r $(VLLM_LOCK); }
	$(VLLM_PIP) install --no-deps --no-build-isolation -e vllm-plugin
	touch $(VLLM_STAMP)

vllm-env: $(VLLM_STAMP)

vllm-smoke: install vllm-env
	$(REQUIRE_VLLM) $(BIN)/python -m pytest -p no:cacheprovider -q -s tests/test_vlm_vllm_serve.py -k vlm_check

demo: install
	$(BIN)/mimir demo quickstart

# One expert: mimir experts fingerprint NAME --demo-seed 61001 (writes models/fingerprint.json and the card's section).
fingerprints: install
	nice -n 10 $(BIN)/mimir experts fingerprint --all --demo-seed 61001

# mypy cannot follow the package-dir mapping of the editable install: build/typing/mimir lays the
# packages out as they install (symlinks), so imports between them are checked instead of being Any.
lint: install
	$(BIN)/ruff check mimir agent tools memory prompts evals app results tests benchmarks vllm-plugin
	rm -rf build/typing && mkdir -p build/typing/mimir
	for f in mimir/*; do ln -s ../../../$$f build/typing/mimir/; done
	for d in agent tools memory prompts evals app results; do ln -s ../../../$$d build/typing/mimir/$$d; done
	MYPYPATH=build/typing $(BIN)/mypy -p mimir
	MYPYPATH=build/typing $(BIN)/mypy benchmarks

# `pip install .` alone (no extras) in .venv-base, then `mimir eval --suite medmim --runner chance` and
# `mimir ask` on demo patients there: about 6 minutes on a fresh clone (the install), under 1 minute after.
base-check:
	nice -n 10 .ci/base-install $(VENV)-base

# `make test` runs the base check first, in .venv-base when `make base-check` has built it and otherwise in a
# temporary environment removed when it ends: on a fresh clone the base install's own torch (about 5.5 GB)
# is gone before the full and the vLLM environments are installed.
base-check-first:
	nice -n 10 .ci/base-install --if-built $(VENV)-base

test: system-deps base-check-first install lint vllm-env
	$(REQUIRE_VLLM) $(BIN)/python -m pytest -m "not gpu" -p no:cacheprovider
