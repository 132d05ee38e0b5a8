/* SPDX-License-Identifier: ISC */
/*
 * cloudwatch.c: DescribeAlarms over the Query protocol (see
 * cloudwatch.h).  Not here: what an alarm's state means for a rollout
 * (lib/gates.c).
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "aws/client.h"
#include "aws/cloudwatch.h"
#include "aws/query.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "xalloc.h"
#include "banned.h"

void
cw_alarms_release(struct cw_alarms *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].state);
		free(l->v[i].reason);
		free(l->v[i].updated);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const struct cw_alarm *
cw_alarms_find(const struct cw_alarms *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

/* Append the members of one list (MetricAlarms or CompositeAlarms). */
static int
cw_parse_list(xmlNode *list, int composite, struct cw_alarms *ret,
    struct errbuf *eb)
{
	struct cw_alarm	*a;
	xmlNode		*x;

	for (x = awsxml_first(list, "member"); x != NULL;
	    x = awsxml_next(x, "member")) {
		if (ret->n >= CW_ALARMS_MAX)
			return errbuf_set(eb, EK_PROTO, "cloudwatch "
			    "DescribeAlarms: more than %d alarms",
			    CW_ALARMS_MAX);
		ret->v = xreallocarray(ret->v, ret->n + 1, sizeof(*ret->v));
		a = &ret->v[ret->n];
		memset(a, 0, sizeof(*a));
		a->name = awsxml_child_text(x, "AlarmName");
		a->state = awsxml_child_text(x, "StateValue");
		if (a->name == NULL || a->state == NULL) {
			free(a->name);
			free(a->state);
			return errbuf_set(eb, EK_PROTO, "cloudwatch "
			    "DescribeAlarms: an alarm has no %s",
			    a->name == NULL ? "AlarmName" : "StateValue");
		}
		ret->n++;
		a->reason = awsxml_child_text(x, "StateReason");
		a->updated = awsxml_child_text(x, "StateUpdatedTimestamp");
		a->composite = composite;
	}
	return 0;
}

int
cw_parse_alarms(xmlDoc *doc, struct cw_alarms *ret, char **ret_next,
    struct errbuf *eb)
{
	xmlNode	*result;
	char	*next;

	if (aws_query_result(doc, "cloudwatch", "DescribeAlarms", &result,
	    eb) == -1)
		return -1;
	if (result == NULL)
		return errbuf_set(eb, EK_PROTO, "cloudwatch DescribeAlarms: "
		    "unexpected reply: no DescribeAlarmsResult");
	if (cw_parse_list(awsxml_child(result, "MetricAlarms"), 0, ret,
	    eb) == -1 || cw_parse_list(awsxml_child(result,
	    "CompositeAlarms"), 1, ret, eb) == -1)
		return -1;
	next = awsxml_child_text(result, "NextToken");
	if (next != NULL && *next == '\0') {
		free(next);
		next = NULL;
	}
	*ret_next = next;
	return 0;
}

static int
cw_check_names(const char *const *names, size_t n, struct errbuf *eb)
{
	size_t	 len;

	if (n == 0 || n > CW_NAMES_MAX)
		return errbuf_set(eb, EK_USAGE, "cloudwatch DescribeAlarms: "
		    "give 1 to %d alarm names, not %zu", CW_NAMES_MAX, n);
	for (size_t i = 0; i < n; i++) {
		len = names[i] == NULL ? 0 : strlen(names[i]);
		if (len == 0 || len > CW_NAME_MAX)
			return errbuf_set(eb, EK_USAGE, "cloudwatch "
			    "DescribeAlarms: alarm name %zu is empty or longer "
			    "than %d bytes", i + 1, CW_NAME_MAX);
	}
	return 0;
}

/* aws_query_pages()'s reader of one DescribeAlarms reply. */
static int
cw_alarms_page(xmlDoc *doc, void *l, char **ret_next, struct errbuf *eb)
{
	return cw_parse_alarms(doc, l, ret_next, eb);
}

int
cw_describe_alarms(struct aws_client *c, const char *const *names,
    size_t n, struct cw_alarms *ret, struct errbuf *eb)
{
	struct cw_alarms	 l = { 0 };
	struct aws_query	 q;
	int			 rv;

	if (cw_check_names(names, n, eb) == -1)
		return -1;
	aws_query_init(&q, "DescribeAlarms", CW_VERSION);
	for (size_t i = 0; i < n; i++)
		aws_query_addf(&q, names[i], "AlarmNames.member.%zu", i + 1);
	aws_query_add(&q, "AlarmTypes.member.1", "MetricAlarm");
	aws_query_add(&q, "AlarmTypes.member.2", "CompositeAlarm");
	rv = aws_query_pages(c, &aws_svc_cloudwatch, &q, cw_alarms_page, &l,
	    eb);
	aws_query_release(&q);
	if (rv == -1) {
		cw_alarms_release(&l);
		return -1;
	}
	*ret = l;
	return 0;
}
