/* SPDX-License-Identifier: ISC */
/*
 * lifecycle.c: the deployment engine (see lifecycle.h and
 * docs/ARCHITECTURE.md for the state machine).
 *
 * Order of work, and why:
 *  1. lock GDIR/.lock; load state.json; undo a deployment left in
 *     progress (recover);
 *  2. "prepare": record in_progress (phase DownloadBundle) durably before
 *     anything can appear under releases/ (begin()), extract the bundle
 *     into releases/.tmp-SEQ-ID, hashing it in the same read and checking
 *     the digest, rename the bundle root to releases/SEQ-ID (or reuse an
 *     unprotected, unchanged release of the same sha256 by renaming it:
 *     see reuse(); only then is the bundle hashed first), parse and check
 *     its appspec; give a new release's hook scripts their exec bit and
 *     record its manifest from what the extraction made (no walk).  A
 *     failure removes the release and puts the state back.  This is the work
 *     of DownloadBundle, done before any script runs so that a bad bundle
 *     or appspec changes nothing on the host; the event is reported at
 *     its CodeDeploy position with this duration;
 *  3. record in_progress (durable), then run the events in CodeDeploy's
 *     in-place order, saving the phase before each.  Two facts recovery
 *     needs are saved durably before they become true: "stopped" (the
 *     live ApplicationStop is about to run) and "switched" ('current' is
 *     about to move);
 *  4. success: current/previous/last_good move, history, retention.
 *     Failure: undo the destination links, switch 'current' back, run the
 *     live revision's ApplicationStart if its ApplicationStop ran.
 *
 * Traffic control (spec->traffic): BlockTraffic and AllowTraffic are
 * the caller's (lib/traffic.c through struct deploy_traffic).
 * in_progress.traffic is saved durably before the host leaves its load
 * balancers ("out") and once it is back ("in"), so that a failure or a
 * recovery after kill -9 takes it out before the previous release is
 * restarted ("in") and puts it back only once that release runs
 * ("out"): the host never stays out for good, and a release that did
 * not come back stays out.
 *
 * lib/ rule: nothing is logged above debug; the deployment log
 * (deploylog.c) is the record, the observer the caller's view.
 */
#include "compat.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "appspec.h"
#include "bundle.h"
#include "caps.h"
#include "clock.h"
#include "deploylog.h"
#include "digest.h"
#include "errbuf.h"
#include "fsutil.h"
#include "hooks.h"
#include "lifecycle.h"
#include "manifest.h"
#include "names.h"
#include "proc.h"
#include "release.h"
#include "state.h"
#include "xalloc.h"

#include "banned.h"

struct engine {
	const struct deploy_spec	*spec;
	const struct deploy_observer	*obs;
	struct deploy_result		*res;

	char		*root;		/* absolute */
	char		*gdir;		/* ROOT/APP/GROUP */
	char		*statepath;
	int		 lockfd;
	struct state	 st;
	struct deploylog log;

	/* The new deployment. */
	char		 id[NAME_LEN_MAX + 1];
	uint64_t	 seq;
	char		*relname;	/* "SEQ-ID" */
	char		*relpath;	/* "releases/SEQ-ID" */
	char		*reldir;	/* absolute */
	char		*sha256;
	char		*reused;	/* release renamed to relname or NULL */
	bool		 reldir_made;
	bool		 begun;		/* in_progress saved (begin()) */
	uint64_t	 last_before;	/* last_sequence before begin() */
	struct bundle_tree tree;	/* what the extraction made */
	char		*tree_prefix;	/* the release root in it ("": all) */
	struct appspec	 as;

	/* The live revision (last_good) and the one before it. */
	char		*livedir;	/* NULL: first deployment */
	char		*live_prevdir;	/* "" when none */
	struct appspec	 live_as;
	bool		 live_ok;	/* live_as loaded */
	char		*live_err;

	double		 prep_secs;
	bool		 traffic;	/* the traffic script events run */
	bool		 tctl;		/* Block/AllowTraffic (spec) */
	enum lc_event	 tev;		/* the traffic step running */
	bool		 stopped;
	bool		 switched;
	struct release_links links;
	char		 started_at[STATE_TIME_LEN];
};

/* --- small helpers --- */

void
deploy_spec_init(struct deploy_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
}

void
deploy_result_init(struct deploy_result *r)
{
	memset(r, 0, sizeof(*r));
	r->failed_event = -1;
}

void
deploy_result_release(struct deploy_result *r)
{
	free(r->deployment_id);
	free(r->release);
	free(r->script);
	free(r->outcome);
	free(r->tail);
	free(r->rolled_back_to);
	free(r->rollback_error);
	free(r->recovered_id);
	free(r->reused);
	deploy_result_init(r);
}

const char *
deploy_event_status_name(enum deploy_event_status s)
{
	switch (s) {
	case DEPLOY_EVENT_OK:
		return "ok";
	case DEPLOY_EVENT_FAILED:
		return "failed";
	default:
		return "skipped";
	}
}

const char *
deploy_status_name(enum deploy_status s)
{
	switch (s) {
	case DEPLOY_SUCCEEDED:
		return "Succeeded";
	case DEPLOY_FAILED:
		return "Failed";
	case DEPLOY_INTERRUPTED:
	case DEPLOY_RECOVERED:
		return "Interrupted";
	default:
		return "None";
	}
}

static void
setstr(char **p, const char *s)
{
	free(*p);
	*p = s == NULL ? NULL : xstrdup(s);
}

/* The appspec of an extracted release: DIR/appspec.yml or .yaml. */
static int
load_appspec(struct appspec *as, const char *dir, struct errbuf *eb)
{
	char	*path;
	int	 r;

	path = xasprintf("%s/appspec.yml", dir);
	if (access(path, F_OK) == -1) {
		free(path);
		path = xasprintf("%s/appspec.yaml", dir);
	}
	r = appspec_load(as, path, strrchr(path, '/') + 1, eb);
	free(path);
	return r;
}

static bool
has_traffic(const struct appspec *as)
{
	return as->nhooks[LC_BEFORE_BLOCK_TRAFFIC] > 0 ||
	    as->nhooks[LC_AFTER_BLOCK_TRAFFIC] > 0 ||
	    as->nhooks[LC_BEFORE_ALLOW_TRAFFIC] > 0 ||
	    as->nhooks[LC_AFTER_ALLOW_TRAFFIC] > 0;
}

/* --- engine setup and teardown --- */

static void
engine_init(struct engine *e, const struct deploy_spec *spec,
    const struct deploy_observer *obs, struct deploy_result *res)
{
	static const struct deploy_observer	 none = { 0 };

	memset(e, 0, sizeof(*e));
	e->spec = spec;
	e->obs = obs != NULL ? obs : &none;
	e->res = res;
	e->lockfd = -1;
	e->tctl = spec->traffic != NULL && spec->traffic->block != NULL &&
	    spec->traffic->allow != NULL;
	state_init(&e->st);
	deploylog_init(&e->log);
	appspec_init(&e->as);
	appspec_init(&e->live_as);
	release_links_init(&e->links);
	bundle_tree_init(&e->tree);
}

static void
engine_release(struct engine *e)
{
	free(e->root);
	free(e->gdir);
	free(e->statepath);
	if (e->lockfd != -1)
		close(e->lockfd);	/* releases the flock */
	state_release(&e->st);
	deploylog_close(&e->log);
	free(e->relname);
	free(e->relpath);
	free(e->reldir);
	free(e->sha256);
	free(e->reused);
	bundle_tree_release(&e->tree);
	free(e->tree_prefix);
	appspec_release(&e->as);
	free(e->livedir);
	free(e->live_prevdir);
	appspec_release(&e->live_as);
	free(e->live_err);
	release_links_release(&e->links);
}

/* Paths, directories, the lock and state.json. */
/*
 * flock(2) the group lock, waiting up to wait_ms for a holder to let go
 * (0: do not wait).  Returns 0, or -1 with errno (EWOULDBLOCK: held).
 */
static int
lock_wait(int fd, long wait_ms)
{
	const struct timespec	 nap = { 0, LC_LOCK_NAP_MS * 1000000L };
	long			 waited = 0;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK || waited >= wait_ms)
			return -1;
		(void)nanosleep(&nap, NULL);
		waited += LC_LOCK_NAP_MS;
	}
}

static int
engine_open(struct engine *e, long lock_wait_ms, struct errbuf *eb)
{
	const struct deploy_spec	*sp = e->spec;
	char				 real[PATH_MAX];
	char				*p;

	if (sp->root == NULL || sp->root[0] == '\0')
		return errbuf_set(eb, EK_USAGE, "no root directory given");
	if (!name_ok(sp->application))
		return errbuf_set(eb, EK_USAGE, "invalid application name "
		    "'%s' (use letters, digits, '.', '_', '-')",
		    sp->application != NULL ? sp->application : "");
	if (!name_ok(sp->group))
		return errbuf_set(eb, EK_USAGE, "invalid group name '%s' "
		    "(use letters, digits, '.', '_', '-')",
		    sp->group != NULL ? sp->group : "");
	if (fs_mkdirs(sp->root, 0755, eb) == -1)
		return -1;
	if (realpath(sp->root, real) == NULL)
		return errbuf_errno(eb, EK_IO, "cannot resolve '%s'", sp->root);
	e->root = xstrdup(real);
	e->gdir = xasprintf("%s/%s/%s", e->root, sp->application, sp->group);
	p = xasprintf("%s/%s", e->gdir, RELEASE_DIR);
	if (fs_mkdirs(p, 0755, eb) == -1) {
		free(p);
		return -1;
	}
	free(p);
	p = xasprintf("%s/logs", e->root);
	if (fs_mkdirs(p, 0755, eb) == -1) {
		free(p);
		return -1;
	}
	free(p);

	p = xasprintf("%s/.lock", e->gdir);
	e->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (e->lockfd == -1) {
		errbuf_errno(eb, EK_IO, "cannot open '%s'", p);
		free(p);
		return -1;
	}
	if (lock_wait(e->lockfd, lock_wait_ms) == -1) {
		if (errno == EWOULDBLOCK)
			errbuf_set(eb, EK_TEMP, "another deployment of '%s/%s' "
			    "is running (lock '%s' is held)", sp->application,
			    sp->group, p);
		else
			errbuf_errno(eb, EK_IO, "cannot lock '%s'", p);
		free(p);
		return -1;
	}
	free(p);

	e->statepath = xasprintf("%s/state.json", e->gdir);
	if (state_load(e->statepath, &e->st, eb) == -1)
		return -1;
	if (e->st.application == NULL)
		e->st.application = xstrdup(sp->application);
	if (e->st.group == NULL)
		e->st.group = xstrdup(sp->group);
	return 0;
}

static int
save_state(struct engine *e, bool durable, struct errbuf *eb)
{
	return state_save(&e->st, e->statepath, durable, eb);
}

/* --- observer plumbing --- */

static void
obs_start(struct engine *e, enum lc_event ev, bool rollback)
{
	deploylog_printf(&e->log, lc_event_name(ev), "%s",
	    rollback ? "start (rollback)" : "start");
	if (e->obs->on_event_start != NULL)
		e->obs->on_event_start(e->obs->arg, ev, rollback);
}

static void
obs_end(struct engine *e, enum lc_event ev, enum deploy_event_status st,
    double t0, const char *script, const char *outcome, const char *tail,
    const char *rev, bool rollback)
{
	struct deploy_event	 de;

	de.event = ev;
	de.status = st;
	de.duration = mono_sec() - t0;
	de.script = script;
	de.outcome = outcome;
	de.tail = tail != NULL ? tail : "";
	de.revision = rev;
	de.rollback = rollback;
	de.warnings = NULL;
	de.nwarnings = 0;
	if (ev == LC_DOWNLOAD_BUNDLE && !rollback) {
		de.warnings = e->as.warnings;
		de.nwarnings = e->as.nwarnings;
	}
	deploylog_printf(&e->log, lc_event_name(ev), "%s%s%s (%.3f s)",
	    deploy_event_status_name(st), outcome != NULL ? ": " : "",
	    outcome != NULL ? outcome : "", de.duration);
	if (e->obs->on_event_end != NULL)
		e->obs->on_event_end(e->obs->arg, &de);
}

/*
 * Run the scripts of one event of one revision, reporting it.  Returns
 * 0, or -1 with eb and *rep set.
 */
static int
run_event(struct engine *e, enum lc_event ev, const struct hook_rev *rev,
    const char *revid, bool rollback, struct hook_report *rep,
    struct errbuf *eb)
{
	struct hook_ctx	 hc;
	double		 t0 = mono_sec();
	int		 r;

	obs_start(e, ev, rollback);
	memset(rep, 0, sizeof(*rep));
	if (rev->as == NULL || rev->as->nhooks[ev] == 0) {
		obs_end(e, ev, DEPLOY_EVENT_SKIPPED, t0, NULL, "no scripts",
		    NULL, revid, rollback);
		return 0;
	}
	memset(&hc, 0, sizeof(hc));
	hc.deployment_id = e->id;
	hc.application = e->spec->application;
	hc.group = e->spec->group;
	hc.group_id = e->spec->group_id != NULL ? e->spec->group_id :
	    e->spec->group;
	hc.log = &e->log;
	hc.on_tick = e->obs->on_tick;
	hc.tick_msec = e->obs->tick_msec != 0 ? e->obs->tick_msec :
	    HOOK_TICK_MSEC;
	hc.arg = e->obs->arg;
	hc.on_script = e->obs->on_script;
	r = hooks_run_event(&hc, rev, ev, rep, eb);
	obs_end(e, ev, r == 0 ? DEPLOY_EVENT_OK : DEPLOY_EVENT_FAILED, t0,
	    rep->nrun > 0 ? rep->script : NULL, r == 0 ? NULL : rep->outcome,
	    r == 0 ? NULL : rep->tail, revid, rollback);
	return r;
}

/* --- traffic control --- */

/* One poll of a traffic step: the log, the observer, a tick. */
static void
traffic_say(void *arg, const char *line)
{
	struct engine	*e = arg;

	deploylog_printf(&e->log, lc_event_name(e->tev), "%s", line);
	if (e->obs->on_traffic != NULL)
		e->obs->on_traffic(e->obs->arg, e->tev, line);
	if (e->obs->on_tick != NULL)
		e->obs->on_tick(e->obs->arg);
}

static bool
traffic_is(const struct engine *e, const char *v)
{
	const char	*t = e->st.in_progress.traffic;

	return t != NULL && strcmp(t, v) == 0;
}

/* Record where the host stands with its load balancers. */
static int
set_traffic(struct engine *e, const char *v, struct errbuf *eb)
{
	setstr(&e->st.in_progress.traffic, v);
	return save_state(e, true, eb);
}

/*
 * Run BlockTraffic or AllowTraffic (ev) through spec->traffic, reported
 * as an event of revision revid.  Returns 0, or -1 with eb set.
 */
static int
run_traffic(struct engine *e, enum lc_event ev, const char *revid,
    bool rollback, struct errbuf *eb)
{
	const struct deploy_traffic	*t = e->spec->traffic;
	double				 t0 = mono_sec();
	int				 r;

	e->tev = ev;
	obs_start(e, ev, rollback);
	if (ev == LC_BLOCK_TRAFFIC)
		r = t->block(t->arg, traffic_say, e, eb);
	else
		r = t->allow(t->arg, traffic_say, e, eb);
	obs_end(e, ev, r == 0 ? DEPLOY_EVENT_OK : DEPLOY_EVENT_FAILED, t0,
	    NULL, r == 0 ? NULL : eb->msg, NULL, revid, rollback);
	return r;
}

/*
 * Before the host is put back: a host in traffic ("in", or a first
 * release that started) leaves it first, so that no request meets a
 * stopping app.  After: a host out of traffic goes back once the live
 * release runs again (put_ok), never when it does not.  Returns NULL, or
 * what could not be done (new string).
 */
static char *
traffic_undo_before(struct engine *e, bool first_started)
{
	struct errbuf	 eb;

	if (!e->tctl || !(traffic_is(e, "in") || first_started))
		return NULL;
	deploylog_printf(&e->log, NULL, "out of traffic before the release "
	    "is put back");
	(void)set_traffic(e, "out", &eb);
	if (run_traffic(e, LC_BLOCK_TRAFFIC, e->id, true, &eb) == -1)
		return xstrdup(eb.msg);
	return NULL;
}

static char *
traffic_undo_after(struct engine *e, bool put_ok)
{
	struct state_rev	*cur = &e->st.current;
	struct errbuf		 eb;

	if (!traffic_is(e, "out"))
		return NULL;
	if (!e->tctl)
		return xstrdup("the host may be out of its load balancers "
		    "(no traffic control to put it back)");
	if (!put_ok || cur->sequence == 0)
		return xstrdup("left out of traffic: no release runs");
	if (run_traffic(e, LC_ALLOW_TRAFFIC, cur->deployment_id, true,
	    &eb) == -1)
		return xasprintf("left out of traffic: %s", eb.msg);
	return NULL;
}

/* "a; b" of two optional messages (new string or NULL; frees both). */
static char *
join_err(char *a, char *b)
{
	char	*r;

	if (a == NULL)
		return b;
	if (b == NULL)
		return a;
	r = xasprintf("%s; %s", a, b);
	free(a);
	free(b);
	return r;
}

/* --- recovery --- */

/*
 * Put back the live revision: undo links made by this process, switch
 * 'current' back when it may have moved, and run the live revision's
 * ApplicationStart when its ApplicationStop ran.  Returns 0, or -1 with
 * *ret_err (new string) saying what could not be put back.
 */
static int
put_back(struct engine *e, bool stopped, bool switched, char **ret_err)
{
	struct state_rev	*cur = &e->st.current;
	struct hook_report	 rep;
	struct hook_rev		 rev;
	struct appspec		 as;
	struct errbuf		 eb;
	char			*dir = NULL, *prevdir = NULL;
	int			 ret = 0;

	*ret_err = NULL;
	release_unlink_files(&e->links);
	if (switched) {
		deploylog_printf(&e->log, NULL, "switching 'current' back to "
		    "%s", cur->sequence != 0 ? cur->release : "(none)");
		if (release_switch(e->gdir, cur->sequence != 0 ?
		    cur->release : NULL, &eb) == -1) {
			deploylog_printf(&e->log, NULL, "%s", eb.msg);
			*ret_err = xstrdup(eb.msg);
			return -1;
		}
	}
	if (!stopped || cur->sequence == 0)
		return 0;

	appspec_init(&as);
	dir = xasprintf("%s/%s", e->gdir, cur->release);
	prevdir = e->st.previous.sequence != 0 ? xasprintf("%s/%s", e->gdir,
	    e->st.previous.release) : xstrdup("");
	if (load_appspec(&as, dir, &eb) == -1) {
		deploylog_printf(&e->log, NULL, "cannot restart the previous "
		    "release: %s", eb.msg);
		*ret_err = xasprintf("cannot restart the previous release: %s",
		    eb.msg);
		ret = -1;
		goto out;
	}
	rev.as = &as;
	rev.release_dir = dir;
	rev.previous_dir = prevdir;
	rev.commit = cur->commit;
	if (run_event(e, LC_APPLICATION_START, &rev, cur->deployment_id, true,
	    &rep, &eb) == -1) {
		*ret_err = xasprintf("ApplicationStart of %s: %s%s%s",
		    cur->deployment_id, rep.nrun > 0 ? rep.script : "",
		    rep.nrun > 0 ? ": " : "", rep.outcome);
		ret = -1;
	}
 out:
	appspec_release(&as);
	free(dir);
	free(prevdir);
	return ret;
}

static bool	rev_is(const struct state_rev *, const char *);

/*
 * A deployment interrupted in DownloadBundle never ran a script, and
 * nothing refers to the release it was preparing (reuse may have renamed
 * an old one to it): remove it and its manifest, so that no release is
 * left without a recorded outcome.
 */
static void
drop_orphan(struct engine *e, const struct state_progress *ip)
{
	const char	*rel = ip->rev.release, *name;
	struct errbuf	 eb;
	char		*dir;
	size_t		 plen = strlen(RELEASE_DIR "/");

	if (rel == NULL || strncmp(rel, RELEASE_DIR "/", plen) != 0 ||
	    !name_ok(rel + plen) || rev_is(&e->st.current,
	    rel + plen) || rev_is(&e->st.previous, rel + plen) ||
	    rev_is(&e->st.last_good, rel + plen))
		return;
	name = rel + plen;
	dir = xasprintf("%s/%s", e->gdir, rel);
	manifest_remove(e->gdir, name);
	if (fs_rmtree(dir, &eb) == -1)
		deploylog_printf(&e->log, NULL, "%s", eb.msg);
	else
		deploylog_printf(&e->log, NULL, "removed the release it was "
		    "preparing, %s", rel);
	free(dir);
}

/* Recover an in-progress deployment found in state.json (locked). */
static int
recover(struct engine *e, struct errbuf *eb)
{
	struct state_progress	*ip = &e->st.in_progress;
	struct state_hist	 h = { 0 };
	char			 ts[STATE_TIME_LEN], *logpath, *err = NULL;
	bool			 undo;

	logpath = xasprintf("%s/logs/%s.log", e->root, ip->rev.deployment_id);
	if (deploylog_open(&e->log, logpath, eb) == -1) {
		free(logpath);
		return -1;
	}
	free(logpath);
	(void)strlcpy(e->id, ip->rev.deployment_id, sizeof(e->id));
	deploylog_printf(&e->log, NULL, "recovering: deployment %s was "
	    "interrupted during %s", e->id, ip->phase != NULL ? ip->phase :
	    "(unknown)");
	undo = ip->stopped || ip->switched;
	/* The destination links it made (recorded before the switch). */
	for (size_t i = 0; i < ip->nlinks; i++) {
		struct release_link	*l;

		e->links.v = xreallocarray(e->links.v, e->links.n + 1,
		    sizeof(*e->links.v));
		l = &e->links.v[e->links.n++];
		l->path = xstrdup(ip->links[i].path);
		l->old_target = ip->links[i].old_target != NULL ?
		    xstrdup(ip->links[i].old_target) : NULL;
		l->backup = ip->links[i].backup != NULL ?
		    xstrdup(ip->links[i].backup) : NULL;
	}
	if (e->obs->on_recover != NULL)
		e->obs->on_recover(e->obs->arg, e->id, ip->phase);
	err = traffic_undo_before(e, false);
	{
		char	*perr = NULL;
		int	 pr;

		pr = put_back(e, ip->stopped, ip->switched, &perr);
		err = join_err(err, perr);
		err = join_err(err, traffic_undo_after(e, pr == 0));
	}
	if (ip->phase != NULL && !undo &&
	    strcmp(ip->phase, lc_event_name(LC_DOWNLOAD_BUNDLE)) == 0)
		drop_orphan(e, ip);
	release_clean_tmp(e->gdir);

	state_timestamp(ts);
	h.deployment_id = xstrdup(ip->rev.deployment_id);
	h.sequence = ip->rev.sequence;
	h.status = xstrdup("Interrupted");
	h.event = ip->phase != NULL ? xstrdup(ip->phase) : NULL;
	h.message = err != NULL ? xasprintf("interrupted; %s", err) :
	    xstrdup("interrupted; recovered on the next run");
	h.started_at = ip->started_at != NULL ? xstrdup(ip->started_at) :
	    NULL;
	h.finished_at = xstrdup(ts);
	if (undo && e->st.current.sequence != 0)
		h.rolled_back_to = xstrdup(e->st.current.deployment_id);
	setstr(&e->res->recovered_id, ip->rev.deployment_id);
	if (h.rolled_back_to != NULL)
		setstr(&e->res->rolled_back_to, h.rolled_back_to);
	if (err != NULL)
		setstr(&e->res->rollback_error, err);
	free(err);
	state_push_history(&e->st, &h);
	state_progress_clear(ip);
	if (save_state(e, true, eb) == -1)
		return -1;
	deploylog_printf(&e->log, NULL, "recovered");
	deploylog_close(&e->log);
	e->id[0] = '\0';
	return 0;
}

int
lifecycle_recover(const struct deploy_spec *spec,
    const struct deploy_observer *obs, struct deploy_result *ret,
    struct errbuf *eb)
{
	struct engine	 e;
	int		 rv = -1;

	deploy_result_init(ret);
	engine_init(&e, spec, obs, ret);
	/*
	 * Recovery waits a moment for the lock: it runs when the previous
	 * holder is known to be gone or going (hookd starting after a
	 * crash, or the daemon after its deployment process died), and
	 * a holder killed by PR_SET_PDEATHSIG with its parent may still be
	 * exiting when a restarted daemon gets here.  A deployment never
	 * waits: a busy lock means another one runs (EK_TEMP, postponed).
	 */
	if (engine_open(&e, LC_RECOVER_LOCK_WAIT_MS, eb) == -1)
		goto out;
	if (e.st.in_progress.rev.sequence == 0) {
		ret->status = DEPLOY_NOTHING;
		release_clean_tmp(e.gdir);
		rv = 0;
		goto out;
	}
	ret->deployment_id = xstrdup(e.st.in_progress.rev.deployment_id);
	ret->sequence = e.st.in_progress.rev.sequence;
	ret->release = xstrdup(e.st.in_progress.rev.release);
	if (recover(&e, eb) == -1)
		goto out;
	ret->status = DEPLOY_RECOVERED;
	rv = 0;
 out:
	engine_release(&e);
	return rv;
}

/* --- prepare (the work of DownloadBundle) --- */

static int
assign(struct engine *e, struct errbuf *eb)
{
	const struct deploy_spec	*sp = e->spec;
	uint64_t			 last = e->st.last_sequence;

	if (sp->deployment_id != NULL) {
		if (!deployment_id_ok(sp->deployment_id))
			return errbuf_set(eb, EK_DATA, "invalid deployment id "
			    "'%s'", sp->deployment_id);
		(void)strlcpy(e->id, sp->deployment_id, sizeof(e->id));
	} else
		if (deployment_id_new(e->id, eb) == -1)
			return -1;
	e->seq = sp->sequence != 0 ? sp->sequence : last + 1;
	/* The sequence rule, by sequence alone (the admission's too). */
	if (state_seq_verdict(&e->st, NULL, e->seq, NULL) != SEQ_RUN) {
		if (e->seq < last)
			return errbuf_set(eb, EK_DATA, "sequence %llu is "
			    "below the group's last sequence %llu",
			    (unsigned long long)e->seq,
			    (unsigned long long)last);
		return errbuf_set(eb, EK_DATA, "sequence %llu has already "
		    "run on this host", (unsigned long long)last);
	}
	e->relname = xasprintf("%llu-%s", (unsigned long long)e->seq, e->id);
	e->relpath = xasprintf("%s/%s", RELEASE_DIR, e->relname);
	e->reldir = xasprintf("%s/%s", e->gdir, e->relpath);
	e->res->deployment_id = xstrdup(e->id);
	e->res->sequence = e->seq;
	e->res->release = xstrdup(e->relpath);
	return 0;
}

static bool	protected_release(const struct state *, const char *);

/*
 * After a one-pass extraction (no release could be reused, so it was not
 * hashed first): say which releases hold this bundle but were not
 * candidates, as reuse() does.
 */
static void
log_protected_holders(struct engine *e)
{
	struct errbuf	 eb;
	char		**names = NULL;
	size_t		 n = 0;

	if (manifest_find(e->gdir, e->sha256, &names, &n, &eb) == -1)
		return;
	for (size_t i = 0; i < n; i++)
		if (protected_release(&e->st, names[i]))
			deploylog_printf(&e->log, "DownloadBundle", "release "
			    "%s holds this bundle but is live or a rollback "
			    "target; not reused", names[i]);
	release_names_free(names, n);
}

/*
 * Extract the bundle into releases/.tmp-SEQ-ID and rename its root to
 * the release.  An archive is hashed as it is read and verified against
 * the expected digest (the message's, else the one reuse() computed)
 * before anything can use the tree; without one, its digest becomes
 * e->sha256.  e->tree gets what was extracted, for the manifest.
 */
static int
extract(struct engine *e, enum bundle_format fmt, struct errbuf *eb)
{
	struct bundle_limits	 lim = e->spec->limits;
	struct bundle_opts	 o;
	char			*tmp, *root = NULL, *asp = NULL, hex[65];
	size_t			 tlen;
	int			 ret = -1;

	if (lim.max_bytes == 0 && lim.max_entries == 0)
		bundle_limits_default(&lim);
	memset(&o, 0, sizeof(o));
	o.limits = &lim;
	/* Ticks go on during a long extraction (SQS visibility). */
	o.tick = e->obs->on_tick;
	o.tick_arg = e->obs->arg;
	o.tick_msec = e->obs->tick_msec;
	o.sha256 = e->spec->sha256 != NULL ? e->spec->sha256 : e->sha256;
	tmp = xasprintf("%s/%s/%s%s", e->gdir, RELEASE_DIR, RELEASE_TMP_PREFIX,
	    e->relname);
	if (fs_rmtree(tmp, eb) == -1)
		goto out;
	if (mkdir(tmp, 0755) == -1) {
		errbuf_errno(eb, EK_IO, "cannot create '%s'", tmp);
		goto out;
	}
	bundle_tree_release(&e->tree);
	if (bundle_extract_ex(e->spec->bundle, tmp, &o, fmt != BUNDLE_DIR ?
	    hex : NULL, &e->tree, eb) == -1 ||
	    bundle_find_appspec(tmp, &root, &asp, eb) == -1)
		goto out;
	if (fmt != BUNDLE_DIR && e->sha256 == NULL) {
		e->sha256 = xstrdup(hex);
		deploylog_printf(&e->log, "DownloadBundle", "bundle '%s' "
		    "sha256 %s", e->spec->bundle, hex);
		log_protected_holders(e);
	}
	tlen = strlen(tmp);
	free(e->tree_prefix);
	e->tree_prefix = xstrdup(root[tlen] == '/' ? root + tlen + 1 : "");
	/* The release is the bundle root; it gets its name only whole. */
	if (rename(root, e->reldir) == -1) {
		errbuf_errno(eb, EK_IO, "cannot rename '%s' to '%s'", root,
		    e->reldir);
		goto out;
	}
	e->reldir_made = true;
	ret = 0;
 out:
	if (fs_rmtree(tmp, eb) == -1 && ret == 0)
		ret = -1;
	free(tmp);
	free(root);
	free(asp);
	return ret;
}

/*
 * What the engine needs beyond the parser's checks: host paths it will
 * create links at or change must be absolute.
 */
static int
check_paths(const struct appspec *as, struct errbuf *eb)
{
	for (size_t i = 0; i < as->nfiles; i++)
		if (as->files[i].destination == NULL ||
		    as->files[i].destination[0] != '/')
			return errbuf_set(eb, EK_DATA, "%s:%lu: files: "
			    "destination '%s' is not an absolute path",
			    as->path != NULL ? as->path : "appspec.yml",
			    as->files[i].line,
			    as->files[i].destination != NULL ?
			    as->files[i].destination : "");
	for (size_t i = 0; i < as->nperms; i++)
		if (as->perms[i].object == NULL ||
		    as->perms[i].object[0] != '/')
			return errbuf_set(eb, EK_DATA, "%s:%lu: permissions: "
			    "object '%s' is not an absolute path",
			    as->path != NULL ? as->path : "appspec.yml",
			    as->perms[i].line, as->perms[i].object != NULL ?
			    as->perms[i].object : "");
	return 0;
}

/* Whether r (a state revision) is the release called 'name'. */
static bool
rev_is(const struct state_rev *r, const char *name)
{
	size_t	 plen = strlen(RELEASE_DIR "/");

	return r->sequence != 0 && r->release != NULL &&
	    strncmp(r->release, RELEASE_DIR "/", plen) == 0 &&
	    strcmp(r->release + plen, name) == 0;
}

/* A release no deployment may take: live, a rollback target, running. */
static bool
protected_release(const struct state *st, const char *name)
{
	return rev_is(&st->current, name) || rev_is(&st->previous, name) ||
	    rev_is(&st->last_good, name) || rev_is(&st->in_progress.rev, name);
}

/*
 * Whether some release could be reused for this bundle: an unprotected
 * one with a manifest of the expected digest (of any digest when none is
 * expected).  Only then is the bundle hashed before it is extracted;
 * otherwise the extraction hashes it in the same read.
 */
static bool
reuse_possible(struct engine *e)
{
	struct errbuf	 eb;
	char		**names = NULL;
	size_t		 n = 0;
	bool		 any = false;

	if (manifest_find(e->gdir, e->spec->sha256, &names, &n, &eb) == -1)
		return true;	/* reuse() says why */
	for (size_t i = 0; i < n && !any; i++)
		any = !protected_release(&e->st, names[i]);
	release_names_free(names, n);
	return any;
}

/*
 * Reuse a release of the same bundle instead of extracting it again: one
 * whose manifest records this sha256, that no state field protects
 * (current, previous, last_good, in progress: live or rollback targets,
 * never moved), and whose tree is still exactly as extracted (a hook may
 * have rendered a config into it, or Install changed permissions).  It
 * is renamed to this deployment's release, so nothing is copied and the
 * old name is gone: no two deployments ever share a tree.  Returns true
 * when e->reldir is that release; false (logged why) to extract.
 */
static bool
reuse(struct engine *e)
{
	const struct state	*st = &e->st;
	struct errbuf		 eb;
	char			**names = NULL, *why = NULL, *from;
	size_t			 n = 0;
	bool			 done = false;
	int			 r;

	if (manifest_find(e->gdir, e->sha256, &names, &n, &eb) == -1) {
		deploylog_printf(&e->log, "DownloadBundle", "%s; extracting",
		    eb.msg);
		return false;
	}
	for (size_t i = 0; i < n && !done; i++) {
		if (protected_release(st, names[i])) {
			deploylog_printf(&e->log, "DownloadBundle", "release "
			    "%s holds this bundle but is live or a rollback "
			    "target; not reused", names[i]);
			continue;
		}
		if ((r = manifest_check(e->gdir, names[i], &why, &eb)) != 1) {
			deploylog_printf(&e->log, "DownloadBundle", "release "
			    "%s holds this bundle but %s; not reused",
			    names[i], r == 0 ? why : eb.msg);
			free(why);
			why = NULL;
			continue;
		}
		from = xasprintf("%s/%s/%s", e->gdir, RELEASE_DIR, names[i]);
		if (rename(from, e->reldir) == -1) {
			deploylog_printf(&e->log, "DownloadBundle", "cannot "
			    "rename '%s' to '%s': %s; not reused", from,
			    e->reldir, strerror(errno));
			free(from);
			continue;
		}
		free(from);
		e->reldir_made = true;
		e->reused = xstrdup(names[i]);
		setstr(&e->res->reused, names[i]);
		if (manifest_rename(e->gdir, names[i], e->relname, &eb) == -1)
			deploylog_printf(&e->log, "DownloadBundle", "%s; this "
			    "release will not be reused again", eb.msg);
		deploylog_printf(&e->log, "DownloadBundle", "reused release %s "
		    "(same sha256, unchanged since its extraction) as %s; "
		    "nothing extracted", names[i], e->relpath);
		done = true;
	}
	release_names_free(names, n);
	return done;
}

/*
 * A freshly extracted release, before any hook or Install touches it:
 * give its hook scripts the exec bit they will need (the rule of
 * hooks.c, which then finds nothing to do), then record its manifest,
 * so that reuse compares against the tree as the engine prepared it and
 * a bundle whose scripts lack the bit can still be reused.  Failures
 * only cost the reuse (and hooks.c reports a script it cannot run).
 */
static void
record_release(struct engine *e)
{
	struct errbuf	 eb;
	char		*p;

	for (int ev = 0; ev < LC_NEVENTS; ev++)
		for (size_t i = 0; i < e->as.nhooks[ev]; i++) {
			p = xasprintf("%s/%s", e->reldir,
			    e->as.hooks[ev][i].location);
			(void)hooks_make_executable(p,
			    e->as.hooks[ev][i].location, &eb);
			free(p);
		}
	if (e->sha256 != NULL && manifest_write_tree(e->gdir, e->relname,
	    e->sha256, &e->tree, e->tree_prefix != NULL ? e->tree_prefix : "",
	    &eb) == -1)
		deploylog_printf(&e->log, "DownloadBundle", "no manifest: this "
		    "release will not be reused: %s", eb.msg);
	bundle_tree_release(&e->tree);
}

/*
 * In progress, durably, before its release can appear under releases/:
 * a kill -9 during DownloadBundle then leaves a deployment that recovery
 * records and whose release it removes, never a release without an
 * outcome.  lifecycle_deploy() puts the state back if
 * prepare() fails after this.
 */
static int
begin(struct engine *e, struct errbuf *eb)
{
	const struct deploy_spec	*sp = e->spec;
	struct state_progress		*ip = &e->st.in_progress;

	state_progress_clear(ip);
	ip->rev.sequence = e->seq;
	ip->rev.deployment_id = xstrdup(e->id);
	ip->rev.release = xstrdup(e->relpath);
	ip->rev.sha256 = e->sha256 != NULL ? xstrdup(e->sha256) :
	    sp->sha256 != NULL ? xstrdup(sp->sha256) : NULL;
	ip->rev.commit = sp->commit != NULL ? xstrdup(sp->commit) : NULL;
	ip->started_at = xstrdup(e->started_at);
	ip->phase = xstrdup(lc_event_name(LC_DOWNLOAD_BUNDLE));
	e->last_before = e->st.last_sequence;
	if (e->seq > e->st.last_sequence)
		e->st.last_sequence = e->seq;
	if (save_state(e, true, eb) == -1) {
		state_progress_clear(ip);
		e->st.last_sequence = e->last_before;
		return -1;
	}
	e->begun = true;
	return 0;
}

static int
prepare(struct engine *e, struct errbuf *eb)
{
	const struct deploy_spec	*sp = e->spec;
	const struct state_rev		*lg = &e->st.last_good;
	enum bundle_format		 fmt;
	char				 hex[65];
	struct errbuf			 eb2;
	double				 t0 = mono_sec();

	if (bundle_detect(sp->bundle, &fmt, eb) == -1)
		return -1;
	if (fmt == BUNDLE_DIR && sp->sha256 != NULL)
		return errbuf_set(eb, EK_DATA, "bundle '%s' is a directory; "
		    "it has no sha256 to verify", sp->bundle);
	/*
	 * Reuse needs the digest before anything is extracted: a pass of
	 * its own, only when a release could be reused.  Otherwise the
	 * extraction hashes the bundle in the same read, and checks it
	 * before the tree is used: one read of the bundle.
	 */
	if (fmt != BUNDLE_DIR && reuse_possible(e)) {
		if (digest_sha256_file(sp->bundle, hex, eb) == -1)
			return -1;
		if (sp->sha256 != NULL && strcasecmp(sp->sha256, hex) != 0)
			return errbuf_set(eb, EK_DATA, "bundle '%s' has sha256 "
			    "%s, expected %s", sp->bundle, hex, sp->sha256);
		e->sha256 = xstrdup(hex);
		deploylog_printf(&e->log, "DownloadBundle", "bundle '%s' "
		    "sha256 %s", sp->bundle, hex);
	}

	if (begin(e, eb) == -1)
		return -1;
	if (fs_rmtree(e->reldir, eb) == -1)
		return -1;
	manifest_remove(e->gdir, e->relname);
	if ((e->sha256 == NULL || !reuse(e)) && extract(e, fmt, eb) == -1)
		return -1;
	if (load_appspec(&e->as, e->reldir, eb) == -1 ||
	    appspec_check_bundle(&e->as, e->reldir, eb) == -1 ||
	    check_paths(&e->as, eb) == -1 ||
	    dests_check_peers(e->root, sp->application, sp->group, &e->as,
	    e->reldir, sp->peers, sp->npeers, eb) == -1)
		return -1;
	/* What CodeDeploy would ignore runs, said loudly (or refused). */
	for (size_t i = 0; i < e->as.nwarnings; i++)
		deploylog_printf(&e->log, "DownloadBundle", "warning: %s",
		    e->as.warnings[i]);
	if (sp->strict && appspec_strict(&e->as, eb) == -1)
		return -1;
	if (e->reused == NULL)
		record_release(e);

	if (lg->sequence != 0) {
		e->livedir = xasprintf("%s/%s", e->gdir, lg->release);
		e->live_prevdir = e->st.previous.sequence != 0 &&
		    e->st.previous.sequence != lg->sequence ?
		    xasprintf("%s/%s", e->gdir, e->st.previous.release) :
		    xstrdup("");
		if (load_appspec(&e->live_as, e->livedir, &eb2) == 0)
			e->live_ok = true;
		else {
			e->live_err = xstrdup(eb2.msg);
			deploylog_printf(&e->log, NULL, "the live release's "
			    "appspec cannot be read; its scripts will not "
			    "run: %s", eb2.msg);
		}
	}
	e->traffic = e->tctl || has_traffic(&e->as) ||
	    (e->live_ok && has_traffic(&e->live_as));
	e->prep_secs = mono_sec() - t0;
	return 0;
}

/* Remove the new release (and its manifest) after a failed prepare. */
static void
drop_release(struct engine *e)
{
	struct errbuf	 eb;

	manifest_remove(e->gdir, e->relname);
	if (fs_rmtree(e->reldir, &eb) == -1)
		deploylog_printf(&e->log, NULL, "%s", eb.msg);
}

/* --- the events --- */

/* Install: permissions, destination links, then the switch. */
static int
install(struct engine *e, struct errbuf *eb)
{
	struct state_progress	*ip = &e->st.in_progress;
	struct release_link	*l;

	if (release_apply_permissions(&e->as, e->reldir, eb) == -1)
		return -1;
	if (release_link_files(&e->as, e->gdir, e->reldir,
	    e->spec->file_exists_behavior, e->id, &e->links, eb) == -1)
		return -1;
	/*
	 * Durable before the rename: recovery must know that 'current' may
	 * have moved and which links to undo.
	 */
	ip->links = xcalloc(e->links.n + 1, sizeof(*ip->links));
	for (size_t i = 0; i < e->links.n; i++) {
		l = &e->links.v[i];
		ip->links[i].path = xstrdup(l->path);
		ip->links[i].old_target = l->old_target != NULL ?
		    xstrdup(l->old_target) : NULL;
		ip->links[i].backup = l->backup != NULL ?
		    xstrdup(l->backup) : NULL;
	}
	ip->nlinks = e->links.n;
	e->switched = ip->switched = true;
	if (save_state(e, true, eb) == -1)
		return -1;
	if (release_switch(e->gdir, e->relpath, eb) == -1)
		return -1;
	deploylog_printf(&e->log, "Install", "'current' -> %s", e->relpath);
	return 0;
}

static void
set_phase(struct engine *e, enum lc_event ev)
{
	struct errbuf	 eb;

	setstr(&e->st.in_progress.phase, lc_event_name(ev));
	/* Not durable: the phase is informational; see lifecycle.h. */
	if (save_state(e, false, &eb) == -1)
		deploylog_printf(&e->log, NULL, "%s", eb.msg);
}

static void
finish(struct engine *e, const char *status, int ev, const char *script,
    const char *message)
{
	struct state_progress	*ip = &e->st.in_progress;
	struct state_hist	 h = { 0 };
	char			 ts[STATE_TIME_LEN];

	state_timestamp(ts);
	h.deployment_id = xstrdup(e->id);
	h.sequence = e->seq;
	h.status = xstrdup(status);
	h.event = ev >= 0 ? xstrdup(lc_event_name(ev)) : NULL;
	h.script = script != NULL ? xstrdup(script) : NULL;
	h.message = message != NULL ? xstrdup(message) : NULL;
	h.started_at = xstrdup(e->started_at);
	h.finished_at = xstrdup(ts);
	if (e->res->rolled_back_to != NULL)
		h.rolled_back_to = xstrdup(e->res->rolled_back_to);
	state_push_history(&e->st, &h);
	state_progress_clear(ip);
}

/*
 * Deployment logs follow retention: keep the logs of the newest
 * keep_releases deployments of this group (bounded by the history, whose
 * oldest entry is about to fall out) and of whatever is live or a
 * rollback target; remove the rest, so ROOT/logs never grows without
 * bound.  Logs of other groups sharing ROOT are never named.
 */
static void
prune_logs(struct engine *e)
{
	const char	*ids[STATE_HISTORY_MAX];
	const char	*id;
	size_t		 keep, n = 0;
	char		*logdir;

	keep = e->spec->keep_releases != 0 ? e->spec->keep_releases :
	    KEEP_RELEASES_DEFAULT;
	if (keep > STATE_HISTORY_MAX - 1)
		keep = STATE_HISTORY_MAX - 1;
	for (size_t i = keep; i < e->st.nhistory; i++) {
		id = e->st.history[i].deployment_id;
		if (id == NULL ||
		    state_rev_is(&e->st.current, id) ||
		    state_rev_is(&e->st.previous, id) ||
		    state_rev_is(&e->st.last_good, id))
			continue;
		ids[n++] = id;
	}
	if (n == 0)
		return;
	logdir = xasprintf("%s/logs", e->root);
	n = deploylog_prune(logdir, ids, n);
	if (n > 0)
		deploylog_printf(&e->log, NULL, "retention: removed %zu old "
		    "deployment log(s)", n);
	free(logdir);
}

static void
succeed(struct engine *e)
{
	struct errbuf	 eb;
	const char	*protect[3];
	int		 n;

	state_rev_copy(&e->st.previous, &e->st.current);
	state_rev_copy(&e->st.current, &e->st.in_progress.rev);
	state_rev_copy(&e->st.last_good, &e->st.in_progress.rev);
	finish(e, "Succeeded", -1, NULL, NULL);
	e->res->status = DEPLOY_SUCCEEDED;
	if (save_state(e, true, &eb) == -1) {
		/*
		 * Everything ran; only the record failed.  The next run sees
		 * the deployment in progress and rolls it back: report that.
		 */
		e->res->status = DEPLOY_FAILED;
		setstr(&e->res->outcome, eb.msg);
		deploylog_printf(&e->log, NULL, "%s", eb.msg);
		return;
	}
	protect[0] = e->st.current.release;
	protect[1] = e->st.previous.release;
	protect[2] = e->st.last_good.release;
	n = release_prune(e->gdir, e->spec->keep_releases != 0 ?
	    e->spec->keep_releases : KEEP_RELEASES_DEFAULT, protect,
	    nitems(protect), &eb);
	if (n == -1)
		deploylog_printf(&e->log, NULL, "retention: %s, ignoring",
		    eb.msg);
	else if (n > 0)
		deploylog_printf(&e->log, NULL, "retention: removed %d old "
		    "release(s)", n);
	prune_logs(e);
}

static void
fail(struct engine *e, enum lc_event ev, const char *script,
    const char *outcome, const char *tail)
{
	struct errbuf	 eb;
	char		*err = NULL, *terr;
	int		 pr = 0;

	e->res->status = DEPLOY_FAILED;
	e->res->failed_event = (int)ev;
	setstr(&e->res->script, script);
	setstr(&e->res->outcome, outcome);
	setstr(&e->res->tail, tail != NULL && tail[0] != '\0' ? tail : NULL);
	deploylog_printf(&e->log, lc_event_name(ev), "failed: %s%s%s",
	    script != NULL ? script : "", script != NULL ? ": " : "",
	    outcome);
	/* A first release that started and failed leaves traffic too. */
	terr = traffic_undo_before(e, e->livedir == NULL &&
	    ev >= LC_APPLICATION_START);
	if (e->stopped || e->switched || e->links.n > 0) {
		deploylog_printf(&e->log, NULL, "rolling back");
		pr = put_back(e, e->stopped, e->switched, &err);
		if ((e->stopped || e->switched) && e->st.current.sequence != 0)
			setstr(&e->res->rolled_back_to,
			    e->st.current.deployment_id);
	}
	terr = join_err(terr, traffic_undo_after(e, pr == 0));
	err = join_err(err, terr);
	if (err != NULL)
		setstr(&e->res->rollback_error, err);
	free(err);
	finish(e, "Failed", (int)ev, script, outcome);
	if (save_state(e, true, &eb) == -1)
		deploylog_printf(&e->log, NULL, "%s", eb.msg);
	else
		prune_logs(e);
}

/* Stopped from outside: leave in_progress for recovery. */
static void
interrupted(struct engine *e, enum lc_event ev)
{
	e->res->status = DEPLOY_INTERRUPTED;
	e->res->failed_event = (int)ev;
	setstr(&e->res->outcome, "stopped by hookd shutdown");
	deploylog_printf(&e->log, lc_event_name(ev), "stopped; the deployment "
	    "is left in progress for recovery");
}

static void
run_events(struct engine *e)
{
	struct state_rev	*cur = &e->st.current, *lg = &e->st.last_good;
	struct hook_report	 rep;
	struct hook_rev		 live, nrev;
	struct errbuf		 eb;
	char			 what[NAME_LEN_MAX + 32];
	double			 t0;
	enum lc_event		 ev;
	int			 r;

	live.as = e->live_ok ? &e->live_as : NULL;
	live.release_dir = e->livedir;
	live.previous_dir = e->live_prevdir;
	live.commit = lg->commit;
	nrev.as = &e->as;
	nrev.release_dir = e->reldir;
	nrev.previous_dir = cur->sequence != 0 ? e->livedir : "";
	if (cur->sequence != 0 && lg->sequence != cur->sequence)
		nrev.previous_dir = "";
	nrev.commit = e->spec->commit;

	for (ev = 0; ev < LC_NEVENTS; ev++) {
		if (!e->traffic && (ev == LC_BEFORE_BLOCK_TRAFFIC ||
		    ev == LC_AFTER_BLOCK_TRAFFIC ||
		    ev == LC_BEFORE_ALLOW_TRAFFIC ||
		    ev == LC_AFTER_ALLOW_TRAFFIC))
			continue;
		if (!e->tctl && (ev == LC_BLOCK_TRAFFIC ||
		    ev == LC_ALLOW_TRAFFIC))
			continue;
		if (proc_stop_requested()) {
			interrupted(e, ev);
			return;
		}
		set_phase(e, ev);
		memset(&rep, 0, sizeof(rep));
		r = 0;
		switch (ev) {
		case LC_BEFORE_BLOCK_TRAFFIC:
		case LC_AFTER_BLOCK_TRAFFIC:
		case LC_APPLICATION_STOP:
			if (e->livedir == NULL || !e->live_ok) {
				t0 = mono_sec();
				obs_start(e, ev, false);
				obs_end(e, ev, DEPLOY_EVENT_SKIPPED, t0, NULL,
				    e->livedir == NULL ? "first deployment" :
				    "the live release's appspec cannot be read",
				    NULL, NULL, false);
				if (e->livedir == NULL)
					break;
			}
			if (ev == LC_APPLICATION_STOP && !e->stopped) {
				e->stopped = true;
				e->st.in_progress.stopped = true;
				if (save_state(e, true, &eb) == -1) {
					fail(e, ev, NULL, eb.msg, NULL);
					return;
				}
			}
			if (e->live_ok)
				r = run_event(e, ev, &live, lg->deployment_id,
				    false, &rep, &eb);
			if (r == -1 && e->spec->ignore_stop_failures &&
			    !rep.stopped && !proc_stop_requested()) {
				deploylog_printf(&e->log, lc_event_name(ev),
				    "warning: failed (%s), ignored: "
				    "--ignore-application-stop-failures",
				    rep.outcome[0] != '\0' ? rep.outcome :
				    eb.msg);
				r = 0;
			}
			break;
		case LC_BLOCK_TRAFFIC:
			if (e->livedir == NULL) {
				t0 = mono_sec();
				obs_start(e, ev, false);
				obs_end(e, ev, DEPLOY_EVENT_SKIPPED, t0, NULL,
				    "first deployment: nothing to block",
				    NULL, NULL, false);
				break;
			}
			/* Durable first: recovery must know it may be out. */
			if (set_traffic(e, "out", &eb) == -1) {
				fail(e, ev, NULL, eb.msg, NULL);
				return;
			}
			r = run_traffic(e, ev, lg->deployment_id, false, &eb);
			break;
		case LC_ALLOW_TRAFFIC:
			r = run_traffic(e, ev, e->id, false, &eb);
			if (r == 0 && set_traffic(e, "in", &eb) == -1) {
				fail(e, ev, NULL, eb.msg, NULL);
				return;
			}
			break;
		case LC_DOWNLOAD_BUNDLE:
			obs_start(e, ev, false);
			t0 = mono_sec() - e->prep_secs;
			if (e->reused != NULL)
				(void)snprintf(what, sizeof(what), "reused "
				    "release %s", e->reused);
			obs_end(e, ev, DEPLOY_EVENT_OK, t0, NULL,
			    e->reused != NULL ? what : NULL, NULL, e->id,
			    false);
			break;
		case LC_INSTALL:
			t0 = mono_sec();
			obs_start(e, ev, false);
			r = install(e, &eb);
			if (r == -1) {
				(void)strlcpy(rep.outcome, eb.msg,
				    sizeof(rep.outcome));
				obs_end(e, ev, DEPLOY_EVENT_FAILED, t0, NULL,
				    eb.msg, NULL, e->id, false);
				fail(e, ev, NULL, eb.msg, NULL);
				return;
			}
			obs_end(e, ev, DEPLOY_EVENT_OK, t0, NULL, NULL, NULL,
			    e->id, false);
			break;
		default:
			r = run_event(e, ev, &nrev, e->id, false, &rep, &eb);
			break;
		}
		if (r == -1 && (rep.stopped || proc_stop_requested())) {
			interrupted(e, ev);
			return;
		}
		if (r == -1) {
			fail(e, ev, rep.nrun > 0 ? rep.script : NULL,
			    rep.outcome[0] != '\0' ? rep.outcome : eb.msg,
			    rep.tail);
			return;
		}
	}
	succeed(e);
}

int
lifecycle_deploy(const struct deploy_spec *spec,
    const struct deploy_observer *obs, struct deploy_result *ret,
    struct errbuf *eb)
{
	struct engine		 e;
	struct state_progress	*ip;
	struct errbuf		 eb2;
	char			*logpath;
	int			 rv = -1;

	deploy_result_init(ret);
	engine_init(&e, spec, obs, ret);
	if (spec->bundle == NULL) {
		errbuf_set(eb, EK_USAGE, "no bundle given");
		goto out;
	}
	if (engine_open(&e, 0, eb) == -1)
		goto out;
	if (e.st.in_progress.rev.sequence != 0 && recover(&e, eb) == -1)
		goto out;
	release_clean_tmp(e.gdir);
	if (assign(&e, eb) == -1)
		goto out;

	logpath = xasprintf("%s/logs/%s.log", e.root, e.id);
	if (deploylog_open(&e.log, logpath, eb) == -1) {
		free(logpath);
		goto out;
	}
	free(logpath);
	state_timestamp(e.started_at);
	deploylog_printf(&e.log, NULL, "deployment %s (sequence %llu) of "
	    "%s/%s from '%s'", e.id, (unsigned long long)e.seq,
	    spec->application, spec->group, spec->bundle);
	ip = &e.st.in_progress;
	if (prepare(&e, eb) == -1) {
		deploylog_printf(&e.log, "DownloadBundle", "failed: %s; "
		    "nothing was changed", eb->msg);
		ret->failed_event = LC_DOWNLOAD_BUNDLE;
		if (e.reldir_made)
			drop_release(&e);
		if (e.begun) {
			/* Back to the state before: it never ran. */
			state_progress_clear(ip);
			e.st.last_sequence = e.last_before;
			if (save_state(&e, true, &eb2) == -1)
				deploylog_printf(&e.log, NULL, "%s; the next "
				    "run records this deployment as "
				    "interrupted", eb2.msg);
		}
		goto out;
	}

	setstr(&ip->rev.sha256, e.sha256);
	setstr(&ip->phase, lc_event_name(e.traffic ?
	    LC_BEFORE_BLOCK_TRAFFIC : LC_APPLICATION_STOP));
	/*
	 * Without traffic events ApplicationStop is the very next step:
	 * record "stopped" now and save one fsync pair.
	 */
	if (!e.traffic && e.livedir != NULL)
		e.stopped = ip->stopped = true;
	if (save_state(&e, true, eb) == -1) {
		drop_release(&e);
		goto out;
	}
	run_events(&e);
	deploylog_printf(&e.log, NULL, "deployment %s %s", e.id,
	    ret->status == DEPLOY_SUCCEEDED ? "succeeded" :
	    ret->status == DEPLOY_INTERRUPTED ? "interrupted" : "failed");
	rv = 0;
 out:
	engine_release(&e);
	return rv;
}
