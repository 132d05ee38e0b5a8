/* SPDX-License-Identifier: ISC */
/*
 * rollout.c: batch planning (see rollout.h).  The batch size comes from
 * config.c's deploy_config_batch_size() so that deployer.yml's meaning
 * lives in one place; this file only cuts the instance list.
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
	size_t	*sizes, bs, nb;

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
	nb = (n + bs - 1) / bs;
	sizes = xcalloc(nb, sizeof(*sizes));
	for (size_t i = 0; i < nb; i++)
		sizes[i] = i + 1 < nb ? bs : n - bs * (nb - 1);
	*ret_sizes = sizes;
	*ret_n = nb;
	return 0;
}
