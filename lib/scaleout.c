/* SPDX-License-Identifier: ISC */
/*
 * scaleout.c: the launch lifecycle action of an Auto Scaling instance
 * (see scaleout.h): learn the group and whether the instance is held,
 * heartbeat while the catch-up deployment runs, complete with CONTINUE
 * or ABANDON, and tell at shutdown whether the instance is leaving.
 * Not here: the deployment itself and every log line above debug (the
 * daemon's).
 */
#include "compat.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "aws/asg.h"
#include "aws/client.h"
#include "aws/imds.h"
#include "clock.h"
#include "errbuf.h"
#include "log.h"
#include "scaleout.h"
#include "xalloc.h"

#include "banned.h"

void
scaleout_init(struct scaleout *so)
{
	memset(so, 0, sizeof(*so));
}

void
scaleout_release(struct scaleout *so)
{
	if (so->own_aws)
		aws_client_free(so->aws);
	free(so->instance_id);
	free(so->hook);
	free(so->group);
	free(so->lifecycle_state);
	free(so->result);
	memset(so, 0, sizeof(*so));
}

static void
set_heartbeat_timeout(struct scaleout *so, unsigned long sec)
{
	so->heartbeat_timeout = sec != 0 ? sec : SCALEOUT_HB_DEFAULT;
	/*
	 * A third of the timeout leaves two thirds for a heartbeat that
	 * fails once and is retried (AWS's minimum timeout is 30 s).
	 */
	so->heartbeat_every_ms = (long long)so->heartbeat_timeout * 1000 /
	    SCALEOUT_HB_FRACTION;
	if (so->heartbeat_every_ms < SCALEOUT_HB_MIN_MS)
		so->heartbeat_every_ms = SCALEOUT_HB_MIN_MS;
}

static bool
state_pending(const char *s)
{
	/*
	 * "Pending" comes just before "Pending:Wait"; a completion sent
	 * then answers "No active Lifecycle Action", which is harmless.
	 */
	return s != NULL && (strcmp(s, "Pending:Wait") == 0 ||
	    strcmp(s, "Pending") == 0);
}

/* DescribeAutoScalingInstances of our instance: group and state. */
static int
describe_self(struct scaleout *so, bool *ret_found, struct errbuf *eb)
{
	struct asg_instances	 l = { 0 };
	const char		*ids[1];
	bool			 found = false;

	ids[0] = so->instance_id;
	if (asg_describe_instances(so->aws, ids, 1, &l, eb) == -1)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].instance_id == NULL ||
		    strcmp(l.v[i].instance_id, so->instance_id) != 0)
			continue;
		found = true;
		if (so->group == NULL && l.v[i].group != NULL &&
		    l.v[i].group[0] != '\0') {
			so->group = xstrdup(l.v[i].group);
			so->group_source = "DescribeAutoScalingInstances";
		}
		free(so->lifecycle_state);
		so->lifecycle_state = l.v[i].lifecycle_state != NULL ?
		    xstrdup(l.v[i].lifecycle_state) : NULL;
		break;
	}
	asg_instances_release(&l);
	*ret_found = found;
	return 0;
}

/* DescribeLifecycleHooks: 1 the hook exists (timeout set), 0 not. */
static int
find_hook(struct scaleout *so, struct errbuf *eb)
{
	struct asg_hooks	 l = { 0 };
	int			 found = 0;

	if (asg_describe_lifecycle_hooks(so->aws, so->group, &l, eb) == -1)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].name == NULL || strcmp(l.v[i].name, so->hook) != 0)
			continue;
		set_heartbeat_timeout(so, l.v[i].heartbeat_timeout);
		found = 1;
		break;
	}
	asg_hooks_release(&l);
	return found;
}

static void
action_of(const struct scaleout *so, struct asg_action *a)
{
	memset(a, 0, sizeof(*a));
	a->group = so->group;
	a->hook = so->hook;
	a->instance_id = so->instance_id;
}

int
scaleout_begin(struct scaleout *so, struct aws_client *aws,
    struct imds *imds, const char *region, const char *instance_id,
    const char *hook, struct errbuf *eb)
{
	struct aws_client_config cc;
	struct asg_action	 a;
	struct errbuf		 e2 = { 0 };
	char			*tag = NULL;
	bool			 found = false;
	int			 rc;

	if (instance_id == NULL || hook == NULL)
		return errbuf_set(eb, EK_USAGE, "scale-out: instance id and "
		    "lifecycle hook are required");
	if (so->instance_id == NULL)
		so->instance_id = xstrdup(instance_id);
	if (so->hook == NULL)
		so->hook = xstrdup(hook);
	if (so->aws == NULL && aws != NULL)
		so->aws = aws;
	else if (so->aws == NULL) {
		memset(&cc, 0, sizeof(cc));
		cc.region = region;
		cc.imds = imds;
		cc.timeout_ms = SCALEOUT_CALL_TIMEOUT_MS;
		if ((so->aws = aws_client_new(&cc, eb)) == NULL)
			return -1;
		so->own_aws = true;
	}
	so->state = SO_NONE;
	if (so->heartbeat_timeout == 0)
		set_heartbeat_timeout(so, 0);

	/* The group: the instance tag first, it costs no AWS call. */
	if (so->group == NULL && imds != NULL && imds_enabled(imds)) {
		if (imds_tag(imds, SCALEOUT_TAG_GROUP, &tag, &e2) == -1)
			log_debug("scale-out: %s", e2.msg);
		else if (tag[0] != '\0') {
			so->group = tag;
			so->group_source = "instance tag " SCALEOUT_TAG_GROUP;
			tag = NULL;
		}
		free(tag);
	}

	/* The lifecycle state (and the group when the tag is off). */
	if (describe_self(so, &found, &e2) == -1) {
		if (so->group == NULL) {
			*eb = e2;
			return -1;
		}
		/*
		 * Allowed to complete but not to describe: a heartbeat
		 * tells whether the action is there.
		 */
		log_debug("scale-out: %s; probing with a heartbeat", e2.msg);
		action_of(so, &a);
		rc = asg_record_heartbeat(so->aws, &a, eb);
		if (rc == -1)
			return -1;
		if (rc == 0) {
			so->state = SO_PENDING;
			mono_now(&so->hb_last);
		}
	} else if (!found || so->group == NULL)
		return 0;	/* not in an Auto Scaling group */
	else if (state_pending(so->lifecycle_state))
		so->state = SO_PENDING;

	if (so->state != SO_PENDING)
		return 0;
	/* The hook's heartbeat timeout; no such hook: nothing to do. */
	if ((rc = find_hook(so, &e2)) == -1) {
		/*
		 * The hook cannot be read (no DescribeLifecycleHooks in the
		 * role): assume AWS's shortest timeout, so heartbeats come
		 * often enough whatever the hook says.
		 */
		log_debug("scale-out: %s; assuming a heartbeat timeout of %d s",
		    e2.msg, SCALEOUT_HB_TIMEOUT_MIN);
		set_heartbeat_timeout(so, SCALEOUT_HB_TIMEOUT_MIN);
	} else if (rc == 0)
		so->state = SO_NONE;	/* the group has no such hook */
	/*
	 * No heartbeat yet (hb_last zero): the first is due at once, so
	 * the whole timeout is ours from the start of the catch-up.
	 */
	return 0;
}

long long
scaleout_next_ms(const struct scaleout *so)
{
	long long	 left;

	if (so->state != SO_PENDING)
		return -1;
	left = so->heartbeat_every_ms - mono_ms_since(&so->hb_last);
	return left < 0 ? 0 : left;
}

int
scaleout_tick(struct scaleout *so, bool force, struct errbuf *eb)
{
	struct asg_action	 a;
	long long		 every;
	int			 rc;

	if (so->state != SO_PENDING)
		return 0;
	if (!force && scaleout_next_ms(so) > 0)
		return 0;
	action_of(so, &a);
	rc = asg_record_heartbeat(so->aws, &a, eb);
	mono_now(&so->hb_last);
	if (rc == -1) {
		/* Try again after a third of the interval, not a full one. */
		every = so->heartbeat_every_ms / SCALEOUT_HB_FRACTION;
		if (every < SCALEOUT_HB_MIN_MS)
			every = SCALEOUT_HB_MIN_MS;
		so->hb_last.tv_sec -= (time_t)((so->heartbeat_every_ms -
		    every) / 1000);
		return -1;
	}
	if (rc == ASG_NO_ACTIVE_ACTION) {
		so->state = SO_DONE;
		return SCALEOUT_GONE;
	}
	so->heartbeats++;
	return SCALEOUT_SENT;
}

int
scaleout_complete(struct scaleout *so, bool success, struct errbuf *eb)
{
	struct asg_action	 a;
	const char		*res = success ? "CONTINUE" : "ABANDON";
	int			 rc;

	if (so->state != SO_PENDING)
		return 0;
	action_of(so, &a);
	rc = asg_complete_lifecycle_action(so->aws, &a, res, eb);
	if (rc == -1)
		return -1;
	so->state = SO_DONE;
	if (rc == ASG_NO_ACTIVE_ACTION)
		return SCALEOUT_GONE;
	free(so->result);
	so->result = xstrdup(res);
	return 0;
}

/* systemd's SystemState: 1 "stopping", 0 other, -1 cannot ask. */
static int
system_stopping(struct errbuf *eb)
{
	sd_bus		*bus = NULL;
	sd_bus_error	 err = SD_BUS_ERROR_NULL;
	char		*st = NULL;
	int		 r, rv = -1;

	if ((r = sd_bus_open_system(&bus)) < 0) {
		errbuf_errnum(eb, EK_UNAVAIL, -r, "cannot connect to the "
		    "system bus");
		goto out;
	}
	if ((r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1",
	    "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
	    "SystemState", &err, &st)) < 0) {
		errbuf_set(eb, EK_UNAVAIL, "cannot read systemd's SystemState: "
		    "%s", err.message != NULL ? err.message : strerror(-r));
		goto out;
	}
	rv = strcmp(st, "stopping") == 0;
 out:
	sd_bus_error_free(&err);
	free(st);
	if (bus != NULL)
		sd_bus_flush_close_unref(bus);
	return rv;
}

int
scaleout_leaving(struct scaleout *so, bool *ret_leaving, struct errbuf *eb)
{
	struct errbuf	 e2 = { 0 };
	bool		 found = false, asked = false, leaving = false;
	int		 r;

	if (so->group != NULL && so->aws != NULL && so->instance_id != NULL) {
		if (describe_self(so, &found, eb) == 0) {
			asked = true;
			leaving = !found || (so->lifecycle_state != NULL &&
			    strncmp(so->lifecycle_state, "Terminating",
			    11) == 0);
		}
	}
	if (!leaving) {
		r = system_stopping(&e2);
		if (r == -1 && !asked) {
			if (so->group == NULL)
				*eb = e2;
			return -1;
		}
		if (r == 1)
			leaving = true;
	}
	*ret_leaving = leaving;
	return 0;
}
