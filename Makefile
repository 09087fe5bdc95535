# Two commands on a fresh Debian / Raspberry Pi OS machine: `make run`, `make test`.
# Everything they need is installed by `make setup` from this repository's own files.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-stamp
MPDIR  := tests/micropython
# System packages: broker for the MQTT tests, gpsd's decoder for the NMEA benchmark,
# a CJK font for the display and receipts, node/npm for MicroPython (WebAssembly),
# SoftHSM: the PKCS#11 token holding the device key in the tests.
APT_PACKAGES := mosquitto gpsd-clients fonts-wqy-microhei nodejs npm python3-venv softhsm2

.PHONY: setup run test bench lint clean docs-images

setup: $(STAMP)

$(STAMP): pyproject.toml $(MPDIR)/package.json Makefile
	@missing=""; for p in $(APT_PACKAGES); do \
	  if [ "$$p" = nodejs ] && command -v node >/dev/null && command -v npm >/dev/null; then continue; fi; \
	  if [ "$$p" = npm ] && command -v npm >/dev/null; then continue; fi; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	cd $(MPDIR) && npm install --no-audit --no-fund --silent
	touch $(STAMP)

run: setup
	$(BIN)/python -m sim.demo

test: setup
	$(BIN)/python -m pytest -q
	node $(MPDIR)/run.mjs

bench: setup
	$(BIN)/python -m bench $(if $(BENCH),--only $(BENCH))

lint: setup
	$(BIN)/ruff check .

docs-images: setup
	$(BIN)/python -m sim.docs_images

clean:
	rm -rf $(VENV) $(MPDIR)/node_modules bench/results.json

# The Debian package (docs/install-pi.md): `make deb` builds out/taxiterm_VERSION-1_all.deb with
# dpkg-deb and checks it with lintian; `make deb-check` (root) builds, installs, runs, updates
# A/B and purges it on this machine (packaging/ci-check.sh). deb-setup installs Debian's tools
# and the Debian packages the .deb depends on (its Depends line in packaging/build-deb.sh).
DEB_TOOLS := dpkg-dev fakeroot lintian
DEB_DEPENDS := python3 adduser init-system-helpers python3-serial python3-usb python3-qrcode python3-pil \
  python3-cryptography python3-jsonschema python3-smbus2 python3-spidev python3-cbor2 python3-six python3-yaml \
  python3-appdirs python3-colorzero

.PHONY: deb deb-setup deb-check

deb-setup:
	@missing=""; for p in $(DEB_TOOLS) $(DEB_DEPENDS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deb-setup: installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

deb: setup deb-setup
	PYTHON=$(BIN)/python sh packaging/build-deb.sh out

deb-check: setup deb-setup
	PYTHON=$(BIN)/python bash packaging/ci-check.sh
