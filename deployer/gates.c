/* SPDX-License-Identifier: ISC */
/*
 * gates.c: the deployer's side of the rollout gates (lib/gates.h): the
 * I/O behind gate_ops.  DescribeAlarms through the AWS client (the
 * store's, or one made for the gates when the store and queue are not
 * on AWS), the health_check run with proc_run() (argv, no shell, cwd =
 * the repository, deployer.yml's directory), the clock and the sleep,
 * the record of results in the deployment, what the operator sees, and
 * the SNS notices (a failed publish is a warning, never a failure).
 */
#include "compat.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "aws/client.h"
#include "aws/cloudwatch.h"
#include "aws/sns.h"
#include "clock.h"
#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "gates.h"
#include "proc.h"
#include "xalloc.h"

#include "banned.h"

extern char	**environ;

/* The path to execve for health_check's argv[0], new; NULL with eb. */
static char *
health_path(const struct dctx *c, const char *arg0, struct errbuf *eb)
{
	const char	*path, *p, *e;
	char		*cand;

	if (strchr(arg0, '/') != NULL) {
		cand = arg0[0] == '/' ? xstrdup(arg0) :
		    xasprintf("%s/%s", c->dir, arg0);
		if (access(cand, X_OK) == 0)
			return cand;
		errbuf_errno(eb, EK_CONFIG, "health_check: cannot run '%s' "
		    "(from %s)", arg0, c->dir);
		free(cand);
		return NULL;
	}
	if ((path = secure_getenv("PATH")) == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *e == ':' ? e + 1 : e) {
		if ((e = strchr(p, ':')) == NULL)
			e = p + strlen(p);
		cand = xasprintf("%.*s/%s", e == p ? 1 : (int)(e - p),
		    e == p ? "." : p, arg0);
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
	}
	errbuf_set(eb, EK_CONFIG, "health_check: '%s' is not in $PATH", arg0);
	return NULL;
}

int
dgates_init(struct dgates *dg, struct dctx *c,
    const struct deployer_group *g, struct deployment *d, bool gates,
    struct errbuf *eb)
{
	struct aws_client_config ac = { 0 };

	memset(dg, 0, sizeof(*dg));
	dg->c = c;
	dg->g = g;
	dg->d = d;
	dg->gates = gates;
	dg->tty = isatty(STDOUT_FILENO) == 1;
	if (gates && d->gates == NULL && gates_any(g))
		d->gates = json_array();
	if (gates && g->health_check != NULL &&
	    (dg->health = health_path(c, g->health_check[0], eb)) == NULL)
		return -1;
	if ((!gates || g->nalarms == 0) && g->notify == NULL)
		return 0;
	if ((dg->aws = c->aws) == NULL) {
		ac.region = c->cfg.region;
		if ((dg->own = aws_client_new(&ac, eb)) == NULL)
			return errbuf_prefix(eb, "group '%s': alarms and "
			    "notify need AWS: ", g->name);
		dg->aws = dg->own;
	}
	return 0;
}

int
dgates_ready(struct dctx *c, const struct deployer_group *g,
    struct errbuf *eb)
{
	struct dgates		 dg;
	struct deployment	 d = { 0 };
	int			 rv;

	rv = dgates_init(&dg, c, g, &d, true, eb);
	dgates_release(&dg);
	dgates_record_release(&d);
	return rv;
}

void
dgates_release(struct dgates *dg)
{
	aws_client_free(dg->own);
	free(dg->health);
	memset(dg, 0, sizeof(*dg));
}

static int
op_alarms(void *arg, const char *const *names, size_t n,
    struct cw_alarms *ret, struct errbuf *eb)
{
	struct dgates	*dg = arg;

	return cw_describe_alarms(dg->aws, names, n, ret, eb);
}

static void
op_health_tick(void *arg)
{
	struct dgates	*dg = arg;

	if (dg->tick != NULL)
		dg->tick(dg->arg);
}

static int
op_health(void *arg, char *const *argv, struct proc_result *ret,
    struct errbuf *eb)
{
	struct dgates		*dg = arg;
	struct proc_spec	 spec = { 0 };
	char			**envp;
	size_t			 n = 0, k = 0;
	int			 rv;

	while (environ[n] != NULL)
		n++;
	envp = xcalloc(n + 5, sizeof(*envp));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "DEPLOYMENT_ID=", 14) != 0 &&
		    strncmp(environ[i], "APPLICATION_NAME=", 17) != 0 &&
		    strncmp(environ[i], "DEPLOYMENT_GROUP_NAME=", 22) != 0 &&
		    strncmp(environ[i], "HOOKD_GATE_BATCH=", 17) != 0)
			envp[k++] = xstrdup(environ[i]);
	envp[k++] = xasprintf("DEPLOYMENT_ID=%s", dg->d->id);
	envp[k++] = xasprintf("APPLICATION_NAME=%s", dg->d->application);
	envp[k++] = xasprintf("DEPLOYMENT_GROUP_NAME=%s", dg->d->group);
	envp[k++] = xasprintf("HOOKD_GATE_BATCH=%ld", dg->batch + 1);
	spec.path = dg->health;
	spec.argv = argv;
	spec.envp = envp;
	spec.cwd = dg->c->dir;
	spec.timeout_sec = GATE_HEALTH_TIMEOUT;
	/* The driver renews its lease while the check runs. */
	spec.on_tick = op_health_tick;
	spec.arg = dg;
	rv = proc_run(&spec, ret, eb);
	for (size_t i = 0; i < k; i++)
		free(envp[i]);
	free(envp);
	return rv;
}

static time_t
op_now(void *arg)
{
	return time(NULL);
}

static time_t
op_mono(void *arg)
{
	return (time_t)(mono_ms() / 1000);
}

/* Whether d is a blue/green rollout (its bake is before the cut-over). */
static bool
dgates_bluegreen(const struct deployment *d)
{
	return d->config_name != NULL &&
	    strncmp(d->config_name, "BlueGreen", 9) == 0;
}

/* The status line of a bake on a terminal, redrawn in place. */
static void
bake_line(struct dgates *dg)
{
	char	*sum;
	long	 left;

	if (!dg->tty || dg->d->bake_until == 0)
		return;
	left = (long)(dg->d->bake_until - time(NULL));
	sum = gates_summary(dg->d->gates);
	printf("\r\033[K%s: %ld s left%s%s", dgates_bluegreen(dg->d) ?
	    "gates before the cut-over" : dg->batch == 0 &&
	    dg->g->dc.canary != 0 ? "baking canary" : "baking batch",
	    left < 0 ? 0 : left,
	    sum != NULL ? ", " : "", sum != NULL ? sum : "");
	fflush(stdout);
	free(sum);
}

static void
op_sleep(void *arg, unsigned sec)
{
	struct dgates	*dg = arg;
	int64_t		 end = mono_ms() + (int64_t)sec * 1000;

	/* A second at a time: the line counts down, a stop is seen. */
	while (mono_ms() < end) {
		bake_line(dg);
		if (dg->stopped != NULL && dg->stopped(dg->arg))
			return;
		if (dg->tick != NULL)
			dg->tick(dg->arg);
		(void)poll(NULL, 0, 1000);
	}
}

static bool
op_stopped(void *arg)
{
	struct dgates	*dg = arg;

	return dg->stopped != NULL && dg->stopped(dg->arg);
}

static void
op_result(void *arg, const struct gate_result *r)
{
	struct dgates	*dg = arg;
	struct errbuf	 eb = { 0 };
	json_t		*last;
	char		 at[32], *pre;

	gates_log_add(dg->d->gates, r);
	last = json_array_get(dg->d->gates, json_array_size(dg->d->gates) - 1);
	/* Each new result once (a repeat only counts). */
	if (json_integer_value(json_object_get(last, "checks")) == 1 &&
	    (!dg->tty || r->status != GATE_OK)) {
		ts_format(r->at, at);
		if (dg->tty)
			printf("\r\033[K");
		pre = xasprintf("%s gate %s %s: ", at + 11, r->gate,
		    gate_status_name(r->status));
		dgates_print_reason(pre, r->reason);
		free(pre);
		fflush(stdout);
	}
	/* The record shows the gates as they are checked. */
	if (deployment_save(dg->c, dg->d, &eb) == -1)
		fprintf(stderr, "deployer: warning: gate result of %s not "
		    "recorded: %s\n", dg->d->id, eb.msg);
}

static void
ops_init(struct dgates *dg, struct gate_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->alarms = op_alarms;
	ops->health = op_health;
	ops->now = op_now;
	ops->mono = op_mono;
	ops->sleep = op_sleep;
	ops->stopped = op_stopped;
	ops->on_result = op_result;
	ops->arg = dg;
}

int
dgates_check(struct dgates *dg, const char *phase, long batch,
    struct gate_result *ret_failed)
{
	struct gate_ops	 ops;

	if (!dg->gates || !gates_any(dg->g))
		return GATES_PASSED;
	ops_init(dg, &ops);
	dg->batch = batch;
	return gates_check(dg->g, &ops, phase, batch, ret_failed);
}

int
dgates_bake(struct dgates *dg, long batch, unsigned seconds,
    struct gate_result *ret_failed)
{
	struct gate_ops	 ops;
	struct errbuf	 eb = { 0 };
	int		 r;

	if (!dg->gates || (seconds == 0 && !gates_any(dg->g)))
		return GATES_PASSED;
	ops_init(dg, &ops);
	dg->batch = batch;
	dg->d->bake_batch = batch;
	dg->d->bake_until = time(NULL) + (time_t)seconds;
	if (deployment_save(dg->c, dg->d, &eb) == -1)
		fprintf(stderr, "deployer: warning: bake of %s not recorded: "
		    "%s\n", dg->d->id, eb.msg);
	r = gates_bake(dg->g, seconds, &ops, batch, ret_failed);
	if (dg->tty && seconds > 0) {
		bake_line(dg);
		printf("\n");
	}
	dg->d->bake_until = 0;
	return r;
}

void
dgates_failed(struct deployment *d, const struct gate_result *gr)
{
	free(d->stopped_by);
	d->stopped_by = xasprintf("the %s gate", gr->gate);
	free(d->reason);
	d->reason = xstrdup(gr->reason);
}

void
dgates_notify(struct dgates *dg, const char *event, long batch,
    const char *outcome, const char *reason)
{
	struct gate_notice	 n = { 0 };
	struct errbuf		 eb = { 0 };
	char			*msg, subject[128];
	size_t			 inst = 0;

	if (dg->g == NULL || dg->g->notify == NULL || dg->aws == NULL)
		return;
	for (size_t i = 0; i < dg->d->ninst; i++)
		if (batch < 0 || dg->d->inst[i].batch == (size_t)batch)
			inst++;
	n.event = event;
	n.deployment_id = dg->d->id;
	n.application = dg->d->application;
	n.group = dg->d->group;
	n.revision = dg->d->commit[0] != '\0' ? dg->d->commit : dg->d->sha256;
	n.outcome = outcome;
	n.reason = reason;
	n.batch = batch;
	n.nbatches = dg->d->nbatches;
	n.instances = inst;
	n.rollback_of = dg->d->rollback_of;
	msg = gates_notice_json(&n);
	gates_notice_subject(&n, subject, sizeof(subject));
	if (sns_publish(dg->aws, dg->g->notify, subject, msg, NULL, &eb) == -1)
		fprintf(stderr, "deployer: warning: notice of %s (%s) not "
		    "sent to %s: %s\n", dg->d->id, event, dg->g->notify,
		    eb.msg);
	free(msg);
}

void
dgates_record_to_json(const struct deployment *d, json_t *o)
{
	char	 until[32];

	if (d->gates != NULL)
		(void)json_object_set(o, "gates", d->gates);
	if (d->bake_until != 0) {
		ts_format(d->bake_until, until);
		(void)json_object_set_new(o, "bake", json_pack("{s:I, s:s}",
		    "batch", (json_int_t)d->bake_batch, "until", until));
	}
	if (d->reason != NULL)
		(void)json_object_set_new(o, "reason", json_string(d->reason));
}

void
dgates_record_from_json(json_t *o, struct deployment *d)
{
	json_t		*v;
	const char	*s;

	if (json_is_array(v = json_object_get(o, "gates")))
		d->gates = json_incref(v);
	if (json_is_object(v = json_object_get(o, "bake"))) {
		d->bake_batch = (long)json_integer_value(json_object_get(v,
		    "batch"));
		d->bake_until = ts_parse(json_string_value(json_object_get(v,
		    "until")));
	}
	if ((s = json_string_value(json_object_get(o, "reason"))) != NULL)
		d->reason = xstrdup(s);
}

void
dgates_record_release(struct deployment *d)
{
	if (d->gates != NULL)
		json_decref(d->gates);
	free(d->reason);
	d->gates = NULL;
	d->reason = NULL;
}

/*
 * The length of reason's first line, without a final ':' (the line
 * that introduces a health_check's output), for one-line messages.
 */
int
dgates_reason_len(const char *reason)
{
	size_t	 n = strcspn(reason, "\n");

	if (n > 0 && reason[n] == '\n' && reason[n - 1] == ':')
		n--;
	return (int)n;
}

/* The string member key of e, or "-". */
static const char *
jstr_or(const json_t *e, const char *key)
{
	const char	*s = json_string_value(json_object_get(e, key));

	return s != NULL ? s : "-";
}

/*
 * Print "PREFIX" and reason's first line, then each further line (a
 * health_check's output) indented under it.
 */
void
dgates_print_reason(const char *prefix, const char *reason)
{
	const char	*nl;

	nl = strchr(reason, '\n');
	printf("%s%.*s\n", prefix, nl != NULL ? (int)(nl - reason) :
	    (int)strlen(reason), reason);
	while (nl != NULL) {
		reason = nl + 1;
		nl = strchr(reason, '\n');
		printf("      | %.*s\n", nl != NULL ? (int)(nl - reason) :
		    (int)strlen(reason), reason);
	}
}

/*
 * The gates of d for `deployer status`: "baking canary: 84 s left,
 * alarms OK, health_check OK" while a batch bakes, else "gates: alarms
 * OK, ..."; then each failed result with its reason.
 */
void
dgates_print(const struct deployment *d)
{
	const json_t	*e;
	const char	*res;
	char		*sum, *pre;
	long		 left;
	size_t		 i;
	bool		 canary;

	if (d->gates == NULL || json_array_size(d->gates) == 0)
		return;
	sum = gates_summary(d->gates);
	canary = d->config_name != NULL &&
	    strncmp(d->config_name, "canary", 6) == 0 && d->bake_batch == 0;
	left = (long)(d->bake_until - time(NULL));
	if (d->bake_until != 0 && left >= 0 && strcmp(d->status,
	    "InProgress") == 0) {
		if (dgates_bluegreen(d))
			printf("  gates before the cut-over: %ld s left, %s\n",
			    left, sum != NULL ? sum : "no gate");
		else if (canary)
			printf("  baking canary: %ld s left, %s\n", left,
			    sum != NULL ? sum : "no gate");
		else
			printf("  baking batch %ld: %ld s left, %s\n",
			    d->bake_batch + 1, left, sum != NULL ? sum :
			    "no gate");
	} else
		printf("  gates: %s\n", sum != NULL ? sum : "none checked");
	free(sum);
	json_array_foreach(d->gates, i, e) {
		res = json_string_value(json_object_get(e, "result"));
		if (res == NULL || strcmp(res, "OK") == 0)
			continue;
		pre = xasprintf("  %s %s %s at %s: ", jstr_or(e, "gate"), res,
		    jstr_or(e, "phase"), jstr_or(e, "at"));
		dgates_print_reason(pre, jstr_or(e, "reason"));
		free(pre);
	}
}
