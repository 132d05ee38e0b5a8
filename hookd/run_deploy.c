/* SPDX-License-Identifier: ISC */
/*
 * run_deploy.c: how 'hookd run' takes one message or target.json: it
 * parses it, maps its location, then checks and runs it in a deployment
 * process of its own (fork, the child's set-up, waiting, a crash), and
 * acknowledges, rejects or keeps the message by the outcome.
 */
#include "compat.h"

#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "admission.h"
#include "config.h"
#include "errbuf.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"
#include "message.h"
#include "progress.h"
#include "queue.h"
#include "run.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

/* --- the deployment process --- */

/*
 * Each deployment runs in a child process.  What a deployment
 * loads (libarchive with libxml2, ICU and libstdc++; OpenSSL's EVP
 * tables) cannot be unloaded, so it dies with the child and the daemon
 * stays at its idle size; a crash in extraction kills the child, not
 * the daemon.  The daemon keeps the queue, the registry, signals and
 * systemd.  The child checks the message (admit(): its signature, so
 * that the daemon never loads libcrypto, then its target and the
 * sequence rule), runs deploy_run() and sends its verdict to the daemon
 * as one record (struct run_verdict: outcome, kind, reason) over a pipe,
 * then ends with _exit(0).  The exit status only tells a crash: any
 * other end (no complete record, a signal, fatal(), a failed set-up) is
 * one, which the daemon handles as at boot: recover(), and the message
 * is kept and made visible again at once.
 *
 * While a child runs, the daemon neither pings the watchdog nor writes
 * the registry: the child does both from its observer as the daemon
 * did before (NotifyAccess=all in the unit), so a hung deployment is
 * still caught by the watchdog.  SIGTERM is passed to the child, which
 * gives its hook the grace and records the deployment Interrupted;
 * SIGHUP waits until the child is done.
 */
#define CHILD_WAIT_MS	200	/* waitpid polling without a pidfd */

static pid_t	 parent_pid;	/* the daemon, in a deployment process */

/* Right after fork(), in the child; exits when it cannot go on. */
static void
child_setup(struct run_group *g)
{
	struct daemon	*d = g->d;
	int		 p[2], w;

	/*
	 * The daemon's run locks are flocks on open file descriptions
	 * we share: hold them no longer, or a daemon restarted after a
	 * kill -9 of ours would find them taken.
	 */
	for (size_t i = 0; i < d->ngroups; i++)
		if (d->groups[i].lockfd != -1) {
			(void)close(d->groups[i].lockfd);
			d->groups[i].lockfd = -1;
		}
	d->child_group = g;
	/* Die with the daemon (its crash is recovered at its restart). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
	    getppid() != parent_pid)
		_exit(EX_OSERR);
	/*
	 * A self-pipe of our own: the inherited one is the daemon's, and
	 * a wake-up drained here would be lost there.
	 */
	w = sigpipe_w;
	sigpipe_w = -1;
	(void)close(w);
	(void)close(d->sigpipe_r);
	d->sigpipe_r = -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("deployment process: pipe2");
		(void)fflush(NULL);
		_exit(EX_OSERR);
	}
	d->sigpipe_r = p[0];
	sigpipe_w = p[1];
	http_set_wake_fd(d->sigpipe_r);
	got_hup = 0;		/* reloading is the daemon's */
	/* Never touch the daemon's HTTP connections (TLS state). */
	http_fresh_connections();
}

/*
 * End the deployment process: send the verdict (one write, below
 * PIPE_BUF, so the daemon reads all of it or nothing), then _exit(): no
 * atexit handlers, no libcurl or store clean-up of what the daemon still
 * uses; the log and stdio are flushed first.
 */
static __dead void
child_exit(int fd, const struct run_verdict *v)
{
	(void)fflush(NULL);
	if (write_full(fd, v, sizeof(*v)) == -1)
		_exit(EX_IOERR);
	_exit(0);
}

/*
 * Read the verdict of a deployment process that has ended (the pipe is
 * non-blocking: a hook it left behind cannot hold us); -1: none.
 */
static int
verdict_read(int fd, struct run_verdict *v)
{
	size_t	 len = 0;
	ssize_t	 n;

	while (len < sizeof(*v)) {
		n = read(fd, (char *)v + len, sizeof(*v) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len != sizeof(*v) || v->outcome < OUT_REJECTED ||
	    v->outcome > OUT_KEPT)
		return -1;
	v->reason[sizeof(v->reason) - 1] = '\0';
	return 0;
}

/* The verdict of a deployment that ran (deploy_run() returned rv). */
static void
verdict_ran(struct run_verdict *v, enum outcome rv)
{
	memset(v, 0, sizeof(*v));
	v->outcome = rv;
	v->kind = rv == OUT_FAILED ? EK_FAILED : rv == OUT_KEPT ? EK_TEMP :
	    EK_NONE;
}

/*
 * Wait for the deployment process, passing SIGTERM on (once).  Returns
 * its wait status and fills ru, or -1 when it cannot be waited for (not
 * expected).
 */
static int
child_wait(struct daemon *d, pid_t pid, struct rusage *ru)
{
	struct pollfd	 pfd[2];
	bool		 told = false;
	int		 pidfd, status;
	pid_t		 r;

	/* Without pidfds (Linux < 5.3), waitpid() every CHILD_WAIT_MS. */
	if ((pidfd = pidfd_open(pid, 0)) == -1)
		log_debug("pidfd_open: %s; polling", strerror(errno));
	for (;;) {
		if (got_term && !told) {
			log_notice("stopping: passing SIGTERM to deployment "
			    "process %ld", (long)pid);
			(void)kill(pid, SIGTERM);
			told = true;
		}
		r = wait4(pid, &status, WNOHANG, ru);
		if (r == pid)
			break;
		if (r == -1 && errno != EINTR) {
			log_warn("waitpid %ld", (long)pid);
			status = -1;
			break;
		}
		pfd[0].fd = d->sigpipe_r;
		pfd[0].events = POLLIN;
		pfd[1].fd = pidfd;
		pfd[1].events = POLLIN;
		(void)poll(pfd, pidfd != -1 ? 2 : 1, pidfd != -1 ? -1 :
		    CHILD_WAIT_MS);
		drain_sigpipe(d);
	}
	if (pidfd != -1)
		(void)close(pidfd);
	return status;
}

/*
 * The deployment process died without an outcome: do what a restarted
 * daemon would (recover, record Interrupted), and make the message
 * visible again at once, so it is redelivered (the queue sets it aside
 * after QUEUE_MAX_RECEIVES deliveries).
 */
static void
child_crashed(struct run_group *g, const struct message *m,
    const struct queue_msg *qm, pid_t pid, int status)
{
	struct errbuf	 eb = { 0 };
	char		 how[128], note[256];

	if (status != -1 && WIFSIGNALED(status))
		(void)snprintf(how, sizeof(how), "was killed by signal %s "
		    "(SIG%s)%s", strsignal(WTERMSIG(status)),
		    sigabbrev_np(WTERMSIG(status)) != NULL ?
		    sigabbrev_np(WTERMSIG(status)) : "?",
		    WCOREDUMP(status) ? ", core dumped" : "");
	else if (status != -1 && WIFEXITED(status))
		(void)snprintf(how, sizeof(how), "exited with status %d "
		    "without an outcome", WEXITSTATUS(status));
	else
		(void)snprintf(how, sizeof(how), "was lost");
	log_warnx("deployment %s: its process %ld %s; recovering as after "
	    "a crash", m->deployment_id, (long)pid, how);
	(void)snprintf(note, sizeof(note), "the deployment process %s; "
	    "recovered by hookd", how);
	if (recover(g, note, m, &eb) == -1)
		log_warnx("cannot recover deployment %s: %s",
		    m->deployment_id, eb.msg);
	if (qm != NULL && queue_extend(g->q, qm->receipt, 0, &eb) == -1)
		log_info("message %s stays hidden until its visibility "
		    "timeout: %s", qm->id, eb.msg);
}

/*
 * The checks a message passes in its deployment process, after the
 * daemon parsed it and mapped its location: its signature (the HMAC
 * needs libcrypto, which the daemon never loads: it cannot be unloaded,
 * +2 MiB for the daemon's life), its application and group, the
 * sequence rule.  Fills *rv: OUT_SUCCEEDED to go on, OUT_REJECTED with
 * the reason, or OUT_CURRENT with the reason nothing runs; returns its
 * outcome.
 */
static enum outcome
admit(struct run_group *g, const struct message *m, struct run_verdict *rv)
{
	struct admission_verdict v;
	struct errbuf		 eb = { 0 };

	memset(rv, 0, sizeof(*rv));
	rv->outcome = OUT_SUCCEEDED;
	if (admission_check(&g->adm, m, &eb) == -1) {
		rv->outcome = OUT_REJECTED;
		rv->kind = eb.kind;
		(void)strlcpy(rv->reason, eb.msg, sizeof(rv->reason));
	} else if (admission_sequence(&g->adm, m, &v, &eb) == -1) {
		/* The engine will refuse it too; let it say why. */
		log_warnx("%s", eb.msg);
	} else if (v.seq != SEQ_RUN) {
		rv->outcome = OUT_CURRENT;
		(void)strlcpy(rv->reason, v.why, sizeof(rv->reason));
	}
	return rv->outcome;
}

/*
 * Start one message's deployment process: the child checks (admit())
 * and runs it and never returns.  Returns 0 with *ret_pid and *ret_fd
 * (the verdict pipe's read end), or -1 when no process could be made.
 */
static int
deploy_fork(struct run_group *g, const struct message *m, const char *key,
    const struct queue_msg *qm, pid_t *ret_pid, int *ret_fd)
{
	struct run_verdict v;
	pid_t		 pid = -1;
	int		 p[2] = { -1, -1 };

	(void)fflush(NULL);	/* nothing buffered is written twice */
	parent_pid = getpid();
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    (pid = fork()) == -1) {
		log_warn("cannot start a deployment process; running "
		    "deployment %s in the daemon", m->deployment_id);
		if (p[0] != -1) {
			(void)close(p[0]);
			(void)close(p[1]);
		}
		return -1;
	}
	if (pid == 0) {
		(void)close(p[0]);
		child_setup(g);
		if (admit(g, m, &v) == OUT_SUCCEEDED)
			verdict_ran(&v, deploy_run(g, m, key, qm));
		child_exit(p[1], &v);
	}
	(void)close(p[1]);
	log_debug("deployment %s runs in process %ld", m->deployment_id,
	    (long)pid);
	*ret_pid = pid;
	*ret_fd = p[0];
	return 0;
}

/*
 * A deployment process has ended with wait status 'status' (-1: lost):
 * read its verdict from fd (closed here) into *v, or handle a crash;
 * refresh what it changed.  Returns v's outcome.
 */
static enum outcome
deploy_ended(struct run_group *g, const struct message *m,
    const struct queue_msg *qm, pid_t pid, int fd, int status,
    const struct rusage *ru, struct run_verdict *v)
{
	struct daemon	*d = g->d;
	bool		 got;

	/* A verdict counts only from a process that ended by itself. */
	got = verdict_read(fd, v) == 0 && status != -1 &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0;
	(void)close(fd);
	if (got && (v->outcome == OUT_REJECTED || v->outcome == OUT_CURRENT))
		return v->outcome;
	if (status != -1)
		log_info("deployment %s: process %ld ended; peak RSS %ld KiB, "
		    "CPU %ld.%03ld s user %ld.%03ld s system", m->deployment_id,
		    (long)pid, ru->ru_maxrss, (long)ru->ru_utime.tv_sec,
		    (long)ru->ru_utime.tv_usec / 1000,
		    (long)ru->ru_stime.tv_sec,
		    (long)ru->ru_stime.tv_usec / 1000);
	if (!got) {
		child_crashed(g, m, qm, pid, status);
		verdict_ran(v, OUT_KEPT);
	}
	/* The child's writes are not ours: refresh what it changed. */
	watchdog_ping(d);
	(void)register_instance(g, false);
	timers_run(d);
	if (d->njobs == 0)
		(void)sd_notify(0, "STATUS=idle");
	return v->outcome;
}

/*
 * Check (admit()) and run one message in a deployment process and wait
 * for it.  Fills *v: OUT_REJECTED or OUT_CURRENT with the reason as
 * admit() does, what deploy_run() returned, or OUT_KEPT when the
 * process crashed; returns its outcome.
 */
static enum outcome
deploy(struct run_group *g, const struct message *m, const char *key,
    const struct queue_msg *qm, struct run_verdict *v)
{
	struct daemon	*d = g->d;
	struct rusage	 ru;
	pid_t		 pid;
	int		 fd, status;

	if (deploy_fork(g, m, key, qm, &pid, &fd) == -1) {
		if (admit(g, m, v) != OUT_SUCCEEDED)
			return v->outcome;
		verdict_ran(v, deploy_run(g, m, key, qm));
		watchdog_ping(d);
		(void)register_instance(g, false);
		timers_run(d);
		(void)sd_notify(0, "STATUS=idle");
		return v->outcome;
	}
	memset(&ru, 0, sizeof(ru));
	status = child_wait(d, pid, &ru);
	return deploy_ended(g, m, qm, pid, fd, status, &ru, v);
}

/* Acknowledge, reject or keep a message by its deployment's outcome. */
static void
handled(struct run_group *g, const struct message *m,
    const struct queue_msg *qm, enum outcome rv, const struct run_verdict *v)
{
	switch (rv) {
	case OUT_REJECTED:
		reject(g, qm, v->reason);
		refusal(g, m, PROGRESS_REJECTED, v->reason);
		break;
	case OUT_CURRENT:
		log_info("%s for deployment %s not run: %s", qm != NULL ?
		    "message" : "target.json", m->deployment_id, v->reason);
		refusal(g, m, PROGRESS_SKIPPED, v->reason);
		ack(g, qm);
		break;
	case OUT_KEPT:
		break;
	default:
		ack(g, qm);
		break;
	}
}

/*
 * Check and run one body (a queue message, or target.json when qm is
 * NULL), then acknowledge, reject or keep the message.
 */
enum outcome
handle(struct run_group *g, const char *body, size_t len,
    const struct queue_msg *qm)
{
	struct run_verdict v;
	struct message	 m;
	struct errbuf	 eb = { 0 };
	char		*key = NULL;
	enum outcome	 rv = OUT_REJECTED;

	message_init(&m);
	log_setctx(NULL, g->app, g->group);
	if (admission_parse(&g->adm, body, len, &m, &key, &eb) == -1) {
		reject(g, qm, eb.msg);
		goto out;
	}
	rv = deploy(g, &m, key, qm, &v);
	handled(g, &m, qm, rv, &v);
 out:
	free(key);
	message_release(&m);
	return rv;
}

/* --- parallel_groups: deployment processes the loop does not wait for --- */

/* One group's running deployment process (struct run_group's job). */
struct run_job {
	struct queue_msg qm;		/* moved from the loop */
	struct message	 m;
	char		*key;
	pid_t		 pid;
	int		 fd;		/* the verdict pipe */
	int		 pidfd;		/* -1: none (Linux < 5.3) */
};

static void
job_free(struct run_group *g)
{
	struct run_job	*j = g->job;

	if (j->pidfd != -1)
		(void)close(j->pidfd);
	queue_msg_release(&j->qm);
	message_release(&j->m);
	free(j->key);
	free(j);
	g->job = NULL;
	g->d->njobs--;
}

void
handle_start(struct run_group *g, struct queue_msg *qm)
{
	struct daemon	*d = g->d;
	struct run_job	*j;
	struct errbuf	 eb = { 0 };

	j = xcalloc(1, sizeof(*j));
	j->qm = *qm;
	queue_msg_init(qm);
	message_init(&j->m);
	j->pidfd = -1;
	g->job = j;
	d->njobs++;
	log_setctx(NULL, g->app, g->group);
	if (admission_parse(&g->adm, j->qm.body, j->qm.len, &j->m, &j->key,
	    &eb) == -1) {
		reject(g, &j->qm, eb.msg);
		job_free(g);
		return;
	}
	if (deploy_fork(g, &j->m, j->key, &j->qm, &j->pid, &j->fd) == -1) {
		struct run_verdict	 v;

		handled(g, &j->m, &j->qm, deploy(g, &j->m, j->key, &j->qm,
		    &v), &v);
		job_free(g);
		return;
	}
	if ((j->pidfd = pidfd_open(j->pid, 0)) == -1)
		log_debug("pidfd_open: %s; polling", strerror(errno));
	log_info("deployment %s of %s/%s: process %ld (%zu running)",
	    j->m.deployment_id, g->app, g->group, (long)j->pid, d->njobs);
}

/* Finish g's job when its process has ended (block: wait for it). */
static void
job_reap(struct run_group *g, bool block)
{
	struct run_job		*j = g->job;
	struct run_verdict	 v;
	struct rusage		 ru;
	enum outcome		 rv;
	int			 status;
	pid_t			 r;

	memset(&ru, 0, sizeof(ru));
	if (block)
		status = child_wait(g->d, j->pid, &ru);
	else {
		r = wait4(j->pid, &status, WNOHANG, &ru);
		if (r == 0 || (r == -1 && errno == EINTR))
			return;
		if (r == -1) {
			log_warn("waitpid %ld", (long)j->pid);
			status = -1;
		}
	}
	log_setctx(NULL, g->app, g->group);
	rv = deploy_ended(g, &j->m, &j->qm, j->pid, j->fd, status, &ru, &v);
	handled(g, &j->m, &j->qm, rv, &v);
	job_free(g);
}

void
jobs_reap(struct daemon *d)
{
	for (size_t i = 0; i < d->ngroups; i++)
		if (d->groups[i].job != NULL)
			job_reap(&d->groups[i], false);
}

size_t
jobs_pollfds(struct daemon *d, struct pollfd *pfd, size_t max)
{
	size_t	 n = 0;

	for (size_t i = 0; i < d->ngroups && n < max; i++) {
		if (d->groups[i].job == NULL)
			continue;
		pfd[n].fd = d->groups[i].job->pidfd;
		pfd[n].events = POLLIN;
		n++;
	}
	return n;
}

void
jobs_stop(struct daemon *d)
{
	/*
	 * Every process gets the stop (and its grace) at once; child_wait()
	 * logs it, and sends it again, harmlessly.
	 */
	for (size_t i = 0; i < d->ngroups; i++)
		if (d->groups[i].job != NULL && got_term)
			(void)kill(d->groups[i].job->pid, SIGTERM);
	for (size_t i = 0; i < d->ngroups; i++)
		if (d->groups[i].job != NULL)
			job_reap(&d->groups[i], true);
}

/*
 * Catch up from target.json (DESIGN.md boot step 4): run the group's
 * target when it is ahead of the local state.  Returns what became of it
 * (OUT_CURRENT also when the group has no target yet); an unreadable
 * target is OUT_FAILED.  The Auto Scaling launch hook (boot step 5)
 * completes CONTINUE on OUT_CURRENT/OUT_SUCCEEDED, ABANDON otherwise.
 */
enum outcome
catch_up(struct run_group *g)
{
	struct daemon	*d = g->d;
	struct errbuf	 eb = { 0 };
	char		*key, *data = NULL;
	size_t		 len;
	struct retry	 rt;
	enum outcome	 rv;
	int		 rc;

	if ((key = store_key_target(g->app, g->group, &eb)) == NULL)
		fatalx("%s: %s", __func__, eb.msg);
	retry_init(&rt, d, 0);
	for (;;) {
		rc = store_get(d->st, key, STORE_OBJECT_MAX, &data, &len, NULL,
		    &eb);
		if (rc == 0 || eb.kind == EK_NOINPUT || !transient(&eb))
			break;
		svc_result(&d->store_state, "store", rc, &eb);
		if (!retry_wait(&rt))
			break;
	}
	free(key);
	if (rc == -1) {
		if (eb.kind == EK_NOINPUT) {
			log_info("no target.json for %s/%s yet", g->app,
			    g->group);
			return OUT_CURRENT;
		}
		if (got_term)
			return OUT_KEPT;
		log_warnx("cannot read target.json of %s/%s: %s", g->app,
		    g->group, eb.msg);
		return OUT_FAILED;
	}
	svc_result(&d->store_state, "store", 0, &eb);
	rv = handle(g, data, len, NULL);
	free(data);
	return rv;
}
