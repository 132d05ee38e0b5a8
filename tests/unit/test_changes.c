/* SPDX-License-Identifier: ISC */
/*
 * test_changes: lib/changes.c over a file:// store: the first round
 * reads every document, a round with nothing written reads none, a
 * rewritten document (even with the same bytes) is read again, a new
 * one is read, a removed one is forgotten, a document not wanted is not
 * read but offered again, and a read that fails is tried next round.
 */
#include "compat.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "changes.h"
#include "errbuf.h"
#include "store.h"
#include "store_fixture.h"
#include "xalloc.h"

#define PFX	"deployments/web/prod/d-ABCDEFGHJ/instances/"

struct fx {
	char		 dir[64];
	struct store	*s;
	char		 seen[512];	/* names read this round, ' '-joined */
	int		 nseen;
	int		 nfail;
	const char	*unwanted;
};

static int
setup(void **state)
{
	struct fx	*fx = xcalloc(1, sizeof(*fx));

	store_fx_open(fx->dir, sizeof(fx->dir), "changes", NULL, &fx->s);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	store_fx_close(fx->dir, fx->s);
	free(fx);
	return 0;
}

static void
put(struct fx *fx, const char *name, const char *text)
{
	struct errbuf	 eb = { 0 };
	char		*k = xasprintf("%s%s", PFX, name);

	assert_int_equal(store_put(fx->s, k, text, strlen(text), NULL, &eb),
	    0);
	free(k);
}

static bool
want(void *arg, const char *name)
{
	struct fx	*fx = arg;

	return fx->unwanted == NULL || strcmp(name, fx->unwanted) != 0;
}

static void
got(void *arg, const char *name, const char *data, size_t len,
    const struct errbuf *eb)
{
	struct fx	*fx = arg;

	if (data == NULL) {
		fx->nfail++;
		return;
	}
	assert_int_equal(strlen(data), len);
	(void)strlcat(fx->seen, name, sizeof(fx->seen));
	(void)strlcat(fx->seen, " ", sizeof(fx->seen));
	fx->nseen++;
}

static void
round_of(struct fx *fx, struct changes *ch, struct changes_stats *st)
{
	struct errbuf	 eb = { 0 };

	fx->seen[0] = '\0';
	fx->nseen = fx->nfail = 0;
	assert_int_equal(changes_poll(ch, fx->s, 4096, want, got, fx, st,
	    &eb), 0);
}

static void
changes_reads_only_what_changed(void **state)
{
	struct fx		*fx = *state;
	struct changes		 ch;
	struct changes_stats	 st = { 0 };

	changes_init(&ch, PFX);
	put(fx, "i-1.json", "{\"status\":\"InProgress\"}");
	put(fx, "i-2.json", "{\"status\":\"InProgress\"}");
	put(fx, "i-3.json", "{\"status\":\"InProgress\"}");
	round_of(fx, &ch, &st);
	assert_string_equal(fx->seen, "i-1.json i-2.json i-3.json ");
	assert_non_null(changes_tag(&ch, "i-2.json"));

	/* Nothing written: nothing read. */
	round_of(fx, &ch, &st);
	assert_int_equal(fx->nseen, 0);

	/* One rewritten with the same bytes, one new, one gone. */
	put(fx, "i-2.json", "{\"status\":\"InProgress\"}");
	put(fx, "i-4.json", "{\"status\":\"Succeeded\"}");
	{
		struct errbuf	eb = { 0 };

		assert_int_equal(store_delete(fx->s, PFX "i-3.json", &eb), 0);
	}
	round_of(fx, &ch, &st);
	assert_string_equal(fx->seen, "i-2.json i-4.json ");
	assert_null(changes_tag(&ch, "i-3.json"));
	assert_int_equal(ch.n, 3);

	/* Not wanted: not read, and offered again while it changes. */
	fx->unwanted = "i-1.json";
	put(fx, "i-1.json", "{\"status\":\"Succeeded\"}");
	round_of(fx, &ch, &st);
	assert_int_equal(fx->nseen, 0);
	fx->unwanted = NULL;
	round_of(fx, &ch, &st);
	assert_string_equal(fx->seen, "i-1.json ");

	assert_int_equal(st.rounds, 5);
	assert_int_equal(st.fetched, 3 + 2 + 1);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(st.listed, 3 + 3 + 3 + 3 + 3);
	changes_release(&ch);
}

static void
changes_reads_a_failed_one_again(void **state)
{
	struct fx		*fx = *state;
	struct changes		 ch;
	struct changes_stats	 st = { 0 };
	char			*big;

	changes_init(&ch, PFX);
	/* Over the round's 4096-byte cap: the read fails. */
	big = xcalloc(1, 5000);
	memset(big, 'x', 4999);
	put(fx, "i-1.json", big);
	put(fx, "i-2.json", "{}");
	round_of(fx, &ch, &st);
	assert_int_equal(fx->nfail, 1);
	assert_string_equal(fx->seen, "i-2.json ");
	assert_null(changes_tag(&ch, "i-1.json"));
	round_of(fx, &ch, &st);
	assert_int_equal(fx->nfail, 1);
	assert_int_equal(fx->nseen, 0);
	put(fx, "i-1.json", "{}");
	round_of(fx, &ch, &st);
	assert_string_equal(fx->seen, "i-1.json ");
	assert_int_equal(st.failed, 2);
	free(big);
	changes_release(&ch);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    changes_reads_only_what_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    changes_reads_a_failed_one_again, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
