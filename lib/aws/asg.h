/* SPDX-License-Identifier: ISC */
/*
 * asg.h: the EC2 Auto Scaling calls behind hookd's launch lifecycle hook,
 * over the Query protocol (Version 2011-01-01): complete a lifecycle
 * action (CONTINUE / ABANDON) or extend it with a heartbeat, look up an
 * instance's lifecycle state, and create or read lifecycle hooks.
 *
 * "No active Lifecycle Action found" (a ValidationError) means the action
 * was already completed or timed out; it is returned as its own result,
 * ASG_NO_ACTIVE_ACTION, not as a failure, so the daemon can carry on.
 */
#ifndef HOOKD_AWS_ASG_H
#define HOOKD_AWS_ASG_H

#include <stddef.h>

#include <libxml/tree.h>

#include "compat.h"

struct aws_client;
struct errbuf;

#define ASG_VERSION		"2011-01-01"
#define ASG_INSTANCES_MAX	1000	/* instances gathered by describe */
#define ASG_HOOKS_MAX		100	/* hooks per group (AWS allows 50) */

/* Returned (not an error) when there is no pending lifecycle action. */
#define ASG_NO_ACTIVE_ACTION	1

/* Which lifecycle action: group + hook, and instance id or token. */
struct asg_action {
	const char	*group;
	const char	*hook;
	const char	*instance_id;	/* one of these two */
	const char	*token;		/* LifecycleActionToken */
};

/*
 * CompleteLifecycleAction with result "CONTINUE" or "ABANDON".  Returns
 * 0, ASG_NO_ACTIVE_ACTION (eb holds AWS's message, kind EK_NOINPUT), or
 * -1 with eb set (EK_USAGE bad arguments, aws_request() kinds).  Blocks
 * for one request.
 */
int	 asg_complete_lifecycle_action(struct aws_client *,
	    const struct asg_action *, const char *result, struct errbuf *)
	    HOOKD_WUR;

/* RecordLifecycleActionHeartbeat; returns like the above. */
int	 asg_record_heartbeat(struct aws_client *, const struct asg_action *,
	    struct errbuf *) HOOKD_WUR;

/* One instance as DescribeAutoScalingInstances reports it; owned. */
struct asg_instance {
	char	*instance_id;
	char	*group;
	char	*availability_zone;
	char	*lifecycle_state;	/* "Pending:Wait", "InService" ... */
	char	*health_status;
};

struct asg_instances {
	struct asg_instance	*v;
	size_t			 n;
};

void	 asg_instances_release(struct asg_instances *);

/*
 * DescribeAutoScalingInstances for ids (n may be 0: every instance),
 * following NextToken.  Fills *ret (caller releases) on success; an
 * instance not in any group is simply absent.
 */
int	 asg_describe_instances(struct aws_client *, const char *const *ids,
	    size_t n, struct asg_instances *ret, struct errbuf *) HOOKD_WUR;

/* A lifecycle hook; owned strings when returned, borrowed when put. */
struct asg_hook {
	char		*name;
	char		*group;
	char		*transition;	/* autoscaling:EC2_INSTANCE_LAUNCHING */
	char		*target_arn;	/* NotificationTargetARN or NULL */
	char		*role_arn;
	char		*metadata;	/* NotificationMetadata or NULL */
	char		*default_result; /* CONTINUE / ABANDON */
	unsigned long	 heartbeat_timeout;	/* seconds; 0: default */
	unsigned long	 global_timeout;	/* seconds; reported only */
};

struct asg_hooks {
	struct asg_hook	*v;
	size_t		 n;
};

void	 asg_hooks_release(struct asg_hooks *);

/*
 * PutLifecycleHook (create or update) from h, whose strings are borrowed
 * (name, group required; transition defaults to the launching one).
 */
int	 asg_put_lifecycle_hook(struct aws_client *, const struct asg_hook *h,
	    struct errbuf *) HOOKD_WUR;

/* DescribeLifecycleHooks of group; fills *ret (caller releases). */
int	 asg_describe_lifecycle_hooks(struct aws_client *, const char *group,
	    struct asg_hooks *ret, struct errbuf *) HOOKD_WUR;

/*
 * The load balancers attached to Auto Scaling group asg_name: ELBv2
 * target group ARNs into *ret_target_groups (*ret_ntg of them) and
 * Classic Load Balancer names into *ret_classic (*ret_nclassic), from
 * DescribeTrafficSources, or where the server lacks that operation
 * (moto), DescribeLoadBalancerTargetGroups and DescribeLoadBalancers;
 * following NextToken.  Both lists are new arrays of new strings (free
 * each, then the array; NULL when empty), at most ASG_TRAFFIC_MAX
 * entries each.
 * Returns 0, or -1 with eb set and nothing returned.
 */
#define ASG_TRAFFIC_MAX		100
int	 asg_traffic_sources(struct aws_client *, const char *asg_name,
	    char ***ret_target_groups, size_t *ret_ntg, char ***ret_classic,
	    size_t *ret_nclassic, struct errbuf *) HOOKD_WUR;

/*
 * Reply parsers and the error classifier, exposed for tests.  The
 * parsers append to *ret / fill it on success (*ret_next: new string or
 * NULL) and return 0 or -1 with eb set (EK_PROTO).
 */
int	 asg_parse_instances(xmlDoc *, struct asg_instances *ret,
	    char **ret_next, struct errbuf *) HOOKD_WUR;
int	 asg_parse_hooks(xmlDoc *, struct asg_hooks *ret, struct errbuf *)
	    HOOKD_WUR;
/* Whether an error code/message pair says "no active lifecycle action". */
int	 asg_is_no_active_action(const char *code, const char *message);

/* Names gathered by asg_parse_traffic_sources(); owned strings. */
struct asg_names {
	char	**v;
	size_t	  n;
};

void	 asg_names_release(struct asg_names *);
/*
 * Parse a DescribeTrafficSources, DescribeLoadBalancerTargetGroups or
 * DescribeLoadBalancers reply (action names which), appending target
 * group ARNs to *tg and Classic names to *classic (no duplicates;
 * sources being removed are skipped); *ret_next as above.
 */
int	 asg_parse_traffic_sources(xmlDoc *, const char *action,
	    struct asg_names *tg, struct asg_names *classic, char **ret_next,
	    struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_AWS_ASG_H */
