/* SPDX-License-Identifier: ISC */
/*
 * clock.h: the monotonic clock (CLOCK_MONOTONIC), for timeouts, periods
 * and durations: the one place that reads it.  Wall-clock time (for
 * timestamps a user reads) is not here.
 */
#ifndef HOOKD_CLOCK_H
#define HOOKD_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Store the monotonic time now in *t (a mark for mono_ms_since()). */
void		mono_now(struct timespec *t);

/* Milliseconds from the mark *t (set by mono_now()) to now. */
long long	mono_ms_since(const struct timespec *t);

/* The monotonic time now, in milliseconds, nanoseconds and seconds. */
int64_t		mono_ms(void);
uint64_t	mono_ns(void);
double		mono_sec(void);

#endif /* HOOKD_CLOCK_H */
