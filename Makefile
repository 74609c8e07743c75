# SPDX-License-Identifier: Apache-2.0
SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
# Units an administrator installs go to /etc/systemd/system; a distribution package would use /usr/lib/systemd/system.
UNITDIR ?= /etc/systemd/system
# Build configuration of the installed binaries; CONFIGURATION=debug skips the slower release build.
CONFIGURATION ?= release
BINDIR = $(DESTDIR)$(PREFIX)/bin
PROGRAMS = dcf-serverd dcf-agent dcfctl

.PHONY: all deps test-deps build release test bench demo install clean

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --tests

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

# The quick subset: loadgen rounds against dcf-serverd, the transport figures and the backend micro-benchmarks.
# BENCH_ARGS go to scripts/bench.sh, for example BENCH_ARGS="--port 19000 --dir /tmp/bench".
bench: release
	scripts/bench.sh $(BENCH_ARGS)
	.build/release/dcf-transport-bench
	.build/release/dcf-microbench --crypto --longpoll --clients loop

# DEMO_ARGS go to scripts/demo.sh, for example DEMO_ARGS="--port 19443 --shards by-class".
demo: release
	scripts/demo.sh $(DEMO_ARGS)

# Installs the binaries, the systemd units (with ExecStart pointing into $(PREFIX)/bin) and the example configs
# as *.conf.example under $(SYSCONFDIR)/dcf, so an existing serverd.conf or agent-NAME.conf is never overwritten.
install:
	for program in $(PROGRAMS); do $(SWIFT) build -c $(CONFIGURATION) --product $$program || exit 1; done
	install -d $(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/dcf
	for program in $(PROGRAMS); do install -m 0755 .build/$(CONFIGURATION)/$$program $(BINDIR)/ || exit 1; done
	for unit in systemd/dcf-serverd.service systemd/dcf-agent@.service; do \
		sed 's|/usr/local/bin/|$(PREFIX)/bin/|g; s|/etc/dcf/|$(SYSCONFDIR)/dcf/|g' $$unit \
			>$(DESTDIR)$(UNITDIR)/$$(basename $$unit) && chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$unit) || exit 1; \
	done
	install -m 0644 config/serverd.conf $(DESTDIR)$(SYSCONFDIR)/dcf/serverd.conf.example
	install -m 0644 config/agent.conf $(DESTDIR)$(SYSCONFDIR)/dcf/agent.conf.example

clean:
	rm -rf .build
