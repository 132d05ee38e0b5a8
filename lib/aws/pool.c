/* SPDX-License-Identifier: ISC */
/*
 * pool.c: many AWS requests at once (see pool.h).  Each request is a
 * struct preq holding a copy of the caller's request and the steps of
 * client_int.h; it is in one of three places: in flight (an HTTP
 * transfer of the multi handle), waiting out its backoff (the wait
 * list, by due time), or ended (reported and freed).  Both places count
 * against max_in_flight, so a pool never holds more than that many
 * requests, however many the caller adds.
 *
 *   add -> SIGN -> in flight -> reply/failure -> aws_prep_* says
 *        DONE/FAIL -> report, free
 *        RETRY     -> SIGN again at once
 *        BACKOFF   -> wait list until due -> SIGN
 */
#include "compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/client_int.h"
#include "aws/pool.h"
#include "clock.h"
#include "errbuf.h"
#include "http.h"
#include "log.h"
#include "xalloc.h"

#include "banned.h"

struct preq {
	struct aws_pool		*pool;
	struct aws_request	 rq;		/* the caller's, copied */
	struct http_headers	 headers;	/* rq.headers */
	char			*method;
	char			*op;
	char			*key;
	char			*body;
	char			*payload_hash;
	struct aws_prep		 p;
	struct aws_result	 res;
	struct http_response	 resp;
	aws_pool_done_fn	*done;
	void			*arg;
	uint64_t		 due_ms;	/* waiting: when to send */
	struct preq		*next;		/* wait list */
};

struct aws_pool {
	struct aws_client	*c;
	struct http_multi	*m;
	unsigned int		 cap;
	size_t			 pending;	/* in flight + waiting */
	struct preq		*waiting;	/* by due_ms */
	bool			 cancelled;
	struct aws_pool_stats	 st;
};

struct aws_pool *
aws_pool_new(struct aws_client *c, unsigned int max_in_flight,
    struct errbuf *eb)
{
	struct aws_pool	*pl;

	if (max_in_flight == 0)
		max_in_flight = AWS_POOL_DEFAULT;
	if (max_in_flight > AWS_POOL_MAX) {
		errbuf_set(eb, EK_USAGE, "aws pool: %u requests in flight: "
		    "at most %d", max_in_flight, AWS_POOL_MAX);
		return NULL;
	}
	pl = xcalloc(1, sizeof(*pl));
	pl->c = c;
	pl->cap = max_in_flight;
	if ((pl->m = http_multi_new(max_in_flight, eb)) == NULL) {
		free(pl);
		return NULL;
	}
	return pl;
}

static void
preq_free(struct preq *q)
{
	aws_prep_release(&q->p);
	aws_result_release(&q->res);
	http_response_release(&q->resp);
	http_headers_release(&q->headers);
	free(q->method);
	free(q->op);
	free(q->key);
	free(q->payload_hash);
	if (q->body != NULL)
		freezero(q->body, q->rq.body_len);
	free(q);
}

/* Report q's end and free it. */
static void
preq_end(struct preq *q, int rc, const struct errbuf *eb)
{
	struct aws_pool	*pl = q->pool;

	pl->pending--;
	if (rc == -1)
		pl->st.failed++;
	q->done(q->arg, rc, &q->res, eb);
	preq_free(q);
}

/* Sign q's next attempt and put it in flight; on failure, end it. */
static void
preq_send(struct preq *q)
{
	struct aws_pool	*pl = q->pool;
	struct errbuf	 eb = { 0 };

	if (pl->cancelled) {
		errbuf_set(&eb, EK_TEMP, "%s %s: interrupted",
		    q->rq.svc->name, q->rq.op);
		preq_end(q, -1, &eb);
		return;
	}
	if (aws_prep_attempt(pl->c, &q->rq, &q->p, &q->res, &eb) == -1 ||
	    http_multi_add(pl->m, &q->p.hr, &q->resp, q, &eb) == -1) {
		preq_end(q, -1, &eb);
		return;
	}
	pl->st.attempts++;
	if (q->p.attempt > 1)
		pl->st.retries++;
	if (http_multi_in_flight(pl->m) > pl->st.peak)
		pl->st.peak = (unsigned int)http_multi_in_flight(pl->m);
}

/* Put q on the wait list, due after its backoff. */
static void
preq_wait(struct preq *q)
{
	struct aws_pool	 *pl = q->pool;
	struct preq	**pp;

	q->due_ms = (uint64_t)mono_ms() + aws_backoff_ms(pl->c, &q->rq,
	    q->p.attempt);
	for (pp = &pl->waiting; *pp != NULL && (*pp)->due_ms <= q->due_ms;
	    pp = &(*pp)->next)
		;
	q->next = *pp;
	*pp = q;
}

/* http_multi_run's report of one transfer's end. */
static void
on_http_done(void *cbarg, const struct http_done *d)
{
	struct aws_pool	*pl = cbarg;
	struct preq	*q = d->arg;
	struct errbuf	 eb = { 0 };
	enum aws_next	 next;

	if (d->rc == -1)
		next = aws_prep_failed(&q->rq, &q->p, &q->resp, &d->eb,
		    d->transient && !pl->cancelled, &q->res, &eb);
	else
		next = aws_prep_reply(pl->c, &q->rq, &q->p, &q->resp,
		    &q->res, &eb);
	switch (next) {
	case AWS_NEXT_DONE:
		preq_end(q, 0, NULL);
		break;
	case AWS_NEXT_FAIL:
		preq_end(q, -1, &eb);
		break;
	case AWS_NEXT_RETRY:
		preq_send(q);
		break;
	case AWS_NEXT_BACKOFF:
		preq_wait(q);
		break;
	}
}

void
aws_pool_cancel(struct aws_pool *pl)
{
	struct preq	*q;
	struct errbuf	 eb = { 0 };

	pl->cancelled = true;
	http_multi_cancel(pl->m, on_http_done, pl);
	while ((q = pl->waiting) != NULL) {
		pl->waiting = q->next;
		errbuf_set(&eb, EK_TEMP, "%s %s: interrupted",
		    q->rq.svc->name, q->rq.op);
		preq_end(q, -1, &eb);
	}
}

/*
 * One turn: send the requests whose backoff is over, then move the
 * transfers along, sleeping until one ends, the next backoff is due or
 * the wake fd fires.  -1 with eb set when libcurl failed.
 */
static int
pool_turn(struct aws_pool *pl, struct errbuf *eb)
{
	uint64_t	 now = (uint64_t)mono_ms();
	long		 timeout = -1;
	struct preq	*q;

	if (http_abort_requested() && !pl->cancelled)
		aws_pool_cancel(pl);
	while ((q = pl->waiting) != NULL && q->due_ms <= now) {
		pl->waiting = q->next;
		preq_send(q);
	}
	if (pl->waiting != NULL)
		timeout = (long)(pl->waiting->due_ms - now);
	if (http_multi_in_flight(pl->m) == 0 && pl->waiting == NULL)
		return 0;
	if (http_multi_run(pl->m, timeout, on_http_done, pl, eb) == -1) {
		aws_pool_cancel(pl);
		return -1;
	}
	return 0;
}

/* Copy s, or NULL for NULL. */
static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

int
aws_pool_add(struct aws_pool *pl, const struct aws_request *req,
    aws_pool_done_fn *done, void *arg, struct errbuf *eb)
{
	struct preq	*q;

	if (req->body_fd != -1 || req->out_fd != -1)
		return errbuf_set(eb, EK_USAGE, "aws pool: %s %s: a streamed "
		    "body or reply", req->svc != NULL ? req->svc->name : "?",
		    req->op != NULL ? req->op : "?");
	if (req->svc == NULL || req->op == NULL)
		return errbuf_set(eb, EK_USAGE, "aws pool: no service or "
		    "operation");
	while (!pl->cancelled && pl->pending >= pl->cap)
		if (pool_turn(pl, eb) == -1)
			return -1;
	if (pl->cancelled)
		return errbuf_set(eb, EK_TEMP, "%s %s: interrupted",
		    req->svc->name, req->op);

	q = xcalloc(1, sizeof(*q));
	q->pool = pl;
	q->done = done;
	q->arg = arg;
	q->rq = *req;
	http_headers_init(&q->headers);
	for (size_t i = 0; req->headers != NULL && i < req->headers->n; i++)
		http_headers_add(&q->headers, req->headers->v[i].name,
		    req->headers->v[i].value);
	q->rq.headers = &q->headers;
	q->rq.method = q->method = dup_or_null(req->method);
	q->rq.op = q->op = xstrdup(req->op);
	q->rq.key = q->key = dup_or_null(req->key);
	q->rq.payload_hash = q->payload_hash = dup_or_null(req->payload_hash);
	if (req->body != NULL) {
		q->body = xmalloc(req->body_len + 1);
		memcpy(q->body, req->body, req->body_len);
		q->rq.body = q->body;
	}
	aws_result_init(&q->res);
	http_response_init(&q->resp);
	if (aws_prep_init(pl->c, &q->rq, &q->p, eb) == -1) {
		preq_free(q);
		return -1;
	}
	/* Encoded in q->p now: the caller's arrays are not kept. */
	q->rq.url = q->rq.bucket = q->rq.path = NULL;
	q->rq.query = q->rq.form = NULL;
	q->rq.nquery = q->rq.nform = 0;
	pl->pending++;
	pl->st.requests++;
	preq_send(q);
	return 0;
}

int
aws_pool_wait(struct aws_pool *pl, struct errbuf *eb)
{
	bool	was_cancelled;

	while (pl->pending > 0)
		if (pool_turn(pl, eb) == -1)
			return -1;
	was_cancelled = pl->cancelled;
	pl->cancelled = false;
	if (was_cancelled)
		return errbuf_set(eb, EK_TEMP, "aws requests interrupted");
	return 0;
}

size_t
aws_pool_pending(const struct aws_pool *pl)
{
	return pl->pending;
}

void
aws_pool_stats(const struct aws_pool *pl, struct aws_pool_stats *ret)
{
	*ret = pl->st;
}

/* http_multi_cancel's report when the pool is freed: drop, unreported. */
static void
on_http_drop(void *cbarg, const struct http_done *d)
{
	preq_free(d->arg);
}

void
aws_pool_free(struct aws_pool *pl)
{
	struct preq	*q;

	if (pl == NULL)
		return;
	/* Transfers first: they point into their requests. */
	http_multi_cancel(pl->m, on_http_drop, pl);
	http_multi_free(pl->m);
	while ((q = pl->waiting) != NULL) {
		pl->waiting = q->next;
		preq_free(q);
	}
	free(pl);
}
