/* SPDX-License-Identifier: ISC */
/*
 * json.c: the AWS JSON 1.0 envelope (see json.h): request headers and
 * body, reply and error parsing with jansson.  Used by sqs.c; client.c
 * uses the error parser for any JSON error reply.  No libxml2 here: a
 * process whose AWS traffic is all JSON never loads it.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/client.h"
#include "aws/json.h"
#include "errbuf.h"
#include "http.h"
#include "quote.h"
#include "xalloc.h"

#include "banned.h"

const char *
awsjson_str(const json_t *obj, const char *name)
{
	const json_t	*v;

	if (!json_is_object(obj) || (v = json_object_get(obj, name)) == NULL ||
	    !json_is_string(v))
		return NULL;
	return json_string_value(v);
}

json_t *
awsjson_parse(const void *data, size_t len, struct errbuf *eb)
{
	json_error_t	 jerr;
	json_t		*j;
	size_t		 i;
	const char	*p = data;

	for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'); i++)
		;
	if (i == len)
		return json_object();
	if (len > HTTP_BODY_MAX) {
		errbuf_set(eb, EK_PROTO, "JSON reply too large (%zu bytes, "
		    "limit %d)", len, HTTP_BODY_MAX);
		return NULL;
	}
	if ((j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		errbuf_set(eb, EK_PROTO, "not JSON: %d:%d: %.80s", jerr.line,
		    jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		errbuf_set(eb, EK_PROTO, "not a JSON object");
		return NULL;
	}
	return j;
}

void
awsjson_error_release(struct awsjson_error *e)
{
	free(e->code);
	free(e->message);
	e->code = e->message = NULL;
}

int
awsjson_parse_error(const void *data, size_t len, const char *query_error,
    struct awsjson_error *ret, struct errbuf *eb)
{
	struct errbuf	 ign = { 0 };
	json_t		*j = NULL;
	const char	*type = NULL, *msg = NULL, *h;
	char		*code = NULL;
	size_t		 n;

	if (len > 0)
		j = awsjson_parse(data, len, &ign);
	if (query_error != NULL && (n = strcspn(query_error, ";")) > 0)
		code = quote_dup(query_error, n, AWSJSON_CODE_MAX + 1);
	if (code == NULL && j != NULL) {
		if ((type = awsjson_str(j, "__type")) == NULL)
			type = awsjson_str(j, "code");
		if (type != NULL) {
			if ((h = strrchr(type, '#')) != NULL)
				type = h + 1;
			if ((n = strcspn(type, ":")) > 0)
				code = quote_dup(type, n, AWSJSON_CODE_MAX + 1);
		}
	}
	if (code == NULL) {
		json_decref(j);
		return errbuf_set(eb, EK_PROTO, "JSON error reply without an "
		    "error code");
	}
	if (j != NULL && (msg = awsjson_str(j, "message")) == NULL)
		msg = awsjson_str(j, "Message");
	ret->code = code;
	ret->message = msg != NULL ? quote_dup(msg, strlen(msg),
	    AWSJSON_MESSAGE_MAX + 1) : NULL;
	json_decref(j);
	return 0;
}

int
awsjson_call(struct aws_client *c, const struct aws_service *svc,
    const char *target_prefix, const char *url, const char *op,
    json_t *body, long timeout_ms, json_t **ret_reply,
    struct aws_result *res, struct errbuf *eb)
{
	struct aws_request	 req;
	struct http_headers	 hdrs;
	json_t			*reply = NULL;
	char			*data = NULL, *target;
	int			 rv = -1;

	http_headers_init(&hdrs);
	target = xasprintf("%s.%s", target_prefix, op);
	http_headers_add(&hdrs, "Content-Type", AWSJSON_CONTENT_TYPE);
	http_headers_add(&hdrs, "X-Amz-Target", target);
	data = body != NULL ? json_dumps(body, JSON_COMPACT) : xstrdup("{}");
	if (data == NULL) {
		errbuf_set(eb, EK_DATA, "%s %s: cannot encode the request",
		    svc->name, op);
		goto out;
	}
	if (strlen(data) > HTTP_BODY_MAX) {
		errbuf_set(eb, EK_DATA, "%s %s: request larger than %d bytes",
		    svc->name, op, HTTP_BODY_MAX);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.svc = svc;
	req.op = op;
	req.method = "POST";
	req.url = url;
	req.headers = &hdrs;
	req.body = data;
	req.body_len = strlen(data);
	req.body_fd = -1;
	req.out_fd = -1;
	req.timeout_ms = timeout_ms;
	req.long_poll = timeout_ms != 0;
	if (aws_request(c, &req, res, eb) == -1)
		goto out;
	if ((reply = awsjson_parse(res->body.data, res->body.len, eb)) ==
	    NULL) {
		errbuf_prefix(eb, "%s %s: unexpected reply: ", svc->name, op);
		goto out;
	}
	if (ret_reply != NULL) {
		*ret_reply = reply;
		reply = NULL;
	}
	rv = 0;
 out:
	json_decref(reply);
	if (data != NULL)
		freezero(data, strlen(data));
	free(target);
	http_headers_release(&hdrs);
	return rv;
}
