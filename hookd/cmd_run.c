/* SPDX-License-Identifier: ISC */
/*
 * cmd_run.c: 'hookd run', the daemon (STYLE.md B9, DESIGN.md "Group
 * membership and catch-up").  Start-up: config, group, identity, signals,
 * the run lock, store and queue (created if missing), registration,
 * recovery of a deployment left in progress, catch-up from target.json,
 * READY=1.  Then one loop: wait for a message (spool: poll(2) on the
 * queue's inotify fd and the signal pipe; SQS: one long poll of
 * poll_wait seconds), check it, run it with the lifecycle engine while
 * writing progress to the store and extending the message's visibility,
 * write the outcome, and only then delete the message.  The run (fetch,
 * engine, outcome) happens in a child process per deployment, so what
 * it loads leaves with it ("the deployment process" below).
 *
 * Message handling in order: parse (schema), location inside the store,
 * HMAC (message_key_file), application/group, the sequence rule.  A
 * message that fails one of the checks is rejected with the reason in
 * the log (spool: failed/; SQS: left to the redrive policy).  A message
 * whose sequence is not above the installed one, or whose deployment
 * already finished here, is acknowledged without running.  An
 * Interrupted deployment (SIGTERM, kill -9) is recovered at start-up
 * and runs again when its message comes back.
 *
 * The store and queue may be unavailable: every call that must succeed
 * is retried with a backoff (1 s doubling to 30 s), and each service's
 * availability is logged once per change, not once per attempt.
 */
#include "compat.h"

#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "appspec.h"
#include "aws/client.h"
#include "aws/creds.h"
#include "aws/imds.h"
#include "backends.h"
#include "caps.h"
#include "config.h"
#include "errbuf.h"
#include "fsutil.h"
#include "hookd.h"
#include "http.h"
#include "lifecycle.h"
#include "log.h"
#include "message.h"
#include "proc.h"
#include "progress.h"
#include "queue.h"
#include "registry.h"
#include "scaleout.h"
#include "state.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

#define REGISTRY_HEARTBEAT_SEC	300	/* registry entry refresh */
#define BACKOFF_MIN_MS		1000
#define BACKOFF_MAX_MS		30000
#define AWS_CALL_TIMEOUT_MS	20000	/* per try, except long polls */
#define BOOT_EXTEND_SEC		60	/* EXTEND_TIMEOUT_USEC while booting */

static const char run_usage[] =
    "usage: hookd run [-dhn] [-c file] [-g group] [-t grace]";

/* Set by the signal handler; read by the loop and the observer. */
static volatile sig_atomic_t	 got_term;
static volatile sig_atomic_t	 got_hup;
static volatile sig_atomic_t	 in_longpoll;
static volatile sig_atomic_t	 abort_http;	/* http_set_abort_flag */
static int			 sigpipe_w = -1;

enum svc_state { SVC_UNKNOWN = 0, SVC_UP, SVC_DOWN };

struct daemon {
	struct config	 cfg;
	const char	*cfgpath;
	unsigned	 grace;		/* s: -t, else shutdown_grace */
	bool		 grace_flag;	/* -t given: reload keeps grace */
	char		*group;
	const char	*group_source;
	char		*instance;
	char		*qname;
	struct queue	*q;
	struct store	*st;
	struct imds	*imds;
	struct aws_client *aws;		/* NULL unless sqs or s3:// */
	char		*gdir;		/* ROOT/APP/GROUP */
	char		*statepath;
	char		*regkey;
	char		 started_at[STATE_TIME_LEN];
	int		 sigpipe_r;
	int		 lockfd;
	uint64_t	 wd_usec;	/* 0: no watchdog */
	struct timespec	 wd_last;
	struct timespec	 hb_last;	/* registry heartbeat */
	struct timespec	 term_at;	/* when SIGTERM was seen */
	bool		 term_seen;
	bool		 ready;		/* READY=1 sent */
	struct timespec	 extend_last;	/* EXTEND_TIMEOUT_USEC before it */
	enum svc_state	 store_state;
	enum svc_state	 queue_state;

	/* The deployment running now. */
	const struct queue_msg *msg;	/* NULL: from target.json */
	struct timespec	 ext_last;
	struct progress	 prog;
	char		*progkey;
	const char	*dep_id;
	bool		 prog_failed;	/* a progress write failed */

	/* The Auto Scaling launch hook (scale-out, boot step 5). */
	struct scaleout	 so;
	/* When the catch-up under the hook began; "": not catching up. */
	char		 catching_since[STATE_TIME_LEN];
};

/* --- time, signals, systemd --- */

static long long
ms_since(const struct timespec *t)
{
	struct timespec	 now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000LL +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void
now_mono(struct timespec *t)
{
	(void)clock_gettime(CLOCK_MONOTONIC, t);
}

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

static void
drain_sigpipe(struct daemon *d)
{
	char	 b[64];

	while (read(d->sigpipe_r, b, sizeof(b)) > 0)
		;
}

static void	so_timer(struct daemon *);	/* scale-out heartbeats */

static void
watchdog(struct daemon *d, bool force)
{
	so_timer(d);
	/*
	 * A catch-up deployment before READY=1 may outlast systemd's start
	 * timeout: extend it while the boot makes progress.
	 */
	if (!d->ready && ms_since(&d->extend_last) >=
	    BOOT_EXTEND_SEC * 1000LL / 3) {
		(void)sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu",
		    (unsigned long long)BOOT_EXTEND_SEC * 1000000ULL);
		now_mono(&d->extend_last);
	}
	if (d->wd_usec == 0)
		return;
	if (!force && ms_since(&d->wd_last) * 1000LL <
	    (long long)(d->wd_usec / 2))
		return;
	(void)sd_notify(0, "WATCHDOG=1");
	now_mono(&d->wd_last);
}

/*
 * Sleep up to ms, waking for signals and the watchdog.  Returns -1 when
 * a stop was requested.
 */
static int
nap(struct daemon *d, long long ms)
{
	struct pollfd	 pfd;
	struct timespec	 t0;
	long long	 left, step;

	now_mono(&t0);
	while (!got_term && (left = ms - ms_since(&t0)) > 0) {
		step = left;
		if (d->wd_usec != 0 && step > (long long)(d->wd_usec / 2000))
			step = (long long)(d->wd_usec / 2000);
		pfd.fd = d->sigpipe_r;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, (int)step);
		drain_sigpipe(d);
		watchdog(d, false);
	}
	return got_term ? -1 : 0;
}

static void
backoff_next(long long *ms)
{
	*ms = *ms == 0 ? BACKOFF_MIN_MS : *ms * 2;
	if (*ms > BACKOFF_MAX_MS)
		*ms = BACKOFF_MAX_MS;
}

/* Log a service's availability once per change. */
static void
svc_result(enum svc_state *s, const char *what, int rc,
    const struct errbuf *eb)
{
	if (rc == -1 && *s != SVC_DOWN) {
		log_warnx("%s unavailable: %s; retrying", what, eb->msg);
		*s = SVC_DOWN;
	} else if (rc != -1 && *s == SVC_DOWN) {
		log_notice("%s available again", what);
		*s = SVC_UP;
	} else if (rc != -1)
		*s = SVC_UP;
}

/* An outage worth waiting out (5xx, throttling, unreachable). */
static bool
transient(const struct errbuf *eb)
{
	return eb->kind == EK_TEMP || eb->kind == EK_UNAVAIL;
}

/* --- store writes --- */

/*
 * Only what must outlive a crash of this host is written 'durable': the
 * outcome of a deployment and the registry entry at start.  What comes
 * between is replaced by a later write, or rewritten at the restart
 * (store_put_volatile: on a file:// store, two fsyncs fewer per write,
 * the file's and its directory's).
 */
static int
store_put_logged(struct daemon *d, const char *key, const char *text,
    size_t len, bool durable, struct errbuf *eb)
{
	int	 rc;

	rc = durable ? store_put(d->st, key, text, len, NULL, eb) :
	    store_put_volatile(d->st, key, text, len, eb);
	svc_result(&d->store_state, "store", rc, eb);
	return rc;
}

/*
 * Another daemon writing our registry entry (the same instance id
 * twice): say so in the log and in the entry (ri's dup_* from *peer).
 */
static void
registry_peer(struct daemon *d, struct registry_info *ri,
    struct registry_peer *peer)
{
	static bool	 started;
	struct errbuf	 eb = { 0 };

	if (registry_peer_check(d->st, d->regkey, !started, peer, &eb) == 1) {
		log_warnx("another hookd (boot id %s, host %s, pid %ld) "
		    "writes the registry entry of instance '%s': two hosts "
		    "have the same instance id", peer->boot_id,
		    peer->hostname, peer->pid, d->instance);
		ri->dup_boot_id = peer->boot_id;
		ri->dup_hostname = peer->hostname;
		ri->dup_pid = peer->pid;
		ri->dup_last_seen = peer->last_seen;
	}
	started = true;
}

/* Write the registry entry; best effort unless 'must' (then retried). */
static int
register_instance(struct daemon *d, bool must)
{
	struct registry_peer	 peer;
	struct registry_info	 ri;
	struct state		 st;
	struct errbuf		 eb = { 0 };
	long long		 delay = 0;
	char			*text;
	size_t			 len;
	int			 rc;

	memset(&ri, 0, sizeof(ri));
	state_init(&st);
	if (state_load(d->statepath, &st, &eb) == -1) {
		log_warnx("%s, ignoring", eb.msg);
		state_init(&st);
	}
	ri.instance = d->instance;
	ri.application = d->cfg.application;
	ri.group = d->group;
	ri.queue = d->qname;
	ri.queue_backend = d->q->ops->scheme;
	ri.started_at = d->started_at;
	ri.current_id = st.current.deployment_id;
	ri.current_sequence = st.current.sequence;
	ri.in_progress_id = d->dep_id;
	if (d->catching_since[0] != '\0') {
		ri.catching_up_since = d->catching_since;
		ri.lifecycle_hook = d->so.hook;
		ri.auto_scaling_group = d->so.group;
		ri.heartbeat_timeout = d->so.heartbeat_timeout;
	}
	ri.last_sequence = st.last_sequence;
	registry_peer(d, &ri, &peer);
	text = registry_dump(&ri, &len);
	for (;;) {
		rc = store_put_logged(d, d->regkey, text, len, must, &eb);
		if (rc == 0 || !must || !transient(&eb))
			break;
		backoff_next(&delay);
		if (nap(d, delay) == -1)
			break;
	}
	if (rc == -1 && !transient(&eb))
		log_warnx("cannot register in the store: %s", eb.msg);
	free(text);
	state_release(&st);
	now_mono(&d->hb_last);
	return rc;
}

/* Write the progress document; with 'must', retry until it is stored. */
static int
write_progress(struct daemon *d, bool must)
{
	struct errbuf	 eb = { 0 };
	long long	 delay = 0;
	char		*text;
	size_t		 len;
	int		 rc;

	if (d->progkey == NULL)
		return 0;
	text = progress_dump(&d->prog, &len);
	for (;;) {
		rc = store_put_logged(d, d->progkey, text, len, must, &eb);
		if (rc == 0 || !must || !transient(&eb))
			break;
		backoff_next(&delay);
		/* The outcome must be written: ride out a stop too. */
		if (got_term && delay >= BACKOFF_MAX_MS)
			break;
		(void)nap(d, got_term ? 200 : delay);
	}
	if (rc == -1 && !transient(&eb))
		log_warnx("cannot write '%s': %s", d->progkey, eb.msg);
	d->prog_failed = rc == -1;
	free(text);
	return rc;
}

/* --- the observer --- */

static void
extend_visibility(struct daemon *d, bool force)
{
	struct errbuf	 eb = { 0 };
	unsigned	 every = d->q->visibility / 3;
	int		 rc;

	if (d->msg == NULL)
		return;
	if (every == 0)
		every = 1;
	if (!force && ms_since(&d->ext_last) < (long long)every * 1000)
		return;
	rc = queue_extend(d->q, d->msg->receipt, d->q->visibility, &eb);
	if (rc == -1 && eb.kind == EK_NOINPUT)
		log_warnx("message of deployment %s: %s", d->dep_id, eb.msg);
	else
		svc_result(&d->queue_state, "queue", rc, &eb);
	if (rc == 0)
		log_debug("visibility of %s extended by %u s", d->dep_id,
		    d->q->visibility);
	now_mono(&d->ext_last);
}

static void
check_stop(struct daemon *d)
{
	if (!got_term)
		return;
	if (!d->term_seen) {
		d->term_seen = true;
		now_mono(&d->term_at);
		log_notice("stopping: deployment %s gets up to %u s to finish "
		    "its running hook", d->dep_id, d->grace);
		(void)sd_notify(0, "STOPPING=1");
	}
	if (!proc_stop_requested() &&
	    ms_since(&d->term_at) >= (long long)d->grace * 1000) {
		log_warnx("stopping: grace of %u s is over, stopping the "
		    "hook of deployment %s", d->grace, d->dep_id);
		proc_request_stop();
	}
}

static void
ob_event_start(void *arg, enum lc_event ev, bool rollback)
{
	struct daemon	*d = arg;

	log_setevent(lc_event_name(ev), NULL);
	(void)sd_notifyf(0, "STATUS=deploying %s %s%s", d->dep_id,
	    lc_event_name(ev), rollback ? " (rollback)" : "");
	progress_event_start(&d->prog, lc_event_name(ev), rollback);
	(void)write_progress(d, false);
	/* After SIGTERM, the next event does not start: stop here. */
	if (got_term && !rollback) {
		check_stop(d);
		proc_request_stop();
	}
	watchdog(d, false);
}

/*
 * A deployment that failed before its events ran (the bundle could not
 * be fetched, or was refused: limits, digest, appspec) failed in the
 * work of DownloadBundle: progress names that event, as CodeDeploy does.
 */
static void
progress_bundle_failed(struct daemon *d, const struct timespec *t0,
    const char *msg)
{
	struct deploy_event	 de;
	struct timespec		 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	memset(&de, 0, sizeof(de));
	de.event = LC_DOWNLOAD_BUNDLE;
	de.status = DEPLOY_EVENT_FAILED;
	de.duration = (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
	de.outcome = msg;
	de.tail = "";
	progress_event_start(&d->prog, lc_event_name(LC_DOWNLOAD_BUNDLE),
	    false);
	progress_event_end(&d->prog, &de);
	progress_set(&d->prog, "Failed", msg);
}

static void
ob_script(void *arg, enum lc_event ev, const char *script)
{
	log_setevent(lc_event_name(ev), script);
	log_info("%s: running '%s'", lc_event_name(ev), script);
}

static void
ob_event_end(void *arg, const struct deploy_event *de)
{
	struct daemon	*d = arg;
	const char	*name = lc_event_name(de->event);

	if (de->status == DEPLOY_EVENT_FAILED)
		log_warnx("%s%s failed: %s%s%s", name, de->rollback ?
		    " (rollback)" : "", de->script != NULL ? de->script : "",
		    de->script != NULL ? ": " : "",
		    de->outcome != NULL ? de->outcome : "");
	else
		log_info("%s%s %s (%.2f s)", name, de->rollback ?
		    " (rollback)" : "", deploy_event_status_name(de->status),
		    de->duration);
	progress_event_end(&d->prog, de);
	(void)write_progress(d, false);
	log_setevent(NULL, NULL);
	watchdog(d, false);
}

static void
ob_tick(void *arg)
{
	struct daemon	*d = arg;

	watchdog(d, false);
	extend_visibility(d, false);
	check_stop(d);
	drain_sigpipe(d);
	if (ms_since(&d->hb_last) >= (long long)REGISTRY_HEARTBEAT_SEC * 1000)
		(void)register_instance(d, false);
}

static void
ob_recover(void *arg, const char *id, const char *phase)
{
	log_notice("recovering interrupted deployment %s (it was in %s)", id,
	    phase != NULL ? phase : "an unknown phase");
}

static void
observer(struct daemon *d, struct deploy_observer *o)
{
	memset(o, 0, sizeof(*o));
	o->on_event_start = ob_event_start;
	o->on_script = ob_script;
	o->on_event_end = ob_event_end;
	o->on_tick = ob_tick;
	o->on_recover = ob_recover;
	o->arg = d;
}

static void
spec_for(struct daemon *d, struct deploy_spec *sp)
{
	deploy_spec_init(sp);
	sp->root = d->cfg.root;
	sp->application = d->cfg.application;
	sp->group = d->group;
	sp->keep_releases = d->cfg.keep_releases;
	sp->limits.max_bytes = d->cfg.max_bundle_bytes;
	sp->limits.max_entries = d->cfg.max_bundle_entries;
}

/* --- one message --- */

static int	recover(struct daemon *, const char *, const struct message *,
		    struct errbuf *);

enum verdict { V_RUN, V_ACK };

/*
 * What became of one message or target.json; the catch-up at start-up
 * (and the Auto Scaling completion after it) acts on this.
 */
enum outcome {
	OUT_REJECTED,		/* failed a check; never run */
	OUT_CURRENT,		/* nothing to run: already installed */
	OUT_SUCCEEDED,
	OUT_FAILED,
	OUT_KEPT,		/* interrupted or postponed; runs later */
};

/* The sequence rule of DESIGN.md against the local state. */
static enum verdict
sequence_rule(struct daemon *d, const struct message *m, char *why,
    size_t whylen)
{
	struct state	 st;
	struct errbuf	 eb = { 0 };
	enum verdict	 v = V_RUN;

	state_init(&st);
	if (state_load(d->statepath, &st, &eb) == -1) {
		/* The engine will refuse it too; let it say why. */
		log_warnx("%s", eb.msg);
		return V_RUN;
	}
	for (size_t i = 0; i < st.nhistory; i++) {
		const struct state_hist	*h = &st.history[i];

		if (h->deployment_id == NULL ||
		    strcmp(h->deployment_id, m->deployment_id) != 0)
			continue;
		if (i == 0 && h->status != NULL &&
		    strcmp(h->status, "Interrupted") == 0 &&
		    m->sequence == st.last_sequence)
			goto out;	/* resume it */
		(void)snprintf(why, whylen, "deployment %s already finished "
		    "here (%s)", m->deployment_id, h->status != NULL ?
		    h->status : "?");
		v = V_ACK;
		goto out;
	}
	if (st.current.deployment_id != NULL &&
	    strcmp(st.current.deployment_id, m->deployment_id) == 0) {
		(void)snprintf(why, whylen, "deployment %s is the live one",
		    m->deployment_id);
		v = V_ACK;
	} else if (m->sequence <= st.last_sequence) {
		(void)snprintf(why, whylen, "sequence %llu is not above the "
		    "installed sequence %llu",
		    (unsigned long long)m->sequence,
		    (unsigned long long)st.last_sequence);
		v = V_ACK;
	}
 out:
	state_release(&st);
	return v;
}

/* Fetch the bundle into ROOT/cache; *ret_path new.  Retries outages. */
static int
fetch_bundle(struct daemon *d, const struct message *m, const char *key,
    char **ret_path, struct errbuf *eb)
{
	const char	*ext;
	char		*dir, *path, *tmp;
	long long	 delay = 0;
	int		 rc;

	switch (m->format) {
	case BUNDLE_TAR:
		ext = ".tar";
		break;
	case BUNDLE_ZIP:
		ext = ".zip";
		break;
	default:
		ext = ".tar.gz";
		break;
	}
	dir = xasprintf("%s/cache", d->cfg.root);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		errbuf_errno(eb, EK_IO, "cannot create '%s'", dir);
		free(dir);
		return -1;
	}
	path = xasprintf("%s/%s%s", dir, m->deployment_id, ext);
	tmp = xasprintf("%s/.%s%s.tmp", dir, m->deployment_id, ext);
	free(dir);
	for (;;) {
		rc = store_get_file(d->st, key, tmp, m->sha256,
		    d->cfg.max_bundle_bytes, NULL, eb);
		svc_result(&d->store_state, "store", rc, eb);
		if (rc == 0 || !transient(eb))
			break;
		backoff_next(&delay);
		extend_visibility(d, false);
		if (nap(d, delay) == -1)
			break;
	}
	if (rc == 0 && rename(tmp, path) == -1)
		rc = errbuf_errno(eb, EK_IO, "cannot rename '%s'", tmp);
	if (rc == -1) {
		(void)unlink(tmp);
		free(path);
	} else
		*ret_path = path;
	free(tmp);
	return rc;
}

/* Acknowledge the message, retrying outages. */
static void
ack(struct daemon *d, const struct queue_msg *qm)
{
	struct errbuf	 eb = { 0 };
	long long	 delay = 0;
	int		 rc;

	if (qm == NULL)
		return;
	for (;;) {
		rc = queue_delete(d->q, qm->receipt, &eb);
		if (rc == 0)
			break;
		if (eb.kind == EK_NOINPUT) {
			/* Redelivered already: the sequence rule acks it. */
			log_warnx("cannot delete message %s: %s", qm->id,
			    eb.msg);
			return;
		}
		svc_result(&d->queue_state, "queue", rc, &eb);
		backoff_next(&delay);
		if (nap(d, delay) == -1)
			return;
	}
	svc_result(&d->queue_state, "queue", 0, &eb);
	log_debug("message %s deleted", qm->id);
}

/*
 * The queue set a message aside without delivering it (spool: too big,
 * delivered too often, not a spool file name): the only place the
 * operator hears of it.  The strings come quoted from lib/queue.
 */
static void
on_aside(void *arg, const char *file, const char *moved_to,
    const char *reason)
{
	struct daemon	*d = arg;

	log_warnx("queue '%s': message file '%s' set aside as failed/%s: %s",
	    d->qname, file, moved_to, reason);
}

static void
reject(struct daemon *d, const struct queue_msg *qm, const char *reason)
{
	struct errbuf	 eb = { 0 };

	if (qm == NULL) {
		log_warnx("target.json rejected: %s", reason);
		return;
	}
	log_warnx("message %s rejected (delivery %u): %s", qm->id,
	    qm->receive_count, reason);
	if (queue_reject(d->q, qm, reason, &eb) == -1)
		log_warnx("cannot reject message %s: %s", qm->id, eb.msg);
}

/*
 * Run one checked message: the deployment process's work (see
 * deploy()).  Returns OUT_KEPT when the message must stay in the queue
 * (stopped, or the engine was busy), else OUT_SUCCEEDED or OUT_FAILED
 * with the outcome written to the store.
 */
static enum outcome
deploy_run(struct daemon *d, const struct message *m, const char *key,
    const struct queue_msg *qm)
{
	struct deploy_observer	 obs;
	struct deploy_result	 res, rres;
	struct deploy_spec	 spec;
	struct errbuf		 eb = { 0 };
	struct timespec		 t0;
	char			*bundle = NULL;
	enum outcome		 rv = OUT_FAILED;

	d->msg = qm;
	d->dep_id = m->deployment_id;
	now_mono(&d->ext_last);
	log_setctx(m->deployment_id, d->cfg.application, d->group);
	log_notice("deployment %s (sequence %llu, revision %s%s%s) started",
	    m->deployment_id, (unsigned long long)m->sequence, m->sha256,
	    m->commit[0] != '\0' ? ", commit " : "", m->commit);
	(void)sd_notifyf(0, "STATUS=deploying %s DownloadBundle",
	    m->deployment_id);
	d->progkey = store_key_deployment_instance(d->cfg.application,
	    d->group, m->deployment_id, d->instance, &eb);
	if (d->progkey == NULL)
		fatalx("%s: %s", __func__, eb.msg);	/* names were checked */
	progress_init(&d->prog, d->cfg.application, d->group, d->instance,
	    m->deployment_id, m->sequence, m->commit, m->sha256);
	(void)write_progress(d, false);
	(void)register_instance(d, false);

	deploy_result_init(&res);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fetch_bundle(d, m, key, &bundle, &eb) == -1) {
		if (got_term) {
			rv = OUT_KEPT;
			goto out;
		}
		log_warnx("deployment %s failed: cannot fetch the bundle: %s",
		    m->deployment_id, eb.msg);
		progress_bundle_failed(d, &t0, eb.msg);
		goto done;
	}
	spec_for(d, &spec);
	spec.deployment_id = m->deployment_id;
	spec.sequence = m->sequence;
	spec.bundle = bundle;
	spec.sha256 = m->sha256;
	spec.commit = m->commit[0] != '\0' ? m->commit : NULL;
	spec.ignore_stop_failures = m->ignore_stop_failures;
	observer(d, &obs);
	if (lifecycle_deploy(&spec, &obs, &res, &eb) == -1) {
		if (eb.kind == EK_TEMP) {
			log_warnx("deployment %s postponed: %s",
			    m->deployment_id, eb.msg);
			rv = OUT_KEPT;
			goto out;
		}
		log_warnx("deployment %s failed: %s", m->deployment_id,
		    eb.msg);
		if (res.failed_event == LC_DOWNLOAD_BUNDLE)
			progress_bundle_failed(d, &t0, eb.msg);
		else
			progress_set(&d->prog, "Failed", eb.msg);
		goto done;
	}
	progress_finish(&d->prog, &res);
	switch (res.status) {
	case DEPLOY_SUCCEEDED:
		log_notice("deployment %s succeeded", m->deployment_id);
		rv = OUT_SUCCEEDED;
		break;
	case DEPLOY_FAILED:
		log_warnx("deployment %s failed: %s%s%s%s%s%s",
		    m->deployment_id, res.failed_event >= 0 ?
		    lc_event_name((enum lc_event)res.failed_event) : "",
		    res.failed_event >= 0 ? ": " : "",
		    res.script != NULL ? res.script : "",
		    res.script != NULL ? ": " : "",
		    res.outcome != NULL ? res.outcome : "unknown error",
		    res.rolled_back_to != NULL ? "; rolled back" : "");
		break;
	default:
		/* Stopped by SIGTERM: put the host back now, keep the msg. */
		log_warnx("deployment %s interrupted; putting the previous "
		    "release back", m->deployment_id);
		proc_stop_clear();
		if (lifecycle_recover(&spec, &obs, &rres, &eb) == -1)
			log_warnx("cannot recover deployment %s: %s",
			    m->deployment_id, eb.msg);
		deploy_result_release(&rres);
		progress_set(&d->prog, "Interrupted", "hookd stopped during "
		    "the deployment; it runs again when its message is "
		    "delivered again");
		rv = OUT_KEPT;
		break;
	}
 done:
	(void)write_progress(d, true);
 out:
	if (bundle != NULL) {
		(void)unlink(bundle);
		free(bundle);
	}
	deploy_result_release(&res);
	d->msg = NULL;
	d->dep_id = NULL;
	progress_release(&d->prog);
	free(d->progkey);
	d->progkey = NULL;
	log_setctx(NULL, d->cfg.application, d->group);
	return rv;
}

/* --- the deployment process --- */

/*
 * Each deployment runs in a child process (issue 9).  What a deployment
 * loads (libarchive with libxml2, ICU and libstdc++; OpenSSL's EVP
 * tables) cannot be unloaded, so it dies with the child and the daemon
 * stays at its idle size; a crash in extraction kills the child, not
 * the daemon.  The daemon keeps the queue, the registry, signals and
 * systemd.  The child checks the message (admit(): its signature, so
 * that the daemon never loads libcrypto, then its target and the
 * sequence rule), runs deploy_run() and ends with _exit(CHILD_EXIT + the
 * outcome), passing the reason of a refusal back through a pipe; any
 * other end (a signal, fatal(), a failed set-up) is a
 * crash, which the daemon handles as at boot: recover(), and the
 * message is kept and made visible again at once.
 *
 * While a child runs, the daemon neither pings the watchdog nor writes
 * the registry: the child does both from its observer as the daemon
 * did before (NotifyAccess=all in the unit), so a hung deployment is
 * still caught by the watchdog.  SIGTERM is passed to the child, which
 * gives its hook the grace and records the deployment Interrupted;
 * SIGHUP waits until the child is done.
 */
#define CHILD_EXIT	100	/* + enum outcome: a deployment's end */
#define CHILD_WAIT_MS	200	/* waitpid polling without a pidfd */

static pid_t	 parent_pid;	/* the daemon, in a deployment process */

/* Right after fork(), in the child; exits when it cannot go on. */
static void
child_setup(struct daemon *d)
{
	int	 p[2], w;

	/*
	 * The daemon's run lock is a flock on an open file description
	 * we share: hold it no longer, or a daemon restarted after a
	 * kill -9 of ours would find it taken.
	 */
	if (d->lockfd != -1) {
		(void)close(d->lockfd);
		d->lockfd = -1;
	}
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
 * End the deployment process.  _exit(): no atexit handlers, no libcurl
 * or store clean-up of what the daemon still uses; the log and stdio
 * are flushed first.
 */
static __dead void
child_exit(enum outcome rv)
{
	(void)fflush(NULL);
	_exit(CHILD_EXIT + (int)rv);
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
child_crashed(struct daemon *d, const struct message *m,
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
	if (recover(d, note, m, &eb) == -1)
		log_warnx("cannot recover deployment %s: %s",
		    m->deployment_id, eb.msg);
	if (qm != NULL && queue_extend(d->q, qm->receipt, 0, &eb) == -1)
		log_info("message %s stays hidden until its visibility "
		    "timeout: %s", qm->id, eb.msg);
}

/*
 * The checks a message passes in its deployment process, after the
 * daemon parsed it and mapped its location: its signature (the HMAC
 * needs libcrypto, which the daemon never loads: it cannot be unloaded,
 * +2 MiB for the daemon's life), its application and group, the
 * sequence rule.  Returns OUT_SUCCEEDED to go on, OUT_REJECTED with the
 * reason in why, or OUT_CURRENT with why saying why nothing runs.
 */
static enum outcome
admit(struct daemon *d, const struct message *m, char *why, size_t whylen)
{
	struct errbuf	 eb = { 0 };

	if ((d->cfg.message_key != NULL && message_verify(m,
	    d->cfg.message_key, d->cfg.message_key_len, &eb) == -1) ||
	    message_check_target(m, d->cfg.application, d->group,
	    &eb) == -1) {
		(void)strlcpy(why, eb.msg, whylen);
		return OUT_REJECTED;
	}
	if (sequence_rule(d, m, why, whylen) == V_ACK)
		return OUT_CURRENT;
	return OUT_SUCCEEDED;
}

/*
 * Check (admit()) and run one message in a deployment process and wait
 * for it.  Returns OUT_REJECTED or OUT_CURRENT with why set as admit()
 * does (the process passes why back through a pipe), what deploy_run()
 * returned, or OUT_KEPT when the process crashed.
 */
static enum outcome
deploy(struct daemon *d, const struct message *m, const char *key,
    const struct queue_msg *qm, char *why, size_t whylen)
{
	struct rusage	 ru;
	enum outcome	 rv;
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid = -1;
	int		 p[2] = { -1, -1 }, status;

	why[0] = '\0';
	(void)fflush(NULL);	/* nothing buffered is written twice */
	parent_pid = getpid();
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		log_warn("cannot start a deployment process; running "
		    "deployment %s in the daemon", m->deployment_id);
		if (p[0] != -1) {
			(void)close(p[0]);
			(void)close(p[1]);
		}
		if ((rv = admit(d, m, why, whylen)) != OUT_SUCCEEDED)
			return rv;
		rv = deploy_run(d, m, key, qm);
		goto done;
	}
	if (pid == 0) {
		(void)close(p[0]);
		child_setup(d);
		if ((rv = admit(d, m, why, whylen)) != OUT_SUCCEEDED) {
			(void)write_full(p[1], why, strlen(why));
			child_exit(rv);
		}
		(void)close(p[1]);
		child_exit(deploy_run(d, m, key, qm));
	}
	(void)close(p[1]);
	log_debug("deployment %s runs in process %ld", m->deployment_id,
	    (long)pid);
	memset(&ru, 0, sizeof(ru));
	status = child_wait(d, pid, &ru);
	while (len < whylen - 1) {
		n = read(p[0], why + len, whylen - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	why[len] = '\0';
	(void)close(p[0]);
	if (status != -1 && WIFEXITED(status) &&
	    (WEXITSTATUS(status) == CHILD_EXIT + OUT_REJECTED ||
	    WEXITSTATUS(status) == CHILD_EXIT + OUT_CURRENT))
		return (enum outcome)(WEXITSTATUS(status) - CHILD_EXIT);
	if (status != -1)
		log_info("deployment %s: process %ld ended; peak RSS %ld KiB, "
		    "CPU %ld.%03ld s user %ld.%03ld s system", m->deployment_id,
		    (long)pid, ru.ru_maxrss, (long)ru.ru_utime.tv_sec,
		    (long)ru.ru_utime.tv_usec / 1000, (long)ru.ru_stime.tv_sec,
		    (long)ru.ru_stime.tv_usec / 1000);
	if (status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) >= CHILD_EXIT + OUT_SUCCEEDED &&
	    WEXITSTATUS(status) <= CHILD_EXIT + OUT_KEPT)
		rv = (enum outcome)(WEXITSTATUS(status) - CHILD_EXIT);
	else {
		child_crashed(d, m, qm, pid, status);
		rv = OUT_KEPT;
	}
 done:
	/* The child's writes are not ours: refresh what it changed. */
	watchdog(d, true);
	(void)register_instance(d, false);
	(void)sd_notify(0, "STATUS=idle");
	return rv;
}

/* Tell the deployer at once why m is not run here (registry.h). */
static void
refusal(struct daemon *d, const struct message *m, const char *status,
    const char *why)
{
	struct errbuf	 eb = { 0 };
	char		*reason;

	reason = xasprintf("%s: %s", status, why);
	if (progress_write_refusal(d->st, m, d->instance, status, reason,
	    &eb) == -1)
		log_warnx("deployment %s: cannot say why it is not run: %s",
		    m->deployment_id, eb.msg);
	free(reason);
}

/*
 * Check and run one body (a queue message, or target.json when qm is
 * NULL), then acknowledge, reject or keep the message.
 */
static enum outcome
handle(struct daemon *d, const char *body, size_t len,
    const struct queue_msg *qm)
{
	struct message	 m;
	struct errbuf	 eb = { 0 };
	char		 why[512];
	char		*key = NULL;
	const char	*src = qm != NULL ? "message" : "target.json";
	enum outcome	 rv = OUT_REJECTED;

	message_init(&m);
	if (message_parse(body, len, &m, &eb) == -1) {
		reject(d, qm, eb.msg);
		goto out;
	}
	if (message_check_location(&m, d->cfg.store, &key, &eb) == -1) {
		reject(d, qm, eb.msg);
		refusal(d, &m, PROGRESS_REJECTED, eb.msg);
		goto out;
	}
	rv = deploy(d, &m, key, qm, why, sizeof(why));
	switch (rv) {
	case OUT_REJECTED:
		reject(d, qm, why);
		refusal(d, &m, PROGRESS_REJECTED, why);
		break;
	case OUT_CURRENT:
		log_info("%s for deployment %s not run: %s", src,
		    m.deployment_id, why);
		refusal(d, &m, PROGRESS_SKIPPED, why);
		ack(d, qm);
		break;
	case OUT_KEPT:
		break;
	default:
		ack(d, qm);
		break;
	}
 out:
	free(key);
	message_release(&m);
	return rv;
}

/* --- start-up --- */

static int
tag_fn(void *arg, const char *tag, char **ret_value, struct errbuf *eb)
{
	struct daemon	*d = arg;
	struct errbuf	 e2 = { 0 };

	*ret_value = NULL;
	if (!imds_enabled(d->imds))
		return 0;
	if (imds_tag(d->imds, tag, ret_value, &e2) == -1) {
		*ret_value = NULL;
		log_debug("EC2 tag '%s': %s", tag, e2.msg);
	}
	return 0;
}

static int
identity(struct daemon *d, struct errbuf *eb)
{
	char		 host[HOST_NAME_MAX + 1];
	char		*id = NULL;
	const char	*src;
	struct errbuf	 e2 = { 0 };

	if (d->cfg.instance_id != NULL) {
		id = xstrdup(d->cfg.instance_id);
		src = "hookd.yml instance_id";
	} else if (imds_enabled(d->imds) &&
	    imds_instance_id(d->imds, &id, &e2) == 0) {
		src = "instance metadata";
	} else {
		if (imds_enabled(d->imds))
			log_info("no instance id from instance metadata (%s); "
			    "using the host name", e2.msg);
		if (gethostname(host, sizeof(host)) == -1)
			return errbuf_errno(eb, EK_OS, "gethostname");
		host[sizeof(host) - 1] = '\0';
		id = xstrdup(host);
		src = "host name";
	}
	if (msg_check_name("instance id", id, eb) == -1) {
		free(id);
		eb->kind = EK_CONFIG;
		return -1;
	}
	d->instance = id;
	log_info("instance '%s' (from %s)", id, src);
	return 0;
}

static int
take_lock(struct daemon *d, struct errbuf *eb)
{
	char	*path, pid[32];
	int	 fd;

	path = xasprintf("%s/.hookd-run.%s.%s.lock", d->cfg.root,
	    d->cfg.application, d->group);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		errbuf_errno(eb, EK_IO, "cannot open '%s'", path);
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		errbuf_set(eb, EK_TEMP, "another 'hookd run' serves %s/%s "
		    "('%s' is locked)", d->cfg.application, d->group, path);
		close(fd);
		free(path);
		return -1;
	}
	(void)snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, pid, strlen(pid)) == -1)
		log_warn("cannot write '%s', ignoring", path);
	free(path);
	d->lockfd = fd;
	return 0;
}

static int
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
		return errbuf_errno(eb, EK_OS, "sigaction");
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return errbuf_errno(eb, EK_OS, "sigaction");
	return 0;
}

/* Create the queue, retrying outages until it exists or we stop. */
static int
ensure_queue(struct daemon *d, struct errbuf *eb)
{
	long long	 delay = 0;
	int		 rc;

	for (;;) {
		rc = queue_ensure(d->q, eb);
		if (rc == 0 || !transient(eb))
			break;
		svc_result(&d->queue_state, "queue", rc, eb);
		backoff_next(&delay);
		if (nap(d, delay) == -1)
			return -1;
	}
	if (rc == 0)
		svc_result(&d->queue_state, "queue", rc, eb);
	return rc;
}

/* Write the progress document of an interrupted deployment. */
static void
progress_interrupted(struct daemon *d, const char *id, uint64_t seq,
    const char *commit, const char *sha256, const char *note)
{
	struct errbuf	 eb = { 0 };

	d->progkey = store_key_deployment_instance(d->cfg.application,
	    d->group, id, d->instance, &eb);
	if (d->progkey == NULL)
		return;
	progress_init(&d->prog, d->cfg.application, d->group, d->instance,
	    id, seq, commit, sha256);
	progress_set(&d->prog, "Interrupted", note);
	(void)write_progress(d, true);
	progress_release(&d->prog);
	free(d->progkey);
	d->progkey = NULL;
}

/*
 * Recover a deployment left in progress and write its outcome (note).
 * When nothing was in progress and m is given (its deployment process
 * died before it began), m's outcome is written Interrupted instead.
 */
static int
recover(struct daemon *d, const char *note, const struct message *m,
    struct errbuf *eb)
{
	struct deploy_observer	 obs;
	struct deploy_result	 res;
	struct deploy_spec	 spec;

	spec_for(d, &spec);
	observer(d, &obs);
	if (lifecycle_recover(&spec, &obs, &res, eb) == -1) {
		deploy_result_release(&res);
		return -1;
	}
	if (res.status == DEPLOY_RECOVERED) {
		log_notice("deployment %s (sequence %llu) was interrupted; "
		    "%s", res.deployment_id,
		    (unsigned long long)res.sequence,
		    res.rolled_back_to != NULL ? "rolled back" :
		    "nothing to undo");
		progress_interrupted(d, res.deployment_id, res.sequence,
		    NULL, NULL, note);
	} else if (m != NULL)
		progress_interrupted(d, m->deployment_id, m->sequence,
		    m->commit[0] != '\0' ? m->commit : NULL, m->sha256, note);
	deploy_result_release(&res);
	return 0;
}

/*
 * Catch up from target.json (DESIGN.md boot step 4): run the group's
 * target when it is ahead of the local state.  Returns what became of it
 * (OUT_CURRENT also when the group has no target yet); an unreadable
 * target is OUT_FAILED.  The Auto Scaling launch hook (boot step 5)
 * completes CONTINUE on OUT_CURRENT/OUT_SUCCEEDED, ABANDON otherwise.
 */
static enum outcome
catch_up(struct daemon *d)
{
	struct errbuf	 eb = { 0 };
	char		*key, *data = NULL;
	size_t		 len;
	long long	 delay = 0;
	enum outcome	 rv;
	int		 rc;

	if ((key = store_key_target(d->cfg.application, d->group,
	    &eb)) == NULL)
		fatalx("%s: %s", __func__, eb.msg);
	for (;;) {
		rc = store_get(d->st, key, STORE_OBJECT_MAX, &data, &len, NULL,
		    &eb);
		if (rc == 0 || eb.kind == EK_NOINPUT || !transient(&eb))
			break;
		svc_result(&d->store_state, "store", rc, &eb);
		backoff_next(&delay);
		if (nap(d, delay) == -1)
			break;
	}
	free(key);
	if (rc == -1) {
		if (eb.kind == EK_NOINPUT) {
			log_info("no target.json for %s/%s yet",
			    d->cfg.application, d->group);
			return OUT_CURRENT;
		}
		if (got_term)
			return OUT_KEPT;
		log_warnx("cannot read target.json: %s", eb.msg);
		return OUT_FAILED;
	}
	svc_result(&d->store_state, "store", 0, &eb);
	rv = handle(d, data, len, NULL);
	free(data);
	return rv;
}

/* --- scale-out: the Auto Scaling launch hook (issue 7, scaleout.h) --- */

#define SO_TRIES	8	/* begin/complete attempts, with backoff */

/*
 * The heartbeat timer: watchdog() calls it, so it runs on every observer
 * tick and every nap of the boot's retry loops.
 */
static void
so_timer(struct daemon *d)
{
	struct errbuf	 eb = { 0 };
	long long	 every;
	int		 rc;

	if (d->so.state != SO_PENDING)
		return;
	/*
	 * Keep the entry that says "catching up" fresh (progress.h): with
	 * each lifecycle heartbeat, so a reader can trust the mark only
	 * while last_seen is within the hook's heartbeat timeout.
	 */
	every = (long long)REGISTRY_HEARTBEAT_SEC * 1000;
	if (d->so.heartbeat_every_ms > 0 && d->so.heartbeat_every_ms < every)
		every = d->so.heartbeat_every_ms;
	if (d->catching_since[0] != '\0' && ms_since(&d->hb_last) >= every)
		(void)register_instance(d, false);
	rc = scaleout_tick(&d->so, false, &eb);
	if (rc == SCALEOUT_SENT)
		log_info("lifecycle hook '%s': heartbeat %u sent",
		    d->so.hook, d->so.heartbeats);
	else if (rc == SCALEOUT_GONE)
		log_warnx("lifecycle hook '%s': %s; the instance no longer "
		    "waits for it", d->so.hook, eb.msg);
	else if (rc == -1)
		log_warnx("lifecycle hook '%s': heartbeat failed: %s; "
		    "retrying", d->so.hook, eb.msg);
}

/*
 * Whether the host is behind although the target was not run: a newer
 * deployment than the live one was tried here and did not succeed
 * (hookd restarted after a failed catch-up).
 */
static bool
so_behind(struct daemon *d)
{
	struct state	 st;
	struct errbuf	 eb = { 0 };
	bool		 behind;

	state_init(&st);
	if (state_load(d->statepath, &st, &eb) == -1) {
		log_warnx("%s", eb.msg);
		return true;
	}
	behind = st.last_sequence > st.current.sequence;
	state_release(&st);
	return behind;
}

/*
 * Mark the registry entry as catching up under the launch hook (on), or
 * not any more (off), and write it at once, best effort: a failed write
 * is logged by register_instance(), and the next write (the catch-up's
 * progress, the periodic refresh) carries the mark.  A daemon that dies
 * while marked leaves a mark that readers trust only while the entry is
 * fresh; the next start registers without it.
 */
static void
so_mark(struct daemon *d, bool on)
{
	if (on)
		state_timestamp(d->catching_since);
	else if (d->catching_since[0] == '\0')
		return;
	else
		d->catching_since[0] = '\0';
	(void)register_instance(d, false);
}

/*
 * Boot step 5 around step 4: learn whether the launch hook holds this
 * instance, catch up (heartbeats from so_timer), then complete the
 * action: CONTINUE when the host is current, ABANDON when the catch-up
 * failed.  Nothing is completed when hookd is stopping.
 */
static enum outcome
so_catch_up(struct daemon *d)
{
	struct errbuf	 eb = { 0 };
	const char	*hook = d->cfg.lifecycle_hook;
	long long	 delay = 0;
	enum outcome	 out;
	bool		 ok;
	int		 rc = -1;

	if (hook == NULL)
		return catch_up(d);
	for (int i = 0; i < SO_TRIES && !got_term; i++) {
		rc = scaleout_begin(&d->so, d->aws, d->imds, d->cfg.region,
		    d->instance, hook, &eb);
		if (rc == 0 || !transient(&eb))
			break;
		backoff_next(&delay);
		(void)nap(d, delay);
	}
	if (rc == -1) {
		log_warnx("lifecycle hook '%s': cannot tell whether this "
		    "instance waits for it: %s; not completing it", hook,
		    eb.msg);
		return catch_up(d);
	}
	if (d->so.state != SO_PENDING) {
		if (d->so.group == NULL)
			log_info("lifecycle hook '%s': this instance is not "
			    "in an Auto Scaling group", hook);
		else
			log_info("lifecycle hook '%s': instance is %s in "
			    "Auto Scaling group '%s' (from %s); nothing to "
			    "complete", hook, d->so.lifecycle_state != NULL ?
			    d->so.lifecycle_state : "not held",
			    d->so.group, d->so.group_source);
		return catch_up(d);
	}
	log_notice("Auto Scaling group '%s' (from %s) holds this instance "
	    "in %s for lifecycle hook '%s': catching up, heartbeat every "
	    "%.1f s (heartbeat timeout %lu s)", d->so.group,
	    d->so.group_source, d->so.lifecycle_state != NULL ?
	    d->so.lifecycle_state : "Pending:Wait", hook,
	    (double)d->so.heartbeat_every_ms / 1000, d->so.heartbeat_timeout);
	(void)sd_notifyf(0, "STATUS=catching up for lifecycle hook %s",
	    hook);
	so_timer(d);	/* the first heartbeat: the full timeout is ours */
	so_mark(d, true);	/* deployer instances: catching-up */
	out = catch_up(d);
	/* Postponed (another deployment holds the lock): try again. */
	delay = 0;
	for (int i = 0; out == OUT_KEPT && !got_term && i < SO_TRIES; i++) {
		backoff_next(&delay);
		(void)nap(d, delay);
		if (!got_term)
			out = catch_up(d);
	}
	if (got_term) {
		log_notice("lifecycle hook '%s': stopping before the catch-up "
		    "ended; the action is not completed", hook);
		so_mark(d, false);
		return out;
	}
	if (d->so.state != SO_PENDING) {
		/* A heartbeat found the action gone (so_timer logged it). */
		log_notice("lifecycle hook '%s': no action left to complete",
		    hook);
		so_mark(d, false);
		return out;
	}
	/* OUT_KEPT here: still postponed after the retries; not current. */
	ok = out == OUT_SUCCEEDED || (out == OUT_CURRENT && !so_behind(d));
	delay = 0;
	for (int i = 0; i < SO_TRIES; i++) {
		rc = scaleout_complete(&d->so, ok, &eb);
		if (rc != -1 || !transient(&eb) || got_term)
			break;
		backoff_next(&delay);
		(void)nap(d, delay);
	}
	if (rc == 0)
		log_notice("lifecycle hook '%s': completed with %s (%s)", hook,
		    d->so.result, ok ? (out == OUT_CURRENT ? "already "
		    "current" : "caught up") : "catch-up failed");
	else if (rc == SCALEOUT_GONE)
		log_notice("lifecycle hook '%s': %s (completed already, or "
		    "timed out); not an error", hook, eb.msg);
	else
		log_warnx("lifecycle hook '%s': cannot complete with %s: %s",
		    hook, ok ? "CONTINUE" : "ABANDON", eb.msg);
	/*
	 * Cleared also when completing failed: the daemon stops waiting
	 * here, and the hook's DefaultResult decides (logged above).
	 */
	so_mark(d, false);
	return out;
}

/*
 * At a stop: when the instance is leaving (Auto Scaling terminates it,
 * or the system shuts down), remove its registry entry and, with
 * delete_queue_on_shutdown, its queue.  A plain restart keeps both.
 */
static void
so_shutdown(struct daemon *d)
{
	struct errbuf	 eb = { 0 };
	bool		 leaving = false;

	if (!got_term || d->st == NULL || d->q == NULL ||
	    (d->cfg.lifecycle_hook == NULL &&
	    !d->cfg.delete_queue_on_shutdown))
		return;
	if (scaleout_leaving(&d->so, &leaving, &eb) == -1) {
		log_info("cannot tell whether this instance is leaving: %s; "
		    "keeping its registration", eb.msg);
		return;
	}
	if (!leaving)
		return;
	if (store_delete(d->st, d->regkey, &eb) == -1)
		log_warnx("cannot deregister '%s': %s", d->regkey, eb.msg);
	else
		log_notice("instance is leaving%s%s: deregistered from the "
		    "store", d->so.lifecycle_state != NULL ? " (" : "",
		    d->so.lifecycle_state != NULL ? d->so.lifecycle_state :
		    "");
	if (!d->cfg.delete_queue_on_shutdown)
		return;
	if (queue_destroy(d->q, &eb) == -1)
		log_warnx("cannot delete queue '%s': %s", d->qname, eb.msg);
	else
		log_notice("queue '%s' deleted (delete_queue_on_shutdown)",
		    d->qname);
}

/* --- end of scale-out --- */

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
	    !SAME(instance_id) || !SAME(deployment_group)) {
		log_warnx("reload: application, deployment_group, store, "
		    "queue, queue_prefix, region, root and instance_id take "
		    "effect after a restart; the rest is reloaded");
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
	d->q->visibility = nc.visibility_timeout;
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

/*
 * The queue is gone (deleted, or its server lost it): create it again as
 * at start, say so, and catch up from target.json, since what was sent
 * while it was gone is lost.
 */
static void
queue_recreate(struct daemon *d, const struct errbuf *why)
{
	struct errbuf	 eb = { 0 };

	log_warnx("queue '%s' does not exist (%s); creating it again",
	    d->qname, why->msg);
	if (queue_ensure(d->q, &eb) == -1) {
		log_warnx("queue '%s': cannot create it again: %s", d->qname,
		    eb.msg);
		return;
	}
	log_notice("queue '%s' created again", d->qname);
	(void)register_instance(d, false);
	(void)catch_up(d);
}

static void
loop(struct daemon *d)
{
	struct queue_msg	 qm;
	struct pollfd		 pfd[2];
	struct errbuf		 eb = { 0 };
	long long		 delay = 0, ms, hb;
	int			 qfd, rc;

	while (!got_term) {
		if (got_hup)
			reload(d);
		watchdog(d, false);
		hb = (long long)REGISTRY_HEARTBEAT_SEC * 1000 -
		    ms_since(&d->hb_last);
		if (hb <= 0) {
			(void)register_instance(d, false);
			continue;
		}
		qfd = queue_get_fd(d->q);
		queue_msg_init(&qm);
		if (qfd != -1) {
			/* Spool: sleep on inotify until a message or timer. */
			ms = hb;
			if (d->wd_usec != 0 &&
			    ms > (long long)(d->wd_usec / 2000))
				ms = (long long)(d->wd_usec / 2000);
			pfd[0].fd = qfd;
			pfd[0].events = POLLIN;
			pfd[1].fd = d->sigpipe_r;
			pfd[1].events = POLLIN;
			rc = queue_receive(d->q, 0, &qm, &eb);
			if (rc == 0) {
				(void)poll(pfd, 2, ms > INT_MAX ? INT_MAX :
				    (int)ms);
				drain_sigpipe(d);
				continue;
			}
		} else {
			/*
			 * SIGTERM from here on aborts the long poll; one
			 * before is seen by the test below.
			 */
			in_longpoll = 1;
			if (got_term || got_hup) {
				in_longpoll = 0;
				continue;
			}
			rc = queue_receive(d->q, d->cfg.poll_wait, &qm, &eb);
			in_longpoll = 0;
			abort_http = 0;
			if (got_term) {
				/*
				 * Stopping: a message received now comes
				 * back after its visibility timeout.
				 */
				if (rc == -1)
					log_debug("queue: %s", eb.msg);
				queue_msg_release(&qm);
				break;
			}
		}
		if (rc == -1) {
			if (eb.kind == EK_DATA) {
				log_warnx("queue: %s, skipping", eb.msg);
				continue;
			}
			if (eb.kind == EK_NOINPUT)
				queue_recreate(d, &eb);
			svc_result(&d->queue_state, "queue", rc, &eb);
			backoff_next(&delay);
			(void)nap(d, delay);
			continue;
		}
		delay = 0;
		svc_result(&d->queue_state, "queue", rc, &eb);
		if (rc == 1) {
			log_debug("message %s received (delivery %u)", qm.id,
			    qm.receive_count);
			handle(d, qm.body, qm.len, &qm);
		}
		queue_msg_release(&qm);
	}
}

/*
 * `hookd run -n`: the file's syntax, then what the start would resolve:
 * the group, the instance id and, for S3 or SQS, the region and the
 * credentials.  Nothing is contacted but instance metadata.  Returns the
 * exit status (78 for what the start would refuse).
 */
static int
check_resolve(struct daemon *d, const char *arg_group)
{
	struct aws_credprov	*cp = NULL;
	const struct aws_creds	*cr;
	struct errbuf		 eb = { 0 };
	const char		*what = "group";
	int			 ret = 0;

	log_init("hookd", LOG_TO_STDERR, 0);
	d->imds = imds_new(NULL);
	if (config_resolve_group(&d->cfg, arg_group, tag_fn, d, &d->group,
	    &d->group_source, &eb) == -1)
		goto fail;
	printf("deployment group '%s' of application '%s' (from %s)\n",
	    d->group, d->cfg.application, d->group_source);
	what = "instance";
	if (identity(d, &eb) == -1)
		goto fail;
	if (strcmp(d->cfg.queue, "sqs") == 0 ||
	    strncmp(d->cfg.store, "s3://", 5) == 0) {
		struct aws_client_config	 cc;

		memset(&cc, 0, sizeof(cc));
		cc.region = d->cfg.region;
		cc.imds = d->imds;
		cc.sqs_protocol = d->cfg.sqs_protocol;
		what = "region";
		if ((d->aws = aws_client_new(&cc, &eb)) == NULL)
			goto fail;
		printf("region %s\n", aws_client_region(d->aws));
		what = "credentials";
		cp = aws_credprov_new(NULL, d->imds);
		if (aws_credprov_get(cp, &cr, &eb) == -1)
			goto fail;
		printf("AWS credentials from the %s\n",
		    aws_creds_source_name(cr->source));
	}
	printf("configuration OK (the queue '%s' and the store '%s' were not "
	    "contacted)\n", d->cfg.queue, d->cfg.store);
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "hookd: %s: %s\n", what, eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	aws_credprov_free(cp);
	config_release(&d->cfg);
	return ret;
}

static __dead void
start_error(struct daemon *d, const struct errbuf *eb)
{
	fprintf(stderr, "hookd: %s\n", eb->msg);
	log_warnx("%s", eb->msg);
	exit(errbuf_exitcode(eb));
}

static void
run_help(void)
{
	printf("%s\n\n"
	    "Run the deployment agent: take deployments from this host's "
	    "queue and run them.\n\n"
	    "options:\n"
	    "  -c, --config FILE   hookd.yml (default %s)\n"
	    "  -d, --foreground    stay in the foreground, log to stderr\n"
	    "  -g, --group GROUP   the deployment group to serve\n"
	    "  -n, --check         check the configuration and exit\n"
	    "  -t, --grace SEC     time a running hook gets after SIGTERM "
	    "(default:\n"
	    "                      shutdown_grace of hookd.yml, else %d)\n"
	    "  -h, --help          show this help\n\n"
	    "exit status: 0 stopped by a signal, 69 queue or store "
	    "unavailable at start,\n75 another hookd serves the group, "
	    "78 bad configuration\n", run_usage, CONFIG_DEFAULT_PATH,
	    CONFIG_GRACE_DEFAULT);
}

int
cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check",	no_argument,		NULL, 'n' },
		{ "config",	required_argument,	NULL, 'c' },
		{ "foreground",	no_argument,		NULL, 'd' },
		{ "grace",	required_argument,	NULL, 't' },
		{ "group",	required_argument,	NULL, 'g' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct daemon	 d;
	struct errbuf	 eb = { 0 };
	const char	*arg_group = NULL;
	uint64_t	 grace = CONFIG_GRACE_DEFAULT;
	bool		 check = false, fg = false;
	int		 ch;

	memset(&d, 0, sizeof(d));
	d.cfgpath = CONFIG_DEFAULT_PATH;
	d.sigpipe_r = d.lockfd = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:dg:hnt:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.cfgpath = optarg;
			break;
		case 'd':
			fg = true;
			break;
		case 'g':
			arg_group = optarg;
			break;
		case 'h':
			run_help();
			return 0;
		case 'n':
			check = true;
			break;
		case 't':
			if (parse_u64(optarg, 0, CONFIG_GRACE_MAX, &grace) ==
			    -1)
				usage_error(run_usage, "invalid --grace '%s' "
				    "(0-%d)", optarg, CONFIG_GRACE_MAX);
			d.grace_flag = true;
			break;
		default:
			if (optopt != 0 && optopt != '?')
				usage_error(run_usage, "option '-%c' %s",
				    optopt, strchr("cgt", optopt) != NULL ?
				    "needs an argument" : "is unknown");
			usage_error(run_usage, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error(run_usage, "unexpected argument '%s'",
		    argv[optind]);

	/* 1. The configuration; errors go to stderr, exit 78. */
	config_init(&d.cfg);
	if (config_load(&d.cfg, d.cfgpath, NULL, &eb) == -1) {
		for (size_t i = 0; i < d.cfg.nerrors; i++)
			fprintf(stderr, "hookd: %s\n", d.cfg.errors[i]);
		if (d.cfg.nerrors == 0)
			fprintf(stderr, "hookd: %s\n", eb.msg);
		config_release(&d.cfg);
		return errbuf_exitcode(&eb);
	}
	d.grace = d.grace_flag ? (unsigned)grace : d.cfg.shutdown_grace;
	if (check)
		return check_resolve(&d, arg_group);

	/* 2. Logging: the journal under systemd, else stderr. */
	log_init("hookd", fg ? LOG_TO_STDERR : LOG_TO_AUTO,
	    d.cfg.log_level >= LOG_DEBUG || arg_verbose > 1);
	state_timestamp(d.started_at);

	/* 3. Signals, and the watchdog (pinged during the boot too). */
	if (setup_signals(&d, &eb) == -1)
		start_error(&d, &eb);
	http_set_abort_flag(&abort_http);
	/* An idle long poll sleeps until the network or a signal. */
	http_set_wake_fd(d.sigpipe_r);
	if (sd_watchdog_enabled(0, &d.wd_usec) <= 0)
		d.wd_usec = 0;
	now_mono(&d.wd_last);
	now_mono(&d.extend_last);

	/* The group and the identity. */
	d.imds = imds_new(NULL);
	if (config_resolve_group(&d.cfg, arg_group, tag_fn, &d, &d.group,
	    &d.group_source, &eb) == -1)
		start_error(&d, &eb);
	log_notice("serving deployment group '%s' of application '%s' "
	    "(group from %s)", d.group, d.cfg.application, d.group_source);
	log_setctx(NULL, d.cfg.application, d.group);
	if (identity(&d, &eb) == -1)
		start_error(&d, &eb);

	/* 4. Directories and the run lock. */
	d.gdir = xasprintf("%s/%s/%s", d.cfg.root, d.cfg.application,
	    d.group);
	d.statepath = xasprintf("%s/state.json", d.gdir);
	if (fs_mkdirs(d.cfg.root, 0755, &eb) == -1 || take_lock(&d, &eb) == -1)
		start_error(&d, &eb);
	/* Each hook in a cgroup with a process limit, when we may. */
	if (hookd_hook_cgroup(&d.cfg, &eb) == -1)
		start_error(&d, &eb);
	if ((d.regkey = store_key_instance(d.cfg.application, d.group,
	    d.instance, &eb)) == NULL) {
		eb.kind = EK_CONFIG;
		start_error(&d, &eb);
	}
	if ((d.qname = queue_name(d.cfg.queue_prefix, d.group, d.instance,
	    &eb)) == NULL)
		start_error(&d, &eb);

	/* 5. Boot: queue, registration, recovery, catch-up. */
	if (strcmp(d.cfg.queue, "sqs") == 0 ||
	    strncmp(d.cfg.store, "s3://", 5) == 0) {
		struct aws_client_config	 cc;

		memset(&cc, 0, sizeof(cc));
		cc.region = d.cfg.region;
		cc.imds = d.imds;
		cc.timeout_ms = AWS_CALL_TIMEOUT_MS;
		cc.sqs_protocol = d.cfg.sqs_protocol;
		if ((d.aws = aws_client_new(&cc, &eb)) == NULL)
			start_error(&d, &eb);
	}
	if (backend_store_open(d.cfg.store, true, d.aws, &d.st, &eb) == -1)
		start_error(&d, &eb);
	if (backend_queue_open(d.cfg.queue, d.qname, d.cfg.visibility_timeout,
	    d.aws, &d.q, &eb) == -1)
		start_error(&d, &eb);
	log_info("queue '%s' (%s), store '%s'", d.qname, d.q->ops->scheme,
	    d.cfg.store);
	queue_on_aside(d.q, on_aside, &d);
	if (ensure_queue(&d, &eb) == -1) {
		if (got_term)
			goto out;
		start_error(&d, &eb);
	}
	if (register_instance(&d, true) == -1 && got_term)
		goto out;
	if (recover(&d, "interrupted; recovered when hookd started again",
	    NULL, &eb) == -1)
		start_error(&d, &eb);
	if (!got_term)
		(void)so_catch_up(&d);	/* catch_up() + the launch hook */

	/* 6. Ready. */
	d.ready = true;
	(void)sd_notify(0, "READY=1\nSTATUS=idle");
	log_notice("ready: waiting for deployments on queue '%s'", d.qname);

	/* 7. The loop. */
	loop(&d);
 out:
	(void)sd_notify(0, "STOPPING=1");
	so_shutdown(&d);	/* deregister when the instance is leaving */
	log_notice("stopped");
	scaleout_release(&d.so);
	queue_free(d.q);
	store_free(d.st);
	aws_client_free(d.aws);
	imds_free(d.imds);
	if (d.lockfd != -1)
		close(d.lockfd);
	if (d.sigpipe_r != -1)
		close(d.sigpipe_r);
	free(d.gdir);
	free(d.statepath);
	free(d.regkey);
	free(d.qname);
	free(d.instance);
	free(d.group);
	config_release(&d.cfg);
	return 0;
}
