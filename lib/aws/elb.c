/* SPDX-License-Identifier: ISC */
/*
 * elb.c: Elastic Load Balancing calls over the Query protocol (see
 * elb.h): ELBv2 target groups and Classic Load Balancers.  Not here:
 * when to call them or how long to wait (lib/traffic.c).
 */
#include "compat.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "aws/client.h"
#include "aws/elb.h"
#include "aws/query.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "log.h"
#include "xalloc.h"
#include "banned.h"

#define ELB_DEREG_DELAY_DEFAULT	300	/* AWS's default, seconds */
#define ELB_HC_INTERVAL_DEFAULT	30	/* AWS's default, seconds */
#define ELB_HEALTH_MAX		100	/* entries read from a reply */
#define ELB_NOT_REGISTERED	"Instance is not registered with the load " \
				"balancer"

/* Both sign as "elasticloadbalancing"; the ids name the overrides. */
const struct aws_service aws_svc_elbv2 = {
	"elasticloadbalancing", "Elastic Load Balancing v2",
	"elasticloadbalancing", false
};
const struct aws_service aws_svc_elb = {
	"elasticloadbalancing", "Elastic Load Balancing",
	"elasticloadbalancing", false
};

static void
elb_set_health(struct elb_health *h, const char *state, const char *code,
    const char *desc)
{
	bool	 c, d;

	strlcpy(h->state, state, sizeof(h->state));
	c = code != NULL && *code != '\0' && strcmp(code, "N/A") != 0;
	d = desc != NULL && *desc != '\0' && strcmp(desc, "N/A") != 0;
	snprintf(h->reason, sizeof(h->reason), "%s%s%s", c ? code : "",
	    c && d ? ": " : "", d ? desc : "");
}

/*
 * Send q to the kind's endpoint.  On failure eb names the subject
 * ("target group ARN: elasticloadbalancing DeregisterTargets: ...") and
 * res holds the error code for the caller's special cases.
 */
static int
elb_call(struct aws_client *c, enum elb_kind kind, const char *subject,
    const struct aws_query *q, xmlDoc **ret_doc, struct aws_result *res,
    struct errbuf *eb)
{
	if (aws_query_call(c, kind == ELB_CLASSIC ? &aws_svc_elb :
	    &aws_svc_elbv2, NULL, q, 0, ret_doc, res, eb) == -1)
		return errbuf_prefix(eb, "%s %s: ", kind == ELB_CLASSIC ?
		    "load balancer" : "target group", subject);
	return 0;
}

static bool
elb_is_arn(const char *s)
{
	return strncmp(s, "arn:", 4) == 0;
}

int
elb_parse_target_groups(xmlDoc *doc, char **ret_arn,
    unsigned *ret_hc_interval, struct errbuf *eb)
{
	xmlNode		*result, *tg;
	char		*arn, *s;
	uint64_t	 v = ELB_HC_INTERVAL_DEFAULT;

	if (aws_query_result(doc, "elasticloadbalancing",
	    "DescribeTargetGroups", &result, eb) == -1)
		return -1;
	tg = awsxml_first(awsxml_child(result, "TargetGroups"), "member");
	if (tg == NULL)
		return errbuf_set(eb, EK_NOINPUT, "elasticloadbalancing "
		    "DescribeTargetGroups: no target group in the reply");
	if ((arn = awsxml_child_text(tg, "TargetGroupArn")) == NULL ||
	    !elb_is_arn(arn)) {
		free(arn);
		return errbuf_set(eb, EK_PROTO, "elasticloadbalancing "
		    "DescribeTargetGroups: a target group has no ARN");
	}
	if ((s = awsxml_child_text(tg, "HealthCheckIntervalSeconds")) !=
	    NULL && parse_u64(s, 1, 3600, &v) == -1) {
		errbuf_set(eb, EK_PROTO, "elasticloadbalancing "
		    "DescribeTargetGroups: %s: bad HealthCheckIntervalSeconds "
		    "'%s'", arn, s);
		free(s);
		free(arn);
		return -1;
	}
	free(s);
	*ret_arn = arn;
	if (ret_hc_interval != NULL)
		*ret_hc_interval = (unsigned)v;
	return 0;
}

/* DescribeTargetGroups for one ARN or name: its ARN and interval. */
static int
elb_describe_tg(struct aws_client *c, const char *name_or_arn,
    char **ret_arn, unsigned *ret_hc_interval, struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 rv = -1;

	aws_result_init(&res);
	aws_query_init(&q, "DescribeTargetGroups", ELB_V2_VERSION);
	aws_query_add(&q, elb_is_arn(name_or_arn) ?
	    "TargetGroupArns.member.1" : "Names.member.1", name_or_arn);
	if (elb_call(c, ELB_V2_TARGET_GROUP, name_or_arn, &q, &doc, &res,
	    eb) == 0 && elb_parse_target_groups(doc, ret_arn,
	    ret_hc_interval, eb) == 0)
		rv = 0;
	else if (doc != NULL)
		errbuf_prefix(eb, "target group %s: ", name_or_arn);
	awsxml_free(doc);
	aws_query_release(&q);
	aws_result_release(&res);
	return rv;
}

/* The ARN of a target group given by ARN (copied) or by name (looked up). */
static int
elb_tg_arn(struct aws_client *c, const char *name_or_arn, char **ret,
    struct errbuf *eb)
{
	if (elb_is_arn(name_or_arn)) {
		*ret = xstrdup(name_or_arn);
		return 0;
	}
	return elb_describe_tg(c, name_or_arn, ret, NULL, eb);
}

static int
elb_check_args(const char *op, const char *name_or_arn,
    const char *instance_id, struct errbuf *eb)
{
	if (name_or_arn == NULL || *name_or_arn == '\0' ||
	    instance_id == NULL || *instance_id == '\0')
		return errbuf_set(eb, EK_USAGE, "elasticloadbalancing %s: a "
		    "load balancer or target group and an instance id are "
		    "required", op);
	return 0;
}

/* Register (on) or deregister (!on) one instance. */
static int
elb_set(struct aws_client *c, enum elb_kind kind, const char *name_or_arn,
    const char *instance_id, bool on, struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q = { 0 };
	xmlDoc			*doc = NULL;
	char			*arn = NULL;
	const char		*op;
	int			 rv = -1;

	if (kind == ELB_CLASSIC)
		op = on ? "RegisterInstancesWithLoadBalancer" :
		    "DeregisterInstancesFromLoadBalancer";
	else
		op = on ? "RegisterTargets" : "DeregisterTargets";
	if (elb_check_args(op, name_or_arn, instance_id, eb) == -1)
		return -1;
	aws_result_init(&res);
	if (kind == ELB_CLASSIC) {
		aws_query_init(&q, op, ELB_CLASSIC_VERSION);
		aws_query_add(&q, "LoadBalancerName", name_or_arn);
		aws_query_add(&q, "Instances.member.1.InstanceId",
		    instance_id);
	} else {
		if (elb_tg_arn(c, name_or_arn, &arn, eb) == -1)
			goto out;
		aws_query_init(&q, op, ELB_V2_VERSION);
		aws_query_add(&q, "TargetGroupArn", arn);
		aws_query_add(&q, "Targets.member.1.Id", instance_id);
	}
	rv = elb_call(c, kind, name_or_arn, &q, &doc, &res, eb);
	/*
	 * Deregistering what is not registered: ELBv2 says InvalidTarget,
	 * Classic says InvalidInstance.  Either way the instance is out.
	 */
	if (rv == -1 && !on && res.code != NULL &&
	    strcmp(res.code, kind == ELB_CLASSIC ? "InvalidInstance" :
	    "InvalidTarget") == 0) {
		log_debug("%s %s: %s already out: %s", op, name_or_arn,
		    instance_id, res.message != NULL ? res.message : "");
		errbuf_clear(eb);
		rv = 0;
	}
 out:
	free(arn);
	awsxml_free(doc);
	aws_query_release(&q);
	aws_result_release(&res);
	return rv;
}

int
elb_deregister(struct aws_client *c, enum elb_kind kind,
    const char *name_or_arn, const char *instance_id, struct errbuf *eb)
{
	return elb_set(c, kind, name_or_arn, instance_id, false, eb);
}

int
elb_register(struct aws_client *c, enum elb_kind kind,
    const char *name_or_arn, const char *instance_id, struct errbuf *eb)
{
	return elb_set(c, kind, name_or_arn, instance_id, true, eb);
}

/*
 * Rank of a v2 state when an instance has several entries (ports): the
 * higher, the further from settled; the highest is reported.
 */
static int
elb_v2_rank(const char *state)
{
	static const char *const order[] = {
		"unused", "healthy", "unavailable", "initial", "unhealthy",
		"draining",
	};

	for (size_t i = 0; i < nitems(order); i++)
		if (strcmp(state, order[i]) == 0)
			return (int)i;
	return (int)nitems(order);	/* unknown to us: never settled */
}

int
elb_parse_target_health(xmlDoc *doc, const char *instance_id,
    struct elb_health *ret, struct errbuf *eb)
{
	struct elb_health	 h;
	xmlNode			*result, *x, *th;
	char			*id, *state, *reason, *desc;
	size_t			 n = 0;
	bool			 found = false;

	if (aws_query_result(doc, "elasticloadbalancing",
	    "DescribeTargetHealth", &result, eb) == -1)
		return -1;
	for (x = awsxml_first(awsxml_child(result,
	    "TargetHealthDescriptions"), "member"); x != NULL;
	    x = awsxml_next(x, "member")) {
		if (++n > ELB_HEALTH_MAX)
			return errbuf_set(eb, EK_PROTO, "elasticloadbalancing "
			    "DescribeTargetHealth: more than %d targets",
			    ELB_HEALTH_MAX);
		id = awsxml_text(awsxml_path(x, "Target", "Id", NULL));
		if (id == NULL || strcmp(id, instance_id) != 0) {
			free(id);
			continue;
		}
		free(id);
		th = awsxml_child(x, "TargetHealth");
		if ((state = awsxml_child_text(th, "State")) == NULL)
			return errbuf_set(eb, EK_PROTO, "elasticloadbalancing "
			    "DescribeTargetHealth: target %s has no state",
			    instance_id);
		reason = awsxml_child_text(th, "Reason");
		desc = awsxml_child_text(th, "Description");
		elb_set_health(&h, state, reason, desc);
		free(state);
		free(reason);
		free(desc);
		if (!found || elb_v2_rank(h.state) > elb_v2_rank(ret->state))
			*ret = h;
		found = true;
	}
	if (!found)
		elb_set_health(ret, "unused", "Target.NotRegistered",
		    "Target is not registered to the target group");
	return 0;
}

int
elb_parse_instance_health(xmlDoc *doc, const char *instance_id,
    struct elb_health *ret, struct errbuf *eb)
{
	xmlNode	*result, *x;
	char	*id, *state, *code, *desc;
	size_t	 n = 0;

	if (aws_query_result(doc, "elasticloadbalancing",
	    "DescribeInstanceHealth", &result, eb) == -1)
		return -1;
	for (x = awsxml_first(awsxml_child(result, "InstanceStates"),
	    "member"); x != NULL; x = awsxml_next(x, "member")) {
		if (++n > ELB_HEALTH_MAX)
			return errbuf_set(eb, EK_PROTO, "elasticloadbalancing "
			    "DescribeInstanceHealth: more than %d instances",
			    ELB_HEALTH_MAX);
		id = awsxml_child_text(x, "InstanceId");
		if (id == NULL || strcmp(id, instance_id) != 0) {
			free(id);
			continue;
		}
		free(id);
		if ((state = awsxml_child_text(x, "State")) == NULL)
			return errbuf_set(eb, EK_PROTO, "elasticloadbalancing "
			    "DescribeInstanceHealth: instance %s has no state",
			    instance_id);
		code = awsxml_child_text(x, "ReasonCode");
		desc = awsxml_child_text(x, "Description");
		elb_set_health(ret, state, code, desc);
		free(state);
		free(code);
		free(desc);
		return 0;
	}
	elb_set_health(ret, "OutOfService", NULL, ELB_NOT_REGISTERED);
	return 0;
}

/* Whether a Classic LB lists instance_id (DescribeLoadBalancers). */
static int
elb_classic_member(struct aws_client *c, const char *name,
    const char *instance_id, bool *ret, struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	xmlNode			*result, *lb, *x;
	char			*id;
	int			 rv = -1;

	*ret = false;
	aws_result_init(&res);
	aws_query_init(&q, "DescribeLoadBalancers", ELB_CLASSIC_VERSION);
	aws_query_add(&q, "LoadBalancerNames.member.1", name);
	if (elb_call(c, ELB_CLASSIC, name, &q, &doc, &res, eb) == -1 ||
	    aws_query_result(doc, "elasticloadbalancing",
	    "DescribeLoadBalancers", &result, eb) == -1)
		goto out;
	lb = awsxml_first(awsxml_child(result, "LoadBalancerDescriptions"),
	    "member");
	for (x = awsxml_first(awsxml_child(lb, "Instances"), "member");
	    x != NULL && !*ret; x = awsxml_next(x, "member")) {
		id = awsxml_child_text(x, "InstanceId");
		*ret = id != NULL && strcmp(id, instance_id) == 0;
		free(id);
	}
	rv = 0;
 out:
	awsxml_free(doc);
	aws_query_release(&q);
	aws_result_release(&res);
	return rv;
}

static int
elb_health_classic(struct aws_client *c, const char *name,
    const char *instance_id, struct elb_health *ret, struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	bool			 member;
	int			 rv = -1;

	aws_result_init(&res);
	aws_query_init(&q, "DescribeInstanceHealth", ELB_CLASSIC_VERSION);
	aws_query_add(&q, "LoadBalancerName", name);
	aws_query_add(&q, "Instances.member.1.InstanceId", instance_id);
	if (elb_call(c, ELB_CLASSIC, name, &q, &doc, &res, eb) == -1) {
		/* AWS: an instance the LB does not know is InvalidInstance. */
		if (res.code != NULL &&
		    strcmp(res.code, "InvalidInstance") == 0) {
			errbuf_clear(eb);
			elb_set_health(ret, "OutOfService", NULL,
			    ELB_NOT_REGISTERED);
			rv = 0;
		}
		goto out;
	}
	if (elb_parse_instance_health(doc, instance_id, ret, eb) == -1) {
		errbuf_prefix(eb, "load balancer %s: ", name);
		goto out;
	}
	/*
	 * "Unknown" is also what some servers (moto) say for an instance
	 * that is not registered, and an instance absent from the reply may
	 * still be registered: the load balancer's instance list decides.
	 */
	if (strcmp(ret->state, "Unknown") == 0 ||
	    strcmp(ret->reason, ELB_NOT_REGISTERED) == 0) {
		if (elb_classic_member(c, name, instance_id, &member, eb) ==
		    -1)
			goto out;
		if (!member)
			elb_set_health(ret, "OutOfService", NULL,
			    ELB_NOT_REGISTERED);
		else if (strcmp(ret->state, "OutOfService") == 0)
			elb_set_health(ret, "Unknown", NULL, "the load "
			    "balancer reports no state for the instance");
	}
	rv = 0;
 out:
	awsxml_free(doc);
	aws_query_release(&q);
	aws_result_release(&res);
	return rv;
}

static int
elb_health_v2(struct aws_client *c, const char *name_or_arn,
    const char *instance_id, struct elb_health *ret, struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q = { 0 };
	xmlDoc			*doc = NULL;
	char			*arn = NULL;
	int			 rv = -1;

	aws_result_init(&res);
	if (elb_tg_arn(c, name_or_arn, &arn, eb) == -1)
		goto out;
	aws_query_init(&q, "DescribeTargetHealth", ELB_V2_VERSION);
	aws_query_add(&q, "TargetGroupArn", arn);
	aws_query_add(&q, "Targets.member.1.Id", instance_id);
	if (elb_call(c, ELB_V2_TARGET_GROUP, name_or_arn, &q, &doc, &res,
	    eb) == -1) {
		/* A target the group cannot hold is not in it. */
		if (res.code != NULL &&
		    strcmp(res.code, "InvalidTarget") == 0) {
			errbuf_clear(eb);
			elb_set_health(ret, "unused", "InvalidTarget",
			    res.message);
			rv = 0;
		}
		goto out;
	}
	if ((rv = elb_parse_target_health(doc, instance_id, ret, eb)) == -1)
		errbuf_prefix(eb, "target group %s: ", name_or_arn);
 out:
	free(arn);
	awsxml_free(doc);
	aws_query_release(&q);
	aws_result_release(&res);
	return rv;
}

int
elb_health(struct aws_client *c, enum elb_kind kind, const char *name_or_arn,
    const char *instance_id, struct elb_health *ret, struct errbuf *eb)
{
	struct elb_health	 h = { "", "" };
	int			 rv;

	if (elb_check_args(kind == ELB_CLASSIC ? "DescribeInstanceHealth" :
	    "DescribeTargetHealth", name_or_arn, instance_id, eb) == -1)
		return -1;
	if (kind == ELB_CLASSIC)
		rv = elb_health_classic(c, name_or_arn, instance_id, &h, eb);
	else
		rv = elb_health_v2(c, name_or_arn, instance_id, &h, eb);
	if (rv == 0) {
		log_debug("%s %s: %s is %s%s%s", kind == ELB_CLASSIC ?
		    "load balancer" : "target group", name_or_arn,
		    instance_id, h.state, *h.reason != '\0' ? ": " : "",
		    h.reason);
		*ret = h;
	}
	return rv;
}

int
elb_parse_tg_attributes(xmlDoc *doc, unsigned *ret_dereg_delay,
    struct errbuf *eb)
{
	xmlNode		*result, *x;
	char		*k, *s;
	uint64_t	 v = ELB_DEREG_DELAY_DEFAULT;
	int		 rv = 0;

	if (aws_query_result(doc, "elasticloadbalancing",
	    "DescribeTargetGroupAttributes", &result, eb) == -1)
		return -1;
	for (x = awsxml_first(awsxml_child(result, "Attributes"), "member");
	    x != NULL; x = awsxml_next(x, "member")) {
		k = awsxml_child_text(x, "Key");
		if (k != NULL &&
		    strcmp(k, "deregistration_delay.timeout_seconds") == 0) {
			s = awsxml_child_text(x, "Value");
			if (s == NULL || parse_u64(s, 0, 3600, &v) == -1)
				rv = errbuf_set(eb, EK_PROTO,
				    "elasticloadbalancing "
				    "DescribeTargetGroupAttributes: bad %s "
				    "'%s'", k, s != NULL ? s : "");
			free(s);
		}
		free(k);
		if (rv == -1)
			return -1;
	}
	*ret_dereg_delay = (unsigned)v;
	return 0;
}

int
elb_target_group_timing(struct aws_client *c, const char *name_or_arn,
    unsigned *ret_dereg_delay, unsigned *ret_hc_interval, struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q = { 0 };
	xmlDoc			*doc = NULL;
	char			*arn = NULL;
	unsigned		 hc, delay;
	int			 rv = -1;

	if (name_or_arn == NULL || *name_or_arn == '\0')
		return errbuf_set(eb, EK_USAGE, "elasticloadbalancing "
		    "DescribeTargetGroups: a target group is required");
	aws_result_init(&res);
	if (elb_describe_tg(c, name_or_arn, &arn, &hc, eb) == -1)
		goto out;
	aws_query_init(&q, "DescribeTargetGroupAttributes", ELB_V2_VERSION);
	aws_query_add(&q, "TargetGroupArn", arn);
	if (elb_call(c, ELB_V2_TARGET_GROUP, name_or_arn, &q, &doc, &res,
	    eb) == -1)
		goto out;
	if (elb_parse_tg_attributes(doc, &delay, eb) == -1) {
		errbuf_prefix(eb, "target group %s: ", name_or_arn);
		goto out;
	}
	*ret_dereg_delay = delay;
	*ret_hc_interval = hc;
	rv = 0;
 out:
	free(arn);
	awsxml_free(doc);
	aws_query_release(&q);
	aws_result_release(&res);
	return rv;
}
