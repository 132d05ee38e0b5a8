/* SPDX-License-Identifier: ISC */
/*
 * query.c: building AWS Query protocol requests and checking the envelope
 * of their XML replies (see query.h).  Shared by sqs.c and asg.c.
 */
#include "compat.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "aws/client.h"
#include "aws/query.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "xalloc.h"
#include "banned.h"

void
aws_query_init(struct aws_query *q, const char *action, const char *version)
{
	memset(q, 0, sizeof(*q));
	q->action = xstrdup(action);
	aws_query_add(q, "Action", action);
	aws_query_add(q, "Version", version);
}

void
aws_query_release(struct aws_query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free((char *)(uintptr_t)q->v[i].name);
		free((char *)(uintptr_t)q->v[i].value);
	}
	free(q->v);
	free(q->action);
	memset(q, 0, sizeof(*q));
}

static void
aws_query_push(struct aws_query *q, char *name, const char *value)
{
	if (q->n == q->cap) {
		q->cap = q->cap == 0 ? 16 : q->cap * 2;
		q->v = xreallocarray(q->v, q->cap, sizeof(*q->v));
	}
	q->v[q->n].name = name;
	q->v[q->n].value = xstrdup(value);
	q->n++;
}

void
aws_query_add(struct aws_query *q, const char *name, const char *value)
{
	if (value == NULL)
		return;
	aws_query_push(q, xstrdup(name), value);
}

void
aws_query_addf(struct aws_query *q, const char *value, const char *fmt, ...)
{
	va_list	 ap;
	char	*name;

	if (value == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&name, fmt, ap) == -1)
		abort();
	va_end(ap);
	aws_query_push(q, name, value);
}

void
aws_query_addu(struct aws_query *q, const char *name, unsigned long long v)
{
	char	 num[32];

	snprintf(num, sizeof(num), "%llu", v);
	aws_query_add(q, name, num);
}

int
aws_query_result(xmlDoc *doc, const char *svc, const char *action,
    xmlNode **ret_result, struct errbuf *eb)
{
	xmlNode	*root;
	char	 want[128];

	snprintf(want, sizeof(want), "%sResponse", action);
	root = awsxml_root(doc);
	if (root == NULL || !awsxml_is(root, want))
		return errbuf_set(eb, EK_PROTO, "%s %s: unexpected reply: "
		    "root element is '%s', not '%s'", svc, action,
		    root == NULL ? "(none)" : (const char *)root->name, want);
	snprintf(want, sizeof(want), "%sResult", action);
	*ret_result = awsxml_child(root, want);
	return 0;
}

int
aws_query_call(struct aws_client *c, const struct aws_service *svc,
    const char *url, const struct aws_query *q, long timeout_ms,
    xmlDoc **ret_doc, struct aws_result *res, struct errbuf *eb)
{
	struct aws_request	 req = { 0 };
	xmlDoc			*doc = NULL;
	xmlNode			*result;
	int			 rv = -1;

	req.svc = svc;
	req.op = q->action;
	req.method = "POST";
	req.url = url;
	req.form = q->v;
	req.nform = q->n;
	req.body_fd = -1;
	req.out_fd = -1;
	req.timeout_ms = timeout_ms;
	req.long_poll = timeout_ms != 0;
	if (aws_request(c, &req, res, eb) == -1)
		goto out;
	if ((doc = awsxml_parse(res->body.data, res->body.len, eb)) == NULL) {
		errbuf_prefix(eb, "%s %s: unexpected reply: ", svc->name,
		    q->action);
		goto out;
	}
	if (aws_query_result(doc, svc->name, q->action, &result, eb) == -1)
		goto out;
	*ret_doc = doc;
	doc = NULL;
	rv = 0;
 out:
	awsxml_free(doc);
	return rv;
}

int
aws_query_pages(struct aws_client *c, const struct aws_service *svc,
    struct aws_query *q, int (*page)(xmlDoc *, void *, char **,
    struct errbuf *), void *arg, struct errbuf *eb)
{
	struct aws_result	 res;
	xmlDoc			*doc;
	char			*next = NULL, *token;
	size_t			 n = q->n;
	int			 rv;

	aws_result_init(&res);
	do {
		aws_query_add(q, "NextToken", next);
		doc = NULL;
		rv = aws_query_call(c, svc, NULL, q, 0, &doc, &res, eb);
		for (; q->n > n; q->n--) {
			free((char *)(uintptr_t)q->v[q->n - 1].name);
			free((char *)(uintptr_t)q->v[q->n - 1].value);
		}
		if (rv == 0) {
			token = NULL;
			rv = page(doc, arg, &token, eb);
			free(next);
			next = token;
		}
		awsxml_free(doc);
	} while (rv == 0 && next != NULL);
	free(next);
	aws_result_release(&res);
	return rv;
}
