/* SPDX-License-Identifier: ISC */
/*
 * rollout.h: batch planning for a deployment (DESIGN.md "Queues and
 * fan-out").  Pure: given a deployment config and a number of instances,
 * how many go in each batch.  No I/O; the deployer sends and waits.
 */
#ifndef HOOKD_ROLLOUT_H
#define HOOKD_ROLLOUT_H

#include <stddef.h>

#include "compat.h"

struct deploy_config;
struct errbuf;

#define ROLLOUT_INSTANCES_MAX	10000	/* instances in one deployment */

/*
 * Split n instances into batches under dc: every batch takes
 * deploy_config_batch_size(dc, n) instances, the last one the rest
 * (AllAtOnce: one batch; HalfAtATime: n/2 at a time, at least 1;
 * OneAtATime: n batches of 1; minimum_healthy N or N%: n minus the
 * healthy count at a time).  With a canary (dc->canary) the first
 * batch holds deploy_config_canary_size() instances and the rest follow
 * in batches of that same size, computed on n (canary 1 then HalfAtATime
 * of 10: 1, 5, 4); a canary bigger than minimum_healthy allows is an
 * EK_CONFIG error.  Returns 0 with *ret_sizes a new array
 * (caller frees) of *ret_n batch sizes, summing to n; n == 0 gives no
 * batches and *ret_sizes NULL.  -1 with EK_CONFIG when dc cannot be met
 * ("minimum_healthy 3 leaves no instance to deploy to out of 3"), EK_DATA
 * past ROLLOUT_INSTANCES_MAX.  Does not block.
 */
int	rollout_plan(const struct deploy_config *dc, size_t n,
	    size_t **ret_sizes, size_t *ret_n, struct errbuf *);

#endif /* HOOKD_ROLLOUT_H */
