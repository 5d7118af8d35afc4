# The lab's commands. `make lab` to learn, `make test` to check everything (what CI runs).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PYTHON  ?= $(shell command -v python3.11 || command -v python3 || echo python3.11)
# This machine's pip configuration points at local mirror folders that may not exist; their
# "Location ... is ignored" warnings are noise, not errors.
PIPQUIET := grep -v "is ignored: it is neither a file nor a directory" || true
LAB_ARGS ?=
# Offline by design: no news feed, no update check, no extension manager reaching PyPI.
# Root (containers, CI) needs --allow-root.
LAB_DEFAULTS := --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	--LabApp.extension_manager=readonly $(if $(filter 0,$(shell id -u)),--allow-root)
PYTEST_ARGS ?=


.PHONY: help install fonts lab lab-student lab-zh zh hub test quick unit nbval notebooks data bench student browser clean-venv sync-env

help:
	@echo "make lab        start JupyterLab at this folder on notebooks/00-index.ipynb (sets up .venv first)"
	@echo "make lab-student  the same, opening student/00-index.ipynb (the copies to hand out)"
	@echo "make lab-zh     中文版: JupyterLab in Chinese on notebooks/zh/00-index.ipynb (the Chinese edition)"
	@echo "make zh         rebuild the Chinese edition: notebooks/zh/ from i18n/zh_CN/*.po (executed), student/zh/"
	@echo "make test       run the whole suite: unit tests, strict nbval over every notebook, checks"
	@echo "make quick      run everything not marked slow (pytest -m 'not slow'): unit tests, no nbval, no servers"
	@echo "make install    create or update .venv (does nothing when it is current)"
	@echo "make notebooks  re-execute every notebook in a fresh kernel and store the outputs"
	@echo "make data       regenerate the derived files in data/ and data/manifest.json"
	@echo "make bench      run benchmarks/ and write benchmarks/RESULTS.md"
	@echo "make student    write student copies to student/ (nbgrader generate_assignment: solutions stubbed, outputs cleared)"

install: $(STAMP) $(CJK_FONT)

# The Chinese edition's figures need a CJK font that matplotlib finds offline: Debian's
# fonts-wqy-microhei (pinned; 4 MB, GB 18030 coverage). Installed when missing and possible (root with
# apt-get); otherwise a message (the English edition does not need it), except in CI, where it fails.
# The font file is the target, so `make -q install` stays quiet once it is there.
CJK_FONT ?= /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
CJK_FONT_DEB := fonts-wqy-microhei=0.2.0-beta-3.1
fonts: $(CJK_FONT)
$(CJK_FONT):
	@if [ -f "$(CJK_FONT)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing a CJK font for the Chinese edition's figures (apt-get install $(CJK_FONT_DEB))"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CJK_FONT_DEB) >/dev/null; \
	elif [ "$$CI" = true ]; then \
	  echo "CI needs $(CJK_FONT) for the Chinese edition, and cannot install it (not root, or no apt-get)."; exit 1; \
	else \
	  echo "No CJK font ($(CJK_FONT)): the Chinese edition's figures need one (Debian: apt-get install fonts-wqy-microhei)."; \
	fi

# The venv is rebuilt when any file that defines it changes.
$(STAMP): requirements.txt tff-requirement.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null || { \
	  echo "This lab needs Python 3.11 (TensorFlow Federated 0.87 supports 3.9 to 3.11; TensorFlow 2.14 has no wheels for 3.12)."; \
	  echo "Found: $$($(PYTHON) --version 2>&1 || echo 'no python3.11 on PATH'). Install Python 3.11, then run make again (or: make PYTHON=/path/to/python3.11 ...)."; \
	  exit 1; }
	@test -x $(PY) || { echo "Creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	@echo "Installing the pinned environment into $(VENV) (about a minute; 2.9 GB)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | $(PIPQUIET)
	@# tensorflow-federated 0.87.0 pins jaxlib==0.4.14, which the registry no longer serves, so
	@# `pip install tensorflow-federated` cannot resolve. Its other dependencies are pinned in
	@# requirements.txt (jaxlib 0.4.13 runs jax 0.4.14); TFF itself goes in without resolution.
	@# `pip check` then reports TFF's jaxlib and typing-extensions pins as unmet: expected.
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r tff-requirement.txt 2>&1 | $(PIPQUIET)
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . 2>&1 | $(PIPQUIET)
	@$(PY) -c 'import labkit, tensorflow_federated' 2>/dev/null || { echo "The install finished but labkit or TFF does not import; see the messages above."; exit 1; }
	@touch $(STAMP)
	@echo "$(VENV) is ready."

# JupyterLab is rooted at the project folder, so notebooks/ (instructor, with solutions) and student/
# (the copies to hand out) are both in its file browser; LAB_OPEN picks the notebook it opens.
LAB_OPEN ?= notebooks/00-index.ipynb
lab: install
	@port=$${LAB_PORT:-$$($(PY) -c 'import socket, portpicker; s = socket.socket(); ok = s.connect_ex(("127.0.0.1", 8888)) != 0; s.close(); print(8888 if ok else portpicker.pick_unused_port())')}; \
	token=$$($(PY) -c 'import secrets; print(secrets.token_hex(24))'); \
	echo "Starting JupyterLab on $(LAB_OPEN) (root: this folder, so notebooks/ and student/ are both there)."; \
	echo "Open this URL (Ctrl-C twice stops the server):"; \
	echo "    http://localhost:$$port/lab/tree/$(LAB_OPEN)?token=$$token"; \
	exec $(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/$(LAB_OPEN) \
	  --ServerApp.port=$$port --ServerApp.port_retries=0 \
	  --IdentityProvider.token=$$token $(LAB_DEFAULTS) $(LAB_ARGS)

# The same, opening the student copies (solutions stubbed): what a learner should start from.
lab-student:
	@$(MAKE) --no-print-directory lab LAB_OPEN=student/00-index.ipynb

# 中文版: the Chinese edition with JupyterLab's interface in Chinese (jupyterlab-language-pack-zh-CN).
# The interface language is a JupyterLab setting; this target keeps its own settings folder (in .venv)
# holding locale zh_CN, so `make lab` stays English. labkit speaks Chinese in notebooks/zh by itself.
LAB_ZH_SETTINGS := $(VENV)/lab-zh-settings
lab-zh: install
	@mkdir -p "$(LAB_ZH_SETTINGS)/@jupyterlab/translation-extension"
	@test -f "$(LAB_ZH_SETTINGS)/@jupyterlab/translation-extension/plugin.jupyterlab-settings" || \
	  echo '{"locale": "zh_CN"}' > "$(LAB_ZH_SETTINGS)/@jupyterlab/translation-extension/plugin.jupyterlab-settings"
	@JUPYTERLAB_SETTINGS_DIR="$(CURDIR)/$(LAB_ZH_SETTINGS)" $(MAKE) --no-print-directory lab LAB_OPEN=notebooks/zh/00-index.ipynb

test: install browser hub
	$(PY) -m pytest $(PYTEST_ARGS)

# The classroom test (tests/test_hub.py) starts a real JupyterHub, which needs configurable-http-proxy
# (Node.js, from the npm registry), pinned by hub/package-lock.json and installed into hub/node_modules.
# Node and npm come from the machine (Debian's nodejs and npm packages; installed here when root).
CHP := hub/node_modules/.bin/configurable-http-proxy
hub: $(CHP)
$(CHP): hub/package.json hub/package-lock.json
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Node.js and npm for the JupyterHub test (apt-get install nodejs npm)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else \
	    echo "The JupyterHub test needs Node.js and npm (Debian: apt-get install nodejs npm)."; exit 1; \
	  fi; \
	fi
	@echo "Installing configurable-http-proxy (hub/package-lock.json) for the JupyterHub test"
	@cd hub && npm ci --no-audit --no-fund --loglevel=error
	@touch $(CHP)

# The browser test (tests/test_browser.py) drives Debian's Chromium with Playwright
# (`playwright install` cannot download its own browser here). Installed when missing and possible
# (root with apt-get); otherwise the test skips with a message, except in CI (CI=true), where it fails.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Chromium for the browser test (apt-get install chromium)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif [ "$$CI" = true ]; then \
	  echo "CI needs $(CHROMIUM) for the browser test, and cannot install it (not root, or no apt-get)."; exit 1; \
	else \
	  echo "No $(CHROMIUM): the browser test will be skipped (install Debian's chromium package to run it)."; \
	fi

# Everything not marked slow: the unit tests without subprocesses, servers or TFF. nbval cells count
# as slow (tests/conftest.py marks them), so no notebook runs; `make test` runs them all.
quick: install
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

unit: install
	$(PY) -m pytest tests $(PYTEST_ARGS)

nbval: install
	$(PY) -m pytest notebooks $(PYTEST_ARGS)

# Student copies are generated from the executed notebooks, so they never go stale.
notebooks: install
	$(PY) -m tools.notebooks execute notebooks/*.ipynb
	$(PY) -m tools.student --source notebooks --out student
	@$(MAKE) --no-print-directory zh

# The Chinese edition, generated from the English notebooks and the catalogues i18n/zh_CN/NN-slug.po
# (tools/i18n.py): translated markdown, identical code, executed in a fresh kernel; then its student copies.
# After editing English prose: `python -m tools.i18n update notebooks/*.ipynb`, translate, then `make zh`.
zh: install
	$(PY) -m tools.i18n build notebooks/*.ipynb
	$(PY) -m tools.student --source notebooks/zh --out student/zh

data: install
	$(PY) -m tools.build_data

bench: install
	$(PY) -m benchmarks

# Student copies: nbgrader generate_assignment on a temporary course, one assignment per notebook
# (solutions stubbed, hidden tests removed, outputs and widget state cleared; tools/student.py, tools/classroom.py).
student: install
	$(PY) -m tools.student --source notebooks --out student
	$(PY) -m tools.student --source notebooks/zh --out student/zh

# environment.yml repeats requirements.txt for Binder/conda; regenerate it after changing a pin.
sync-env:
	@sed -n '1,/^      - /{/^      - /!p}' environment.yml > environment.yml.new
	@grep -E '^[A-Za-z]' requirements.txt | sed -E 's/[[:space:]]*#.*//; s/^/      - /' >> environment.yml.new
	@mv environment.yml.new environment.yml && echo "environment.yml now repeats requirements.txt"

clean-venv:
	rm -rf $(VENV)
