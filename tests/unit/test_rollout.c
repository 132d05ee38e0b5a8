/* SPDX-License-Identifier: ISC */
/*
 * test_rollout.c: batch planning for each deployment config, including
 * the edges (one instance, odd counts, percentages that round up, a
 * minimum_healthy that cannot be met), and a canary batch first.
 */
#include "compat.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "errbuf.h"
#include "rollout.h"

#include "banned.h"

/* Plan dc for n instances and compare with want (terminated by 0). */
static void
expect_sizes(const struct deploy_config *dc, size_t n, const size_t *want)
{
	struct errbuf	 eb = { 0 };
	size_t		*sizes = NULL, nb = 0, nwant = 0, sum = 0;

	while (want[nwant] != 0)
		nwant++;
	assert_int_equal(rollout_plan(dc, n, &sizes, &nb, &eb), 0);
	assert_int_equal(nb, nwant);
	for (size_t i = 0; i < nb; i++) {
		assert_int_equal(sizes[i], want[i]);
		sum += sizes[i];
	}
	assert_int_equal(sum, n);
	free(sizes);
}

static void
expect_plan(enum deploy_config_kind kind, unsigned mh, bool pct, size_t n,
    const size_t *want)
{
	struct deploy_config	 dc = { .kind = kind, .min_healthy = mh,
				    .percent = pct };

	expect_sizes(&dc, n, want);
}

static void
rollout_all_at_once_is_one_batch(void **state)
{
	expect_plan(DC_ALL_AT_ONCE, 0, false, 3, (const size_t[]){ 3, 0 });
	expect_plan(DC_ALL_AT_ONCE, 0, false, 1, (const size_t[]){ 1, 0 });
}

static void
rollout_one_at_a_time_is_n_batches_of_one(void **state)
{
	expect_plan(DC_ONE_AT_A_TIME, 0, false, 3,
	    (const size_t[]){ 1, 1, 1, 0 });
	expect_plan(DC_ONE_AT_A_TIME, 0, false, 1, (const size_t[]){ 1, 0 });
}

static void
rollout_half_at_a_time_rounds_down_at_least_one(void **state)
{
	expect_plan(DC_HALF_AT_A_TIME, 0, false, 4,
	    (const size_t[]){ 2, 2, 0 });
	expect_plan(DC_HALF_AT_A_TIME, 0, false, 5,
	    (const size_t[]){ 2, 2, 1, 0 });
	expect_plan(DC_HALF_AT_A_TIME, 0, false, 3,
	    (const size_t[]){ 1, 1, 1, 0 });
	expect_plan(DC_HALF_AT_A_TIME, 0, false, 1, (const size_t[]){ 1, 0 });
}

static void
rollout_minimum_healthy_count_and_percent(void **state)
{
	/* 2 of 5 must stay healthy: 3 at a time. */
	expect_plan(DC_MIN_HEALTHY, 2, false, 5, (const size_t[]){ 3, 2, 0 });
	/* 75% of 4 = 3 healthy: 1 at a time. */
	expect_plan(DC_MIN_HEALTHY, 75, true, 4,
	    (const size_t[]){ 1, 1, 1, 1, 0 });
	/* 50% of 3 rounds up to 2 healthy: 1 at a time. */
	expect_plan(DC_MIN_HEALTHY, 50, true, 3,
	    (const size_t[]){ 1, 1, 1, 0 });
	/* 0 healthy: all at once. */
	expect_plan(DC_MIN_HEALTHY, 0, false, 3, (const size_t[]){ 3, 0 });
}

static void
rollout_minimum_healthy_that_cannot_be_met_fails(void **state)
{
	struct deploy_config	 dc = { .kind = DC_MIN_HEALTHY,
				    .min_healthy = 3 };
	struct errbuf		 eb = { 0 };
	size_t			*sizes = NULL, nb = 0;

	assert_int_equal(rollout_plan(&dc, 3, &sizes, &nb, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "minimum_healthy 3"));
	assert_null(sizes);
	dc.min_healthy = 100;
	dc.percent = true;
	assert_int_equal(rollout_plan(&dc, 2, &sizes, &nb, &eb), -1);
	assert_non_null(strstr(eb.msg, "minimum_healthy 100%"));
}

/* Plan with a canary and compare (want terminated by 0). */
static void
expect_canary(enum deploy_config_kind kind, unsigned canary, bool pct,
    size_t n, const size_t *want)
{
	struct deploy_config	 dc = { .kind = kind, .canary = canary,
				    .canary_percent = pct, .bake = 60 };

	expect_sizes(&dc, n, want);
}

static void
rollout_canary_goes_first_then_the_config(void **state)
{
	/* canary 1, then HalfAtATime of 10: never more than 5 out. */
	expect_canary(DC_HALF_AT_A_TIME, 1, false, 10,
	    (const size_t[]){ 1, 5, 4, 0 });
	expect_canary(DC_ALL_AT_ONCE, 1, false, 4,
	    (const size_t[]){ 1, 3, 0 });
	expect_canary(DC_ONE_AT_A_TIME, 2, false, 4,
	    (const size_t[]){ 2, 1, 1, 0 });
	/* 10% of 25 rounds up to 3; of 3, at least one. */
	expect_canary(DC_ALL_AT_ONCE, 10, true, 25,
	    (const size_t[]){ 3, 22, 0 });
	expect_canary(DC_ALL_AT_ONCE, 10, true, 3,
	    (const size_t[]){ 1, 2, 0 });
	/* A canary as big as the group is the only batch. */
	expect_canary(DC_HALF_AT_A_TIME, 5, false, 3,
	    (const size_t[]){ 3, 0 });
	expect_canary(DC_ONE_AT_A_TIME, 1, false, 1,
	    (const size_t[]){ 1, 0 });
}

static void
rollout_canary_respects_minimum_healthy(void **state)
{
	struct deploy_config	 dc = { .kind = DC_MIN_HEALTHY,
				    .min_healthy = 75, .percent = true,
				    .canary = 1 };
	struct errbuf		 eb = { 0 };
	size_t			*sizes = NULL, nb = 0;

	/* 75% of 8 = 6 healthy: the canary, then 2 at a time. */
	assert_int_equal(rollout_plan(&dc, 8, &sizes, &nb, &eb), 0);
	assert_int_equal(nb, 5);
	assert_int_equal(sizes[0], 1);
	assert_int_equal(sizes[1], 2);
	assert_int_equal(sizes[4], 1);
	free(sizes);
	sizes = NULL;
	dc.canary = 3;
	assert_int_equal(rollout_plan(&dc, 8, &sizes, &nb, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_string_equal(eb.msg, "a canary of 3 would leave fewer than "
	    "minimum_healthy 75% of 8 instances healthy");
	assert_null(sizes);
}

static void
rollout_no_instances_is_no_batches(void **state)
{
	struct deploy_config	 dc = { .kind = DC_ONE_AT_A_TIME };
	struct errbuf		 eb = { 0 };
	size_t			*sizes = (size_t *)&dc, nb = 7;

	assert_int_equal(rollout_plan(&dc, 0, &sizes, &nb, &eb), 0);
	assert_null(sizes);
	assert_int_equal(nb, 0);
}

static void
rollout_refuses_too_many_instances(void **state)
{
	struct deploy_config	 dc = { .kind = DC_ALL_AT_ONCE };
	struct errbuf		 eb = { 0 };
	size_t			*sizes = NULL, nb = 0;

	assert_int_equal(rollout_plan(&dc, ROLLOUT_INSTANCES_MAX + 1, &sizes,
	    &nb, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rollout_all_at_once_is_one_batch),
		cmocka_unit_test(rollout_one_at_a_time_is_n_batches_of_one),
		cmocka_unit_test(
		    rollout_half_at_a_time_rounds_down_at_least_one),
		cmocka_unit_test(rollout_minimum_healthy_count_and_percent),
		cmocka_unit_test(
		    rollout_minimum_healthy_that_cannot_be_met_fails),
		cmocka_unit_test(rollout_canary_goes_first_then_the_config),
		cmocka_unit_test(rollout_canary_respects_minimum_healthy),
		cmocka_unit_test(rollout_no_instances_is_no_batches),
		cmocka_unit_test(rollout_refuses_too_many_instances),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
