/* SPDX-License-Identifier: ISC */
/*
 * test_scaleout: the parts of lib/scaleout.c that need no AWS endpoint:
 * argument checks, the heartbeat timer, and that nothing is sent for an
 * action that is not pending (the behaviour with Auto Scaling itself is
 * tests/integration/test_scaleout.py's, against the imds_asg peer).
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "errbuf.h"
#include "scaleout.h"

static void
begin_needs_instance_and_hook(void **state)
{
	struct scaleout	 so;
	struct errbuf	 eb = { 0 };

	scaleout_init(&so);
	assert_int_equal(scaleout_begin(&so, NULL, NULL, NULL, NULL, "h",
	    &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_int_equal(scaleout_begin(&so, NULL, NULL, NULL, "i-1", NULL,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_int_equal(so.state, SO_NONE);
	scaleout_release(&so);
	scaleout_release(&so);		/* safe on a released struct */
}

static void
nothing_is_sent_unless_pending(void **state)
{
	struct scaleout	 so;
	struct errbuf	 eb = { 0 };

	/* No client at all: any request would crash the test. */
	scaleout_init(&so);
	assert_int_equal(scaleout_next_ms(&so), -1);
	assert_int_equal(scaleout_tick(&so, true, &eb), 0);
	assert_int_equal(scaleout_complete(&so, true, &eb), 0);
	so.state = SO_DONE;
	assert_int_equal(scaleout_tick(&so, true, &eb), 0);
	assert_int_equal(scaleout_complete(&so, false, &eb), 0);
	assert_null(so.result);
	scaleout_release(&so);
}

static void
heartbeat_timer_counts_from_the_last_one(void **state)
{
	struct scaleout	 so;
	struct errbuf	 eb = { 0 };
	long long	 left;

	scaleout_init(&so);
	so.state = SO_PENDING;
	so.heartbeat_every_ms = 20000;
	/* Never sent: due at once. */
	assert_int_equal(scaleout_next_ms(&so), 0);
	(void)clock_gettime(CLOCK_MONOTONIC, &so.hb_last);
	left = scaleout_next_ms(&so);
	assert_true(left > 19000 && left <= 20000);
	/* Not due and not forced: no request (there is no client). */
	assert_int_equal(scaleout_tick(&so, false, &eb), 0);
	so.hb_last.tv_sec -= 30;
	assert_int_equal(scaleout_next_ms(&so), 0);
	so.state = SO_NONE;
	scaleout_release(&so);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(begin_needs_instance_and_hook),
		cmocka_unit_test(nothing_is_sent_unless_pending),
		cmocka_unit_test(heartbeat_timer_counts_from_the_last_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
