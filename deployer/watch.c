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
 * On a terminal the instances are a table redrawn in place; elsewhere
 * each change of an instance's state or event is one line.
 */
#include "compat.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "gates.h"
#include "queue.h"
#include "xalloc.h"

#include "banned.h"

struct view {
	bool		 tty;
	int		 drawn;		/* table lines on screen */
	char		**last;		/* per instance: "state event" shown */
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

/* Redraw the table on a terminal. */
static void
view_table(struct view *v, const struct deployment *d)
{
	size_t	 ok, failed, running, pending;
	time_t	 now;

	now = time(NULL);
	if (v->drawn > 0)
		printf("\033[%dA\033[J", v->drawn);
	v->drawn = 0;
	printf("%-24s %5s  %-10s %-22s %7s\n", "INSTANCE", "BATCH", "STATUS",
	    "EVENT", "ELAPSED");
	v->drawn++;
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dinst	*di = &d->inst[i];

		printf("%-24.24s %5zu  %-10s %-22.22s %6lds\n", di->name,
		    di->batch + 1, inst_state_name(di->state),
		    di->event != NULL ? di->event : "-", elapsed(di, now));
		v->drawn++;
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
}

/* Send the deployment's message to every instance of batch b. */
static int
send_batch(struct dctx *c, struct deployment *d, size_t b, struct errbuf *eb)
{
	struct queue	*q = NULL;
	char		*body;
	time_t		 now;

	now = time(NULL);
	if (d->message == NULL)
		return errbuf_set(eb, EK_DATA, "deployment %s has no message",
		    d->id);
	body = json_dumps(d->message, JSON_COMPACT | JSON_SORT_KEYS);
	if (body == NULL)
		return errbuf_set(eb, EK_BUG, "cannot serialise the message");
	for (size_t i = 0; i < d->ninst; i++) {
		struct dinst	*di = &d->inst[i];

		if (di->batch != b)
			continue;
		if (di->queue == NULL ||
		    dctx_queue_open(c, di->queue, &q, eb) == -1 ||
		    queue_send(q, body, strlen(body), eb) == -1) {
			/* An instance we cannot reach fails, others go on. */
			di->state = IS_FAILED;
			free(di->message);
			di->message = xasprintf("cannot send to queue '%s': %s",
			    di->queue != NULL ? di->queue : "?",
			    di->queue != NULL ? eb->msg : "unknown");
			di->finished = now;
			di->started = now;
		} else {
			di->state = IS_SENT;
			di->started = now;
		}
		queue_free(q);
		q = NULL;
	}
	free(body);
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
		for (size_t i = 0; i < d->ninst; i++) {
			struct dinst	*di = &d->inst[i];

			if (di->batch != b)
				continue;
			if (!inst_final(di->state)) {
				if (progress_read(c, d, di, eb) == -1)
					return -1;
			}
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
	    strcmp(d->status, "Failed") == 0 ? "failed" :
	    strcmp(d->status, "Stopped") == 0 ? "stopped" : "is in progress",
	    ok, failed, running, pending);
	if (d->reason != NULL && strcmp(d->status, "Stopped") == 0)
		dgates_print_reason("  stopped: ", d->reason);
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
/* The first failed instance in words, for the notice; new string. */
static char *
failure_reason(const struct deployment *d)
{
	for (size_t i = 0; i < d->ninst; i++)
		if (d->inst[i].state == IS_FAILED ||
		    d->inst[i].state == IS_TIMEDOUT)
			return xasprintf("%s %s: %s", d->inst[i].name,
			    d->inst[i].state == IS_TIMEDOUT ? "timed out" :
			    "failed", d->inst[i].message != NULL ?
			    d->inst[i].message : "-");
	return NULL;
}

int
rollout_run(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, bool nowait, struct errbuf *eb)
{
	struct view	 v = { 0 };
	struct dgates	 dg = { 0 };
	struct gate_result gr;
	char		 now[32];
	bool		 gated, notifying, stopped = false;
	int		 r = 0, ret = -1;

	v.tty = isatty(STDOUT_FILENO) == 1;
	v.last = xcalloc(d->ninst + 1, sizeof(*v.last));
	/*
	 * Rollout gates (#22): not for a rollback, not when not driving;
	 * notices for both.
	 */
	notifying = !nowait && d->nbatches > 0;
	gated = notifying && d->rollback_of == NULL;
	if (notifying && dgates_init(&dg, c, g, d, gated, eb) == -1)
		goto out;
	if (notifying && d->batch_sent[0] == 0) {
		dgates_notify(&dg, "start", -1, "InProgress", NULL);
		/* An alarm already in ALARM: nothing is sent. */
		if (dgates_check(&dg, "start", -1, &gr) == GATES_FAILED) {
			stopped = true;
			goto end;
		}
	}
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
		if (notifying)
			dgates_notify(&dg, "batch", (long)b, r == 1 ? "Failed" :
			    "Succeeded", NULL);
		if (r == 1)
			break;
		/* Bake, and check the gates before the next batch. */
		if (gated && b + 1 < d->nbatches && d->batch_sent[b + 1] == 0) {
			r = dgates_bake(&dg, (long)b, &gr);
			/* The bake printed below the table: a new one. */
			v.drawn = 0;
			if (r != GATES_PASSED) {
				r = 0;
				stopped = true;
				break;
			}
		}
	}
 end:
	free(d->status);
	d->status = xstrdup(stopped ? "Stopped" : r == 1 ? "Failed" :
	    "Succeeded");
	free(d->reason);
	d->reason = stopped ? xasprintf("%s", gr.reason) : r == 1 ?
	    failure_reason(d) : NULL;
	ts_now(now);
	free(d->finished_at);
	d->finished_at = xstrdup(now);
	if (deployment_save(c, d, eb) == -1)
		goto out;
	deployment_print(d, true);
	if (notifying)
		dgates_notify(&dg, "outcome", -1, d->status, d->reason);
	ret = stopped ? 1 : r;
 out:
	dgates_release(&dg);
	view_release(&v, d->ninst);
	return ret;
}
