/* SPDX-License-Identifier: ISC */
/*
 * standby.c: the standby group of a blue/green group, kept after a
 * cut-over for keep_blue and then retired: scaled to 0, waited empty and
 * deleted (never forced), with no other deployer command.  A one-time
 * scheduled action on it (hookd-retire-NAME) has Auto Scaling empty it
 * at the deadline even when this machine is gone; a detached retirer
 * (setsid, its log beside --no-wait's) waits for the deadline and for
 * any deployment of the group in progress, claims the group in the
 * pointer (bluegreen.c's, conditional writes) and retires it; the next
 * rollout, status or rollback does the same once the deadline passed.
 */
#include "compat.h"

#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "aws/asg.h"
#include "aws/asg_bg.h"
#include "bluegreen.h"
#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "http.h"
#include "proc.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

#define BG_EMPTY_TIMEOUT	900	/* s for a group to empty */
/* The scheduled action that empties a standby group. */
#define BG_ACTION_PREFIX	"hookd-retire-"
/* A retirer looks at the pointer every this many polls. */
#define BG_RETIRER_POLLS	5
/* A retirer gives up after this many store errors in a row. */
#define BG_RETIRER_ERRORS	10
/*
 * A retirement claimed on another host and not refreshed for this many
 * polls is taken over (its retirer refreshes it every BG_RETIRER_POLLS).
 */
#define BG_CLAIM_STALE_POLLS	(12 * BG_RETIRER_POLLS)

/* The start time of process pid, 0 when not known. */
static unsigned long long
pid_start(long pid)
{
	unsigned long long	 start;

	return proc_stat((pid_t)pid, NULL, NULL, &start) == 0 ? start : 0;
}

/*
 * Whether process pid of this host, started at start (0: not known),
 * still runs: not a zombie, and not another process under its pid.
 */
static bool
pid_same_alive(long pid, unsigned long long start)
{
	unsigned long long	 now;
	char			 state;

	if (pid <= 0 || (kill((pid_t)pid, 0) == -1 && errno != EPERM))
		return false;
	if (proc_stat((pid_t)pid, &state, NULL, &now) == -1)
		return true;	/* no /proc to say more */
	return state != 'Z' && state != 'X' && (start == 0 || now == start);
}

/* This process holds the claim of p->retiring from now on. */
static void
claim_own(struct bgp *p)
{
	char	 host[256];

	deployer_host(host);
	p->retiring_pid = (long)getpid();
	setstr(&p->retiring_host, host);
	p->retiring_start = pid_start(p->retiring_pid);
	p->retiring_at = time(NULL);
}

/*
 * Whether the retirer holding p->retiring is gone (why says how): the
 * claim names none, names a process of this host that is no longer
 * there, or one of another host that has not refreshed it for
 * BG_CLAIM_STALE_POLLS polls.
 */
static bool
claim_stale(const struct bgp *p, char *why, size_t whysz)
{
	char	 host[256], at[32];
	time_t	 stale;

	if (p->retiring_pid <= 0 || p->retiring_host == NULL) {
		(void)snprintf(why, whysz, "taken over: the claim names no "
		    "retirer");
		return true;
	}
	deployer_host(host);
	if (strcmp(host, p->retiring_host) == 0) {
		if (p->retiring_pid == (long)getpid() ||
		    pid_same_alive(p->retiring_pid, p->retiring_start))
			return false;
		(void)snprintf(why, whysz, "taken over: its retirer, pid %ld "
		    "on this host, is gone", p->retiring_pid);
		return true;
	}
	stale = (time_t)((unsigned long long)poll_ms() *
	    BG_CLAIM_STALE_POLLS / 1000);
	if (time(NULL) - p->retiring_at < (stale < 1 ? 1 : stale))
		return false;
	ts_format(p->retiring_at, at);
	(void)snprintf(why, whysz, "taken over: its retirer, pid %ld on %s, "
	    "has not refreshed its claim since %s", p->retiring_pid,
	    p->retiring_host, at);
	return true;
}

/* pointer_update(): the claim of arg (a group) still held, refreshed. */
static int
refresh_edit(struct bgp *p, void *arg)
{
	char	 host[256];

	deployer_host(host);
	if (p->retiring == NULL || strcmp(p->retiring, arg) != 0 ||
	    p->retiring_pid != (long)getpid() || p->retiring_host == NULL ||
	    strcmp(p->retiring_host, host) != 0)
		return 0;
	p->retiring_at = time(NULL);
	return 1;
}

/*
 * Scale name to 0, wait until it is empty, delete it (never forced).
 * With claimed (the group whose pointer has name as "retiring" on this
 * process's claim), the claim is refreshed while it waits.
 */
int
retire(struct dctx *c, const char *name, const char *why,
    const struct deployer_group *claimed, struct errbuf *eb)
{
	struct asg_group	 grp;
	struct errbuf		 e2 = { 0 };
	time_t			 deadline;
	unsigned		 polls = 0;
	int			 r;

	printf("retiring group '%s' (%s): scaling to 0\n", name, why);
	fflush(stdout);
	if ((r = asg_update_sizes(c->aws, name, 0, ASG_SIZE_UNSET, 0,
	    eb)) == ASG_NOT_FOUND)
		return 0;
	if (r == -1)
		return -1;
	deadline = time(NULL) + BG_EMPTY_TIMEOUT;
	for (;;) {
		if ((r = asg_describe_group(c->aws, name, &grp, eb)) ==
		    ASG_NOT_FOUND)
			return 0;
		if (r == -1)
			return -1;
		r = grp.ninstances == 0;
		if (!r && time(NULL) >= deadline) {
			errbuf_set(eb, EK_TEMP, "group '%s': %zu instances "
			    "left %d s after scaling to 0; not deleted", name,
			    grp.ninstances, BG_EMPTY_TIMEOUT);
			asg_group_release(&grp);
			return -1;
		}
		asg_group_release(&grp);
		if (r)
			break;
		nap();
		if (claimed != NULL && ++polls % BG_RETIRER_POLLS == 0 &&
		    pointer_update(c, claimed->name, refresh_edit,
		    (void *)(uintptr_t)name, NULL, &e2) == -1)
			printf("warning: %s\n", e2.msg);
	}
	if (asg_delete_group(c->aws, name, eb) == -1)
		return -1;
	printf("group '%s' deleted\n", name);
	fflush(stdout);
	return 0;
}

/* Whether rollback id of the group swaps traffic now (a live driver). */
bool
swap_live(struct dctx *c, const struct deployer_group *g, const char *id)
{
	struct deployment	 d = { 0 };
	struct errbuf		 e2 = { 0 };
	char			 what[512];
	bool			 live;

	if (id == NULL || deployment_load(c, g->name, id, &d, &e2) == -1)
		return false;
	live = strcmp(d.status, "InProgress") == 0 &&
	    driver_describe(c, &d, what, sizeof(what)) == 1;
	deployment_release(&d);
	return live;
}

/*
 * Whether rollback id of the group is still in progress, driven or not:
 * a swap back whose driver died may have traffic on both groups until
 * `deployer resume` or `stop` ends it, so nobody retires either.
 */
static bool
swap_open(struct dctx *c, const struct deployer_group *g, const char *id)
{
	struct deployment	 d = { 0 };
	struct errbuf		 e2 = { 0 };
	bool			 pending;

	if (id == NULL || deployment_load(c, g->name, id, &d, &e2) == -1)
		return false;
	pending = strcmp(d.status, "InProgress") == 0;
	deployment_release(&d);
	return pending;
}

struct claim {
	struct dctx			*c;
	const struct deployer_group	*g;
	const char			*name;	/* NULL: whatever standby */
	bool				 force;	/* before standby_until */
	char				*what;	/* the group claimed */
	bool				 takeover;	/* of a stale claim */
	char				 why[512];	/* then: why */
};

/* pointer_update(): the standby group becomes "retiring". */
static int
claim_edit(struct bgp *p, void *arg)
{
	struct claim	*cl = arg;

	setstr(&cl->what, NULL);
	cl->takeover = false;
	/* A retirement whose retirer is gone: this one finishes it. */
	if (p->retiring != NULL && (cl->name == NULL || strcmp(cl->name,
	    p->retiring) == 0) && claim_stale(p, cl->why, sizeof(cl->why))) {
		setstr(&cl->what, p->retiring);
		cl->takeover = true;
		claim_own(p);
		return 1;
	}
	if (p->standby == NULL || (cl->name != NULL && strcmp(p->standby,
	    cl->name) != 0))
		return 0;
	if (!cl->force && time(NULL) < p->standby_until)
		return 0;
	/* A swap back to it in progress (resumable): not now. */
	if (p->swapping != NULL && swap_open(cl->c, cl->g, p->swapping))
		return 0;
	setstr(&cl->what, p->standby);
	setstr(&p->retiring, p->standby);
	claim_own(p);
	bgp_clear_standby(p);
	return 1;
}

struct retired {
	const char	*name;
	bool		 ok;
};

/* pointer_update(): the end of a retirement. */
static int
retired_edit(struct bgp *p, void *arg)
{
	struct retired	*rd = arg;

	if (p->retiring == NULL || strcmp(p->retiring, rd->name) != 0)
		return 0;
	setstr(&p->retiring, NULL);
	p->retiring_pid = 0;
	setstr(&p->retiring_host, NULL);
	p->retiring_start = 0;
	p->retiring_at = 0;
	if (!rd->ok && p->standby == NULL) {
		/* Not deleted: the next look retires it again. */
		setstr(&p->standby, rd->name);
		p->standby_until = time(NULL);
	}
	return 1;
}

/*
 * Retire the standby group (name, or whichever it is with NULL) once
 * its keep_blue is over, or at once with force: claimed in the pointer
 * first (written only if unchanged since read, so of a retirer, a
 * rollback and a new rollout exactly one acts on it), then scaled to 0,
 * waited empty, deleted.  1 retired, 0 nothing to do, -1 (eb).
 */
int
standby_retire(struct dctx *c, const struct deployer_group *g,
    const char *name, bool force, struct errbuf *eb)
{
	struct claim	 cl = { c, g, name, force, NULL, false, "" };
	struct retired	 rd;
	struct errbuf	 e2 = { 0 };
	int		 r;

	if (pointer_update(c, g->name, claim_edit, &cl, NULL, eb) == -1) {
		free(cl.what);
		return -1;
	}
	if (cl.what == NULL)
		return 0;
	r = retire(c, cl.what, cl.takeover ? cl.why : force ? "replaced by "
	    "a new release" : "keep_blue is over", g, eb);
	rd.name = cl.what;
	rd.ok = r == 0;
	if (pointer_update(c, g->name, retired_edit, &rd, NULL, r == 0 ? eb :
	    &e2) == -1)
		r = -1;
	free(cl.what);
	return r == -1 ? -1 : 1;
}

/* The scheduled action that empties group name: a new string. */
char *
action_name(const char *name)
{
	return xasprintf("%s%s", BG_ACTION_PREFIX, name);
}

/*
 * The retirer of standby group name: wait until standby_until, then,
 * once no deployment of the group is in progress, retire it if it is
 * still the standby (standby_retire() claims it in the pointer).
 * Returns its exit status.
 */
static int
retirer_main(struct dctx *c, const struct deployer_group *g,
    const char *name, time_t until)
{
	struct errbuf	 eb = { 0 };
	struct bgp	 p;
	json_t		*t;
	char		 u[32];
	int		 errs = 0, r;
	bool		 said = false, due;

	ts_format(until, u);
	printf("retirer of group '%s' (standby of %s/%s, pid %ld): retires "
	    "it at %s unless it serves again\n", name, c->cfg.application,
	    g->name, (long)getpid(), u);
	fflush(stdout);
	for (;;) {
		for (int i = 0; i < BG_RETIRER_POLLS; i++)
			(void)poll(NULL, 0, (int)poll_ms());
		if (pointer_read(c, g->name, &p, &eb) == -1) {
			if (++errs < BG_RETIRER_ERRORS)
				continue;
			printf("retirer: gives up: %s; the next deployer "
			    "command of group '%s' retires it\n", eb.msg,
			    g->name);
			return 1;
		}
		errs = 0;
		if (p.standby == NULL || strcmp(p.standby, name) != 0) {
			bgp_release(&p);
			printf("group '%s' is no longer the standby (it serves "
			    "again, or was retired): nothing to do\n", name);
			return 0;
		}
		due = time(NULL) >= p.standby_until;
		bgp_release(&p);
		if (!due)
			continue;
		/* A deployment of the group in progress may swap to it. */
		if (target_read(c, g->name, &t, NULL, &eb) == 1) {
			r = target_active(c, g->name, t, &eb);
			if (r == 1 && !said)
				printf("waiting: deployment %s of group '%s' "
				    "is in progress\n", json_string_value(
				    json_object_get(t, "deployment_id")) !=
				    NULL ? json_string_value(json_object_get(t,
				    "deployment_id")) : "?", g->name);
			json_decref(t);
			fflush(stdout);
			if (r == 1) {
				said = true;
				continue;
			}
		}
		if ((r = standby_retire(c, g, name, false, &eb)) == -1) {
			printf("retiring group '%s' failed: %s\n", name,
			    eb.msg);
			return 1;
		}
		if (r == 0) {
			/* A swap back holds it: look again. */
			continue;
		}
		printf("retirer of group '%s': done\n", name);
		return 0;
	}
}

/*
 * Fork the retirer of standby group name (setsid, its output in
 * detached_log("retire-NAME")).  0 with *ret_pid and *ret_log (a new
 * string), or -1 with eb.
 */
static int
retirer_spawn(struct dctx *c, const struct deployer_group *g,
    const char *name, time_t until, long *ret_pid, char **ret_log,
    struct errbuf *eb)
{
	char	*tag, *log, buf[512];
	long	 pid;
	int	 fd, r;

	tag = xasprintf("retire-%s", name);
	log = detached_log(tag);
	free(tag);
	if ((r = detach(log, &fd, eb)) == -1) {
		free(log);
		return -1;
	}
	if (r == 0) {
		bg_untrack();
		detach_ok(fd);
		r = retirer_main(c, g, name, until);
		fflush(NULL);
		_exit(r);
	}
	if ((pid = detach_started(fd, buf, sizeof(buf))) <= 0) {
		errbuf_set(eb, EK_OS, "the retirer of group '%s' did not start"
		    "%s%s (log: '%s')", name, buf[0] != '\0' ? ": " : "", buf,
		    log);
		free(log);
		return -1;
	}
	*ret_pid = pid;
	*ret_log = log;
	return 0;
}

struct plan {
	const char	*name;
	char		*action;
	long		 pid;
	char		*log;
};

/* pointer_update(): how the standby is retired. */
static int
plan_edit(struct bgp *p, void *arg)
{
	struct plan	*pl = arg;
	char		 host[256];

	if (p->standby == NULL || strcmp(p->standby, pl->name) != 0)
		return 0;
	setstr(&p->scheduled_action, pl->action);
	p->retirer_pid = pl->pid;
	setstr(&p->retirer_log, pl->log);
	deployer_host(host);
	setstr(&p->retirer_host, pl->pid > 0 ? host : NULL);
	return 1;
}

/*
 * Standby group name is kept until 'until', then retired without
 * another deployer command: a scheduled action makes Auto Scaling empty
 * it then (even when this machine is gone), and a retirer process
 * deletes it.  Either may fail (a warning): the next deployer command
 * of the group after 'until' retires it all the same.
 */
void
standby_plan(struct dctx *c, const struct deployer_group *g,
    const char *name, time_t until)
{
	struct plan	 pl = { name, NULL, 0, NULL };
	struct errbuf	 e2 = { 0 };
	char		 start[32];

	ts_format(until, start);
	pl.action = action_name(name);
	if (asg_put_scheduled_zero(c->aws, name, pl.action, start,
	    &e2) == -1) {
		printf("warning: no scheduled action on group '%s': %s\n",
		    name, e2.msg);
		setstr(&pl.action, NULL);
	} else
		printf("group '%s': scheduled action '%s' scales it to 0 at "
		    "%s\n", name, pl.action, start);
	if (retirer_spawn(c, g, name, until, &pl.pid, &pl.log, &e2) == -1)
		printf("warning: %s\n", e2.msg);
	else
		printf("group '%s': a retirer (pid %ld, log '%s') deletes it "
		    "once empty\n", name, pl.pid, pl.log);
	if (pointer_update(c, g->name, plan_edit, &pl, NULL, &e2) == -1)
		printf("warning: %s\n", e2.msg);
	fflush(stdout);
	free(pl.action);
	free(pl.log);
}

/* How standby group p->standby is to be retired, for status. */
void
status_plan(struct dctx *c, const struct deployer_group *g,
    const struct bgp *p)
{
	struct errbuf	 e2 = { 0 };
	char		 until[32], host[256], *start = NULL;
	const char	*state = "?";
	int		 r;

	ts_format(p->standby_until, until);
	printf("  retired at %s (keep_blue %u s): ", until, g->bg.keep_blue);
	if (p->scheduled_action == NULL)
		printf("no scheduled action; ");
	else if ((r = asg_scheduled_start(c->aws, p->standby,
	    p->scheduled_action, &start, &e2)) == 0)
		printf("Auto Scaling's scheduled action '%s' scales it to 0 at "
		    "%s; ", p->scheduled_action, start);
	else
		printf("scheduled action '%s' %s; ", p->scheduled_action,
		    r == ASG_NOT_FOUND ? "gone (it ran)" : e2.msg);
	free(start);
	if (p->retirer_pid > 0) {
		deployer_host(host);
		if (p->retirer_host != NULL && strcmp(host,
		    p->retirer_host) == 0)
			state = kill((pid_t)p->retirer_pid, 0) == 0 ?
			    "running" : "gone";
		printf("the retirer (pid %ld on %s, %s; log '%s') deletes it "
		    "once empty", p->retirer_pid, p->retirer_host != NULL ?
		    p->retirer_host : "?", state, p->retirer_log != NULL ?
		    p->retirer_log : "?");
	} else
		printf("no retirer");
	printf("; else the next deployer command of group '%s' after then "
	    "does\n", g->name);
	if (p->standby_rolled_back)
		printf("  it runs the release rolled back: 'deployer rollback "
		    "%s' does not swap to it\n", g->name);
	else
		printf("  'deployer rollback %s' swaps traffic back to it "
		    "until then\n", g->name);
}
