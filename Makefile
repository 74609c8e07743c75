# SPDX-License-Identifier: Apache-2.0
SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(DESTDIR)$(PREFIX)/bin

.PHONY: all deps build release test bench demo install clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	scripts/bench.sh

demo: release
	scripts/demo.sh

install: release
	install -d $(BINDIR)
	install -m 0755 .build/release/dcf-serverd .build/release/dcf-agent $(BINDIR)/

clean:
	rm -rf .build
