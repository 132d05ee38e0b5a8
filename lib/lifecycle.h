/* SPDX-License-Identifier: ISC */
/*
 * lifecycle.h: the deployment engine.  One call runs one in-place
 * deployment of a bundle on this host, from the lock to the final
 * state.json, and puts the host back when it fails.  Its callers (hookd
 * deploy-local, the daemon's 'run', 'bake') differ only in where the
 * bundle comes from and what they do with the progress, which they learn
 * through a struct deploy_observer.
 *
 * On the host (GDIR = ROOT/APP/GROUP):
 *   GDIR/.lock                 flock(2) held for the whole deployment
 *   GDIR/state.json            see state.h
 *   GDIR/releases/SEQ-ID/      the bundle root of each deployment
 *   GDIR/releases/.manifest-SEQ-ID  the tree as extracted (manifest.h)
 *   GDIR/current -> releases/SEQ-ID
 *   ROOT/logs/ID.log           see deploylog.h
 */
#ifndef HOOKD_LIFECYCLE_H
#define HOOKD_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "appspec.h"
#include "bundle.h"
#include "compat.h"
#include "dests.h"

struct errbuf;

/*
 * BlockTraffic and AllowTraffic, done for the engine by its caller (the
 * daemon fills this from lib/traffic.c: the engine knows no load
 * balancer).  block takes this host out of its load balancers and waits
 * until it is drained; allow puts it back and waits until it is healthy,
 * leaving it out when it never is.  Both return 0, or -1 with eb naming
 * the load balancer, its state and its reason.  They call say(sarg,
 * line) with each poll's state (the engine logs it, ticks, and hands it
 * to the observer's on_traffic), may block up to their deadlines, and
 * fail early once proc_request_stop() was called.
 */
struct deploy_traffic {
	int		(*block)(void *arg, void (*say)(void *, const char *),
			    void *sarg, struct errbuf *);
	int		(*allow)(void *arg, void (*say)(void *, const char *),
			    void *sarg, struct errbuf *);
	void		*arg;
};

/* What to deploy and where (borrowed strings). */
struct deploy_spec {
	const char	*root;		/* ROOT, e.g. /var/lib/hookd */
	const char	*application;
	const char	*group;
	const char	*group_id;	/* DEPLOYMENT_GROUP_ID; NULL: group */
	const char	*deployment_id;	/* NULL: a new "d-XXXXXXXXX" */
	uint64_t	 sequence;	/* 0: one above state's last_sequence */
	const char	*bundle;	/* directory, .tar, .tar.gz, .zip */
	const char	*sha256;	/* expected bundle hash, or NULL */
	const char	*commit;	/* BUNDLE_COMMIT, or NULL */
	unsigned	 keep_releases;	/* 0: KEEP_RELEASES_DEFAULT */
	enum file_exists_behavior file_exists_behavior;	/* UNSET: appspec's */
	bool		 strict;	/* an appspec warning fails it */
	struct bundle_limits limits;	/* zero: bundle_limits_default() */
	/*
	 * Go on past a failed ApplicationStop, BeforeBlockTraffic or
	 * AfterBlockTraffic of the live revision, with a warning in the
	 * log (CodeDeploy's --ignore-application-stop-failures).
	 */
	bool		 ignore_stop_failures;
	const struct deploy_traffic *traffic;	/* NULL: no traffic control
						   (no Block/AllowTraffic) */
	/*
	 * The other groups this host serves: a deployment whose files:
	 * destinations overlap one of theirs is refused before anything
	 * changes (dests_check_peers(), EK_DATA).
	 */
	const struct deploy_peer *peers;
	size_t		 npeers;
};

void	deploy_spec_init(struct deploy_spec *);

enum deploy_event_status {
	DEPLOY_EVENT_OK = 0,
	DEPLOY_EVENT_FAILED,
	DEPLOY_EVENT_SKIPPED,
};

const char *deploy_event_status_name(enum deploy_event_status);

/* One event as it ended (borrowed; valid during the callback). */
struct deploy_event {
	enum lc_event	 event;
	enum deploy_event_status status;
	double		 duration;	/* seconds */
	const char	*script;	/* failed (else last) script, or NULL */
	const char	*outcome;	/* "exited 3", "no scripts"... NULL */
	const char	*tail;		/* failed script's last output, or "" */
	const char	*revision;	/* deployment id whose scripts ran */
	bool		 rollback;	/* run to put the previous one back */
	/* DownloadBundle: the appspec's warnings (appspec.h), else none */
	char *const	*warnings;
	size_t		 nwarnings;
};

/*
 * Progress callbacks, each optional, each given 'arg'.  They run in the
 * engine's process between steps (on_tick while a script runs and while
 * the bundle is extracted, about every tick_msec) and must not call back
 * into the engine.
 */
struct deploy_observer {
	void		(*on_event_start)(void *arg, enum lc_event ev,
			    bool rollback);
	void		(*on_script)(void *arg, enum lc_event ev,
			    const char *script);
	void		(*on_event_end)(void *arg, const struct deploy_event *);
	void		(*on_tick)(void *arg);
	/* An interrupted deployment is about to be undone. */
	void		(*on_recover)(void *arg, const char *deployment_id,
			    const char *phase);
	/* One poll of BlockTraffic or AllowTraffic ("draining: ..."). */
	void		(*on_traffic)(void *arg, enum lc_event ev,
			    const char *line);
	unsigned	 tick_msec;	/* 0: HOOK_TICK_MSEC */
	void		*arg;
};

enum deploy_status {
	DEPLOY_SUCCEEDED = 0,
	DEPLOY_FAILED,		/* a step failed; the host was put back */
	DEPLOY_INTERRUPTED,	/* stopped (proc_request_stop); recover next */
	DEPLOY_RECOVERED,	/* lifecycle_recover() undid a deployment */
	DEPLOY_NOTHING,		/* lifecycle_recover(): nothing in progress */
};

const char *deploy_status_name(enum deploy_status);

struct deploy_result {
	enum deploy_status status;
	char		*deployment_id;	/* the deployment (or the recovered) */
	uint64_t	 sequence;
	char		*release;	/* "releases/SEQ-ID" */
	int		 failed_event;	/* enum lc_event, or -1 */
	char		*script;	/* failed script, or NULL */
	char		*outcome;	/* what went wrong, or NULL */
	char		*tail;		/* the script's last output, or NULL */
	char		*rolled_back_to; /* deployment id, or NULL */
	char		*rollback_error; /* the rollback's own failure, NULL */
	char		*recovered_id;	/* an interrupted deployment undone */
	char		*reused;	/* "SEQ-ID": a release reused or NULL */
};

void	deploy_result_init(struct deploy_result *);
void	deploy_result_release(struct deploy_result *);

/*
 * Run one deployment.  Takes GDIR/.lock, first recovers a deployment left
 * in progress (as lifecycle_recover), extracts and validates the bundle
 * before any script runs, then runs the events and records the outcome.
 * A bundle with a sha256 (not a directory) already extracted into a
 * release that is neither live nor a rollback target and is unchanged
 * since (its manifest) is reused by renaming that release instead of
 * extracting: ret->reused names it, and DownloadBundle's outcome says
 * "reused release SEQ-ID".  The observer's on_tick also runs during the
 * extraction.
 *
 * Returns 0 when the deployment ran, whatever its outcome: *ret says
 * DEPLOY_SUCCEEDED, DEPLOY_FAILED (with the event, script, outcome, tail
 * and what it rolled back to) or DEPLOY_INTERRUPTED.  Returns -1 with eb
 * set when it did not run and the host is unchanged: EK_TEMP (the lock
 * is held by another deployment), EK_NOINPUT (no bundle), EK_DATA (bad
 * bundle or appspec, sha256 mismatch, stale sequence), EK_USAGE (a bad
 * name), EK_IO; ret->failed_event is LC_DOWNLOAD_BUNDLE when the bundle
 * or its appspec was the trouble (the work of DownloadBundle), else -1.
 * *ret must be released in both cases.  Blocks for as long as the
 * scripts run.
 *
 * The bundle is read once: it is hashed as it is extracted and its
 * digest checked against spec->sha256 before the release is used; only
 * when a release could be reused is it hashed first, on its own.
 * state.json records the deployment in progress (phase DownloadBundle)
 * before its release can appear under releases/, so a kill at any point
 * leaves either nothing or a deployment that recovery records as
 * Interrupted; one interrupted in DownloadBundle has its release removed.
 */
int	lifecycle_deploy(const struct deploy_spec *,
	    const struct deploy_observer *, struct deploy_result *ret,
	    struct errbuf *);

/*
 * Undo a deployment that was in progress when hookd died (or was
 * stopped): switch 'current' back, run the previous release's
 * ApplicationStart when its ApplicationStop had run, and record the
 * deployment as Interrupted.  Uses spec's root, application and group
 * only.  Returns 0 with ret->status DEPLOY_RECOVERED or DEPLOY_NOTHING;
 * -1 with eb set (EK_TEMP: still locked after waiting up to
 * LC_RECOVER_LOCK_WAIT_MS; EK_DATA: unreadable state; EK_IO).
 */
int	lifecycle_recover(const struct deploy_spec *,
	    const struct deploy_observer *, struct deploy_result *ret,
	    struct errbuf *);

#endif /* HOOKD_LIFECYCLE_H */
