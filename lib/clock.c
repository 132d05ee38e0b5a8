/* SPDX-License-Identifier: ISC */
/*
 * clock.c: the monotonic clock (see clock.h).  clock_gettime() cannot
 * fail for CLOCK_MONOTONIC with a valid pointer, so nothing here does.
 */
#include "compat.h"

#include <stdint.h>
#include <time.h>

#include "clock.h"

#include "banned.h"

void
mono_now(struct timespec *t)
{
	(void)clock_gettime(CLOCK_MONOTONIC, t);
}

long long
mono_ms_since(const struct timespec *t)
{
	struct timespec	 now;

	mono_now(&now);
	return (now.tv_sec - t->tv_sec) * 1000LL +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

int64_t
mono_ms(void)
{
	struct timespec	 ts;

	mono_now(&ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
mono_ns(void)
{
	struct timespec	 ts;

	mono_now(&ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

double
mono_sec(void)
{
	struct timespec	 ts;

	mono_now(&ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
