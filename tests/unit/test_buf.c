/* SPDX-License-Identifier: ISC */
#include "compat.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void
buf_appends_and_stays_nul_terminated(void **state)
{
	struct buf	 b;

	buf_init(&b, 100);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_addstr(&b, "hello"), 0);
	assert_int_equal(buf_addch(&b, ' '), 0);
	assert_int_equal(buf_printf(&b, "%s %d", "world", 42), 0);
	assert_string_equal(buf_str(&b), "hello world 42");
	assert_int_equal(b.len, 14);
	buf_release(&b);
}

static void
buf_refuses_to_grow_past_its_max_and_releases(void **state)
{
	struct buf	 b;

	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "12345678"), 0);
	errno = 0;
	assert_int_equal(buf_addch(&b, '9'), -1);
	assert_int_equal(errno, EFBIG);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	/* A released buffer can be used again. */
	assert_int_equal(buf_addstr(&b, "ok"), 0);
	assert_string_equal(buf_str(&b), "ok");
	buf_release(&b);
}

static void
buf_take_hands_over_and_resets(void **state)
{
	struct buf	 b;
	char		*s;
	size_t		 len;

	buf_init(&b, 1024);
	s = buf_take(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_add(&b, "0123456789", 10), 0);
	s = buf_take(&b, &len);
	assert_int_equal(len, 1000);
	assert_int_equal(strlen(s), 1000);
	assert_null(b.data);
	free(s);
}

static void
buf_handles_binary_and_size_overflow(void **state)
{
	struct buf	 b;

	buf_init(&b, 16);
	assert_int_equal(buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 3);
	assert_int_equal(buf_add(&b, "x", SIZE_MAX), -1);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_appends_and_stays_nul_terminated),
		cmocka_unit_test(buf_refuses_to_grow_past_its_max_and_releases),
		cmocka_unit_test(buf_take_hands_over_and_resets),
		cmocka_unit_test(buf_handles_binary_and_size_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
