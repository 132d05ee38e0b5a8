/* SPDX-License-Identifier: ISC */
/*
 * watch.c: roll a deployment out batch by batch and show it.
 *
 * For each batch: send the message to each instance's queue (one
 * message per queue; an SQS SendMessageBatch only groups messages of one
 * queue, and every instance has its own), record the batch as sent in
 * deployment.json, then poll the store for the instances' progress
 * documents until each is final or the group's timeout passes (an
 * instance that has not answered by then counts as failed).  A failed
 * instance stops the rollout: no further batch is sent.  The final
 * status goes back into deployment.json.
 *
 * On a terminal the instances are a table redrawn in place; when they do
 * not fit, a summary line (succeeded, failed, running, pending, the rate
 * of outcomes and an ETA) and the rows that matter (failed, slowest
 * running, the first batch).  Elsewhere each change of an instance's
 * state or event is one line, for every instance.
 */
#include "compat.h"

#include <sys/ioctl.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "deployer.h"
#include "errbuf.h"
#include "queue.h"
#include "xalloc.h"

#include "banned.h"

#define VIEW_ROWS_DEFAULT	20	/* instance rows when not told */
#define VIEW_ROWS_MAX		40	/* ... at most, however tall */

struct view {
	bool		 tty;
	int		 drawn;		/* table lines on screen */
	char		**last;		/* per instance: "state event" shown */
	struct fanout	*fan;		/* the progress reader */
	struct fanout_stats fst;
};

static void
counts(const struct deployment *d, size_t *ok, size_t *failed,
    size_t *running, size_t *pending)
{
	*ok = *failed = *running = *pending = 0;
	for (size_t i = 0; i < d->ninst; i++) {
		switch (d->inst[i].state) {
		case IS_SUCCEEDED:
			(*ok)++;
			break;
		case IS_FAILED:
		case IS_TIMEDOUT:
			(*failed)++;
			break;
		case IS_SENT:
		case IS_RUNNING:
			(*running)++;
			break;
		case IS_PENDING:
			(*pending)++;
			break;
		}
	}
}

static long
elapsed(const struct dinst *di, time_t now)
{
	if (di->started == 0)
		return 0;
	return (long)((di->finished != 0 && inst_final(di->state) ?
	    di->finished : now) - di->started);
}

/* Table rows on this terminal: its height less the header and summary. */
static size_t
view_rows(void)
{
	struct winsize	 ws;
	size_t		 rows = VIEW_ROWS_DEFAULT;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		rows = ws.ws_row > 6 ? (size_t)ws.ws_row - 4 : 2;
	return rows > VIEW_ROWS_MAX ? VIEW_ROWS_MAX : rows;
}

/* For the slowest first: the earliest started. */
static const struct deployment *sort_d;

static int
cmp_started(const void *a, const void *b)
{
	time_t	x = sort_d->inst[*(const size_t *)a].started;
	time_t	y = sort_d->inst[*(const size_t *)b].started;

	return x < y ? -1 : x > y;
}

/*
 * The rows that matter when every instance does not fit: the failed,
 * then the slowest running, then the canary batch's (the first) not
 * final yet, at most max; their indices in ret, in that order.
 */
static size_t
view_pick(const struct deployment *d, size_t max, size_t *ret)
{
	size_t	 n = 0, nrun = 0, *run;
	bool	*taken;

	taken = xcalloc(d->ninst + 1, sizeof(*taken));
	run = xcalloc(d->ninst + 1, sizeof(*run));
	for (size_t i = 0; i < d->ninst && n < max; i++)
		if (d->inst[i].state == IS_FAILED ||
		    d->inst[i].state == IS_TIMEDOUT) {
			ret[n++] = i;
			taken[i] = true;
		}
	for (size_t i = 0; i < d->ninst; i++)
		if (d->inst[i].state == IS_SENT ||
		    d->inst[i].state == IS_RUNNING)
			run[nrun++] = i;
	sort_d = d;
	qsort(run, nrun, sizeof(*run), cmp_started);
	for (size_t k = 0; k < nrun && n < max; k++) {
		ret[n++] = run[k];
		taken[run[k]] = true;
	}
	for (size_t i = 0; i < d->ninst && n < max; i++)
		if (d->inst[i].batch == 0 && !taken[i] &&
		    !inst_final(d->inst[i].state))
			ret[n++] = i;
	free(run);
	free(taken);
	return n;
}

/*
 * The summary of a fleet too big for a table: counts, the rate of
 * outcomes since the first batch went, and when the rest should be in.
 */
static void
view_summary(const struct deployment *d, time_t now, char *buf, size_t len)
{
	size_t	 ok, failed, running, pending, done;
	double	 secs, rate;
	char	 eta[32] = "-";

	counts(d, &ok, &failed, &running, &pending);
	done = ok + failed;
	secs = d->nbatches > 0 && d->batch_sent[0] != 0 ?
	    difftime(now, d->batch_sent[0]) : 0;
	rate = secs > 0 ? (double)done / secs : 0;
	if (rate > 0 && done < d->ninst)
		(void)snprintf(eta, sizeof(eta), "%.0fs",
		    (double)(d->ninst - done) / rate);
	else if (done == d->ninst)
		(void)strlcpy(eta, "0s", sizeof(eta));
	(void)snprintf(buf, len, "%zu/%zu succeeded, %zu failed, %zu running, "
	    "%zu pending; %.1f/s, ETA %s", ok, d->ninst, failed, running,
	    pending, rate, eta);
}

/* Redraw the table on a terminal. */
static void
view_table(struct view *v, const struct deployment *d)
{
	size_t	 ok, failed, running, pending, rows, npick = 0;
	size_t	*pick = NULL;
	time_t	 now;

	now = time(NULL);
	if (v->drawn > 0)
		printf("\033[%dA\033[J", v->drawn);
	v->drawn = 0;
	rows = view_rows();
	if (d->ninst > rows) {
		/* A summary line and the rows that matter, not N rows. */
		char	 line[256];

		view_summary(d, now, line, sizeof(line));
		printf("%s\n", line);
		v->drawn++;
		pick = xcalloc(rows + 1, sizeof(*pick));
		npick = view_pick(d, rows, pick);
	}
	printf("%-24s %5s  %-10s %-22s %7s\n", "INSTANCE", "BATCH", "STATUS",
	    "EVENT", "ELAPSED");
	v->drawn++;
	for (size_t k = 0; k < (pick != NULL ? npick : d->ninst); k++) {
		const struct dinst	*di = &d->inst[pick != NULL ? pick[k] :
					    k];

		printf("%-24.24s %5zu  %-10s %-22.22s %6lds\n", di->name,
		    di->batch + 1, inst_state_name(di->state),
		    di->event != NULL ? di->event : "-", elapsed(di, now));
		v->drawn++;
	}
	if (pick != NULL) {
		printf("(%zu of %zu instances shown: failed, slowest running, "
		    "first batch)\n", npick, d->ninst);
		v->drawn++;
		free(pick);
		fflush(stdout);
		return;
	}
	counts(d, &ok, &failed, &running, &pending);
	printf("succeeded %zu, failed %zu, in progress %zu, pending %zu\n",
	    ok, failed, running, pending);
	v->drawn++;
	fflush(stdout);
}

/* One line per change elsewhere. */
static void
view_lines(struct view *v, const struct deployment *d)
{
	char	 cur[256], ts[32];
	time_t	 now;

	now = time(NULL);
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dinst	*di = &d->inst[i];

		if (di->state == IS_PENDING)
			continue;
		(void)snprintf(cur, sizeof(cur), "%s %s",
		    inst_state_name(di->state),
		    di->event != NULL ? di->event : "-");
		if (v->last[i] != NULL && strcmp(v->last[i], cur) == 0)
			continue;
		free(v->last[i]);
		v->last[i] = xstrdup(cur);
		ts_format(now, ts);
		printf("%s %s: %s%s%s (%lds)\n", ts + 11, di->name,
		    inst_state_name(di->state), di->event != NULL ? " " : "",
		    di->event != NULL ? di->event : "", elapsed(di, now));
	}
	fflush(stdout);
}

static void
view_update(struct view *v, const struct deployment *d)
{
	if (v->tty)
		view_table(v, d);
	else
		view_lines(v, d);
}

static void
view_release(struct view *v, size_t n)
{
	for (size_t i = 0; i < n && v->last != NULL; i++)
		free(v->last[i]);
	free(v->last);
	fanout_free(v->fan);
}

/*
 * Send the deployment's message to every instance of batch b, all at
 * once (fanout.c).
 */
static int
send_batch(struct dctx *c, struct deployment *d, size_t b, struct errbuf *eb)
{
	time_t	now = time(NULL);

	if (fanout_send(c, d, b, false, eb) == -1)
		return -1;
	d->batch_sent[b] = now;
	return 0;
}

static void
sleep_ms(unsigned ms)
{
	(void)poll(NULL, 0, (int)ms);
}

/*
 * Wait for batch b: 0 when every instance succeeded, 1 when one failed
 * or timed out, -1 on a store error.
 */
static int
wait_batch(struct dctx *c, struct deployment *d, size_t b, struct view *v,
    struct errbuf *eb)
{
	time_t		 deadline = d->batch_sent[b] + (time_t)d->timeout;
	unsigned	 ms = dctx_poll_first_ms(c);
	bool		 done, failed;

	for (;;) {
		done = true;
		failed = false;
		/* One listing, then only the documents that changed. */
		if (fanout_poll(c, v->fan, d, b, &v->fst, eb) == -1)
			return -1;
		for (size_t i = 0; i < d->ninst; i++) {
			struct dinst	*di = &d->inst[i];

			if (di->batch != b)
				continue;
			if (!inst_final(di->state) && time(NULL) >= deadline) {
				di->state = IS_TIMEDOUT;
				di->finished = time(NULL);
				free(di->message);
				di->message = xasprintf("no answer within %u s",
				    d->timeout);
			}
			done = done && inst_final(di->state);
			failed = failed || di->state == IS_FAILED ||
			    di->state == IS_TIMEDOUT;
		}
		view_update(v, d);
		if (done)
			return failed ? 1 : 0;
		/*
		 * Soon after the batch was sent, then backing off to the
		 * cap: a batch of one trivial deployment is seen done in
		 * tens of ms, and a big batch is not read every 10 ms.
		 */
		sleep_ms(ms);
		ms = ms * 2 > dctx_poll_ms(c) ? dctx_poll_ms(c) : ms * 2;
	}
}

/* Print the last DEPLOYER_TAIL_LINES lines of tail, indented. */
static void
print_tail(const char *tail)
{
	const char	*p, *start;
	int		 lines = 0;

	if (tail == NULL || *tail == '\0')
		return;
	p = tail + strlen(tail);
	if (p > tail && p[-1] == '\n')
		p--;
	start = p;
	while (start > tail) {
		if (start[-1] == '\n' && ++lines >= DEPLOYER_TAIL_LINES)
			break;
		start--;
	}
	while (start < p) {
		const char	*nl;
		size_t		 n;

		nl = memchr(start, '\n', (size_t)(p - start));
		n = nl != NULL ? (size_t)(nl - start) : (size_t)(p - start);
		printf("      | %.*s\n", (int)n, start);
		start += n + 1;
	}
}

/* The summary: counts, then each failed instance with its details. */
void
deployment_print(const struct deployment *d, bool details)
{
	size_t	 ok, failed, running, pending;

	counts(d, &ok, &failed, &running, &pending);
	printf("deployment %s (sequence %llu) %s: %zu succeeded, %zu failed, "
	    "%zu in progress, %zu not started\n", d->id,
	    (unsigned long long)d->sequence,
	    strcmp(d->status, "Succeeded") == 0 ? "succeeded" :
	    strcmp(d->status, "Failed") == 0 ? "failed" : "is in progress",
	    ok, failed, running, pending);
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dinst	*di = &d->inst[i];

		if (di->state == IS_TIMEDOUT)
			printf("  %s: timed out: %s\n", di->name,
			    di->message != NULL ? di->message : "no answer");
		else if (di->state == IS_FAILED) {
			printf("  %s: failed in %s: %s: %s\n", di->name,
			    di->event != NULL ? di->event : "-",
			    di->script != NULL ? di->script : "-",
			    di->message != NULL ? di->message : "-");
			if (details)
				print_tail(di->tail);
		}
	}
	fflush(stdout);
}

/*
 * Roll d out from its first unsent batch (batches already sent are
 * waited for again, so a later `status --watch` resumes).  With nowait,
 * return after sending the next batch.  Returns 0 succeeded (or sent),
 * 1 failed, -1 with eb set.  d's status is saved when it ends.
 */
int
rollout_run(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, bool nowait, struct errbuf *eb)
{
	struct view	 v = { 0 };
	char		 now[32];
	int		 r = 0, ret = -1;

	v.tty = isatty(STDOUT_FILENO) == 1;
	v.last = xcalloc(d->ninst + 1, sizeof(*v.last));
	if ((v.fan = fanout_new(d, eb)) == NULL)
		goto out;
	for (size_t b = 0; b < d->nbatches; b++) {
		if (d->batch_sent[b] == 0) {
			if (send_batch(c, d, b, eb) == -1 ||
			    deployment_save(c, d, eb) == -1)
				goto out;
			if (nowait) {
				printf("sent batch %zu of %zu of deployment "
				    "%s; follow it with 'deployer status %s "
				    "--watch'\n", b + 1, d->nbatches, d->id,
				    d->id);
				ret = 0;
				goto out;
			}
		}
		if ((r = wait_batch(c, d, b, &v, eb)) == -1)
			goto out;
		if (r == 1)
			break;
	}
	free(d->status);
	d->status = xstrdup(r == 1 ? "Failed" : "Succeeded");
	ts_now(now);
	free(d->finished_at);
	d->finished_at = xstrdup(now);
	if (deployment_save(c, d, eb) == -1)
		goto out;
	deployment_print(d, true);
	ret = r;
 out:
	view_release(&v, d->ninst);
	return ret;
}
