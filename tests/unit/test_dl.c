/* SPDX-License-Identifier: ISC */
/*
 * test_dl: the libraries of lib/dl.h load on first use, once, and calls
 * written as plain library calls go through the resolved functions.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dl_archive.h"
#include "dl_crypto.h"
#include "dl_curl.h"
#include "dl_xml.h"
#include "errbuf.h"

static void
first_call_loads_the_library(void **state)
{
	/* "abc", FIPS 180-2 appendix B.1 */
	static const unsigned char want[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	unsigned char	 md[32];

	(void)state;
	assert_false(dl_loaded[DL_CRYPTO]);
	assert_int_equal(EVP_Digest("abc", 3, md, NULL, EVP_sha256(), NULL),
	    1);
	assert_true(dl_loaded[DL_CRYPTO]);
	assert_memory_equal(md, want, sizeof(want));
}

static void
each_library_loads_and_resolves(void **state)
{
	struct errbuf		 eb = { 0 };
	struct archive		*a;
	xmlParserCtxtPtr	 x;
	CURL			*c;
	int			 i;

	(void)state;
	for (i = 0; i < DL__COUNT; i++) {
		assert_int_equal(dl_load(i, &eb), 0);
		assert_true(dl_loaded[i]);
		assert_non_null(strstr(dl_soname(i), ".so."));
		/* A second load is a no-op. */
		assert_int_equal(dl_load(i, &eb), 0);
	}
	assert_non_null(c = curl_easy_init());
	curl_easy_cleanup(c);
	assert_non_null(a = archive_read_new());
	assert_int_equal(archive_read_free(a), ARCHIVE_OK);
	assert_non_null(x = xmlNewParserCtxt());
	xmlFreeParserCtxt(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_call_loads_the_library),
		cmocka_unit_test(each_library_loads_and_resolves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
