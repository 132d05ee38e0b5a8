/* SPDX-License-Identifier: ISC */
/*
 * asg_bg.h: the Auto Scaling group calls of a blue/green rollout, over
 * the Query protocol (Version 2011-01-01): describe groups (sizes,
 * launch template or configuration, subnets, health check, tags,
 * instances with their lifecycle state, suspended processes, attached
 * target groups and Classic Load Balancers), create a group, change its
 * sizes, delete it, suspend and resume its processes, and attach or
 * detach target groups and Classic Load Balancers, and the one-time
 * scheduled action that empties a group kept on standby.
 *
 * Not here: the rollout's order and waits (deployer/bluegreen.c), nor
 * the lifecycle-action calls (asg.h).  DeleteAutoScalingGroup is never
 * sent with ForceDelete: a group that still has instances is refused by
 * AWS ("ResourceInUse"), so a caller scales it to zero and waits first.
 */
#ifndef HOOKD_AWS_ASG_BG_H
#define HOOKD_AWS_ASG_BG_H

#include <stddef.h>

#include <libxml/tree.h>

#include "compat.h"

struct aws_client;
struct errbuf;

#define ASG_GROUPS_MAX		1000	/* groups gathered by describe */
#define ASG_GROUP_INSTANCES_MAX	2000	/* instances of one group */
#define ASG_ATTACH_MAX		10	/* TGs or CLBs per attach call */
#define ASG_TAGS_MAX		50	/* tags per group (AWS's limit) */
#define ASG_SIZE_UNSET		(-1L)	/* asg_update_sizes(): keep as is */

/* A group tag; strings owned when described, borrowed when created. */
struct asg_tag {
	char	*key;
	char	*value;
	int	 propagate;		/* PropagateAtLaunch */
};

/* A string list; owned when described, borrowed when created. */
struct asg_strs {
	char	**v;
	size_t	  n;
};

/* One instance of a group as DescribeAutoScalingGroups reports it. */
struct asg_group_instance {
	char	*instance_id;
	char	*availability_zone;
	char	*lifecycle_state;	/* "Pending:Wait", "InService" ... */
	char	*health_status;		/* "Healthy" / "Unhealthy" */
};

/*
 * An Auto Scaling group.  Described: every string owned (release with
 * asg_group_release()).  Passed to asg_create_group(): borrowed, and
 * only the creation fields are read (name .. tags, target_groups,
 * load_balancers); NULL / 0 fields are left to AWS's defaults.
 */
struct asg_group {
	char			*name;
	char			*arn;		/* described only */
	char			*launch_configuration;
	char			*lt_id;		/* LaunchTemplateId */
	char			*lt_name;	/* LaunchTemplateName */
	char			*lt_version;	/* .Version ("$Latest" ...) */
	int			 mixed_instances; /* has MixedInstancesPolicy */
	long			 min_size;
	long			 max_size;
	long			 desired;
	char			*vpc_zone_identifier;	/* "subnet-a,..." */
	struct asg_strs		 availability_zones;
	char			*health_check_type;	/* "EC2" / "ELB" */
	long			 health_check_grace;	/* seconds; -1 unset */
	long			 default_cooldown;	/* seconds; -1 unset */
	struct asg_strs		 termination_policies;
	struct asg_tag		*tags;
	size_t			 ntags;
	struct asg_strs		 target_groups;		/* TargetGroupARNs */
	struct asg_strs		 load_balancers;	/* LoadBalancerNames */
	struct asg_strs		 suspended;	/* described: process names */
	struct asg_group_instance *instances;	/* described only */
	size_t			 ninstances;
	char			*status;	/* "Delete in progress" */
};

struct asg_groups {
	struct asg_group	*v;
	size_t			 n;
};

/* Zero a group for asg_create_group() (sizes and times unset). */
void	 asg_group_init(struct asg_group *);
void	 asg_group_release(struct asg_group *);
void	 asg_groups_release(struct asg_groups *);
/* The value of tag key of g, borrowed, or NULL. */
const char *asg_group_tag(const struct asg_group *g, const char *key);
/* How many of g's instances are in lifecycle state state. */
size_t	 asg_group_count(const struct asg_group *g, const char *state);

/*
 * DescribeAutoScalingGroups of names (n 0: every group), following
 * NextToken.  A name that does not exist is simply absent from *ret.
 * Fills *ret (caller releases) and returns 0, or -1 with eb set.
 */
int	 asg_describe_groups(struct aws_client *, const char *const *names,
	    size_t n, struct asg_groups *ret, struct errbuf *) HOOKD_WUR;

/*
 * The groups tagged key=value (DescribeAutoScalingGroups with a
 * "tag:KEY" filter), following NextToken.  Returns like the above.
 */
int	 asg_find_groups_by_tag(struct aws_client *, const char *key,
	    const char *value, struct asg_groups *ret, struct errbuf *)
	    HOOKD_WUR;

/*
 * One group by name: 0 and *ret filled (release it), ASG_NOT_FOUND with
 * eb set (EK_NOINPUT "autoscaling group 'x': not found") when it does
 * not exist, or -1 with eb set.
 */
#define ASG_NOT_FOUND	2
int	 asg_describe_group(struct aws_client *, const char *name,
	    struct asg_group *ret, struct errbuf *) HOOKD_WUR;

/*
 * CreateAutoScalingGroup from spec (borrowed): the name, exactly one of a
 * launch configuration or a launch template (id or name, optional
 * version), min/max/desired (required), subnets or zones, the health
 * check, termination policies, tags (each with ResourceId = the new
 * group), and target groups / CLBs when given.  A group with a
 * MixedInstancesPolicy cannot be copied: EK_USAGE.
 */
int	 asg_create_group(struct aws_client *, const struct asg_group *spec,
	    struct errbuf *) HOOKD_WUR;

/*
 * UpdateAutoScalingGroup of name's sizes; ASG_SIZE_UNSET leaves one as
 * it is.  Scale to zero: (0, ASG_SIZE_UNSET, 0).
 */
int	 asg_update_sizes(struct aws_client *, const char *name, long min,
	    long max, long desired, struct errbuf *) HOOKD_WUR;

/*
 * DeleteAutoScalingGroup, without ForceDelete.  ASG_NOT_FOUND (eb set)
 * when it is already gone; a group with instances fails (AWS:
 * ResourceInUse / ScalingActivityInProgress).
 */
int	 asg_delete_group(struct aws_client *, const char *name,
	    struct errbuf *) HOOKD_WUR;

/* SuspendProcesses / ResumeProcesses of procs (n 0: every process). */
int	 asg_suspend_processes(struct aws_client *, const char *name,
	    const char *const *procs, size_t n, struct errbuf *) HOOKD_WUR;
int	 asg_resume_processes(struct aws_client *, const char *name,
	    const char *const *procs, size_t n, struct errbuf *) HOOKD_WUR;

/*
 * AttachLoadBalancerTargetGroups / DetachLoadBalancerTargetGroups of
 * arns, and AttachLoadBalancers / DetachLoadBalancers of CLB names; at
 * most ASG_ATTACH_MAX at a time (EK_USAGE beyond); n 0 sends nothing.
 */
int	 asg_attach_target_groups(struct aws_client *, const char *name,
	    const char *const *arns, size_t n, struct errbuf *) HOOKD_WUR;
int	 asg_detach_target_groups(struct aws_client *, const char *name,
	    const char *const *arns, size_t n, struct errbuf *) HOOKD_WUR;
int	 asg_attach_load_balancers(struct aws_client *, const char *name,
	    const char *const *lbs, size_t n, struct errbuf *) HOOKD_WUR;
int	 asg_detach_load_balancers(struct aws_client *, const char *name,
	    const char *const *lbs, size_t n, struct errbuf *) HOOKD_WUR;

/*
 * PutScheduledUpdateGroupAction: a one-time action 'action' on group
 * name at start (ISO 8601 UTC, "2026-01-02T03:04:05Z") setting MinSize,
 * MaxSize and DesiredCapacity to 0, so Auto Scaling itself empties the
 * group then (AWS deletes a one-time action once it ran, and a group's
 * actions with the group).  A start in the past is refused by AWS.
 */
int	 asg_put_scheduled_zero(struct aws_client *, const char *name,
	    const char *action, const char *start, struct errbuf *) HOOKD_WUR;

/*
 * DeleteScheduledAction; ASG_NOT_FOUND (eb set, EK_NOINPUT) when the
 * action or the group is gone already.
 */
int	 asg_delete_scheduled_action(struct aws_client *, const char *name,
	    const char *action, struct errbuf *) HOOKD_WUR;

/*
 * DescribeScheduledActions of group name: 0 and *ret the StartTime of
 * 'action' as AWS gave it (a new string), ASG_NOT_FOUND (eb set) when
 * there is no such action (or group), -1 with eb set.
 */
int	 asg_scheduled_start(struct aws_client *, const char *name,
	    const char *action, char **ret, struct errbuf *) HOOKD_WUR;

/* Its reply parser, exposed for tests: 0, ASG_NOT_FOUND, -1 (EK_PROTO). */
int	 asg_parse_scheduled_start(xmlDoc *, const char *action, char **ret,
	    struct errbuf *) HOOKD_WUR;

/*
 * The DescribeAutoScalingGroups reply parser, exposed for tests: appends
 * to *ret, sets *ret_next (new string or NULL); 0, or -1 with eb set
 * (EK_PROTO).
 */
int	 asg_parse_groups(xmlDoc *, struct asg_groups *ret, char **ret_next,
	    struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_AWS_ASG_BG_H */
