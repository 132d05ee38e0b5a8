/* SPDX-License-Identifier: ISC */
/*
 * sqs.c: the SQS API operations hookd and the deployer use (see sqs.h),
 * over either protocol the client names (aws_client_sqs_protocol()):
 * Query (form parameters built with query.c, XML replies parsed with the
 * awsxml helpers) or AWS JSON 1.0 (json.c, jansson), at the end of this
 * file.  Both share the checks before sending, the MD5 checks and the
 * error mapping.
 * Not here: retries, signing, credentials (client.c), queue naming and
 * message schemas (queue.c).
 */
#include "compat.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "aws/client.h"
#include "aws/creds.h"
#include "aws/json.h"
#include "aws/pool.h"
#include "aws/query.h"
#include "aws/sqs.h"
#include "aws/xml.h"
#include "digest.h"
#include "errbuf.h"
#include "log.h"
#include "xalloc.h"

#include "banned.h"

static int	sqs_json_create_queue(struct aws_client *, const char *,
		    const struct sqs_kv *, size_t, char **, struct errbuf *);
static int	sqs_json_get_queue_url(struct aws_client *, const char *,
		    char **, struct errbuf *);
static int	sqs_json_list_page(struct aws_client *, const char *,
		    unsigned int, const char *, struct sqs_urls *, char **,
		    struct errbuf *);
static int	sqs_json_simple(struct aws_client *, const char *,
		    const char *, json_t *, struct errbuf *);
static int	sqs_json_send(struct aws_client *, const char *,
		    const char *, size_t, unsigned int, const char *, char **,
		    struct errbuf *);
static int	sqs_json_send_batch(struct aws_client *, const char *,
		    struct sqs_batch_entry *, size_t, size_t *,
		    struct errbuf *);
static int	sqs_json_receive(struct aws_client *, const char *,
		    const struct sqs_receive_opts *, long,
		    struct sqs_messages *, struct errbuf *);

/* Whether c speaks the JSON protocol to SQS. */
static bool
sqs_json(const struct aws_client *c)
{
	return aws_client_sqs_protocol(c) == AWS_SQS_JSON;
}

static bool
sqs_missing_queue(const char *code)
{
	return code != NULL &&
	    (strcmp(code, "AWS.SimpleQueueService.NonExistentQueue") == 0 ||
	    strcmp(code, "QueueDoesNotExist") == 0);
}

/* Length of "scheme://host[:port]" at the start of url, or 0. */
static size_t
sqs_origin_len(const char *url)
{
	const char	*p;

	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return 0;
	if (*p == '\0' || *p == '/')
		return 0;
	return (size_t)(p - url) + strcspn(p, "/?#");
}

char *
sqs_target_url(const char *queue_url, const char *endpoint, bool custom,
    struct errbuf *eb)
{
	size_t	 qo, eo;

	if ((qo = sqs_origin_len(queue_url)) == 0) {
		errbuf_set(eb, EK_USAGE, "'%s' is not an SQS queue URL",
		    queue_url);
		return NULL;
	}
	if (!custom || endpoint == NULL || (eo = sqs_origin_len(endpoint)) == 0)
		return xstrdup(queue_url);
	if (eo == qo && strncasecmp(queue_url, endpoint, qo) == 0)
		return xstrdup(queue_url);
	return xasprintf("%.*s%s", (int)eo, endpoint,
	    queue_url[qo] == '\0' ? "/" : queue_url + qo);
}

/*
 * One call on a queue: resolve the target URL, add QueueUrl, send, and
 * map a missing queue to EK_NOINPUT.
 */
static int
sqs_queue_call(struct aws_client *c, const char *queue_url,
    struct aws_query *q, long timeout_ms, xmlDoc **ret_doc,
    struct errbuf *eb)
{
	struct aws_result	 res;
	char			*endpoint = NULL, *target = NULL;
	bool			 custom = false;
	int			 ret = -1;

	aws_result_init(&res);
	if (aws_endpoint("SQS", "sqs", aws_client_region(c), &endpoint,
	    &custom, eb) == -1)
		goto out;
	if ((target = sqs_target_url(queue_url, endpoint, custom,
	    eb)) == NULL)
		goto out;
	aws_query_add(q, "QueueUrl", queue_url);
	if (aws_query_call(c, &aws_svc_sqs, target, q, timeout_ms, ret_doc,
	    &res, eb) == -1) {
		if (sqs_missing_queue(res.code))
			eb->kind = EK_NOINPUT;
		goto out;
	}
	ret = 0;
 out:
	aws_result_release(&res);
	free(target);
	free(endpoint);
	return ret;
}

/* A call without a queue URL, to the service endpoint. */
static int
sqs_call(struct aws_client *c, struct aws_query *q, xmlDoc **ret_doc,
    struct errbuf *eb)
{
	struct aws_result	 res;
	int			 ret;

	aws_result_init(&res);
	ret = aws_query_call(c, &aws_svc_sqs, NULL, q, 0, ret_doc, &res, eb);
	if (ret == -1 && sqs_missing_queue(res.code))
		eb->kind = EK_NOINPUT;
	aws_result_release(&res);
	return ret;
}

void
sqs_messages_init(struct sqs_messages *ms)
{
	memset(ms, 0, sizeof(*ms));
}

static void
sqs_kvs_free(struct sqs_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
	free(kv);
}

static void
sqs_message_release(struct sqs_message *m)
{
	free(m->message_id);
	free(m->receipt_handle);
	free(m->body);
	free(m->md5_of_body);
	sqs_kvs_free(m->attrs, m->nattrs);
	sqs_kvs_free(m->mattrs, m->nmattrs);
	memset(m, 0, sizeof(*m));
}

void
sqs_messages_release(struct sqs_messages *ms)
{
	for (size_t i = 0; i < ms->n; i++)
		sqs_message_release(&ms->v[i]);
	free(ms->v);
	memset(ms, 0, sizeof(*ms));
}

const char *
sqs_message_attr(const struct sqs_message *m, const char *name)
{
	for (size_t i = 0; i < m->nattrs; i++)
		if (strcmp(m->attrs[i].name, name) == 0)
			return m->attrs[i].value;
	return NULL;
}

void
sqs_urls_release(struct sqs_urls *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i]);
	free(u->v);
	memset(u, 0, sizeof(*u));
}

static void
sqs_urls_add(struct sqs_urls *u, char *url)
{
	u->v = xreallocarray(u->v, u->n + 1, sizeof(*u->v));
	u->v[u->n++] = url;
}

/* A required child's text, or -1 with eb set naming it. */
static int
sqs_need(const xmlNode *parent, const char *name, const char *what,
    char **ret, struct errbuf *eb)
{
	char	*s;

	if ((s = awsxml_child_text(parent, name)) == NULL)
		return errbuf_set(eb, EK_PROTO, "sqs %s: reply has no %s",
		    what, name);
	*ret = s;
	return 0;
}

/* Name/Value children of each "elem" under parent into a kv array. */
static void
sqs_parse_kvs(const xmlNode *parent, const char *elem, bool message_attr,
    struct sqs_kv **ret, size_t *ret_n)
{
	struct sqs_kv	*kv = NULL;
	size_t		 n = 0;
	xmlNode		*a, *val;
	char		*name, *value;

	for (a = awsxml_first(parent, elem); a != NULL && n < SQS_ATTRS_MAX;
	    a = awsxml_next(a, elem)) {
		if ((name = awsxml_child_text(a, "Name")) == NULL)
			continue;
		if (message_attr) {
			val = awsxml_child(a, "Value");
			value = awsxml_child_text(val, "StringValue");
			if (value == NULL)
				value = awsxml_child_text(val, "BinaryValue");
		} else
			value = awsxml_child_text(a, "Value");
		kv = xreallocarray(kv, n + 1, sizeof(*kv));
		kv[n].name = name;
		kv[n].value = value != NULL ? value : xstrdup("");
		n++;
	}
	*ret = kv;
	*ret_n = n;
}

/*
 * What both protocols check of a received message once its fields are
 * in: the body's MD5 against MD5OfBody, and the delivery count.
 */
static int
sqs_message_finish(struct sqs_message *m, struct errbuf *eb)
{
	char		 md5[DIGEST_MD5_HEX + 1];
	const char	*rc;
	uint64_t	 count;

	m->body_len = strlen(m->body);
	if (digest_md5_hex(m->body, m->body_len, md5, eb) == -1)
		return errbuf_prefix(eb, "sqs ReceiveMessage: message '%s': ",
		    m->message_id);
	if (strcasecmp(md5, m->md5_of_body) != 0)
		return errbuf_set(eb, EK_PROTO, "sqs ReceiveMessage: message "
		    "'%s': MD5 mismatch: MD5OfBody is %.40s, the body's MD5 "
		    "is %s", m->message_id, m->md5_of_body, md5);
	rc = sqs_message_attr(m, "ApproximateReceiveCount");
	if (rc != NULL && parse_u64(rc, 0, UINT32_MAX, &count) == 0)
		m->receive_count = (unsigned long)count;
	return 0;
}

/*
 * Whether every entry of a batch got an answer: failed entries without
 * one get "MissingResult".  seen is how many answers the reply had.
 */
static int
sqs_batch_tally(struct sqs_batch_entry *es, size_t n, size_t seen,
    size_t *ret_failed, struct errbuf *eb)
{
	size_t	 failed = 0;

	for (size_t i = 0; i < n; i++) {
		if (es[i].ok)
			continue;
		failed++;
		if (es[i].error_code == NULL)
			es[i].error_code = xstrdup("MissingResult");
	}
	if (seen != n && failed == 0)
		return errbuf_set(eb, EK_PROTO, "sqs SendMessageBatch: reply "
		    "has %zu results for %zu entries", seen, n);
	if (ret_failed != NULL)
		*ret_failed = failed;
	return 0;
}

int
sqs_parse_receive(xmlDoc *doc, struct sqs_messages *ret, struct errbuf *eb)
{
	struct sqs_messages	 ms;
	struct sqs_message	*m;
	xmlNode			*result, *x;

	sqs_messages_init(&ms);
	if (aws_query_result(doc, "sqs", "ReceiveMessage", &result, eb) == -1)
		return -1;
	for (x = awsxml_first(result, "Message"); x != NULL;
	    x = awsxml_next(x, "Message")) {
		ms.v = xreallocarray(ms.v, ms.n + 1, sizeof(*ms.v));
		m = &ms.v[ms.n++];
		memset(m, 0, sizeof(*m));
		if (sqs_need(x, "MessageId", "ReceiveMessage",
		    &m->message_id, eb) == -1 ||
		    sqs_need(x, "ReceiptHandle", "ReceiveMessage",
		    &m->receipt_handle, eb) == -1 ||
		    sqs_need(x, "MD5OfBody", "ReceiveMessage",
		    &m->md5_of_body, eb) == -1)
			goto fail;
		if ((m->body = awsxml_child_text(x, "Body")) == NULL)
			m->body = xstrdup("");
		sqs_parse_kvs(x, "Attribute", false, &m->attrs, &m->nattrs);
		sqs_parse_kvs(x, "MessageAttribute", true, &m->mattrs,
		    &m->nmattrs);
		if (sqs_message_finish(m, eb) == -1)
			goto fail;
	}
	*ret = ms;
	return 0;
 fail:
	sqs_messages_release(&ms);
	return -1;
}

int
sqs_parse_list_queues(xmlDoc *doc, struct sqs_urls *urls, char **ret_next,
    struct errbuf *eb)
{
	xmlNode	*result, *x;
	char	*u;

	if (aws_query_result(doc, "sqs", "ListQueues", &result, eb) == -1)
		return -1;
	for (x = awsxml_first(result, "QueueUrl"); x != NULL;
	    x = awsxml_next(x, "QueueUrl")) {
		if (urls->n >= SQS_LIST_URLS_MAX)
			return errbuf_set(eb, EK_PROTO, "sqs ListQueues: more "
			    "than %d queues", SQS_LIST_URLS_MAX);
		if ((u = awsxml_text(x)) != NULL)
			sqs_urls_add(urls, u);
	}
	*ret_next = awsxml_child_text(result, "NextToken");
	if (*ret_next != NULL && **ret_next == '\0') {
		free(*ret_next);
		*ret_next = NULL;
	}
	return 0;
}

int
sqs_parse_queue_url(xmlDoc *doc, const char *action, char **ret_url,
    struct errbuf *eb)
{
	xmlNode	*result;

	if (aws_query_result(doc, "sqs", action, &result, eb) == -1)
		return -1;
	return sqs_need(result, "QueueUrl", action, ret_url, eb);
}

int
sqs_create_queue(struct aws_client *c, const char *name,
    const struct sqs_kv *attrs, size_t nattrs, char **ret_url,
    struct errbuf *eb)
{
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 ret = -1;

	if (sqs_json(c))
		return sqs_json_create_queue(c, name, attrs, nattrs, ret_url,
		    eb);
	aws_query_init(&q, "CreateQueue", SQS_VERSION);
	aws_query_add(&q, "QueueName", name);
	for (size_t i = 0; i < nattrs; i++) {
		aws_query_addf(&q, attrs[i].name, "Attribute.%zu.Name", i + 1);
		aws_query_addf(&q, attrs[i].value, "Attribute.%zu.Value",
		    i + 1);
	}
	if (sqs_call(c, &q, &doc, eb) == -1)
		goto out;
	ret = sqs_parse_queue_url(doc, "CreateQueue", ret_url, eb);
 out:
	awsxml_free(doc);
	aws_query_release(&q);
	return ret;
}

int
sqs_get_queue_url(struct aws_client *c, const char *name, char **ret_url,
    struct errbuf *eb)
{
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 ret = -1;

	if (sqs_json(c))
		return sqs_json_get_queue_url(c, name, ret_url, eb);
	aws_query_init(&q, "GetQueueUrl", SQS_VERSION);
	aws_query_add(&q, "QueueName", name);
	if (sqs_call(c, &q, &doc, eb) == -1)
		goto out;
	ret = sqs_parse_queue_url(doc, "GetQueueUrl", ret_url, eb);
 out:
	awsxml_free(doc);
	aws_query_release(&q);
	return ret;
}

/* One ListQueues page over the Query protocol: next is NULL at first. */
static int
sqs_query_list_page(struct aws_client *c, const char *prefix,
    unsigned int page_size, const char *next, struct sqs_urls *urls,
    char **ret_next, struct errbuf *eb)
{
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 rv;

	aws_query_init(&q, "ListQueues", SQS_VERSION);
	aws_query_add(&q, "QueueNamePrefix", prefix);
	aws_query_addu(&q, "MaxResults", page_size);
	aws_query_add(&q, "NextToken", next);
	rv = sqs_call(c, &q, &doc, eb);
	aws_query_release(&q);
	if (rv == 0)
		rv = sqs_parse_list_queues(doc, urls, ret_next, eb);
	awsxml_free(doc);
	return rv;
}

int
sqs_list_queues(struct aws_client *c, const char *prefix,
    unsigned int page_size, struct sqs_urls *ret, struct errbuf *eb)
{
	struct sqs_urls		 urls = { 0 };
	char			*next = NULL, *token;
	int			 rv;

	if (page_size == 0 || page_size > SQS_LIST_PAGE_MAX)
		page_size = SQS_LIST_PAGE_MAX;
	do {
		token = NULL;
		rv = sqs_json(c) ? sqs_json_list_page(c, prefix, page_size,
		    next, &urls, &token, eb) : sqs_query_list_page(c, prefix,
		    page_size, next, &urls, &token, eb);
		free(next);
		next = token;
	} while (rv == 0 && next != NULL);
	free(next);
	if (rv == -1) {
		sqs_urls_release(&urls);
		return -1;
	}
	*ret = urls;
	return 0;
}

int
sqs_delete_queue(struct aws_client *c, const char *queue_url,
    struct errbuf *eb)
{
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 ret;

	if (sqs_json(c))
		return sqs_json_simple(c, queue_url, "DeleteQueue",
		    json_object(), eb);
	aws_query_init(&q, "DeleteQueue", SQS_VERSION);
	ret = sqs_queue_call(c, queue_url, &q, 0, &doc, eb);
	awsxml_free(doc);
	aws_query_release(&q);
	return ret;
}

/*
 * A message body SQS takes: 1 to SQS_MESSAGE_MAX bytes, no NUL.  op names
 * the call, id the batch entry (NULL for a single send).
 */
static int
body_check(const char *op, const char *id, const char *body, size_t len,
    struct errbuf *eb)
{
	const char	*sep = id == NULL ? "" : "entry '";
	const char	*end = id == NULL ? "" : "': ";

	if (id == NULL)
		id = "";
	if (len == 0 || len > SQS_MESSAGE_MAX)
		return errbuf_set(eb, EK_DATA, "sqs %s: %s%s%smessage body is "
		    "%zu bytes, must be 1 to %d", op, sep, id, end, len,
		    SQS_MESSAGE_MAX);
	if (memchr(body, '\0', len) != NULL)
		return errbuf_set(eb, EK_DATA, "sqs %s: %s%s%smessage body "
		    "contains a NUL byte", op, sep, id, end);
	return 0;
}

int
sqs_send(struct aws_client *c, const char *queue_url, const char *body,
    size_t len, unsigned int delay, char **ret_id, struct errbuf *eb)
{
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	xmlNode			*result;
	char			*id = NULL, *md5 = NULL;
	char			 want[DIGEST_MD5_HEX + 1];
	int			 ret = -1;

	aws_query_init(&q, "SendMessage", SQS_VERSION);
	if (body_check("SendMessage", NULL, body, len, eb) == -1)
		goto out;
	if (digest_md5_hex(body, len, want, eb) == -1) {
		errbuf_prefix(eb, "sqs SendMessage: ");
		goto out;
	}
	if (sqs_json(c)) {
		ret = sqs_json_send(c, queue_url, body, len, delay, want,
		    ret_id, eb);
		goto out;
	}
	aws_query_add(&q, "MessageBody", body);
	if (delay > 0)
		aws_query_addu(&q, "DelaySeconds", delay);
	if (sqs_queue_call(c, queue_url, &q, 0, &doc, eb) == -1)
		goto out;
	if (aws_query_result(doc, "sqs", "SendMessage", &result, eb) == -1 ||
	    sqs_need(result, "MessageId", "SendMessage", &id, eb) == -1 ||
	    sqs_need(result, "MD5OfMessageBody", "SendMessage", &md5,
	    eb) == -1)
		goto out;
	if (strcasecmp(md5, want) != 0) {
		errbuf_set(eb, EK_PROTO, "sqs SendMessage: MD5 mismatch: "
		    "MD5OfMessageBody is %s, the body's MD5 is %s", md5, want);
		goto out;
	}
	if (ret_id != NULL) {
		*ret_id = id;
		id = NULL;
	}
	ret = 0;
 out:
	free(id);
	free(md5);
	awsxml_free(doc);
	aws_query_release(&q);
	return ret;
}

void
sqs_batch_entry_release(struct sqs_batch_entry *e)
{
	free(e->message_id);
	free(e->error_code);
	free(e->error_message);
	e->message_id = e->error_code = e->error_message = NULL;
	e->ok = false;
	e->sender_fault = false;
}

int
sqs_check_batch(const struct sqs_batch_entry *es, size_t n,
    struct errbuf *eb)
{
	size_t	 total = 0, idlen;

	if (n == 0 || n > SQS_BATCH_MAX)
		return errbuf_set(eb, EK_DATA, "sqs SendMessageBatch: %zu "
		    "entries, must be 1 to %d", n, SQS_BATCH_MAX);
	for (size_t i = 0; i < n; i++) {
		idlen = es[i].id == NULL ? 0 : strlen(es[i].id);
		if (idlen == 0 || idlen > SQS_BATCH_ID_MAX ||
		    strspn(es[i].id, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != idlen)
			return errbuf_set(eb, EK_DATA, "sqs SendMessageBatch: "
			    "entry %zu: id '%s' must be 1 to %d letters, "
			    "digits, '-' or '_'", i + 1,
			    es[i].id == NULL ? "" : es[i].id,
			    SQS_BATCH_ID_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(es[i].id, es[j].id) == 0)
				return errbuf_set(eb, EK_DATA, "sqs "
				    "SendMessageBatch: id '%s' is used by "
				    "entries %zu and %zu", es[i].id, j + 1,
				    i + 1);
		if (body_check("SendMessageBatch", es[i].id, es[i].body,
		    es[i].body_len, eb) == -1)
			return -1;
		total += es[i].body_len;
	}
	if (total > SQS_BATCH_BYTES_MAX)
		return errbuf_set(eb, EK_DATA, "sqs SendMessageBatch: the "
		    "bodies total %zu bytes, more than %d", total,
		    SQS_BATCH_BYTES_MAX);
	return 0;
}

static struct sqs_batch_entry *
sqs_batch_find(struct sqs_batch_entry *es, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (id != NULL && strcmp(es[i].id, id) == 0)
			return &es[i];
	return NULL;
}

int
sqs_parse_send_batch(xmlDoc *doc, struct sqs_batch_entry *es, size_t n,
    size_t *ret_failed, struct errbuf *eb)
{
	struct sqs_batch_entry	*e;
	xmlNode			*result, *x;
	char			*id, *sf;
	size_t			 seen = 0;

	if (aws_query_result(doc, "sqs", "SendMessageBatch", &result,
	    eb) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		sqs_batch_entry_release(&es[i]);
	for (x = awsxml_first(result, NULL); x != NULL;
	    x = awsxml_next(x, NULL)) {
		id = awsxml_child_text(x, "Id");
		e = sqs_batch_find(es, n, id);
		if (e != NULL && (e->message_id != NULL ||
		    e->error_code != NULL)) {
			/* Fuzzing found it: a 2nd answer leaked the 1st. */
			errbuf_set(eb, EK_PROTO, "sqs SendMessageBatch: reply "
			    "answers entry '%s' twice", id);
			free(id);
			return -1;
		}
		free(id);
		if (e == NULL)
			continue;
		if (awsxml_is(x, "SendMessageBatchResultEntry")) {
			e->ok = true;
			e->message_id = awsxml_child_text(x, "MessageId");
			seen++;
		} else if (awsxml_is(x, "BatchResultErrorEntry")) {
			e->ok = false;
			e->error_code = awsxml_child_text(x, "Code");
			e->error_message = awsxml_child_text(x, "Message");
			sf = awsxml_child_text(x, "SenderFault");
			e->sender_fault = sf != NULL &&
			    strcmp(sf, "true") == 0;
			free(sf);
			seen++;
		}
	}
	return sqs_batch_tally(es, n, seen, ret_failed, eb);
}

int
sqs_send_batch(struct aws_client *c, const char *queue_url,
    struct sqs_batch_entry *es, size_t n, size_t *ret_failed,
    struct errbuf *eb)
{
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 ret = -1;

	aws_query_init(&q, "SendMessageBatch", SQS_VERSION);
	if (sqs_check_batch(es, n, eb) == -1)
		goto out;
	if (sqs_json(c)) {
		ret = sqs_json_send_batch(c, queue_url, es, n, ret_failed, eb);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		aws_query_addf(&q, es[i].id,
		    "SendMessageBatchRequestEntry.%zu.Id", i + 1);
		aws_query_addf(&q, es[i].body,
		    "SendMessageBatchRequestEntry.%zu.MessageBody", i + 1);
		if (es[i].delay > 0) {
			char	 num[16];

			snprintf(num, sizeof(num), "%u", es[i].delay);
			aws_query_addf(&q, num,
			    "SendMessageBatchRequestEntry.%zu.DelaySeconds",
			    i + 1);
		}
	}
	if (sqs_queue_call(c, queue_url, &q, 0, &doc, eb) == -1)
		goto out;
	ret = sqs_parse_send_batch(doc, es, n, ret_failed, eb);
 out:
	awsxml_free(doc);
	aws_query_release(&q);
	return ret;
}

int
sqs_receive(struct aws_client *c, const char *queue_url,
    const struct sqs_receive_opts *o, struct sqs_messages *ret,
    struct errbuf *eb)
{
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	long			 timeout_ms = 0;
	int			 rv = -1;

	aws_query_init(&q, "ReceiveMessage", SQS_VERSION);
	if (o->max_messages > SQS_RECEIVE_MAX || o->wait_sec > SQS_WAIT_MAX_SEC
	    || o->visibility > SQS_VISIBILITY_MAX_SEC) {
		errbuf_set(eb, EK_USAGE, "sqs ReceiveMessage: at most %d "
		    "messages, %d s wait and %d s visibility", SQS_RECEIVE_MAX,
		    SQS_WAIT_MAX_SEC, SQS_VISIBILITY_MAX_SEC);
		goto out;
	}
	/*
	 * The long poll holds the reply for up to WaitTimeSeconds, so the
	 * HTTP timeout must outlast it or every empty poll would time out.
	 * With -1 the queue's own ReceiveMessageWaitTimeSeconds (at most
	 * 20 s) applies.
	 */
	timeout_ms = (o->wait_sec >= 0 ? o->wait_sec : SQS_WAIT_MAX_SEC) *
	    1000L + SQS_TIMEOUT_MARGIN_MS;
	if (sqs_json(c)) {
		rv = sqs_json_receive(c, queue_url, o, timeout_ms, ret, eb);
		goto out;
	}
	aws_query_add(&q, "AttributeName.1", "All");
	aws_query_add(&q, "MessageAttributeName.1", "All");
	aws_query_addu(&q, "MaxNumberOfMessages",
	    o->max_messages == 0 ? 1 : o->max_messages);
	if (o->wait_sec >= 0)
		aws_query_addu(&q, "WaitTimeSeconds", (unsigned)o->wait_sec);
	if (o->visibility >= 0)
		aws_query_addu(&q, "VisibilityTimeout",
		    (unsigned)o->visibility);
	if (sqs_queue_call(c, queue_url, &q, timeout_ms, &doc, eb) == -1)
		goto out;
	rv = sqs_parse_receive(doc, ret, eb);
 out:
	awsxml_free(doc);
	aws_query_release(&q);
	return rv;
}

int
sqs_delete_message(struct aws_client *c, const char *queue_url,
    const char *receipt, struct errbuf *eb)
{
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 ret;

	if (sqs_json(c))
		return sqs_json_simple(c, queue_url, "DeleteMessage",
		    json_pack("{s:s}", "ReceiptHandle", receipt), eb);
	aws_query_init(&q, "DeleteMessage", SQS_VERSION);
	aws_query_add(&q, "ReceiptHandle", receipt);
	ret = sqs_queue_call(c, queue_url, &q, 0, &doc, eb);
	awsxml_free(doc);
	aws_query_release(&q);
	return ret;
}

int
sqs_change_visibility(struct aws_client *c, const char *queue_url,
    const char *receipt, unsigned int seconds, struct errbuf *eb)
{
	struct aws_query	 q;
	xmlDoc			*doc = NULL;
	int			 ret;

	if (seconds > SQS_VISIBILITY_MAX_SEC)
		return errbuf_set(eb, EK_USAGE, "sqs ChangeMessageVisibility: "
		    "%u s is more than %d s", seconds, SQS_VISIBILITY_MAX_SEC);
	if (sqs_json(c))
		return sqs_json_simple(c, queue_url, "ChangeMessageVisibility",
		    json_pack("{s:s, s:I}", "ReceiptHandle", receipt,
		    "VisibilityTimeout", (json_int_t)seconds), eb);
	aws_query_init(&q, "ChangeMessageVisibility", SQS_VERSION);
	aws_query_add(&q, "ReceiptHandle", receipt);
	aws_query_addu(&q, "VisibilityTimeout", seconds);
	ret = sqs_queue_call(c, queue_url, &q, 0, &doc, eb);
	awsxml_free(doc);
	aws_query_release(&q);
	return ret;
}

/*
 * The AWS JSON 1.0 protocol (json.h): the same operations with the same
 * checks, member names as in the API reference, replies parsed with
 * jansson.  Chosen per client (aws_client_sqs_protocol()).
 */

#define SQS_JSON_TARGET	"AmazonSQS"

/*
 * One JSON call.  queue_url non-NULL: a call on that queue, sent to its
 * endpoint (the origin sqs_target_url() picks, path "/"), with QueueUrl
 * added to body.  A missing queue is EK_NOINPUT.
 */
static int
sqs_json_call(struct aws_client *c, const char *queue_url, const char *op,
    json_t *body, long timeout_ms, json_t **ret_reply, struct errbuf *eb)
{
	struct aws_result	 res;
	char			*endpoint = NULL, *target = NULL;
	bool			 custom = false;
	int			 ret = -1;

	aws_result_init(&res);
	if (queue_url != NULL) {
		if (aws_endpoint("SQS", "sqs", aws_client_region(c),
		    &endpoint, &custom, eb) == -1)
			goto out;
		if ((target = sqs_target_url(queue_url, endpoint, custom,
		    eb)) == NULL)
			goto out;
		target[sqs_origin_len(target)] = '\0';
		json_object_set_new(body, "QueueUrl", json_string(queue_url));
	}
	if (awsjson_call(c, &aws_svc_sqs, SQS_JSON_TARGET, target, op, body,
	    timeout_ms, ret_reply, &res, eb) == -1) {
		if (sqs_missing_queue(res.code))
			eb->kind = EK_NOINPUT;
		goto out;
	}
	ret = 0;
 out:
	aws_result_release(&res);
	free(target);
	free(endpoint);
	return ret;
}

/* A JSON string for a request member; NULL if s is not valid UTF-8. */
static json_t *
sqs_json_string(const char *s, size_t len)
{
	return json_stringn(s, len);
}

/* A required string member of a reply object, copied. */
static int
sqs_json_need(const json_t *obj, const char *name, const char *what,
    char **ret, struct errbuf *eb)
{
	const char	*s;

	if ((s = awsjson_str(obj, name)) == NULL)
		return errbuf_set(eb, EK_PROTO, "sqs %s: reply has no %s",
		    what, name);
	*ret = xstrdup(s);
	return 0;
}

/*
 * The members of object 'attrs' into a kv array: string values
 * (Attributes), or for message attributes the StringValue, else the
 * BinaryValue (base64, as in the Query replies) of each value object.
 */
static void
sqs_json_kvs(const json_t *attrs, bool message_attr, struct sqs_kv **ret,
    size_t *ret_n)
{
	struct sqs_kv	*kv = NULL;
	size_t		 n = 0;
	const char	*name, *value;
	json_t		*v;

	if (json_is_object(attrs)) {
		json_object_foreach((json_t *)(uintptr_t)attrs, name, v) {
			if (n >= SQS_ATTRS_MAX)
				break;
			if (message_attr) {
				if ((value = awsjson_str(v, "StringValue")) ==
				    NULL)
					value = awsjson_str(v, "BinaryValue");
			} else
				value = json_is_string(v) ?
				    json_string_value(v) : NULL;
			kv = xreallocarray(kv, n + 1, sizeof(*kv));
			kv[n].name = xstrdup(name);
			kv[n].value = xstrdup(value != NULL ? value : "");
			n++;
		}
	}
	*ret = kv;
	*ret_n = n;
}

int
sqs_json_parse_receive(const json_t *reply, struct sqs_messages *ret,
    struct errbuf *eb)
{
	struct sqs_messages	 ms;
	struct sqs_message	*m;
	const json_t		*list, *x;
	const char		*body;

	sqs_messages_init(&ms);
	if ((list = json_object_get(reply, "Messages")) != NULL &&
	    !json_is_array(list) && !json_is_null(list))
		return errbuf_set(eb, EK_PROTO, "sqs ReceiveMessage: "
		    "Messages is not a list");
	for (size_t i = 0; i < json_array_size(list); i++) {
		x = json_array_get(list, i);
		ms.v = xreallocarray(ms.v, ms.n + 1, sizeof(*ms.v));
		m = &ms.v[ms.n++];
		memset(m, 0, sizeof(*m));
		if (!json_is_object(x)) {
			errbuf_set(eb, EK_PROTO, "sqs ReceiveMessage: message "
			    "%zu is not an object", i + 1);
			goto fail;
		}
		if (sqs_json_need(x, "MessageId", "ReceiveMessage",
		    &m->message_id, eb) == -1 ||
		    sqs_json_need(x, "ReceiptHandle", "ReceiveMessage",
		    &m->receipt_handle, eb) == -1 ||
		    sqs_json_need(x, "MD5OfBody", "ReceiveMessage",
		    &m->md5_of_body, eb) == -1)
			goto fail;
		body = awsjson_str(x, "Body");
		m->body = xstrdup(body != NULL ? body : "");
		sqs_json_kvs(json_object_get(x, "Attributes"), false,
		    &m->attrs, &m->nattrs);
		sqs_json_kvs(json_object_get(x, "MessageAttributes"), true,
		    &m->mattrs, &m->nmattrs);
		if (sqs_message_finish(m, eb) == -1)
			goto fail;
	}
	*ret = ms;
	return 0;
 fail:
	sqs_messages_release(&ms);
	return -1;
}

int
sqs_json_parse_list_queues(const json_t *reply, struct sqs_urls *urls,
    char **ret_next, struct errbuf *eb)
{
	const json_t	*list, *x;
	const char	*next;

	if ((list = json_object_get(reply, "QueueUrls")) != NULL &&
	    !json_is_array(list) && !json_is_null(list))
		return errbuf_set(eb, EK_PROTO, "sqs ListQueues: QueueUrls "
		    "is not a list");
	for (size_t i = 0; i < json_array_size(list); i++) {
		x = json_array_get(list, i);
		if (urls->n >= SQS_LIST_URLS_MAX)
			return errbuf_set(eb, EK_PROTO, "sqs ListQueues: more "
			    "than %d queues", SQS_LIST_URLS_MAX);
		if (json_is_string(x))
			sqs_urls_add(urls, xstrdup(json_string_value(x)));
	}
	next = awsjson_str(reply, "NextToken");
	*ret_next = next != NULL && *next != '\0' ? xstrdup(next) : NULL;
	return 0;
}

int
sqs_json_parse_queue_url(const json_t *reply, const char *action,
    char **ret_url, struct errbuf *eb)
{
	return sqs_json_need(reply, "QueueUrl", action, ret_url, eb);
}

/* Whether id answers an entry already answered (see the XML parser). */
static int
sqs_json_batch_one(struct sqs_batch_entry *es, size_t n, const json_t *x,
    bool ok, size_t *seen, struct errbuf *eb)
{
	struct sqs_batch_entry	*e;
	const char		*id, *s;
	const json_t		*sf;

	if ((e = sqs_batch_find(es, n, (id = awsjson_str(x, "Id")))) == NULL)
		return 0;
	if (e->message_id != NULL || e->error_code != NULL)
		return errbuf_set(eb, EK_PROTO, "sqs SendMessageBatch: reply "
		    "answers entry '%s' twice", id);
	e->ok = ok;
	if (ok) {
		s = awsjson_str(x, "MessageId");
		e->message_id = s != NULL ? xstrdup(s) : NULL;
	} else {
		s = awsjson_str(x, "Code");
		e->error_code = s != NULL ? xstrdup(s) : NULL;
		s = awsjson_str(x, "Message");
		e->error_message = s != NULL ? xstrdup(s) : NULL;
		sf = json_object_get(x, "SenderFault");
		e->sender_fault = json_is_true(sf);
	}
	(*seen)++;
	return 0;
}

int
sqs_json_parse_send_batch(const json_t *reply, struct sqs_batch_entry *es,
    size_t n, size_t *ret_failed, struct errbuf *eb)
{
	static const char *const lists[] = { "Successful", "Failed" };
	const json_t	*list;
	size_t		 seen = 0;

	for (size_t i = 0; i < n; i++)
		sqs_batch_entry_release(&es[i]);
	for (size_t l = 0; l < nitems(lists); l++) {
		if ((list = json_object_get(reply, lists[l])) != NULL &&
		    !json_is_array(list) && !json_is_null(list))
			return errbuf_set(eb, EK_PROTO, "sqs SendMessageBatch: "
			    "%s is not a list", lists[l]);
		for (size_t i = 0; i < json_array_size(list); i++)
			if (sqs_json_batch_one(es, n, json_array_get(list, i),
			    l == 0, &seen, eb) == -1)
				return -1;
	}
	return sqs_batch_tally(es, n, seen, ret_failed, eb);
}

static int
sqs_json_create_queue(struct aws_client *c, const char *name,
    const struct sqs_kv *attrs, size_t nattrs, char **ret_url,
    struct errbuf *eb)
{
	json_t	*body, *a, *reply = NULL;
	int	 ret = -1;

	body = json_object();
	json_object_set_new(body, "QueueName", json_string(name));
	if (nattrs > 0) {
		a = json_object();
		for (size_t i = 0; i < nattrs; i++)
			json_object_set_new(a, attrs[i].name,
			    json_string(attrs[i].value));
		json_object_set_new(body, "Attributes", a);
	}
	if (sqs_json_call(c, NULL, "CreateQueue", body, 0, &reply, eb) == 0)
		ret = sqs_json_parse_queue_url(reply, "CreateQueue", ret_url,
		    eb);
	json_decref(reply);
	json_decref(body);
	return ret;
}

static int
sqs_json_get_queue_url(struct aws_client *c, const char *name,
    char **ret_url, struct errbuf *eb)
{
	json_t	*body, *reply = NULL;
	int	 ret = -1;

	body = json_object();
	json_object_set_new(body, "QueueName", json_string(name));
	if (sqs_json_call(c, NULL, "GetQueueUrl", body, 0, &reply, eb) == 0)
		ret = sqs_json_parse_queue_url(reply, "GetQueueUrl", ret_url,
		    eb);
	json_decref(reply);
	json_decref(body);
	return ret;
}

/* One ListQueues page over the JSON protocol: next is NULL at first. */
static int
sqs_json_list_page(struct aws_client *c, const char *prefix,
    unsigned int page_size, const char *next, struct sqs_urls *urls,
    char **ret_next, struct errbuf *eb)
{
	json_t	*body, *reply = NULL;
	int	 rv;

	body = json_object();
	if (prefix != NULL)
		json_object_set_new(body, "QueueNamePrefix",
		    json_string(prefix));
	json_object_set_new(body, "MaxResults", json_integer(page_size));
	if (next != NULL)
		json_object_set_new(body, "NextToken", json_string(next));
	rv = sqs_json_call(c, NULL, "ListQueues", body, 0, &reply, eb);
	json_decref(body);
	if (rv == 0)
		rv = sqs_json_parse_list_queues(reply, urls, ret_next, eb);
	json_decref(reply);
	return rv;
}

/* A call on a queue whose reply carries nothing we need. */
static int
sqs_json_simple(struct aws_client *c, const char *queue_url, const char *op,
    json_t *body, struct errbuf *eb)
{
	int	 ret;

	if (body == NULL)
		return errbuf_set(eb, EK_DATA, "sqs %s: a parameter is not "
		    "valid UTF-8", op);
	ret = sqs_json_call(c, queue_url, op, body, 0, NULL, eb);
	json_decref(body);
	return ret;
}

static int
sqs_json_send(struct aws_client *c, const char *queue_url, const char *body,
    size_t len, unsigned int delay, const char *want, char **ret_id,
    struct errbuf *eb)
{
	json_t		*req, *s, *reply = NULL;
	const char	*md5;
	char		*id = NULL;
	int		 ret = -1;

	if ((s = sqs_json_string(body, len)) == NULL)
		return errbuf_set(eb, EK_DATA, "sqs SendMessage: message body "
		    "is not valid UTF-8");
	req = json_object();
	json_object_set_new(req, "MessageBody", s);
	if (delay > 0)
		json_object_set_new(req, "DelaySeconds", json_integer(delay));
	if (sqs_json_call(c, queue_url, "SendMessage", req, 0, &reply,
	    eb) == -1)
		goto out;
	if (sqs_json_need(reply, "MessageId", "SendMessage", &id, eb) == -1)
		goto out;
	if ((md5 = awsjson_str(reply, "MD5OfMessageBody")) == NULL) {
		errbuf_set(eb, EK_PROTO, "sqs SendMessage: reply has no "
		    "MD5OfMessageBody");
		goto out;
	}
	if (strcasecmp(md5, want) != 0) {
		errbuf_set(eb, EK_PROTO, "sqs SendMessage: MD5 mismatch: "
		    "MD5OfMessageBody is %.40s, the body's MD5 is %s", md5,
		    want);
		goto out;
	}
	if (ret_id != NULL) {
		*ret_id = id;
		id = NULL;
	}
	ret = 0;
 out:
	free(id);
	json_decref(reply);
	json_decref(req);
	return ret;
}

static int
sqs_json_send_batch(struct aws_client *c, const char *queue_url,
    struct sqs_batch_entry *es, size_t n, size_t *ret_failed,
    struct errbuf *eb)
{
	json_t	*req, *list, *e, *s, *reply = NULL;
	int	 ret = -1;

	req = json_object();
	list = json_array();
	json_object_set_new(req, "Entries", list);
	for (size_t i = 0; i < n; i++) {
		if ((s = sqs_json_string(es[i].body, es[i].body_len)) ==
		    NULL) {
			errbuf_set(eb, EK_DATA, "sqs SendMessageBatch: entry "
			    "'%s': message body is not valid UTF-8",
			    es[i].id);
			goto out;
		}
		e = json_object();
		json_object_set_new(e, "Id", json_string(es[i].id));
		json_object_set_new(e, "MessageBody", s);
		if (es[i].delay > 0)
			json_object_set_new(e, "DelaySeconds",
			    json_integer(es[i].delay));
		json_array_append_new(list, e);
	}
	if (sqs_json_call(c, queue_url, "SendMessageBatch", req, 0, &reply,
	    eb) == -1)
		goto out;
	ret = sqs_json_parse_send_batch(reply, es, n, ret_failed, eb);
 out:
	json_decref(reply);
	json_decref(req);
	return ret;
}

static int
sqs_json_receive(struct aws_client *c, const char *queue_url,
    const struct sqs_receive_opts *o, long timeout_ms,
    struct sqs_messages *ret, struct errbuf *eb)
{
	json_t	*req, *all, *reply = NULL;
	int	 rv = -1;

	req = json_object();
	all = json_pack("[s]", "All");
	/*
	 * AttributeNames is the older name of MessageSystemAttributeNames;
	 * servers know one or both, and SQS merges them.
	 */
	json_object_set(req, "AttributeNames", all);
	json_object_set(req, "MessageSystemAttributeNames", all);
	json_object_set(req, "MessageAttributeNames", all);
	json_decref(all);
	json_object_set_new(req, "MaxNumberOfMessages",
	    json_integer(o->max_messages == 0 ? 1 : o->max_messages));
	if (o->wait_sec >= 0)
		json_object_set_new(req, "WaitTimeSeconds",
		    json_integer(o->wait_sec));
	if (o->visibility >= 0)
		json_object_set_new(req, "VisibilityTimeout",
		    json_integer(o->visibility));
	if (sqs_json_call(c, queue_url, "ReceiveMessage", req, timeout_ms,
	    &reply, eb) == -1)
		goto out;
	rv = sqs_json_parse_receive(reply, ret, eb);
 out:
	json_decref(reply);
	json_decref(req);
	return rv;
}

/*
 * sqs_send_many(): the request body is the message's encoding (made
 * once) with each queue's QueueUrl around it; each reply is checked as
 * sqs_send() checks its own (MessageId, MD5OfMessageBody).
 */
struct sqs_sends {
	struct aws_client	*c;
	struct aws_pool		*pool;
	const char *const	*urls;		/* borrowed */
	size_t			 n;
	size_t			 next;		/* the next queue to send to */
	size_t			 left;		/* queues not reported yet */
	size_t			 flying;	/* added, not ended */
	char			 md5[DIGEST_MD5_HEX + 1];	/* the body's */
	char			*enc;		/* the body, encoded */
	char			*endpoint;
	bool			 custom;
	struct http_headers	 h;
	sqs_sent_fn		*sent;
	void			*arg;
};

struct send_one {
	struct sqs_sends	*sm;
	size_t			 i;
};

/* The MessageId of a SendMessage reply, checked; new, or NULL with eb. */
static char *
send_reply_id(struct aws_client *c, const struct aws_result *res,
    const char *want, struct errbuf *eb)
{
	xmlDoc		*doc = NULL;
	xmlNode		*result;
	json_t		*reply = NULL;
	char		*id = NULL, *md5 = NULL;
	bool		 ok = false;

	if (sqs_json(c)) {
		if ((reply = awsjson_parse(res->body.data, res->body.len,
		    eb)) == NULL) {
			errbuf_prefix(eb, "sqs SendMessage: unexpected "
			    "reply: ");
			goto out;
		}
		if (sqs_json_need(reply, "MessageId", "SendMessage", &id,
		    eb) == -1 || sqs_json_need(reply, "MD5OfMessageBody",
		    "SendMessage", &md5, eb) == -1)
			goto out;
	} else {
		if ((doc = awsxml_parse(res->body.data, res->body.len,
		    eb)) == NULL ||
		    aws_query_result(doc, "sqs", "SendMessage", &result,
		    eb) == -1 ||
		    sqs_need(result, "MessageId", "SendMessage", &id,
		    eb) == -1 ||
		    sqs_need(result, "MD5OfMessageBody", "SendMessage", &md5,
		    eb) == -1)
			goto out;
	}
	if (strcasecmp(md5, want) != 0) {
		errbuf_set(eb, EK_PROTO, "sqs SendMessage: MD5 mismatch: "
		    "MD5OfMessageBody is %.40s, the body's MD5 is %s", md5,
		    want);
		goto out;
	}
	ok = true;
 out:
	json_decref(reply);
	awsxml_free(doc);
	free(md5);
	if (!ok) {
		free(id);
		id = NULL;
	}
	return id;
}

static void
send_one_done(void *arg, int rc, const struct aws_result *res,
    const struct errbuf *peb)
{
	struct send_one		*so = arg;
	struct sqs_sends	*sm = so->sm;
	struct errbuf		 eb = { 0 };
	char			*id = NULL;

	sm->flying--;
	sm->left--;
	if (rc == -1) {
		eb = *peb;
		if (sqs_missing_queue(res->code))
			eb.kind = EK_NOINPUT;
	} else
		id = send_reply_id(sm->c, res, sm->md5, &eb);
	sm->sent(sm->arg, so->i, id, id != NULL ? NULL : &eb);
	free(id);
	free(so);
}

/* The SendMessage of queue i into the pool; -1: reported as failed. */
static int
send_add(struct sqs_sends *sm, size_t i)
{
	struct aws_request	 req;
	struct aws_param	 p[1];
	struct send_one		*so;
	struct errbuf		 eb = { 0 };
	char			*target, *data = NULL, *qenc;
	json_t			*s;
	int			 ret = -1;

	if ((target = sqs_target_url(sm->urls[i], sm->endpoint, sm->custom,
	    &eb)) == NULL)
		goto out;
	if (sqs_json(sm->c)) {
		target[sqs_origin_len(target)] = '\0';
		s = json_string(sm->urls[i]);
		qenc = s != NULL ? json_dumps(s, JSON_COMPACT |
		    JSON_ENCODE_ANY) : NULL;
		json_decref(s);
		if (qenc == NULL) {
			errbuf_set(&eb, EK_DATA, "sqs SendMessage: queue URL "
			    "'%.200s' is not valid UTF-8", sm->urls[i]);
			goto out;
		}
		data = xasprintf("{\"QueueUrl\":%s,\"MessageBody\":%s}",
		    qenc, sm->enc);
	} else {
		p[0].name = "QueueUrl";
		p[0].value = sm->urls[i];
		qenc = aws_form_encode(p, 1);
		data = xasprintf("%s&%s", sm->enc, qenc);
	}
	free(qenc);
	memset(&req, 0, sizeof(req));
	req.svc = &aws_svc_sqs;
	req.op = "SendMessage";
	req.method = "POST";
	req.url = target;
	req.headers = &sm->h;
	req.body = data;
	req.body_len = strlen(data);
	req.body_fd = req.out_fd = -1;
	so = xcalloc(1, sizeof(*so));
	so->sm = sm;
	so->i = i;
	sm->flying++;
	if (aws_pool_add(sm->pool, &req, send_one_done, so, &eb) == -1) {
		sm->flying--;
		free(so);
		goto out;
	}
	ret = 0;
 out:
	if (ret == -1) {
		sm->left--;
		sm->sent(sm->arg, i, NULL, &eb);
	}
	free(data);
	free(target);
	return ret;
}

/* The pool's feeder: the next queue's SendMessage. */
static int
send_feed(void *arg, struct aws_pool *pool)
{
	struct sqs_sends	*sm = arg;

	(void)pool;
	if (sm->next >= sm->n)
		return 0;
	(void)send_add(sm, sm->next++);
	return 1;
}

struct sqs_sends *
sqs_send_start(struct aws_client *c, struct aws_pool *pool,
    const char *const *urls, size_t n, const char *body, size_t len,
    sqs_sent_fn *sent, void *arg, struct errbuf *eb)
{
	struct sqs_sends	*sm;
	struct aws_param	 p[3];
	json_t			*s;

	if (body_check("SendMessage", NULL, body, len, eb) == -1)
		return NULL;
	sm = xcalloc(1, sizeof(*sm));
	http_headers_init(&sm->h);
	sm->c = c;
	sm->pool = pool;
	sm->urls = urls;
	sm->n = sm->left = n;
	sm->sent = sent;
	sm->arg = arg;
	if (digest_md5_hex(body, len, sm->md5, eb) == -1)
		goto fail;
	/* The body's encoding, once for every queue. */
	if (sqs_json(c)) {
		if ((s = sqs_json_string(body, len)) == NULL) {
			errbuf_set(eb, EK_DATA, "sqs SendMessage: message "
			    "body is not valid UTF-8");
			goto fail;
		}
		sm->enc = json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(s);
		http_headers_add(&sm->h, "Content-Type", AWSJSON_CONTENT_TYPE);
		http_headers_add(&sm->h, "X-Amz-Target", SQS_JSON_TARGET
		    ".SendMessage");
	} else {
		p[0].name = "Action";
		p[0].value = "SendMessage";
		p[1].name = "MessageBody";
		p[1].value = body;
		p[2].name = "Version";
		p[2].value = SQS_VERSION;
		sm->enc = aws_form_encode(p, 3);
		http_headers_add(&sm->h, "Content-Type",
		    "application/x-www-form-urlencoded; charset=utf-8");
	}
	if (sm->enc == NULL) {
		errbuf_set(eb, EK_DATA, "sqs SendMessage: cannot encode the "
		    "message body");
		goto fail;
	}
	if (aws_endpoint("SQS", "sqs", aws_client_region(c), &sm->endpoint,
	    &sm->custom, eb) == -1)
		goto fail;
	if (n > 0)
		aws_pool_feed(pool, send_feed, sm);
	return sm;
 fail:
	sm->left = 0;
	sqs_sends_free(sm);
	return NULL;
}

size_t
sqs_sends_left(const struct sqs_sends *sm)
{
	return sm->left;
}

const size_t *
sqs_sends_counter(const struct sqs_sends *sm)
{
	return &sm->left;
}

void
sqs_sends_free(struct sqs_sends *sm)
{
	struct errbuf	 eb = { 0 };

	if (sm == NULL)
		return;
	/* What the feeder has not added yet is not sent. */
	aws_pool_feed(sm->pool, NULL, NULL);
	while (sm->next < sm->n) {
		errbuf_set(&eb, EK_TEMP, "sqs SendMessage: interrupted before "
		    "it was sent");
		sm->left--;
		sm->sent(sm->arg, sm->next++, NULL, &eb);
	}
	/* What it added ends first: its callbacks point here. */
	while (sm->flying > 0)
		if (aws_pool_run(sm->pool, &sm->flying, -1, &eb) == -1 &&
		    sm->flying > 0) {
			aws_pool_cancel(sm->pool);
			break;
		}
	free(sm->enc);
	free(sm->endpoint);
	http_headers_release(&sm->h);
	free(sm);
}

int
sqs_send_many(struct aws_client *c, struct aws_pool *pool,
    const char *const *urls, size_t n, const char *body, size_t len,
    sqs_sent_fn *sent, void *arg, struct errbuf *eb)
{
	struct sqs_sends	*sm;
	int			 ret = 0;

	if ((sm = sqs_send_start(c, pool, urls, n, body, len, sent, arg,
	    eb)) == NULL)
		return -1;
	if (sm->left > 0 && aws_pool_run(pool, &sm->left, -1, eb) == -1)
		ret = -1;
	/* Interrupted: the queues not reported were not sent to. */
	sqs_sends_free(sm);
	return ret;
}
