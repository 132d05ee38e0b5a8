/* SPDX-License-Identifier: ISC */
/*
 * setup_asg.c: the Auto Scaling part of "deployer setup GROUP
 * --auto-scaling-group NAME": create or update the launch
 * lifecycle hook that holds new instances in Pending:Wait until hookd
 * has caught up (EC2_INSTANCE_LAUNCHING, DefaultResult ABANDON, a
 * heartbeat timeout), read it back, and print what the instance role
 * (IAM policy JSON) and the launch template (instance metadata tags,
 * the hookd:deployment-group tag, lifecycle_hook in hookd.yml) need.
 * Not here: creating the group, the role or the launch template.
 */
#include "compat.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/asg.h"
#include "aws/client.h"
#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "setup_asg.h"
#include "xalloc.h"

#include "banned.h"

/* Append "arn:aws:s3:::BUCKET/[PREFIX/]TOP/APP/[GROUP/]TAIL" to arr. */
static void
s3_arn(json_t *arr, const char *bucket, const char *prefix, const char *top,
    const char *app, const char *group, const char *tail)
{
	char	*a;

	a = xasprintf("arn:aws:s3:::%s/%s%s%s/%s/%s%s%s", bucket, prefix,
	    *prefix != '\0' ? "/" : "", top, app, group != NULL ? group : "",
	    group != NULL ? "/" : "", tail);
	json_array_append_new(arr, json_string(a));
	free(a);
}

/* The instance role's policy for this group, a new reference. */
static json_t *
asg_policy(const struct dctx *c, const char *group, const char *asg,
    const char *region)
{
	json_t		*st, *res;
	const char	*store = c->cfg.store, *app = c->cfg.application;
	char		*bucket = NULL, *prefix, *slash;
	char		*a;

	st = json_array();
	if (strcmp(c->cfg.queue, "sqs") == 0) {
		a = xasprintf("arn:aws:sqs:%s:*:%s-%s-*", region,
		    c->cfg.queue_prefix, group);
		json_array_append_new(st, json_pack("{s:s, s:s, s:[s,s,s,s,s,"
		    "s,s,s], s:s}", "Sid", "HookdOwnQueue", "Effect", "Allow",
		    "Action", "sqs:CreateQueue", "sqs:GetQueueUrl",
		    "sqs:GetQueueAttributes", "sqs:SetQueueAttributes",
		    "sqs:ReceiveMessage", "sqs:DeleteMessage",
		    "sqs:ChangeMessageVisibility", "sqs:DeleteQueue",
		    "Resource", a));
		free(a);
	}
	if (strncmp(store, "s3://", 5) == 0) {
		bucket = xstrdup(store + 5);
		prefix = bucket + strlen(bucket);	/* "" */
		if ((slash = strchr(bucket, '/')) != NULL) {
			*slash = '\0';
			prefix = slash + 1;
		}
		while (*prefix != '\0' && prefix[strlen(prefix) - 1] == '/')
			prefix[strlen(prefix) - 1] = '\0';
		res = json_array();
		s3_arn(res, bucket, prefix, "revisions", app, NULL, "*");
		s3_arn(res, bucket, prefix, "groups", app, group,
		    "target.json");
		json_array_append_new(st, json_pack("{s:s, s:s, s:s, s:o}",
		    "Sid", "HookdReadRevisionsAndTarget", "Effect", "Allow",
		    "Action", "s3:GetObject", "Resource", res));
		res = json_array();
		s3_arn(res, bucket, prefix, "groups", app, group,
		    "instances/*");
		s3_arn(res, bucket, prefix, "deployments", app, group,
		    "*/instances/*");
		json_array_append_new(st, json_pack("{s:s, s:s, s:[s,s], s:o}",
		    "Sid", "HookdWriteRegistryAndProgress", "Effect", "Allow",
		    "Action", "s3:PutObject", "s3:DeleteObject", "Resource",
		    res));
		/* Lets S3 answer 404, not 403, for "no target.json yet". */
		a = xasprintf("arn:aws:s3:::%s", bucket);
		res = json_pack("{s:s, s:s, s:s, s:s}", "Sid",
		    "HookdListForNotFound", "Effect", "Allow", "Action",
		    "s3:ListBucket", "Resource", a);
		free(a);
		if (*prefix != '\0') {
			a = xasprintf("%s/*", prefix);
			json_object_set_new(res, "Condition", json_pack(
			    "{s:{s:[s]}}", "StringLike", "s3:prefix", a));
			free(a);
		}
		json_array_append_new(st, res);
		free(bucket);
	}
	a = xasprintf("arn:aws:autoscaling:%s:*:autoScalingGroup:*:"
	    "autoScalingGroupName/%s", region, asg);
	json_array_append_new(st, json_pack("{s:s, s:s, s:[s,s], s:s}", "Sid",
	    "HookdLifecycleAction", "Effect", "Allow", "Action",
	    "autoscaling:CompleteLifecycleAction",
	    "autoscaling:RecordLifecycleActionHeartbeat", "Resource", a));
	free(a);
	json_array_append_new(st, json_pack("{s:s, s:s, s:[s,s], s:s}", "Sid",
	    "HookdDescribe", "Effect", "Allow", "Action",
	    "autoscaling:DescribeAutoScalingInstances",
	    "autoscaling:DescribeLifecycleHooks", "Resource", "*"));
	return json_pack("{s:s, s:o}", "Version", "2012-10-17", "Statement",
	    st);
}

/*
 * Create or update the launch hook o->hook of Auto Scaling group o->asg
 * for deployment group g, then print it and what the instances need.
 * Uses c->aws, or a client of its own when deployer.yml names no AWS
 * backend.  Returns 0, or -1 with eb set (the AWS client's kinds; the
 * hook must be allowed by autoscaling:PutLifecycleHook).  Blocks for two
 * requests.
 */
int
setup_asg(struct dctx *c, const struct deployer_group *g,
    const struct setup_asg_opts *o, struct errbuf *eb)
{
	struct aws_client_config ac = { 0 };
	struct aws_client	*own = NULL, *aws = c->aws;
	struct asg_hook		 h = { 0 };
	struct asg_hooks	 l = { 0 };
	const struct asg_hook	*got = NULL;
	json_t			*pol = NULL;
	char			*text = NULL;
	int			 ret = -1;

	if (aws == NULL) {
		ac.region = c->cfg.region;
		if ((aws = own = aws_client_new(&ac, eb)) == NULL)
			return -1;
	}
	h.name = (char *)(uintptr_t)o->hook;
	h.group = (char *)(uintptr_t)o->asg;
	h.transition = (char *)(uintptr_t)"autoscaling:EC2_INSTANCE_LAUNCHING";
	h.default_result = (char *)(uintptr_t)"ABANDON";
	h.heartbeat_timeout = o->heartbeat_timeout;
	if (asg_put_lifecycle_hook(aws, &h, eb) == -1) {
		errbuf_prefix(eb, "lifecycle hook '%s' of Auto Scaling group "
		    "'%s': ", o->hook, o->asg);
		goto out;
	}
	if (asg_describe_lifecycle_hooks(aws, o->asg, &l, eb) == -1)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].name != NULL && strcmp(l.v[i].name, o->hook) == 0)
			got = &l.v[i];
	if (got == NULL) {
		errbuf_set(eb, EK_PROTO, "lifecycle hook '%s' is not listed by "
		    "DescribeLifecycleHooks of '%s' after PutLifecycleHook",
		    o->hook, o->asg);
		goto out;
	}
	printf("lifecycle hook '%s' of Auto Scaling group '%s': %s, default "
	    "result %s, heartbeat timeout %lu s\n", got->name, o->asg,
	    got->transition != NULL ? got->transition : "?",
	    got->default_result != NULL ? got->default_result : "?",
	    got->heartbeat_timeout);
	printf("\nhookd.yml on the instances needs:\n"
	    "  lifecycle_hook: %s\n"
	    "  deployment_group: %s   # or the instance tag below\n",
	    o->hook, g->name);
	printf("\nthe launch template needs:\n"
	    "  MetadataOptions: {\"HttpTokens\": \"required\", "
	    "\"InstanceMetadataTags\": \"enabled\"}\n"
	    "  instance tag: hookd:deployment-group = %s\n", g->name);
	pol = asg_policy(c, g->name, o->asg, aws_client_region(aws));
	text = json_dumps(pol, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("\nthe instance role needs this policy (see "
	    "docs/autoscaling.md):\n%s\n", text);
	ret = 0;
 out:
	free(text);
	if (pol != NULL)
		json_decref(pol);
	asg_hooks_release(&l);
	aws_client_free(own);
	return ret;
}
