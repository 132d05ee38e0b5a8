/* SPDX-License-Identifier: ISC */
/*
 * gates.c: judging rollout gates, the bake loop, the record of results
 * and the notices (see gates.h).  No I/O: the caller's gate_ops do it.
 */
#include "compat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "aws/cloudwatch.h"
#include "config.h"
#include "errbuf.h"
#include "gates.h"
#include "proc.h"
#include "xalloc.h"

#include "banned.h"

#define NOTICE_SCHEMA	"hookd.notice/1"

const char *
gate_status_name(enum gate_status s)
{
	switch (s) {
	case GATE_OK:
		return "OK";
	case GATE_FAILED:
		return "FAILED";
	case GATE_IGNORED:
		return "IGNORED";
	}
	return "?";
}

/* Append printf output to r->reason (truncated quietly). */
static void
reason_add(struct gate_result *r, const char *fmt, ...) HOOKD_PRINTF(2, 3);

static void
reason_add(struct gate_result *r, const char *fmt, ...)
{
	size_t	 len = strlen(r->reason);
	va_list	 ap;

	if (len + 1 >= sizeof(r->reason))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(r->reason + len, sizeof(r->reason) - len, fmt, ap);
	va_end(ap);
}

static void
result_start(struct gate_result *r, const char *gate)
{
	r->gate = gate;
	r->status = GATE_OK;
	r->reason[0] = '\0';
}

void
gates_judge_alarms(const struct deployer_group *g, const struct cw_alarms *l,
    const struct errbuf *poll_err, struct gate_result *r)
{
	const struct cw_alarm	*a;
	enum gate_status	 unknown;

	result_start(r, "alarms");
	unknown = g->ignore_alarm_poll_failure ? GATE_IGNORED : GATE_FAILED;
	if (l == NULL) {
		r->status = unknown;
		reason_add(r, "cannot read the alarms: %s%s",
		    poll_err != NULL ? poll_err->msg : "unknown error",
		    unknown == GATE_IGNORED ?
		    " (ignore_alarm_poll_failure)" : "");
		return;
	}
	/* The first alarm in ALARM decides. */
	for (size_t i = 0; i < g->nalarms; i++) {
		a = cw_alarms_find(l, g->alarms[i]);
		if (a != NULL && strcmp(a->state, "ALARM") == 0) {
			r->status = GATE_FAILED;
			reason_add(r, "alarm %s is ALARM%s%s", a->name,
			    a->reason != NULL ? ": " : "",
			    a->reason != NULL ? a->reason : "");
			return;
		}
	}
	for (size_t i = 0; i < g->nalarms; i++)
		if (cw_alarms_find(l, g->alarms[i]) == NULL) {
			r->status = unknown;
			reason_add(r, "alarm %s does not exist%s",
			    g->alarms[i], unknown == GATE_IGNORED ?
			    " (ignore_alarm_poll_failure)" : "");
			return;
		}
	for (size_t i = 0; i < g->nalarms; i++) {
		a = cw_alarms_find(l, g->alarms[i]);
		reason_add(r, "%s%s %s", i > 0 ? ", " : "", a->name, a->state);
	}
}

void
gates_judge_health(const struct proc_result *pr, const struct errbuf *err,
    struct gate_result *r)
{
	char		 what[256];
	const char	*start, *end;
	size_t		 lines = 0;

	result_start(r, "health_check");
	if (pr == NULL) {
		r->status = GATE_FAILED;
		reason_add(r, "health_check could not run: %s",
		    err != NULL ? err->msg : "unknown error");
		return;
	}
	if (pr->outcome == PROC_EXITED && pr->status == 0) {
		reason_add(r, "exited 0");
		return;
	}
	r->status = GATE_FAILED;
	proc_result_describe(pr, "health_check", what, sizeof(what));
	reason_add(r, "health_check %s", what);
	/* The last lines of its output, without a final newline. */
	end = pr->tail + pr->taillen;
	while (end > pr->tail && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	start = end;
	while (start > pr->tail) {
		if (start[-1] == '\n' && ++lines == GATE_TAIL_LINES)
			break;
		start--;
	}
	if (end > start)
		reason_add(r, ":\n%.*s", (int)(end - start), start);
}

bool
gates_any(const struct deployer_group *g)
{
	return g->nalarms > 0 || g->health_check != NULL;
}

static void
result_done(const struct gate_ops *ops, struct gate_result *r,
    const char *phase, long batch)
{
	r->at = ops->now(ops->arg);
	r->phase = phase;
	r->batch = batch;
	if (ops->on_result != NULL)
		ops->on_result(ops->arg, r);
}

int
gates_check(const struct deployer_group *g, const struct gate_ops *ops,
    const char *phase, long batch, struct gate_result *ret_failed)
{
	struct gate_result	 r;
	struct cw_alarms	 l = { 0 };
	struct proc_result	*pr;
	struct errbuf		 eb = { 0 };

	if (g->nalarms > 0) {
		if (ops->alarms(ops->arg, (const char *const *)g->alarms,
		    g->nalarms, &l, &eb) == 0) {
			gates_judge_alarms(g, &l, NULL, &r);
			cw_alarms_release(&l);
		} else
			gates_judge_alarms(g, NULL, &eb, &r);
		result_done(ops, &r, phase, batch);
		if (r.status == GATE_FAILED) {
			*ret_failed = r;
			return GATES_FAILED;
		}
	}
	if (g->health_check != NULL) {
		pr = xcalloc(1, sizeof(*pr));
		errbuf_clear(&eb);
		if (ops->health(ops->arg, g->health_check, pr, &eb) == 0)
			gates_judge_health(pr, NULL, &r);
		else
			gates_judge_health(NULL, &eb, &r);
		free(pr);
		result_done(ops, &r, phase, batch);
		if (r.status == GATE_FAILED) {
			*ret_failed = r;
			return GATES_FAILED;
		}
	}
	return GATES_PASSED;
}

int
gates_bake(const struct deployer_group *g, unsigned seconds,
    const struct gate_ops *ops, long batch, struct gate_result *ret_failed)
{
	time_t	 deadline, t;
	time_t	(*clock)(void *) = ops->mono != NULL ? ops->mono : ops->now;
	unsigned interval = g->gate_interval > 0 ? g->gate_interval :
		    GATE_INTERVAL_DEFAULT;

	deadline = clock(ops->arg) + (time_t)seconds;
	for (;;) {
		if (ops->stopped != NULL && ops->stopped(ops->arg))
			return GATES_STOPPED;
		if (gates_check(g, ops, "bake", batch, ret_failed) ==
		    GATES_FAILED)
			return GATES_FAILED;
		if ((t = clock(ops->arg)) >= deadline)
			return GATES_PASSED;
		ops->sleep(ops->arg, deadline - t < (time_t)interval ?
		    (unsigned)(deadline - t) : interval);
	}
}

static void
ts(time_t t, char buf[32])
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)strlcpy(buf, "1970-01-01T00:00:00Z", 32);
}

static bool
same_str(const json_t *o, const char *key, const char *v)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL && v != NULL && strcmp(s, v) == 0;
}

void
gates_log_add(json_t *log, const struct gate_result *r)
{
	json_t		*e, *last = NULL;
	char		 at[32];
	size_t		 n = json_array_size(log);

	ts(r->at, at);
	/* The newest entry of the same gate. */
	for (size_t i = n; i > 0; i--)
		if (same_str(json_array_get(log, i - 1), "gate", r->gate)) {
			last = json_array_get(log, i - 1);
			break;
		}
	if (last != NULL &&
	    same_str(last, "result", gate_status_name(r->status)) &&
	    same_str(last, "reason", r->reason) &&
	    same_str(last, "phase", r->phase) &&
	    json_integer_value(json_object_get(last, "batch")) == r->batch) {
		json_object_set_new(last, "at", json_string(at));
		json_object_set_new(last, "checks", json_integer(
		    json_integer_value(json_object_get(last, "checks")) + 1));
		return;
	}
	e = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:i}",
	    "gate", r->gate, "result", gate_status_name(r->status),
	    "reason", r->reason, "phase", r->phase != NULL ? r->phase : "",
	    "batch", (json_int_t)r->batch, "at", at, "first_at", at,
	    "checks", 1);
	if (e == NULL)
		abort();
	while (json_array_size(log) >= GATES_LOG_MAX)
		json_array_remove(log, 0);
	json_array_append_new(log, e);
}

char *
gates_summary(const json_t *log)
{
	static const char *const gates[] = { "alarms", "health_check" };
	const json_t	*e;
	char		 buf[256] = "";
	size_t		 len = 0;

	for (size_t g = 0; g < nitems(gates); g++)
		for (size_t i = json_array_size(log); i > 0; i--) {
			e = json_array_get(log, i - 1);
			if (!same_str(e, "gate", gates[g]))
				continue;
			len += (size_t)snprintf(buf + len, len < sizeof(buf) ?
			    sizeof(buf) - len : 0, "%s%s %s", len > 0 ? ", " :
			    "", gates[g], json_string_value(json_object_get(e,
			    "result")));
			break;
		}
	return len == 0 ? NULL : xstrdup(buf);
}

char *
gates_notice_json(const struct gate_notice *n)
{
	json_t	*o;
	char	*s;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:I}",
	    "schema", NOTICE_SCHEMA, "event", n->event,
	    "deployment_id", n->deployment_id, "application", n->application,
	    "group", n->group, "outcome", n->outcome, "revision", n->revision,
	    "reason", n->reason, "instances", (json_int_t)n->instances);
	if (o == NULL)
		abort();
	if (n->batch >= 0) {
		/* Batches are counted from 1 where people read them. */
		json_object_set_new(o, "batch", json_integer(n->batch + 1));
		json_object_set_new(o, "batches",
		    json_integer((json_int_t)n->nbatches));
	}
	if (n->rollback_of != NULL)
		json_object_set_new(o, "rollback_of",
		    json_string(n->rollback_of));
	if ((s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT)) == NULL)
		abort();
	json_decref(o);
	return s;
}

void
gates_notice_subject(const struct gate_notice *n, char *subject,
    size_t len)
{
	char	 buf[256];
	size_t	 i, k = 0;

	if (n->batch >= 0)
		(void)snprintf(buf, sizeof(buf), "hookd %s/%s %s: batch %ld "
		    "of %zu %s", n->application, n->group, n->deployment_id,
		    n->batch + 1, n->nbatches, n->outcome);
	else
		(void)snprintf(buf, sizeof(buf), "hookd %s/%s %s: %s",
		    n->application, n->group, n->deployment_id,
		    strcmp(n->event, "start") == 0 ? "started" : n->outcome);
	/* SNS: at most 99 printable ASCII characters. */
	for (i = 0; buf[i] != '\0' && k + 1 < len && k < 99; i++)
		if ((unsigned char)buf[i] >= 0x20 &&
		    (unsigned char)buf[i] < 0x7f)
			subject[k++] = buf[i];
	if (len > 0)
		subject[k] = '\0';
}
