/* SPDX-License-Identifier: ISC */
/*
 * store_fixture.h: a file store in a new temporary directory, for the
 * unit tests that need one (test_store, test_changes).  Included after
 * <cmocka.h>: static functions only.
 */
#ifndef HOOKD_STORE_FIXTURE_H
#define HOOKD_STORE_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "errbuf.h"
#include "fsutil.h"
#include "store.h"
#include "xalloc.h"

/*
 * Make /tmp/hookd-test-TAG.XXXXXX in dir (64 bytes) and open the store
 * file://DIR, or file://DIR/SUB when sub is not NULL, in *ret.
 */
static void __attribute__((__unused__))
store_fx_open(char *dir, size_t dirsz, const char *tag, const char *sub,
    struct store **ret)
{
	struct errbuf	 eb = { 0 };
	char		*url;

	(void)snprintf(dir, dirsz, "/tmp/hookd-test-%s.XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
	url = sub == NULL ? xasprintf("file://%s", dir) :
	    xasprintf("file://%s/%s", dir, sub);
	assert_int_equal(store_open(url, true, NULL, ret, &eb), 0);
	free(url);
}

/* Close the store and remove its directory. */
static void __attribute__((__unused__))
store_fx_close(const char *dir, struct store *s)
{
	struct errbuf	 eb = { 0 };

	store_free(s);
	if (fs_rmtree(dir, &eb) == -1)
		fail_msg("%s", eb.msg);
}

#endif
