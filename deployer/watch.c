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

#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "gates.h"
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

/* The ELAPSED column: "12s", or "-" for an instance not started. */
void
elapsed_cell(const struct dinst *di, time_t now, char buf[16])
{
	if (di->started == 0)
		(void)strlcpy(buf, "-", 16);
	else
		(void)snprintf(buf, 16, "%lds", elapsed(di, now));
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
	/*
	 * From the start of the line: the cursor may not be there (the
	 * terminal's "^C" echo of an interrupt).
	 */
	if (drive_asked())
		v->drawn = 0;
	if (v->drawn > 0)
		printf("\r\033[%dA\033[J", v->drawn);
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
		char			 el[16];

		elapsed_cell(di, now, el);
		printf("%-24.24s %5zu  %-10s %-22.22s %7s\n", di->name,
		    di->batch + 1, inst_state_name(di->state),
		    di->event != NULL ? di->event : "-", el);
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

		/* Running: said once its event is known. */
		if (di->state == IS_PENDING || (di->state == IS_RUNNING &&
		    di->event == NULL))
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
 * Start sending the deployment's message to the instances of batch b,
 * all at once (fanout.c; wait_batch reads progress while they go out);
 * with 'again', only to those that have not answered yet (a batch a
 * driver that died had marked as sent: it may have died before
 * sending; a host that got the message twice runs it once).
 */
static int
send_batch(struct dctx *c, struct deployment *d, size_t b, bool again,
    struct fanout_sending **ret, struct errbuf *eb)
{
	return fanout_send_start(c, d, b, again, ret, eb);
}

/*
 * Record batch b as sent before sending it: a driver killed in between
 * leaves a batch that `resume` sends again to whoever has not answered,
 * never one that was sent and not recorded.
 */
static int
mark_batch(struct dctx *c, struct deployment *d, size_t b,
    struct errbuf *eb)
{
	time_t	 now;

	now = time(NULL);
	d->batch_sent[b] = now;
	for (size_t i = 0; i < d->ninst; i++)
		if (d->inst[i].batch == b && d->inst[i].state == IS_PENDING) {
			d->inst[i].state = IS_SENT;
			d->inst[i].started = now;
		}
	return deployment_save(c, d, eb);
}

static void
sleep_ms(unsigned ms)
{
	(void)poll(NULL, 0, (int)ms);
}

/*
 * Wait for batch b, whose sends (*sending) may still be going out: 0
 * when every instance succeeded, 1 when one failed or timed out, -1 on
 * a store error, or what drive_tick() said (DRIVE_LEAVE, DRIVE_LOST; a
 * stop is remembered in *stop and the batch is waited for all the same:
 * its hosts finish).  Once the sends have all ended, deployment.json
 * records who could not be reached; *sending is freed before returning
 * (sends not gone yet then are not sent: resume sends them).
 */
static int
wait_batch(struct dctx *c, struct deployment *d, size_t b, struct view *v,
    int *stop, struct fanout_sending **sending, struct errbuf *eb)
{
	time_t		 deadline = d->batch_sent[b] + (time_t)d->timeout;
	unsigned	 ms = dctx_poll_first_ms(c);
	unsigned long	 seen;
	bool		 done, failed;
	int		 t, ret;

	for (;;) {
		done = true;
		failed = false;
		seen = v->fst.fetched;
		/* One listing, then only the documents that changed. */
		if (fanout_poll(c, v->fan, d, b, &v->fst, eb) == -1) {
			ret = -1;
			goto out;
		}
		if (*sending != NULL && fanout_sending_done(*sending)) {
			fanout_send_end(*sending);
			*sending = NULL;
			/* Who could not be reached, on record. */
			if (deployment_save(c, d, eb) == -1) {
				ret = -1;
				goto out;
			}
		}
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
		if (done && *sending == NULL) {
			ret = failed ? 1 : 0;
			goto out;
		}
		t = drive_tick(c, d, eb);
		if (t == -1 || t == DRIVE_LEAVE || t == DRIVE_LOST) {
			ret = t;
			goto out;
		}
		if ((t == DRIVE_STOP || t == DRIVE_STOP_ROLLBACK) &&
		    *stop == 0) {
			*stop = t;
			printf("stop requested by %s: waiting for the %s of "
			    "batch %zu to finish\n", d->stopped_by != NULL ?
			    d->stopped_by : "?", "instances", b + 1);
			fflush(stdout);
			/* Below it (and the question): a new table. */
			v->drawn = 0;
		}
		/*
		 * Soon after the batch was sent, then backing off to the
		 * cap, and back down while documents keep coming in: a
		 * batch of one trivial deployment is seen done in tens of
		 * ms, a big one is read as its hosts answer (its last
		 * answer soon after it came), and an idle one is not listed
		 * every 10 ms.  The sends move on meanwhile.
		 */
		if (fanout_idle(c, ms, eb) == -1) {
			ret = -1;
			goto out;
		}
		if (v->fst.fetched != seen)
			ms = ms / 2 < dctx_poll_first_ms(c) ?
			    dctx_poll_first_ms(c) : ms / 2;
		else
			ms = ms * 2 > dctx_poll_ms(c) ? dctx_poll_ms(c) :
			    ms * 2;
	}
 out:
	fanout_send_end(*sending);
	*sending = NULL;
	return ret;
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
	    "%zu in progress, %zu pending\n", d->id,
	    (unsigned long long)d->sequence,
	    strcmp(d->status, "Succeeded") == 0 ? "succeeded" :
	    strcmp(d->status, "Failed") == 0 ? "failed" :
	    strcmp(d->status, "Stopped") == 0 ? "stopped" :
	    strcmp(d->status, "Superseded") == 0 ? "was superseded" :
	    "is in progress",
	    ok, failed, running, pending);
	if (d->reason != NULL && strcmp(d->status, "Stopped") == 0)
		dgates_print_reason("  stopped: ", d->reason);
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dinst	*di = &d->inst[i];

		if (di->state == IS_TIMEDOUT)
			printf("  %s: timed out: %s\n", di->name,
			    di->message != NULL ? di->message : "no answer");
		else if (di->state == IS_FAILED && di->event == NULL &&
		    di->message != NULL)
			/* Refused (Rejected, Skipped) or not sent. */
			printf("  %s: %s\n", di->name, di->message);
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

/* End d with status st, save it and print the summary. */
static int
finish(struct dctx *c, struct deployment *d, const char *st,
    struct errbuf *eb)
{
	char	 now[32];

	free(d->status);
	d->status = xstrdup(st);
	ts_now(now);
	free(d->finished_at);
	d->finished_at = xstrdup(now);
	if (deployment_save(c, d, eb) == -1)
		return -1;
	deployment_print(d, true);
	return 0;
}

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

/* The driver's side of a bake: lease renewals and stop requests. */
struct gate_drive {
	struct dctx		*c;
	struct deployment	*d;
	struct errbuf		*eb;
	int			 t;	/* drive_tick()'s first non-0 */
};

static void
gd_tick(void *arg)
{
	struct gate_drive	*gd = arg;

	if (gd->t == 0)
		gd->t = drive_tick(gd->c, gd->d, gd->eb);
}

static bool
gd_stopped(void *arg)
{
	return ((struct gate_drive *)arg)->t != 0;
}

/*
 * Roll d out from its first unsent batch.  Batches already sent are
 * waited for again (`deployer resume`), sent again only to instances
 * with no progress document yet (a host runs a deployment once).  The caller
 * holds the lease (drive.c).  Returns 0 succeeded, 1 failed or stopped
 * (d->status says which), -1 with eb set, DRIVE_LEAVE (interrupted, d
 * left in progress) or DRIVE_LOST (another driver took over).
 *
 * Rollout gates (gates.c): checked before the first batch (an
 * alarm in ALARM sends nothing), and while each batch but the last
 * bakes; a failed gate ends d Stopped "by the alarms gate" with
 * d->reason.  A rollback is not gated.  Notices go out for both.
 */
int
rollout_run(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, struct errbuf *eb)
{
	struct view		 v = { 0 };
	struct dgates		 dg = { 0 };
	struct gate_drive	 gd = { 0 };
	struct fanout_sending	*sending = NULL;
	struct gate_result	 gr;
	bool			 gate_failed = false;
	int			 r = 0, ret = -1, stop = 0, t;

	v.tty = isatty(STDOUT_FILENO) == 1;
	v.last = xcalloc(d->ninst + 1, sizeof(*v.last));
	if ((v.fan = fanout_new(d, eb)) == NULL)
		goto out;
	gd.c = c;
	gd.d = d;
	gd.eb = eb;
	if (d->nbatches > 0 && dgates_init(&dg, c, g, d,
	    d->rollback_of == NULL, eb) == -1)
		goto out;
	dg.stopped = gd_stopped;
	dg.tick = gd_tick;
	dg.arg = &gd;
	if (d->nbatches > 0 && d->batch_sent[0] == 0) {
		dgates_notify(&dg, "start", -1, "InProgress", NULL);
		if (dgates_check(&dg, "start", -1, &gr) == GATES_FAILED) {
			gate_failed = true;
			goto end;
		}
	}
	for (size_t b = 0; b < d->nbatches; b++) {
		if (d->batch_sent[b] == 0) {
			t = stop != 0 ? stop : drive_tick(c, d, eb);
			if (t == -1 || t == DRIVE_LEAVE || t == DRIVE_LOST) {
				ret = t;
				goto out;
			}
			if (t == DRIVE_STOP || t == DRIVE_STOP_ROLLBACK) {
				stop = t;
				break;
			}
			if (mark_batch(c, d, b, eb) == -1 ||
			    send_batch(c, d, b, false, &sending, eb) == -1)
				goto out;
		} else {
			/* Sent by a driver before this one (resume). */
			if (send_batch(c, d, b, true, &sending, eb) == -1)
				goto out;
		}
		r = wait_batch(c, d, b, &v, &stop, &sending, eb);
		if (r == -1 || r == DRIVE_LEAVE || r == DRIVE_LOST) {
			ret = r;
			goto out;
		}
		dgates_notify(&dg, "batch", (long)b, r == 1 ? "Failed" :
		    "Succeeded", NULL);
		if (r == 1)
			break;
		/* Bake, and check the gates before the next batch. */
		if (stop != 0 || b + 1 == d->nbatches ||
		    d->batch_sent[b + 1] != 0)
			continue;
		t = dgates_bake(&dg, (long)b, g->dc.bake, &gr);
		v.drawn = 0;	/* the bake printed below the table */
		if (gd.t == -1 || gd.t == DRIVE_LEAVE || gd.t == DRIVE_LOST) {
			ret = gd.t;
			goto out;
		}
		if (t == GATES_STOPPED || gd.t != 0) {
			stop = gd.t;
			break;
		}
		if (t == GATES_FAILED) {
			gate_failed = true;
			break;
		}
	}
 end:
	if (gate_failed) {
		dgates_failed(d, &gr);
		if (finish(c, d, "Stopped", eb) == -1)
			goto out;
		ret = 1;
		goto notify;
	}
	if (stop != 0) {
		d->stop_rollback = stop == DRIVE_STOP_ROLLBACK;
		if (finish(c, d, "Stopped", eb) == -1)
			goto out;
		printf("deployment %s stopped by %s\n", d->id,
		    d->stopped_by != NULL ? d->stopped_by : "?");
		ret = 1;
		goto notify;
	}
	if (r == 1) {
		free(d->reason);
		d->reason = failure_reason(d);
	}
	if (finish(c, d, r == 1 ? "Failed" : "Succeeded", eb) == -1)
		goto out;
	ret = r;
 notify:
	dgates_notify(&dg, "outcome", -1, d->status, d->reason);
 out:
	fflush(stdout);
	dgates_release(&dg);
	view_release(&v, d->ninst);
	return ret;
}

/*
 * Follow d until it ends without sending anything (`status --watch`):
 * 0 Succeeded, 1 Failed, Stopped or Superseded, -1 with eb (EK_TEMP
 * when nobody drives it).
 */
int
watch_only(struct dctx *c, struct deployment *d, struct errbuf *eb)
{
	struct deployment	 n;
	struct view		 v = { 0 };
	char			 what[512];
	time_t			 created, lastcheck = 0;
	unsigned		 ms = dctx_poll_first_ms(c);
	int			 ret = -1, r;

	v.tty = isatty(STDOUT_FILENO) == 1;
	v.last = xcalloc(d->ninst + 1, sizeof(*v.last));
	created = ts_parse(d->created_at);
	printf("watching deployment %s (sequence %llu) of %s to %s\n", d->id,
	    (unsigned long long)d->sequence, d->application, d->group);
	fflush(stdout);
	if ((v.fan = fanout_new(d, eb)) == NULL)
		goto out;
	for (;;) {
		if (deployment_load(c, d->group, d->id, &n, eb) == -1)
			goto out;
		if (n.ninst != d->ninst) {
			deployment_release(&n);
			errbuf_set(eb, EK_DATA, "deployment %s changed its "
			    "instances while watched", d->id);
			goto out;
		}
		/*
		 * Keep what we read of the instances; then one listing and
		 * the documents that changed since (fanout.c).
		 */
		fanout_keep(&n, d);
		fanout_bind(v.fan, &n);
		if (fanout_poll(c, v.fan, &n, FANOUT_ALL, NULL, eb) == -1) {
			deployment_release(&n);
			fanout_bind(v.fan, d);
			goto out;
		}
		deployment_release(d);
		*d = n;
		/* Also the changes of the last poll, before the summary. */
		view_update(&v, d);
		if (strcmp(d->status, "InProgress") != 0)
			break;
		if (time(NULL) - lastcheck >= 2) {
			lastcheck = time(NULL);
			if ((r = driver_describe(c, d, what, sizeof(what))) ==
			    -1) {
				errbuf_set(eb, EK_UNAVAIL, "%s", what);
				goto out;
			}
			if (r == 0 && created != 0 &&
			    time(NULL) - created > DEPLOYER_DRIVER_GRACE) {
				errbuf_set(eb, EK_TEMP, "deployment %s is in "
				    "progress with %s; continue it with "
				    "'deployer resume %s' or stop it with "
				    "'deployer stop %s'", d->id, what, d->id,
				    d->id);
				goto out;
			}
		}
		sleep_ms(ms);
		ms = ms * 2 > dctx_poll_ms(c) ? dctx_poll_ms(c) : ms * 2;
	}
	deployment_print(d, true);
	ret = strcmp(d->status, "Succeeded") == 0 ? 0 : 1;
	if (ret == 1) {
		outcome_line(c, d, what, sizeof(what));
		errbuf_set(eb, EK_FAILED, "%s", what);
	}
 out:
	fflush(stdout);
	view_release(&v, d->ninst);
	return ret;
}

/*
 * The last line for a deployment that did not succeed: how it ended and
 * how its rollback went ("deployment d-A failed; rollback d-B FAILED on
 * 1 of 3 instances").
 */
void
outcome_line(struct dctx *c, const struct deployment *d, char *buf,
    size_t bufsz)
{
	struct deployment	 rb = { 0 };
	struct errbuf		 eb = { 0 };
	size_t			 bad = 0;
	int			 n;

	n = snprintf(buf, bufsz, "deployment %s %s", d->id,
	    strcmp(d->status, "Failed") == 0 ? "failed" :
	    strcmp(d->status, "Stopped") == 0 ? "was stopped" :
	    strcmp(d->status, "Superseded") == 0 ? "was superseded" :
	    d->status);
	if (n < 0 || (size_t)n >= bufsz)
		return;
	if (d->stopped_by != NULL && strcmp(d->status, "Stopped") == 0)
		n += snprintf(buf + n, bufsz - (size_t)n, " by %s",
		    d->stopped_by);
	else if (d->superseded_by != NULL)
		n += snprintf(buf + n, bufsz - (size_t)n, " by %s",
		    d->superseded_by);
	if (n < 0 || (size_t)n >= bufsz || d->rolled_back_by == NULL)
		return;
	if (deployment_load(c, d->group, d->rolled_back_by, &rb, &eb) == -1) {
		(void)snprintf(buf + n, bufsz - (size_t)n, "; rollback %s: %s",
		    d->rolled_back_by, eb.msg);
		return;
	}
	for (size_t i = 0; i < rb.ninst; i++)
		if (rb.inst[i].state != IS_SUCCEEDED)
			bad++;
	if (strcmp(rb.status, "Succeeded") == 0)
		(void)snprintf(buf + n, bufsz - (size_t)n, "; rolled back by "
		    "%s", rb.id);
	else if (strcmp(rb.status, "InProgress") == 0)
		(void)snprintf(buf + n, bufsz - (size_t)n, "; rollback %s is "
		    "in progress", rb.id);
	else
		(void)snprintf(buf + n, bufsz - (size_t)n, "; rollback %s "
		    "FAILED on %zu of %zu instance%s", rb.id, bad, rb.ninst,
		    rb.ninst == 1 ? "" : "s");
	deployment_release(&rb);
}
