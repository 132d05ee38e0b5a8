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

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#include "aws/client.h"
#include "aws/imds.h"
#include "backends.h"
#include "caps.h"
#include "config.h"
#include "errbuf.h"
#include "fsutil.h"
#include "hookd.h"
#include "http.h"
#include "log.h"
#include "message.h"
#include "queue.h"
#include "run.h"
#include "scaleout.h"
#include "state.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

#define AWS_CALL_TIMEOUT_MS	20000	/* per try, except long polls */
#define BOOT_EXTEND_SEC		60	/* EXTEND_TIMEOUT_USEC while booting */

static const char run_usage[] =
    "usage: hookd run [-dhn] [-c file] [-g group] [-t grace]";

/* Set by the signal handler; read by the loop and the observer. */
volatile sig_atomic_t	 got_term;
volatile sig_atomic_t	 got_hup;
volatile sig_atomic_t	 in_longpoll;
volatile sig_atomic_t	 abort_http;	/* http_set_abort_flag */
int			 sigpipe_w = -1;

/* --- time, signals, systemd --- */

long long
ms_since(const struct timespec *t)
{
	struct timespec	 now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000LL +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

void
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
	now_mono(&d->wd_last);
}

static long long
watchdog_due(struct daemon *d)
{
	if (d->wd_usec == 0)
		return TIMER_OFF;
	return (long long)(d->wd_usec / 2000) - ms_since(&d->wd_last);
}

/*
 * A catch-up deployment before READY=1 may outlast systemd's start
 * timeout: extend it while the boot makes progress.
 */
static long long
boot_extend_due(struct daemon *d)
{
	if (d->ready)
		return TIMER_OFF;
	return BOOT_EXTEND_SEC * 1000LL / 3 - ms_since(&d->extend_last);
}

static void
boot_extend(struct daemon *d)
{
	(void)sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu",
	    (unsigned long long)BOOT_EXTEND_SEC * 1000000ULL);
	now_mono(&d->extend_last);
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

	now_mono(&t0);
	while (!got_term && (left = ms - ms_since(&t0)) > 0) {
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

static void
loop(struct daemon *d)
{
	struct queue_msg	 qm;
	struct pollfd		 pfd[2];
	struct errbuf		 eb = { 0 };
	struct retry		 rt;
	long long		 ms;
	int			 qfd, rc;

	retry_init(&rt, d, 0);
	while (!got_term) {
		if (got_hup)
			reload(d);
		timers_run(d);
		qfd = queue_get_fd(d->q);
		queue_msg_init(&qm);
		if (qfd != -1) {
			/* Spool: sleep on inotify until a message or timer. */
			ms = timers_next(d);
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
			svc_result(&d->queue_state, "queue", rc, &eb);
			(void)retry_wait(&rt);
			continue;
		}
		retry_reset(&rt);
		svc_result(&d->queue_state, "queue", rc, &eb);
		if (rc == 1) {
			log_debug("message %s received (delivery %u)", qm.id,
			    qm.receive_count);
			handle(d, qm.body, qm.len, &qm);
		}
		queue_msg_release(&qm);
	}
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
	if (check) {
		printf("configuration OK\n");
		config_release(&d.cfg);
		return 0;
	}

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
	d.adm.cfg = &d.cfg;
	d.adm.group = d.group;
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
