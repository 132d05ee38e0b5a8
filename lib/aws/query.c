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
#include "aws/sigv4.h"
#include "aws/query.h"
#include "aws/xml.h"
#include "buf.h"
#include "caps.h"
#include "errbuf.h"
#include "http.h"
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

/*
 * Encode one name or value: SigV4 URI encoding, with a space written as
 * '+' as application/x-www-form-urlencoded (and every AWS SDK) does.
 * moto checks a Query request's signature against its own re-encoding of
 * the parsed form (Python's urlencode, spaces as '+'), so a body with
 * "%20" fails there although AWS accepts both.
 */
static int
aws_query_enc(struct buf *b, const char *s)
{
	char	*e, *p;
	int	 bad = 0;

	e = sigv4_uri_encode(s, true);
	for (p = e; *p != '\0'; p++) {
		if (strncmp(p, "%20", 3) == 0) {
			bad |= buf_addch(b, '+');
			p += 2;
		} else
			bad |= buf_addch(b, *p);
	}
	free(e);
	return bad;
}

char *
aws_query_encode(const struct aws_query *q)
{
	struct buf	 b;
	int		 bad = 0;

	buf_init(&b, HTTP_BODY_MAX);
	for (size_t i = 0; i < q->n; i++) {
		if (i > 0)
			bad |= buf_addch(&b, '&');
		bad |= aws_query_enc(&b, q->v[i].name);
		bad |= buf_addch(&b, '=');
		bad |= aws_query_enc(&b, q->v[i].value);
	}
	if (bad != 0)
		return NULL;
	return buf_take(&b, NULL);
}

/*
 * Fill res->code/message from moto's variant of the Query error document,
 * <ErrorResponse><Errors><Error>..., which awsxml_parse_error() does not
 * know (it answers auth failures that way), and restate the error.
 */
static void
aws_query_moto_error(const struct aws_service *svc, const char *action,
    struct aws_result *res, struct errbuf *eb)
{
	xmlDoc		*doc;
	xmlNode		*err;
	struct errbuf	 ign = { 0 };
	char		*code, *msg;

	if (res->message != NULL || res->body.len == 0 ||
	    (doc = awsxml_parse(res->body.data, res->body.len, &ign)) == NULL)
		return;
	err = awsxml_path(awsxml_root(doc), "Errors", "Error", NULL);
	code = awsxml_child_text(err, "Code");
	msg = awsxml_child_text(err, "Message");
	if (code != NULL && awsxml_is(awsxml_root(doc), "ErrorResponse")) {
		errbuf_set(eb, eb->kind, "%s %s: %s: %s%s%s%s", svc->name,
		    action, code, msg != NULL ? msg : "(no message)",
		    res->request_id != NULL ? " (request id " : "",
		    res->request_id != NULL ? res->request_id : "",
		    res->request_id != NULL ? ")" : "");
		free(res->code);
		res->code = code;
		res->message = msg;
		code = msg = NULL;
	}
	free(code);
	free(msg);
	awsxml_free(doc);
}

int
aws_query_call(struct aws_client *c, const struct aws_service *svc,
    const char *url, const struct aws_query *q, long timeout_ms,
    xmlDoc **ret_doc, struct aws_result *res, struct errbuf *eb)
{
	struct aws_request	 req = { 0 };
	struct http_headers	 h;
	xmlDoc			*doc = NULL;
	xmlNode			*result;
	char			*body;
	int			 rv = -1;

	http_headers_init(&h);
	if ((body = aws_query_encode(q)) == NULL)
		return errbuf_set(eb, EK_DATA, "%s %s: request larger than "
		    "%d bytes", svc->name, q->action, HTTP_BODY_MAX);
	http_headers_set(&h, "Content-Type",
	    "application/x-www-form-urlencoded; charset=utf-8");
	req.svc = svc;
	req.op = q->action;
	req.method = "POST";
	req.url = url;
	req.headers = &h;
	req.body = body;
	req.body_len = strlen(body);
	req.body_fd = -1;
	req.out_fd = -1;
	req.timeout_ms = timeout_ms;
	if (aws_request(c, &req, res, eb) == -1) {
		aws_query_moto_error(svc, q->action, res, eb);
		goto out;
	}
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
	free(body);
	http_headers_release(&h);
	return rv;
}
