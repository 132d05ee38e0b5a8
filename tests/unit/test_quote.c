/* SPDX-License-Identifier: ISC */
/*
 * test_quote.c: lib/quote.c, the one dialect of untrusted text in
 * messages: escapes, where a long text is cut, tiny buffers.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "quote.h"

static void
quote_escapes_and_shortens(void **state)
{
	char	 buf[16], big[64];

	assert_string_equal(quote_text("a\nb\"c", 5, buf, sizeof(buf)),
	    "a\\x0ab\\\"c");
	assert_string_equal(quote_text("0123456789abcdef", 16, buf,
	    sizeof(buf)), "012345678...");
	assert_string_equal(quote_text("\xff", 1, buf, sizeof(buf)), "\\xff");
	assert_string_equal(quote_str("back\\slash", big, sizeof(big)),
	    "back\\\\slash");
	assert_string_equal(quote_str("tab\there", big, sizeof(big)),
	    "tab\\x09here");
	assert_string_equal(quote_str("it's", big, sizeof(big)), "it's");
	/* A NUL inside the counted text is shown, not an end. */
	assert_string_equal(quote_text("a\0b", 3, big, sizeof(big)),
	    "a\\x00b");
}

static void
quote_fits_any_buffer(void **state)
{
	char	 buf[8];

	memset(buf, 'Z', sizeof(buf));
	assert_ptr_equal(quote_str("abc", buf, 0), buf);
	assert_int_equal(buf[0], 'Z');	/* nothing written */
	assert_string_equal(quote_str("abc", buf, 1), "");
	assert_string_equal(quote_str("abc", buf, 4), "...");
	assert_string_equal(quote_str("abc", buf, 3), "");
	assert_string_equal(quote_str("", buf, sizeof(buf)), "");
	assert_string_equal(quote_str("a", buf, sizeof(buf)), "a");
}

static void
quote_dup_makes_a_bounded_copy(void **state)
{
	char	*s;

	s = quote_dup("Rate exceeded", 13, 64);
	assert_string_equal(s, "Rate exceeded");
	free(s);
	s = quote_dup("bad\x1b[31m", 8, 64);
	assert_string_equal(s, "bad\\x1b[31m");
	free(s);
	s = quote_dup("0123456789abcdef", 16, 16);
	assert_string_equal(s, "012345678...");
	free(s);
}

static void
quote_scrub_blanks_control_bytes(void **state)
{
	char	 s[] = "a\x1b[31mb\tc\x7f\xc3\xa9";

	assert_ptr_equal(quote_scrub(s), s);
	assert_string_equal(s, "a?[31mb?c?\xc3\xa9");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quote_escapes_and_shortens),
		cmocka_unit_test(quote_fits_any_buffer),
		cmocka_unit_test(quote_dup_makes_a_bounded_copy),
		cmocka_unit_test(quote_scrub_blanks_control_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
