/* SPDX-License-Identifier: ISC */
/*
 * queue_int.h: seams of the queue backends for the unit tests only.
 */
#ifndef HOOKD_QUEUE_INT_H
#define HOOKD_QUEUE_INT_H

#include <time.h>

#include "compat.h"

struct queue;

/*
 * Replace the spool's wall clock (claim deadlines) with 'now' (NULL:
 * time(3) again), so tests can move time instead of sleeping.
 */
void	queue_spool_set_clock(struct queue *, time_t (*now)(void));

#endif /* HOOKD_QUEUE_INT_H */
