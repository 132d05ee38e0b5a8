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
		   libxml-2.0
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
LIB_SRCS	+= lib/buf.c
LIB_SRCS	+= lib/compat.c
LIB_SRCS	+= lib/errbuf.c
LIB_SRCS	+= lib/log.c
LIB_SRCS	+= lib/xalloc.c

HOOKD_SRCS	 =
HOOKD_SRCS	+= hookd/cmd_validate.c
HOOKD_SRCS	+= hookd/hookd.c

DEPLOYER_SRCS	 =

# cmocka binaries: tests/unit/test_NAME.c -> $(BUILD)/tests/test_NAME
UNIT_TESTS	 =
UNIT_TESTS	+= buf
UNIT_TESTS	+= errbuf

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

integration: all
	@scripts/find-moto >/dev/null
	HOOKD_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider tests/integration $(PYTEST_ARGS)

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all unit-bins

asan-check:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 integration

deps:
	@scripts/deps.sh

# What CI runs (README): every test, from a clean clone.
check: deps
	@$(MAKE) --no-print-directory asan-check

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
	$(DEPLOYER_OBJS:.o=.d) $(UNIT_TESTS:%=$(BUILD)/tobj/tests/unit/test_%.d)
