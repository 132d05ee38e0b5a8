/* SPDX-License-Identifier: ISC */
/*
 * pool.c: many AWS requests at once (see pool.h).  Each request is a
 * struct preq holding a copy of the caller's request and the steps of
 * client_int.h; it is in one of three places: in flight (an HTTP
 * transfer of the multi handle), waiting out its backoff (the wait
 * list, by due time), or ended (reported and freed).  Both places count
 * against max_in_flight, so a pool never holds more than that many
 * requests, however many the caller adds -- and as many more of its
 * feeder's (aws_pool_feed), which has places of its own.
 *
 *   add -> SIGN -> in flight -> reply/failure -> aws_prep_* says
 *        DONE/FAIL -> report, free
 *        RETRY     -> SIGN again at once
 *        BACKOFF   -> wait list until due -> SIGN
 */
#include "compat.h"

#include <poll.h>
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
	struct aws_result	*res_out;	/* aws_pool_request's: moved */
	bool			 fed;		/* added by the feeder */
};

struct aws_pool {
	struct aws_client	*c;
	struct http_multi	*m;
	unsigned int		 cap;
	size_t			 pending;	/* in flight + waiting */
	struct preq		*waiting;	/* by due_ms */
	bool			 cancelled;
	struct aws_pool_stats	 st;
	aws_pool_feed_fn	*feed;		/* aws_pool_feed's, or NULL */
	void			*feed_arg;
	size_t			 fed;		/* its requests pending */
	bool			 feeding;	/* inside feed() */
	unsigned int		 depth;		/* turns running (nested) */
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
	/* Places for the feeder's requests and as many for the others. */
	if ((pl->m = http_multi_new(2 * max_in_flight, eb)) == NULL) {
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
	if (q->fed)
		pl->fed--;
	if (rc == -1)
		pl->st.failed++;
	if (q->res_out != NULL) {
		/* aws_pool_request's caller gets the result itself. */
		aws_result_release(q->res_out);
		*q->res_out = q->res;
		aws_result_init(&q->res);
		q->done(q->arg, rc, q->res_out, eb);
	} else
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
 * The feeder's requests and the others each have max_in_flight places
 * (the multi handle has twice that): a run of sends goes on at its full
 * pace while a reader's requests go beside them, not after them.
 */
static bool
feed_room(const struct aws_pool *pl)
{
	return pl->feed != NULL && !pl->cancelled && pl->fed < pl->cap;
}

/* Whether a caller's request must wait for a place. */
static bool
pool_full(const struct aws_pool *pl)
{
	return pl->pending - pl->fed >= pl->cap;
}

/* Let the feeder add what there is room for. */
static void
pool_feed(struct aws_pool *pl)
{
	aws_pool_feed_fn	*fn;
	int			 r;

	while (feed_room(pl)) {
		fn = pl->feed;
		pl->feeding = true;
		r = fn(pl->feed_arg, pl);
		pl->feeding = false;
		if (r == 0 && pl->feed == fn)
			pl->feed = NULL;	/* nothing more to add */
		if (r == 0)
			break;
	}
}

/*
 * One turn: send the requests whose backoff is over and what the feeder
 * has, then move the transfers along, sleeping until one ends, the next
 * backoff is due, max_ms passed (-1: no limit) or the wake fd fires.
 * -1 with eb set when libcurl failed.
 */
static int
pool_turn(struct aws_pool *pl, long max_ms, struct errbuf *eb)
{
	uint64_t	 now = (uint64_t)mono_ms();
	long		 timeout = max_ms;
	struct preq	*q;
	int		 r;

	if (http_abort_requested() && !pl->cancelled)
		aws_pool_cancel(pl);
	while ((q = pl->waiting) != NULL && q->due_ms <= now) {
		pl->waiting = q->next;
		preq_send(q);
	}
	pool_feed(pl);
	if (pl->waiting != NULL && (timeout < 0 ||
	    (long)(pl->waiting->due_ms - now) < timeout))
		timeout = (long)(pl->waiting->due_ms - now);
	if (http_multi_in_flight(pl->m) == 0 && pl->waiting == NULL)
		return 0;
	pl->depth++;
	r = http_multi_run(pl->m, timeout, on_http_done, pl, eb);
	pl->depth--;
	if (r == -1) {
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

/* aws_pool_add, with res_out: where the result goes (or NULL). */
static int
pool_add(struct aws_pool *pl, const struct aws_request *req,
    aws_pool_done_fn *done, void *arg, struct aws_result *res_out,
    struct errbuf *eb)
{
	struct preq	*q;

	if (req->body_fd != -1 || req->out_fd != -1)
		return errbuf_set(eb, EK_USAGE, "aws pool: %s %s: a streamed "
		    "body or reply", req->svc != NULL ? req->svc->name : "?",
		    req->op != NULL ? req->op : "?");
	if (req->svc == NULL || req->op == NULL)
		return errbuf_set(eb, EK_USAGE, "aws pool: no service or "
		    "operation");
	while (!pl->feeding && !pl->cancelled && pool_full(pl))
		if (pool_turn(pl, -1, eb) == -1)
			return -1;
	if (pl->cancelled)
		return errbuf_set(eb, EK_TEMP, "%s %s: interrupted",
		    req->svc->name, req->op);

	q = xcalloc(1, sizeof(*q));
	q->pool = pl;
	q->fed = pl->feeding;
	q->res_out = res_out;
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
	if (q->fed)
		pl->fed++;
	pl->st.requests++;
	preq_send(q);
	return 0;
}

int
aws_pool_add(struct aws_pool *pl, const struct aws_request *req,
    aws_pool_done_fn *done, void *arg, struct errbuf *eb)
{
	return pool_add(pl, req, done, arg, NULL, eb);
}

int
aws_pool_wait(struct aws_pool *pl, struct errbuf *eb)
{
	bool	was_cancelled;

	while (pl->pending > 0 || (pl->feed != NULL && !pl->cancelled))
		if (pool_turn(pl, -1, eb) == -1)
			return -1;
	was_cancelled = pl->cancelled;
	pl->cancelled = false;
	if (was_cancelled)
		return errbuf_set(eb, EK_TEMP, "aws requests interrupted");
	return 0;
}

void
aws_pool_feed(struct aws_pool *pl, aws_pool_feed_fn *fn, void *arg)
{
	pl->feed = fn;
	pl->feed_arg = arg;
}

int
aws_pool_run(struct aws_pool *pl, const size_t *until_zero, long max_ms,
    struct errbuf *eb)
{
	struct timespec	 t0;
	long		 left = max_ms;
	int		 ret = 0;

	mono_now(&t0);
	for (;;) {
		if (until_zero != NULL && *until_zero == 0)
			break;
		if (pl->cancelled) {
			ret = errbuf_set(eb, EK_TEMP, "aws requests "
			    "interrupted");
			break;
		}
		if (max_ms >= 0 && (left = max_ms - (long)mono_ms_since(&t0))
		    <= 0)
			break;
		if (pl->pending == 0 && pl->feed == NULL) {
			/* Nothing to move along: only the time to pass. */
			if (until_zero == NULL && left > 0)
				(void)poll(NULL, 0, (int)left);
			if (until_zero != NULL)
				ret = errbuf_set(eb, EK_BUG, "aws pool: "
				    "waiting for requests never added");
			break;
		}
		if ((ret = pool_turn(pl, max_ms >= 0 ? left : -1, eb)) == -1)
			break;
	}
	return ret;
}

bool
aws_pool_running(const struct aws_pool *pl)
{
	return pl->depth > 0;
}

/* aws_pool_request's end: the result is already in place. */
struct sync_req {
	size_t		 left;
	int		 rc;
	struct errbuf	*eb;
};

static void
on_sync_done(void *arg, int rc, const struct aws_result *res,
    const struct errbuf *eb)
{
	struct sync_req	*sr = arg;

	(void)res;
	sr->left = 0;
	sr->rc = rc;
	if (rc == -1)
		*sr->eb = *eb;
}

int
aws_pool_request(struct aws_pool *pl, const struct aws_request *req,
    struct aws_result *res, struct errbuf *eb)
{
	struct sync_req	 sr = { 1, -1, eb };
	struct errbuf	 e2 = { 0 };

	if (pool_add(pl, req, on_sync_done, &sr, res, eb) == -1)
		return -1;
	/* A cancel or a libcurl failure reports it too: left is 0 then. */
	if (sr.left > 0 && aws_pool_run(pl, &sr.left, -1, &e2) == -1 &&
	    sr.left > 0)
		return errbuf_set(eb, EK_BUG, "aws pool: %s", e2.msg);
	return sr.rc;
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
