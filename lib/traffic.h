/* SPDX-License-Identifier: ISC */
/*
 * traffic.h: BlockTraffic and AllowTraffic, hookd's own two steps of
 * CodeDeploy's in-place lifecycle.  Block takes this instance out of
 * every load balancer it is behind (ELBv2 target groups, Classic Load
 * Balancers, an HAProxy server) and waits until each says it is out;
 * allow puts it back and waits until each says it is healthy.  Every
 * wait polls with backoff up to a deadline, and hands each poll's state
 * and reason to a callback (the deployment log, the progress document).
 *
 * What counts as out: ELBv2 "unused" (never "draining" or "initial"),
 * Classic "OutOfService" (or not registered), HAProxy no current session
 * and nothing queued (the server in "drain").  What counts as healthy:
 * "healthy", "InService", HAProxy status "UP" (or "no check").  HAProxy
 * keeps checking a drained server, so allow sets it "ready" only once
 * its check passes: a server that never becomes healthy is never given
 * traffic.  An ELB target that does not become healthy by the deadline
 * is deregistered again before allow fails.
 *
 * Not here: the AWS calls (aws/elb.c), the HAProxy protocol (haproxy.c),
 * or when the steps run (lifecycle.c, which sees none of this header).
 */
#ifndef HOOKD_TRAFFIC_H
#define HOOKD_TRAFFIC_H

#include <stdbool.h>
#include <stddef.h>

#include "compat.h"

struct aws_client;
struct config_traffic;
struct errbuf;

#define TRAFFIC_LB_MAX			10	/* per kind, in hookd.yml */
#define TRAFFIC_TIMEOUT_MAX		3600	/* s, drain and healthy */
#define TRAFFIC_HEALTHY_DEFAULT		600	/* s */
#define TRAFFIC_DRAIN_SLACK		30	/* s past the dereg delay */
#define TRAFFIC_DEREG_DELAY_DEFAULT	300	/* s, ELB's own default */
#define TRAFFIC_POLL_FIRST_MS		50	/* first re-poll */
#define TRAFFIC_POLL_HAPROXY_MAX_MS	100	/* a local socket */
#define TRAFFIC_POLL_ELB_MAX_MS		5000	/* an API call */

enum traffic_kind {
	TRAFFIC_TARGET_GROUP,	/* ELBv2 (ALB, NLB) */
	TRAFFIC_CLASSIC,	/* Classic Load Balancer */
	TRAFFIC_HAPROXY,
};

/* One poll of one load balancer (borrowed; valid during the callback). */
struct traffic_poll {
	const char	*step;		/* "draining", "waiting for healthy" */
	const char	*lb;		/* "target group ARN", "HAProxy B/S" */
	const char	*state;		/* "draining", "DRAIN, 3 sessions" */
	const char	*reason;	/* the LB's reason, or "" */
	bool		 done;		/* this one is out / healthy */
	double		 elapsed;	/* s since the step began */
};

struct traffic_lb {
	enum traffic_kind kind;
	char		*name;		/* ARN or name; HAProxy: backend */
	char		*server;	/* HAProxy server */
	char		*label;		/* for messages */
};

struct traffic {
	struct aws_client *aws;		/* borrowed; NULL: no ELB calls */
	char		*instance_id;
	char		*asg_name;	/* for from_auto_scaling_group */
	bool		 from_asg;
	bool		 resolved;	/* the ASG's sources were added */
	char		*haproxy_socket;
	struct traffic_lb *lbs;
	size_t		 nlbs;
	unsigned	 drain_timeout;	/* s; 0: the default */
	unsigned	 healthy_timeout; /* s; 0: TRAFFIC_HEALTHY_DEFAULT */
	unsigned	 poll_first_ms;	/* 0: TRAFFIC_POLL_FIRST_MS */
	unsigned	 poll_elb_max_ms; /* 0: TRAFFIC_POLL_ELB_MAX_MS */
	unsigned	 haproxy_timeout_ms; /* one command; 0: default */
	void		(*on_poll)(void *arg, const struct traffic_poll *);
	void		 *arg;
};

void	traffic_init(struct traffic *);
void	traffic_release(struct traffic *);

/*
 * Fill t from hookd.yml's traffic: block (borrowed; copied).  aws may
 * be NULL when the block names no ELB and from_auto_scaling_group is
 * off; instance_id names this instance to the load balancers (and is the
 * HAProxy server by default); asg_name (may be NULL) is its Auto Scaling
 * group, for from_auto_scaling_group.  Returns 0, or -1 with eb set
 * (EK_CONFIG: an ELB without AWS, from_auto_scaling_group without a
 * group, a bad HAProxy name).  Blocks for nothing.
 */
int	traffic_setup(struct traffic *, const struct config_traffic *,
	    struct aws_client *aws, const char *instance_id,
	    const char *asg_name, struct errbuf *);

/*
 * BlockTraffic: deregister from every load balancer, then wait until
 * every one says the instance is out, at most drain_timeout (default:
 * the longest target group deregistration delay, else 300 s, plus 30 s;
 * never above TRAFFIC_TIMEOUT_MAX).  Returns 0, or -1 with eb set naming
 * the load balancer, its state and reason (EK_TEMP: past the deadline or
 * stopped by proc_request_stop(); the kinds of the calls).  Blocks up to
 * the deadline.
 */
int	traffic_block(struct traffic *, struct errbuf *);

/*
 * AllowTraffic: register with every load balancer, then wait until
 * every one says the instance is healthy, at most healthy_timeout.
 * Past it, the instance is taken out again where it was put in, and -1
 * returned with eb naming the load balancer, its state and reason.
 * Returns 0, or -1 with eb set as traffic_block().
 */
int	traffic_allow(struct traffic *, struct errbuf *);

/* "target group", "Classic Load Balancer", "HAProxy". */
const char *traffic_kind_name(enum traffic_kind);

#endif /* HOOKD_TRAFFIC_H */
