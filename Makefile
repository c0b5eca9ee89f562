# mod_wsgi_rs -- build, install, run and test on Debian 12.
#
#   make run     install what is missing, build, serve the conf.d example on 127.0.0.1:8000
#   make test    install what is missing, build, run unit and integration tests
#   make bench   install what is missing, build, benchmark against mod_wsgi 6 (bench/)
#
# Every target first installs missing Debian packages (as root; `apt-get
# update` only when something is missing). cargo comes from rustup
# (~/.cargo/bin) and is not installed here.

SHELL         := /bin/bash
.DEFAULT_GOAL := build

VENV          ?= /opt/mod_wsgi_rs/venv
PORT          ?= 8000
RUN_DIR       ?= /tmp/mod_wsgi_rs-run
PYTEST_ARGS   ?= -v
BENCH_ARGS    ?=
SYSTEM_PYTHON := /usr/bin/python3
# The Python the module embeds (make build PYTHON=/opt/python3.12/bin/python3): any CPython
# 3.10+ with a shared libpython that Apache's workers can read. Debian's by default.
PYTHON        ?= $(SYSTEM_PYTHON)
PYVER         := $(shell $(PYTHON) -c 'import sys; print("%d%d" % sys.version_info[:2])' 2>/dev/null)
ifeq ($(PYTHON),$(SYSTEM_PYTHON))
SO            := target/release/libmod_wsgi_rs.so
else
# Its own target dir and file name, so modules for several Pythons sit side by side.
SO            := target/py$(PYVER)/mod_wsgi_rs-py$(PYVER).so
endif
# gdb: the test harness reads a crashed child's core to tell Apache's own
# hard-stop race from a crash in our module (tests/harness/cores.py).
APT_PACKAGES  := apache2 apache2-dev libclang-dev python3-dev python3-venv wrk curl gdb \
                 build-essential pkg-config
VENV_STAMP    := $(VENV)/.mod_wsgi_rs-requirements.stamp

export PATH := $(HOME)/.cargo/bin:$(PATH)
# The module is built against $(PYTHON) (Debian's unless PYTHON= says otherwise).
export PYO3_PYTHON := $(PYTHON)

ifeq ($(shell id -u),0)
SUDO :=
else
SUDO := sudo
endif

LIBEXECDIR = $(shell apxs -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)

.PHONY: deps venv venv-check build check-so check-so-other install run test unit integration bench bench-pergil reliability clean help

help:
	@echo "make deps     install missing Debian packages"
	@echo "make venv     virtualenv $(VENV) from $(SYSTEM_PYTHON) with tests/requirements.txt"
	@echo "make build    cargo build --release -> $(SO)"
	@echo "make install  copy the module to $(LIBEXECDIR) and wsgi_rs.{load,conf} to mods-available"
	@echo "make run      serve the conf.d example on 127.0.0.1:$(PORT) (Ctrl-C stops)"
	@echo "make test     unit tests (cargo test) and integration tests (pytest, real Apache)"
	@echo "make bench    A/B benchmark against mod_wsgi 6 -> bench/results.md (BENCH_ARGS=--quick)"
	@echo "make reliability  faults under load, soak, raw-HTTP fuzz; prints figures"

# --------------------------------------------------------------------- deps
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing packages:$$missing"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(APT_PACKAGES); \
	fi

# --------------------------------------------------------------------- venv
# Apache's children (www-data) use the venv as WSGIPythonHome: it must be made
# from /usr/bin/python3 (the Python the module links) and be world-readable.
venv: deps venv-check
	@$(MAKE) --no-print-directory $(VENV_STAMP)

venv-check:
	@if [ -e "$(VENV)/bin/python" ] && \
	    [ "$$($(VENV)/bin/python -c 'import sys; print(sys.base_prefix)' 2>/dev/null)" != "/usr" ]; then \
	  echo "$(VENV) was not made from $(SYSTEM_PYTHON); recreating it"; \
	  rm -rf "$(VENV)"; \
	fi

$(VENV_STAMP): tests/requirements.txt
	@test -x "$(VENV)/bin/python" || { \
	  echo "Creating $(VENV)"; \
	  mkdir -p "$(dir $(VENV))" && $(SYSTEM_PYTHON) -m venv "$(VENV)"; }
	PATH=/usr/sbin:/usr/bin:/sbin:/bin "$(VENV)/bin/python" -m pip install --disable-pip-version-check -q \
	  --use-pep517 --no-binary mod_wsgi --no-cache-dir -r tests/requirements.txt
	chmod -R a+rX "$(VENV)"
	chmod a+rx "$(dir $(VENV))"
	@touch "$@"

# -------------------------------------------------------------------- build
build: deps
	@command -v cargo >/dev/null || { echo "cargo not found (install rustup: https://rustup.rs)"; exit 1; }
ifeq ($(PYTHON),$(SYSTEM_PYTHON))
	PYO3_PYTHON=$(SYSTEM_PYTHON) cargo build --release
	@$(MAKE) --no-print-directory check-so
else
	@test -n "$(PYVER)" || { echo "$(PYTHON) does not run"; exit 1; }
	PYO3_PYTHON=$(PYTHON) CARGO_TARGET_DIR=target/py$(PYVER) cargo build --release
	cp target/py$(PYVER)/release/libmod_wsgi_rs.so $(SO)
	@$(MAKE) --no-print-directory check-so-other PYTHON=$(PYTHON)
endif

# Another Python: the module links its libpython, resolved where www-data can read it.
check-so-other:
	@lib="$$(ldd $(SO) | awk '/libpython3/ {print $$3}')"; \
	test -n "$$lib" || { echo "$(SO) does not link a libpython"; exit 1; }; \
	runuser -u www-data -- test -r "$$lib" || { echo "$(SO) resolves libpython to '$$lib', which www-data cannot read"; exit 1; }; \
	echo "$(SO): embeds Python $$($(PYTHON) -c 'import sys; print(sys.version.split()[0])') ($$lib)"

# The module must link Debian's libpython (from /usr/lib or /lib, which www-data
# can read), with no RPATH/RUNPATH pointing into a developer's private Python.
check-so:
	@test -f $(SO) || { echo "$(SO) is missing"; exit 1; }
	@dyn="$$(readelf -d $(SO))"; \
	echo "$$dyn" | grep -q 'Shared library: \[libpython3\.11\.so\.1\.0\]' \
	  || { echo "$(SO) does not link libpython3.11.so.1.0:"; echo "$$dyn" | grep NEEDED; exit 1; }; \
	if echo "$$dyn" | grep -E 'RPATH|RUNPATH'; then \
	  echo "$(SO) carries a library search path (see above); build with PYO3_PYTHON=$(SYSTEM_PYTHON)"; exit 1; fi; \
	lib="$$(ldd $(SO) | awk '/libpython3\.11\.so\.1\.0/ {print $$3}')"; \
	case "$$lib" in /usr/lib/*|/lib/*) ;; *) echo "$(SO) resolves libpython to '$$lib', not Debian's"; exit 1;; esac; \
	echo "$(SO): links Debian's libpython3.11.so.1.0 ($$lib)"

# ------------------------------------------------------------------ install
install: deps build
	install -d "$(DESTDIR)$(LIBEXECDIR)" "$(DESTDIR)/etc/apache2/mods-available"
	install -m 644 $(SO) "$(DESTDIR)$(LIBEXECDIR)/mod_wsgi_rs.so"
	sed 's|/usr/lib/apache2/modules/|$(LIBEXECDIR)/|' conf.d/debian/wsgi_rs.load \
	  > "$(DESTDIR)/etc/apache2/mods-available/wsgi_rs.load"
	install -m 644 conf.d/debian/wsgi_rs.conf "$(DESTDIR)/etc/apache2/mods-available/wsgi_rs.conf"
	chmod 644 "$(DESTDIR)/etc/apache2/mods-available/wsgi_rs.load"
	@echo "Installed. Enable with: a2enmod wsgi_rs && systemctl restart apache2"

# ---------------------------------------------------------------------- run
# The conf.d example through mod_wsgi_rs-express, as a user would run it: the web app at /,
# the REST API at /api/v1 (an --include-file, which comes before the app's mount), two
# daemon processes of five threads, reloading on changes. The apps are copied to $(RUN_DIR)
# (readable by www-data); the runner's ServerRoot is $(RUN_DIR)/server.
RUN_MARK := $(RUN_DIR)/.mod_wsgi_rs-runtime
run: deps venv build
	@if [ -e "$(RUN_DIR)" ] && [ ! -e "$(RUN_MARK)" ]; then \
	  echo "$(RUN_DIR) exists and was not made by make run; choose another RUN_DIR"; exit 1; fi
	@rm -rf "$(RUN_DIR)" && mkdir -p "$(RUN_DIR)" && touch "$(RUN_MARK)"
	@cp -a conf.d/example "$(RUN_DIR)/example"
	@printf '%s\n' 'WSGIScriptAlias /api/v1 $(RUN_DIR)/example/wsgi/rest_api.wsgi' \
	  '<Directory $(RUN_DIR)/example/wsgi>' '    Require all granted' '</Directory>' > "$(RUN_DIR)/api.conf"
	@chmod -R a+rX "$(RUN_DIR)"
	PYTHONPATH=express MOD_WSGI_RS_SO=$(SO) "$(VENV)/bin/python" -m mod_wsgi_rs start-server \
	  "$(RUN_DIR)/example/wsgi/web_app.wsgi" --include-file "$(RUN_DIR)/api.conf" \
	  --host 127.0.0.1 --port $(PORT) --processes 2 --threads 5 --reload-on-changes \
	  --server-root "$(RUN_DIR)/server" --log-to-terminal --access-log

# --------------------------------------------------------------------- test
test: deps venv build
	PYO3_PYTHON=$(SYSTEM_PYTHON) cargo test --release --lib
	"$(VENV)/bin/python" -m pytest $(PYTEST_ARGS) tests/

unit: deps
	PYO3_PYTHON=$(SYSTEM_PYTHON) cargo test --release --lib

# Integration tests only, against the already built module
# (e.g. make integration PYTEST_ARGS="-x -q -k environ").
integration: deps venv
	"$(VENV)/bin/python" -m pytest $(PYTEST_ARGS) tests/

# -------------------------------------------------------------------- bench
# Installs mod_wsgi 6 from PyPI into its own venv (bench/run.py, idempotent),
# then interleaved A/B rounds with wrk; writes bench/results.{md,png,json}.
bench: deps venv build
	$(SYSTEM_PYTHON) bench/run.py $(BENCH_ARGS)

# WSGIPerInterpreterGIL On vs Off, ours and mod_wsgi 6 built against the same CPython 3.12+
# (from pyenv); writes bench/results-pergil.md. PERGIL_ARGS="--python 3.13" for another.
PERGIL_ARGS ?=
bench-pergil: deps venv
	"$(VENV)/bin/python" bench/pergil.py $(PERGIL_ARGS)

# -------------------------------------------------------------- reliability
# Faults under load, a 5-minute soak and a raw-HTTP fuzzer against a live server; prints
# figures (bench/reliability.py --help). RELIABILITY_ARGS="fuzz --seconds 30" for one part.
RELIABILITY_ARGS ?=
reliability: deps venv build
	"$(VENV)/bin/python" bench/reliability.py $(RELIABILITY_ARGS)

clean:
	cargo clean
	rm -rf tests/.pytest_cache tests/__pycache__ tests/harness/__pycache__
