/* SPDX-License-Identifier: ISC */
/*
 * hooks.h: run the scripts one appspec attaches to one lifecycle event:
 * decide the path, argv, environment, working directory and user of
 * each, run it through proc_run(), and copy its output into the
 * deployment log.  What runs when is lifecycle.c's business; how a child
 * is supervised is proc.c's.
 */
#ifndef HOOKD_HOOKS_H
#define HOOKD_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "appspec.h"
#include "caps.h"
#include "compat.h"

struct deploylog;
struct errbuf;

/* The deployment the scripts belong to (borrowed strings). */
struct hook_ctx {
	const char	*deployment_id;
	const char	*application;
	const char	*group;
	const char	*group_id;
	struct deploylog *log;
	void		(*on_tick)(void *arg);
	unsigned	 tick_msec;
	void		*arg;
	/* Called before each script starts (may be NULL). */
	void		(*on_script)(void *arg, enum lc_event, const char *);
};

/* The revision whose scripts run (borrowed). */
struct hook_rev {
	const struct appspec *as;
	const char	*release_dir;	/* absolute: cwd, HOOKD_RELEASE_DIR */
	const char	*previous_dir;	/* HOOKD_PREVIOUS_RELEASE_DIR or "" */
	const char	*commit;	/* BUNDLE_COMMIT or NULL */
};

/* What happened; filled in on success and on failure. */
struct hook_report {
	size_t		 nrun;		/* scripts started */
	char		 script[256];	/* the failed (else last) script */
	char		 outcome[512];	/* "exited 3", "timed out after 2 s" */
	char		 tail[HOOK_TAIL_MAX + 1];
	bool		 stopped;	/* proc_request_stop() ended it */
};

/*
 * Run every script of 'ev' in rev->as, in order, stopping at the first
 * that fails.  A script without the execute bit gets it (it is inside the
 * release directory, which hookd owns).  Returns 0 when all succeeded
 * (or there were none), -1 with eb and *rep set otherwise: EK_FAILED for
 * a script that failed, timed out, could not be executed or was stopped;
 * EK_DATA for an unknown runas user; EK_OS when no process could be
 * started.  Blocks while the scripts run (at most their timeouts plus
 * the kill grace).
 */
/*
 * Give the script at 'path' (called 'name' in messages) the exec bit if
 * it lacks it: bundles made on systems without modes (zip) or by tools
 * that drop them must still run, as under the reference agent.  It must
 * be a regular file.  Returns 0, or -1 with eb set (EK_FAILED).
 */
int	hooks_make_executable(const char *path, const char *name,
	    struct errbuf *);
int	hooks_run_event(const struct hook_ctx *, const struct hook_rev *,
	    enum lc_event, struct hook_report *rep, struct errbuf *);

#endif /* HOOKD_HOOKS_H */
