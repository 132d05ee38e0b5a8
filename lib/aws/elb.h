/* SPDX-License-Identifier: ISC */
/*
 * elb.h: the Elastic Load Balancing calls behind hookd's BlockTraffic and
 * AllowTraffic, over the Query protocol with XML replies: ELBv2 target
 * groups (ALB/NLB, Version 2015-12-01) and Classic Load Balancers
 * (Version 2012-06-01).  Take an instance out (deregister), put it back
 * (register), ask for its state in one target group or load balancer,
 * and read a target group's deregistration delay and health check
 * interval.  Both APIs sign as "elasticloadbalancing"; their endpoints
 * come from AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 and
 * AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING, else AWS_ENDPOINT_URL, else
 * https://elasticloadbalancing.REGION.amazonaws.com.
 *
 * Not here: when to call them, how long to wait (lib/traffic.c), or
 * which target groups an Auto Scaling group has (asg_traffic_sources()
 * in asg.h, included below).  Throttling is retried by aws_request().
 */
#ifndef HOOKD_AWS_ELB_H
#define HOOKD_AWS_ELB_H

#include <stddef.h>

#include <libxml/tree.h>

#include "aws/asg.h"
#include "compat.h"

struct aws_client;
struct aws_service;
struct errbuf;

#define ELB_V2_VERSION		"2015-12-01"
#define ELB_CLASSIC_VERSION	"2012-06-01"

/* "Elastic Load Balancing v2" */
extern const struct aws_service aws_svc_elbv2;
extern const struct aws_service aws_svc_elb;	/* "Elastic Load Balancing" */

enum elb_kind { ELB_V2_TARGET_GROUP, ELB_CLASSIC };

/*
 * An instance's state in one target group or load balancer.
 * ELB_V2_TARGET_GROUP: "initial" "healthy" "unhealthy" "unused"
 * "draining" "unavailable" (TargetHealth.State); "unused" also when the
 * instance is not registered at all (reason "Target.NotRegistered"), and
 * when the group refuses the target as InvalidTarget (reason
 * "InvalidTarget: MESSAGE").
 * ELB_CLASSIC: "InService" "OutOfService" "Unknown"; an instance the
 * load balancer does not know (InvalidInstance) is "OutOfService" with
 * reason "Instance is not registered with the load balancer".
 * reason: v2 "Reason: Description" ("Target.ResponseCodeMismatch: Health
 * checks failed with these codes: [502]"), classic "ReasonCode:
 * Description"; "" when the reply has none.  Truncated to fit.
 */
struct elb_health {
	char	state[32];
	char	reason[256];
};

/*
 * Deregister instance_id from a target group (name_or_arn: its ARN, or
 * its name, looked up with DescribeTargetGroups) or a Classic Load
 * Balancer (its name).  An instance that is already out (v2
 * InvalidTarget, classic InvalidInstance) is success.  Returns 0, or -1
 * with eb set ("elbv2 DeregisterTargets: TargetGroupNotFound: ..." and
 * the kinds of aws_request(); EK_USAGE for missing arguments).  Blocks
 * for one request (two when a target group is named, not ARN'd).
 */
int	 elb_deregister(struct aws_client *, enum elb_kind,
	    const char *name_or_arn, const char *instance_id, struct errbuf *)
	    HOOKD_WUR;

/* RegisterTargets / RegisterInstancesWithLoadBalancer; returns as above. */
int	 elb_register(struct aws_client *, enum elb_kind,
	    const char *name_or_arn, const char *instance_id, struct errbuf *)
	    HOOKD_WUR;

/*
 * The instance's state in that target group / load balancer
 * (DescribeTargetHealth / DescribeInstanceHealth) into *ret.  When the
 * instance is registered on several ports of a target group, the state
 * furthest from done is reported (draining before unused, unhealthy and
 * initial before healthy).  Returns 0, or -1 with eb set.
 */
int	 elb_health(struct aws_client *, enum elb_kind,
	    const char *name_or_arn, const char *instance_id,
	    struct elb_health *ret, struct errbuf *) HOOKD_WUR;

/*
 * v2 only: the target group's deregistration_delay.timeout_seconds
 * (DescribeTargetGroupAttributes; 300 when absent) and its
 * HealthCheckIntervalSeconds (DescribeTargetGroups; 30 when absent), in
 * seconds.  arn may also be a name.  Returns 0, or -1 with eb set.
 */
int	 elb_target_group_timing(struct aws_client *, const char *arn,
	    unsigned *ret_dereg_delay, unsigned *ret_hc_interval,
	    struct errbuf *) HOOKD_WUR;

/*
 * Reply parsers, exposed for tests; they return 0 or -1 with eb set
 * (EK_PROTO).  elb_parse_target_health / elb_parse_instance_health fill
 * *ret for instance_id (not listed: "unused" / "OutOfService").
 */
int	 elb_parse_target_health(xmlDoc *, const char *instance_id,
	    struct elb_health *ret, struct errbuf *) HOOKD_WUR;
int	 elb_parse_instance_health(xmlDoc *, const char *instance_id,
	    struct elb_health *ret, struct errbuf *) HOOKD_WUR;
/* DescribeTargetGroups: first group's ARN (new string) and interval. */
int	 elb_parse_target_groups(xmlDoc *, char **ret_arn,
	    unsigned *ret_hc_interval, struct errbuf *) HOOKD_WUR;
/* DescribeTargetGroupAttributes: deregistration delay. */
int	 elb_parse_tg_attributes(xmlDoc *, unsigned *ret_dereg_delay,
	    struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_AWS_ELB_H */
