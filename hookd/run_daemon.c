/* SPDX-License-Identifier: ISC */
/*
 * run_daemon.c: 'hookd run', the daemon (STYLE.md B9, DESIGN.md "Group
 * membership and catch-up").  Start-up: config, group, identity, signals,
 * the run lock, store and queue (created if missing), registration,
 * recovery of a deployment left in progress, catch-up from target.json,
 * READY=1.  Then one loop: wait for a message (spool: poll(2) on the
 * queue's inotify fd and the signal pipe; SQS: one long poll of
 * poll_wait seconds), check it, run it with the lifecycle engine while
 * writing progress to the store and extending the message's visibility,
 * write the outcome, and only then delete the message.  The run (fetch,
 * engine, outcome) happens in a child process per deployment, so what
 * it loads leaves with it (run_deploy.c).  This file: the signals, the
 * timers and nap(), reload, the loop; the rest by role (run.h).
 *
 * Message handling in order (lib/admission.c): parse (schema), location
 * inside the store, HMAC (message_key_file), application/group, the
 * sequence rule.  A message that fails one of the checks is rejected with
 * the reason in the log (spool: failed/; SQS: left to the redrive policy).
 * A message whose sequence is not above the installed one, or whose
 * deployment already finished here, is acknowledged without running.  An
 * Interrupted deployment (SIGTERM, kill -9) is recovered at start-up and
 * runs again when its message comes back.
 *
 * The store and queue may be unavailable: every call that must succeed
 * is retried with a backoff (1 s doubling to 30 s, struct retry), and
 * each service's availability is logged once per change, not once per
 * attempt.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "errbuf.h"
#include "hookd.h"
#include "http.h"
#include "log.h"
#include "queue.h"
#include "run.h"
#include "xalloc.h"

#include "banned.h"

#define BOOT_EXTEND_SEC		60	/* EXTEND_TIMEOUT_USEC while booting */

/* Set by the signal handler; read by the loop and the observer. */
volatile sig_atomic_t	 got_term;
volatile sig_atomic_t	 got_hup;
volatile sig_atomic_t	 in_longpoll;
volatile sig_atomic_t	 abort_http;	/* http_set_abort_flag */
int			 sigpipe_w = -1;

/* --- time, signals, systemd --- */

static void
sighandler(int sig)
{
	int	 save = errno;
	char	 c = (char)sig;

	if (sig == SIGHUP)
		got_hup = 1;
	else {
		got_term = 1;
		/*
		 * libcurl restarts its poll(2) after EINTR, so a long poll
		 * would hold a shutdown for up to poll_wait seconds.  While
		 * idle in one, abort it (http_set_abort_flag; the byte
		 * written below wakes it, http_set_wake_fd) and let the
		 * loop take the normal way out; a message the poll was
		 * about to return becomes visible again after its
		 * visibility timeout.  Other requests (a progress write
		 * after SIGTERM) are left to finish.
		 */
		if (in_longpoll)
			abort_http = 1;
	}
	/* A full pipe already holds a pending wake-up. */
	if (sigpipe_w != -1 && write(sigpipe_w, &c, 1) == -1)
		errno = save;
	errno = save;
}

void
drain_sigpipe(struct daemon *d)
{
	char	 b[64];

	while (read(d->sigpipe_r, b, sizeof(b)) > 0)
		;
}

/* --- the timers --- */

void
watchdog_ping(struct daemon *d)
{
	if (d->wd_usec == 0)
		return;
	(void)sd_notify(0, "WATCHDOG=1");
	mono_now(&d->wd_last);
}

static long long
watchdog_due(struct daemon *d)
{
	/*
	 * While deployment processes run (parallel_groups), they ping it
	 * and the daemon does not, so a hung one still trips it.
	 */
	if (d->wd_usec == 0 || (d->child_group == NULL && d->njobs > 0))
		return TIMER_OFF;
	return (long long)(d->wd_usec / 2000) - mono_ms_since(&d->wd_last);
}

/*
 * A catch-up deployment before READY=1 may outlast systemd's start
 * timeout: extend it while the boot makes progress (once the queue and
 * the store were reached).
 */
static long long
boot_extend_due(struct daemon *d)
{
	/* Not while it waits for the queue or store: start_timeout ends it. */
	if (d->ready || d->starting)
		return TIMER_OFF;
	return BOOT_EXTEND_SEC * 1000LL / 3 - mono_ms_since(&d->extend_last);
}

static void
boot_extend(struct daemon *d)
{
	(void)sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu",
	    (unsigned long long)BOOT_EXTEND_SEC * 1000000ULL);
	mono_now(&d->extend_last);
}

/*
 * Every periodic duty of the daemon and of its deployment process: each
 * says in how many ms it is due (TIMER_OFF: not now) and does it.  Only
 * timers_run() calls them: from nap(), the loop and the observer.
 */
static const struct run_timer {
	long long	(*due)(struct daemon *);
	void		(*fire)(struct daemon *);
} timers[] = {
	{ registry_due,		registry_heartbeat },	/* run_registry.c */
	{ so_due,		so_timer },		/* run_scaleout.c */
	{ visibility_due,	visibility_extend },	/* run_registry.c */
	{ boot_extend_due,	boot_extend },
	{ watchdog_due,		watchdog_ping },
};

void
timers_run(struct daemon *d)
{
	for (size_t i = 0; i < nitems(timers); i++)
		if (timers[i].due(d) <= 0)
			timers[i].fire(d);
}

long long
timers_next(struct daemon *d)
{
	long long	 next = TIMER_OFF, due;

	for (size_t i = 0; i < nitems(timers); i++)
		if ((due = timers[i].due(d)) < next)
			next = due;
	return next < 0 ? 0 : next;
}

/*
 * Sleep up to ms, waking for signals and the timers.  Returns -1 when
 * a stop was requested.
 */
int
nap(struct daemon *d, long long ms)
{
	struct pollfd	 pfd;
	struct timespec	 t0;
	long long	 left, step;

	mono_now(&t0);
	while (!got_term && (left = ms - mono_ms_since(&t0)) > 0) {
		step = timers_next(d);
		if (step > left)
			step = left;
		pfd.fd = d->sigpipe_r;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, (int)step);
		drain_sigpipe(d);
		timers_run(d);
	}
	return got_term ? -1 : 0;
}

int
setup_signals(struct daemon *d, struct errbuf *eb)
{
	struct sigaction	 sa;
	int			 p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return errbuf_errno(eb, EK_OS, "pipe2");
	d->sigpipe_r = p[0];
	sigpipe_w = p[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sighandler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1)
		return errbuf_errno(eb, EK_OS,
		    "cannot handle TERM, INT and HUP (sigaction)");
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return errbuf_errno(eb, EK_OS,
		    "cannot ignore SIGPIPE (sigaction)");
	return 0;
}

/* --- reload --- */

/* Whether two configs list the same groups: and parallel_groups. */
static bool
same_groups(const struct config *a, const struct config *b)
{
	if (a->ngroups != b->ngroups || a->parallel_groups !=
	    b->parallel_groups)
		return false;
	for (size_t i = 0; i < a->ngroups; i++)
		if (strcmp(a->groups[i].application,
		    b->groups[i].application) != 0 ||
		    strcmp(a->groups[i].deployment_group,
		    b->groups[i].deployment_group) != 0)
			return false;
	return true;
}

static void
reload(struct daemon *d)
{
	struct config	 nc;
	struct errbuf	 eb = { 0 };

	got_hup = 0;
	config_init(&nc);
	if (config_load(&nc, d->cfgpath, NULL, &eb) == -1) {
		log_warnx("reload: %s; keeping the running configuration",
		    eb.msg);
		config_release(&nc);
		return;
	}
#define SAME(f) ((d->cfg.f == NULL && nc.f == NULL) || (d->cfg.f != NULL && \
	nc.f != NULL && strcmp(d->cfg.f, nc.f) == 0))
	if (!SAME(application) || !SAME(store) || !SAME(queue) ||
	    !SAME(queue_prefix) || !SAME(root) || !SAME(region) ||
	    !SAME(instance_id) || !SAME(deployment_group) ||
	    !same_groups(&d->cfg, &nc)) {
		log_warnx("reload: application, deployment_group, groups, "
		    "parallel_groups, store, queue, queue_prefix, region, root "
		    "and instance_id take effect after a restart; the rest is "
		    "reloaded");
	}
#undef SAME
	d->cfg.keep_releases = nc.keep_releases;
	d->cfg.log_level = nc.log_level;
	d->cfg.poll_wait = nc.poll_wait;
	d->cfg.shutdown_grace = nc.shutdown_grace;
	if (!d->grace_flag)
		d->grace = nc.shutdown_grace;
	d->cfg.max_bundle_bytes = nc.max_bundle_bytes;
	d->cfg.max_bundle_entries = nc.max_bundle_entries;
	d->cfg.delete_queue_on_shutdown = nc.delete_queue_on_shutdown;
	d->cfg.visibility_timeout = nc.visibility_timeout;
	for (size_t i = 0; i < d->ngroups; i++)
		d->groups[i].q->visibility = nc.visibility_timeout;
	freezero(d->cfg.message_key, d->cfg.message_key_len);
	d->cfg.message_key = nc.message_key;
	d->cfg.message_key_len = nc.message_key_len;
	nc.message_key = NULL;
	nc.message_key_len = 0;
	log_setverbose(d->cfg.log_level >= LOG_DEBUG || arg_verbose > 1);
	config_release(&nc);
	log_notice("configuration reloaded from '%s'", d->cfgpath);
}

/* --- the loop --- */

/* Whether group g may start a deployment now. */
static bool
may_start(const struct daemon *d, const struct run_group *g)
{
	if (g->job != NULL)
		return false;
	/* Serialized: handle() waits, so no job runs; else one per group. */
	return d->cfg.parallel_groups || d->njobs == 0;
}

/* Whether any group may start a deployment now. */
static bool
any_may_start(const struct daemon *d)
{
	for (size_t i = 0; i < d->ngroups; i++)
		if (may_start(d, &d->groups[i]))
			return true;
	return false;
}

/*
 * g's queue is gone (deleted, or its server lost it): create it again as
 * at start, say so, and catch up from target.json, since what was sent
 * while it was gone is lost.  Returns 0 when it was created again.
 */
static int
queue_recreate(struct run_group *g, const struct errbuf *why)
{
	struct errbuf	 eb = { 0 };

	log_warnx("queue '%s' does not exist (%s); creating it again",
	    g->qname, why->msg);
	if (queue_ensure(g->q, &eb) == -1) {
		log_warnx("queue '%s': cannot create it again: %s", g->qname,
		    eb.msg);
		return -1;
	}
	log_notice("queue '%s' created again", g->qname);
	(void)register_instance(g, false);
	(void)catch_up(g);
	return 0;
}

/*
 * One receive on g's queue (SQS: a long poll of 'wait' seconds; spool:
 * none), and the message handled (serialized) or its deployment
 * started (parallel_groups).  Returns 1 when a message came or the
 * queue was made again, 0 when none did, -1 when the queue failed
 * (after the retry's wait).
 */
static int
take_one(struct run_group *g, unsigned wait, struct retry *rt)
{
	struct daemon		*d = g->d;
	struct queue_msg	 qm;
	struct errbuf		 eb = { 0 };
	int			 rc;

	queue_msg_init(&qm);
	if (queue_get_fd(g->q) != -1)
		rc = queue_receive(g->q, 0, &qm, &eb);
	else {
		/*
		 * SIGTERM from here on aborts the long poll; one before is
		 * seen by the test below.  SIGHUP waits for the jobs.
		 */
		in_longpoll = 1;
		if (got_term || (got_hup && d->njobs == 0)) {
			in_longpoll = 0;
			return 0;
		}
		rc = queue_receive(g->q, wait, &qm, &eb);
		in_longpoll = 0;
		abort_http = 0;
		if (got_term) {
			/*
			 * Stopping: a message received now comes back
			 * after its visibility timeout.
			 */
			if (rc == -1)
				log_debug("queue: %s", eb.msg);
			queue_msg_release(&qm);
			return 0;
		}
	}
	if (rc == -1) {
		if (eb.kind == EK_DATA) {
			log_warnx("queue '%s': %s, skipping", g->qname, eb.msg);
			return 1;
		}
		/*
		 * Said once, and no outage when it is back at once.  Then
		 * look again before any wait: a message that came before
		 * the new queue's watch would wake nobody.
		 */
		if (eb.kind == EK_NOINPUT && queue_recreate(g, &eb) == 0)
			return 1;
		svc_result(&g->queue_state, "queue", rc, &eb);
		(void)retry_wait(rt);
		return -1;
	}
	retry_reset(rt);
	svc_result(&g->queue_state, "queue", rc, &eb);
	if (rc == 1) {
		log_debug("message %s received on '%s' (delivery %u)", qm.id,
		    g->qname, qm.receive_count);
		if (d->cfg.parallel_groups)
			handle_start(g, &qm);
		else
			(void)handle(g, qm.body, qm.len, &qm);
	}
	queue_msg_release(&qm);
	return rc;
}

/*
 * Nothing to take: sleep on the spool queues of the groups that may
 * start, the signal pipe and the running deployment processes, until
 * one of them or the next timer.
 */
static void
idle_wait(struct daemon *d)
{
	struct pollfd	*pfd;
	size_t		 n = 0, max = 2 * d->ngroups + 1;
	long long	 ms;
	int		 fd;

	pfd = xcalloc(max, sizeof(*pfd));
	for (size_t i = 0; i < d->ngroups; i++)
		if (may_start(d, &d->groups[i]) &&
		    (fd = queue_get_fd(d->groups[i].q)) != -1) {
			pfd[n].fd = fd;
			pfd[n++].events = POLLIN;
		}
	pfd[n].fd = d->sigpipe_r;
	pfd[n++].events = POLLIN;
	n += jobs_pollfds(d, pfd + n, max - n);
	ms = timers_next(d);
	if (d->njobs > 0 && ms > 1000)
		ms = 1000;	/* a process without a pidfd */
	(void)poll(pfd, (nfds_t)n, ms > INT_MAX ? INT_MAX : (int)ms);
	drain_sigpipe(d);
	free(pfd);
}

void
loop(struct daemon *d)
{
	struct retry	 rt;
	struct run_group *g;
	size_t		 next = 0;
	unsigned	 wait;
	bool		 took, sqs;
	int		 rc;

	retry_init(&rt, d, 0);
	sqs = queue_get_fd(d->groups[0].q) == -1;
	while (!got_term) {
		if (got_hup && d->njobs == 0)
			reload(d);
		timers_run(d);
		jobs_reap(d);
		/*
		 * Each group in turn, starting one further each round so
		 * that a busy queue does not starve the others.  SQS: with
		 * several groups each long poll takes its share of
		 * poll_wait, and a short one while deployments run.
		 */
		wait = d->cfg.poll_wait;
		if (d->ngroups > 1)
			wait = wait / (unsigned)d->ngroups;
		if (d->njobs > 0 || wait == 0)
			wait = 1;
		took = false;
		for (size_t k = 0; k < d->ngroups && !got_term; k++) {
			g = &d->groups[(next + k) % d->ngroups];
			if (!may_start(d, g))
				continue;
			if ((rc = take_one(g, wait, &rt)) != 0)
				took = true;
			if (rc == -1 || (got_hup && d->njobs == 0))
				break;
		}
		next = d->ngroups > 0 ? (next + 1) % d->ngroups : 0;
		if (!took && (!sqs || !any_may_start(d)))
			idle_wait(d);
	}
	jobs_stop(d);
}
