/* SPDX-License-Identifier: ISC */
/*
 * test_gates: lib/gates.c.  Judging alarms (ALARM stops, the alarm's
 * name and reason in the result; INSUFFICIENT_DATA does not; a failed
 * poll or an unknown alarm stops unless ignore_alarm_poll_failure) and
 * health checks (real processes through proc_run(): exit status and the
 * last lines); the bake loop on a simulated clock (checks at once, every
 * gate_interval and at the end; a gate that fails mid-bake ends it
 * there; a stop ends it); the record of results (repeats folded) and
 * its summary; the SNS notice and subject.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "aws/cloudwatch.h"
#include "config.h"
#include "errbuf.h"
#include "gates.h"
#include "proc.h"
#include "xalloc.h"

/* A group with alarms a, b and, when hc, a health_check. */
static void
group_init(struct deployer_group *g, bool hc)
{
	static char	 a1[] = "web-5xx", a2[] = "web-p99";
	static char	 prog[] = "/bin/true", name[] = "production";
	static char	*alarms[] = { a1, a2, NULL };
	static char	*argv[] = { prog, NULL };

	memset(g, 0, sizeof(*g));
	g->name = name;
	g->alarms = alarms;
	g->nalarms = 2;
	g->health_check = hc ? argv : NULL;
	g->nhealth_check = hc ? 1 : 0;
	g->gate_interval = 10;
}

static void
alarms_set(struct cw_alarms *l, const char *s1, const char *s2)
{
	memset(l, 0, sizeof(*l));
	l->v = xcalloc(2, sizeof(*l->v));
	l->v[0].name = xstrdup("web-5xx");
	l->v[0].state = xstrdup(s1);
	l->v[0].reason = xstrdup("Threshold Crossed: 7 > 1");
	l->n = 1;
	if (s2 != NULL) {
		l->v[1].name = xstrdup("web-p99");
		l->v[1].state = xstrdup(s2);
		l->n = 2;
	}
}

static void
judge_alarms_states(void **state)
{
	struct deployer_group	 g;
	struct cw_alarms	 l;
	struct gate_result	 r;
	struct errbuf		 eb = { 0 };

	group_init(&g, false);
	alarms_set(&l, "OK", "INSUFFICIENT_DATA");
	gates_judge_alarms(&g, &l, NULL, &r);
	assert_int_equal(r.status, GATE_OK);
	assert_string_equal(r.gate, "alarms");
	assert_string_equal(r.reason, "web-5xx OK, web-p99 INSUFFICIENT_DATA");
	cw_alarms_release(&l);

	alarms_set(&l, "ALARM", "OK");
	gates_judge_alarms(&g, &l, NULL, &r);
	assert_int_equal(r.status, GATE_FAILED);
	assert_string_equal(r.reason, "alarm web-5xx is ALARM: Threshold "
	    "Crossed: 7 > 1");
	/* ALARM decides even when ignoring poll failures. */
	g.ignore_alarm_poll_failure = true;
	gates_judge_alarms(&g, &l, NULL, &r);
	assert_int_equal(r.status, GATE_FAILED);
	cw_alarms_release(&l);

	/* An alarm CloudWatch does not know. */
	alarms_set(&l, "OK", NULL);
	g.ignore_alarm_poll_failure = false;
	gates_judge_alarms(&g, &l, NULL, &r);
	assert_int_equal(r.status, GATE_FAILED);
	assert_string_equal(r.reason, "alarm web-p99 does not exist");
	g.ignore_alarm_poll_failure = true;
	gates_judge_alarms(&g, &l, NULL, &r);
	assert_int_equal(r.status, GATE_IGNORED);
	cw_alarms_release(&l);

	errbuf_set(&eb, EK_UNAVAIL, "cloudwatch DescribeAlarms: cannot "
	    "connect");
	g.ignore_alarm_poll_failure = false;
	gates_judge_alarms(&g, NULL, &eb, &r);
	assert_int_equal(r.status, GATE_FAILED);
	assert_string_equal(r.reason, "cannot read the alarms: cloudwatch "
	    "DescribeAlarms: cannot connect");
	g.ignore_alarm_poll_failure = true;
	gates_judge_alarms(&g, NULL, &eb, &r);
	assert_int_equal(r.status, GATE_IGNORED);
	assert_string_equal(gate_status_name(r.status), "IGNORED");
}

/* Run sh -c script through proc_run() and judge it. */
static void
judge_script(const char *script, struct gate_result *r)
{
	char			 sh[] = "sh", c[] = "-c";
	char			 path[] = "PATH=/usr/bin:/bin";
	char			*argv[] = { sh, c, (char *)(uintptr_t)script,
				    NULL };
	char			*envp[] = { path, NULL };
	struct proc_spec	 spec = { 0 };
	struct proc_result	 pr;
	struct errbuf		 eb = { 0 };

	spec.path = "/bin/sh";
	spec.argv = argv;
	spec.envp = envp;
	spec.cwd = "/";
	spec.timeout_sec = 10;
	assert_int_equal(proc_run(&spec, &pr, &eb), 0);
	gates_judge_health(&pr, NULL, r);
}

static void
judge_health_status_and_last_lines(void **state)
{
	struct gate_result	 r;
	struct errbuf		 eb = { 0 };

	judge_script("echo fine", &r);
	assert_int_equal(r.status, GATE_OK);
	assert_string_equal(r.gate, "health_check");
	judge_script("for i in 1 2 3 4 5 6 7; do echo line $i; done; "
	    "echo 'HTTP 503' >&2; exit 3", &r);
	assert_int_equal(r.status, GATE_FAILED);
	assert_string_equal(r.reason, "health_check exited 3:\nline 4\n"
	    "line 5\nline 6\nline 7\nHTTP 503");
	judge_script("kill -9 $$", &r);
	assert_int_equal(r.status, GATE_FAILED);
	assert_non_null(strstr(r.reason, "signal 9"));
	errbuf_set(&eb, EK_OS, "fork: Resource temporarily unavailable");
	gates_judge_health(NULL, &eb, &r);
	assert_int_equal(r.status, GATE_FAILED);
	assert_string_equal(r.reason, "health_check could not run: fork: "
	    "Resource temporarily unavailable");
}

/* The simulated world of the bake tests. */
struct world {
	time_t		 t;
	time_t		 alarm_at;	/* web-5xx goes ALARM then; 0 never */
	time_t		 sick_at;	/* health fails from then; 0 never */
	time_t		 stop_at;	/* stopped() from then; 0 never */
	bool		 poll_fails;
	int		 alarm_calls, health_calls, sleeps;
	json_t		*log;
};

static int
w_alarms(void *arg, const char *const *names, size_t n, struct cw_alarms *ret,
    struct errbuf *eb)
{
	struct world	*w = arg;

	w->alarm_calls++;
	assert_int_equal(n, 2);
	assert_string_equal(names[1], "web-p99");
	if (w->poll_fails)
		return errbuf_set(eb, EK_UNAVAIL, "cloudwatch DescribeAlarms: "
		    "cannot connect to 127.0.0.1:9");
	alarms_set(ret, w->alarm_at != 0 && w->t >= w->alarm_at ? "ALARM" :
	    "OK", "OK");
	return 0;
}

static int
w_health(void *arg, char *const *argv, struct proc_result *ret,
    struct errbuf *eb)
{
	struct world	*w = arg;

	w->health_calls++;
	assert_string_equal(argv[0], "/bin/true");
	memset(ret, 0, sizeof(*ret));
	ret->outcome = PROC_EXITED;
	ret->status = w->sick_at != 0 && w->t >= w->sick_at ? 1 : 0;
	return 0;
}

static time_t
w_now(void *arg)
{
	return ((struct world *)arg)->t;
}

static void
w_sleep(void *arg, unsigned sec)
{
	struct world	*w = arg;

	assert_true(sec > 0);
	w->t += sec;
	w->sleeps++;
}

static bool
w_stopped(void *arg)
{
	struct world	*w = arg;

	return w->stop_at != 0 && w->t >= w->stop_at;
}

static void
w_result(void *arg, const struct gate_result *r)
{
	gates_log_add(((struct world *)arg)->log, r);
}

/* The bake's clock: another origin than the results' wall clock. */
static time_t
w_mono(void *arg)
{
	return ((struct world *)arg)->t - 990;
}

static void
world_init(struct world *w, struct gate_ops *ops)
{
	memset(w, 0, sizeof(*w));
	memset(ops, 0, sizeof(*ops));
	w->t = 1000;
	w->log = json_array();
	ops->alarms = w_alarms;
	ops->health = w_health;
	ops->now = w_now;
	ops->mono = w_mono;
	ops->sleep = w_sleep;
	ops->stopped = w_stopped;
	ops->on_result = w_result;
	ops->arg = w;
}

static void
bake_checks_every_interval_until_the_end(void **state)
{
	struct deployer_group	 g;
	struct gate_ops		 ops;
	struct gate_result	 r;
	struct world		 w;
	json_t			*e;
	char			*sum;

	group_init(&g, true);
	world_init(&w, &ops);
	assert_int_equal(gates_bake(&g, 125, &ops, 0, &r), GATES_PASSED);
	/* At 0, 10, ..., 120, and 125 when the bake ends. */
	assert_int_equal(w.alarm_calls, 14);
	assert_int_equal(w.health_calls, 14);
	assert_int_equal(w.t, 1125);
	/* Folded: one entry per gate. */
	assert_int_equal(json_array_size(w.log), 2);
	e = json_array_get(w.log, 0);
	assert_string_equal(json_string_value(json_object_get(e, "gate")),
	    "alarms");
	assert_int_equal(json_integer_value(json_object_get(e, "checks")),
	    14);
	assert_string_equal(json_string_value(json_object_get(e, "phase")),
	    "bake");
	assert_int_equal(json_integer_value(json_object_get(e, "batch")), 0);
	assert_string_equal(json_string_value(json_object_get(e, "first_at")),
	    "1970-01-01T00:16:40Z");
	assert_string_equal(json_string_value(json_object_get(e, "at")),
	    "1970-01-01T00:18:45Z");
	sum = gates_summary(w.log);
	assert_string_equal(sum, "alarms OK, health_check OK");
	free(sum);
	json_decref(w.log);
}

static void
bake_stops_at_the_first_failed_gate(void **state)
{
	struct deployer_group	 g;
	struct gate_ops		 ops;
	struct gate_result	 r;
	struct world		 w;
	char			*sum;

	group_init(&g, true);
	world_init(&w, &ops);
	w.alarm_at = 1035;
	assert_int_equal(gates_bake(&g, 120, &ops, 0, &r), GATES_FAILED);
	/* Checked at 0..30 OK, then ALARM at 40: no health check then. */
	assert_int_equal(w.t, 1040);
	assert_int_equal(w.alarm_calls, 5);
	assert_int_equal(w.health_calls, 4);
	assert_int_equal(r.status, GATE_FAILED);
	assert_string_equal(r.gate, "alarms");
	assert_string_equal(r.phase, "bake");
	assert_int_equal(r.at, 1040);
	assert_non_null(strstr(r.reason, "web-5xx is ALARM"));
	assert_int_equal(json_array_size(w.log), 3);
	sum = gates_summary(w.log);
	assert_string_equal(sum, "alarms FAILED, health_check OK");
	free(sum);
	json_decref(w.log);

	/* A health check that starts failing after the canary. */
	world_init(&w, &ops);
	w.sick_at = 1020;
	assert_int_equal(gates_bake(&g, 60, &ops, 1, &r), GATES_FAILED);
	assert_int_equal(w.t, 1020);
	assert_string_equal(r.gate, "health_check");
	assert_int_equal(r.batch, 1);
	assert_string_equal(r.reason, "health_check exited 1");
	json_decref(w.log);
}

static void
bake_poll_failure_stops_unless_ignored(void **state)
{
	struct deployer_group	 g;
	struct gate_ops		 ops;
	struct gate_result	 r;
	struct world		 w;

	group_init(&g, false);
	world_init(&w, &ops);
	w.poll_fails = true;
	assert_int_equal(gates_bake(&g, 30, &ops, 0, &r), GATES_FAILED);
	assert_int_equal(w.alarm_calls, 1);
	assert_non_null(strstr(r.reason, "cannot connect to 127.0.0.1:9"));
	json_decref(w.log);

	g.ignore_alarm_poll_failure = true;
	world_init(&w, &ops);
	w.poll_fails = true;
	assert_int_equal(gates_bake(&g, 30, &ops, 0, &r), GATES_PASSED);
	assert_int_equal(w.alarm_calls, 4);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(w.log, 0), "result")), "IGNORED");
	json_decref(w.log);
}

static void
bake_ends_on_stop_and_zero_is_one_check(void **state)
{
	struct deployer_group	 g;
	struct gate_ops		 ops;
	struct gate_result	 r;
	struct world		 w;

	group_init(&g, false);
	world_init(&w, &ops);
	w.stop_at = 1025;
	assert_int_equal(gates_bake(&g, 120, &ops, 0, &r), GATES_STOPPED);
	assert_int_equal(w.t, 1030);
	assert_int_equal(w.alarm_calls, 3);
	json_decref(w.log);

	world_init(&w, &ops);
	assert_int_equal(gates_bake(&g, 0, &ops, 0, &r), GATES_PASSED);
	assert_int_equal(w.alarm_calls, 1);
	assert_int_equal(w.sleeps, 0);
	json_decref(w.log);

	/* No gate at all: the bake only waits. */
	g.nalarms = 0;
	world_init(&w, &ops);
	assert_false(gates_any(&g));
	assert_int_equal(gates_bake(&g, 25, &ops, 0, &r), GATES_PASSED);
	assert_int_equal(w.t, 1025);
	assert_int_equal(w.alarm_calls, 0);
	assert_int_equal(json_array_size(w.log), 0);
	assert_null(gates_summary(w.log));
	json_decref(w.log);
}

static void
log_folds_repeats_and_keeps_changes(void **state)
{
	struct gate_result	 r = { 0 };
	json_t			*log = json_array();

	r.gate = "alarms";
	r.phase = "start";
	r.batch = -1;
	(void)strlcpy(r.reason, "web-5xx OK", sizeof(r.reason));
	gates_log_add(log, &r);
	r.phase = "bake";
	r.batch = 0;
	gates_log_add(log, &r);
	gates_log_add(log, &r);
	r.status = GATE_FAILED;
	gates_log_add(log, &r);
	assert_int_equal(json_array_size(log), 3);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(log, 1), "checks")), 2);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(log, 0), "batch")), -1);
	/* Bounded: the oldest go. */
	for (int i = 0; i < GATES_LOG_MAX + 10; i++) {
		r.batch = i;
		gates_log_add(log, &r);
	}
	assert_int_equal(json_array_size(log), GATES_LOG_MAX);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(log, GATES_LOG_MAX - 1), "batch")),
	    GATES_LOG_MAX + 9);
	json_decref(log);
}

static void
notice_json_and_subject(void **state)
{
	struct gate_notice	 n = { 0 };
	json_t			*j;
	json_error_t		 je;
	char			*s, subj[128];

	n.event = "outcome";
	n.deployment_id = "d-0123456789abcdef";
	n.application = "web";
	n.group = "production";
	n.revision = "0a1b2c3d";
	n.outcome = "Stopped";
	n.reason = "alarm web-5xx is ALARM: \"Threshold\"";
	n.batch = -1;
	n.instances = 3;
	s = gates_notice_json(&n);
	assert_non_null(j = json_loads(s, 0, &je));
	assert_string_equal(json_string_value(json_object_get(j, "schema")),
	    "hookd.notice/1");
	assert_string_equal(json_string_value(json_object_get(j, "outcome")),
	    "Stopped");
	assert_string_equal(json_string_value(json_object_get(j, "reason")),
	    n.reason);
	assert_string_equal(json_string_value(json_object_get(j,
	    "deployment_id")), n.deployment_id);
	assert_null(json_object_get(j, "batch"));
	json_decref(j);
	free(s);
	gates_notice_subject(&n, subj, sizeof(subj));
	assert_string_equal(subj, "hookd web/production d-0123456789abcdef: "
	    "Stopped");

	n.event = "batch";
	n.batch = 0;
	n.nbatches = 3;
	n.outcome = "Succeeded";
	n.reason = NULL;
	s = gates_notice_json(&n);
	assert_non_null(j = json_loads(s, 0, &je));
	assert_int_equal(json_integer_value(json_object_get(j, "batch")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "batches")), 3);
	assert_true(json_is_null(json_object_get(j, "reason")));
	json_decref(j);
	free(s);
	gates_notice_subject(&n, subj, sizeof(subj));
	assert_string_equal(subj, "hookd web/production d-0123456789abcdef: "
	    "batch 1 of 3 Succeeded");
	n.group = "a-very-long-group-name-that-goes-on-and-on-and-on-and-on-"
	    "and-on-and-on";
	gates_notice_subject(&n, subj, sizeof(subj));
	assert_int_equal(strlen(subj), 99);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(judge_alarms_states),
		cmocka_unit_test(judge_health_status_and_last_lines),
		cmocka_unit_test(bake_checks_every_interval_until_the_end),
		cmocka_unit_test(bake_stops_at_the_first_failed_gate),
		cmocka_unit_test(bake_poll_failure_stops_unless_ignored),
		cmocka_unit_test(bake_ends_on_stop_and_zero_is_one_check),
		cmocka_unit_test(log_folds_repeats_and_keeps_changes),
		cmocka_unit_test(notice_json_and_subject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
