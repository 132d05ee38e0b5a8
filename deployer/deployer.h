/* SPDX-License-Identifier: ISC */
/*
 * deployer.h: private prototypes of the deployer program, grouped by the
 * file that defines them (ntpd.h style), and the in-memory model of one
 * deployment that the subcommands share.
 */
#ifndef HOOKD_DEPLOYER_H
#define HOOKD_DEPLOYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "compat.h"
#include "config.h"
#include "message.h"
#include "names.h"
#include "store.h"

struct aws_client;
struct aws_pool;
struct regcache;
struct errbuf;
struct json_t;
struct queue;

#define DEPLOYMENT_SCHEMA	"hookd.deployment-record/1"
#define DEPLOYER_STALE_SEC	900	/* registry entry older: stale */
/*
 * Store polling while a batch runs: the first poll comes after the
 * _FIRST interval, which doubles each round up to the cap (a trivial
 * deployment takes tens of ms; a fixed 300 ms poll was most of
 * OneAtATime's time per instance).
 */
#define DEPLOYER_POLL_FILE_FIRST_MS	10	/* file:// */
#define DEPLOYER_POLL_FILE_MS	300
#define DEPLOYER_POLL_S3_FIRST_MS	100	/* s3://: each poll is GETs */
#define DEPLOYER_POLL_S3_MS	2000
#define DEPLOYER_TAIL_LINES	10	/* output lines shown per failure */
#define DEPLOYER_DEADLINE_SLACK	60	/* s added to timeout x batches */
#define DEPLOYER_LEASE_SEC	60	/* a driver's lease, renewed at 1/3 */
#define DEPLOYER_DESCRIPTION_MAX	256	/* bytes of --description */
#define DEPLOYER_DRIVER_GRACE	10	/* s a new deployment may lack one */

/* deployer.c */
extern int	 arg_verbose;
void		 usage_error(const char *usage, const char *fmt, ...)
		    HOOKD_PRINTF(2, 3) __dead;
void		 bad_option(const char *usage, int argc, char **argv) __dead;
struct cmd_args {
	const char	*usage;
	void		(*help)(void);
	const char	*flag;		/* the one long flag besides -h */
	const char	*operand;	/* named in "no %s given" */
	int		 max;		/* operands allowed (1 or more) */
};
int		 cmd_args_parse(const struct cmd_args *, int argc,
		    char **argv, bool *flag);

/* ctx.c: deployer.yml, the store, the AWS client */
struct dctx {
	struct deployer_config	 cfg;
	char			*cfgpath;
	char			*dir;	/* the directory of deployer.yml */
	struct aws_client	*aws;	/* NULL unless s3:// or sqs */
	struct aws_pool		*pool;	/* dctx_pool(), made at need */
	struct store		*store;
	struct regcache		*regcache;	/* registry entries read */
};

int	dctx_open(struct dctx *, struct errbuf *);
int	dctx_open_store(struct dctx *, bool create, struct errbuf *);
struct aws_pool *dctx_pool(struct dctx *, struct errbuf *);
void	dctx_release(struct dctx *);
const struct deployer_group *dctx_group(struct dctx *, const char *name,
	    struct errbuf *);
const struct deployer_group *dctx_group_or_id(struct dctx *,
	    const char *what, struct errbuf *);
/* The group to use when none is named: the only one, else NULL. */
const char *dctx_default_group(const struct dctx *);
const char *dctx_open_for_group(struct dctx *, int argc, char **argv,
	    const char *usage, struct errbuf *);
char	*dctx_revision_location(const struct dctx *, const char *sha256);
unsigned dctx_poll_ms(const struct dctx *);
unsigned dctx_poll_first_ms(const struct dctx *);
int	dctx_queue_open(struct dctx *, const char *name, struct queue **,
	    struct errbuf *);
int	dctx_queue_list(struct dctx *, const char *prefix, char ***ret_names,
	    size_t *ret_n, struct errbuf *);

/* time helpers (ctx.c) */
void	 ts_now(char buf[32]);
void	 ts_format(time_t, char buf[32]);
time_t	 ts_parse(const char *);	/* 0 when not RFC 3339 */

/* records.c: the store documents the deployer reads and writes */
enum inst_state {
	IS_PENDING = 0,		/* not sent yet */
	IS_SENT,		/* sent, no progress yet */
	IS_RUNNING,		/* InProgress (or Interrupted) */
	IS_SUCCEEDED,
	IS_FAILED,
	IS_TIMEDOUT,		/* no final status within the timeout */
};

struct dinst {
	char		*name;
	char		*queue;
	size_t		 batch;
	enum inst_state	 state;
	char		*event;		/* running or failed event */
	char		*script;
	char		*message;
	char		*tail;
	time_t		 started;	/* progress started_at, else sent */
	time_t		 finished;
	bool		 refused;	/* it answered Rejected or Skipped */
};

struct deployment {
	char		 id[DEPLOYMENT_ID_LEN + 1];
	char		*application;
	char		*group;
	uint64_t	 sequence;
	char		*status;	/* InProgress, Succeeded, Failed */
	char		*rollback_of;	/* NULL unless a rollback */
	char		*rolled_back_by;
	char		*created_at;
	char		*created_by;
	char		*ref;
	char		 commit[41];
	char		 sha256[65];
	char		*location;
	char		*config_name;	/* "OneAtATime" ... */
	unsigned	 timeout;	/* s per batch */
	time_t		 deadline;
	char		*finished_at;
	char		*description;	/* --description, or NULL */
	bool		 ignore_stop_failures;
	char		*stopped_by;	/* "user@host" of deployer stop */
	char		*superseded_by;	/* a later deployment's id */
	char		*source;	/* --bundle's FILE or DIR, or NULL */
	bool		 stop_rollback;	/* stop --rollback (not saved) */
	struct json_t	*message;	/* the message object as sent */
	struct dinst	*inst;
	size_t		 ninst;
	time_t		*batch_sent;	/* per batch; 0: not sent */
	size_t		 nbatches;
	/* Rollout gates, see gates.c */
	struct json_t	*gates;		/* gate results (gates_log_add) */
	long		 bake_batch;	/* the batch that bakes */
	time_t		 bake_until;	/* its bake ends; 0: no bake */
	char		*reason;	/* why it stopped or failed */
};

const char *inst_state_name(enum inst_state);
bool	inst_final(enum inst_state);
void	deployment_release(struct deployment *);
struct json_t *deployment_to_json(const struct deployment *);
/*
 * The same for a reader ('status --json', 'history --json'): batch
 * numbers from 1 (0: before the first), as the table, the notices and
 * HOOKD_GATE_BATCH count them; the record counts from 0.
 */
struct json_t *deployment_view_json(const struct deployment *);
int	deployment_from_json(struct json_t *, struct deployment *ret,
	    struct errbuf *);
int	deployment_load(struct dctx *, const char *group, const char *id,
	    struct deployment *ret, struct errbuf *);
int	deployment_save(struct dctx *, const struct deployment *,
	    struct errbuf *);
/* Every deployment of a group, newest (highest sequence) first. */
int	deployment_list(struct dctx *, const char *group,
	    struct deployment **ret, size_t *ret_n, struct errbuf *);
void	deployments_free(struct deployment *, size_t);
int	deployment_find(struct dctx *, const char *what,
	    struct deployment *ret, const struct deployer_group **ret_g,
	    struct errbuf *);
/* Read the group's target.json: 1 found (*ret_doc new), 0 absent. */
int	target_read(struct dctx *, const char *group, struct json_t **ret_doc,
	    char ret_etag[STORE_ETAG_MAX], struct errbuf *);
/* Whether the target's deployment still runs (1) or not (0). */
int	target_active(struct dctx *, const char *group, struct json_t *target,
	    struct errbuf *);
/* Apply one progress document to di; -1 (di untouched): unreadable. */
int	progress_apply(struct dinst *, const char *data, size_t len);
/* Read one instance's progress into di; 0 also when there is none. */
int	progress_read(struct dctx *, const struct deployment *,
	    struct dinst *, struct errbuf *);

/* fanout.c: a batch's sends at once, its progress by listing */
struct fanout;
struct fanout_stats {
	unsigned long	 rounds;	/* listings of the instances/ prefix */
	unsigned long	 listed;	/* keys they listed */
	unsigned long	 fetched;	/* progress documents read */
};
/*
 * Send d's message to every instance of batch b at once; an instance
 * that cannot be reached fails, the others go on.  With 'again' (a
 * batch a driver that died had marked as sent), only to those whose
 * progress shows no answer yet.  batch_sent[b] is the caller's.  0, or
 * -1 with eb set (nothing sent, or the sends were interrupted).
 */
/*
 * fanout_send_start(): the batch's sends on their way (through the
 * pool; they move on whenever it runs: fanout_idle, the reads of
 * fanout_poll, any request of the deployer); on_sent marks each
 * instance sent or failed, never one that already answered.
 * fanout_sending_done(): every send reported.  fanout_send_end(): the
 * sends not gone yet are not sent (their instances failed, "interrupted")
 * and the sending is freed; NULL-safe.  fanout_idle(): move the pool
 * along for ms (or sleep).  fanout_send() is the three at once.
 */
struct fanout_sending;
int	fanout_send_start(struct dctx *, struct deployment *, size_t b,
	    bool again, struct fanout_sending **ret, struct errbuf *);
bool	fanout_sending_done(const struct fanout_sending *);
void	fanout_send_end(struct fanout_sending *);
int	fanout_idle(struct dctx *, unsigned ms, struct errbuf *);
int	fanout_send(struct dctx *, struct deployment *, size_t b, bool again,
	    struct errbuf *);
/* A reader of d's progress documents (d must outlive it), or NULL. */
struct fanout *fanout_new(const struct deployment *, struct errbuf *);
/* The same reader for d reloaded (its instances in another array). */
void	fanout_bind(struct fanout *, const struct deployment *);
/*
 * For a deployment reloaded from its record ('to'): what was read of
 * each instance into 'from' and the record does not say yet (a document
 * read once is not read again until it changes).
 */
void	fanout_keep(struct deployment *to, const struct deployment *from);
void	fanout_free(struct fanout *);
/*
 * One round for batch b: list d's instances/ prefix, read the documents
 * that changed of instances sent to and not final, apply them to d (or,
 * when fewer of b's instances wait than the listing would take requests,
 * read theirs directly).  0, or -1 with eb set (a store error).  st (may
 * be NULL) is added to.  b FANOUT_ALL: the instances of every batch,
 * TimedOut ones too (a status: a host may have answered since).
 */
int	fanout_poll(struct dctx *, struct fanout *, struct deployment *,
	    size_t b, struct fanout_stats *, struct errbuf *);
#define FANOUT_ALL	SIZE_MAX	/* fanout_poll: every batch */

/* One registry entry or queue, as `deployer instances` shows it. */
struct reginst {
	char		*name;
	char		*queue;
	time_t		 last_seen;	/* 0: no registry entry */
	bool		 stale;
	bool		 has_queue;	/* found by queue prefix */
	char		*current_id;	/* NULL: none */
	uint64_t	 current_seq;
	uint64_t	 last_seq;	/* highest sequence it ran or refused */
	char		*in_progress;
	char		*dup;	/* another daemon with this id, or NULL */
};
/*
 * Live: a registry entry seen within DEPLOYER_STALE_SEC, with a queue
 * name.  Only live instances are deployed to.
 */
#define REGINST_LIVE(ri)	((ri)->last_seen != 0 && !(ri)->stale && \
				    (ri)->queue != NULL)
/* instances_find(): what to list and read (records.c). */
#define REG_EVERY	0x1	/* stale entries and lone queues too */
#define REG_READ	0x2	/* read every entry */
#define REG_DUPS	0x4	/* read the entries marked as duplicates */
int	instances_find(struct dctx *, const char *group, unsigned int how,
	    struct reginst **ret, size_t *ret_n, struct errbuf *);
void	reginsts_free(struct reginst *, size_t);
/* Free the registry entries instances_find kept for the next call. */
void	regcache_free(struct regcache *);

/* create.c: a new deployment, and its rollout */
struct revision {
	char		 commit[41];	/* "" when unknown */
	char		 sha256[65];
	char		*ref;
	char		*location;
	char		*source;	/* --bundle FILE|DIR, or NULL */
	bool		 no_traffic_control;	/* --no-traffic-control */
};

/* What the command line asks of a deployment (all default off). */
struct deploy_opts {
	bool		 nowait;	/* a detached driver rolls it out */
	bool		 allow_empty;	/* no live instance: record target */
	bool		 ignore_stop_failures;
	bool		 json;		/* the outcome as JSON on stdout */
	const char	*description;
	bool		 keep_failed;	/* blue_green: keep a failed green */
	const char	*id;		/* the id to create, or NULL: new */
	uint64_t	 min_sequence;	/* the lowest sequence to take */
	/* Filled by deploy_and_watch(). */
	char		 out_id[DEPLOYMENT_ID_LEN + 1];
	uint64_t	 out_sequence;
	char		 out_status[16];
};

int	deployment_create(struct dctx *, const struct deployer_group *,
	    const struct revision *, const char *rollback_of,
	    const struct deployment *from, const struct deploy_opts *,
	    struct deployment *ret, struct errbuf *);
int	deploy_drive(struct dctx *, const struct deployer_group *,
	    struct deployment *, struct deploy_opts *, struct errbuf *);
/* This host's name ("localhost" when it has none). */
void	deployer_host(char buf[256]);
char	*who_am_i(void);

/*
 * drive.c: the one driver of a deployment (see the file's comment).
 * lease_take() returns -1 with EK_TEMP when a live driver holds it.
 * drive() drives d (or forks a detached driver with o->nowait): 0
 * succeeded, 1 failed or stopped (eb holds the last line), -1 with eb,
 * DRIVE_LEAVE when interrupted and left (print_left said what).
 * drive_tick() is called by the rollout at each poll: 0 go on,
 * DRIVE_STOP[_ROLLBACK] a stop was asked, DRIVE_LEAVE, DRIVE_LOST, -1.
 * driver_describe(): 1 a live driver, 0 none (buf says), -1 store error.
 * drive_asked(): true once after drive_tick() asked on the terminal
 * (the live table starts again below the question).
 */
#define DRIVE_LEAVE		2
#define DRIVE_STOP		3
#define DRIVE_STOP_ROLLBACK	4
#define DRIVE_LOST		5
#define DEPLOYER_EXIT_LEFT	130	/* interrupted, left for resume */
int	lease_take(struct dctx *, const struct deployment *, struct errbuf *);
void	lease_drop(void);
int	drive(struct dctx *, const struct deployer_group *,
	    struct deployment *, const struct deploy_opts *, struct errbuf *);
int	drive_tick(struct dctx *, struct deployment *, struct errbuf *);
bool	drive_asked(void);
int	driver_describe(struct dctx *, const struct deployment *, char *buf,
	    size_t bufsz);
int	stop_request(struct dctx *, const struct deployment *, bool rollback,
	    struct errbuf *);
/*
 * Where a detached process named name (a deployment id, a retirer)
 * writes: $XDG_CACHE_HOME/hookd/deployer/NAME.log or ~/.cache/...,
 * else TMPDIR/deployer-NAME.log.  A new string.
 */
char	*detached_log(const char *name);
/*
 * Start a detached process: its own session, stdin /dev/null, stdout and
 * stderr appended to log.  In the detached process 0, with *ret_fd the
 * pipe on which it says that it started (detach_ok()) or why not, then
 * closes it.  In the caller 1, with *ret_fd the pipe's read end for
 * detach_started() (the process in between has ended).  -1 with eb.
 */
int	detach(const char *log, int *ret_fd, struct errbuf *);
void	detach_ok(int fd);
/* The detached process's pid once it said so, else 0 (buf: its words). */
long	detach_started(int fd, char *buf, size_t bufsz);

/* watch.c: send batches, wait for statuses, show them */
int	rollout_run(struct dctx *, const struct deployer_group *,
	    struct deployment *, struct errbuf *);
/* Follow d without driving it until it ends: 0, 1, -1 (eb). */
int	watch_only(struct dctx *, struct deployment *, struct errbuf *);
void	outcome_line(struct dctx *, const struct deployment *, char *buf,
	    size_t bufsz);
void	deployment_print(const struct deployment *, bool details);
void	elapsed_cell(const struct dinst *, time_t now, char buf[16]);
/* Deploy and, on failure, roll back per the group; 0, 1 or -1. */
int	deploy_and_watch(struct dctx *, const struct deployer_group *,
	    const struct revision *, const char *rollback_of,
	    struct deploy_opts *, struct errbuf *);
/* The --json document of a deploy: a new string. */
char	*deploy_json(const struct deploy_opts *, int exitcode,
	    const struct errbuf *);
int	rollback_after(struct dctx *, const struct deployer_group *,
	    struct deployment *, bool force, struct errbuf *);
int	target_restore_good(struct dctx *, const struct deployer_group *,
	    const struct deployment *, struct errbuf *);
int	previous_success(struct dctx *, const char *group, uint64_t before,
	    const char *avoid_sha, struct revision *ret,
	    char ret_id[DEPLOYMENT_ID_LEN + 1], struct errbuf *);
void	revision_release(struct revision *);

/*
 * bundle_cache.c: commit -> bundle records (see the file's comment).
 * brec_prepare() fills what decides a bundle's bytes (commit, subdir,
 * git version) and where its records live; -1 with EK_UNAVAIL when git
 * cannot say its version.  brec_lookup() returns 1 when a matching
 * record names a revision the store has at the recorded size (sha256,
 * size and 'from', where it was recorded, filled), 0 to build the bundle
 * (a line on stdout says why when a record was stale), -1 when the store
 * cannot be asked (eb).  brec_save() writes the local record and, with
 * to_store, the store's; failures are warnings on stderr.  All block on
 * git, the disk or the store.
 */
struct brec {
	char		 commit[41];
	char		*subdir;	/* "" or "dir/" in the work tree */
	char		*git;		/* "git version 2.39.5" */
	char		*local;		/* the local record, NULL: none */
	char		*store_key;	/* the store's record */
	char		 sha256[65];
	uint64_t	 size;
	char		*from;		/* where a lookup found it */
};

void	brec_init(struct brec *);
void	brec_release(struct brec *);
int	brec_prepare(struct brec *, const struct dctx *, const char *commit,
	    const char *subdir, struct errbuf *);
int	brec_lookup(struct brec *, struct dctx *, struct errbuf *);
void	brec_save(const struct brec *, struct dctx *, bool to_store);

/*
 * bluegreen.c: strategy blue_green (see the file's comment).
 * bluegreen_deploy() replaces deploy_and_watch() for such a group (same
 * returns); bluegreen_run() is what drive() runs for it (a new
 * deployment or a resumed one, from its journal): 0, 1, -1, DRIVE_*.
 */
int	bluegreen_deploy(struct dctx *, const struct deployer_group *,
	    const struct revision *, const char *rollback_of,
	    struct deploy_opts *, struct errbuf *);
int	bluegreen_run(struct dctx *, const struct deployer_group *,
	    struct deployment *, struct errbuf *);
int	bluegreen_continue(struct dctx *, const struct deployment *,
	    struct errbuf *);
int	bluegreen_rollback(struct dctx *, const struct deployer_group *,
	    struct deploy_opts *, struct errbuf *);
int	bluegreen_status(struct dctx *, const struct deployer_group *,
	    struct errbuf *);
struct json_t *bluegreen_json(struct dctx *, const struct deployer_group *,
	    const struct deployment *);
/* status --watch of a blue/green deployment: 0 Succeeded, 1 not, -1. */
int	bluegreen_watch(struct dctx *, struct deployment *, struct errbuf *);

/* bundle_pack.c: --bundle FILE|DIR as a .tar.gz (see the file). */
int	bundle_pack(const char *src, const char *out, const char **ret_tgz,
	    struct errbuf *);

/*
 * gates.c: the rollout gates of a deployment (lib/gates.h does the
 * judging and the bake loop; this is its I/O).  dgates_init() resolves
 * health_check's program (EK_CONFIG when it cannot be run) and the AWS
 * client alarms and notify need; without 'gates' (a rollback) it only
 * notifies, and the checks and the bake pass at once.  dgates_check()
 * checks every gate once (phase "start" before the first batch),
 * dgates_bake() bakes batch b for 'seconds' (the group's bake; blue/green:
 * wait_before_cutover), checking at once, every gate_interval and at
 * the end: both return
 * GATES_PASSED, GATES_FAILED (result in *ret_failed) or GATES_STOPPED,
 * record each result in d->gates and save d.  dgates_notify()
 * publishes a notice to the group's topic (a failure is a warning on
 * stderr).  The driver sets stopped (a stop was asked for) and tick
 * (called about every second of a bake).
 */
struct dgates {
	struct dctx			*c;
	const struct deployer_group	*g;
	struct deployment		*d;
	struct aws_client		*aws;	/* c->aws or own */
	struct aws_client		*own;
	char				*health; /* health_check's path */
	long				 batch;
	bool				 gates;	/* check them (not for
						   a rollback) */
	bool				 tty;
	bool				(*stopped)(void *arg);
	void				(*tick)(void *arg);
	void				*arg;
};

struct gate_result;
int	dgates_init(struct dgates *, struct dctx *,
	    const struct deployer_group *, struct deployment *, bool gates,
	    struct errbuf *);
void	dgates_release(struct dgates *);
/*
 * Whether g's gates can run (health_check found, an AWS client for
 * alarms and notify): 0, or -1 with eb (EK_CONFIG ...), before anything
 * is created.
 */
int	dgates_ready(struct dctx *, const struct deployer_group *,
	    struct errbuf *);
int	dgates_check(struct dgates *, const char *phase, long batch,
	    struct gate_result *ret_failed);
int	dgates_bake(struct dgates *, long batch, unsigned seconds,
	    struct gate_result *ret_failed);
/* d Stopped by the failed gate gr: stopped_by "the alarms gate", reason. */
void	dgates_failed(struct deployment *d, const struct gate_result *gr);
void	dgates_notify(struct dgates *, const char *event, long batch,
	    const char *outcome, const char *reason);
/* d's gate fields into / from deployment.json's object o. */
void	dgates_record_to_json(const struct deployment *d, struct json_t *o);
void	dgates_record_from_json(struct json_t *o, struct deployment *d);
void	dgates_record_release(struct deployment *d);
void	dgates_print(const struct deployment *d);
void	dgates_print_reason(const char *prefix, const char *reason);
int	dgates_reason_len(const char *reason);

/* cmd_*.c */
int	cmd_continue(int, char **);	/* bluegreen.c */
int	cmd_deploy(int, char **);
int	cmd_history(int, char **);
int	cmd_instances(int, char **);
int	cmd_resume(int, char **);
int	cmd_rollback(int, char **);
int	cmd_setup(int, char **);
int	cmd_status(int, char **);
int	cmd_stop(int, char **);

#endif /* HOOKD_DEPLOYER_H */
