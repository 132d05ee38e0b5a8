/* SPDX-License-Identifier: ISC */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "clock.h"

/* Sleep 'ms' milliseconds, resuming after a signal. */
static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		;
}

static void
mono_ms_since_counts_the_time_slept(void **state)
{
	struct timespec	 mark;
	long long	 ms;

	mono_now(&mark);
	assert_true(mono_ms_since(&mark) >= 0);
	sleep_ms(30);
	ms = mono_ms_since(&mark);
	assert_true(ms >= 30);
	assert_true(ms < 30000);
}

static void
mono_units_agree_and_never_go_back(void **state)
{
	uint64_t	 ns0, ns1;
	int64_t		 ms0, ms1;
	double		 s0, s1;

	ns0 = mono_ns();
	ms0 = mono_ms();
	s0 = mono_sec();
	sleep_ms(20);
	ns1 = mono_ns();
	ms1 = mono_ms();
	s1 = mono_sec();
	assert_true(ns1 - ns0 >= 20000000ULL);
	assert_true(ms1 - ms0 >= 20);
	assert_true(s1 - s0 >= 0.02);
	/* The three read one clock: ms is ns / 10^6, sec is ns / 10^9. */
	assert_true(ms0 <= (int64_t)(ns1 / 1000000));
	assert_true((uint64_t)ms0 >= ns0 / 1000000);
	assert_true(s0 >= (double)ns0 / 1e9 - 0.001);
	assert_true(s1 <= (double)mono_ns() / 1e9 + 0.001);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mono_ms_since_counts_the_time_slept),
		cmocka_unit_test(mono_units_agree_and_never_go_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
