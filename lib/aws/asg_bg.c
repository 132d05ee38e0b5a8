/* SPDX-License-Identifier: ISC */
/*
 * asg_bg.c: the Auto Scaling group calls of a blue/green rollout over
 * the Query protocol (see asg_bg.h).
 */
#include "compat.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "aws/asg.h"
#include "aws/asg_bg.h"
#include "aws/client.h"
#include "aws/query.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "xalloc.h"
#include "banned.h"

void
asg_group_init(struct asg_group *g)
{
	memset(g, 0, sizeof(*g));
	g->min_size = g->max_size = g->desired = ASG_SIZE_UNSET;
	g->health_check_grace = g->default_cooldown = ASG_SIZE_UNSET;
}

static void
strs_release(struct asg_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void
asg_group_release(struct asg_group *g)
{
	free(g->name);
	free(g->arn);
	free(g->launch_configuration);
	free(g->lt_id);
	free(g->lt_name);
	free(g->lt_version);
	free(g->vpc_zone_identifier);
	strs_release(&g->availability_zones);
	free(g->health_check_type);
	strs_release(&g->termination_policies);
	for (size_t i = 0; i < g->ntags; i++) {
		free(g->tags[i].key);
		free(g->tags[i].value);
	}
	free(g->tags);
	strs_release(&g->target_groups);
	strs_release(&g->load_balancers);
	strs_release(&g->suspended);
	for (size_t i = 0; i < g->ninstances; i++) {
		free(g->instances[i].instance_id);
		free(g->instances[i].availability_zone);
		free(g->instances[i].lifecycle_state);
		free(g->instances[i].health_status);
	}
	free(g->instances);
	free(g->status);
	asg_group_init(g);
}

void
asg_groups_release(struct asg_groups *l)
{
	for (size_t i = 0; i < l->n; i++)
		asg_group_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const char *
asg_group_tag(const struct asg_group *g, const char *key)
{
	for (size_t i = 0; i < g->ntags; i++)
		if (g->tags[i].key != NULL && strcmp(g->tags[i].key, key) == 0)
			return g->tags[i].value;
	return NULL;
}

size_t
asg_group_count(const struct asg_group *g, const char *state)
{
	size_t	 n = 0;

	for (size_t i = 0; i < g->ninstances; i++)
		if (g->instances[i].lifecycle_state != NULL &&
		    strcmp(g->instances[i].lifecycle_state, state) == 0)
			n++;
	return n;
}

/* --- parsing DescribeAutoScalingGroups ----------------------------- */

/* A number child into *v; absent: left as it is; bad: -1. */
static int
child_long(const xmlNode *x, const char *name, long *v)
{
	char		*s;
	uint64_t	 u;
	int		 rv = 0;

	if ((s = awsxml_child_text(x, name)) == NULL)
		return 0;
	if (parse_u64(s, 0, INT32_MAX, &u) == -1)
		rv = -1;
	else
		*v = (long)u;
	free(s);
	return rv;
}

/* Every <member> text of child name of x into *s. */
static int
child_strs(const xmlNode *x, const char *name, struct asg_strs *s,
    size_t max)
{
	xmlNode	*m;
	char	*t;

	for (m = awsxml_first(awsxml_child(x, name), "member"); m != NULL;
	    m = awsxml_next(m, "member")) {
		if (s->n >= max)
			return -1;
		if ((t = awsxml_text(m)) == NULL)
			continue;
		s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
		s->v[s->n++] = t;
	}
	return 0;
}

static int
parse_group(const xmlNode *x, struct asg_group *g, struct errbuf *eb)
{
	struct asg_group_instance	*in;
	struct asg_tag			*t;
	xmlNode				*m, *lt;
	char				*s;
	const char			*what = NULL;

	if ((g->name = awsxml_child_text(x, "AutoScalingGroupName")) == NULL)
		return errbuf_set(eb, EK_PROTO, "autoscaling "
		    "DescribeAutoScalingGroups: a group has no name");
	g->arn = awsxml_child_text(x, "AutoScalingGroupARN");
	g->launch_configuration = awsxml_child_text(x,
	    "LaunchConfigurationName");
	if ((lt = awsxml_child(x, "LaunchTemplate")) != NULL) {
		g->lt_id = awsxml_child_text(lt, "LaunchTemplateId");
		g->lt_name = awsxml_child_text(lt, "LaunchTemplateName");
		g->lt_version = awsxml_child_text(lt, "Version");
	}
	g->mixed_instances = awsxml_child(x, "MixedInstancesPolicy") != NULL;
	if (child_long(x, "MinSize", &g->min_size) == -1)
		what = "MinSize";
	else if (child_long(x, "MaxSize", &g->max_size) == -1)
		what = "MaxSize";
	else if (child_long(x, "DesiredCapacity", &g->desired) == -1)
		what = "DesiredCapacity";
	else if (child_long(x, "HealthCheckGracePeriod",
	    &g->health_check_grace) == -1)
		what = "HealthCheckGracePeriod";
	else if (child_long(x, "DefaultCooldown", &g->default_cooldown) == -1)
		what = "DefaultCooldown";
	if (what != NULL)
		return errbuf_set(eb, EK_PROTO, "autoscaling group '%s': "
		    "%s is not a number", g->name, what);
	g->vpc_zone_identifier = awsxml_child_text(x, "VPCZoneIdentifier");
	if (g->vpc_zone_identifier != NULL &&
	    *g->vpc_zone_identifier == '\0') {
		free(g->vpc_zone_identifier);
		g->vpc_zone_identifier = NULL;
	}
	g->health_check_type = awsxml_child_text(x, "HealthCheckType");
	g->status = awsxml_child_text(x, "Status");
	if (child_strs(x, "AvailabilityZones", &g->availability_zones,
	    100) == -1 ||
	    child_strs(x, "TerminationPolicies", &g->termination_policies,
	    20) == -1 ||
	    child_strs(x, "TargetGroupARNs", &g->target_groups, 100) == -1 ||
	    child_strs(x, "LoadBalancerNames", &g->load_balancers,
	    100) == -1)
		return errbuf_set(eb, EK_PROTO, "autoscaling group '%s': too "
		    "many list members", g->name);
	for (m = awsxml_first(awsxml_child(x, "SuspendedProcesses"),
	    "member"); m != NULL; m = awsxml_next(m, "member")) {
		if ((s = awsxml_child_text(m, "ProcessName")) == NULL)
			continue;
		g->suspended.v = xreallocarray(g->suspended.v,
		    g->suspended.n + 1, sizeof(*g->suspended.v));
		g->suspended.v[g->suspended.n++] = s;
		if (g->suspended.n > 50)
			return errbuf_set(eb, EK_PROTO, "autoscaling group "
			    "'%s': too many suspended processes", g->name);
	}
	for (m = awsxml_first(awsxml_child(x, "Tags"), "member"); m != NULL;
	    m = awsxml_next(m, "member")) {
		if (g->ntags >= ASG_TAGS_MAX * 2)
			return errbuf_set(eb, EK_PROTO, "autoscaling group "
			    "'%s': more than %d tags", g->name,
			    ASG_TAGS_MAX * 2);
		g->tags = xreallocarray(g->tags, g->ntags + 1,
		    sizeof(*g->tags));
		t = &g->tags[g->ntags++];
		t->key = awsxml_child_text(m, "Key");
		t->value = awsxml_child_text(m, "Value");
		s = awsxml_child_text(m, "PropagateAtLaunch");
		t->propagate = s != NULL && strcmp(s, "true") == 0;
		free(s);
		if (t->key == NULL)
			return errbuf_set(eb, EK_PROTO, "autoscaling group "
			    "'%s': a tag has no key", g->name);
		if (t->value == NULL)
			t->value = xstrdup("");
	}
	for (m = awsxml_first(awsxml_child(x, "Instances"), "member");
	    m != NULL; m = awsxml_next(m, "member")) {
		if (g->ninstances >= ASG_GROUP_INSTANCES_MAX)
			return errbuf_set(eb, EK_PROTO, "autoscaling group "
			    "'%s': more than %d instances", g->name,
			    ASG_GROUP_INSTANCES_MAX);
		g->instances = xreallocarray(g->instances, g->ninstances + 1,
		    sizeof(*g->instances));
		in = &g->instances[g->ninstances];
		memset(in, 0, sizeof(*in));
		if ((in->instance_id = awsxml_child_text(m, "InstanceId")) ==
		    NULL)
			return errbuf_set(eb, EK_PROTO, "autoscaling group "
			    "'%s': an instance has no InstanceId", g->name);
		g->ninstances++;
		in->availability_zone = awsxml_child_text(m,
		    "AvailabilityZone");
		in->lifecycle_state = awsxml_child_text(m, "LifecycleState");
		in->health_status = awsxml_child_text(m, "HealthStatus");
	}
	return 0;
}

int
asg_parse_groups(xmlDoc *doc, struct asg_groups *ret, char **ret_next,
    struct errbuf *eb)
{
	struct asg_group	*g;
	xmlNode			*result, *x;

	*ret_next = NULL;
	if (aws_query_result(doc, "autoscaling", "DescribeAutoScalingGroups",
	    &result, eb) == -1)
		return -1;
	for (x = awsxml_first(awsxml_child(result, "AutoScalingGroups"),
	    "member"); x != NULL; x = awsxml_next(x, "member")) {
		if (ret->n >= ASG_GROUPS_MAX)
			return errbuf_set(eb, EK_PROTO, "autoscaling "
			    "DescribeAutoScalingGroups: more than %d groups",
			    ASG_GROUPS_MAX);
		ret->v = xreallocarray(ret->v, ret->n + 1, sizeof(*ret->v));
		g = &ret->v[ret->n++];
		asg_group_init(g);
		if (parse_group(x, g, eb) == -1)
			return -1;
	}
	*ret_next = awsxml_child_text(result, "NextToken");
	if (*ret_next != NULL && **ret_next == '\0') {
		free(*ret_next);
		*ret_next = NULL;
	}
	return 0;
}

/* aws_query_pages()'s reader of one DescribeAutoScalingGroups reply. */
static int
asg_groups_page(xmlDoc *doc, void *l, char **ret_next, struct errbuf *eb)
{
	return asg_parse_groups(doc, l, ret_next, eb);
}

/* DescribeAutoScalingGroups with names or one tag filter, all pages. */
static int
describe(struct aws_client *c, const char *const *names, size_t n,
    const char *tag_key, const char *tag_value, struct asg_groups *ret,
    struct errbuf *eb)
{
	struct asg_groups	 l = { 0 };
	struct aws_query	 q;
	char			*f;
	int			 rv;

	if (n > 100)
		return errbuf_set(eb, EK_USAGE, "autoscaling "
		    "DescribeAutoScalingGroups: at most 100 group names");
	aws_query_init(&q, "DescribeAutoScalingGroups", ASG_VERSION);
	for (size_t i = 0; i < n; i++)
		aws_query_addf(&q, names[i],
		    "AutoScalingGroupNames.member.%zu", i + 1);
	if (tag_key != NULL) {
		f = xasprintf("tag:%s", tag_key);
		aws_query_add(&q, "Filters.member.1.Name", f);
		free(f);
		aws_query_add(&q, "Filters.member.1.Values.member.1",
		    tag_value);
	}
	rv = aws_query_pages(c, &aws_svc_autoscaling, &q, asg_groups_page, &l,
	    eb);
	aws_query_release(&q);
	if (rv == -1) {
		asg_groups_release(&l);
		return -1;
	}
	*ret = l;
	return 0;
}

int
asg_describe_groups(struct aws_client *c, const char *const *names,
    size_t n, struct asg_groups *ret, struct errbuf *eb)
{
	return describe(c, names, n, NULL, NULL, ret, eb);
}

int
asg_find_groups_by_tag(struct aws_client *c, const char *key,
    const char *value, struct asg_groups *ret, struct errbuf *eb)
{
	if (key == NULL || value == NULL)
		return errbuf_set(eb, EK_USAGE, "autoscaling "
		    "DescribeAutoScalingGroups: a tag filter needs a key and "
		    "a value");
	return describe(c, NULL, 0, key, value, ret, eb);
}

int
asg_describe_group(struct aws_client *c, const char *name,
    struct asg_group *ret, struct errbuf *eb)
{
	struct asg_groups	 l;

	if (describe(c, &name, 1, NULL, NULL, &l, eb) == -1)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		if (strcmp(l.v[i].name, name) != 0)
			continue;
		*ret = l.v[i];
		asg_group_init(&l.v[i]);
		asg_groups_release(&l);
		return 0;
	}
	asg_groups_release(&l);
	errbuf_set(eb, EK_NOINPUT, "autoscaling group '%s': not found", name);
	return ASG_NOT_FOUND;
}

/* --- changes --------------------------------------------------------- */

/* Whether AWS said the group does not exist. */
static int
is_not_found(const struct aws_result *res)
{
	return res->code != NULL && res->message != NULL &&
	    strcmp(res->code, "ValidationError") == 0 &&
	    strstr(res->message, "not found") != NULL;
}

/* Send q (no output expected); ASG_NOT_FOUND for a missing group. */
static int
call(struct aws_client *c, struct aws_query *q, const char *group,
    struct errbuf *eb)
{
	struct aws_result	 res;
	xmlDoc			*doc = NULL;
	int			 rv;

	aws_result_init(&res);
	rv = aws_query_call(c, &aws_svc_autoscaling, NULL, q, 0, &doc, &res,
	    eb);
	if (rv == -1 && group != NULL && is_not_found(&res)) {
		errbuf_set(eb, EK_NOINPUT, "autoscaling %s of group '%s': "
		    "not found (%s)", q->action, group, res.message);
		rv = ASG_NOT_FOUND;
	} else if (rv == -1 && group != NULL)
		errbuf_prefix(eb, "group '%s': ", group);
	awsxml_free(doc);
	aws_result_release(&res);
	return rv;
}

static void
add_strs(struct aws_query *q, const char *prefix, const struct asg_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		aws_query_addf(q, s->v[i], "%s.member.%zu", prefix, i + 1);
}

static void
add_long(struct aws_query *q, const char *name, long v)
{
	if (v != ASG_SIZE_UNSET)
		aws_query_addu(q, name, (unsigned long long)v);
}

int
asg_create_group(struct aws_client *c, const struct asg_group *g,
    struct errbuf *eb)
{
	struct aws_query	 q;
	int			 rv = -1, lt;

	aws_query_init(&q, "CreateAutoScalingGroup", ASG_VERSION);
	lt = g->lt_id != NULL || g->lt_name != NULL;
	if (g->name == NULL) {
		errbuf_set(eb, EK_USAGE, "autoscaling CreateAutoScalingGroup: "
		    "the group needs a name");
		goto out;
	}
	if (g->mixed_instances) {
		errbuf_set(eb, EK_USAGE, "autoscaling group '%s': a group "
		    "with a MixedInstancesPolicy cannot be copied", g->name);
		goto out;
	}
	if (lt == (g->launch_configuration != NULL)) {
		errbuf_set(eb, EK_USAGE, "autoscaling group '%s': give "
		    "exactly one of a launch template or a launch "
		    "configuration", g->name);
		goto out;
	}
	if (g->min_size < 0 || g->max_size < 0 || g->desired < 0 ||
	    g->min_size > g->max_size || g->desired < g->min_size ||
	    g->desired > g->max_size) {
		errbuf_set(eb, EK_USAGE, "autoscaling group '%s': sizes "
		    "min %ld <= desired %ld <= max %ld are required", g->name,
		    g->min_size, g->desired, g->max_size);
		goto out;
	}
	if (g->ntags > ASG_TAGS_MAX) {
		errbuf_set(eb, EK_USAGE, "autoscaling group '%s': more than "
		    "%d tags", g->name, ASG_TAGS_MAX);
		goto out;
	}
	aws_query_add(&q, "AutoScalingGroupName", g->name);
	aws_query_add(&q, "LaunchConfigurationName", g->launch_configuration);
	if (lt) {
		aws_query_add(&q, "LaunchTemplate.LaunchTemplateId", g->lt_id);
		if (g->lt_id == NULL)
			aws_query_add(&q, "LaunchTemplate.LaunchTemplateName",
			    g->lt_name);
		aws_query_add(&q, "LaunchTemplate.Version", g->lt_version);
	}
	add_long(&q, "MinSize", g->min_size);
	add_long(&q, "MaxSize", g->max_size);
	add_long(&q, "DesiredCapacity", g->desired);
	add_long(&q, "DefaultCooldown", g->default_cooldown);
	if (g->vpc_zone_identifier != NULL)
		aws_query_add(&q, "VPCZoneIdentifier", g->vpc_zone_identifier);
	else
		add_strs(&q, "AvailabilityZones", &g->availability_zones);
	aws_query_add(&q, "HealthCheckType", g->health_check_type);
	add_long(&q, "HealthCheckGracePeriod", g->health_check_grace);
	add_strs(&q, "TerminationPolicies", &g->termination_policies);
	add_strs(&q, "TargetGroupARNs", &g->target_groups);
	add_strs(&q, "LoadBalancerNames", &g->load_balancers);
	for (size_t i = 0; i < g->ntags; i++) {
		aws_query_addf(&q, g->name, "Tags.member.%zu.ResourceId",
		    i + 1);
		aws_query_addf(&q, "auto-scaling-group",
		    "Tags.member.%zu.ResourceType", i + 1);
		aws_query_addf(&q, g->tags[i].key, "Tags.member.%zu.Key",
		    i + 1);
		aws_query_addf(&q, g->tags[i].value, "Tags.member.%zu.Value",
		    i + 1);
		aws_query_addf(&q, g->tags[i].propagate ? "true" : "false",
		    "Tags.member.%zu.PropagateAtLaunch", i + 1);
	}
	rv = call(c, &q, NULL, eb);
	if (rv == -1)
		errbuf_prefix(eb, "creating group '%s': ", g->name);
 out:
	aws_query_release(&q);
	return rv;
}

int
asg_update_sizes(struct aws_client *c, const char *name, long min,
    long max, long desired, struct errbuf *eb)
{
	struct aws_query	 q;
	int			 rv;

	if (name == NULL)
		return errbuf_set(eb, EK_USAGE, "autoscaling "
		    "UpdateAutoScalingGroup: the group needs a name");
	aws_query_init(&q, "UpdateAutoScalingGroup", ASG_VERSION);
	aws_query_add(&q, "AutoScalingGroupName", name);
	add_long(&q, "MinSize", min);
	add_long(&q, "MaxSize", max);
	add_long(&q, "DesiredCapacity", desired);
	rv = call(c, &q, name, eb);
	aws_query_release(&q);
	return rv;
}

int
asg_delete_group(struct aws_client *c, const char *name, struct errbuf *eb)
{
	struct aws_query	 q;
	int			 rv;

	if (name == NULL)
		return errbuf_set(eb, EK_USAGE, "autoscaling "
		    "DeleteAutoScalingGroup: the group needs a name");
	/* Never ForceDelete: a group with instances must be refused. */
	aws_query_init(&q, "DeleteAutoScalingGroup", ASG_VERSION);
	aws_query_add(&q, "AutoScalingGroupName", name);
	rv = call(c, &q, name, eb);
	aws_query_release(&q);
	return rv;
}

static int
processes(struct aws_client *c, const char *action, const char *name,
    const char *const *procs, size_t n, struct errbuf *eb)
{
	struct aws_query	 q;
	int			 rv;

	if (name == NULL)
		return errbuf_set(eb, EK_USAGE, "autoscaling %s: the group "
		    "needs a name", action);
	aws_query_init(&q, action, ASG_VERSION);
	aws_query_add(&q, "AutoScalingGroupName", name);
	for (size_t i = 0; i < n; i++)
		aws_query_addf(&q, procs[i], "ScalingProcesses.member.%zu",
		    i + 1);
	rv = call(c, &q, name, eb);
	aws_query_release(&q);
	return rv;
}

int
asg_suspend_processes(struct aws_client *c, const char *name,
    const char *const *procs, size_t n, struct errbuf *eb)
{
	return processes(c, "SuspendProcesses", name, procs, n, eb);
}

int
asg_resume_processes(struct aws_client *c, const char *name,
    const char *const *procs, size_t n, struct errbuf *eb)
{
	return processes(c, "ResumeProcesses", name, procs, n, eb);
}

static int
attach(struct aws_client *c, const char *action, const char *param,
    const char *name, const char *const *v, size_t n, struct errbuf *eb)
{
	struct aws_query	 q;
	int			 rv;

	if (name == NULL)
		return errbuf_set(eb, EK_USAGE, "autoscaling %s: the group "
		    "needs a name", action);
	if (n > ASG_ATTACH_MAX)
		return errbuf_set(eb, EK_USAGE, "autoscaling %s of group "
		    "'%s': at most %d at a time", action, name,
		    ASG_ATTACH_MAX);
	if (n == 0)
		return 0;
	aws_query_init(&q, action, ASG_VERSION);
	aws_query_add(&q, "AutoScalingGroupName", name);
	for (size_t i = 0; i < n; i++)
		aws_query_addf(&q, v[i], "%s.member.%zu", param, i + 1);
	rv = call(c, &q, name, eb);
	aws_query_release(&q);
	return rv;
}

int
asg_attach_target_groups(struct aws_client *c, const char *name,
    const char *const *arns, size_t n, struct errbuf *eb)
{
	return attach(c, "AttachLoadBalancerTargetGroups", "TargetGroupARNs",
	    name, arns, n, eb);
}

int
asg_detach_target_groups(struct aws_client *c, const char *name,
    const char *const *arns, size_t n, struct errbuf *eb)
{
	return attach(c, "DetachLoadBalancerTargetGroups", "TargetGroupARNs",
	    name, arns, n, eb);
}

int
asg_attach_load_balancers(struct aws_client *c, const char *name,
    const char *const *lbs, size_t n, struct errbuf *eb)
{
	return attach(c, "AttachLoadBalancers", "LoadBalancerNames", name,
	    lbs, n, eb);
}

int
asg_detach_load_balancers(struct aws_client *c, const char *name,
    const char *const *lbs, size_t n, struct errbuf *eb)
{
	return attach(c, "DetachLoadBalancers", "LoadBalancerNames", name,
	    lbs, n, eb);
}

/* --- scheduled actions ---------------------------------------------- */

int
asg_put_scheduled_zero(struct aws_client *c, const char *name,
    const char *action, const char *start, struct errbuf *eb)
{
	struct aws_query	 q;
	int			 rv;

	if (name == NULL || action == NULL || start == NULL)
		return errbuf_set(eb, EK_USAGE, "autoscaling "
		    "PutScheduledUpdateGroupAction: a group, an action name "
		    "and a start time are required");
	aws_query_init(&q, "PutScheduledUpdateGroupAction", ASG_VERSION);
	aws_query_add(&q, "AutoScalingGroupName", name);
	aws_query_add(&q, "ScheduledActionName", action);
	aws_query_add(&q, "StartTime", start);
	aws_query_addu(&q, "MinSize", 0);
	aws_query_addu(&q, "MaxSize", 0);
	aws_query_addu(&q, "DesiredCapacity", 0);
	rv = call(c, &q, name, eb);
	aws_query_release(&q);
	return rv;
}

int
asg_delete_scheduled_action(struct aws_client *c, const char *name,
    const char *action, struct errbuf *eb)
{
	struct aws_query	 q;
	int			 rv;

	if (name == NULL || action == NULL)
		return errbuf_set(eb, EK_USAGE, "autoscaling "
		    "DeleteScheduledAction: a group and an action name are "
		    "required");
	aws_query_init(&q, "DeleteScheduledAction", ASG_VERSION);
	aws_query_add(&q, "AutoScalingGroupName", name);
	aws_query_add(&q, "ScheduledActionName", action);
	rv = call(c, &q, name, eb);
	if (rv == ASG_NOT_FOUND)
		errbuf_set(eb, EK_NOINPUT, "autoscaling group '%s': no "
		    "scheduled action '%s'", name, action);
	aws_query_release(&q);
	return rv;
}

int
asg_parse_scheduled_start(xmlDoc *doc, const char *action, char **ret,
    struct errbuf *eb)
{
	xmlNode	*l, *m;
	char	*s;
	int	 found;

	*ret = NULL;
	if ((l = awsxml_child(awsxml_child(awsxml_root(doc),
	    "DescribeScheduledActionsResult"),
	    "ScheduledUpdateGroupActions")) == NULL)
		return errbuf_set(eb, EK_PROTO, "autoscaling "
		    "DescribeScheduledActions: no ScheduledUpdateGroupActions "
		    "in the reply");
	for (m = awsxml_first(l, "member"); m != NULL;
	    m = awsxml_next(m, "member")) {
		if ((s = awsxml_child_text(m, "ScheduledActionName")) == NULL)
			continue;
		found = strcmp(s, action) == 0;
		free(s);
		if (!found)
			continue;
		if ((*ret = awsxml_child_text(m, "StartTime")) == NULL)
			return errbuf_set(eb, EK_PROTO, "autoscaling "
			    "DescribeScheduledActions: action '%s' has no "
			    "StartTime", action);
		return 0;
	}
	return ASG_NOT_FOUND;
}

int
asg_scheduled_start(struct aws_client *c, const char *name,
    const char *action, char **ret, struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 rv;

	*ret = NULL;
	aws_result_init(&res);
	aws_query_init(&q, "DescribeScheduledActions", ASG_VERSION);
	aws_query_add(&q, "AutoScalingGroupName", name);
	aws_query_add(&q, "ScheduledActionNames.member.1", action);
	rv = aws_query_call(c, &aws_svc_autoscaling, NULL, &q, 0, &doc, &res,
	    eb);
	if (rv == -1 && is_not_found(&res))
		rv = ASG_NOT_FOUND;
	else if (rv == -1)
		errbuf_prefix(eb, "group '%s': ", name);
	else
		rv = asg_parse_scheduled_start(doc, action, ret, eb);
	if (rv == ASG_NOT_FOUND)
		errbuf_set(eb, EK_NOINPUT, "autoscaling group '%s': no "
		    "scheduled action '%s'", name, action);
	awsxml_free(doc);
	aws_query_release(&q);
	aws_result_release(&res);
	return rv;
}
