/* SPDX-License-Identifier: ISC */
/*
 * sns.c: SNS Publish over the Query protocol (see sns.h).  Not here:
 * what the deployer says in a notice (lib/gates.c).
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "aws/client.h"
#include "aws/query.h"
#include "aws/sns.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "banned.h"

int
sns_subject_ok(const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > SNS_SUBJECT_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int
sns_parse_publish(xmlDoc *doc, char **ret_id, struct errbuf *eb)
{
	xmlNode	*result;
	char	*id;

	if (aws_query_result(doc, "sns", "Publish", &result, eb) == -1)
		return -1;
	if ((id = awsxml_child_text(result, "MessageId")) == NULL ||
	    *id == '\0') {
		free(id);
		return errbuf_set(eb, EK_PROTO, "sns Publish: unexpected "
		    "reply: no MessageId");
	}
	*ret_id = id;
	return 0;
}

int
sns_publish(struct aws_client *c, const char *topic_arn, const char *subject,
    const char *message, char **ret_id, struct errbuf *eb)
{
	struct aws_result	 res;
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	char			*id = NULL;
	size_t			 len;
	int			 rv = -1;

	if (topic_arn == NULL || strncmp(topic_arn, "arn:", 4) != 0)
		return errbuf_set(eb, EK_USAGE, "sns Publish: '%s' is not a "
		    "topic ARN", topic_arn == NULL ? "" : topic_arn);
	len = message == NULL ? 0 : strlen(message);
	if (len == 0 || len > SNS_MESSAGE_MAX)
		return errbuf_set(eb, EK_USAGE, "sns Publish to %s: the "
		    "message must be 1 to %d bytes, not %zu", topic_arn,
		    SNS_MESSAGE_MAX, len);
	if (subject != NULL && !sns_subject_ok(subject))
		return errbuf_set(eb, EK_USAGE, "sns Publish to %s: the "
		    "subject must be 1 to %d printable ASCII characters",
		    topic_arn, SNS_SUBJECT_MAX);
	aws_result_init(&res);
	aws_query_init(&q, "Publish", SNS_VERSION);
	aws_query_add(&q, "TopicArn", topic_arn);
	aws_query_add(&q, "Message", message);
	aws_query_add(&q, "Subject", subject);
	if (aws_query_call(c, &aws_svc_sns, NULL, &q, 0, &doc, &res,
	    eb) == -1 || sns_parse_publish(doc, &id, eb) == -1)
		goto out;
	if (ret_id != NULL)
		*ret_id = id;
	else
		free(id);
	rv = 0;
 out:
	awsxml_free(doc);
	aws_query_release(&q);
	aws_result_release(&res);
	return rv;
}
