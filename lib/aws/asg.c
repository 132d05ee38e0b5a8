/* SPDX-License-Identifier: ISC */
/*
 * asg.c: Auto Scaling lifecycle-action and lifecycle-hook calls over the
 * Query protocol (see asg.h).  Not here: when to send them (the daemon's
 * boot sequence) or how to find the group and hook (hookd.yml).
 */
#include "compat.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "aws/asg.h"
#include "aws/client.h"
#include "aws/query.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "log.h"
#include "xalloc.h"
#include "banned.h"

int
asg_is_no_active_action(const char *code, const char *message)
{
	/*
	 * AWS documents no separate code for this: it is a ValidationError
	 * whose message starts "No active Lifecycle Action found with
	 * instance ID ..." (or "... with token ...").
	 */
	return code != NULL && message != NULL &&
	    strcmp(code, "ValidationError") == 0 &&
	    strncmp(message, "No active Lifecycle Action found", 32) == 0;
}

static int
asg_action_params(struct aws_query *q, const struct asg_action *a,
    struct errbuf *eb)
{
	if (a->group == NULL || a->hook == NULL)
		return errbuf_set(eb, EK_USAGE, "autoscaling %s: group and "
		    "hook names are required", q->action);
	if ((a->instance_id == NULL) == (a->token == NULL))
		return errbuf_set(eb, EK_USAGE, "autoscaling %s: give either "
		    "an instance id or a lifecycle action token", q->action);
	aws_query_add(q, "AutoScalingGroupName", a->group);
	aws_query_add(q, "LifecycleHookName", a->hook);
	aws_query_add(q, "InstanceId", a->instance_id);
	aws_query_add(q, "LifecycleActionToken", a->token);
	return 0;
}

/* Send a lifecycle-action call; map "no active action" to its result. */
static int
asg_action_call(struct aws_client *c, struct aws_query *q,
    struct errbuf *eb)
{
	struct aws_result	 res;
	xmlDoc			*doc = NULL;
	int			 rv = -1;

	aws_result_init(&res);
	rv = aws_query_call(c, &aws_svc_autoscaling, NULL, q, 0, &doc, &res,
	    eb);
	if (rv == -1 && asg_is_no_active_action(res.code, res.message)) {
		errbuf_set(eb, EK_NOINPUT, "autoscaling %s: %s", q->action,
		    res.message);
		rv = ASG_NO_ACTIVE_ACTION;
	}
	awsxml_free(doc);
	aws_result_release(&res);
	return rv;
}

int
asg_complete_lifecycle_action(struct aws_client *c,
    const struct asg_action *a, const char *result, struct errbuf *eb)
{
	struct aws_query	 q;
	int			 rv = -1;

	aws_query_init(&q, "CompleteLifecycleAction", ASG_VERSION);
	if (result == NULL || (strcmp(result, "CONTINUE") != 0 &&
	    strcmp(result, "ABANDON") != 0)) {
		errbuf_set(eb, EK_USAGE, "autoscaling CompleteLifecycleAction: "
		    "result must be CONTINUE or ABANDON");
		goto out;
	}
	if (asg_action_params(&q, a, eb) == -1)
		goto out;
	aws_query_add(&q, "LifecycleActionResult", result);
	rv = asg_action_call(c, &q, eb);
 out:
	aws_query_release(&q);
	return rv;
}

int
asg_record_heartbeat(struct aws_client *c, const struct asg_action *a,
    struct errbuf *eb)
{
	struct aws_query	 q;
	int			 rv = -1;

	aws_query_init(&q, "RecordLifecycleActionHeartbeat", ASG_VERSION);
	if (asg_action_params(&q, a, eb) == 0)
		rv = asg_action_call(c, &q, eb);
	aws_query_release(&q);
	return rv;
}

void
asg_instances_release(struct asg_instances *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].instance_id);
		free(l->v[i].group);
		free(l->v[i].availability_zone);
		free(l->v[i].lifecycle_state);
		free(l->v[i].health_status);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
asg_parse_instances(xmlDoc *doc, struct asg_instances *ret, char **ret_next,
    struct errbuf *eb)
{
	struct asg_instance	*i;
	xmlNode			*result, *x;

	if (aws_query_result(doc, "autoscaling",
	    "DescribeAutoScalingInstances", &result, eb) == -1)
		return -1;
	for (x = awsxml_first(awsxml_child(result, "AutoScalingInstances"),
	    "member"); x != NULL; x = awsxml_next(x, "member")) {
		if (ret->n >= ASG_INSTANCES_MAX)
			return errbuf_set(eb, EK_PROTO, "autoscaling "
			    "DescribeAutoScalingInstances: more than %d "
			    "instances", ASG_INSTANCES_MAX);
		ret->v = xreallocarray(ret->v, ret->n + 1, sizeof(*ret->v));
		i = &ret->v[ret->n];
		memset(i, 0, sizeof(*i));
		if ((i->instance_id = awsxml_child_text(x, "InstanceId")) ==
		    NULL)
			return errbuf_set(eb, EK_PROTO, "autoscaling "
			    "DescribeAutoScalingInstances: an instance has no "
			    "InstanceId");
		ret->n++;
		i->group = awsxml_child_text(x, "AutoScalingGroupName");
		i->availability_zone = awsxml_child_text(x,
		    "AvailabilityZone");
		i->lifecycle_state = awsxml_child_text(x, "LifecycleState");
		i->health_status = awsxml_child_text(x, "HealthStatus");
	}
	*ret_next = awsxml_child_text(result, "NextToken");
	if (*ret_next != NULL && **ret_next == '\0') {
		free(*ret_next);
		*ret_next = NULL;
	}
	return 0;
}

/* aws_query_pages()'s reader of one DescribeAutoScalingInstances reply. */
static int
asg_instances_page(xmlDoc *doc, void *l, char **ret_next, struct errbuf *eb)
{
	return asg_parse_instances(doc, l, ret_next, eb);
}

int
asg_describe_instances(struct aws_client *c, const char *const *ids,
    size_t n, struct asg_instances *ret, struct errbuf *eb)
{
	struct asg_instances	 l = { 0 };
	struct aws_query	 q;
	int			 rv;

	if (n > 50)
		return errbuf_set(eb, EK_USAGE, "autoscaling "
		    "DescribeAutoScalingInstances: at most 50 instance ids");
	aws_query_init(&q, "DescribeAutoScalingInstances", ASG_VERSION);
	for (size_t i = 0; i < n; i++)
		aws_query_addf(&q, ids[i], "InstanceIds.member.%zu", i + 1);
	rv = aws_query_pages(c, &aws_svc_autoscaling, &q, asg_instances_page,
	    &l, eb);
	aws_query_release(&q);
	if (rv == -1) {
		asg_instances_release(&l);
		return -1;
	}
	*ret = l;
	return 0;
}

void
asg_hooks_release(struct asg_hooks *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].group);
		free(l->v[i].transition);
		free(l->v[i].target_arn);
		free(l->v[i].role_arn);
		free(l->v[i].metadata);
		free(l->v[i].default_result);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static unsigned long
asg_child_ulong(const xmlNode *x, const char *name)
{
	char		*s;
	uint64_t	 v = 0;

	if ((s = awsxml_child_text(x, name)) != NULL &&
	    parse_u64(s, 0, UINT32_MAX, &v) == -1)
		v = 0;
	free(s);
	return (unsigned long)v;
}

int
asg_parse_hooks(xmlDoc *doc, struct asg_hooks *ret, struct errbuf *eb)
{
	struct asg_hooks	 l = { 0 };
	struct asg_hook		*h;
	xmlNode			*result, *x;

	if (aws_query_result(doc, "autoscaling", "DescribeLifecycleHooks",
	    &result, eb) == -1)
		return -1;
	for (x = awsxml_first(awsxml_child(result, "LifecycleHooks"),
	    "member"); x != NULL; x = awsxml_next(x, "member")) {
		if (l.n >= ASG_HOOKS_MAX) {
			asg_hooks_release(&l);
			return errbuf_set(eb, EK_PROTO, "autoscaling "
			    "DescribeLifecycleHooks: more than %d hooks",
			    ASG_HOOKS_MAX);
		}
		l.v = xreallocarray(l.v, l.n + 1, sizeof(*l.v));
		h = &l.v[l.n++];
		memset(h, 0, sizeof(*h));
		h->name = awsxml_child_text(x, "LifecycleHookName");
		h->group = awsxml_child_text(x, "AutoScalingGroupName");
		h->transition = awsxml_child_text(x, "LifecycleTransition");
		h->target_arn = awsxml_child_text(x, "NotificationTargetARN");
		h->role_arn = awsxml_child_text(x, "RoleARN");
		h->metadata = awsxml_child_text(x, "NotificationMetadata");
		h->default_result = awsxml_child_text(x, "DefaultResult");
		h->heartbeat_timeout = asg_child_ulong(x, "HeartbeatTimeout");
		h->global_timeout = asg_child_ulong(x, "GlobalTimeout");
		if (h->name == NULL) {
			asg_hooks_release(&l);
			return errbuf_set(eb, EK_PROTO, "autoscaling "
			    "DescribeLifecycleHooks: a hook has no name");
		}
	}
	*ret = l;
	return 0;
}

int
asg_put_lifecycle_hook(struct aws_client *c, const struct asg_hook *h,
    struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 rv = -1;

	aws_result_init(&res);
	aws_query_init(&q, "PutLifecycleHook", ASG_VERSION);
	if (h->name == NULL || h->group == NULL) {
		errbuf_set(eb, EK_USAGE, "autoscaling PutLifecycleHook: group "
		    "and hook names are required");
		goto out;
	}
	aws_query_add(&q, "LifecycleHookName", h->name);
	aws_query_add(&q, "AutoScalingGroupName", h->group);
	aws_query_add(&q, "LifecycleTransition", h->transition != NULL ?
	    h->transition : "autoscaling:EC2_INSTANCE_LAUNCHING");
	aws_query_add(&q, "NotificationTargetARN", h->target_arn);
	aws_query_add(&q, "RoleARN", h->role_arn);
	aws_query_add(&q, "NotificationMetadata", h->metadata);
	aws_query_add(&q, "DefaultResult", h->default_result);
	if (h->heartbeat_timeout != 0)
		aws_query_addu(&q, "HeartbeatTimeout", h->heartbeat_timeout);
	rv = aws_query_call(c, &aws_svc_autoscaling, NULL, &q, 0, &doc, &res,
	    eb);
 out:
	awsxml_free(doc);
	aws_query_release(&q);
	aws_result_release(&res);
	return rv;
}

int
asg_describe_lifecycle_hooks(struct aws_client *c, const char *group,
    struct asg_hooks *ret, struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 rv = -1;

	aws_result_init(&res);
	aws_query_init(&q, "DescribeLifecycleHooks", ASG_VERSION);
	aws_query_add(&q, "AutoScalingGroupName", group);
	if (aws_query_call(c, &aws_svc_autoscaling, NULL, &q, 0, &doc, &res,
	    eb) == 0)
		rv = asg_parse_hooks(doc, ret, eb);
	awsxml_free(doc);
	aws_query_release(&q);
	aws_result_release(&res);
	return rv;
}

void
asg_names_release(struct asg_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Append name (taken) unless l has it; -1 past ASG_TRAFFIC_MAX. */
static int
asg_names_add(struct asg_names *l, char *name, const char *action,
    struct errbuf *eb)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0) {
			free(name);
			return 0;
		}
	if (l->n >= ASG_TRAFFIC_MAX) {
		free(name);
		return errbuf_set(eb, EK_PROTO, "autoscaling %s: more than %d "
		    "load balancers", action, ASG_TRAFFIC_MAX);
	}
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = name;
	return 0;
}

/* One entry of a traffic-source list: which list it goes to, its name. */
static int
asg_traffic_entry(const xmlNode *x, const char *action, struct asg_names *tg,
    struct asg_names *classic, struct errbuf *eb)
{
	struct asg_names	*to = NULL;
	char			*name = NULL, *state, *type = NULL;
	bool			 gone;

	state = awsxml_child_text(x, "State");
	gone = state != NULL && (strcmp(state, "Removing") == 0 ||
	    strcmp(state, "Removed") == 0);
	free(state);
	if (strcmp(action, "DescribeLoadBalancerTargetGroups") == 0) {
		name = awsxml_child_text(x, "LoadBalancerTargetGroupARN");
		to = tg;
	} else if (strcmp(action, "DescribeLoadBalancers") == 0) {
		name = awsxml_child_text(x, "LoadBalancerName");
		to = classic;
	} else {
		if ((name = awsxml_child_text(x, "Identifier")) == NULL)
			name = awsxml_child_text(x, "TrafficSource");
		type = awsxml_child_text(x, "Type");
		if (type != NULL && strcmp(type, "elbv2") == 0)
			to = tg;
		else if (type != NULL && strcmp(type, "elb") == 0)
			to = classic;
		free(type);
	}
	if (name == NULL || *name == '\0') {
		free(name);
		return errbuf_set(eb, EK_PROTO, "autoscaling %s: a load "
		    "balancer has no name", action);
	}
	if (gone || to == NULL) {	/* detaching, or not a load balancer */
		free(name);
		return 0;
	}
	return asg_names_add(to, name, action, eb);
}

int
asg_parse_traffic_sources(xmlDoc *doc, const char *action,
    struct asg_names *tg, struct asg_names *classic, char **ret_next,
    struct errbuf *eb)
{
	const char	*list;
	xmlNode		*result, *x;

	if (strcmp(action, "DescribeLoadBalancerTargetGroups") == 0)
		list = "LoadBalancerTargetGroups";
	else if (strcmp(action, "DescribeLoadBalancers") == 0)
		list = "LoadBalancers";
	else
		list = "TrafficSources";
	if (aws_query_result(doc, "autoscaling", action, &result, eb) == -1)
		return -1;
	for (x = awsxml_first(awsxml_child(result, list), "member");
	    x != NULL; x = awsxml_next(x, "member"))
		if (asg_traffic_entry(x, action, tg, classic, eb) == -1)
			return -1;
	*ret_next = awsxml_child_text(result, "NextToken");
	if (*ret_next != NULL && **ret_next == '\0') {
		free(*ret_next);
		*ret_next = NULL;
	}
	return 0;
}

/*
 * Whether a failed DescribeTrafficSources says the server does not have
 * the operation: then the two older calls answer.  Besides the codes,
 * a 5xx without an AWS error document is how moto says "not
 * implemented" (AWS's own 5xx carry one, and stay errors).
 */
static bool
asg_no_such_action(const struct aws_result *res)
{
	return res->status == 404 || res->status == 501 ||
	    (res->status >= 500 && res->code == NULL) ||
	    (res->code != NULL && (strcmp(res->code, "InvalidAction") == 0 ||
	    strcmp(res->code, "UnknownOperationException") == 0 ||
	    strcmp(res->code, "NotImplemented") == 0));
}

/* One listing call, following NextToken; 1: the server lacks it. */
static int
asg_list_sources(struct aws_client *c, const char *action,
    const char *asg_name, struct asg_names *tg, struct asg_names *classic,
    struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q;
	xmlDoc			*doc;
	char			*next = NULL, *token;
	int			 rv, pages = 0;

	aws_result_init(&res);
	do {
		aws_query_init(&q, action, ASG_VERSION);
		aws_query_add(&q, "AutoScalingGroupName", asg_name);
		aws_query_add(&q, "NextToken", next);
		doc = NULL;
		rv = aws_query_call(c, &aws_svc_autoscaling, NULL, &q, 0,
		    &doc, &res, eb);
		aws_query_release(&q);
		if (rv == 0) {
			token = NULL;
			rv = asg_parse_traffic_sources(doc, action, tg,
			    classic, &token, eb);
			free(next);
			next = token;
		} else if (strcmp(action, "DescribeTrafficSources") == 0 &&
		    pages == 0 && asg_no_such_action(&res)) {
			log_debug("autoscaling %s: %s: using the older calls",
			    action, eb->msg);
			errbuf_clear(eb);
			rv = 1;
		}
		awsxml_free(doc);
		if (rv == 0 && ++pages > ASG_TRAFFIC_MAX)
			rv = errbuf_set(eb, EK_PROTO, "autoscaling %s: more "
			    "than %d pages", action, ASG_TRAFFIC_MAX);
	} while (rv == 0 && next != NULL);
	free(next);
	aws_result_release(&res);
	return rv;
}

int
asg_traffic_sources(struct aws_client *c, const char *asg_name,
    char ***ret_target_groups, size_t *ret_ntg, char ***ret_classic,
    size_t *ret_nclassic, struct errbuf *eb)
{
	static const char *const calls[] = {
		"DescribeTrafficSources", "DescribeLoadBalancerTargetGroups",
		"DescribeLoadBalancers",
	};
	struct asg_names	 tg = { 0 }, classic = { 0 };
	int			 rv;

	if (asg_name == NULL || *asg_name == '\0')
		return errbuf_set(eb, EK_USAGE, "autoscaling "
		    "DescribeTrafficSources: a group name is required");
	/*
	 * DescribeTrafficSources without a type lists every traffic source,
	 * however attached.  A server without it (moto) is asked the two
	 * older calls, which list what the older Attach* calls attached.
	 */
	for (size_t i = 0; i < nitems(calls); i++) {
		rv = asg_list_sources(c, calls[i], asg_name, &tg, &classic,
		    eb);
		if (rv == -1) {
			errbuf_prefix(eb, "auto scaling group %s: ", asg_name);
			asg_names_release(&tg);
			asg_names_release(&classic);
			return -1;
		}
		if (rv == 0 && i == 0)
			break;
	}
	*ret_target_groups = tg.v;
	*ret_ntg = tg.n;
	*ret_classic = classic.v;
	*ret_nclassic = classic.n;
	return 0;
}
