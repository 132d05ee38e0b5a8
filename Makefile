# SPDX-License-Identifier: ISC
#
# hookd: one non-recursive GNU Makefile (STYLE.md B12).
#
#   make                 build build/bin/hookd and build/bin/deployer
#   make check           install deps, then every test (unit under ASan+UBSan,
#                        integration, fuzz smoke)
#   make unit            build and run the cmocka unit tests in $(BUILD)
#   make integration     run the pytest integration tests against $(BUILD)
#   make asan            build everything with ASan+UBSan in build/asan
#   make fuzz            build the libFuzzer targets (clang) in build/fuzz
#   make fuzz-smoke      run each fuzz target for FUZZ_SECS (5) seconds
#   make demo            install deps, build, run the demo
#   make install         PREFIX, DESTDIR honoured
#
# BUILD selects the output directory (default build/); sanitizer builds use
# their own, so objects of different flavours never mix.  V=1 shows commands.

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc
UNITDIR		?= /usr/lib/systemd/system
DESTDIR		?=

BUILD		?= build
ifeq ($(BUILD),build/asan)
SAN		?= 1
endif
CC		?= cc
PKG_CONFIG	?= pkg-config
PYTHON		?= /usr/bin/python3

PKGS		 = libcurl jansson yaml-0.1 libsystemd libcrypto libarchive \
		   libxml-2.0 libacl
CFLAGS		?= -O2 -g
WARN		 = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
		   -Wmissing-declarations -Wshadow -Wpointer-arith -Wcast-qual \
		   -Wwrite-strings -Wformat=2 -Wvla -Wold-style-definition \
		   -fno-common -Wno-unused-parameter
ifneq ($(DEVELOPER)$(CI),)
WARN		+= -Werror
endif
HARDEN		 = -fstack-protector-strong -fPIE
ifeq ($(SAN),)
HARDEN		+= -D_FORTIFY_SOURCE=2
SANFLAGS	 =
else
SANFLAGS	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=undefined
endif
PKG_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS	:= $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

ALL_CFLAGS	 = -std=gnu11 $(WARN) $(HARDEN) $(SANFLAGS) -Ilib -I$(BUILD)/gen \
		   $(PKG_CFLAGS) -MMD -MP $(CFLAGS) $(EXTRA_CFLAGS)
ALL_LDFLAGS	 = -pie -Wl,-z,relro,-z,now $(SANFLAGS) $(LDFLAGS)
LIBS		 = $(PKG_LIBS)

ifeq ($(V),)
Q_CC		 = @echo "  CC      $@";
Q_LD		 = @echo "  LD      $@";
Q_AR		 = @echo "  AR      $@";
Q_GEN		 = @echo "  GEN     $@";
endif

# One line per source file, so parallel work on modules merges cleanly.
LIB_SRCS	 =
LIB_SRCS	+= lib/appspec.c
LIB_SRCS	+= lib/appspec_perm.c
LIB_SRCS	+= lib/aws/asg.c
LIB_SRCS	+= lib/aws/query.c
LIB_SRCS	+= lib/aws/s3.c
LIB_SRCS	+= lib/aws/client.c
LIB_SRCS	+= lib/aws/creds.c
LIB_SRCS	+= lib/aws/imds.c
LIB_SRCS	+= lib/aws/sigv4.c
LIB_SRCS	+= lib/aws/xml.c
LIB_SRCS	+= lib/aws/sqs.c
LIB_SRCS	+= lib/buf.c
LIB_SRCS	+= lib/bundle.c
LIB_SRCS	+= lib/bundle_zip.c
LIB_SRCS	+= lib/compat.c
LIB_SRCS	+= lib/config.c
LIB_SRCS	+= lib/deploylog.c
LIB_SRCS	+= lib/errbuf.c
LIB_SRCS	+= lib/git.c
LIB_SRCS	+= lib/hooks.c
LIB_SRCS	+= lib/lifecycle.c
LIB_SRCS	+= lib/http.c
LIB_SRCS	+= lib/log.c
LIB_SRCS	+= lib/message.c
LIB_SRCS	+= lib/proc.c
LIB_SRCS	+= lib/progress.c
LIB_SRCS	+= lib/queue.c
LIB_SRCS	+= lib/queue_spool.c
LIB_SRCS	+= lib/queue_sqs.c
LIB_SRCS	+= lib/release.c
LIB_SRCS	+= lib/rollout.c
LIB_SRCS	+= lib/state.c
LIB_SRCS	+= lib/store.c
LIB_SRCS	+= lib/store_file.c
LIB_SRCS	+= lib/store_s3.c
LIB_SRCS	+= lib/xalloc.c

HOOKD_SRCS	 =
HOOKD_SRCS	+= hookd/cmd_deploy_local.c
HOOKD_SRCS	+= hookd/cmd_run.c
HOOKD_SRCS	+= hookd/cmd_status.c
HOOKD_SRCS	+= hookd/cmd_validate.c
HOOKD_SRCS	+= hookd/hookd.c

DEPLOYER_SRCS	 =
DEPLOYER_SRCS	+= deployer/cmd_deploy.c
DEPLOYER_SRCS	+= deployer/cmd_history.c
DEPLOYER_SRCS	+= deployer/cmd_instances.c
DEPLOYER_SRCS	+= deployer/cmd_rollback.c
DEPLOYER_SRCS	+= deployer/cmd_setup.c
DEPLOYER_SRCS	+= deployer/cmd_status.c
DEPLOYER_SRCS	+= deployer/create.c
DEPLOYER_SRCS	+= deployer/ctx.c
DEPLOYER_SRCS	+= deployer/deployer.c
DEPLOYER_SRCS	+= deployer/records.c
DEPLOYER_SRCS	+= deployer/watch.c

# cmocka binaries: tests/unit/test_NAME.c -> $(BUILD)/tests/test_NAME
UNIT_TESTS	 =
UNIT_TESTS	+= appspec
UNIT_TESTS	+= awsclient
UNIT_TESTS	+= awsxml
UNIT_TESTS	+= awsparse
UNIT_TESTS	+= buf
UNIT_TESTS	+= config
UNIT_TESTS	+= bundle
UNIT_TESTS	+= creds
UNIT_TESTS	+= errbuf
UNIT_TESTS	+= lifecycle
UNIT_TESTS	+= message
UNIT_TESTS	+= proc
UNIT_TESTS	+= progress
UNIT_TESTS	+= queue
UNIT_TESTS	+= release
UNIT_TESTS	+= rollout
UNIT_TESTS	+= sigv4
UNIT_TESTS	+= state
UNIT_TESTS	+= store

LIB_OBJS	 = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB_TOBJS	 = $(LIB_SRCS:%.c=$(BUILD)/tobj/%.o)
HOOKD_OBJS	 = $(HOOKD_SRCS:%.c=$(BUILD)/obj/%.o)
DEPLOYER_OBJS	 = $(DEPLOYER_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS	 = $(UNIT_TESTS:%=$(BUILD)/tests/test_%)
LIBHOOKD	 = $(BUILD)/libhookd.a
LIBHOOKD_T	 = $(BUILD)/libhookd-test.a
PROGS		 = $(BUILD)/bin/hookd
ifneq ($(DEPLOYER_SRCS),)
PROGS		+= $(BUILD)/bin/deployer
endif

VERSION		:= $(shell cat VERSION 2>/dev/null || \
		     git describe --tags --always --dirty 2>/dev/null || \
		     echo 0.0.0)

.PHONY: fuzz fuzz-smoke
.PHONY: all check unit unit-bins integration asan asan-check demo deps \
	install dist clean checkstyle FORCE
.DEFAULT_GOAL := all

all: $(PROGS)

$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define HOOKD_VERSION "%s"\n' '$(VERSION)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else \
	    mv $@.tmp $@; echo "  GEN     $@"; fi

$(BUILD)/obj/%.o: %.c | $(BUILD)/gen/version.h
	@mkdir -p $(@D)
	$(Q_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tobj/%.o: %.c | $(BUILD)/gen/version.h
	@mkdir -p $(@D)
	$(Q_CC)$(CC) $(ALL_CFLAGS) -DHOOKD_UNIT_TEST -c -o $@ $<

$(LIBHOOKD): $(LIB_OBJS)
	$(Q_AR)rm -f $@ && $(AR) rcs $@ $^

$(LIBHOOKD_T): $(LIB_TOBJS)
	$(Q_AR)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/bin/hookd: $(HOOKD_OBJS) $(LIBHOOKD)
	@mkdir -p $(@D)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/deployer: $(DEPLOYER_OBJS) $(LIBHOOKD)
	@mkdir -p $(@D)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_%: $(BUILD)/tobj/tests/unit/test_%.o $(LIBHOOKD_T)
	@mkdir -p $(@D)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

# Unit tests find fixtures through FIXTURES and the shared data through
# HOOKD_SHARED; both are absolute so a test can chdir.
$(BUILD)/tobj/tests/unit/%.o: EXTRA_CFLAGS += \
	-DFIXTURES='"$(CURDIR)/tests/fixtures"' \
	-DSHARED_DIR='"$(abspath $(CURDIR)/../shared)"'

unit-bins: $(UNIT_BINS)

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	    echo "== $$t"; \
	    $$t || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "unit tests FAILED"; exit 1; fi

# awsc: the test-only CLI over lib/aws the integration tests drive.
$(BUILD)/tests/awsc: $(BUILD)/obj/tests/tools/awsc.o $(LIBHOOKD)
	@mkdir -p $(@D)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

integration: all $(BUILD)/tests/awsc
	@scripts/find-moto >/dev/null
	HOOKD_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider tests/integration $(PYTEST_ARGS)

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all unit-bins

asan-check:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 integration

# libFuzzer targets: tests/fuzz/fuzz_NAME.c -> build/fuzz/fuzz_NAME, linked
# with the lib sources in FUZZ_LIB_SRCS; seeds in tests/fixtures/fuzz/NAME.
FUZZ_CC		?= clang
FUZZ_BUILD	 = build/fuzz
FUZZ_SECS	?= 5
FUZZ_FLAGS	 = -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
		   -fno-sanitize-recover=undefined -Ilib -I$(FUZZ_BUILD)/gen
FUZZ_TARGETS	 =
FUZZ_TARGETS	+= appspec
FUZZ_TARGETS	+= config
FUZZ_TARGETS	+= message
FUZZ_LIB_SRCS	 =
FUZZ_LIB_SRCS	+= lib/appspec.c
FUZZ_LIB_SRCS	+= lib/appspec_perm.c
FUZZ_LIB_SRCS	+= lib/compat.c
FUZZ_LIB_SRCS	+= lib/config.c
FUZZ_LIB_SRCS	+= lib/errbuf.c
FUZZ_LIB_SRCS	+= lib/message.c
FUZZ_LIB_SRCS	+= lib/queue.c
FUZZ_LIB_SRCS	+= lib/queue_spool.c
FUZZ_LIB_SRCS	+= lib/store.c
FUZZ_LIB_SRCS	+= lib/store_file.c
FUZZ_LIB_SRCS	+= lib/xalloc.c

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_SRCS) $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(Q_LD)$(FUZZ_CC) $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $< \
	    $(FUZZ_LIB_SRCS) $(PKG_LIBS)

# A few seconds of each target, new inputs kept in build/fuzz/corpus/.
fuzz-smoke: fuzz
	@for t in $(FUZZ_TARGETS); do \
	    echo "== fuzz_$$t ($(FUZZ_SECS) s)"; \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	    $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECS) -timeout=10 \
		-rss_limit_mb=1024 -print_final_stats=1 \
		$(FUZZ_BUILD)/corpus/$$t tests/fixtures/fuzz/$$t \
		2>$(FUZZ_BUILD)/fuzz_$$t.log || \
		{ tail -40 $(FUZZ_BUILD)/fuzz_$$t.log; exit 1; }; \
	    grep -E '^stat::number_of_executed_units' \
		$(FUZZ_BUILD)/fuzz_$$t.log || true; \
	done

deps:
	@scripts/deps.sh

# What CI runs (README): every test, from a clean clone.
check: deps
	@$(MAKE) --no-print-directory asan-check
	@$(MAKE) --no-print-directory fuzz-smoke

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(abspath $(BUILD))

checkstyle:
	@scripts/checkstyle lib hookd deployer tests/unit

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(BUILD)/bin/hookd $(DESTDIR)$(SBINDIR)/hookd
	if [ -f $(BUILD)/bin/deployer ]; then \
	    install -m 0755 $(BUILD)/bin/deployer $(DESTDIR)$(BINDIR)/; fi
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	for m in docs/man/*.[0-9]; do \
	    [ -f "$$m" ] || continue; \
	    s=$${m##*.}; \
	    install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	done

dist:
	@mkdir -p $(BUILD)
	git archive --prefix=hookd-$(VERSION)/ -o $(BUILD)/hookd-$(VERSION).tar.gz HEAD
	@echo "$(BUILD)/hookd-$(VERSION).tar.gz"

clean:
	rm -rf build

FORCE:

.SECONDARY:

-include $(LIB_OBJS:.o=.d) $(LIB_TOBJS:.o=.d) $(HOOKD_OBJS:.o=.d) \
	$(DEPLOYER_OBJS:.o=.d) $(BUILD)/obj/tests/tools/awsc.d \
	$(UNIT_TESTS:%=$(BUILD)/tobj/tests/unit/test_%.d)
