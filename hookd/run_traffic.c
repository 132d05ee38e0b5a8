/* SPDX-License-Identifier: ISC */
/*
 * run_traffic.c: the daemon's side of traffic control (issue 16).  From
 * hookd.yml's traffic: block it builds a struct traffic (lib/traffic.c)
 * and hands the engine BlockTraffic and AllowTraffic as a struct
 * deploy_traffic, so that lib/lifecycle.c sees no load balancer.  Each
 * poll becomes one line through the engine (the deployment log, the
 * observer's on_traffic: the journal and the progress document).
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/asg.h"
#include "config.h"
#include "errbuf.h"
#include "hookd.h"
#include "lifecycle.h"
#include "log.h"
#include "traffic.h"
#include "xalloc.h"

#include "banned.h"

struct hookd_traffic {
	struct traffic		 t;
	struct deploy_traffic	 ops;
	void			(*say)(void *, const char *);
	void			*sarg;
};

static void
on_poll(void *arg, const struct traffic_poll *tp)
{
	struct hookd_traffic	*ht = arg;
	char			 line[768];

	/*
	 * No elapsed time: the log lines have theirs, and an unchanged line
	 * is not repeated in the journal or the progress document.
	 */
	(void)snprintf(line, sizeof(line), "%s: %s: %s%s%s%s", tp->step,
	    tp->lb, tp->state, tp->reason[0] != '\0' ? " (" : "",
	    tp->reason, tp->reason[0] != '\0' ? ")" : "");
	if (ht->say != NULL)
		ht->say(ht->sarg, line);
}

static int
ht_block(void *arg, void (*say)(void *, const char *), void *sarg,
    struct errbuf *eb)
{
	struct hookd_traffic	*ht = arg;

	ht->say = say;
	ht->sarg = sarg;
	return traffic_block(&ht->t, eb);
}

static int
ht_allow(void *arg, void (*say)(void *, const char *), void *sarg,
    struct errbuf *eb)
{
	struct hookd_traffic	*ht = arg;

	ht->say = say;
	ht->sarg = sarg;
	return traffic_allow(&ht->t, eb);
}

/* The Auto Scaling group of this instance (new string), or NULL. */
static char *
asg_of(struct aws_client *aws, const char *instance, struct errbuf *eb)
{
	struct asg_instances	 ai = { 0 };
	char			*g = NULL;

	if (asg_describe_instances(aws, &instance, 1, &ai, eb) == -1)
		return NULL;
	for (size_t i = 0; i < ai.n; i++)
		if (ai.v[i].group != NULL && strcmp(ai.v[i].instance_id,
		    instance) == 0)
			g = xstrdup(ai.v[i].group);
	asg_instances_release(&ai);
	if (g == NULL)
		errbuf_set(eb, EK_CONFIG, "traffic: from_auto_scaling_group: "
		    "instance %s is not in an Auto Scaling group", instance);
	return g;
}

struct hookd_traffic *
hookd_traffic_new(const struct config *cfg, struct aws_client *aws,
    const char *instance, struct errbuf *eb)
{
	struct hookd_traffic	*ht;
	char			*asg = NULL;

	if (!cfg->traffic.enabled)
		return NULL;
	if (cfg->traffic.from_auto_scaling_group && aws != NULL &&
	    (asg = asg_of(aws, instance, eb)) == NULL)
		return NULL;
	ht = xcalloc(1, sizeof(*ht));
	traffic_init(&ht->t);
	if (traffic_setup(&ht->t, &cfg->traffic, aws, instance, asg,
	    eb) == -1) {
		free(asg);
		hookd_traffic_free(ht);
		return NULL;
	}
	free(asg);
	ht->t.on_poll = on_poll;
	ht->t.arg = ht;
	ht->ops.block = ht_block;
	ht->ops.allow = ht_allow;
	ht->ops.arg = ht;
	for (size_t i = 0; i < ht->t.nlbs; i++)
		log_info("traffic control: %s", ht->t.lbs[i].label);
	if (ht->t.from_asg)
		log_info("traffic control: and the load balancers of Auto "
		    "Scaling group %s", ht->t.asg_name);
	return ht;
}

const struct deploy_traffic *
hookd_traffic_ops(const struct hookd_traffic *ht)
{
	return ht != NULL ? &ht->ops : NULL;
}

void
hookd_traffic_free(struct hookd_traffic *ht)
{
	if (ht == NULL)
		return;
	traffic_release(&ht->t);
	free(ht);
}
