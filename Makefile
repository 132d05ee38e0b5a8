# SPDX-License-Identifier: ISC
#
# hookd: one non-recursive GNU Makefile (STYLE.md B12).
#
#   make                 build build/bin/hookd and build/bin/deployer
#   make test            the fast tier, for every few minutes: build, unit
#                        tests (in parallel), checkstyle, headers, include
#                        direction, the module map (under a minute)
#   make check           what CI runs: install deps, the static checks, every
#                        test (unit under ASan+UBSan, then TSan for the
#                        bundle hasher; integration, fault, fuzz smoke), lint
#   make unit            build and run the cmocka unit tests in $(BUILD)
#   make integration     run the pytest integration tests against $(BUILD)
#   make asan            build everything with ASan+UBSan in build/asan
#   make tsan            the bundle hasher's unit tests under ThreadSanitizer,
#                        in build/tsan
#   make coverage        unit tests built with gcov in build/coverage; prints
#                        line coverage per file (gcovr), reported, not gated
#   make checkstyle      scripts/checkstyle: 80 columns, tabs, SPDX (STYLE.md)
#   make check-headers   every lib/, hookd/, deployer/ header compiles alone
#   make check-includes  lib/ includes no program header; the engine no
#                        message, queue, store or AWS header
#   make check-architecture  ARCHITECTURE.md's module map names every lib/*.c
#   make fuzz            build the libFuzzer targets (clang) in build/fuzz
#   make fuzz-smoke      run each fuzz target for FUZZ_SECS (5) seconds
#   make fuzz-long       run each fuzz target for 10 minutes, report coverage
#   make fault           the fault-injection suite (tests/fault) on $(BUILD)
#   make lint            cppcheck and clang-tidy over lib/ hookd/ deployer/
#   make demo            install deps, build, run the demo
#   make bench           release build in build/bench, run the benchmarks
#   make install         PREFIX, DESTDIR honoured
#   make dist            source tarball $(BUILD)/hookd-VERSION.tar.gz
#   make rpm             RPMs from it in $(BUILD)/rpm (packaging/rpm)
#
# BUILD selects the output directory (default build/); sanitizer builds use
# their own, so objects of different flavours never mix.  SAN picks the
# flavour: empty (plain), 1 (ASan+UBSan), thread (TSan) or coverage (gcov).
# V=1 shows commands.

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc
UNITDIR		?= /usr/lib/systemd/system
LOCALSTATEDIR	?= /var
DESTDIR		?=

BUILD		?= build
# The shared test data (conformance cases, AWS examples) of the unit tests.
SHARED		?= $(abspath $(CURDIR)/../shared)
ifeq ($(BUILD),build/asan)
SAN		?= 1
endif
ifeq ($(BUILD),build/tsan)
SAN		?= thread
endif
ifeq ($(BUILD),build/coverage)
SAN		?= coverage
endif
CC		?= cc
PKG_CONFIG	?= pkg-config
PYTHON		?= /usr/bin/python3

PKGS		 = libcurl jansson yaml-0.1 libsystemd libcrypto libarchive \
		   libxml-2.0 libacl
# hookd and deployer link only these; the others are dlopen()ed on first
# use (lib/dl.h).  Unit tests and fuzzers, which may call the libraries
# directly, link them all.
LINK_PKGS	 = jansson yaml-0.1 libsystemd libacl
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
else ifeq ($(SAN),thread)
SANFLAGS	 = -fsanitize=thread -fno-omit-frame-pointer
else ifeq ($(SAN),coverage)
SANFLAGS	 = --coverage -DHOOKD_COVERAGE
else
SANFLAGS	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=undefined
endif
PKG_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
LINK_LIBS	:= $(shell $(PKG_CONFIG) --libs $(LINK_PKGS) 2>/dev/null) -ldl
CMOCKA_LIBS	:= $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

ALL_CFLAGS	 = -std=gnu11 $(WARN) $(HARDEN) $(SANFLAGS) -Ilib -I$(BUILD)/gen \
		   $(PKG_CFLAGS) -MMD -MP $(CFLAGS) $(EXTRA_CFLAGS)
ALL_LDFLAGS	 = -pie -Wl,-z,relro,-z,now $(SANFLAGS) $(LDFLAGS)
LIBS		 = $(LINK_LIBS)

ifeq ($(V),)
Q_CC		 = @echo "  CC      $@";
Q_LD		 = @echo "  LD      $@";
Q_AR		 = @echo "  AR      $@";
Q_GEN		 = @echo "  GEN     $@";
endif

# One line per source file, so parallel work on modules merges cleanly.
LIB_SRCS	 =
LIB_SRCS	+= lib/admission.c
LIB_SRCS	+= lib/appspec.c
LIB_SRCS	+= lib/appspec_perm.c
LIB_SRCS	+= lib/aws/asg.c
LIB_SRCS	+= lib/aws/asg_bg.c
LIB_SRCS	+= lib/aws/cloudwatch.c
LIB_SRCS	+= lib/aws/elb.c
LIB_SRCS	+= lib/aws/query.c
LIB_SRCS	+= lib/aws/json.c
LIB_SRCS	+= lib/aws/s3.c
LIB_SRCS	+= lib/aws/client.c
LIB_SRCS	+= lib/aws/pool.c
LIB_SRCS	+= lib/aws/creds.c
LIB_SRCS	+= lib/aws/imds.c
LIB_SRCS	+= lib/aws/sigv4.c
LIB_SRCS	+= lib/aws/xml.c
LIB_SRCS	+= lib/aws/sns.c
LIB_SRCS	+= lib/aws/sqs.c
LIB_SRCS	+= lib/buf.c
LIB_SRCS	+= lib/cgroup.c
LIB_SRCS	+= lib/changes.c
LIB_SRCS	+= lib/clock.c
LIB_SRCS	+= lib/bundle.c
LIB_SRCS	+= lib/bundle_zip.c
LIB_SRCS	+= lib/bundle_listing.c
LIB_SRCS	+= lib/compat.c
LIB_SRCS	+= lib/config.c
LIB_SRCS	+= lib/deploylog.c
LIB_SRCS	+= lib/dests.c
LIB_SRCS	+= lib/digest.c
LIB_SRCS	+= lib/dl.c
LIB_SRCS	+= lib/errbuf.c
LIB_SRCS	+= lib/fsutil.c
LIB_SRCS	+= lib/git.c
LIB_SRCS	+= lib/haproxy.c
LIB_SRCS	+= lib/hooks.c
LIB_SRCS	+= lib/lifecycle.c
LIB_SRCS	+= lib/manifest.c
LIB_SRCS	+= lib/http.c
LIB_SRCS	+= lib/log.c
LIB_SRCS	+= lib/message.c
LIB_SRCS	+= lib/names.c
LIB_SRCS	+= lib/proc.c
LIB_SRCS	+= lib/progress.c
LIB_SRCS	+= lib/queue.c
LIB_SRCS	+= lib/quote.c
LIB_SRCS	+= lib/queue_spool.c
LIB_SRCS	+= lib/queue_sqs.c
LIB_SRCS	+= lib/registry.c
LIB_SRCS	+= lib/release.c
LIB_SRCS	+= lib/rollout.c
LIB_SRCS	+= lib/gates.c
LIB_SRCS	+= lib/scaleout.c
LIB_SRCS	+= lib/state.c
LIB_SRCS	+= lib/store.c
LIB_SRCS	+= lib/store_file.c
LIB_SRCS	+= lib/store_s3.c
LIB_SRCS	+= lib/traffic.c
LIB_SRCS	+= lib/validate.c
LIB_SRCS	+= lib/xalloc.c
LIB_SRCS	+= lib/yamltree.c

HOOKD_SRCS	 =
HOOKD_SRCS	+= hookd/cmd_bake.c
HOOKD_SRCS	+= hookd/cmd_deploy_local.c
HOOKD_SRCS	+= hookd/cmd_status.c
HOOKD_SRCS	+= hookd/cmd_validate.c
HOOKD_SRCS	+= hookd/hookd.c
HOOKD_SRCS	+= hookd/hook_cgroup.c
HOOKD_SRCS	+= hookd/run_daemon.c
HOOKD_SRCS	+= hookd/run_deploy.c
HOOKD_SRCS	+= hookd/run_engine.c
HOOKD_SRCS	+= hookd/run_registry.c
HOOKD_SRCS	+= hookd/run_scaleout.c
HOOKD_SRCS	+= hookd/run_start.c
HOOKD_SRCS	+= hookd/run_traffic.c

DEPLOYER_SRCS	 =
DEPLOYER_SRCS	+= deployer/bluegreen.c
DEPLOYER_SRCS	+= deployer/bundle_cache.c
DEPLOYER_SRCS	+= deployer/bundle_pack.c
DEPLOYER_SRCS	+= deployer/cmd_deploy.c
DEPLOYER_SRCS	+= deployer/cmd_history.c
DEPLOYER_SRCS	+= deployer/cmd_instances.c
DEPLOYER_SRCS	+= deployer/cmd_resume.c
DEPLOYER_SRCS	+= deployer/cmd_rollback.c
DEPLOYER_SRCS	+= deployer/cmd_setup.c
DEPLOYER_SRCS	+= deployer/cmd_status.c
DEPLOYER_SRCS	+= deployer/cmd_stop.c
DEPLOYER_SRCS	+= deployer/create.c
DEPLOYER_SRCS	+= deployer/ctx.c
DEPLOYER_SRCS	+= deployer/deployer.c
DEPLOYER_SRCS	+= deployer/drive.c
DEPLOYER_SRCS	+= deployer/gates.c
DEPLOYER_SRCS	+= deployer/fanout.c
DEPLOYER_SRCS	+= deployer/records.c
DEPLOYER_SRCS	+= deployer/setup_asg.c
DEPLOYER_SRCS	+= deployer/standby.c
DEPLOYER_SRCS	+= deployer/watch.c

# cmocka binaries: tests/unit/test_NAME.c -> $(BUILD)/tests/test_NAME
UNIT_TESTS	 =
UNIT_TESTS	+= admission
UNIT_TESTS	+= appspec
UNIT_TESTS	+= asg_bg
UNIT_TESTS	+= awsclient
UNIT_TESTS	+= awsxml
UNIT_TESTS	+= awsparse
UNIT_TESTS	+= awspool
UNIT_TESTS	+= buf
UNIT_TESTS	+= changes
UNIT_TESTS	+= clock
UNIT_TESTS	+= cloudwatch
UNIT_TESTS	+= config
UNIT_TESTS	+= bundle
UNIT_TESTS	+= bundle_tick
UNIT_TESTS	+= bundle_scan
UNIT_TESTS	+= creds
UNIT_TESTS	+= deploylog
UNIT_TESTS	+= dests
UNIT_TESTS	+= digest
UNIT_TESTS	+= dl
UNIT_TESTS	+= elb
UNIT_TESTS	+= errbuf
UNIT_TESTS	+= fsutil
UNIT_TESTS	+= gates
UNIT_TESTS	+= git
UNIT_TESTS	+= haproxy
UNIT_TESTS	+= http
UNIT_TESTS	+= http_fork
UNIT_TESTS	+= lifecycle
UNIT_TESTS	+= manifest
UNIT_TESTS	+= message
UNIT_TESTS	+= names
UNIT_TESTS	+= proc
UNIT_TESTS	+= proc_cgroup
UNIT_TESTS	+= progress
UNIT_TESTS	+= queue
UNIT_TESTS	+= quote
UNIT_TESTS	+= release
UNIT_TESTS	+= rollout
UNIT_TESTS	+= scaleout
UNIT_TESTS	+= sigv4
UNIT_TESTS	+= sqsjson
UNIT_TESTS	+= state
UNIT_TESTS	+= store
UNIT_TESTS	+= traffic
UNIT_TESTS	+= validate
UNIT_TESTS	+= yamltree

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
# rpm's Version holds no '-': a tag 1.2-3-gabc -> 1.2^3.gabc, a bare
# commit abc-dirty -> 0^abc.dirty (a snapshot sorts after its base).
RPM_VERSION	:= $(shell printf '%s' '$(VERSION)' | sed \
		     -e '/^[0-9][0-9]*\./{s/-/^/;s/-/./g;b' -e '}' \
		     -e 's/-/./g' -e 's/^/0^/')
RPMBUILD	?= rpmbuild
ifneq ($(wildcard /etc/debian_version),)
RPM_NODEPS	 = --nodeps
endif

.PHONY: fuzz fuzz-smoke bench fuzz-long lint fault
.PHONY: all check unit unit-bins integration asan asan-check demo deps \
	install dist rpm clean checkstyle FORCE
.PHONY: test unit-parallel static-checks check-headers check-includes \
	check-architecture tsan tsan-unit coverage coverage-unit
.DEFAULT_GOAL := all

all: $(PROGS)

$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define HOOKD_VERSION "%s"\n' '$(VERSION)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else \
	    mv $@.tmp $@; echo "  GEN     $@"; fi

$(BUILD)/gen/dlnames.h: scripts/gen-dlnames
	@mkdir -p $(@D)
	$(Q_GEN)scripts/gen-dlnames $(CC) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c | $(BUILD)/gen/version.h $(BUILD)/gen/dlnames.h
	@mkdir -p $(@D)
	$(Q_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tobj/%.o: %.c | $(BUILD)/gen/version.h $(BUILD)/gen/dlnames.h
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
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS) -ldl

# Unit tests find fixtures through FIXTURES and the shared data through
# HOOKD_SHARED; both are absolute so a test can chdir.
$(BUILD)/tobj/tests/unit/%.o: EXTRA_CFLAGS += \
	-DFIXTURES='"$(CURDIR)/tests/fixtures"' \
	-DSHARED_DIR='"$(SHARED)"'

unit-bins: $(UNIT_BINS)

# Unit tests that read ../shared (test data from outside the project).  A
# build from the release tarball has no ../shared: there, and only when
# asked with NO_SHARED=1 (the RPM's %check), they are skipped, loudly.
SHARED_TESTS	 = appspec awsparse awsxml sigv4

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	    n=$${t##*/test_}; \
	    if [ -n "$(NO_SHARED)" ] && \
	        echo " $(SHARED_TESTS) " | grep -q " $$n "; then \
	        echo "== $$t: SKIPPED (NO_SHARED: needs $(SHARED))"; \
	        continue; \
	    fi; \
	    echo "== $$t"; \
	    $$t || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "unit tests FAILED"; exit 1; fi

# The same tests, TEST_JOBS at a time (most of their time is spent waiting
# on children, sleeps and the disk); each one's output goes to its .log
# beside it and is shown only when it fails.
TEST_JOBS	?= 4
unit-parallel: $(UNIT_BINS)
	@printf '%s\n' $(UNIT_BINS) | xargs -P $(TEST_JOBS) -I{} sh -c \
	    's=$$(date +%s%N); if {} > {}.log 2>&1; then r=ok; else r=FAILED; \
	     fi; e=$$(( ($$(date +%s%N) - s) / 10000000 )); \
	     printf "== %s: %s (%d.%02d s)\n" {} $$r $$((e / 100)) \
	         $$((e % 100)); \
	     [ $$r = ok ] || { cat {}.log; exit 1; }' || \
	    { echo "unit tests FAILED"; exit 1; }

# awsc: the test-only CLI over lib/aws the integration tests drive.
$(BUILD)/tests/awsc: $(BUILD)/obj/tests/tools/awsc.o $(LIBHOOKD)
	@mkdir -p $(@D)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl

# The integration and fault suites run under pytest-xdist, PYTEST_JOBS
# workers at a time: a test mostly waits on processes and polls, so more
# workers than cores pays, up to the suite's CPU time (about 320 s, 160 s
# of 2 cores: reached at 4).  --dist loadgroup hands out one test at a time
# and keeps the tests marked xdist_group together (the RPM's, built once).
# Each worker has its own session fixtures (moto, the peers).
# PYTEST_JOBS=0 runs one process, in file order.
PYTEST_JOBS	?= 4
ifeq ($(PYTEST_JOBS),0)
PYTEST_XDIST	 =
else
PYTEST_XDIST	 = -n $(PYTEST_JOBS) --dist loadgroup
endif

integration: all $(BUILD)/tests/awsc
	@scripts/find-moto >/dev/null
	HOOKD_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider $(PYTEST_XDIST) tests/integration $(PYTEST_ARGS)

# The fault-injection suite (kill -9 schedules, full disks, misbehaving
# hooks, hostile input at the CLI): its own pytest session, bounded in time.
fault: all
	HOOKD_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider $(PYTEST_XDIST) tests/fault $(PYTEST_ARGS)

# Static analysis: cppcheck, then clang-tidy (the clang static analyzer
# and bugprone checks chosen in .clang-tidy), over lib/ hookd/ deployer/.
# Reviewed false positives are in scripts/lint-suppressions.txt (cppcheck)
# and as NOLINT comments with a reason (clang-tidy).  Any finding fails.
LINT_DIRS	 = lib hookd deployer
LINT_SRCS	 = $(filter-out $(TIDY_SKIP),$(LIB_SRCS) $(HOOKD_SRCS) \
		   $(DEPLOYER_SRCS))
# Files left out of clang-tidy until their owners review the analyzer's
# reports (cppcheck still reads them).  None at present.
TIDY_SKIP	 =
lint: $(BUILD)/gen/version.h $(BUILD)/gen/dlnames.h
	cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr \
	    --enable=warning,portability,performance \
	    --suppressions-list=scripts/lint-suppressions.txt \
	    --library=scripts/cppcheck.cfg -D__GNUC__ -DDL_NO_REDIRECT \
	    -Ilib -I$(BUILD)/gen -j2 $(LINT_DIRS)
	printf '%s\n' $(LINT_SRCS) | xargs -P2 -I{} clang-tidy --quiet {} \
	    -- -std=gnu11 -Ilib -I$(BUILD)/gen $(PKG_CFLAGS)

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all unit-bins

# ThreadSanitizer over the tests of the bundle code, whose hasher is the
# only second thread hookd ever starts (lib/bundle.c).
TSAN_TESTS	 = bundle bundle_tick bundle_scan
TSAN_OPTIONS	?= halt_on_error=1 second_deadlock_stack=1
tsan:
	@$(MAKE) --no-print-directory BUILD=build/tsan SAN=thread tsan-unit

tsan-unit: $(TSAN_TESTS:%=$(BUILD)/tests/test_%)
	@for t in $^; do \
	    echo "== $$t (TSan)"; \
	    TSAN_OPTIONS="$(TSAN_OPTIONS)" $$t || exit 1; \
	done

# Line coverage of lib/ by the unit tests (gcov, summed by gcovr): a
# report, not a gate.  -O0 so that lines map to code.  Prints lines per
# file, least covered first; the missing lines are in coverage.txt and
# the annotated sources in html/ under build/coverage.
COVERAGE_BUILD	 = build/coverage
coverage:
	@find $(COVERAGE_BUILD) -name '*.gcda' -delete 2>/dev/null || true
	@$(MAKE) --no-print-directory BUILD=$(COVERAGE_BUILD) SAN=coverage \
	    CFLAGS='-O0 -g' coverage-unit

coverage-unit: unit-parallel
	@rm -rf $(BUILD)/html && mkdir -p $(BUILD)/html
	@gcovr --root . --filter 'lib/' --sort-percentage \
	    --txt $(BUILD)/coverage.txt \
	    --html-details $(BUILD)/html/index.html $(BUILD)/tobj
	@cut -c1-64 $(BUILD)/coverage.txt | sed 's/ *$$//'
	@echo "missing lines: $(BUILD)/coverage.txt;" \
	    "annotated: $(BUILD)/html/index.html"

# Benchmarks (BENCHMARKS.md): a release build (-O2, no sanitizers) in
# build/bench, then bench/run; BENCH_QUICK=1 for a smoke run.
BENCH_BUILD	?= build/bench
bench:
	@$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) SAN= all
	$(PYTHON) bench/run --build $(BENCH_BUILD)

asan-check:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 integration

# libFuzzer targets: tests/fuzz/fuzz_NAME.c -> build/fuzz/fuzz_NAME, linked
# with libhookd-fuzz.a (the whole lib, instrumented; the linker pulls only
# what a target uses); seeds in tests/fixtures/fuzz/NAME.
FUZZ_CC		?= clang
FUZZ_BUILD	 = build/fuzz
FUZZ_SECS	?= 5
FUZZ_LONG_SECS	?= 600
FUZZ_SAN	 = address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJFLAGS	 = -std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,$(FUZZ_SAN) \
		   -Ilib -I$(FUZZ_BUILD)/gen -MMD -MP
FUZZ_FLAGS	 = -std=gnu11 -g -O1 -fsanitize=fuzzer,$(FUZZ_SAN) \
		   -Ilib -I$(FUZZ_BUILD)/gen
FUZZ_TARGETS	 =
FUZZ_TARGETS	+= appspec
FUZZ_TARGETS	+= bundle_scan
FUZZ_TARGETS	+= awsxml
FUZZ_TARGETS	+= awsjson
FUZZ_TARGETS	+= config
FUZZ_TARGETS	+= creds
FUZZ_TARGETS	+= haproxy
FUZZ_TARGETS	+= message
FUZZ_TARGETS	+= progress
FUZZ_TARGETS	+= spool
FUZZ_LIB_SRCS	 = $(LIB_SRCS)
FUZZ_OBJS	 = $(FUZZ_LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIB	 = $(FUZZ_BUILD)/libhookd-fuzz.a
# libFuzzer's own options for every run; the corpus directories follow.
FUZZ_RUNFLAGS	 = -timeout=10 -rss_limit_mb=1024 -print_final_stats=1

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/gen/version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define HOOKD_VERSION "%s"\n' '$(VERSION)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(FUZZ_BUILD)/gen/dlnames.h: scripts/gen-dlnames
	@mkdir -p $(@D)
	$(Q_GEN)scripts/gen-dlnames $(FUZZ_CC) > $@.tmp && mv $@.tmp $@

$(FUZZ_BUILD)/obj/%.o: %.c | $(FUZZ_BUILD)/gen/version.h \
    $(FUZZ_BUILD)/gen/dlnames.h
	@mkdir -p $(@D)
	$(Q_CC)$(FUZZ_CC) $(FUZZ_OBJFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJS)
	$(Q_AR)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(Q_LD)$(FUZZ_CC) $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB) \
	    $(PKG_LIBS) -ldl

# A few seconds of each target, FUZZ_JOBS targets at a time (each is one
# process on one core), new inputs kept in build/fuzz/corpus/.
FUZZ_JOBS	?= $(shell nproc 2>/dev/null || echo 1)
fuzz-smoke: fuzz
	@printf '%s\n' $(FUZZ_TARGETS) | xargs -P $(FUZZ_JOBS) -I{} sh -c \
	    'log=$(FUZZ_BUILD)/fuzz_{}.log; \
	     mkdir -p $(FUZZ_BUILD)/corpus/{}; \
	     if $(FUZZ_BUILD)/fuzz_{} -max_total_time=$(FUZZ_SECS) \
		$(FUZZ_RUNFLAGS) $(FUZZ_BUILD)/corpus/{} \
		tests/fixtures/fuzz/{} 2>$$log; then \
		 n=$$(sed -n "s/^stat::number_of_executed_units: *//p" $$log); \
		 echo "== fuzz_{} ($(FUZZ_SECS) s): $$n runs"; \
	     else \
		 echo "== fuzz_{} ($(FUZZ_SECS) s): FAILED"; \
		 tail -40 $$log; exit 1; \
	     fi' || { echo "fuzz-smoke FAILED"; exit 1; }

# FUZZ_LONG_SECS (10 minutes) of each target, one after the other; prints
# executions, coverage before and after, and keeps crashes in
# build/fuzz/crashes/NAME/ (a crash fails the run; copy the input into
# tests/fixtures/fuzz/NAME/ once fixed, as a regression seed).
fuzz-long: fuzz
	@fail=0; for t in $(FUZZ_TARGETS); do \
	    echo "== fuzz_$$t ($(FUZZ_LONG_SECS) s)"; \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes/$$t; \
	    $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_LONG_SECS) \
		$(FUZZ_RUNFLAGS) \
		-artifact_prefix=$(FUZZ_BUILD)/crashes/$$t/ \
		$(FUZZ_BUILD)/corpus/$$t tests/fixtures/fuzz/$$t \
		2>$(FUZZ_BUILD)/long_$$t.log || fail=1; \
	    scripts/fuzz-report $(FUZZ_BUILD)/long_$$t.log; \
	done; \
	if [ $$fail -ne 0 ]; then echo "fuzz-long: crashes found"; exit 1; fi

deps:
	@scripts/deps.sh

# The fast tier a developer runs every few minutes: the normal build, the
# unit tests and the static checks, under a minute on 2 cores.  The build
# runs one job per core unless make was given -j.
test:
	@case "$$MAKEFLAGS" in *-j*|*jobserver*) j= ;; \
	    *) j=-j$$(nproc) ;; esac; \
	$(MAKE) --no-print-directory $$j all unit-bins
	@fail=0; \
	$(MAKE) --no-print-directory unit-parallel || fail=1; \
	$(MAKE) --no-print-directory -k static-checks || fail=1; \
	if [ $$fail -ne 0 ]; then echo "make test: FAILED"; exit 1; fi

# The checks that read the source: style, self-contained headers, the
# direction of includes and the module map of docs/ARCHITECTURE.md.
static-checks: checkstyle check-headers check-includes check-architecture

check-headers: $(BUILD)/gen/version.h $(BUILD)/gen/dlnames.h
	@scripts/check-headers $(CC) -std=gnu11 $(WARN) -Ilib -I$(BUILD)/gen \
	    $(PKG_CFLAGS)

check-includes:
	@scripts/check-includes

check-architecture:
	@scripts/check-architecture

# What CI runs (README): every test, from a clean clone, one stage after
# the other, each timed.  Builds run one job per core unless make was
# given -j; the unit tests (TEST_JOBS) and fuzz targets (FUZZ_JOBS) run
# several at a time, the integration and fault suites under pytest-xdist
# (PYTEST_JOBS).
CHECK_J		 = case "$$MAKEFLAGS" in *-j*|*jobserver*) j= ;; \
		   *) j=-j$$(nproc) ;; esac
STAGE		 = scripts/stage
check: deps
	@$(STAGE) static-checks $(MAKE) --no-print-directory -k static-checks
	@$(CHECK_J); $(STAGE) asan-build $(MAKE) --no-print-directory $$j \
	    BUILD=build/asan SAN=1 all unit-bins build/asan/tests/awsc
	@$(STAGE) asan-unit $(MAKE) --no-print-directory BUILD=build/asan \
	    SAN=1 unit-parallel
	@$(STAGE) integration $(MAKE) --no-print-directory BUILD=build/asan \
	    SAN=1 integration
	@$(CHECK_J); $(STAGE) tsan $(MAKE) --no-print-directory $$j tsan
	@$(STAGE) fault $(MAKE) --no-print-directory BUILD=build/asan SAN=1 \
	    fault
	@$(CHECK_J); $(STAGE) fuzz-build $(MAKE) --no-print-directory $$j fuzz
	@$(STAGE) fuzz-smoke $(MAKE) --no-print-directory fuzz-smoke
	@$(STAGE) lint $(MAKE) --no-print-directory lint

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(abspath $(BUILD))

checkstyle:
	@scripts/checkstyle lib hookd deployer tests

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
	@# The unit names /usr/sbin/hookd; follow SBINDIR.
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/sbin/hookd|$(SBINDIR)/hookd|g' packaging/hookd.service \
	    > $(DESTDIR)$(UNITDIR)/hookd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/hookd.service
	@# Never overwrite an operator's configuration.
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/hookd
	if [ ! -e $(DESTDIR)$(SYSCONFDIR)/hookd/hookd.yml ]; then \
	    install -m 0640 packaging/hookd.yml \
		$(DESTDIR)$(SYSCONFDIR)/hookd/hookd.yml; fi
	install -d $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	install -m 0644 packaging/hookd.logrotate \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/hookd
	install -d -m 0700 $(DESTDIR)$(LOCALSTATEDIR)/lib/hookd
	install -d -m 0750 $(DESTDIR)$(LOCALSTATEDIR)/log/hookd

# The source tarball, with a VERSION file so a build from it knows its
# version.  A clean tree is archived from HEAD; a tree with changes is
# archived as it is on disk (tracked and untracked, not ignored files),
# and its VERSION says -dirty.
dist:
	@rm -rf $(BUILD)/dist && mkdir -p $(BUILD)/dist
	@printf '%s\n' '$(VERSION)' > $(BUILD)/dist/VERSION
	@if [ -z "$$(git status --porcelain 2>/dev/null)" ]; then \
	    git archive --prefix=hookd-$(VERSION)/ \
		--add-file=$(BUILD)/dist/VERSION \
		-o $(BUILD)/hookd-$(VERSION).tar.gz HEAD; \
	else \
	    git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -f "$$f" ] && printf "%s\n" "$$f"; \
		done; true' sh | grep -v '^VERSION$$' | sort -u \
		> $(BUILD)/dist/files; \
	    tar -czf $(BUILD)/hookd-$(VERSION).tar.gz --owner=0 --group=0 \
		--numeric-owner --transform 's|^|hookd-$(VERSION)/|' \
		-T $(BUILD)/dist/files -C $(BUILD)/dist VERSION; \
	fi
	@echo "$(BUILD)/hookd-$(VERSION).tar.gz"

# The RPM, built from dist's tarball into $(BUILD)/rpm/{RPMS,SRPMS}.
# Debian's rpm database knows none of the BuildRequires, so on Debian the
# build passes --nodeps (the -dev packages of scripts/deps.sh are what it
# builds against).  RPMBUILD_FLAGS=--nocheck skips %check (make unit).
rpm: dist
	@rm -rf $(BUILD)/rpm && mkdir -p $(BUILD)/rpm/SOURCES
	cp $(BUILD)/hookd-$(VERSION).tar.gz $(BUILD)/rpm/SOURCES/
	@# The package is built with its own flags, not this make's (make
	@# exports command-line variables such as BUILD and SAN).
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u SAN -u DEVELOPER \
	    -u CI -u V -u CFLAGS -u LDFLAGS -u EXTRA_CFLAGS \
	    $(RPMBUILD) -ba --define "_topdir $(abspath $(BUILD))/rpm" \
	    --define "hookd_version $(RPM_VERSION)" \
	    --define "hookd_srcversion $(VERSION)" \
	    $(if $(wildcard $(SHARED)),--define "hookd_shared $(SHARED)") \
	    $(RPM_NODEPS) $(RPMBUILD_FLAGS) packaging/rpm/hookd.spec

clean:
	rm -rf build

FORCE:

.SECONDARY:

-include $(LIB_OBJS:.o=.d) $(LIB_TOBJS:.o=.d) $(HOOKD_OBJS:.o=.d) \
	$(DEPLOYER_OBJS:.o=.d) $(BUILD)/obj/tests/tools/awsc.d \
	$(UNIT_TESTS:%=$(BUILD)/tobj/tests/unit/test_%.d) \
	$(FUZZ_OBJS:.o=.d)
