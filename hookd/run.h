/* SPDX-License-Identifier: ISC */
/*
 * run.h: the private parts of 'hookd run' (the daemon), shared by its
 * role files, grouped by the file that defines them:
 *
 *	run_start.c	options, start-up (boot steps 1-6), the stop
 *	run_daemon.c	signals, timers, reload, the loop
 *	run_deploy.c	one message: the deployment process and its verdict
 *	run_engine.c	a deployment's work: checks, fetch, engine, observer
 *	run_registry.c	registry, progress, visibility, ack/reject, queue
 *	run_scaleout.c	the Auto Scaling launch hook
 *
 * struct daemon is what the host has once; struct run_group, one per
 * (application, group) served (hookd.yml groups:, or the one group of
 * the single form), what each group has: names, admission, queue,
 * directory, run lock, registry entry, and with parallel_groups its
 * running deployment process (struct run_job, run_deploy.c).
 */
#ifndef HOOKD_RUN_H
#define HOOKD_RUN_H

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "admission.h"
#include "clock.h"
#include "compat.h"
#include "config.h"
#include "dests.h"
#include "errbuf.h"
#include "progress.h"
#include "scaleout.h"
#include "state.h"

struct errbuf;
struct message;
struct queue;
struct queue_msg;
struct store;
struct imds;
struct aws_client;
struct run_job;

#define REGISTRY_HEARTBEAT_SEC	300	/* registry entry refresh */
#define BACKOFF_MIN_MS		1000
#define BACKOFF_MAX_MS		30000
#define RETRY_STOPPING_MS	200	/* retry_wait() after a stop */

enum svc_state { SVC_UNKNOWN = 0, SVC_UP, SVC_DOWN };

/*
 * One (application, deployment group) the daemon serves: hookd.yml's
 * application and group (the single form), or one entry of groups:.
 * Each has its own queue, state, releases, run lock and registry entry.
 */
struct run_group {
	struct daemon	*d;
	char		*app;
	char		*group;
	const char	*group_source;
	struct admission adm;		/* cfg, app, group, peers */
	char		*qname;
	struct queue	*q;
	char		*gdir;		/* ROOT/APP/GROUP */
	char		*statepath;
	char		*regkey;
	int		 lockfd;
	struct timespec	 hb_last;	/* registry heartbeat */
	enum svc_state	 queue_state;
	/* parallel_groups: its deployment process, or NULL (run_deploy.c) */
	struct run_job	*job;
};

struct daemon {
	struct config	 cfg;
	const char	*cfgpath;
	unsigned	 grace;		/* s: -t, else shutdown_grace */
	bool		 grace_flag;	/* -t given: reload keeps grace */
	char		*instance;
	struct store	*st;
	struct imds	*imds;
	struct aws_client *aws;		/* NULL unless sqs, s3:// or ELB */
	/* NULL: no traffic: block; the host's, shared by its groups */
	struct hookd_traffic *traffic;
	char		 started_at[STATE_TIME_LEN];
	int		 sigpipe_r;
	uint64_t	 wd_usec;	/* 0: no watchdog */
	struct timespec	 wd_last;
	struct timespec	 term_at;	/* when SIGTERM was seen */
	bool		 term_seen;
	bool		 ready;		/* READY=1 sent */
	bool		 checking;	/* hookd run -n: facts on stdout */
	/* Reaching the queue and the store at start: until start_timeout */
	bool		 starting;
	struct timespec	 start_t0;
	struct timespec	 extend_last;	/* EXTEND_TIMEOUT_USEC before it */
	enum svc_state	 store_state;

	/* The groups served, in hookd.yml's order (at least one). */
	struct run_group *groups;
	size_t		 ngroups;
	struct deploy_peer *peers;	/* the same, for the engine */
	/* parallel_groups: deployment processes running (run_deploy.c) */
	size_t		 njobs;
	/* In a deployment process: the group it deploys; else NULL. */
	struct run_group *child_group;

	/* The deployment running in this process, or NULL. */
	struct run_deployment *dep;

	/* The Auto Scaling launch hook (scale-out, boot step 5). */
	struct scaleout	 so;
	/* When the catch-up under the hook began; "": not catching up. */
	char		 catching_since[STATE_TIME_LEN];
};

/*
 * One deployment while it runs (in its deployment process): what the
 * observer, its progress writes and the visibility timer work on.
 */
struct run_deployment {
	struct daemon	*d;
	struct run_group *g;		/* the group deployed */
	const struct queue_msg *msg;	/* NULL: from target.json */
	const char	*id;		/* NULL: a recovery at start-up */
	struct timespec	 ext_last;	/* visibility last extended */
	struct progress	 prog;
	char		*progkey;	/* NULL: no progress document */
	bool		 prog_failed;	/* a progress write failed */
};

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

/*
 * The deployment process's verdict, sent to the daemon as one record
 * over a pipe (run_deploy.c); its exit status only tells a crash.
 */
struct run_verdict {
	enum outcome	 outcome;
	enum errkind	 kind;		/* of the reason; EK_NONE: none */
	char		 reason[512];	/* OUT_REJECTED, OUT_CURRENT: why */
};

/* run_daemon.c */
/* Set by the signal handler; read by the loop and the observer. */
extern volatile sig_atomic_t	 got_term;
extern volatile sig_atomic_t	 got_hup;
extern volatile sig_atomic_t	 in_longpoll;
extern volatile sig_atomic_t	 abort_http;
extern int			 sigpipe_w;
void		 drain_sigpipe(struct daemon *);
/*
 * The timer list: timers_run() does what is due (registry heartbeat,
 * lifecycle heartbeat, message visibility, the boot's start timeout,
 * the watchdog ping); timers_next() says in how many ms the next is
 * due.  A timer's due function returns TIMER_OFF when it is off.
 */
#define TIMER_OFF	LLONG_MAX
void		 timers_run(struct daemon *);
long long	 timers_next(struct daemon *);
void		 watchdog_ping(struct daemon *);
int		 nap(struct daemon *, long long ms);
int		 setup_signals(struct daemon *, struct errbuf *);
void		 loop(struct daemon *);

/* run_deploy.c */
enum outcome	 handle(struct run_group *, const char *body, size_t len,
		    const struct queue_msg *);
/*
 * parallel_groups: start one message's deployment process and return
 * (the message is moved into the job; *qm is left empty); jobs_reap()
 * finishes what ended, jobs_pollfds() adds their pidfds to a poll set,
 * jobs_stop() passes a stop on and waits for every one.
 */
void		 handle_start(struct run_group *, struct queue_msg *qm);
void		 jobs_reap(struct daemon *);
size_t		 jobs_pollfds(struct daemon *, struct pollfd *, size_t max);
void		 jobs_stop(struct daemon *);
enum outcome	 catch_up(struct run_group *);

/* run_engine.c */
enum outcome	 deploy_run(struct run_group *, const struct message *,
		    const char *key, const struct queue_msg *);
int		 recover(struct run_group *, const char *note,
		    const struct message *, struct errbuf *);

/* run_registry.c */
/*
 * One retry loop's state: retry_wait() after a failed try waits the
 * backoff (1 s doubling to 30 s) in nap(), so the timers keep running.
 * It returns false, without waiting, when 'tries' (0: no limit) are
 * used up, and false when a stop is requested; with ride_stop a stop
 * ends the retries only at the deadline, once the backoff reaches its
 * maximum, and the waits after it are RETRY_STOPPING_MS.  While the
 * daemon is starting (d->starting), it also returns false at
 * start_timeout; start_retry() logs a failed try and calls it.
 */
struct retry {
	struct daemon	*d;
	int		 tries;		/* 0: no limit */
	int		 made;		/* failed tries so far */
	long long	 delay;		/* the last wait, ms */
	bool		 ride_stop;	/* go on after a stop, to a deadline */
};

void		 retry_init(struct retry *, struct daemon *, int tries);
void		 retry_reset(struct retry *);
bool		 retry_wait(struct retry *);
bool		 start_retry(struct retry *, enum svc_state *, const char *what,
		    const struct errbuf *);
void		 svc_result(enum svc_state *, const char *what, int rc,
		    const struct errbuf *);
bool		 transient(const struct errbuf *);
int		 register_instance(struct run_group *, bool must);
int		 register_start(struct run_group *, struct errbuf *);
void		 register_all(struct daemon *);
int		 write_progress(struct run_deployment *, bool must);
void		 extend_visibility(struct run_deployment *, bool force);
long long	 registry_due(struct daemon *);
void		 registry_heartbeat(struct daemon *);
long long	 visibility_due(struct daemon *);
void		 visibility_extend(struct daemon *);
void		 ack(struct run_group *, const struct queue_msg *);
void		 on_aside(void *arg, const char *file, const char *moved_to,
		    const char *reason);
void		 refusal(struct run_group *, const struct message *,
		    const char *status, const char *why);
void		 reject(struct run_group *, const struct queue_msg *,
		    const char *reason);
int		 ensure_queue(struct run_group *, struct errbuf *);
void		 progress_interrupted(struct run_group *, const char *id,
		    uint64_t seq, const char *commit, const char *sha256,
		    const char *note);

/* run_scaleout.c */
long long	 so_due(struct daemon *);
void		 so_timer(struct daemon *);
enum outcome	 so_catch_up(struct daemon *);
void		 so_shutdown(struct daemon *);

#endif /* HOOKD_RUN_H */
