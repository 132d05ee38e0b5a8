/* SPDX-License-Identifier: ISC */
/*
 * rollout.c: batch planning (see rollout.h).  The batch size comes from
 * config.c's deploy_config_batch_size() so that deployer.yml's meaning
 * lives in one place; this file only cuts the instance list.  With a
 * canary the first batch is the canary and the rest go in batches of
 * the size the whole group allows, so a HalfAtATime after a canary
 * never has more than half of the group out at once.
 */
#include "compat.h"

#include <stdlib.h>

#include "config.h"
#include "errbuf.h"
#include "rollout.h"
#include "xalloc.h"

#include "banned.h"

int
rollout_plan(const struct deploy_config *dc, size_t n, size_t **ret_sizes,
    size_t *ret_n, struct errbuf *eb)
{
	size_t	*sizes, bs, nb, cs, rest, k = 0;

	if (n > ROLLOUT_INSTANCES_MAX)
		return errbuf_set(eb, EK_DATA, "%zu instances is more than "
		    "%d", n, ROLLOUT_INSTANCES_MAX);
	if (n == 0) {
		*ret_sizes = NULL;
		*ret_n = 0;
		return 0;
	}
	if ((bs = deploy_config_batch_size(dc, n)) == 0)
		return errbuf_set(eb, EK_CONFIG, "minimum_healthy %u%s leaves "
		    "no instance to deploy to out of %zu", dc->min_healthy,
		    dc->percent ? "%" : "", n);
	if (bs > n)
		bs = n;
	/* The canary: its own first batch, then bs at a time. */
	cs = deploy_config_canary_size(dc, n);
	if (cs > bs && dc->kind == DC_MIN_HEALTHY)
		return errbuf_set(eb, EK_CONFIG, "a canary of %zu would leave "
		    "fewer than minimum_healthy %u%s of %zu instances healthy",
		    cs, dc->min_healthy, dc->percent ? "%" : "", n);
	rest = n - cs;
	nb = (cs > 0) + (rest + bs - 1) / bs;
	sizes = xcalloc(nb, sizeof(*sizes));
	if (cs > 0)
		sizes[k++] = cs;
	for (; k < nb; k++) {
		sizes[k] = rest < bs ? rest : bs;
		rest -= sizes[k];
	}
	*ret_sizes = sizes;
	*ret_n = nb;
	return 0;
}
