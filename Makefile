# qgis_noisyseg: `make demo` and `make test` set up everything they need, idempotently.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := qgis python3-qgis qgis-providers python3-gdal gdal-bin xvfb xauth qttools5-dev-tools pyqt5-dev-tools python3-venv
SETUP_STAMP := $(VENV)/.setup-$(shell cat requirements.txt pyproject.toml | sha1sum | cut -c1-12)
export QT_QPA_PLATFORM ?= offscreen
PYTEST_UNIT := $(PY) -m pytest -p no:pytest_qgis --ignore=tests/qgis
PYTEST_QGIS := $(PY) -m pytest tests/qgis

.PHONY: help setup system test test-unit test-qgis demo bench bench-quality package clean

help:
	@echo "make demo    run the main job on the bundled Denmark Sentinel-2 scene (DEMO=quick: a one-minute version)"
	@echo "make test    run the test suite (unit tests, then tests against real QGIS)"
	@echo "make bench   run the benchmarks (prints ratios measured in the same run)"
	@echo "make bench-quality  pretrained + K clean tiles against scratch on five real-scene cases (5 min on the idle 2-core machine)"
	@echo "make package build the installable plugin zip under dist/"
	@echo "make setup   install QGIS (apt) and the backend environment ($(VENV)) only"

system:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  echo "installing QGIS, GDAL and Xvfb from apt (about a minute, once)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

# Debian's python, so that the venv sees python3-qgis through --system-site-packages.
$(SETUP_STAMP): requirements.txt pyproject.toml | system
	@test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.setup-* && touch $@

setup: system $(SETUP_STAMP)

test: setup
	$(PYTEST_UNIT) -q
	$(PYTEST_QGIS) -q

test-unit: setup
	$(PYTEST_UNIT) -q

test-qgis: setup
	$(PYTEST_QGIS) -q

demo: setup
	$(PY) -m qgis_noisyseg demo --out demo_out $(if $(filter quick,$(DEMO)),--quick)

bench: setup
	$(PY) benchmarks/run.py --out bench_out

bench-quality: setup
	$(PY) benchmarks/run.py --out bench_out --only quality

package:
	python3 scripts/package_plugin.py --out dist

clean:
	rm -rf bench_out demo_out build dist *.egg-info

# pylupdate5 into qgis_noisyseg/i18n/*.ts (keeping their translations), then lrelease into the .qm files.
.PHONY: translations
translations: system
	/usr/bin/python3 scripts/update_translations.py
