/* SPDX-License-Identifier: ISC */
/*
 * pool.h: many AWS requests at once.  A pool sends requests over
 * libcurl's multi interface (http_multi_*), at most max_in_flight at a
 * time (default AWS_POOL_DEFAULT), over kept-alive connections, each
 * signed, retried, clock-corrected and mapped to an error exactly as
 * aws_request() does (client_int.h): a throttled or failed request
 * waits out its own backoff and is sent again alone while the others go
 * on, and a slow one holds up nobody.
 *
 * Use:
 *     pool = aws_pool_new(client, 64, eb);
 *     for each request: aws_pool_add(pool, &req, done, arg, eb);
 *     aws_pool_wait(pool, eb);
 * aws_pool_add() copies what it needs of req (so the caller's buffers
 * may be reused at once) and, while the pool is full, runs it until a
 * request ends; each request's end is reported once to its done
 * callback, from inside aws_pool_add() or aws_pool_wait().  Only memory
 * bodies and replies: body_fd and out_fd must be -1.
 *
 * Stopping: aws_pool_cancel(), or the HTTP layer's abort flag
 * (http_set_abort_flag), ends every request in the pool within a poll:
 * each is reported with EK_TEMP "... interrupted", and later adds fail
 * the same way until aws_pool_wait() returns.
 */
#ifndef HOOKD_AWS_POOL_H
#define HOOKD_AWS_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "aws/client.h"

struct errbuf;
struct aws_pool;

#define AWS_POOL_DEFAULT	64	/* requests in flight */
#define AWS_POOL_MAX		1024	/* the most a caller may ask */

/*
 * The end of one request: rc 0 (res holds the 2xx reply) or -1 (eb says
 * why; res the last attempt, as aws_request() leaves it).  res and eb
 * are valid during the call only; the callback may add requests.
 */
typedef void	aws_pool_done_fn(void *arg, int rc,
		    const struct aws_result *res, const struct errbuf *eb);

/* What a pool did, for the caller's figures. */
struct aws_pool_stats {
	uint64_t	 requests;	/* added */
	uint64_t	 attempts;	/* sent, retries included */
	uint64_t	 retries;	/* attempts after a request's first */
	uint64_t	 failed;	/* ended with rc -1 */
	unsigned int	 peak;		/* most in flight at once */
};

/*
 * A pool over client c (borrowed, must outlive the pool) for at most
 * max_in_flight requests at once (0: AWS_POOL_DEFAULT; above
 * AWS_POOL_MAX: EK_USAGE).  Returns a new pool, or NULL with eb set.
 */
struct aws_pool *aws_pool_new(struct aws_client *c,
	    unsigned int max_in_flight, struct errbuf *);
/* Drop every request (none reported) and free the pool; NULL-safe. */
void	 aws_pool_free(struct aws_pool *);

/*
 * Queue req and start it once there is room (running the pool until
 * then).  Returns 0 (done will be called), or -1 with eb set and done
 * never called: EK_USAGE for a request the pool cannot take, EK_TEMP
 * "interrupted" once the pool is cancelled.
 */
int	 aws_pool_add(struct aws_pool *, const struct aws_request *req,
	    aws_pool_done_fn *done, void *arg, struct errbuf *) HOOKD_WUR;
/*
 * Run until every request added has ended.  Returns 0, or -1 with eb set
 * when the pool was cancelled (EK_TEMP) or libcurl failed (EK_OS; every
 * request is then reported as failed).
 */
int	 aws_pool_wait(struct aws_pool *, struct errbuf *) HOOKD_WUR;
/* End every request now, each reported as interrupted. */
void	 aws_pool_cancel(struct aws_pool *);
/*
 * A feeder: called by the pool whenever it has room for it, it adds one
 * request with aws_pool_add() (which then never blocks) and returns 1,
 * or returns 0 when it has nothing more (it is then forgotten).  Its
 * requests have max_in_flight places of their own beside the others'
 * max_in_flight: a long run of sends goes on at its pace while a reader's
 * requests go beside it, not after it.
 */
typedef int	aws_pool_feed_fn(void *arg, struct aws_pool *);
/* Set the pool's feeder (one at a time; NULL: none). */
void	 aws_pool_feed(struct aws_pool *, aws_pool_feed_fn *, void *arg);
/*
 * Move the pool along (its feeder included) until *until_zero is 0
 * (until_zero may be NULL), max_ms have passed (-1: no limit) or
 * nothing is left to do; with until_zero NULL and nothing to do, just
 * sleep out max_ms.  Returns 0, or -1 with eb set as aws_pool_wait()
 * (the pool was cancelled, or libcurl failed).
 */
int	 aws_pool_run(struct aws_pool *, const size_t *until_zero,
	    long max_ms, struct errbuf *) HOOKD_WUR;
/*
 * One request through the pool, as aws_request() sends it alone: res is
 * filled, 0 or -1 with eb set; the pool's other requests move on while
 * it waits.  Not from inside a pool's callback (aws_pool_running()).
 */
int	 aws_pool_request(struct aws_pool *, const struct aws_request *req,
	    struct aws_result *res, struct errbuf *) HOOKD_WUR;
/* Whether the pool is moving transfers along now (a callback runs). */
bool	 aws_pool_running(const struct aws_pool *);
/* Requests added and not yet ended. */
size_t	 aws_pool_pending(const struct aws_pool *);
/* The pool's counters so far. */
void	 aws_pool_stats(const struct aws_pool *, struct aws_pool_stats *);

#endif /* HOOKD_AWS_POOL_H */
