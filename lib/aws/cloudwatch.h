/* SPDX-License-Identifier: ISC */
/*
 * cloudwatch.h: the one CloudWatch call the deployer's rollout gates
 * need, DescribeAlarms by name, over the Query protocol (Version
 * 2010-08-01, signing name "monitoring"; the endpoint can be overridden
 * with $AWS_ENDPOINT_URL_CLOUDWATCH).  Metric and composite alarms are
 * both asked for.  A name CloudWatch does not know is simply absent from
 * the answer; cw_alarms_find() tells the caller which.
 */
#ifndef HOOKD_AWS_CLOUDWATCH_H
#define HOOKD_AWS_CLOUDWATCH_H

#include <stddef.h>

#include <libxml/tree.h>

#include "compat.h"

struct aws_client;
struct errbuf;

#define CW_VERSION		"2010-08-01"
#define CW_NAMES_MAX		100	/* AlarmNames per DescribeAlarms */
#define CW_ALARMS_MAX		1000	/* alarms gathered by describe */
#define CW_NAME_MAX		255	/* an alarm name, bytes */

/* One alarm as DescribeAlarms reports it; owned strings. */
struct cw_alarm {
	char	*name;
	char	*state;		/* "OK", "ALARM", "INSUFFICIENT_DATA" */
	char	*reason;	/* StateReason, or NULL */
	char	*updated;	/* StateUpdatedTimestamp, or NULL */
	int	 composite;	/* a CompositeAlarms member */
};

struct cw_alarms {
	struct cw_alarm	*v;
	size_t		 n;
};

void	 cw_alarms_release(struct cw_alarms *);
/* The alarm named name in l (borrowed), or NULL when absent. */
const struct cw_alarm *cw_alarms_find(const struct cw_alarms *,
	    const char *name);

/*
 * DescribeAlarms for names (1 .. CW_NAMES_MAX of them), metric and
 * composite alarms, following NextToken.  Fills *ret (caller releases)
 * on success; an unknown name is absent from it.  Returns -1 with eb
 * set: EK_USAGE for no name, too many or an empty or over-long one
 * ("cloudwatch DescribeAlarms: ..."), else the kinds of aws_request().
 * Blocks for one request per page.
 */
int	 cw_describe_alarms(struct aws_client *, const char *const *names,
	    size_t n, struct cw_alarms *ret, struct errbuf *) HOOKD_WUR;

/*
 * The reply parser, exposed for tests: appends the page's alarms to
 * *ret, sets *ret_next (new string, or NULL on the last page).  0, or -1
 * with eb set (EK_PROTO: wrong root, an alarm without a name or state,
 * more than CW_ALARMS_MAX).
 */
int	 cw_parse_alarms(xmlDoc *, struct cw_alarms *ret, char **ret_next,
	    struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_AWS_CLOUDWATCH_H */
