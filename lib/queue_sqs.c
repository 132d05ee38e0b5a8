/* SPDX-License-Identifier: ISC */
/*
 * queue_sqs.c: the Amazon SQS backend of struct queue_ops (queue.h), on
 * lib/aws/sqs.h.  One queue per daemon, PREFIX-GROUP-INSTANCE, with a
 * dead-letter queue PREFIX-GROUP-INSTANCE-dlq; the main queue's
 * RedrivePolicy sends a message there after SQS_MAX_RECEIVES deliveries,
 * which is how a message that can never succeed leaves the queue without
 * being retried forever (DESIGN.md "Queues and fan-out").  Long polls
 * use WaitTimeSeconds, so an idle daemon makes about 3 requests a minute.
 * This file does not log above debug and keeps no state but the client
 * and the queue URL.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/pool.h"
#include "aws/sqs.h"
#include "backends.h"
#include "caps.h"
#include "errbuf.h"
#include "queue.h"
#include "xalloc.h"

#include "banned.h"

struct sqs_q {
	struct aws_client	*c;		/* borrowed */
	char			*url;		/* the queue URL, once known */
	char			*dlq_url;
};

static struct sqs_q *
sq(struct queue *q)
{
	return q->priv;
}

/* A receipt that no longer holds the message is EK_NOINPUT (queue.h). */
static int
receipt_kind(struct errbuf *eb)
{
	if (strstr(eb->msg, "ReceiptHandleIsInvalid") != NULL ||
	    strstr(eb->msg, "MessageNotInflight") != NULL ||
	    strstr(eb->msg, "InvalidParameterValue") != NULL)
		eb->kind = EK_NOINPUT;
	return -1;
}

/*
 * The ARN of the queue at 'url' (https://HOST/ACCOUNT/NAME), for the
 * RedrivePolicy: arn:PARTITION:sqs:REGION:ACCOUNT:NAME.  The account is
 * the first path segment of a queue URL (SQS developer guide, "Queue and
 * message identifiers"), which saves a GetQueueAttributes call.
 */
static char *
queue_arn(const char *url, const char *region, struct errbuf *eb)
{
	const char	*p, *acct, *slash;
	const char	*part = "aws";

	if ((p = strstr(url, "://")) == NULL ||
	    (acct = strchr(p + 3, '/')) == NULL ||
	    (slash = strchr(acct + 1, '/')) == NULL || slash == acct + 1 ||
	    slash[1] == '\0') {
		errbuf_set(eb, EK_PROTO, "sqs: cannot take the account from "
		    "queue URL '%s'", url);
		return NULL;
	}
	if (strncmp(region, "cn-", 3) == 0)
		part = "aws-cn";
	else if (strncmp(region, "us-gov-", 7) == 0)
		part = "aws-us-gov";
	return xasprintf("arn:%s:sqs:%s:%.*s:%s", part, region,
	    (int)(slash - acct - 1), acct + 1, slash + 1);
}

static int
sqs_ensure(struct queue *q, struct errbuf *eb)
{
	struct sqs_q	*s = sq(q);
	struct sqs_kv	 attrs[3];
	char		*dlq = NULL, *arn = NULL, *redrive = NULL, *url = NULL;
	char		 vis[16], ret_s[16];
	char		 n_ret[] = "MessageRetentionPeriod";
	char		 n_vis[] = "VisibilityTimeout";
	char		 n_red[] = "RedrivePolicy";
	int		 ret = -1;

	dlq = xasprintf("%s%s", q->name, SQS_DLQ_SUFFIX);
	(void)snprintf(ret_s, sizeof(ret_s), "%d", SQS_DLQ_RETENTION);
	attrs[0].name = n_ret;
	attrs[0].value = ret_s;
	if (sqs_create_queue(s->c, dlq, attrs, 1, &url, eb) == -1) {
		errbuf_prefix(eb, "cannot create queue '%s': ", dlq);
		goto out;
	}
	free(s->dlq_url);
	s->dlq_url = url;
	url = NULL;
	if ((arn = queue_arn(s->dlq_url, aws_client_region(s->c), eb)) == NULL)
		goto out;
	redrive = xasprintf("{\"deadLetterTargetArn\":\"%s\","
	    "\"maxReceiveCount\":\"%d\"}", arn, SQS_MAX_RECEIVES);
	(void)snprintf(vis, sizeof(vis), "%u", q->visibility);
	attrs[0].name = n_vis;
	attrs[0].value = vis;
	attrs[1].name = n_red;
	attrs[1].value = redrive;
	if (sqs_create_queue(s->c, q->name, attrs, 2, &url, eb) == -1) {
		errbuf_prefix(eb, "cannot create queue '%s': ", q->name);
		goto out;
	}
	free(s->url);
	s->url = url;
	url = NULL;
	ret = 0;
 out:
	free(url);
	free(redrive);
	free(arn);
	free(dlq);
	return ret;
}

/* The queue URL, looked up once when ensure() did not run. */
static int
need_url(struct queue *q, struct errbuf *eb)
{
	struct sqs_q	*s = sq(q);

	if (s->url != NULL)
		return 0;
	return sqs_get_queue_url(s->c, q->name, &s->url, eb);
}

static int
sqs_recv(struct queue *q, unsigned wait_sec, struct queue_msg *ret_msg,
    struct errbuf *eb)
{
	struct sqs_q		*s = sq(q);
	struct sqs_receive_opts	 o = { 1, (int)wait_sec, -1 };
	struct sqs_messages	 ms;
	struct sqs_message	*m;
	int			 ret = -1;

	if (need_url(q, eb) == -1)
		return -1;
	sqs_messages_init(&ms);
	if (sqs_receive(s->c, s->url, &o, &ms, eb) == -1)
		goto out;
	if (ms.n == 0) {
		ret = 0;
		goto out;
	}
	m = &ms.v[0];
	if (m->body_len > QUEUE_BODY_MAX) {
		errbuf_set(eb, EK_DATA, "sqs: message '%s' is %zu bytes, "
		    "above %d", m->message_id, m->body_len, QUEUE_BODY_MAX);
		goto out;
	}
	queue_msg_init(ret_msg);
	ret_msg->id = m->message_id;
	ret_msg->receipt = m->receipt_handle;
	ret_msg->body = m->body;
	ret_msg->len = m->body_len;
	ret_msg->receive_count = m->receive_count > 0 ?
	    (unsigned)m->receive_count : 1;
	m->message_id = m->receipt_handle = m->body = NULL;
	ret = 1;
 out:
	sqs_messages_release(&ms);
	return ret;
}

static int
sqs_del(struct queue *q, const char *receipt, struct errbuf *eb)
{
	if (need_url(q, eb) == -1)
		return -1;
	if (sqs_delete_message(sq(q)->c, sq(q)->url, receipt, eb) == -1)
		return receipt_kind(eb);
	return 0;
}

static int
sqs_ext(struct queue *q, const char *receipt, unsigned seconds,
    struct errbuf *eb)
{
	if (need_url(q, eb) == -1)
		return -1;
	if (seconds > SQS_VISIBILITY_MAX_SEC)
		seconds = SQS_VISIBILITY_MAX_SEC;
	if (sqs_change_visibility(sq(q)->c, sq(q)->url, receipt, seconds,
	    eb) == -1)
		return receipt_kind(eb);
	return 0;
}

static int
sqs_snd(struct queue *q, const char *body, size_t len, struct errbuf *eb)
{
	if (need_url(q, eb) == -1)
		return -1;
	return sqs_send(sq(q)->c, sq(q)->url, body, len, 0, NULL, eb);
}

/*
 * A message that can never succeed is made visible again at once: the
 * next receives count it up to SQS_MAX_RECEIVES, then the redrive
 * policy moves it to the dead-letter queue.  It is never deleted here.
 */
static int
sqs_rej(struct queue *q, const struct queue_msg *m, const char *reason,
    struct errbuf *eb)
{
	return sqs_ext(q, m->receipt, 0, eb);
}

static int
sqs_fd(struct queue *q)
{
	return -1;
}

static int
sqs_destroy(struct queue *q, struct errbuf *eb)
{
	struct sqs_q	*s = sq(q);
	char		*dlq;

	if (need_url(q, eb) == -1)
		return eb->kind == EK_NOINPUT ? 0 : -1;
	if (sqs_delete_queue(s->c, s->url, eb) == -1 && eb->kind != EK_NOINPUT)
		return -1;
	free(s->url);
	s->url = NULL;
	if (s->dlq_url == NULL) {
		dlq = xasprintf("%s%s", q->name, SQS_DLQ_SUFFIX);
		if (sqs_get_queue_url(s->c, dlq, &s->dlq_url, eb) == -1) {
			free(dlq);
			return eb->kind == EK_NOINPUT ? 0 : -1;
		}
		free(dlq);
	}
	if (sqs_delete_queue(s->c, s->dlq_url, eb) == -1 &&
	    eb->kind != EK_NOINPUT)
		return -1;
	return 0;
}

static void
sqs_rel(struct queue *q)
{
	struct sqs_q	*s = sq(q);

	if (s == NULL)
		return;
	free(s->url);
	free(s->dlq_url);
	free(s);
	q->priv = NULL;
}

static const struct queue_ops sqs_ops = {
	.scheme = "sqs",
	.ensure = sqs_ensure,
	.receive = sqs_recv,
	.del = sqs_del,
	.extend = sqs_ext,
	.send = sqs_snd,
	.reject = sqs_rej,
	.get_fd = sqs_fd,
	.destroy = sqs_destroy,
	.release = sqs_rel,
};

int
queue_sqs_new(struct aws_client *aws, const char *name, unsigned visibility,
    struct queue **ret_queue, struct errbuf *eb)
{
	struct queue	*q;
	struct sqs_q	*s;
	size_t		 n = strlen(name);

	if (n + strlen(SQS_DLQ_SUFFIX) > QUEUE_NAME_MAX)
		return errbuf_set(eb, EK_CONFIG, "queue name '%s' is %zu "
		    "characters; with '%s' for its dead-letter queue SQS "
		    "allows %zu (shorten queue_prefix, the group or the "
		    "instance id)", name, n, SQS_DLQ_SUFFIX,
		    QUEUE_NAME_MAX - strlen(SQS_DLQ_SUFFIX));
	if (aws == NULL)
		return errbuf_set(eb, EK_CONFIG, "queue 'sqs': no AWS client");
	if (visibility == 0)
		visibility = QUEUE_VISIBILITY_DEFAULT;
	s = xcalloc(1, sizeof(*s));
	s->c = aws;
	q = xcalloc(1, sizeof(*q));
	q->ops = &sqs_ops;
	q->name = xstrdup(name);
	q->visibility = visibility;
	q->priv = s;
	*ret_queue = q;
	return 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
queue_sqs_list(struct aws_client *c, const char *prefix, char ***ret_names,
    size_t *ret_n, struct errbuf *eb)
{
	struct sqs_urls		 urls = { NULL, 0 };
	char			**names;
	const char		*slash;
	size_t			 n = 0;

	if (c == NULL)
		return errbuf_set(eb, EK_CONFIG, "queue 'sqs': no AWS client");
	if (sqs_list_queues(c, prefix, 0, &urls, eb) == -1)
		return -1;
	names = xcalloc(urls.n + 1, sizeof(*names));
	for (size_t i = 0; i < urls.n; i++) {
		slash = strrchr(urls.v[i], '/');
		names[n++] = xstrdup(slash != NULL ? slash + 1 : urls.v[i]);
	}
	qsort(names, n, sizeof(*names), cmpstr);
	sqs_urls_release(&urls);
	*ret_names = names;
	*ret_n = n;
	return 0;
}

/*
 * backend_queue_send_start() on SQS: names -> URLs, then sqs_send_start.
 * What the sends borrow (the URLs, the index) lives here until
 * backend_queue_sends_free().
 */
struct queue_sends {
	struct sqs_sends	*sm;		/* NULL: all reported */
	struct sqs_urls		 urls;
	char			**own;		/* GetQueueUrl's, by name */
	const char		**send_urls;
	size_t			*idx;		/* send i -> names index */
	size_t			 n;		/* names */
	size_t			 zero;		/* left when sm is NULL */
	queue_sent_fn		*sent;
	void			*arg;
};

static void
on_sqs_sent(void *arg, size_t i, const char *message_id,
    const struct errbuf *eb)
{
	struct queue_sends	*qs = arg;

	qs->sent(qs->arg, qs->idx[i], message_id != NULL ? NULL : eb);
}

/* The index of the URL of queue 'name' in the sorted names, or -1. */
static ssize_t
find_name(char **sorted, size_t n, const char *name)
{
	char	**f;

	f = n == 0 ? NULL : bsearch(&name, sorted, n, sizeof(*sorted),
	    cmpstr);
	return f != NULL ? f - sorted : -1;
}

static int
sqs_send_start_names(struct aws_client *c, struct aws_pool *pool,
    const char *const *names, size_t n, const char *body, size_t len,
    struct queue_sends *qs, struct errbuf *eb)
{
	char		*prefix, **lnames = NULL, **lurls = NULL;
	size_t		 nl = 0, ns = 0, pl;
	int		 ret = -1;

	if (c == NULL)
		return errbuf_set(eb, EK_CONFIG, "queue 'sqs': no AWS client");
	if (n == 0)
		return 0;
	/* The names' common prefix: one listing finds them all. */
	pl = strlen(names[0]);
	for (size_t i = 1; i < n; i++) {
		size_t	k = 0;

		while (k < pl && names[i][k] == names[0][k])
			k++;
		pl = k;
	}
	prefix = xstrndup(names[0], pl);
	if (sqs_list_queues(c, prefix, 0, &qs->urls, eb) == -1) {
		free(prefix);
		return -1;
	}
	free(prefix);
	/* Sorted names with their URLs beside them (same order). */
	lnames = xcalloc(qs->urls.n + 1, sizeof(*lnames));
	for (size_t i = 0; i < qs->urls.n; i++) {
		const char	*slash = strrchr(qs->urls.v[i], '/');

		lnames[nl++] = xstrdup(slash != NULL ? slash + 1 :
		    qs->urls.v[i]);
	}
	qsort(lnames, nl, sizeof(*lnames), cmpstr);
	lurls = xcalloc(nl + 1, sizeof(*lurls));
	for (size_t i = 0; i < qs->urls.n; i++) {
		const char	*slash = strrchr(qs->urls.v[i], '/');
		ssize_t		 k = find_name(lnames, nl, slash != NULL ?
				    slash + 1 : qs->urls.v[i]);

		if (k >= 0 && lurls[k] == NULL)
			lurls[k] = qs->urls.v[i];
	}
	qs->send_urls = xcalloc(n + 1, sizeof(*qs->send_urls));
	qs->own = xcalloc(n + 1, sizeof(*qs->own));
	qs->idx = xcalloc(n + 1, sizeof(*qs->idx));
	for (size_t i = 0; i < n; i++) {
		ssize_t		 k = find_name(lnames, nl, names[i]);
		struct errbuf	 e = { 0 };

		if (k >= 0) {
			qs->send_urls[ns] = lurls[k];
			qs->idx[ns++] = i;
			continue;
		}
		/* Not listed yet (ListQueues lags a new queue): ask. */
		if (sqs_get_queue_url(c, names[i], &qs->own[i], &e) == -1) {
			qs->sent(qs->arg, i, &e);
			continue;
		}
		qs->send_urls[ns] = qs->own[i];
		qs->idx[ns++] = i;
	}
	if (ns > 0 && (qs->sm = sqs_send_start(c, pool, qs->send_urls, ns,
	    body, len, on_sqs_sent, qs, eb)) == NULL)
		goto out;
	ret = 0;
 out:
	free(lurls);
	for (size_t i = 0; i < nl; i++)
		free(lnames[i]);
	free(lnames);
	return ret;
}

int
backend_queue_send_start(const char *url, struct aws_client *aws,
    struct aws_pool *pool, const char *const *names, size_t n,
    const char *body, size_t len, queue_sent_fn *sent, void *arg,
    struct queue_sends **ret, struct errbuf *eb)
{
	struct queue_sends	*qs;
	struct queue		*q;

	qs = xcalloc(1, sizeof(*qs));
	qs->n = n;
	qs->sent = sent;
	qs->arg = arg;
	if (strcmp(url, "sqs") == 0) {
		if (sqs_send_start_names(aws, pool, names, n, body, len, qs,
		    eb) == -1) {
			backend_queue_sends_free(qs);
			return -1;
		}
		*ret = qs;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct errbuf	e = { 0 };

		q = NULL;
		if (queue_open(url, names[i], 0, aws, &q, &e) == -1 ||
		    queue_send(q, body, len, &e) == -1)
			sent(arg, i, &e);
		else
			sent(arg, i, NULL);
		queue_free(q);
	}
	*ret = qs;
	return 0;
}

const size_t *
backend_queue_sends_left(const struct queue_sends *qs)
{
	return qs->sm != NULL ? sqs_sends_counter(qs->sm) : &qs->zero;
}

void
backend_queue_sends_free(struct queue_sends *qs)
{
	if (qs == NULL)
		return;
	sqs_sends_free(qs->sm);
	for (size_t i = 0; qs->own != NULL && i < qs->n; i++)
		free(qs->own[i]);
	free(qs->own);
	free(qs->idx);
	free(qs->send_urls);
	sqs_urls_release(&qs->urls);
	free(qs);
}

int
backend_queue_send_many(const char *url, struct aws_client *aws,
    struct aws_pool *pool, const char *const *names, size_t n,
    const char *body, size_t len, queue_sent_fn *sent, void *arg,
    struct errbuf *eb)
{
	struct queue_sends	*qs;
	const size_t		*left;
	int			 ret = 0;

	if (backend_queue_send_start(url, aws, pool, names, n, body, len,
	    sent, arg, &qs, eb) == -1)
		return -1;
	left = backend_queue_sends_left(qs);
	if (*left > 0 && aws_pool_run(pool, left, -1, eb) == -1)
		ret = -1;
	backend_queue_sends_free(qs);
	return ret;
}
