/* SPDX-License-Identifier: ISC */
/*
 * client_int.h: the steps of one AWS request, shared by aws_request()
 * (client.c, one request at a time, blocking) and the request pool
 * (pool.c, many at once over libcurl's multi interface), so that both
 * sign, retry, correct the clock and map errors the same way.  Not for
 * other modules.
 *
 * One request:
 *   aws_prep_init()      the URL, the encoded form, the HTTP request;
 *   aws_prep_attempt()   before each try: sign (again), rewind out_fd;
 *   send p->hr (http_perform or http_multi_add), then
 *   aws_prep_failed()    after a transport failure, or
 *   aws_prep_reply()     after a reply (moved from resp into res);
 *   either says what next: DONE (0), FAIL (eb set), RETRY (sign and send
 *   at once: the clock or the credentials were corrected) or BACKOFF
 *   (wait aws_backoff_ms(), then try again);
 *   aws_prep_release().
 * req must outlive p: its headers, body, key and callbacks are read at
 * every attempt.
 */
#ifndef HOOKD_AWS_CLIENT_INT_H
#define HOOKD_AWS_CLIENT_INT_H

#include <sys/types.h>

#include <stdbool.h>

#include "aws/client.h"
#include "http.h"

struct errbuf;

/* A request URL, split the way signing needs it. */
struct aws_target {
	char	*scheme;	/* "https" */
	char	*authority;	/* "host[:port]", the Host header */
	char	*path;		/* encoded path, starts with '/' */
	char	*query;		/* encoded query or NULL */
};

/* One request being sent: what every attempt reuses. */
struct aws_prep {
	struct aws_target	 t;
	char			*url;		/* sent to */
	char			*form;		/* encoded form body or NULL */
	bool			 is_form;
	struct http_headers	 hdrs;		/* signed, per attempt */
	struct http_request	 hr;		/* points into the above */
	off_t			 out_start;	/* out_fd's offset, or -1 */
	unsigned int		 max;		/* tries allowed */
	unsigned int		 attempt;	/* tries made */
	bool			 skew_fixed;
	bool			 creds_refreshed;
};

enum aws_next {
	AWS_NEXT_DONE,		/* a 2xx reply: res holds it */
	AWS_NEXT_FAIL,		/* eb (and res) say why */
	AWS_NEXT_RETRY,		/* sign and send again at once */
	AWS_NEXT_BACKOFF,	/* wait, then sign and send again */
};

/* Fill p for req; 0, or -1 with eb set.  Release p in both cases. */
int	 aws_prep_init(struct aws_client *, const struct aws_request *req,
	    struct aws_prep *p, struct errbuf *) HOOKD_WUR;
/* Free what p owns; safe on a zeroed or half-built p. */
void	 aws_prep_release(struct aws_prep *p);
/* Count and sign the next try, reset res; 0, or -1 with eb set. */
int	 aws_prep_attempt(struct aws_client *, const struct aws_request *req,
	    struct aws_prep *p, struct aws_result *res, struct errbuf *)
	    HOOKD_WUR;
/* The try ended without a reply (he, transient: from the HTTP layer). */
enum aws_next aws_prep_failed(const struct aws_request *req,
	    struct aws_prep *p, const struct http_response *resp,
	    const struct errbuf *he, bool transient, struct aws_result *res,
	    struct errbuf *eb);
/* The try got a reply: resp's body and headers move into res. */
enum aws_next aws_prep_reply(struct aws_client *,
	    const struct aws_request *req, struct aws_prep *p,
	    struct http_response *resp, struct aws_result *res,
	    struct errbuf *eb);
/* The full-jitter wait before try attempt + 1, in ms (logged). */
unsigned int aws_backoff_ms(const struct aws_client *,
	    const struct aws_request *req, unsigned int attempt);

#endif /* HOOKD_AWS_CLIENT_INT_H */
