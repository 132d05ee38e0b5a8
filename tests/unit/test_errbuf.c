/* SPDX-License-Identifier: ISC */
#include "compat.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sysexits.h>

#include <cmocka.h>

#include "errbuf.h"

static void
errbuf_set_returns_minus_one_and_formats(void **state)
{
	struct errbuf	 eb = { 0 };

	assert_int_equal(errbuf_set(&eb, EK_DATA, "bad '%s'", "x"), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_string_equal(eb.msg, "bad 'x'");
}

static void
errbuf_errno_appends_strerror_and_keeps_errno(void **state)
{
	struct errbuf	 eb = { 0 };

	errno = ENOENT;
	assert_int_equal(errbuf_errno(&eb, EK_IO, "cannot open '%s'", "f"),
	    -1);
	assert_string_equal(eb.msg,
	    "cannot open 'f': No such file or directory");
	assert_int_equal(errno, ENOENT);
	errbuf_errnum(&eb, EK_OS, EPERM, "setuid");
	assert_string_equal(eb.msg, "setuid: Operation not permitted");
}

static void
errbuf_prefix_adds_context_and_keeps_kind(void **state)
{
	struct errbuf	 eb = { 0 };

	errbuf_set(&eb, EK_DATA, "hooks.AfterInstall[0]: bad");
	assert_int_equal(errbuf_prefix(&eb, "%s:%d:%d: ", "appspec.yml",
	    12, 5), -1);
	assert_string_equal(eb.msg,
	    "appspec.yml:12:5: hooks.AfterInstall[0]: bad");
	assert_int_equal(eb.kind, EK_DATA);
}

static void
errbuf_truncates_long_messages_safely(void **state)
{
	struct errbuf	 eb = { 0 };
	char		 big[4096];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	errbuf_set(&eb, EK_IO, "%s", big);
	assert_int_equal(strlen(eb.msg), ERRBUF_MSG_MAX - 1);
	errbuf_prefix(&eb, "%s", big);
	assert_int_equal(strlen(eb.msg), ERRBUF_MSG_MAX - 1);
}

static void
errbuf_exitcode_maps_every_kind_to_sysexits(void **state)
{
	static const struct { enum errkind k; int code; } map[] = {
		{ EK_NONE, 0 },		{ EK_FAILED, 1 },
		{ EK_USAGE, EX_USAGE },	{ EK_DATA, EX_DATAERR },
		{ EK_NOINPUT, EX_NOINPUT }, { EK_UNAVAIL, EX_UNAVAILABLE },
		{ EK_BUG, EX_SOFTWARE }, { EK_OS, EX_OSERR },
		{ EK_IO, EX_IOERR },	{ EK_TEMP, EX_TEMPFAIL },
		{ EK_PROTO, EX_PROTOCOL }, { EK_PERM, EX_NOPERM },
		{ EK_CONFIG, EX_CONFIG },
	};
	struct errbuf	 eb = { 0 };

	for (size_t i = 0; i < nitems(map); i++) {
		eb.kind = map[i].k;
		assert_int_equal(errbuf_exitcode(&eb), map[i].code);
		assert_string_not_equal(errkind_name(map[i].k), "unknown");
	}
	assert_int_equal(EX_CONFIG, 78);
	assert_int_equal(EX_USAGE, 64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(errbuf_set_returns_minus_one_and_formats),
		cmocka_unit_test(errbuf_errno_appends_strerror_and_keeps_errno),
		cmocka_unit_test(errbuf_prefix_adds_context_and_keeps_kind),
		cmocka_unit_test(errbuf_truncates_long_messages_safely),
		cmocka_unit_test(errbuf_exitcode_maps_every_kind_to_sysexits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
