/* SPDX-License-Identifier: ISC */
/*
 * traffic.c: BlockTraffic and AllowTraffic over ELBv2 target groups,
 * Classic Load Balancers and HAProxy (see traffic.h for what "out" and
 * "healthy" mean).  One wait loop serves both steps: every load balancer
 * not yet done is polled on its own backoff (first re-poll after
 * poll_first_ms, doubling up to a cap: HAProxy is a local socket, ELB an
 * API call), until all are done or the deadline passes.  No fixed
 * delay is ever sat out: a step ends at the first poll that finds every
 * load balancer done.
 *
 * lib/ rule: no logging above debug; each poll goes to on_poll.
 */
#include "compat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/elb.h"
#include "clock.h"
#include "config.h"
#include "errbuf.h"
#include "haproxy.h"
#include "log.h"
#include "proc.h"
#include "traffic.h"
#include "xalloc.h"

#include "banned.h"

#define STOP_NAP_MS	100	/* the longest sleep between stop checks */

enum step { STEP_BLOCK, STEP_ALLOW };

/* One load balancer's progress in a step. */
struct pending {
	bool		 done;
	bool		 readied;	/* HAProxy: "ready" sent (allow) */
	long		 next_ms;
	long		 interval_ms;
	char		 state[64];
	char		 reason[256];
};

const char *
traffic_kind_name(enum traffic_kind k)
{
	switch (k) {
	case TRAFFIC_TARGET_GROUP:
		return "target group";
	case TRAFFIC_CLASSIC:
		return "Classic Load Balancer";
	default:
		return "HAProxy";
	}
}

void
traffic_init(struct traffic *t)
{
	memset(t, 0, sizeof(*t));
}

void
traffic_release(struct traffic *t)
{
	for (size_t i = 0; i < t->nlbs; i++) {
		free(t->lbs[i].name);
		free(t->lbs[i].server);
		free(t->lbs[i].label);
	}
	free(t->lbs);
	free(t->instance_id);
	free(t->asg_name);
	free(t->haproxy_socket);
	traffic_init(t);
}

static void
add_lb(struct traffic *t, enum traffic_kind kind, const char *name,
    const char *server)
{
	struct traffic_lb	*lb;

	for (size_t i = 0; i < t->nlbs; i++)
		if (t->lbs[i].kind == kind && strcmp(t->lbs[i].name,
		    name) == 0)
			return;	/* named twice, or also the ASG's */
	t->lbs = xreallocarray(t->lbs, t->nlbs + 1, sizeof(*t->lbs));
	lb = &t->lbs[t->nlbs++];
	lb->kind = kind;
	lb->name = xstrdup(name);
	lb->server = server != NULL ? xstrdup(server) : NULL;
	lb->label = kind == TRAFFIC_HAPROXY ? xasprintf("HAProxy %s/%s",
	    name, server) : xasprintf("%s %s", traffic_kind_name(kind), name);
}

int
traffic_setup(struct traffic *t, const struct config_traffic *ct,
    struct aws_client *aws, const char *instance_id, const char *asg_name,
    struct errbuf *eb)
{
	const char	*server;

	if (instance_id == NULL || instance_id[0] == '\0')
		return errbuf_set(eb, EK_BUG, "traffic: no instance id");
	if (aws == NULL && (ct->ntarget_groups > 0 ||
	    ct->nload_balancers > 0 || ct->from_auto_scaling_group))
		return errbuf_set(eb, EK_CONFIG, "traffic: the load balancers "
		    "of hookd.yml need AWS, and no AWS client could be made");
	if (ct->from_auto_scaling_group && (asg_name == NULL ||
	    asg_name[0] == '\0'))
		return errbuf_set(eb, EK_CONFIG, "traffic: "
		    "from_auto_scaling_group: instance %s is not in an Auto "
		    "Scaling group", instance_id);
	server = ct->haproxy_server != NULL ? ct->haproxy_server :
	    instance_id;
	if (ct->haproxy_socket != NULL && (!haproxy_name_ok(
	    ct->haproxy_backend) || !haproxy_name_ok(server)))
		return errbuf_set(eb, EK_CONFIG, "traffic: haproxy: '%s/%s' "
		    "is not a usable backend/server name",
		    ct->haproxy_backend != NULL ? ct->haproxy_backend : "",
		    server);
	t->aws = aws;
	t->instance_id = xstrdup(instance_id);
	t->asg_name = asg_name != NULL ? xstrdup(asg_name) : NULL;
	t->from_asg = ct->from_auto_scaling_group;
	t->drain_timeout = ct->drain_timeout;
	t->healthy_timeout = ct->healthy_timeout;
	for (size_t i = 0; i < ct->ntarget_groups; i++)
		add_lb(t, TRAFFIC_TARGET_GROUP, ct->target_groups[i], NULL);
	for (size_t i = 0; i < ct->nload_balancers; i++)
		add_lb(t, TRAFFIC_CLASSIC, ct->load_balancers[i], NULL);
	if (ct->haproxy_socket != NULL) {
		t->haproxy_socket = xstrdup(ct->haproxy_socket);
		add_lb(t, TRAFFIC_HAPROXY, ct->haproxy_backend, server);
	}
	return 0;
}

/* Add the target groups and CLBs attached to the instance's ASG, once. */
static int
resolve(struct traffic *t, struct errbuf *eb)
{
	char	**tg = NULL, **clb = NULL;
	size_t	 ntg = 0, nclb = 0;

	if (!t->from_asg || t->resolved)
		return 0;
	if (asg_traffic_sources(t->aws, t->asg_name, &tg, &ntg, &clb, &nclb,
	    eb) == -1)
		return errbuf_prefix(eb, "traffic: the load balancers of Auto "
		    "Scaling group %s: ", t->asg_name);
	for (size_t i = 0; i < ntg; i++) {
		add_lb(t, TRAFFIC_TARGET_GROUP, tg[i], NULL);
		free(tg[i]);
	}
	for (size_t i = 0; i < nclb; i++) {
		add_lb(t, TRAFFIC_CLASSIC, clb[i], NULL);
		free(clb[i]);
	}
	free(tg);
	free(clb);
	t->resolved = true;
	return 0;
}

static enum elb_kind
elb_kind_of(const struct traffic_lb *lb)
{
	return lb->kind == TRAFFIC_CLASSIC ? ELB_CLASSIC :
	    ELB_V2_TARGET_GROUP;
}

/* Deregister (out) or register (in) with one load balancer. */
static int
lb_switch(struct traffic *t, const struct traffic_lb *lb, bool in,
    struct errbuf *eb)
{
	int	 r;

	if (lb->kind == TRAFFIC_HAPROXY)
		/* Allow readies the server only once its check passes. */
		r = in ? 0 : haproxy_set_state(t->haproxy_socket, lb->name,
		    lb->server, "drain", t->haproxy_timeout_ms, eb);
	else if (in)
		r = elb_register(t->aws, elb_kind_of(lb), lb->name,
		    t->instance_id, eb);
	else
		r = elb_deregister(t->aws, elb_kind_of(lb), lb->name,
		    t->instance_id, eb);
	if (r == -1)
		return errbuf_prefix(eb, "%s: %s %s: ", lb->label, in ?
		    "registering" : "deregistering", t->instance_id);
	return 0;
}

/*
 * Poll one HAProxy server.  Block: out once nothing is current or
 * queued.  Allow: while drained, wait for the check to pass ("DRAIN":
 * up but drained), then "ready", then "UP".
 */
static int
poll_haproxy(struct traffic *t, const struct traffic_lb *lb, enum step st,
    struct pending *p, struct errbuf *eb)
{
	struct haproxy_server	 hs;

	if (haproxy_server_stat(t->haproxy_socket, lb->name, lb->server,
	    t->haproxy_timeout_ms, &hs, eb) == -1)
		return -1;
	if (st == STEP_ALLOW && !p->readied && (strcmp(hs.status,
	    "DRAIN") == 0 || haproxy_server_up(&hs))) {
		if (haproxy_set_state(t->haproxy_socket, lb->name, lb->server,
		    "ready", t->haproxy_timeout_ms, eb) == -1)
			return -1;
		p->readied = true;
		if (haproxy_server_stat(t->haproxy_socket, lb->name,
		    lb->server, t->haproxy_timeout_ms, &hs, eb) == -1)
			return -1;
	}
	if (st == STEP_BLOCK) {
		(void)snprintf(p->state, sizeof(p->state), "%s, %lu "
		    "session%s%s", hs.status, hs.scur, hs.scur == 1 ? "" : "s",
		    hs.qcur > 0 ? ", queued" : "");
		p->done = hs.scur == 0 && hs.qcur == 0;
	} else {
		(void)strlcpy(p->state, hs.status, sizeof(p->state));
		p->done = p->readied && haproxy_server_up(&hs);
	}
	if (hs.check[0] != '\0')
		(void)snprintf(p->reason, sizeof(p->reason), "check %s%s%s",
		    hs.check, hs.check_desc[0] != '\0' ? ": " : "",
		    hs.check_desc);
	else
		p->reason[0] = '\0';
	return 0;
}

static int
poll_lb(struct traffic *t, const struct traffic_lb *lb, enum step st,
    struct pending *p, struct errbuf *eb)
{
	struct elb_health	 h;
	const char		*want;

	if (lb->kind == TRAFFIC_HAPROXY)
		return poll_haproxy(t, lb, st, p, eb);
	if (elb_health(t->aws, elb_kind_of(lb), lb->name, t->instance_id, &h,
	    eb) == -1)
		return -1;
	(void)strlcpy(p->state, h.state, sizeof(p->state));
	(void)strlcpy(p->reason, h.reason, sizeof(p->reason));
	if (lb->kind == TRAFFIC_TARGET_GROUP)
		want = st == STEP_BLOCK ? "unused" : "healthy";
	else
		want = st == STEP_BLOCK ? "OutOfService" : "InService";
	p->done = strcmp(h.state, want) == 0;
	return 0;
}

/* Whether a failed poll is worth polling again before the deadline. */
static bool
transient(const struct errbuf *eb)
{
	return eb->kind == EK_TEMP || eb->kind == EK_UNAVAIL;
}

/* The deadline of a step, in seconds. */
static unsigned
step_timeout(struct traffic *t, enum step st)
{
	struct errbuf	 eb;
	unsigned	 v, delay, hc, longest = 0;
	bool		 any = false;

	if (st == STEP_ALLOW)
		v = t->healthy_timeout != 0 ? t->healthy_timeout :
		    TRAFFIC_HEALTHY_DEFAULT;
	else if (t->drain_timeout != 0)
		v = t->drain_timeout;
	else {
		for (size_t i = 0; i < t->nlbs; i++) {
			if (t->lbs[i].kind != TRAFFIC_TARGET_GROUP)
				continue;
			if (elb_target_group_timing(t->aws, t->lbs[i].name,
			    &delay, &hc, &eb) == -1) {
				log_debug("traffic: %s: %s; taking %u s",
				    t->lbs[i].label, eb.msg,
				    TRAFFIC_DEREG_DELAY_DEFAULT);
				delay = TRAFFIC_DEREG_DELAY_DEFAULT;
			}
			if (!any || delay > longest)
				longest = delay;
			any = true;
		}
		v = (any ? longest : TRAFFIC_DEREG_DELAY_DEFAULT) +
		    TRAFFIC_DRAIN_SLACK;
	}
	return v > TRAFFIC_TIMEOUT_MAX ? TRAFFIC_TIMEOUT_MAX : v;
}

static void
report(struct traffic *t, const struct traffic_lb *lb, enum step st,
    const struct pending *p, long t0)
{
	struct traffic_poll	 tp;

	if (t->on_poll == NULL)
		return;
	tp.step = st == STEP_BLOCK ? "draining" : "waiting for healthy";
	tp.lb = lb->label;
	tp.state = p->state;
	tp.reason = p->reason;
	tp.done = p->done;
	tp.elapsed = (double)(mono_ms() - t0) / 1000.0;
	t->on_poll(t->arg, &tp);
}

/* Sleep until 'until' (monotonic ms), waking for a stop request. */
static bool
nap_until(long until)
{
	struct timespec	 ts;
	long		 left;

	while ((left = until - mono_ms()) > 0) {
		if (proc_stop_requested())
			return false;
		if (left > STOP_NAP_MS)
			left = STOP_NAP_MS;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000L;
		(void)nanosleep(&ts, NULL);
	}
	return !proc_stop_requested();
}

/* Poll every load balancer until all are done or the deadline passes. */
static int
wait_all(struct traffic *t, enum step st, unsigned timeout,
    struct pending *pv, struct errbuf *eb)
{
	const struct traffic_lb	*lb;
	struct errbuf		 peb;
	struct pending		*p;
	long			 t0, deadline, now, next, cap;
	size_t			 left, first = 0;
	unsigned		 pfirst;

	t0 = mono_ms();
	deadline = t0 + (long)timeout * 1000;
	pfirst = t->poll_first_ms != 0 ? t->poll_first_ms :
	    TRAFFIC_POLL_FIRST_MS;
	for (size_t i = 0; i < t->nlbs; i++) {
		pv[i].next_ms = t0;
		pv[i].interval_ms = pfirst;
	}
	for (;;) {
		now = mono_ms();
		left = 0;
		next = deadline;
		for (size_t i = 0; i < t->nlbs; i++) {
			p = &pv[i];
			lb = &t->lbs[i];
			if (p->done)
				continue;
			if (p->next_ms <= now) {
				if (poll_lb(t, lb, st, p, &peb) == -1) {
					if (!transient(&peb)) {
						*eb = peb;
						return -1;
					}
					(void)strlcpy(p->state, "unreachable",
					    sizeof(p->state));
					(void)strlcpy(p->reason, peb.msg,
					    sizeof(p->reason));
					p->done = false;
				}
				report(t, lb, st, p, t0);
				cap = lb->kind == TRAFFIC_HAPROXY ?
				    TRAFFIC_POLL_HAPROXY_MAX_MS :
				    t->poll_elb_max_ms != 0 ?
				    t->poll_elb_max_ms :
				    TRAFFIC_POLL_ELB_MAX_MS;
				p->next_ms = mono_ms() + p->interval_ms;
				p->interval_ms = p->interval_ms * 2 > cap ?
				    cap : p->interval_ms * 2;
			}
			if (!p->done) {
				if (left++ == 0)
					first = i;
				if (p->next_ms < next)
					next = p->next_ms;
			}
		}
		if (left == 0)
			return 0;
		if (mono_ms() >= deadline) {
			p = &pv[first];
			return errbuf_set(eb, EK_TEMP, "%s: still %s after "
			    "%u s (%s)%s", t->lbs[first].label, p->state,
			    timeout, p->reason[0] != '\0' ? p->reason :
			    "no reason given", left > 1 ? ", and others" : "");
		}
		if (!nap_until(next > deadline ? deadline : next))
			return errbuf_set(eb, EK_TEMP, "%s: stopped while %s",
			    t->lbs[first].label, st == STEP_BLOCK ?
			    "draining" : "waiting for healthy");
	}
}

int
traffic_block(struct traffic *t, struct errbuf *eb)
{
	struct pending	*pv = NULL;
	int		 ret = -1;

	if (resolve(t, eb) == -1)
		return -1;
	for (size_t i = 0; i < t->nlbs; i++)
		if (lb_switch(t, &t->lbs[i], false, eb) == -1)
			return -1;
	if (t->nlbs == 0)
		return 0;
	pv = xcalloc(t->nlbs, sizeof(*pv));
	ret = wait_all(t, STEP_BLOCK, step_timeout(t, STEP_BLOCK), pv, eb);
	if (ret == -1)
		errbuf_prefix(eb, "BlockTraffic: ");
	free(pv);
	return ret;
}

int
traffic_allow(struct traffic *t, struct errbuf *eb)
{
	struct pending	*pv = NULL;
	struct errbuf	 eb2;
	int		 ret = -1;

	if (resolve(t, eb) == -1)
		return -1;
	for (size_t i = 0; i < t->nlbs; i++)
		if (lb_switch(t, &t->lbs[i], true, eb) == -1)
			return -1;
	if (t->nlbs == 0)
		return 0;
	pv = xcalloc(t->nlbs, sizeof(*pv));
	ret = wait_all(t, STEP_ALLOW, step_timeout(t, STEP_ALLOW), pv, eb);
	if (ret == -1) {
		/*
		 * Never leave an instance that did not become healthy taking
		 * traffic: out again wherever it was put in, also where it
		 * was healthy (its release is the trouble).  HAProxy was
		 * readied only if its check passed.
		 */
		for (size_t i = 0; i < t->nlbs; i++) {
			if (t->lbs[i].kind == TRAFFIC_HAPROXY &&
			    !pv[i].readied)
				continue;
			if (lb_switch(t, &t->lbs[i], false, &eb2) == -1)
				log_debug("traffic: %s", eb2.msg);
		}
		errbuf_prefix(eb, "AllowTraffic: ");
	}
	free(pv);
	return ret;
}
