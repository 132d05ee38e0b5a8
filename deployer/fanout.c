/* SPDX-License-Identifier: ISC */
/*
 * fanout.c: the deployer's side of a batch at fleet scale (issue 19).
 *
 * Sending: the message body is built once and goes to every instance of
 * the batch at once (backend_queue_send_start: on SQS one ListQueues by
 * the group's queue prefix, then one SendMessage per instance through
 * the request pool, max_requests_in_flight at a time, each retried
 * alone).  fanout_send_start() returns once they are on their way: the
 * pool sends them as it has room while the caller reads progress
 * through the same pool (dctx_pool() makes it the AWS client's, so the
 * listing pages, the reads and deployment.json's PUT go beside the
 * sends: pool.h's feeder leaves them a quarter of the places).  The
 * first instances report while the last messages go out, and the
 * outcome is known soon after the last one reports.
 *
 * Reading: a round lists the deployment's instances/ prefix (one request
 * per 1,000 keys on S3) and reads only the progress documents whose tag
 * changed since the last round, of instances not final yet (lib/changes:
 * at most max_requests_in_flight reads at once).  A round costs about
 * N/1000 + the changed documents requests, where reading every document
 * cost N.  A batch with fewer instances waiting than the listing would
 * take requests (OneAtATime in a big fleet) has their documents read
 * directly instead.
 */
#include "compat.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "aws/pool.h"
#include "backends.h"
#include "caps.h"
#include "changes.h"
#include "clock.h"
#include "deployer.h"
#include "errbuf.h"
#include "log.h"
#include "xalloc.h"

#include "banned.h"

#define JSON_SUFFIX	".json"
#define CHANGES_PAGE	1000	/* keys a listing request returns */

/* The sends of one batch: its instances, and where each is in d->inst. */
struct fanout_sending {
	struct deployment	*d;
	size_t			*idx;
	time_t			 now;
	struct queue_sends	*qs;
};

static void
on_sent(void *arg, size_t i, const struct errbuf *eb)
{
	struct fanout_sending	*ss = arg;
	struct dinst		*di = &ss->d->inst[ss->idx[i]];

	/*
	 * Progress is read while the sends go out: an instance whose
	 * document came in before its send's reply keeps what it said.
	 */
	if (di->state != IS_PENDING && di->state != IS_SENT)
		return;
	if (eb == NULL) {
		di->state = IS_SENT;
		if (di->started == 0)
			di->started = ss->now;
		return;
	}
	di->started = ss->now;
	/* An instance we cannot reach fails, the others go on. */
	di->state = IS_FAILED;
	di->finished = ss->now;
	free(di->message);
	di->message = xasprintf("cannot send to queue '%s': %s", di->queue,
	    eb->msg);
}

int
fanout_send_start(struct dctx *c, struct deployment *d, size_t b,
    bool again, struct fanout_sending **ret, struct errbuf *eb)
{
	struct fanout_sending	*ss;
	struct aws_pool		*pool = NULL;
	const char		**names;
	char			*body;
	size_t			 n = 0;
	int			 r;

	if (d->message == NULL)
		return errbuf_set(eb, EK_DATA, "deployment %s has no message",
		    d->id);
	if (c->aws != NULL && (pool = dctx_pool(c, eb)) == NULL)
		return -1;
	if (again) {
		struct fanout	*f;

		/* Who answered already (one round): they get nothing. */
		if ((f = fanout_new(d, eb)) == NULL)
			return -1;
		r = fanout_poll(c, f, d, b, NULL, eb);
		fanout_free(f);
		if (r == -1)
			return -1;
	}
	/* Once for the whole batch. */
	body = json_dumps(d->message, JSON_COMPACT | JSON_SORT_KEYS);
	if (body == NULL)
		return errbuf_set(eb, EK_BUG, "cannot serialise the message");
	ss = xcalloc(1, sizeof(*ss));
	ss->d = d;
	ss->now = time(NULL);
	ss->idx = xcalloc(d->ninst + 1, sizeof(*ss->idx));
	names = xcalloc(d->ninst + 1, sizeof(*names));
	for (size_t i = 0; i < d->ninst; i++) {
		struct dinst	*di = &d->inst[i];

		if (di->batch != b)
			continue;
		if (again && (inst_final(di->state) ||
		    (di->state != IS_SENT && di->state != IS_PENDING)))
			continue;	/* it answered: no second message */
		if (di->queue == NULL) {
			di->state = IS_FAILED;
			di->started = di->finished = ss->now;
			free(di->message);
			di->message = xstrdup("cannot send: no queue known");
			continue;
		}
		names[n] = di->queue;
		ss->idx[n++] = i;
	}
	r = backend_queue_send_start(c->cfg.queue, c->aws, pool, names, n,
	    body, strlen(body), on_sent, ss, &ss->qs, eb);
	free(names);
	free(body);
	if (r == -1) {
		free(ss->idx);
		free(ss);
		return -1;
	}
	*ret = ss;
	return 0;
}

bool
fanout_sending_done(const struct fanout_sending *ss)
{
	return ss == NULL || *backend_queue_sends_left(ss->qs) == 0;
}

void
fanout_send_end(struct fanout_sending *ss)
{
	if (ss == NULL)
		return;
	backend_queue_sends_free(ss->qs);
	free(ss->idx);
	free(ss);
}

int
fanout_idle(struct dctx *c, unsigned ms, struct errbuf *eb)
{
	if (c->pool == NULL) {
		(void)poll(NULL, 0, (int)ms);
		return 0;
	}
	/* The requests in the pool (a batch's sends) move on meanwhile. */
	return aws_pool_run(c->pool, NULL, (long)ms, eb);
}

int
fanout_send(struct dctx *c, struct deployment *d, size_t b, bool again,
    struct errbuf *eb)
{
	struct fanout_sending	*ss;
	int			 ret = 0;

	if (fanout_send_start(c, d, b, again, &ss, eb) == -1)
		return -1;
	if (!fanout_sending_done(ss) && aws_pool_run(c->pool,
	    backend_queue_sends_left(ss->qs), -1, eb) == -1)
		ret = -1;
	fanout_send_end(ss);
	return ret;
}

/* Instances by name, for the documents a round reads. */
struct byname {
	const char	*name;
	size_t		 i;
};

struct fanout {
	struct changes	 ch;
	struct byname	*v;
	size_t		 n;
};

static int
cmp_byname(const void *a, const void *b)
{
	return strcmp(((const struct byname *)a)->name,
	    ((const struct byname *)b)->name);
}

void
fanout_bind(struct fanout *f, const struct deployment *d)
{
	free(f->v);
	f->v = xcalloc(d->ninst + 1, sizeof(*f->v));
	for (size_t i = 0; i < d->ninst; i++) {
		f->v[i].name = d->inst[i].name;
		f->v[i].i = i;
	}
	f->n = d->ninst;
	qsort(f->v, f->n, sizeof(*f->v), cmp_byname);
}

struct fanout *
fanout_new(const struct deployment *d, struct errbuf *eb)
{
	struct fanout	*f;
	char		*prefix, *slash;

	/* deployments/APP/GROUP/ID/instances/ */
	if ((prefix = store_key_deployment_instance(d->application, d->group,
	    d->id, "x", eb)) == NULL)
		return NULL;
	slash = strrchr(prefix, '/');
	slash[1] = '\0';
	f = xcalloc(1, sizeof(*f));
	changes_init(&f->ch, prefix);
	free(prefix);
	fanout_bind(f, d);
	return f;
}

void
fanout_free(struct fanout *f)
{
	if (f == NULL)
		return;
	changes_release(&f->ch);
	free(f->v);
	free(f);
}

/* One round's reader: the deployment and the index. */
struct round {
	struct fanout		*f;
	struct deployment	*d;
	bool			 timedout;	/* read TimedOut ones too */
};

/*
 * Whether di's document is still worth reading: sent and not final, or
 * (a status, not a rollout) timed out: a host that was down may have
 * answered since.
 */
static bool
inst_open(const struct dinst *di, bool timedout)
{
	if (di->state == IS_PENDING)
		return false;
	return !inst_final(di->state) ||
	    (timedout && di->state == IS_TIMEDOUT);
}

/* The instance of document "INSTANCE.json", or NULL. */
static struct dinst *
doc_instance(struct round *r, const char *doc)
{
	struct byname	 k, *hit;
	size_t		 len = strlen(doc), sl = strlen(JSON_SUFFIX);
	char		 name[256];

	if (len <= sl || len - sl >= sizeof(name) ||
	    strcmp(doc + len - sl, JSON_SUFFIX) != 0)
		return NULL;
	memcpy(name, doc, len - sl);
	name[len - sl] = '\0';
	memset(&k, 0, sizeof(k));
	k.name = name;
	hit = bsearch(&k, r->f->v, r->f->n, sizeof(*r->f->v), cmp_byname);
	return hit != NULL ? &r->d->inst[hit->i] : NULL;
}

/* Read only the documents of instances sent to and not final yet. */
static bool
want_doc(void *arg, const char *doc)
{
	struct round	*r = arg;
	struct dinst	*di = doc_instance(r, doc);

	return di != NULL && inst_open(di, r->timedout);
}

static void
got_doc(void *arg, const char *doc, const char *data, size_t len,
    const struct errbuf *eb)
{
	struct dinst	*di = doc_instance(arg, doc);

	/* Unreadable now (or unparseable): read again when it changes. */
	if (di == NULL || data == NULL)
		return;
	(void)progress_apply(di, data, len);
}

/* A document read directly (a small batch): keys[i] is instance idx[i]. */
struct direct {
	struct deployment	*d;
	const size_t		*idx;
};

static void
got_direct(void *arg, size_t i, const char *data, size_t len,
    const char *etag, const struct errbuf *eb)
{
	struct direct	*dr = arg;

	/* Missing: not written yet. */
	if (data != NULL)
		(void)progress_apply(&dr->d->inst[dr->idx[i]], data, len);
}

/*
 * A round for a batch with no more instances waiting than a listing
 * would take requests (OneAtATime in a big fleet): read their documents
 * directly.  0, or -1 with eb set.
 */
static int
poll_direct(struct dctx *c, struct deployment *d, size_t b, size_t open,
    struct fanout_stats *st, struct errbuf *eb)
{
	struct direct	 dr;
	char		**keys;
	size_t		*idx, n = 0;
	int		 ret = -1;

	keys = xcalloc(open + 1, sizeof(*keys));
	idx = xcalloc(open + 1, sizeof(*idx));
	for (size_t i = 0; i < d->ninst && n < open; i++) {
		struct dinst	*di = &d->inst[i];

		if ((b != FANOUT_ALL && di->batch != b) ||
		    !inst_open(di, b == FANOUT_ALL))
			continue;
		if ((keys[n] = store_key_deployment_instance(d->application,
		    d->group, d->id, di->name, eb)) == NULL)
			goto out;
		idx[n++] = i;
	}
	dr.d = d;
	dr.idx = idx;
	if (store_get_many(c->store, (const char *const *)keys, n,
	    STORE_OBJECT_MAX, got_direct, &dr, eb) == -1)
		goto out;
	if (st != NULL)
		st->fetched += n;
	ret = 0;
 out:
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(idx);
	return ret;
}

int
fanout_poll(struct dctx *c, struct fanout *f, struct deployment *d,
    size_t b, struct fanout_stats *st, struct errbuf *eb)
{
	struct changes_stats	 cs = { 0 };
	struct timespec		 t0;
	struct round		 r;
	size_t			 open = 0;
	int			 ret;

	for (size_t i = 0; i < d->ninst; i++)
		if ((b == FANOUT_ALL || d->inst[i].batch == b) &&
		    inst_open(&d->inst[i], b == FANOUT_ALL))
			open++;
	if (open == 0)
		return 0;
	/* A listing costs a request per 1,000 keys, a read one each. */
	if (open <= d->ninst / CHANGES_PAGE + 1)
		return poll_direct(c, d, b, open, st, eb);
	r.f = f;
	r.d = d;
	r.timedout = b == FANOUT_ALL;
	mono_now(&t0);
	ret = changes_poll(&f->ch, c->store, STORE_OBJECT_MAX, want_doc,
	    got_doc, &r, &cs, eb);
	log_debug("poll round: %lu listed, %lu read, %lu skipped in %lld ms",
	    cs.listed, cs.fetched + cs.failed, cs.skipped, mono_ms_since(&t0));
	if (st != NULL) {
		st->rounds += cs.rounds;
		st->listed += cs.listed;
		st->fetched += cs.fetched + cs.failed;
	}
	return ret;
}

static int
state_rank(enum inst_state s)
{
	switch (s) {
	case IS_PENDING:
		return 0;
	case IS_SENT:
		return 1;
	case IS_RUNNING:
		return 2;
	default:
		return 3;
	}
}

static void
dupfield(char **to, const char *from)
{
	free(*to);
	*to = from != NULL ? xstrdup(from) : NULL;
}

void
fanout_keep(struct deployment *to, const struct deployment *from)
{
	for (size_t i = 0; i < to->ninst && i < from->ninst; i++) {
		struct dinst		*t = &to->inst[i];
		const struct dinst	*f = &from->inst[i];
		int			 rt = state_rank(t->state);
		int			 rf = state_rank(f->state);

		if (strcmp(t->name, f->name) != 0 || rf < rt ||
		    (rf == rt && rf != 2))
			continue;
		t->state = f->state;
		dupfield(&t->event, f->event);
		dupfield(&t->script, f->script);
		dupfield(&t->message, f->message);
		dupfield(&t->tail, f->tail);
		t->started = f->started;
		t->finished = f->finished;
		t->refused = f->refused;
	}
}
